"""Autoscaled variants through an instance-type change: the target, its policies, scheduled actions, tags,
SuspendedState and the alarms that name a step policy come out as they went in — also after a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sagemaker_emulator import Behaviour, Emulator

from ..action_runner import action_env, digest_image, kill_when, start_action
from ..conftest import ACCOUNT_ID, FAST_TIMINGS, boto_client
from ..report_html import parse
from .test_scenarios import Deployer

RESOURCE = "endpoint/whisper/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SCALING = ([(0, 4)], ["backlog"], [("nightly-zero", "cron(0 22 * * ? *)")])
RECORD_PREFIX = "sagemaker-async-deploy:autoscaling:"
# What DescribeAlarms changes by itself when an alarm is put again.
VOLATILE_ALARM_MEMBERS = ("AlarmConfigurationUpdatedTimestamp", "StateUpdatedTimestamp", "StateTransitionedTimestamp")


def _register_autoscaling(emu: Emulator) -> Any:
    """A target tracking policy and a scheduled action on the variant."""
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


def _seed_scale_from_zero(emu: Emulator) -> tuple[Any, Any, str]:
    """The seed's setup: target 0–30 (scale-in suspended, tagged), a step policy that adds an instance, and
    the HasBacklogWithoutCapacity alarm naming it; a second alarm names it after an SNS topic. Returns the
    clients and the policy's ARN."""
    autoscaling = boto_client(emu, "application-autoscaling")
    cloudwatch = boto_client(emu, "cloudwatch")
    topic = boto_client(emu, "sns").create_topic(Name="whisper-scaling")["TopicArn"]
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=RESOURCE,
        ScalableDimension=DIMENSION,
        MinCapacity=0,
        MaxCapacity=30,
        SuspendedState={"DynamicScalingInSuspended": True},
        Tags={"team": "speech", "cost-center": "4711"},
    )
    policy_arn = autoscaling.put_scaling_policy(
        PolicyName="scale-out-from-zero",
        ServiceNamespace="sagemaker",
        ResourceId=RESOURCE,
        ScalableDimension=DIMENSION,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "MetricAggregationType": "Average",
            "Cooldown": 300,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
    )["PolicyARN"]
    cloudwatch.put_metric_alarm(
        AlarmName="HasBacklogWithoutCapacity",
        AlarmDescription="Scale out from zero when requests wait",
        Namespace="AWS/SageMaker",
        MetricName="HasBacklogWithoutCapacity",
        Dimensions=[{"Name": "EndpointName", "Value": "whisper"}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=2,
        DatapointsToAlarm=2,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="missing",
        AlarmActions=[policy_arn],
    )
    cloudwatch.put_metric_alarm(
        AlarmName="whisper-backlog-page",
        Namespace="AWS/SageMaker",
        MetricName="ApproximateBacklogSize",
        Dimensions=[{"Name": "EndpointName", "Value": "whisper"}],
        Statistic="Maximum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=100,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[topic, policy_arn],
        OKActions=[topic],
        ActionsEnabled=False,
        Unit="Count",
    )
    return autoscaling, cloudwatch, policy_arn


def _alarm(cloudwatch: Any, name: str) -> dict[str, Any]:
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return {k: v for k, v in alarm.items() if k not in VOLATILE_ALARM_MEMBERS}


def _policy_arn(autoscaling: Any, name: str) -> str:
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=RESOURCE)
    return str(next(p["PolicyARN"] for p in policies["ScalingPolicies"] if p["PolicyName"] == name))


def _target(autoscaling: Any) -> dict[str, Any]:
    [target] = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RESOURCE])[
        "ScalableTargets"
    ]
    return dict(target)


