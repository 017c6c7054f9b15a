"""Application Auto Scaling as AWS keeps it, where moto 5.2.5 departs.

- **Deregistering a target deletes its scaling policies and scheduled actions.** API reference,
  DeregisterScalableTarget: "Deregistering a scalable target deletes the scaling policies and the scheduled actions
  that are associated with it." (also PutScalingPolicy: "If a scalable target is deregistered … Any scaling policies
  that were specified for the scalable target are deleted."). moto keeps both, so a re-registered target would find
  its old policies — and their old ARNs — still there.
- **Deleting a policy**: "Deleting a step scaling policy deletes the underlying alarm action, but does not delete the
  CloudWatch alarm associated with the scaling policy" (API reference, DeleteScalingPolicy); a target tracking policy's
  own alarms are deleted with it ("It also deletes the CloudWatch alarms that Application Auto Scaling created on your
  behalf", user guide, delete-target-tracking-policy). moto leaves the step policy's ARN in the alarms' actions. No
  page says in so many words whether deregistering (which deletes the policies) also removes the alarm action, so
  ``Behaviour.step_alarm_actions_after_deregister`` offers both: "removed" (default, the reading of the two pages
  together) or "kept".
- **Target tracking policies make their own alarms** ("Application Auto Scaling creates and manages the CloudWatch
  alarms that trigger scaling events", user guide, target tracking): moto makes them for DynamoDB and ECS only. For a
  SageMaker variant they are made here, named as AWS names them (``TargetTracking-<resource id>-AlarmHigh-<uuid>`` and
  ``…-AlarmLow-<uuid>``, "DO NOT EDIT OR DELETE" in the description), with moto's action format
  ``<policy ARN>:createdBy/<uuid>`` and moto's ECS periods (3 and 15 one-minute periods).
- **Predictive scaling is for ECS only**: botocore's model, PutScalingPolicy PolicyType: "PredictiveScaling—Only
  supported for Amazon ECS." A SageMaker variant's PredictiveScaling policy is refused (ValidationException, the
  emulator's wording: no public example of AWS's). moto refuses PredictiveScaling for every namespace, ECS included.
- **Tags on scalable targets** (TagResource, UntagResource, ListTagsForResource on the target's ARN, and
  RegisterScalableTarget's Tags) are not implemented by moto. RegisterScalableTarget with Tags on a target that
  exists is refused: "The scalable target that you tried to tag already exists. To update tags on an existing
  scalable target, use the TagResource API." (ValidationException, terraform-aws-modules/terraform-aws-rds-aurora
  #420). An ARN that names no target: ResourceNotFoundException (the operations' error shapes in botocore's model);
  more than 50 tags: TooManyTagsException (AWS tag limits: 50 per resource).
- **A new target is eventually consistent** (RegisterScalableTarget API reference: "might take a brief delay"):
  ``Behaviour.new_target_invisible_calls`` makes a target registered anew missing to that many calls naming it
  (TagResource / ListTagsForResource: ResourceNotFoundException; PutScalingPolicy / PutScheduledAction:
  ObjectNotFoundException "No scalable target registered for service namespace: …", as
  cloudposse/terraform-aws-ecs-cloudwatch-autoscaling PR #36 and ansible/ansible #40237 show it; DescribeScalableTargets
  leaves it out). moto takes a policy or scheduled action for a target that was never registered; AWS refuses it
  with that ObjectNotFoundException, and so does the emulator.
- **SuspendedState** is always described with its three flags, each false unless set (AWS CLI example,
  describe-scalable-targets; SuspendedState API reference: "The default is false"); moto answers null when it was
  not given.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from moto.applicationautoscaling.exceptions import AWSValidationException
from moto.applicationautoscaling.models import (
    ApplicationAutoscalingBackend,
    FakeApplicationAutoscalingPolicy,
    FakeScalableTarget,
)
from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.cloudwatch.models import Alarm, cloudwatch_backends
from moto.core.exceptions import JsonRESTError
from moto.moto_api._internal import mock_random

from ._behaviour import Behaviour

_ACTION_LISTS = ("alarm_actions", "ok_actions", "insufficient_data_actions")
_SUSPENDED_FLAGS = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")
_MAX_TAGS = 50
# What a predefined metric type tracks: SageMakerVariantInvocationsPerInstance is "the average number of times per
# minute that each instance for a variant is invoked" (developer guide, endpoint auto scaling policy), the
# InvocationsPerInstance metric. For other predefined types the emulator does not know the metric AWS puts in the
# alarms; they name the type itself (nothing reads it).
_PREDEFINED_METRICS = {"SageMakerVariantInvocationsPerInstance": ("InvocationsPerInstance", "Sum")}


class _State:
    behaviour = Behaviour()


def install(behaviour: Behaviour) -> None:
    """Patch moto's Application Auto Scaling once per process; ``behaviour`` applies from now on.

    moto's state is process-global, like the one emulator a process runs, so the switches are too.
    """
    _State.behaviour = behaviour
    if getattr(ApplicationAutoScalingResponse, "list_tags_for_resource", None) is _list_tags_for_resource:
        return
    _patch_backend()
    _patch_policies()
    _patch_responses()


# --- the backend: deregistration, policy deletion, SuspendedState -----------------------------------------------


def _patch_backend() -> None:
    original_deregister = ApplicationAutoscalingBackend.deregister_scalable_target
    original_delete_policy = ApplicationAutoscalingBackend.delete_scaling_policy
    original_put_policy = ApplicationAutoscalingBackend.put_scaling_policy

    @functools.wraps(original_deregister)
    def deregister_scalable_target(
        self: ApplicationAutoscalingBackend, namespace: str, r_id: str, dimension: str
    ) -> None:
        original_deregister(self, namespace, r_id, dimension)
        doomed = [
            key
            for key, policy in self.policies.items()
            if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (namespace, r_id, dimension)
        ]
        remove_actions = _State.behaviour.step_alarm_actions_after_deregister == "removed"
        for key in doomed:
            _forget_policy(self, self.policies.pop(key), remove_step_actions=remove_actions)
        self.scheduled_actions = [
            a
            for a in self.scheduled_actions
            if (a.service_namespace, a.resource_id, a.scalable_dimension) != (namespace, r_id, dimension)
        ]

    @functools.wraps(original_delete_policy)
    def delete_scaling_policy(
        self: ApplicationAutoscalingBackend,
        policy_name: str,
        service_namespace: str,
        resource_id: str,
        scalable_dimension: str,
    ) -> None:
        key = FakeApplicationAutoscalingPolicy.formulate_key(
            service_namespace, resource_id, scalable_dimension, policy_name
        )
        policy = self.policies.get(key)
        original_delete_policy(self, policy_name, service_namespace, resource_id, scalable_dimension)
        if policy is not None:
            _forget_policy(self, policy, remove_step_actions=True, alarms_deleted=True)

    @functools.wraps(original_put_policy)
    def put_scaling_policy(
        self: ApplicationAutoscalingBackend,
        policy_name: str,
        service_namespace: str,
        resource_id: str,
        scalable_dimension: str,
        policy_body: dict[str, Any],
        policy_type: str | None,
    ) -> FakeApplicationAutoscalingPolicy:
        if policy_type == "PredictiveScaling" and service_namespace == "sagemaker":
            raise AWSValidationException(
                "PredictiveScaling policies are not supported for service namespace sagemaker; "
                "predictive scaling is supported for Amazon ECS only."
            )
        key = FakeApplicationAutoscalingPolicy.formulate_key(
            service_namespace, resource_id, scalable_dimension, policy_name
        )
        replaced = self.policies.get(key)
        policy = original_put_policy(
            self, policy_name, service_namespace, resource_id, scalable_dimension, policy_body, policy_type
        )
        if replaced is not None and replaced is not policy:
            # moto makes a new policy object on an update; the alarms it made for the old one must not linger.
            replaced.delete_alarms(replaced.account_id, replaced.region_name)
        return policy

    ApplicationAutoscalingBackend.deregister_scalable_target = deregister_scalable_target  # type: ignore[method-assign]
    ApplicationAutoscalingBackend.delete_scaling_policy = delete_scaling_policy  # type: ignore[method-assign]
    ApplicationAutoscalingBackend.put_scaling_policy = put_scaling_policy  # type: ignore[method-assign]


def _forget_policy(
    backend: ApplicationAutoscalingBackend,
    policy: FakeApplicationAutoscalingPolicy,
    *,
    remove_step_actions: bool,
    alarms_deleted: bool = False,
) -> None:
    """What deleting ``policy`` does to CloudWatch: its own alarms go, its ARN leaves other alarms' actions."""
    if not alarms_deleted:
        policy.delete_alarms(backend.account_id, backend.region_name)
    if not remove_step_actions or policy.policy_type != "StepScaling":
        return
    cloudwatch = cloudwatch_backends[backend.account_id][backend.region_name]
    for alarm in cloudwatch.alarms.values():
        for attribute in _ACTION_LISTS:
            actions = getattr(alarm, attribute) or []
            if policy.policy_arn in actions:
                setattr(alarm, attribute, [a for a in actions if a != policy.policy_arn])


