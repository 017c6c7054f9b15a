"""Pure request builders: what serves and what is asked for, in; a request for SageMaker, out.

An update's model and endpoint config are the serving ones with only what the inputs name replaced
(AWS's guidance for UpdateEndpoint: "for all other values, use the values that you got when you called
DescribeEndpointConfig"). Which members a request may hold comes from botocore's service model (the input
shapes of CreateModel and CreateEndpointConfig), so a member AWS adds is carried as soon as the installed
botocore knows it; read-only members of a description (ARNs, times) are not in the input shapes and drop out.
A member the installed botocore does not know is not even parsed; ``aws.unknown_members`` finds those, and
the planner refuses to update what it could not carry.

No I/O here: every function is tested by exact payloads.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape

from ._checks import MODEL_NAME_RE, NAME_MAX, Pairs
from .config import MANAGED_BY_KEY, MANAGED_BY_VALUE
from .fields import (
    ALARMS,
    BAKE,
    CONFIG_PARTS,
    ERROR_TOPIC,
    FIELDS,
    MODEL_PARTS,
    STEP_SIZE,
    STRATEGIES,
    STRATEGY,
    SUCCESS_TOPIC,
    Json,
    Part,
)
from .strategy import ROLLING_TIMEOUT_RANGE

HASH_LEN = 12
# What the model names of each topic in IncludeInferenceResponseIn (botocore: AsyncNotificationTopicTypes).
_TOPIC_TYPES = ((SUCCESS_TOPIC, "SUCCESS_NOTIFICATION_TOPIC"), (ERROR_TOPIC, "ERROR_NOTIFICATION_TOPIC"))

Values = Mapping[str, Any]  # each managed setting's value, by input name (None: absent)


@dataclass(frozen=True)
class Shapes:
    """The input shapes of the requests whose members are carried over, from botocore's service model."""

    create_model: StructureShape
    create_endpoint_config: StructureShape
    deployment_config: StructureShape  # UpdateEndpoint's DeploymentConfig

    @classmethod
    def of(cls, service_model: ServiceModel) -> Shapes:
        model = service_model.operation_model("CreateModel").input_shape
        config = service_model.operation_model("CreateEndpointConfig").input_shape
        update = service_model.operation_model("UpdateEndpoint").input_shape
        assert model is not None and config is not None and update is not None
        deployment = update.members["DeploymentConfig"]
        assert isinstance(deployment, StructureShape)
        return cls(model, config, deployment)


def project(value: Any, shape: Shape) -> Any:
    """``value`` with only the members ``shape`` (and its nested shapes) has: a description becomes a request."""
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        return {k: project(v, shape.members[k]) for k, v in value.items() if k in shape.members}
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [project(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, Mapping):
        return {k: project(v, shape.value) for k, v in value.items()}
    return copy.deepcopy(value)


# --- the model ------------------------------------------------------------------------------------------


def model_content(values: Values, serving_model: Json | None, shapes: Shapes) -> Json:
    """CreateModel's request without ModelName and Tags: the serving model with the managed settings set."""
    content: Json = project(serving_model, shapes.create_model) if serving_model else {}
    content.pop("ModelName", None)
    content.pop("Tags", None)
    parts = {Part.MODEL: content, Part.CONTAINER: container_of(content)}
    for setting in FIELDS:
        if setting.part in MODEL_PARTS and setting.input in values:
            setting.write(parts[setting.part], values[setting.input])
    return content


def container_of(model: Json) -> Json:
    """The model's one container, made if there is none: PrimaryContainer, or the only one of Containers."""
    containers = model.get("Containers")
    if not model.get("PrimaryContainer") and isinstance(containers, list) and len(containers) == 1:
        only: Json = containers[0]
        return only
    container: Json = model.setdefault("PrimaryContainer", {})
    return container


# --- the endpoint config ----------------------------------------------------------------------------------


def config_content(
    values: Values, serving_config: Json | None, shapes: Shapes, *, variant_name: str, model_name: str
) -> Json:
    """CreateEndpointConfig's request without its name and Tags: the serving config, managed settings set.

    The serving config has one production variant (the planner refuses others); its every member is kept,
    the model and the managed settings replaced.
    """
    content: Json = project(serving_config, shapes.create_endpoint_config) if serving_config else {}
    content.pop("EndpointConfigName", None)
    content.pop("Tags", None)
    serving_variants = content.get("ProductionVariants") or [{}]
    variant: Json = next((v for v in serving_variants if v.get("VariantName") == variant_name), serving_variants[0])
    variant["VariantName"] = variant_name
    variant["ModelName"] = model_name
    content["ProductionVariants"] = [variant]
    async_config: Json = content.setdefault("AsyncInferenceConfig", {})
    serving_notifications = copy.deepcopy(async_config.get("OutputConfig", {}).get("NotificationConfig"))
    parts = {Part.CONFIG: content, Part.VARIANT: variant, Part.ASYNC: async_config}
    for setting in FIELDS:
        if setting.part in CONFIG_PARTS and setting.input in values:
            setting.write(parts[setting.part], values[setting.input])
    _notify_rules(async_config, serving_notifications)
    return content


def _notify_rules(async_config: Json, serving: Json | None) -> None:
    """Which notifications carry the inference response: kept as it serves, for the topics that remain.

    A config that had no notifications before (a create, or topics added by this update) includes the
    response in every topic it notifies, as most async deployments do.
    """
    output = async_config.get("OutputConfig", {})
    notification = output.get("NotificationConfig")
    if not notification:
        return
    present = [kind for topic, kind in _TOPIC_TYPES if topic.read(async_config)]
    if not present:
        del output["NotificationConfig"]  # nothing left to notify: the other settings have no meaning
        return
    if serving and "IncludeInferenceResponseIn" in serving:
        included = [kind for kind in serving["IncludeInferenceResponseIn"] if kind in present]
    elif serving:
        return  # notifications that never carried the response keep not carrying it
    else:
        included = present
    if included:
        notification["IncludeInferenceResponseIn"] = included
    else:
        notification.pop("IncludeInferenceResponseIn", None)


# --- names ------------------------------------------------------------------------------------------------


def name_prefix(endpoint_name: str) -> str:
    """The part of derived names that says which endpoint they belong to, short enough for a hash after it."""
    room = NAME_MAX - 1 - HASH_LEN
    if len(endpoint_name) <= room:
        return endpoint_name
    # Two long endpoint names sharing their first characters must not share derived names.
    tag = hashlib.sha256(endpoint_name.encode()).hexdigest()[:6]
    return endpoint_name[: room - 7].rstrip("-") + "-" + tag


def derived_name(endpoint_name: str, content: Json) -> str:
    """``<endpoint>-<hash of everything the resource holds>``: a rerun finds what an earlier run made, and a
    resource whose carried settings differ never shares its name."""
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:HASH_LEN]
    name = f"{name_prefix(endpoint_name)}-{digest}"
    assert len(name) <= NAME_MAX and MODEL_NAME_RE.match(name), name
    return name


