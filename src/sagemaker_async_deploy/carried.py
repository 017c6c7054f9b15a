"""What an update keeps from the serving endpoint, described for a reviewer.

The builders carry every member of the serving model and config that no input names; this module lists them
in words ("VPC: 2 subnets, 1 security group"), so the plan comment shows that the endpoint keeps its VPC,
its KMS keys and its data capture without anyone reading JSON. Members without a description of their own
are listed by their path with their value as JSON: every carried setting is shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .fields import FIELDS, Json, Part

if TYPE_CHECKING:
    from .planner import Desired

VALUE_MAX = 160


@dataclass(frozen=True)
class Kept:
    """One setting an update keeps as it serves: what a reviewer calls it, and its value in words."""

    label: str
    value: str


Describe = Callable[[Any], str]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _vpc(vpc: Mapping[str, Any]) -> str:
    subnets, groups = vpc.get("Subnets", []), vpc.get("SecurityGroupIds", [])
    return f"{_count(len(subnets), 'subnet')} ({', '.join(subnets)}), {_count(len(groups), 'security group')}"


def _on(value: Any) -> str:
    return "on" if value else "off"


def _data_capture(capture: Mapping[str, Any]) -> str:
    # equivalent mutant core/ReplaceComparisonOperator_Is_Eq: EnableCapture is a boolean in botocore's model, and
    # of the booleans only False equals False
    if capture.get("EnableCapture") is False:
        return "off"
    text = f"{capture.get('InitialSamplingPercentage', '?')} % to {capture.get('DestinationS3Uri', '?')}"
    return text + (f", KMS key {capture['KmsKeyId']}" if capture.get("KmsKeyId") else "")


def _image_config(config: Mapping[str, Any]) -> str:
    mode = str(config.get("RepositoryAccessMode", ""))
    return mode + (" (registry credentials from a Lambda function)" if config.get("RepositoryAuthConfig") else "")


def _data_source(source: Mapping[str, Any]) -> str:
    s3 = source.get("S3DataSource") or {}
    details = ", ".join(str(s3[k]) for k in ("S3DataType", "CompressionType") if s3.get(k))
    return f"{s3.get('S3Uri', json.dumps(source, sort_keys=True))}" + (f" ({details})" if details else "")


def _response_in(kinds: list[str]) -> str:
    names = {"SUCCESS_NOTIFICATION_TOPIC": "success topic", "ERROR_NOTIFICATION_TOPIC": "error topic"}
    return ", ".join(names.get(k, k) for k in kinds)


def _gigabytes(size: Any) -> str:
    return f"{size} GB"


def _secs(seconds: Any) -> str:
    return f"{seconds} s"


def _scaling(scaling: Mapping[str, Any]) -> str:
    bounds = f" {scaling.get('MinInstanceCount', '?')}–{scaling.get('MaxInstanceCount', '?')} instances"
    return str(scaling.get("Status", "")) + bounds


# (part, path inside it) → (label, how the value reads). Only values worth naming are here; the rest is
# listed by path.
_DESCRIBED: dict[tuple[Part, tuple[str, ...]], tuple[str, Describe]] = {
    (Part.MODEL, ("VpcConfig",)): ("VPC", _vpc),
    (Part.MODEL, ("EnableNetworkIsolation",)): ("Network isolation", _on),
    (Part.MODEL, ("InferenceExecutionConfig",)): ("Inference execution mode", lambda c: str(c.get("Mode", ""))),
    (Part.CONTAINER, ("ImageConfig",)): ("Image registry access", _image_config),
    (Part.CONTAINER, ("ModelDataSource",)): ("Model data source", _data_source),
    (Part.CONTAINER, ("AdditionalModelDataSources",)): ("Additional model data", lambda s: _count(len(s), "source")),
    (Part.CONTAINER, ("ContainerHostname",)): ("Container hostname", str),
    (Part.CONTAINER, ("Mode",)): ("Container mode", str),
    (Part.CONFIG, ("KmsKeyId",)): ("Volume KMS key", str),
    (Part.CONFIG, ("DataCaptureConfig",)): ("Data capture", _data_capture),
    (Part.CONFIG, ("ExplainerConfig",)): ("Explainer", lambda _: "SageMaker Clarify"),
    (Part.CONFIG, ("ExecutionRoleArn",)): ("Endpoint config execution role", str),
    (Part.CONFIG, ("VpcConfig",)): ("Endpoint config VPC", _vpc),
    (Part.CONFIG, ("EnableNetworkIsolation",)): ("Endpoint config network isolation", _on),
    (Part.VARIANT, ("VolumeSizeInGB",)): ("Volume size", _gigabytes),
    (Part.VARIANT, ("InferenceAmiVersion",)): ("Inference AMI version", str),
    (Part.VARIANT, ("EnableSSMAccess",)): ("SSM access", _on),
    (Part.VARIANT, ("InitialVariantWeight",)): ("Variant weight", str),
    (Part.VARIANT, ("AcceleratorType",)): ("Elastic Inference accelerator", str),
    (Part.VARIANT, ("CoreDumpConfig",)): ("Core dumps", lambda c: str(c.get("DestinationS3Uri", ""))),
    (Part.VARIANT, ("RoutingConfig",)): ("Routing strategy", lambda c: str(c.get("RoutingStrategy", ""))),
    (Part.VARIANT, ("ManagedInstanceScaling",)): ("Managed instance scaling", _scaling),
    (Part.VARIANT, ("VariantInstanceProvisionTimeoutInSeconds",)): ("Instance provisioning timeout", _secs),
    (Part.ASYNC, ("OutputConfig", "KmsKeyId")): ("Output KMS key", str),
    # UpdateEndpoint API reference, BlueGreenUpdatePolicy: "Additional waiting time in seconds after the
    # completion of an endpoint deployment before terminating the old endpoint fleet", and the deployment's
    # "Maximum execution timeout".
    (Part.DEPLOYMENT, ("BlueGreenUpdatePolicy", "TerminationWaitInSeconds")): ("Old fleet kept after", _secs),
    (Part.DEPLOYMENT, ("BlueGreenUpdatePolicy", "MaximumExecutionTimeoutInSeconds")): ("Blue/green timeout", _secs),
    (Part.ASYNC, ("OutputConfig", "NotificationConfig", "IncludeInferenceResponseIn")): (
        "Inference response in notifications",
        _response_in,
    ),
}
# Members that are the resource's identity or hold other parts, never settings of their own.
_STRUCTURE: dict[Part, tuple[tuple[str, ...], ...]] = {
    Part.MODEL: (("PrimaryContainer",), ("Containers",)),
    Part.CONFIG: (("ProductionVariants",), ("AsyncInferenceConfig",)),
    Part.VARIANT: (("VariantName",), ("ModelName",)),
    Part.ASYNC: (),
    Part.CONTAINER: (),
    Part.DEPLOYMENT: (),
}
# In ASYNC the settings sit one or two levels down.
_NESTED = {("OutputConfig",), ("ClientConfig",), ("OutputConfig", "NotificationConfig")}


def kept_settings(desired: Desired) -> tuple[Kept, ...]:
    """Every setting the resources an update would create keep from what serves (a create keeps nothing: the
    planner asks only of an endpoint that serves)."""
    kept = [
        Kept(setting.label, setting.shown(desired.values.get(setting.input)))
        for setting in FIELDS
        if setting.input in desired.kept_inputs and setting.shown(desired.values.get(setting.input))
    ]
    model = desired.model_content or {}
    parts: list[tuple[Part, Json]] = [
        (Part.MODEL, model),
        (Part.CONTAINER, _container(model)),
        (Part.CONFIG, desired.config_content),
        # equivalent mutant core/NumberReplacer: [-1] is [0]; the config an apply creates has the one variant the
        # action manages (endpoints of several variants are refused before planning)
        (Part.VARIANT, (desired.config_content.get("ProductionVariants") or [{}])[0]),
        (Part.ASYNC, desired.config_content.get("AsyncInferenceConfig") or {}),
    ]
    for part, content in parts:
        kept += _carried(part, content, ())
    # The deployment settings an update keeps from the endpoint's LastDeploymentConfig.
    kept += _carried(Part.DEPLOYMENT, desired.kept_deployment, ())
    return tuple(kept)


def _container(model: Json) -> Json:
    containers = model.get("Containers") or [{}]
    found: Json = model.get("PrimaryContainer") or containers[0]
    return found


def _carried(part: Part, content: Mapping[str, Any], prefix: tuple[str, ...]) -> list[Kept]:
    # equivalent mutant core/ReplaceComparisonOperator_Is_Eq: Part is an Enum, whose members equal only themselves
    managed = {f.path for f in FIELDS if f.part is part}
    kept: list[Kept] = []
    for member in sorted(content):
        path = (*prefix, member)
        if path in managed or path in _STRUCTURE.get(part, ()):
            continue
        value = content[member]
        # The deployment's settings sit inside its policies, at any depth.
        # equivalent mutant core/ReplaceComparisonOperator_Is_Eq: Part is an Enum, whose members equal only themselves
        nested = path in _NESTED if part is Part.ASYNC else part is Part.DEPLOYMENT
        if nested and isinstance(value, Mapping):
            kept += _carried(part, value, path)
            continue
        label, describe = _DESCRIBED.get((part, path), (".".join(path), _as_json))
        # equivalent mutant core/ReplaceComparisonOperator_Is_Eq: the members read with _on are booleans in
        # botocore's model, and a function equals only itself
        if value is False and describe is _on:
            continue  # an option that is off is not worth a line
        kept.append(Kept(label, _cut(describe(value))))
    return kept


def _as_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)


def _cut(text: str) -> str:
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"
