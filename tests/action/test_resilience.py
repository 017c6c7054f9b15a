"""Reruns after a crash and concurrent runs: the action converges and deletes nothing that serves."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from sagemaker_emulator import Emulator, Timings

from ..action_runner import action_env, digest_image, finish, kill_when, start_action
from .test_scenarios import Deployer


@pytest.fixture
def slow_emulator() -> Any:
    """Updates last long enough for a test to kill the action in the middle of its wait, and for the next
    run to start (a Python start-up on a loaded machine) before that update ends."""
    with Emulator(timings=Timings(create=0.3, update=4.0, rollback=0.5, delete=0.1)) as emu:
        yield emu


@pytest.mark.parametrize("crash_after", ["CreateModel", "CreateEndpointConfig", "UpdateEndpoint"])
def test_rerun_after_a_crash_converges_without_orphans(
    slow_emulator: Emulator, tmp_path: Path, crash_after: str
) -> None:
    """A run killed after any step is finished by the next run: new image serving, nothing left unused."""
    deployer = Deployer(slow_emulator, tmp_path)
    first = deployer.run()
    assert first.result == "created"

    env = action_env(slow_emulator, tmp_path / "crashed", {"image": digest_image(2)})
    kill_when(start_action(env), slow_emulator, crash_after)

    rerun = deployer.run({"image": digest_image(2)})
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


def test_two_concurrent_runs_end_consistent(slow_emulator: Emulator, tmp_path: Path) -> None:
    """A second run on the same endpoint waits for the first, plans again and finds nothing to do."""
    deployer = Deployer(slow_emulator, tmp_path)
    deployer.run()
    slow_emulator.clear_requests()
    env_a = action_env(slow_emulator, tmp_path / "a", {"image": digest_image(2)})
    env_b = action_env(slow_emulator, tmp_path / "b", {"image": digest_image(2)})
    first = start_action(env_a)
    # The second run starts once the first has begun its update.
    deadline = time.time() + 20
    while "UpdateEndpoint" not in slow_emulator.operations("sagemaker") and time.time() < deadline:
        time.sleep(0.02)
    second = start_action(env_b)
    run_a, run_b = finish(first, env_a), finish(second, env_b)
    assert run_a.result == "updated", run_a.stdout
    assert run_b.exit_code == 0, run_b.stdout + run_b.stderr
    assert run_b.result in ("unchanged", "updated")
    assert deployer.endpoint()["EndpointConfigName"] == run_a.outputs["endpoint-config-name"]
    assert [r.operation for r in slow_emulator.requests].count("UpdateEndpoint") == 1
    assert deployer.configs() == {run_a.outputs["endpoint-config-name"]}


def test_adopting_a_rollout_never_deletes_what_it_rolled_out(slow_emulator: Emulator, tmp_path: Path) -> None:
    """A rerun naming the same digest under another repository adopts the rollout and keeps what now serves."""
    deployer = Deployer(slow_emulator, tmp_path)
    deployer.run()
    env = action_env(slow_emulator, tmp_path / "crashed", {"image": digest_image(2)})
    kill_when(start_action(env), slow_emulator, "UpdateEndpoint")

    mirror = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/whisper"
    rerun = deployer.run({"image": digest_image(2, repo=mirror)})
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    serving = deployer.endpoint()["EndpointConfigName"]
    model = deployer.sm.describe_endpoint_config(EndpointConfigName=serving)["ProductionVariants"][0]["ModelName"]
    assert deployer.configs() == {serving}
    assert deployer.models() == {model}
