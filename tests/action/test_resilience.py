"""Reruns after a crash and concurrent runs: the action converges and deletes nothing that serves.

Where a rerun must find an update in flight, the test holds that update in Updating (the emulator's
hold_next_update) and releases it once the rerun has read the endpoint: "the update outlasts the rerun's
start-up" is a state the test sets, however slow the machine."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from sagemaker_emulator import Emulator

from ..action_runner import (
    action_env,
    answered,
    digest_image,
    finish,
    kill_when,
    settle_held,
    start_action,
    wait_for_call,
)
from .test_scenarios import Deployer


def _deletions(emu: Emulator) -> list[tuple[str, str]]:
    """The Delete calls the emulator answered, each with the name it deleted."""
    return [
        (r.operation, str(r.params.get("EndpointConfigName") or r.params.get("ModelName") or r.params))
        for r in emu.requests
        if r.operation.startswith("Delete")
    ]


def _crash(emu: Emulator, tmp_path: Path, image: str, after: str = "UpdateEndpoint") -> None:
    """Start a run with ``image`` whose update (if it gets that far) is held in Updating, and SIGKILL it right
    after the emulator answered ``after``; ``Deployer.run_after_crash`` runs the next one."""
    emu.clear_requests()
    emu.faults.hold_next_update("whisper")
    env = action_env(emu, tmp_path / "crashed", {"image": image})
    kill_when(start_action(env), emu, after)


@pytest.mark.parametrize("crash_after", ["CreateModel", "CreateEndpointConfig", "UpdateEndpoint"])
def test_rerun_after_a_crash_converges_without_orphans(emulator: Emulator, tmp_path: Path, crash_after: str) -> None:
    """A run killed after any step is finished by the next run: new image serving, nothing left unused."""
    deployer = Deployer(emulator, tmp_path)
    first = deployer.run()
    assert first.result == "created"

    _crash(emulator, tmp_path, digest_image(2), after=crash_after)

    rerun = deployer.run_after_crash({"image": digest_image(2)})
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    assert rerun.result == "updated"
    endpoint = deployer.endpoint()
    assert endpoint["EndpointStatus"] == "InService"
    assert rerun.outputs["image"] == digest_image(2)
    assert rerun.outputs["previous-image"] == digest_image(1)
    assert rerun.outputs["previous-endpoint-config-name"] == first.outputs["endpoint-config-name"]
    assert deployer.configs() == {endpoint["EndpointConfigName"]}
    assert deployer.models() == {rerun.outputs["model-name"]}
    assert not any("already existing" in line for line in rerun.lines)


def test_rerun_after_the_interrupted_update_settled_finishes_its_work(emulator: Emulator, tmp_path: Path) -> None:
    """A run killed mid-wait whose update then ends: the rerun finds the new image serving and changes nothing,
    and the next deploy removes exactly what the killed run replaced, never what serves."""
    deployer = Deployer(emulator, tmp_path)
    first = deployer.run()
    _crash(emulator, tmp_path, digest_image(2))
    settle_held(emulator)  # the update ends before anything else runs
    interrupted = deployer.endpoint()
    assert interrupted["EndpointStatus"] == "InService"
    served = interrupted["EndpointConfigName"]
    assert served != first.outputs["endpoint-config-name"]
    served_model = deployer.sm.describe_endpoint_config(EndpointConfigName=served)["ProductionVariants"][0]["ModelName"]

    rerun = deployer.run({"image": digest_image(2)})
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    assert rerun.result == "unchanged"
    assert rerun.outputs["image"] == digest_image(2)
    assert rerun.outputs["endpoint-config-name"] == served
    assert rerun.outputs["model-name"] == served_model
    assert emulator.write_calls() == []
    # What the killed run replaced is left over (it is not in use), and what serves is untouched.
    assert deployer.configs() == {first.outputs["endpoint-config-name"], served}
    assert deployer.models() == {first.outputs["model-name"], served_model}

    after = deployer.run({"image": digest_image(3)})
    assert after.result == "updated", after.stdout + after.stderr
    assert sorted(_deletions(emulator)) == sorted(
        [
            ("DeleteEndpointConfig", served),  # what this deploy replaced
            ("DeleteModel", served_model),
            ("DeleteEndpointConfig", first.outputs["endpoint-config-name"]),  # the killed run's leftovers
            ("DeleteModel", first.outputs["model-name"]),
        ]
    )
    assert deployer.configs() == {after.outputs["endpoint-config-name"]}
    assert deployer.models() == {after.outputs["model-name"]}
    assert deployer.endpoint()["EndpointConfigName"] == after.outputs["endpoint-config-name"]


def test_two_concurrent_runs_end_consistent(emulator: Emulator, tmp_path: Path) -> None:
    """A second run that finds the first one's update in flight waits for it, plans again, finds its own image
    serving and finishes that rollout as its own (updated, the replaced config and model cleaned up); one
    UpdateEndpoint in all."""
    deployer = Deployer(emulator, tmp_path)
    served = deployer.run().outputs["endpoint-config-name"]
    emulator.clear_requests()
    env_a = action_env(emulator, tmp_path / "a", {"image": digest_image(2)})
    env_b = action_env(emulator, tmp_path / "b", {"image": digest_image(2)})
    emulator.faults.hold_next_update("whisper")
    first = start_action(env_a)
    # The second run starts once the first has begun its update, which stays Updating until released.
    wait_for_call(emulator, "UpdateEndpoint")
    # The first run is paused meanwhile, so the DescribeEndpoint answers counted next are the second run's
    # (but for at most one the first had in flight as it paused): the second run has seen the update in flight.
    first.send_signal(signal.SIGSTOP)
    polls = answered(emulator, "DescribeEndpoint")
    second = start_action(env_b)
    wait_for_call(emulator, "DescribeEndpoint", after=polls + 1)
    first.send_signal(signal.SIGCONT)
    emulator.faults.release("whisper")
    run_a, run_b = finish(first, env_a), finish(second, env_b)
    assert run_a.result == "updated", run_a.stdout
    assert run_b.exit_code == 0, run_b.stdout + run_b.stderr
    # It saw the update held in flight (the wait above counted its DescribeEndpoint), so it adopted it.
    assert run_b.result == "updated", run_b.stdout
    assert "waiting for it to settle" in run_b.stdout
    assert f"Completed the rollout an earlier run started from {served}." in run_b.stdout
    assert run_b.outputs["endpoint-config-name"] == run_a.outputs["endpoint-config-name"]
    assert deployer.endpoint()["EndpointConfigName"] == run_a.outputs["endpoint-config-name"]
    assert [r.operation for r in emulator.requests].count("UpdateEndpoint") == 1
    assert deployer.configs() == {run_a.outputs["endpoint-config-name"]}


def test_adopting_a_rollout_never_deletes_what_it_rolled_out(emulator: Emulator, tmp_path: Path) -> None:
    """A rerun naming the same digest under another repository adopts the rollout and keeps what now serves."""
    deployer = Deployer(emulator, tmp_path)
    first = deployer.run()
    _crash(emulator, tmp_path, digest_image(2))

    mirror = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/whisper"
    rerun = deployer.run_after_crash({"image": digest_image(2, repo=mirror)})
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    assert rerun.result == "updated"
    assert "Completed the rollout an earlier run started" in rerun.stdout
    serving = deployer.endpoint()["EndpointConfigName"]
    model = deployer.sm.describe_endpoint_config(EndpointConfigName=serving)["ProductionVariants"][0]["ModelName"]
    assert serving != first.outputs["endpoint-config-name"]
    assert rerun.outputs["endpoint-config-name"] == serving
    assert rerun.outputs["image"] == digest_image(2)  # what serves: the crashed run's reference to the digest
    assert "CreateModel" not in deployer.writes() and "UpdateEndpoint" not in deployer.writes()
    assert sorted(_deletions(emulator)) == [
        ("DeleteEndpointConfig", first.outputs["endpoint-config-name"]),
        ("DeleteModel", first.outputs["model-name"]),
    ]
    assert deployer.configs() == {serving}
    assert deployer.models() == {model}
