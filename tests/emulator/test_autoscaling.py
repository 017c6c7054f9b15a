"""Application Auto Scaling where moto departs from AWS, observed through plain boto3."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_emulator import Behaviour, Emulator
from tests.conftest import ACCOUNT_ID, FAST_TIMINGS, boto_client

RESOURCE = "endpoint/ep/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def _target(autoscaling: Any, **extra: Any) -> str:
    return str(
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=RESOURCE,
            ScalableDimension=DIMENSION,
            MinCapacity=0,
            MaxCapacity=3,
            **extra,
        )["ScalableTargetARN"]
    )


def _step_policy(autoscaling: Any, name: str = "step") -> str:
    return str(
        autoscaling.put_scaling_policy(
            PolicyName=name,
            ServiceNamespace="sagemaker",
            ResourceId=RESOURCE,
            ScalableDimension=DIMENSION,
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity",
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
            },
        )["PolicyARN"]
    )


def _tracking_policy(autoscaling: Any) -> dict[str, Any]:
    return dict(
        autoscaling.put_scaling_policy(
            PolicyName="tracking",
            ServiceNamespace="sagemaker",
            ResourceId=RESOURCE,
            ScalableDimension=DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 10.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            },
        )
    )


def _alarm(cloudwatch: Any, name: str, actions: list[str]) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/SageMaker",
        MetricName="HasBacklogWithoutCapacity",
        Dimensions=[{"Name": "EndpointName", "Value": "ep"}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=actions,
    )


def _deregister(autoscaling: Any) -> None:
    autoscaling.deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=RESOURCE, ScalableDimension=DIMENSION
    )


def test_deregistering_deletes_policies_and_scheduled_actions(emulator: Emulator) -> None:
    """DeregisterScalableTarget deletes the target's policies and scheduled actions; a target registered again
    starts with none."""
    autoscaling = boto_client(emulator, "application-autoscaling")
    _target(autoscaling)
    _step_policy(autoscaling)
    autoscaling.put_scheduled_action(
        ServiceNamespace="sagemaker",
        ScheduledActionName="night",
        ResourceId=RESOURCE,
        ScalableDimension=DIMENSION,
        Schedule="cron(0 22 * * ? *)",
        ScalableTargetAction={"MinCapacity": 0, "MaxCapacity": 0},
    )
    _deregister(autoscaling)
    _target(autoscaling)
    assert autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    assert autoscaling.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"] == []


@pytest.mark.parametrize("behaviour", ["removed", "kept"])
def test_a_step_policys_arn_leaves_or_stays_in_the_alarms_on_deregistration(behaviour: str) -> None:
    """With step_alarm_actions_after_deregister "removed" the deleted policy's ARN leaves the alarm's actions
    (the alarm itself stays); with "kept" it stays, naming nothing."""
    with Emulator(
        timings=FAST_TIMINGS, account_id=ACCOUNT_ID, behaviour=Behaviour(step_alarm_actions_after_deregister=behaviour)
    ) as emu:
        autoscaling, cloudwatch = boto_client(emu, "application-autoscaling"), boto_client(emu, "cloudwatch")
        _target(autoscaling)
        arn = _step_policy(autoscaling)
        topic = "arn:aws:sns:us-east-1:123456789012:t"
        _alarm(cloudwatch, "backlog", [topic, arn])
        _deregister(autoscaling)
        [alarm] = cloudwatch.describe_alarms(AlarmNames=["backlog"])["MetricAlarms"]
        assert alarm["AlarmActions"] == ([topic] if behaviour == "removed" else [topic, arn])


def test_deleting_a_step_policy_removes_its_alarm_action(emulator: Emulator) -> None:
    """DeleteScalingPolicy removes the policy's ARN from the alarm and keeps the alarm."""
    autoscaling, cloudwatch = boto_client(emulator, "application-autoscaling"), boto_client(emulator, "cloudwatch")
    _target(autoscaling)
    arn = _step_policy(autoscaling)
    _alarm(cloudwatch, "backlog", [arn])
    autoscaling.delete_scaling_policy(
        PolicyName="step", ServiceNamespace="sagemaker", ResourceId=RESOURCE, ScalableDimension=DIMENSION
    )
    [alarm] = cloudwatch.describe_alarms(AlarmNames=["backlog"])["MetricAlarms"]
    assert alarm["AlarmActions"] == []


def test_a_recreated_policy_has_a_new_arn(emulator: Emulator) -> None:
    """A policy put again after its target was deregistered and registered anew gets another ARN."""
    autoscaling = boto_client(emulator, "application-autoscaling")
    _target(autoscaling)
    first = _step_policy(autoscaling)
    _deregister(autoscaling)
    _target(autoscaling)
    assert _step_policy(autoscaling) != first