def _settings(autoscaling: Any) -> dict[str, Any]:
    """The variant's autoscaling without what AWS assigns anew on each creation (ARNs, times)."""
    target = _target(autoscaling)
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=RESOURCE)
    scheduled = autoscaling.describe_scheduled_actions(ServiceNamespace="sagemaker", ResourceId=RESOURCE)
    return {
        "target": {k: target[k] for k in ("MinCapacity", "MaxCapacity", "SuspendedState")},
        "tags": autoscaling.list_tags_for_resource(ResourceARN=target["ScalableTargetARN"])["Tags"],
        "policies": [
            {k: v for k, v in p.items() if k not in ("PolicyARN", "CreationTime", "Alarms")}
            for p in policies["ScalingPolicies"]
        ],
        "scheduled": [
            {k: v for k, v in a.items() if k not in ("ScheduledActionARN", "CreationTime")}
            for a in scheduled["ScheduledActions"]
        ],
    }


def _record_tags(deployer: Deployer) -> list[str]:
    arn = deployer.endpoint()["EndpointArn"]
    return [t["Key"] for t in deployer.sm.list_tags(ResourceArn=arn)["Tags"] if t["Key"].startswith(RECORD_PREFIX)]


@pytest.fixture(params=["removed", "kept"])
def either_alarm_behaviour(request: pytest.FixtureRequest) -> Any:
    """An emulator whose deregistration removes a step policy's ARN from the alarms naming it, or keeps it."""
    behaviour = Behaviour(step_alarm_actions_after_deregister=request.param)
    with Emulator(timings=FAST_TIMINGS, account_id=ACCOUNT_ID, behaviour=behaviour) as emu:
        yield emu


def test_seed_scale_from_zero_alarm_names_the_recreated_policy(
    either_alarm_behaviour: Emulator, tmp_path: Path
) -> None:
    """After an instance-type change the HasBacklogWithoutCapacity alarm names the step policy's current ARN,
    and nothing else about either alarm, the target or the policy changed."""
    emu = either_alarm_behaviour
    deployer = Deployer(emu, tmp_path)
    deployer.run()
    autoscaling, cloudwatch, old_arn = _seed_scale_from_zero(emu)
    settings_before = _settings(autoscaling)
    alarms_before = {name: _alarm(cloudwatch, name) for name in ("HasBacklogWithoutCapacity", "whisper-backlog-page")}

    run = deployer.run({"instance-type": "ml.g5.xlarge"})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "updated"

    new_arn = _policy_arn(autoscaling, "scale-out-from-zero")
    assert new_arn != old_arn  # re-created: the old ARN names nothing any more
    assert _settings(autoscaling) == settings_before
    for name, before in alarms_before.items():
        after = _alarm(cloudwatch, name)
        expected = {**before, "AlarmActions": [new_arn if a == old_arn else a for a in before["AlarmActions"]]}
        assert after == expected, name
    assert _record_tags(deployer) == []
    summary = parse(run.summary)
    assert "Autoscaling" in summary.headings
    assert (
        "Alarm HasBacklogWithoutCapacity now names the re-created scaling policy scale-out-from-zero (its new ARN) "
        "in AlarmActions." in summary.text
    )
    puts = [r.params["AlarmName"] for r in emu.requests if r.operation == "PutMetricAlarm"]
    assert sorted(puts) == ["HasBacklogWithoutCapacity", "whisper-backlog-page"]