# --- target tracking alarms of SageMaker variants -------------------------------------------------------------


def _patch_policies() -> None:
    original_create_alarms = FakeApplicationAutoscalingPolicy.create_alarms

    @functools.wraps(original_create_alarms)
    def create_alarms(self: FakeApplicationAutoscalingPolicy) -> None:
        original_create_alarms(self)
        if self.policy_type == "TargetTrackingScaling" and self.service_namespace == "sagemaker":
            self.alarms.extend(_sagemaker_alarms(self))

    FakeApplicationAutoscalingPolicy.create_alarms = create_alarms  # type: ignore[method-assign]


def _sagemaker_alarms(policy: FakeApplicationAutoscalingPolicy) -> list[Alarm]:
    config: dict[str, Any] = policy.target_tracking_scaling_policy_configuration or {}
    parts = policy.resource_id.split("/")  # endpoint/<endpoint>/variant/<variant>
    endpoint, variant = (parts[1], parts[3]) if len(parts) == 4 else (policy.resource_id, "")
    custom = config.get("CustomizedMetricSpecification") or {}
    if custom.get("MetricName"):
        namespace, metric, statistic = custom.get("Namespace", ""), custom["MetricName"], custom.get("Statistic")
        dimensions = list(custom.get("Dimensions") or [])
    else:
        predefined = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType", "")
        metric, statistic = _PREDEFINED_METRICS.get(predefined, (predefined, "Average"))
        namespace = "AWS/SageMaker"
        dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
    target = float(config.get("TargetValue", 0.0))
    action = f"{policy.policy_arn}:createdBy/{mock_random.uuid4()}"
    cloudwatch = cloudwatch_backends[policy.account_id][policy.region_name]
    alarms: list[Alarm] = []
    shapes = (("AlarmHigh", "GreaterThanThreshold", 3, target), ("AlarmLow", "LessThanThreshold", 15, target * 0.9))
    for suffix, comparison, periods, threshold in shapes:
        alarms.append(
            cloudwatch.put_metric_alarm(
                name=f"TargetTracking-{policy.resource_id}-{suffix}-{mock_random.uuid4()}",
                namespace=namespace,
                metric_name=metric,
                metric_data_queries=[],
                comparison_operator=comparison,
                evaluation_periods=periods,
                period=60,
                threshold=threshold,
                statistic=statistic or "Average",
                description=f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {action}.",
                dimensions=dimensions,
                alarm_actions=[action],
            )
        )
    return alarms


