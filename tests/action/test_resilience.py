"""Reruns after a crash, autoscaled variants and concurrent runs: the action converges and deletes nothing
that serves."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from sagemaker_emulator import Emulator, Timings

from ..action_runner import action_env, digest_image, finish, kill_when, start_action
from ..conftest import boto_client
from .test_scenarios import Deployer

RESOURCE = "endpoint/whisper/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SCALING = ([(0, 4)], ["backlog"], [("nightly-zero", "cron(0 22 * * ? *)")])


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


def _register_autoscaling(emu: Emulator) -> Any:
    autoscaling = boto_client(emu, "application-autoscaling")
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=RESOURCE,
        ScalableDimension=DIMENSION,
        MinCapacity=0,
        MaxCapacity=4,
    )
    autoscaling.put_scaling_policy(
        PolicyName="backlog",
        ServiceNamespace="sagemaker",
        ResourceId=RESOURCE,
        ScalableDimension=DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 5.0,
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateBacklogSizePerInstance",
                "Namespace": "AWS/SageMaker",
                "Dimensions": [{"Name": "EndpointName", "Value": "whisper"}],
                "Statistic": "Average",
            },
        },
    )
    autoscaling.put_scheduled_action(
        ServiceNamespace="sagemaker",
        ScheduledActionName="nightly-zero",
        ResourceId=RESOURCE,
        ScalableDimension=DIMENSION,
        Schedule="cron(0 22 * * ? *)",
        ScalableTargetAction={"MinCapacity": 0, "MaxCapacity": 0},
    )
    return autoscaling


def _scaling(autoscaling: Any) -> tuple[list[tuple[int, int]], list[str], list[tuple[str, str]]]:
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RESOURCE])
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=RESOURCE)
    scheduled = autoscaling.describe_scheduled_actions(ServiceNamespace="sagemaker", ResourceId=RESOURCE)
    return (
        [(t["MinCapacity"], t["MaxCapacity"]) for t in targets["ScalableTargets"]],
        [p["PolicyName"] for p in policies["ScalingPolicies"]],
        [(a["ScheduledActionName"], a["Schedule"]) for a in scheduled["ScheduledActions"]],
    )


def test_instance_type_change_on_an_autoscaled_variant_restores_scaling(emulator: Emulator, tmp_path: Path) -> None:
    """The scalable target is deregistered for the instance-type change and restored with its policy."""
    deployer = Deployer(emulator, tmp_path)
    deployer.run()
    autoscaling = _register_autoscaling(emulator)
    run = deployer.run({"instance-type": "ml.g5.xlarge"})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "updated"
    ops = emulator.operations()
    assert ops.index("DeregisterScalableTarget") < ops.index("UpdateEndpoint") < ops.index("RegisterScalableTarget")
    assert _scaling(autoscaling) == SCALING
    # What was deregistered is in the log, to restore by hand should the job be cancelled mid-update.
    saved = run.stdout.split("::group::Autoscaling settings to restore (JSON)\n", 1)[1].split("::endgroup::")[0]
    assert '"PolicyName": "backlog"' in saved and '"ScheduledActionName": "nightly-zero"' in saved


def test_autoscaling_is_restored_after_a_rollback(emulator: Emulator, tmp_path: Path) -> None:
    """After a rolled-back instance-type change the variant scales as before."""
    deployer = Deployer(emulator, tmp_path)
    deployer.run()
    autoscaling = _register_autoscaling(emulator)
    emulator.faults.rollback_next_update()
    run = deployer.run({"instance-type": "ml.g5.xlarge"})
    assert run.result == "rolled-back"
    assert _scaling(autoscaling) == SCALING


def test_image_update_keeps_autoscaling_untouched(emulator: Emulator, tmp_path: Path) -> None:
    """An image-only update leaves the scalable target registered and never deregisters it."""
    deployer = Deployer(emulator, tmp_path)
    deployer.run()
    autoscaling = _register_autoscaling(emulator)
    run = deployer.run({"image": digest_image(2)})
    assert run.result == "updated"
    assert "DeregisterScalableTarget" not in emulator.operations()
    assert _scaling(autoscaling) == SCALING


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