def test_instance_type_change_on_an_autoscaled_variant_restores_scaling(emulator: Emulator, tmp_path: Path) -> None:
    """A target tracking policy is put back and makes its own alarms anew; the action puts no alarm itself."""
    deployer = Deployer(emulator, tmp_path)
    deployer.run()
    autoscaling = _register_autoscaling(emulator)
    cloudwatch = boto_client(emulator, "cloudwatch")
    old_alarms = {a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert len(old_alarms) == 2  # AlarmHigh and AlarmLow of the target tracking policy

    run = deployer.run({"instance-type": "ml.g5.xlarge"})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "updated"
    ops = emulator.operations()
    assert ops.index("DeregisterScalableTarget") < ops.index("UpdateEndpoint") < ops.index("RegisterScalableTarget")
    assert _scaling(autoscaling) == SCALING
    alarms = cloudwatch.describe_alarms()["MetricAlarms"]
    assert not old_alarms & {a["AlarmName"] for a in alarms}
    new_arn = _policy_arn(autoscaling, "backlog")
    assert len(alarms) == 2 and all(a["AlarmActions"][0].startswith(new_arn + ":createdBy/") for a in alarms)
    assert "PutMetricAlarm" not in emulator.operations("cloudwatch")
    # What was deregistered is in the log too, to restore by hand should the endpoint lose its tags.
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
    assert _record_tags(deployer) == []


def test_image_update_keeps_autoscaling_untouched(emulator: Emulator, tmp_path: Path) -> None:
    """An image-only update leaves the scalable target registered and never deregisters it."""
    deployer = Deployer(emulator, tmp_path)
    deployer.run()
    autoscaling = _register_autoscaling(emulator)
    run = deployer.run({"image": digest_image(2)})
    assert run.result == "updated"
    assert "DeregisterScalableTarget" not in emulator.operations()
    assert _scaling(autoscaling) == SCALING


def test_predictive_scaling_is_refused_for_sagemaker_variants(emulator: Emulator) -> None:
    """Application Auto Scaling offers predictive scaling for ECS only, so no SageMaker variant can carry one."""
    autoscaling = boto_client(emulator, "application-autoscaling")
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=RESOURCE, ScalableDimension=DIMENSION, MinCapacity=0, MaxCapacity=2
    )
    with pytest.raises(autoscaling.exceptions.ValidationException, match="ECS only"):
        autoscaling.put_scaling_policy(
            PolicyName="forecast",
            ServiceNamespace="sagemaker",
            ResourceId=RESOURCE,
            ScalableDimension=DIMENSION,
            PolicyType="PredictiveScaling",
            PredictiveScalingPolicyConfiguration={
                "MetricSpecifications": [
                    {
                        "TargetValue": 40.0,
                        "PredefinedMetricPairSpecification": {"PredefinedMetricType": "ECSServiceCPUUtilization"},
                    }
                ],
                "Mode": "ForecastOnly",
            },
        )


def test_no_room_for_the_record_stops_before_deregistering(emulator: Emulator, tmp_path: Path) -> None:
    """An endpoint with no free tag for the record is not touched: the run fails naming the tags, the target stays."""
    deployer = Deployer(emulator, tmp_path)
    deployer.run()
    autoscaling = _register_autoscaling(emulator)
    arn = deployer.endpoint()["EndpointArn"]
    present = len(deployer.sm.list_tags(ResourceArn=arn)["Tags"])
    deployer.sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50 - present)])

    run = deployer.run({"instance-type": "ml.g5.xlarge"})
    assert run.exit_code != 0
    assert run.result == "failed"
    assert any("carries 50 tags" in line for line in run.errors()), run.stdout
    assert "DeregisterScalableTarget" not in emulator.operations()
    assert "UpdateEndpoint" not in emulator.operations()
    assert _scaling(autoscaling) == SCALING


def _kill_after_deregistering(emu: Emulator, tmp_path: Path) -> None:
    """SIGKILL an instance-type change right after DeregisterScalableTarget; its update, should it have started
    one, is held in Updating for ``Deployer.run_after_crash``."""
    emu.clear_requests()
    emu.faults.hold_next_update("whisper")
    env = action_env(emu, tmp_path / "killed", {"instance-type": "ml.g5.xlarge"})
    kill_when(start_action(env), emu, "DeregisterScalableTarget", service="application-autoscaling")