def is_derived_name(endpoint_name: str, name: str) -> bool:
    """True for a model/config name this action derives for that endpoint (so it is ours to clean up)."""
    return re.fullmatch(re.escape(name_prefix(endpoint_name)) + rf"-[0-9a-f]{{{HASH_LEN}}}", name) is not None


def tags(user_tags: Pairs) -> list[dict[str, str]]:
    """The action's own tag first (cleanup deletes only what carries it), then the user's."""
    return [{"Key": MANAGED_BY_KEY, "Value": MANAGED_BY_VALUE}] + [{"Key": k, "Value": v} for k, v in user_tags]


def model_request(name: str, content: Json, user_tags: Pairs) -> Json:
    return {"ModelName": name, **content, "Tags": tags(user_tags)}


def config_request(name: str, content: Json, user_tags: Pairs) -> Json:
    return {"EndpointConfigName": name, **content, "Tags": tags(user_tags)}


# --- the endpoint -----------------------------------------------------------------------------------------


# The two update policies of a DeploymentConfig: an update uses one or the other (UpdateEndpoint API reference).
_POLICIES = ("BlueGreenUpdatePolicy", "RollingUpdatePolicy")
# What deployment_config below sets itself besides the managed settings' rows: the rolling timeout and rollback
# batch follow the action's own inputs.
_BUILT = (
    ("RollingUpdatePolicy", "MaximumExecutionTimeoutInSeconds"),
    ("RollingUpdatePolicy", "RollbackMaximumBatchSize"),
)


def deployment_managed_paths() -> tuple[tuple[str, ...], ...]:
    """Every path of a DeploymentConfig that the inputs decide (the rows of the DEPLOYMENT part, and what the
    builder sets with them): nothing there is carried from the serving endpoint."""
    rows = [path for f in FIELDS if f.part is Part.DEPLOYMENT for path in (f.path, *f.also_at)]
    return (*rows, *_BUILT)


def carried_deployment(serving: Json | None, shape: StructureShape) -> Json:
    """The settings of the endpoint's LastDeploymentConfig that no input names, such as the blue/green policy's
    TerminationWaitInSeconds and MaximumExecutionTimeoutInSeconds, as UpdateEndpoint takes them.

    Which members there are comes from botocore's model (the DeploymentConfig shape), as for configs and models:
    a member AWS adds is carried as soon as the installed botocore knows it. Without this an update would reset
    what was set elsewhere (the console, the CLI, Terraform's deployment_config) to SageMaker's defaults.
    """
    carried: Json = project(serving, shape) if serving else {}
    for path in deployment_managed_paths():
        _drop(carried, path)
    return _pruned(carried)


