"""Property: whatever sequence of runs and faults, the endpoint always references a config that exists,
what serves is never deleted, and after a successful deploy nothing the action created is left unused."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sagemaker_emulator import Emulator, Timings

from ..action_runner import action_env, digest_image, start_action
from .test_scenarios import Deployer

FAULTS = ("none", "rollback", "fail", "throttle", "busy", "crash")
steps = st.lists(st.tuples(st.integers(min_value=1, max_value=3), st.sampled_from(FAULTS)), min_size=1, max_size=4)


def _serving(deployer: Deployer) -> tuple[str, str]:
    endpoint = deployer.endpoint()
    config = deployer.sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    return endpoint["EndpointConfigName"], config["ProductionVariants"][0]["ModelName"]


def _assert_invariants(deployer: Deployer, result: str) -> None:
    config, model = _serving(deployer)
    assert config in deployer.configs(), "the endpoint references a config that was deleted"
    assert model in deployer.models(), "the serving config references a model that was deleted"
    if result in ("created", "updated"):
        assert deployer.configs() == {config}, "a successful deploy left an unused config behind"
        assert deployer.models() == {model}, "a successful deploy left an unused model behind"


@settings(
    max_examples=6,
    deadline=None,
    # Each example runs the action several times: shrinking a failure would take many minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(sequence=steps)
def test_any_sequence_of_runs_and_faults_keeps_the_endpoint_consistent(sequence: list[tuple[int, str]]) -> None:
    """After every run, crash or fault the invariants of a safe deploy hold."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        Emulator(timings=Timings(create=0.2, update=1.5, rollback=0.3, delete=0.1)) as emu,
    ):
        deployer = Deployer(emu, Path(tmp))
        assert deployer.run().result == "created"
        _assert_invariants(deployer, "created")
        for number, (image, fault) in enumerate(sequence):
            inputs = {"image": digest_image(image)}
            if fault == "crash":
                if _serves(deployer, image):
                    continue  # nothing to roll out, so nothing to interrupt
                emu.clear_requests()
                _crash_in_update(start_action(action_env(emu, Path(tmp) / f"crash{number}", inputs)), emu)
                _assert_invariants(deployer, "crashed")
                continue
            if fault == "rollback":
                emu.faults.rollback_next_update()
            elif fault == "fail":
                emu.faults.fail_next_update("CannotStartContainerError: exit 1")
            elif fault == "throttle":
                emu.faults.throttle(2)
            elif fault == "busy" and deployer.endpoint()["EndpointStatus"] == "InService":
                emu.faults.busy("whisper", 0.5)  # (after a crash the endpoint is busy with that rollout already)
            run = deployer.run(inputs)
            assert run.result in ("updated", "unchanged", "rolled-back", "failed"), run.stdout + run.stderr
            emu.faults.clear()
            _assert_invariants(deployer, run.result)


def _serves(deployer: Deployer, image: int) -> bool:
    deployed = deployer.endpoint()["ProductionVariants"][0].get("DeployedImages", [])
    return bool(deployed) and deployed[0]["ResolvedImage"] == digest_image(image)


def _crash_in_update(process: subprocess.Popen[str], emu: Emulator) -> None:
    """SIGKILL the run once it has sent UpdateEndpoint; a run that adopts an earlier rollout may end first."""
    deadline = time.time() + 60
    while process.poll() is None and time.time() < deadline:
        if "UpdateEndpoint" in emu.operations("sagemaker"):
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    process.communicate(timeout=60)
