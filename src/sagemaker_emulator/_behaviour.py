"""Switches for what AWS has been seen to do either way, or where the evidence does not settle it.

Each field's default is the emulator's best reading of the evidence cited beside it; tests of the action run
against both values.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal


@dataclass(frozen=True)
class Behaviour:
    """How the emulated SageMaker behaves where AWS has been seen to do either."""

    # An async endpoint scaled to 0 instances: DeployedImages empty (nothing runs, nothing was resolved for a
    # running instance) or still listing the images. The API reference says DeployedImages lists "the inference
    # images deployed on instances of this ProductionVariant"; with no instances the list is empty by that wording.
    # Default "empty".
    deployed_images_at_zero: Literal["empty", "kept"] = "empty"

    # FailureReason after SageMaker rolled an update back because an auto-rollback alarm fired. No public example
    # shows a reason then; terraform-provider-aws PR #49020 says after a rollback "the FailureReason may become
    # empty". Default "empty"; "set" gives the emulator's own wording naming the alarm.
    failure_reason_after_alarm_rollback: Literal["empty", "set"] = "empty"

    # FailureReason after an update whose new fleet failed (health check, container start) and the old fleet
    # kept serving. terraform-provider-aws #39099 / PR #39100: "the failure of UpdateEndpoint can result in that
    # endpoint remaining in service, with a failure reason populated"; PR #49020: "the FailureReason may become
    # empty". Default "set".
    failure_reason_after_failed_update: Literal["set", "empty"] = "set"

    # UpdateEndpoint after the serving config was deleted and a config was created again under the same name.
    # UpdateEndpoint refuses an endpoint whose current config is gone (terraform-provider-aws #40048, #48997);
    # nobody has shown what happens once a config of that name (hence of that ARN, names are lower-cased into it)
    # exists again. Default True: the lookup by name/ARN finds it.
    recreated_config_accepted: bool = True

    # DeleteEndpoint while the endpoint is Creating / Updating / RollingBack / SystemUpdating. Public logs and a
    # stubbed error show 'Cannot update in-progress endpoint' for DeleteEndpoint during Creating. Default "refuse".
    delete_in_progress: Literal["refuse", "allow"] = "refuse"

    # The documented size limits of deployment guardrails (canary <= 50 %, linear 10-50 %, rolling batch 5-50 % of
    # the variant's instance count, one update policy only). botocore's model documents them ("Value must be …")
    # but nobody has shown the API's refusal; the ranges in the model itself are always enforced. Default True,
    # with the emulator's own wording.
    enforce_deployment_limits: bool = True

    # While Creating, DescribeEndpoint lists ProductionVariants (0 instances, VariantStatus Creating) or leaves
    # them out. PendingDeploymentSummary "is only returned when the endpoint is creating or updating with a new
    # endpoint configuration" and ProductionVariants are "one for each model hosted behind this endpoint" (API
    # reference) — nothing is hosted yet. Default "absent".
    variants_while_creating: Literal["absent", "listed"] = "absent"

    # What deregistering a scalable target does to the CloudWatch alarms that name one of its step scaling policies.
    # Deregistering "deletes the scaling policies" (DeregisterScalableTarget API reference) and "deleting a step
    # scaling policy deletes the underlying alarm action" (DeleteScalingPolicy); no page says so of deregistration
    # itself. Default "removed": the policy's ARN leaves the alarms' actions; "kept": it stays, naming nothing.
    step_alarm_actions_after_deregister: Literal["removed", "kept"] = "removed"

    # An auto-rollback alarm that is in ALARM already when the update starts (tripped by the old fleet). "If any
    # alarms are tripped during a deployment, SageMaker rolls back" (AutoRollbackConfig API reference), and "if your
    # old fleet trips the alarm during deployment, SageMaker AI ends your deployment" (deployment-guardrails-
    # configuration): read as a state, such an alarm rolls back at the first bake's end. CloudFormation's
    # AutoRollbackConfiguration says alarms "that trigger automatic rollback if they enter the ALARM state during
    # deployment": read as a transition, it does not. Default "rolls-back"; "ignored" counts only alarms that went
    # to ALARM after the update started.
    alarm_in_alarm_at_start: Literal["rolls-back", "ignored"] = "rolls-back"

    # DescribeModel of a model made from a model package (CreateModel with the container's ModelPackageName). The
    # API reference of DescribeModel says it returns the PrimaryContainer "as specified" through ContainerDefinition,
    # and ContainerDefinition's Image is optional once ModelPackageName is given (terraform-provider-aws PR #31755
    # made `image` optional for that reason); no public answer shows whether the package's Image and ModelDataUrl
    # are filled in. Default "as-created": the container as CreateModel got it; "with-image" adds the package's
    # container Image and ModelDataUrl.
    package_model_description: Literal["as-created", "with-image"] = "as-created"

    # GetLogEvents' first page of a read from the head. "This operation can return empty results while there are
    # more log events available through the token" (GetLogEvents API reference); aws/aws-sdk-net #3218 shows such
    # empty pages. When it happens is not documented. Default "full" (moto's: the events at once); "empty": a read
    # without a token gets no events and a token that leads to them.
    log_events_first_page: Literal["full", "empty"] = "full"

    # A log stream's lastEventTimestamp in DescribeLogStreams: "lastEventTimeStamp updates on an eventual
    # consistency basis. It typically updates in less than an hour from ingestion" (API reference), so a new
    # fleet's streams may sort as if empty when ordered by LastEventTime. Default "current" (moto's); "eventual":
    # a stream whose latest event is younger than a minute is described without it.
    last_event_timestamp: Literal["current", "eventual"] = "current"

    # EndpointStatus while SageMaker rolls an UpdateEndpoint back (an alarm fired, a fault). DescribeEndpoint's API
    # reference: RollingBack "only applies to an endpoint that has autoscaling enabled and is undergoing variant
    # weight or capacity changes as part of an UpdateEndpointWeightsAndCapacities call"; nothing documents it for
    # an update's rollback, which then reads as the update going on. Default "Updating"; "RollingBack" keeps the
    # sequence the emulator showed before (Updating -> RollingBack -> InService).
    status_during_update_rollback: Literal["Updating", "RollingBack"] = "Updating"

    # How many calls naming a scalable target just registered anew find it missing. RegisterScalableTarget's API
    # reference: a new target "might take a brief delay to reach eventual consistency", sequential calls may fail,
    # and callers should retry; cloudposse/terraform-aws-ecs-cloudwatch-autoscaling PR #36 shows PutScalingPolicy
    # answering "No scalable target registered" right after a registration. Calls counted: TagResource,
    # ListTagsForResource, PutScalingPolicy, PutScheduledAction, DescribeScalableTargets naming it. Default 0.
    new_target_invisible_calls: int = 0


def behaviour_from_flags(pairs: list[str]) -> Behaviour:
    """A Behaviour from ``name=value`` strings (the CLI's ``--behaviour``), checked against the field types."""
    known = {f.name: f for f in fields(Behaviour)}
    values: dict[str, object] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in known:
            raise ValueError(f"--behaviour takes NAME=VALUE with NAME one of {', '.join(known)}, not {pair!r}")
        default = getattr(Behaviour(), name)
        if isinstance(default, bool):
            if raw.lower() not in ("true", "false"):
                raise ValueError(f"--behaviour {name} is true or false, not {raw!r}")
            values[name] = raw.lower() == "true"
        elif isinstance(default, int):
            if not raw.isdigit():
                raise ValueError(f"--behaviour {name} is a whole number, not {raw!r}")
            values[name] = int(raw)
        else:
            values[name] = raw
    behaviour = Behaviour(**values)  # type: ignore[arg-type]  # checked just below
    check(behaviour)
    return behaviour


def check(behaviour: Behaviour) -> None:
    """Refuse a value a Literal field does not allow (dataclasses do not check), and a negative count."""
    if behaviour.new_target_invisible_calls < 0:
        raise ValueError("Behaviour.new_target_invisible_calls is 0 or more")
    allowed = {
        "deployed_images_at_zero": ("empty", "kept"),
        "failure_reason_after_alarm_rollback": ("empty", "set"),
        "failure_reason_after_failed_update": ("set", "empty"),
        "delete_in_progress": ("refuse", "allow"),
        "variants_while_creating": ("absent", "listed"),
        "step_alarm_actions_after_deregister": ("removed", "kept"),
        "alarm_in_alarm_at_start": ("rolls-back", "ignored"),
        "package_model_description": ("as-created", "with-image"),
        "log_events_first_page": ("full", "empty"),
        "last_event_timestamp": ("current", "eventual"),
        "status_during_update_rollback": ("Updating", "RollingBack"),
    }
    for name, values in allowed.items():
        if getattr(behaviour, name) not in values:
            raise ValueError(f"Behaviour.{name} is one of {', '.join(values)}, not {getattr(behaviour, name)!r}")