def _drop(content: Json, path: tuple[str, ...]) -> None:
    *parents, last = path
    for member in parents:
        nested = content.get(member)
        if not isinstance(nested, dict):
            return
        content = nested
    content.pop(last, None)


def _pruned(content: Json) -> Json:
    """Without the structures left empty once the managed members are gone."""
    out: Json = {}
    for member, value in content.items():
        kept = _pruned(value) if isinstance(value, dict) else value
        if kept != {}:
            out[member] = kept
    return out


def applicable(deployment: Json, carried: Json) -> Json:
    """The carried settings that apply to ``deployment``: those of the update policy it uses (a blue/green
    policy's settings mean nothing to a rolling update, and the two are exclusive) and any others."""
    return {m: copy.deepcopy(v) for m, v in carried.items() if m not in _POLICIES or m in deployment}


def with_carried(deployment: Json, carried: Json) -> Json:
    """``deployment`` with the carried settings that apply to it; what the inputs set always stands."""
    return _merged(applicable(deployment, carried), deployment)


def _merged(under: Json, over: Json) -> Json:
    """``over`` on top of ``under``, structure by structure."""
    out = copy.deepcopy(under)
    for member, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(member), dict):
            out[member] = _merged(out[member], value)
        else:
            out[member] = copy.deepcopy(value)
    return out


def deployment_config(values: Values, *, timeout_seconds: float, carried: Json | None = None) -> Json:
    """How SageMaker rolls the config out and when it rolls back: blue/green (all at once, canary or linear)
    or rolling batches, each step followed by the bake, during which the alarms can roll it back; with the
    serving endpoint's other deployment settings (``carried_deployment``) kept."""
    kind = values.get(STRATEGY.input) or "all-at-once"
    step = values.get(STEP_SIZE.input)
    bake = values.get(BAKE.input) or 0
    deployment: Json
    if kind == "rolling":
        assert step is not None  # the planner gives rolling its step
        low, high = ROLLING_TIMEOUT_RANGE
        deployment = {
            "RollingUpdatePolicy": {
                "MaximumBatchSize": step.as_capacity(),
                "WaitIntervalInSeconds": bake,
                # SageMaker stops (and rolls back) when the action stops waiting, within AWS's range.
                "MaximumExecutionTimeoutInSeconds": int(min(max(timeout_seconds, low), high)),
                # Rolling back no faster than rolling out: the capacity that made rolling the choice suffices.
                "RollbackMaximumBatchSize": step.as_capacity(),
            }
        }
    else:
        routing: Json = {"Type": STRATEGIES[kind], "WaitIntervalInSeconds": bake}
        if kind == "canary" and step is not None:
            routing["CanarySize"] = step.as_capacity()
        if kind == "linear" and step is not None:
            routing["LinearStepSize"] = step.as_capacity()
        deployment = {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing}}
    alarms = values.get(ALARMS.input)
    if alarms:
        ALARMS.write(deployment, alarms)
    return with_carried(deployment, carried or {})


def create_endpoint_request(endpoint_name: str, config_name: str, deployment: Json, user_tags: Pairs) -> Json:
    """CreateEndpoint with the DeploymentConfig an update would use, so an update made later with
    RetainDeploymentConfig (console, CLI, Terraform) keeps the strategy, the alarms and the bake."""
    return {
        "EndpointName": endpoint_name,
        "EndpointConfigName": config_name,
        "DeploymentConfig": deployment,
        "Tags": tags(user_tags),
    }


def update_endpoint_request(
    endpoint_name: str, config_name: str, deployment: Json, *, new_instance_count: bool
) -> Json:
    """UpdateEndpoint, keeping the variant's live properties (autoscaled instance counts) unless the inputs
    ask for a new instance count."""
    request: Json = {
        "EndpointName": endpoint_name,
        "EndpointConfigName": config_name,
        "RetainAllVariantProperties": True,
        "DeploymentConfig": deployment,
    }
    if new_instance_count:
        request["ExcludeRetainedVariantProperties"] = [{"VariantPropertyType": "DesiredInstanceCount"}]
    return request


def rollback_request(endpoint_name: str, config_name: str) -> Json:
    """UpdateEndpoint back to the config that served before, after a smoke test failed where SageMaker had
    nothing left to roll back: blue/green, all at once, no bake (the old config served until a moment ago),
    keeping the variant's live properties as the update did."""
    return {
        "EndpointName": endpoint_name,
        "EndpointConfigName": config_name,
        "RetainAllVariantProperties": True,
        "DeploymentConfig": {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
            }
        },
    }