def test_target_tracking_on_a_variant_makes_its_own_alarms_and_deregistration_deletes_them(
    emulator: Emulator,
) -> None:
    """A target tracking policy of a SageMaker variant comes with AlarmHigh and AlarmLow naming it; they go with
    the target."""
    autoscaling, cloudwatch = boto_client(emulator, "application-autoscaling"), boto_client(emulator, "cloudwatch")
    _target(autoscaling)
    answer = _tracking_policy(autoscaling)
    names = sorted(a["AlarmName"] for a in answer["Alarms"])
    assert [n.split("-")[-6] for n in names] == ["AlarmHigh", "AlarmLow"]
    assert all(n.startswith(f"TargetTracking-{RESOURCE}-") for n in names)
    alarms = cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
    assert all(a["AlarmActions"][0].startswith(answer["PolicyARN"] + ":createdBy/") for a in alarms)
    assert {a["MetricName"] for a in alarms} == {"InvocationsPerInstance"}
    assert all(a["AlarmDescription"].startswith("DO NOT EDIT OR DELETE.") for a in alarms)
    _deregister(autoscaling)
    assert cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"] == []


def test_predictive_scaling_is_refused_for_a_variant(emulator: Emulator) -> None:
    """PredictiveScaling is for ECS only: a SageMaker variant's predictive policy is a ValidationException."""
    autoscaling = boto_client(emulator, "application-autoscaling")
    _target(autoscaling)
    with pytest.raises(ClientError) as refused:
        autoscaling.put_scaling_policy(
            PolicyName="forecast",
            ServiceNamespace="sagemaker",
            ResourceId=RESOURCE,
            ScalableDimension=DIMENSION,
            PolicyType="PredictiveScaling",
            PredictiveScalingPolicyConfiguration={
                "MetricSpecifications": [
                    {"TargetValue": 40.0, "PredefinedMetricPairSpecification": {"PredefinedMetricType": "X"}}
                ]
            },
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_targets_carry_tags_until_deregistered(emulator: Emulator) -> None:
    """Tags given at registration or with TagResource are listed on the target's ARN; UntagResource removes
    them; a deregistered target's ARN is not found."""
    autoscaling = boto_client(emulator, "application-autoscaling")
    arn = _target(autoscaling, Tags={"team": "speech"})
    autoscaling.tag_resource(ResourceARN=arn, Tags={"cost": "1"})
    assert autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "speech", "cost": "1"}
    autoscaling.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"cost": "1"}
    _deregister(autoscaling)
    with pytest.raises(ClientError) as missing:
        autoscaling.list_tags_for_resource(ResourceARN=arn)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_registering_an_existing_target_with_tags_is_refused(emulator: Emulator) -> None:
    """RegisterScalableTarget with Tags on a target that exists points to TagResource."""
    autoscaling = boto_client(emulator, "application-autoscaling")
    _target(autoscaling)
    with pytest.raises(ClientError, match="use the TagResource API"):
        _target(autoscaling, Tags={"team": "speech"})


def test_suspended_state_is_always_described(emulator: Emulator) -> None:
    """A target registered without SuspendedState shows all three flags false; set ones read back."""
    autoscaling = boto_client(emulator, "application-autoscaling")
    _target(autoscaling)
    [target] = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert target["SuspendedState"] == {
        "DynamicScalingInSuspended": False,
        "DynamicScalingOutSuspended": False,
        "ScheduledScalingSuspended": False,
    }
    _target(autoscaling, SuspendedState={"ScheduledScalingSuspended": True})
    [target] = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert target["SuspendedState"]["ScheduledScalingSuspended"] is True


def test_a_policy_for_a_target_never_registered_is_refused(emulator: Emulator) -> None:
    """PutScalingPolicy without a registered target: ObjectNotFoundException "No scalable target registered"
    (ansible/ansible #40237); moto would take it."""
    autoscaling = boto_client(emulator, "application-autoscaling")
    with pytest.raises(ClientError) as refused:
        _step_policy(autoscaling)
    assert refused.value.response["Error"] == {
        "Code": "ObjectNotFoundException",
        "Message": f"No scalable target registered for service namespace: sagemaker, resource ID: {RESOURCE}, "
        f"scalable dimension: {DIMENSION}",
    }


def test_a_new_target_is_missing_to_the_next_calls_naming_it() -> None:
    """Behaviour new_target_invisible_calls=2: the two calls after RegisterScalableTarget that name the new target
    find it missing (RegisterScalableTarget is eventually consistent), the third finds it."""
    behaviour = Behaviour(new_target_invisible_calls=2)
    with Emulator(timings=FAST_TIMINGS, account_id=ACCOUNT_ID, behaviour=behaviour) as emu:
        autoscaling = boto_client(emu, "application-autoscaling", retries={"mode": "standard", "total_max_attempts": 1})
        arn = _target(autoscaling)
        with pytest.raises(ClientError) as first:
            autoscaling.tag_resource(ResourceARN=arn, Tags={"team": "speech"})
        assert first.value.response["Error"]["Code"] == "ResourceNotFoundException"
        with pytest.raises(ClientError) as second:
            _step_policy(autoscaling)
        assert second.value.response["Error"]["Code"] == "ObjectNotFoundException"
        _step_policy(autoscaling)
        autoscaling.tag_resource(ResourceARN=arn, Tags={"team": "speech"})
        assert autoscaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"team": "speech"}
        _target(autoscaling)  # registered again: an existing target is no new one, and is visible at once
        assert len(autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]) == 1
