"""What AWS's references say where the action and the emulator once agreed on something else: an update's rollback
seen as Updating, a new scalable target not visible at once, guardrails that fall back, autoscaling blocked
during an update — each through the real action against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sagemaker_emulator import Behaviour, Emulator, Timings

from ..action_runner import digest_image
from ..conftest import ACCOUNT_ID, FAST_TIMINGS, boto_client
from ..seed import seed_alarm, seed_step_policy
from .test_autoscaling import DIMENSION, RESOURCE, _alarm, _policy_arn, _seed_scale_from_zero, _settings
from .test_scenarios import Deployer

# Phases long enough that a poll every 0.1 s sees the traffic move and the bake.
SLOW_ENOUGH = Timings(create=0.3, update=1.0, rollback=0.5, delete=0.2)


@pytest.mark.parametrize("status", ["Updating", "RollingBack"])
def test_an_alarm_rollback_is_told_the_same_whether_or_not_sagemaker_shows_rolling_back(
    tmp_path: Path, status: str
) -> None:
    """DescribeEndpoint's reference gives RollingBack to weight and capacity changes only: an update rolled back
    by its alarm is 'rolled-back' with the same message whether the rollback shows Updating or RollingBack."""
    behaviour = Behaviour(status_during_update_rollback=status, failure_reason_after_alarm_rollback="set")  # type: ignore[arg-type]
    with Emulator(timings=SLOW_ENOUGH, account_id=ACCOUNT_ID, behaviour=behaviour) as emu:
        deployer = Deployer(emu, tmp_path)
        seed_alarm(emu, "whisper-5xx", endpoint="whisper")
        inputs = {"alarms": "whisper-5xx", "bake-seconds": "60"}
        assert deployer.run(inputs).result == "created"
        previous = deployer.endpoint()["EndpointConfigName"]
        emu.faults.rollback_next_update(alarm="whisper-5xx")
        run = deployer.run({**inputs, "image": digest_image(2)})
        assert run.result == "rolled-back", run.stdout + run.stderr
        # The log's error is the summary's lead: the rollback, the alarm that caused it, what still serves.
        assert any(
            line.startswith("::error")
            and "SageMaker rolled back the update" in line
            and "because alarm whisper-5xx went to ALARM" in line
            and "the endpoint still serves" in line
            for line in run.lines
        ), run.errors()
        assert run.outputs["endpoint-config-name"] == previous
        assert deployer.endpoint()["EndpointConfigName"] == previous


INF1 = {"instance-type": "ml.inf1.xlarge", "initial-instance-count": "2"}


def test_a_rolling_update_on_inf1_is_warned_that_it_runs_all_at_once_in_plan_mode(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Inf1 endpoints fall back to blue/green all at once with no bake (deployment guardrails exclusions): a plan
    for a rolling update without alarms already says that the strategy and step size are ignored."""
    deployer = Deployer(emulator, tmp_path)
    assert deployer.run(INF1).result == "created"
    run = deployer.run(
        {**INF1, "image": digest_image(2), "deployment-strategy": "rolling", "step-size": "1", "mode": "plan"}
    )
    assert run.result == "would-update", run.stdout + run.stderr
    warnings = [line for line in run.lines if line.startswith("::warning")]
    assert [
        w
        for w in warnings
        if "no deployment guardrails for ml.inf1.xlarge (an Inf1 instance)" in w
        and "deployment-strategy (rolling), step-size (1) are ignored" in w
        and "a second fleet of 2 instance(s)" in w
    ], warnings


def test_a_quota_refusal_on_inf1_advises_what_fits_the_fallback(emulator: Emulator, tmp_path: Path) -> None:
    """A rolling update on Inf1 that SageMaker refuses for capacity is told it needs a second fleet all the same,
    not that a smaller step-size would need less."""
    deployer = Deployer(emulator, tmp_path)
    assert deployer.run(INF1).result == "created"
    emulator.faults.quota_next_update()
    run = deployer.run({**INF1, "image": digest_image(2), "deployment-strategy": "rolling", "step-size": "1"})
    assert run.result == "failed"
    [error] = run.errors()
    assert "every update runs blue/green all at once, a second fleet of 2 ml.inf1.xlarge instance(s)" in error
    assert "Neither rolling nor a smaller step-size needs less on it" in error
    assert "A smaller step-size needs less" not in error


def _autoscale(emulator: Emulator, low: int, high: int) -> None:
    boto_client(emulator, "application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="endpoint/whisper/variant/AllTraffic",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=low,
        MaxCapacity=high,
    )


def test_an_update_of_an_autoscaled_variant_is_warned_how_long_scaling_is_blocked(
    emulator: Emulator, tmp_path: Path
) -> None:
    """SageMaker blocks autoscaling during an update (endpoint-scaling-update): a linear rollout of 4 steps with a
    600 s bake is warned, in plan and apply runs, with its length and AWS's advice; without a target, nothing."""
    deployer = Deployer(emulator, tmp_path)
    seed_alarm(emulator, "whisper-5xx", endpoint="whisper")
    four = {"initial-instance-count": "4", "alarms": "whisper-5xx", "bake-seconds": "600"}
    assert deployer.run(four).result == "created"
    linear = {**four, "deployment-strategy": "linear", "step-size": "1", "deployment-timeout-minutes": "60"}
    unscaled = deployer.run({**linear, "image": digest_image(2), "mode": "plan"})
    assert not [line for line in unscaled.lines if "blocks autoscaling" in line]
    _autoscale(emulator, 2, 8)
    expected = (
        "The variant scales with Application Auto Scaling (2–8 instances), and SageMaker blocks autoscaling while "
        "an update is in progress: this rollout holds the variant at 4 instances for 4 bakes of 600 s (about 40 "
        "min) plus the time to launch the new fleet. If traffic or the backlog may grow meanwhile, raise the "
        "instance count first"
    )
    for mode in ("plan", "apply"):
        run = deployer.run({**linear, "image": digest_image(2), "mode": mode, "bake-seconds": "600"})
        warnings = [line for line in run.lines if line.startswith("::warning") and expected in line]
        assert len(warnings) == 1, run.stdout
        assert expected in run.summary.replace("\\", "")