# --- responses: tags, SuspendedState ------------------------------------------------------------------------


class _ResourceNotFound(JsonRESTError):
    def __init__(self, arn: str) -> None:
        super().__init__("ResourceNotFoundException", f"Scalable target with ARN {arn} not found.")


class _NoTarget(JsonRESTError):
    def __init__(self, namespace: str, r_id: str, dimension: str) -> None:
        super().__init__(
            "ObjectNotFoundException",
            f"No scalable target registered for service namespace: {namespace}, resource ID: {r_id}, "
            f"scalable dimension: {dimension}",
        )


def _invisible(target: Any) -> bool:
    """Whether a target registered a moment ago is still missing to this call (counted down per call)."""
    left = int(getattr(target, "invisible_for", 0))
    if left > 0:
        target.invisible_for = left - 1
    return left > 0


def _visible_target(response: ApplicationAutoScalingResponse) -> None:
    """PutScalingPolicy / PutScheduledAction need a registered target that is visible by now."""
    namespace = response._get_param("ServiceNamespace")
    r_id, dimension = response._get_param("ResourceId"), response._get_param("ScalableDimension")
    target = response.applicationautoscaling_backend.targets.get(dimension, {}).get(r_id)
    if target is None or _invisible(target):
        raise _NoTarget(namespace, r_id, dimension)


class _TooManyTags(JsonRESTError):
    def __init__(self) -> None:
        super().__init__("TooManyTagsException", f"A scalable target can have at most {_MAX_TAGS} tags.")