@pytest.mark.parametrize("rerun_inputs", [{"instance-type": "ml.g5.xlarge"}, {"image": digest_image(3)}])
def test_a_run_killed_after_deregistering_is_restored_by_the_next(
    emulator: Emulator, tmp_path: Path, rerun_inputs: dict[str, str]
) -> None:
    """SIGKILL right after DeregisterScalableTarget: the next run, with the same or other inputs, registers the
    same target with the same policies and scheduled actions and re-points the alarm, then drops the record."""
    emu = emulator
    deployer = Deployer(emu, tmp_path)
    deployer.run()
    autoscaling, cloudwatch, old_arn = _seed_scale_from_zero(emu)
    settings_before = _settings(autoscaling)
    alarm_before = _alarm(cloudwatch, "HasBacklogWithoutCapacity")

    _kill_after_deregistering(emu, tmp_path)
    assert autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert _record_tags(deployer)  # the settings outlived the process, on the endpoint

    rerun = deployer.run_after_crash(rerun_inputs)
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    assert _settings(autoscaling) == settings_before
    new_arn = _policy_arn(autoscaling, "scale-out-from-zero")
    assert new_arn != old_arn
    assert _alarm(cloudwatch, "HasBacklogWithoutCapacity") == {**alarm_before, "AlarmActions": [new_arn]}
    assert _record_tags(deployer) == []
    assert "An earlier run was interrupted" in rerun.stdout


def test_a_recorded_setup_on_an_endpoint_that_cannot_be_updated_is_left_for_later(
    emulator: Emulator, tmp_path: Path
) -> None:
    """The interrupted run's record is not restored on an endpoint the run then refuses (its serving config
    deleted behind its back): the refusal comes before any write, and the record stays for the run that can."""
    deployer = Deployer(emulator, tmp_path)
    deployer.run()
    _seed_scale_from_zero(emulator)
    _kill_after_deregistering(emulator, tmp_path)
    emulator.faults.release("whisper")  # the killed run's update, if it got that far, ends
    deployer.sm.get_waiter("endpoint_in_service").wait(
        EndpointName="whisper", WaiterConfig={"Delay": 0.1, "MaxAttempts": 300}
    )
    deployer.sm.delete_endpoint_config(EndpointConfigName=deployer.endpoint()["EndpointConfigName"])
    emulator.faults.clear()
    emulator.clear_requests()
    run = deployer.run({"instance-type": "ml.g5.xlarge"})
    assert run.exit_code != 0
    assert any("no longer exists" in line for line in run.errors()), run.errors()
    assert emulator.write_calls() == [], [r.operation for r in emulator.write_calls()]
    assert _record_tags(deployer)


def test_plan_run_announces_a_recorded_setup_without_restoring_it(emulator: Emulator, tmp_path: Path) -> None:
    """A plan run finds the record and says an apply run restores it; it writes nothing."""
    deployer = Deployer(emulator, tmp_path)
    deployer.run()
    _seed_scale_from_zero(emulator)
    _kill_after_deregistering(emulator, tmp_path)

    plan = deployer.run_after_crash({"mode": "plan", "instance-type": "ml.g5.xlarge"})
    assert plan.exit_code == 0, plan.stdout + plan.stderr
    assert "the next apply run restores it" in parse(plan.summary).text
    assert emulator.write_calls() == []
    assert _record_tags(deployer)


def test_a_timeout_during_the_change_leaves_the_record_and_the_next_run_restores(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A run that times out while the endpoint still updates registers nothing mid-update and says the next run
    restores autoscaling; that run does, once the update ended."""
    deployer = Deployer(emulator, tmp_path)
    deployer.run()
    autoscaling, cloudwatch, _ = _seed_scale_from_zero(emulator)
    settings_before = _settings(autoscaling)
    emulator.faults.hold_next_update("whisper")
    timed_out = deployer.run({"instance-type": "ml.g5.xlarge", "deployment-timeout-minutes": "0.02"})
    assert timed_out.exit_code != 0
    assert "RegisterScalableTarget" not in emulator.operations()
    assert _record_tags(deployer)
    assert "restores them once the update ends" in parse(timed_out.summary).text

    rerun = deployer.run_waiting({"instance-type": "ml.g5.xlarge"})  # finds the held update in flight
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    assert _settings(autoscaling) == settings_before
    new_arn = _policy_arn(autoscaling, "scale-out-from-zero")
    assert _alarm(cloudwatch, "HasBacklogWithoutCapacity")["AlarmActions"] == [new_arn]
    assert _record_tags(deployer) == []
