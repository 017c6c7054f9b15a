"""Property: whatever sequence of runs and faults, each run ends with a result its fault allows, the endpoint
always references a config that exists, what serves is never deleted, and after a successful deploy nothing the
action created is left unused.

Nothing here depends on how fast the machine is: a crashed run's update and someone else's update are held in
Updating by the emulator and released once the next run has read the endpoint, or run to their end at once."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from sagemaker_emulator import Emulator, Timings

from ..action_runner import action_env, digest_image, kill_when, settle_held, start_action
from .test_scenarios import Deployer

# "crash": the run is killed in its wait and the next run arrives while that update is still in flight;
# "crash-settled": the next run arrives after it ended.
FAULTS = ("none", "rollback", "fail", "throttle", "busy", "crash", "crash-settled")
steps = st.lists(st.tuples(st.integers(min_value=1, max_value=3), st.sampled_from(FAULTS)), min_size=1, max_size=4)

# The profiles are registered in tests/conftest.py: make test runs "default", make mutate "mutate".
EXAMPLES = {"mutate": 30}.get(settings.get_current_profile_name(), 6)


def allowed_results(fault: str, changed: bool, adopts: bool) -> set[str]:
    """The results a run may end with, from the fault armed for it and whether its image differs from what the
    endpoint serves once the run plans; ``adopts``: the run arrives while a killed run's update to this very
    image is in flight."""
    if not changed:
        # Nothing to roll out, so no UpdateEndpoint for a fault to act on. Having waited out the killed run's
        # rollout, the run finishes that run's work (rollout._adopt: updated); otherwise nothing changes.
        return {"updated"} if adopts else {"unchanged"}
    if fault == "rollback":
        # Faults.rollback_next_update: traffic moves, then a rollback (Updating, or RollingBack by the switch) ->
        # InService on the old config.
        return {"rolled-back"}
    if fault == "fail":
        # Faults.fail_next_update (end InService): the new fleet fails before traffic moves, the old config
        # serves with a FailureReason (_rollout._new_fleet_fails); rollout._verdict calls that a failure.
        return {"failed"}
    # throttle: boto3's retries absorb it; busy: the run waits out someone else's update, then plans again.
    return {"updated"}


def _serving(deployer: Deployer) -> tuple[str, str]:
    endpoint = deployer.endpoint()
    config = deployer.sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    return endpoint["EndpointConfigName"], config["ProductionVariants"][0]["ModelName"]


def _serving_image(deployer: Deployer) -> str:
    _, model = _serving(deployer)
    return str(deployer.sm.describe_model(ModelName=model)["PrimaryContainer"]["Image"])


def _assert_invariants(deployer: Deployer, result: str) -> None:
    config, model = _serving(deployer)
    assert config in deployer.configs(), "the endpoint references a config that was deleted"
    assert model in deployer.models(), "the serving config references a model that was deleted"
    if result in ("created", "updated"):
        assert deployer.configs() == {config}, "a successful deploy left an unused config behind"
        assert deployer.models() == {model}, "a successful deploy left an unused model behind"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    # Each example runs the action several times: shrinking a failure would take many minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(sequence=steps)
# Always tried, besides the generated ones: a rerun adopting the killed run's rollout, then faults on top of it.
@example(sequence=[(2, "crash"), (2, "none"), (3, "rollback")])
@example(sequence=[(2, "crash"), (3, "fail"), (3, "crash-settled"), (1, "throttle")])
def test_any_sequence_of_runs_and_faults_keeps_the_endpoint_consistent(sequence: list[tuple[int, str]]) -> None:
    """After every run, crash or fault the invariants of a safe deploy hold and the result is one the fault
    allows: never failed without a fault."""
    with (
        TemporaryDirectory() as tmp,
        Emulator(timings=Timings(create=0.2, update=0.3, rollback=0.2, delete=0.1)) as emu,
    ):
        deployer = Deployer(emu, Path(tmp))
        assert deployer.run().result == "created"
        _assert_invariants(deployer, "created")
        in_flight: str | None = None  # the image a killed run's update (held Updating) rolls out
        for number, (n, fault) in enumerate(sequence):
            image = digest_image(n)
            inputs = {"image": image}
            if fault.startswith("crash"):
                if in_flight is not None:
                    settle_held(emu)  # one interrupted update at a time
                    in_flight = None
                if _serving_image(deployer) == image:
                    continue  # nothing to roll out, so nothing to interrupt
                emu.clear_requests()
                emu.faults.hold_next_update("whisper")  # the run waits on its update until it is killed
                kill_when(start_action(action_env(emu, Path(tmp) / f"crash{number}", inputs)), emu, "UpdateEndpoint")
                _assert_invariants(deployer, "crashed")
                if fault == "crash-settled":
                    settle_held(emu)
                else:
                    in_flight = image
                continue

            serves = in_flight if in_flight is not None else _serving_image(deployer)
            allowed = allowed_results(fault, changed=image != serves, adopts=in_flight == image)
            if fault == "rollback":
                emu.faults.rollback_next_update()
            elif fault == "fail":
                emu.faults.fail_next_update("CannotStartContainerError: exit 1")
            elif fault == "throttle":
                emu.faults.throttle(2)
            elif fault == "busy" and in_flight is None:
                # (with an update in flight the endpoint is busy with it already)
                emu.faults.busy("whisper", 0.2, held=True)
            held = in_flight is not None or fault == "busy"
            run = deployer.run_waiting(inputs) if held else deployer.run(inputs)
            in_flight = None
            assert run.result in allowed, f"{fault}: {run.result} not in {allowed}\n{run.stdout}{run.stderr}"
            emu.faults.clear()
            _assert_invariants(deployer, run.result)
        if in_flight is not None:
            settle_held(emu)
            _assert_invariants(deployer, "settled")