def _seed_with_patience(emu: Emulator, invisible_calls: int) -> tuple[Any, Any]:
    """A scale-from-zero setup (tagged target 0–30, a step policy, the alarm naming it), made as a patient client
    makes it where a new target is not visible at once: it describes the target until it is there."""
    autoscaling = boto_client(emu, "application-autoscaling")
    cloudwatch = boto_client(emu, "cloudwatch")
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=RESOURCE,
        ScalableDimension=DIMENSION,
        MinCapacity=0,
        MaxCapacity=30,
        Tags={"team": "speech"},
    )
    for _ in range(invisible_calls):
        assert (
            autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RESOURCE])[
                "ScalableTargets"
            ]
            == []
        )
    policy_arn = seed_step_policy(autoscaling, "scale-out-from-zero")
    seed_alarm(
        emu,
        "HasBacklogWithoutCapacity",
        endpoint="whisper",
        metric="HasBacklogWithoutCapacity",
        AlarmActions=[policy_arn],
    )
    return autoscaling, cloudwatch


@pytest.mark.parametrize("invisible_calls", [0, 2])
def test_autoscaling_is_restored_though_the_new_target_is_not_visible_at_once(
    tmp_path: Path, invisible_calls: int
) -> None:
    """RegisterScalableTarget is eventually consistent: the tags, policy and alarm of a scale-from-zero setup are
    put back after an instance-type change even when the new target is missing to the next calls, which are
    retried and say so; when it is visible at once nothing is retried."""
    behaviour = Behaviour(new_target_invisible_calls=invisible_calls)
    with Emulator(timings=FAST_TIMINGS, account_id=ACCOUNT_ID, behaviour=behaviour) as emu:
        deployer = Deployer(emu, tmp_path)
        assert deployer.run().result == "created"
        autoscaling, cloudwatch = _seed_with_patience(emu, invisible_calls)
        before = _settings(autoscaling)
        run = deployer.run({"instance-type": "ml.g5.xlarge"})
        assert run.result == "updated", run.stdout + run.stderr
        assert _settings(autoscaling) == before
        new_arn = _policy_arn(autoscaling, "scale-out-from-zero")
        assert _alarm(cloudwatch, "HasBacklogWithoutCapacity")["AlarmActions"] == [new_arn]
        retries = [line for line in run.lines if "does not see the target registered a moment ago yet" in line]
        assert len(retries) == invisible_calls, run.stdout
        assert "Could not finish restoring" not in run.stdout


def test_an_alarm_with_a_member_botocore_does_not_know_is_left_as_it_is_and_explained(
    emulator: Emulator, tmp_path: Path
) -> None:
    """PutMetricAlarm overwrites an alarm whole: an alarm described with a member the pinned botocore drops is not
    rewritten after an instance-type change; a warning says what to re-point by hand, naming the new ARN."""
    deployer = Deployer(emulator, tmp_path)
    assert deployer.run().result == "created"
    autoscaling, _, _ = _seed_scale_from_zero(emulator)
    emulator.faults.extra_item_member("DescribeAlarms", "MetricAlarms", "FutureSetting", {"Mode": "new"})
    run = deployer.run({"instance-type": "ml.g5.xlarge"})
    assert run.result == "updated", run.stdout + run.stderr
    new_arn = _policy_arn(autoscaling, "scale-out-from-zero")
    assert "PutMetricAlarm" not in emulator.operations("cloudwatch")
    warnings = [line for line in run.lines if line.startswith("::warning") and "left as it is" in line]
    assert {w.split("Alarm ", 1)[1].split(" ", 1)[0] for w in warnings} == {
        "HasBacklogWithoutCapacity",
        "whisper-backlog-page",
    }, warnings
    assert all("(FutureSetting)" in w and f"add {new_arn} to AlarmActions." in w for w in warnings), warnings


def test_a_scaling_policy_with_a_member_botocore_does_not_know_stops_the_change_before_any_write(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A policy that deregistration would delete and botocore could not put back whole: the instance-type change
    is refused before anything is deregistered or updated, naming the policy and the member."""
    deployer = Deployer(emulator, tmp_path)
    assert deployer.run().result == "created"
    _seed_scale_from_zero(emulator)
    emulator.faults.extra_item_member("DescribeScalingPolicies", "ScalingPolicies", "FutureSetting", 1)
    run = deployer.run({"instance-type": "ml.g5.xlarge"})
    assert run.result == "failed"
    [error] = run.errors()
    assert "scaling policy scale-out-from-zero (FutureSetting)" in error
    assert "Nothing was changed" in error
    assert "DeregisterScalableTarget" not in emulator.operations()
    assert "UpdateEndpoint" not in emulator.operations()