def _patch_responses() -> None:
    original_register = ApplicationAutoScalingResponse.register_scalable_target
    original_describe = ApplicationAutoScalingResponse.describe_scalable_targets
    original_put_policy = ApplicationAutoScalingResponse.put_scaling_policy
    original_put_scheduled = ApplicationAutoScalingResponse.put_scheduled_action

    @functools.wraps(original_register)
    def register_scalable_target(self: ApplicationAutoScalingResponse) -> str:
        tags = self._get_param("Tags") or {}
        backend = self.applicationautoscaling_backend
        dimension, r_id = self._get_param("ScalableDimension"), self._get_param("ResourceId")
        if tags and r_id in backend.targets.get(dimension, {}):
            raise AWSValidationException(
                "The scalable target that you tried to tag already exists. To update tags on an existing scalable "
                "target, use the TagResource API."
            )
        if len(tags) > _MAX_TAGS:
            raise _TooManyTags()
        new = r_id not in backend.targets.get(dimension, {})
        answer = original_register(self)
        if tags:
            backend.targets[dimension][r_id].tags = dict(tags)  # type: ignore[attr-defined]
        if new:
            target = backend.targets[dimension][r_id]
            target.invisible_for = _State.behaviour.new_target_invisible_calls  # type: ignore[attr-defined]
        return answer

    @functools.wraps(original_describe)
    def describe_scalable_targets(self: ApplicationAutoScalingResponse) -> str:
        answer = json.loads(original_describe(self))
        named = set(self._get_param("ResourceIds") or [])
        targets = self.applicationautoscaling_backend.targets
        answer["ScalableTargets"] = [
            t
            for t in answer.get("ScalableTargets", [])
            if t["ResourceId"] not in named or not _invisible(targets[t["ScalableDimension"]][t["ResourceId"]])
        ]
        for target in answer.get("ScalableTargets", []):
            state = target.get("SuspendedState") or {}
            target["SuspendedState"] = {flag: bool(state.get(flag, False)) for flag in _SUSPENDED_FLAGS}
        return json.dumps(answer)

    @functools.wraps(original_put_policy)
    def put_scaling_policy(self: ApplicationAutoScalingResponse) -> str:
        _visible_target(self)
        return original_put_policy(self)

    @functools.wraps(original_put_scheduled)
    def put_scheduled_action(self: ApplicationAutoScalingResponse) -> str:
        _visible_target(self)
        return original_put_scheduled(self)

    ApplicationAutoScalingResponse.register_scalable_target = register_scalable_target  # type: ignore[method-assign]
    ApplicationAutoScalingResponse.put_scaling_policy = put_scaling_policy  # type: ignore[method-assign]
    ApplicationAutoScalingResponse.put_scheduled_action = put_scheduled_action  # type: ignore[method-assign]
    ApplicationAutoScalingResponse.describe_scalable_targets = describe_scalable_targets  # type: ignore[method-assign]
    ApplicationAutoScalingResponse.tag_resource = _tag_resource  # type: ignore[attr-defined]
    ApplicationAutoScalingResponse.untag_resource = _untag_resource  # type: ignore[attr-defined]
    ApplicationAutoScalingResponse.list_tags_for_resource = _list_tags_for_resource  # type: ignore[attr-defined]


def _target_by_arn(response: ApplicationAutoScalingResponse, arn: str) -> FakeScalableTarget:
    for targets in response.applicationautoscaling_backend.targets.values():
        for target in targets.values():
            if target.arn == arn:
                return target
    raise _ResourceNotFound(arn)


def _tag_resource(self: ApplicationAutoScalingResponse) -> str:
    target = _target_by_arn(self, self._get_param("ResourceARN"))
    if _invisible(target):
        raise _ResourceNotFound(target.arn)
    tags = {**getattr(target, "tags", {}), **(self._get_param("Tags") or {})}
    if len(tags) > _MAX_TAGS:
        raise _TooManyTags()
    target.tags = tags  # type: ignore[attr-defined]
    return "{}"


def _untag_resource(self: ApplicationAutoScalingResponse) -> str:
    target = _target_by_arn(self, self._get_param("ResourceARN"))
    keys = set(self._get_param("TagKeys") or [])
    target.tags = {k: v for k, v in getattr(target, "tags", {}).items() if k not in keys}  # type: ignore[attr-defined]
    return "{}"


def _list_tags_for_resource(self: ApplicationAutoScalingResponse) -> str:
    target = _target_by_arn(self, self._get_param("ResourceARN"))
    if _invisible(target):
        raise _ResourceNotFound(target.arn)
    return json.dumps({"Tags": dict(getattr(target, "tags", {}))})
