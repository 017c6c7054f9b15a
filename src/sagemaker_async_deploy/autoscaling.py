"""Application Auto Scaling around an instance-type change.

SageMaker refuses to change the instance type of a variant that is a scalable target. The target, its
policies and its scheduled actions are recorded (deregistering a target deletes all of them), the target
deregistered for the update, and everything put back afterwards — after a rollback or failure too, so the
endpoint keeps scaling whatever the verdict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from botocore.exceptions import ClientError

from . import aws
from .log import Log, safe

# Fields DescribeScalableTargets / DescribeScalingPolicies return that Register / Put do not take.
_TARGET_KEYS = (
    "ServiceNamespace",
    "ResourceId",
    "ScalableDimension",
    "MinCapacity",
    "MaxCapacity",
    "SuspendedState",
)
_SCHEDULE_KEYS = (
    "ServiceNamespace",
    "ScheduledActionName",
    "ResourceId",
    "ScalableDimension",
    "Schedule",
    "Timezone",
    "StartTime",
    "EndTime",
    "ScalableTargetAction",
)
_POLICY_KEYS = (
    "PolicyName",
    "ServiceNamespace",
    "ResourceId",
    "ScalableDimension",
    "PolicyType",
    "StepScalingPolicyConfiguration",
    "TargetTrackingScalingPolicyConfiguration",
)


@dataclass(frozen=True)
class SavedScaling:
    resource_id: str
    target: aws.Json
    policies: tuple[aws.Json, ...]
    scheduled_actions: tuple[aws.Json, ...] = ()


def resource_id(endpoint_name: str, variant_name: str) -> str:
    return f"endpoint/{endpoint_name}/variant/{variant_name}"


def suspend_scaling(clients: aws.Clients, log: Log, endpoint_name: str, variant_name: str) -> SavedScaling | None:
    """Deregister the variant's scalable target, returning what is needed to restore it (None: none)."""
    autoscaling = clients.autoscaling
    rid = resource_id(endpoint_name, variant_name)
    target = aws.describe_scalable_target(autoscaling, rid)
    if target is None:
        return None
    policies = aws.describe_scaling_policies(autoscaling, rid)
    scheduled = aws.describe_scheduled_actions(autoscaling, rid)
    saved = SavedScaling(
        resource_id=rid,
        target={k: target[k] for k in _TARGET_KEYS if k in target},
        policies=tuple({k: p[k] for k in _POLICY_KEYS if k in p} for p in policies),
        scheduled_actions=tuple({k: a[k] for k in _SCHEDULE_KEYS if k in a} for a in scheduled),
    )
    log.info(
        f"The variant is an Application Auto Scaling target ({target.get('MinCapacity')}–"
        f"{target.get('MaxCapacity')} instances, {len(policies)} polic{'y' if len(policies) == 1 else 'ies'}, "
        f"{len(scheduled)} scheduled action(s)): deregistering it for the instance-type change; it is restored "
        "afterwards."
    )
    # Kept only in this process: if the job is cancelled before the restore, the log is where it survives.
    with log.group("Autoscaling settings to restore (JSON)"):
        for line in _as_json(saved).splitlines():
            log.info(safe(line))
    aws.deregister_scalable_target(autoscaling, rid)
    return saved


def _as_json(saved: SavedScaling) -> str:
    document = {
        "ScalableTarget": saved.target,
        "ScalingPolicies": list(saved.policies),
        "ScheduledActions": list(saved.scheduled_actions),
    }
    return json.dumps(document, indent=2, default=str)


def restore_scaling(clients: aws.Clients, log: Log, saved: SavedScaling) -> None:
    autoscaling = clients.autoscaling
    try:
        aws.register_scalable_target(autoscaling, saved.target)
        for policy in saved.policies:
            aws.put_scaling_policy(autoscaling, policy)
        for action in saved.scheduled_actions:
            aws.put_scheduled_action(autoscaling, action)
    except ClientError as error:
        log.warning(
            f"Could not restore autoscaling on {saved.resource_id}: {aws.error_message(error)}. "
            f"Register the target again ({saved.target.get('MinCapacity')}–{saved.target.get('MaxCapacity')} "
            "instances), its policies and scheduled actions: they are in the group 'Autoscaling settings to "
            "restore' above."
        )
        return
    log.info(
        f"Restored autoscaling on {safe(saved.resource_id)}: {len(saved.policies)} scaling policies, "
        f"{len(saved.scheduled_actions)} scheduled actions."
    )
