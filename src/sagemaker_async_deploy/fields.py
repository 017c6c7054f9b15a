"""The settings the action manages, each declared once.

A row says, for one input: how its text is parsed and checked, where its value lives in what SageMaker serves
(a part of the model, the endpoint config or the deployment, and the path inside that part), what an empty
input means on an update, what a create uses when it is empty, and how the value is compared and shown.
Parsing (``config``), the plan and the derived names (``planner``), the request builders (``builders``) and
the report all come from this table: a new managed setting is one row here, plus its tests.

Everything of the serving model and endpoint config that no row names is carried over unchanged by the
builders (the list of members comes from botocore's service model, not from here).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Literal, TypeVar

from . import _checks as checks
from ._checks import Check, ImageRef, PackageRef, Pairs, StepSize

Json = dict[str, Any]
T = TypeVar("T")


class Part(Enum):
    """Where a setting lives. Builders fill MODEL/CONTAINER, CONFIG/VARIANT/ASYNC and DEPLOYMENT requests."""

    ENDPOINT = "endpoint"  # DescribeEndpoint (read only)
    MODEL = "model"  # CreateModel's request, as DescribeModel returns it
    CONTAINER = "container"  # the model's one container: PrimaryContainer, or the only one of Containers
    CONFIG = "config"  # CreateEndpointConfig's request, as DescribeEndpointConfig returns it
    VARIANT = "variant"  # the config's one production variant
    ASYNC = "async"  # the config's AsyncInferenceConfig
    DEPLOYMENT = "deployment"  # UpdateEndpoint's DeploymentConfig; the endpoint's LastDeploymentConfig


# What an empty input means on an update: keep what serves, or have none of it.
Empty = Literal["keep", "none"]
# The text that removes a serving value where an empty input keeps it (``Field.none_removes``).
REMOVE = "none"


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Field(Generic[T]):
    """One managed setting. Values are of type T; ``None`` means absent (nothing set)."""

    input: str  # the input's name, which is also the name a change is reported under
    label: str  # what a reviewer calls it
    part: Part
    path: tuple[str, ...]  # inside the part
    parse: Callable[[Check, str], T]  # a non-empty input's text → its value (problems go to the Check)
    empty: Empty = "none"
    # True: the input ``none`` removes the serving value. An optional setting that serves (a failure path, a
    # topic) is kept when its input is empty, as every other serving setting is, so removing it must be asked.
    none_removes: bool = False
    default: str = ""  # the contract's default text (action.yml)
    on_create: T | None = None  # an empty input's value on create (None: omitted, SageMaker's default)
    required: bool = False
    starts_rollout: bool = True  # False: compared only when a rollout happens for another reason
    encode: Callable[[T], Any] = _same  # value → what the request holds
    decode: Callable[[Any], T] = _same  # what a description holds → value
    show: Callable[[T], str] = str
    same: Callable[[T, T], bool] = operator.eq
    # Members of the same part that a given value replaces (a new ModelDataUrl replaces a ModelDataSource).
    replaces: tuple[str, ...] = ()
    # Other places a description may hold the value, tried after ``path`` (a rolling deployment's wait).
    also_at: tuple[tuple[str, ...], ...] = ()
    # The value SageMaker works with when a description holds none (a never-updated endpoint baked 0 s).
    unset: T | None = None
    # How a change is shown when both sides are needed to show it (an environment, by names only).
    show_change: Callable[[T | None, T | None], tuple[str, str]] | None = None
    # Reads the value from the part when no single path holds it (which policy a deployment has).
    reader: Callable[[Mapping[str, Any]], T | None] | None = None

    def read(self, part: Mapping[str, Any] | None) -> T | None:
        """The value the part holds, or None when it holds none."""
        if self.reader is not None:
            found = self.reader(part) if part else None
            return self.unset if found is None else found
        for path in (self.path, *self.also_at):
            raw = dig(part, path)
            if raw is not None:
                return self.decode(raw)
        return self.unset

    def write(self, part: Json, value: T | None) -> None:
        """Set the value in the part, or remove it (and parents it leaves empty) for None."""
        if value is None:
            remove(part, self.path)
            return
        node = part
        for key in self.path[:-1]:
            node = node.setdefault(key, {})
        node[self.path[-1]] = self.encode(value)
        for member in self.replaces:
            node.pop(member, None)

    def shown(self, value: T | None) -> str:
        return "" if _empty(value) else self.show(value)  # type: ignore[arg-type]

    def change(self, before: T | None, after: T | None) -> tuple[str, str]:
        """(from, to) as a plan shows them."""
        if self.show_change is not None:
            return self.show_change(before, after)
        return self.shown(before), self.shown(after)

    def differs(self, before: T | None, after: T | None) -> bool:
        if _empty(before) or _empty(after):
            # equivalent mutant ReplaceComparisonOperator_NotEq_IsNot: _empty gives True or False, and each is one
            # object, so `is not` tells them apart exactly as `!=` does
            return _empty(before) != _empty(after)
        return not self.same(before, after)  # type: ignore[arg-type]


def _empty(value: object) -> bool:
    """None, or a value that holds nothing (no alarms, no environment): the same as none at all."""
    return value is None or value in ("", (), [], {})


def dig(part: Mapping[str, Any] | None, path: Sequence[str]) -> Any:
    node: Any = part
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def remove(part: Json, path: Sequence[str]) -> None:
    """Remove the member at ``path`` and every parent the removal leaves empty."""
    parents = []
    node: Any = part
    for key in path[:-1]:
        if not isinstance(node, dict) or key not in node:
            return
        parents.append((node, key))
        node = node[key]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    for parent, key in reversed(parents):
        if parent[key]:
            break
        del parent[key]


# --- how some values are held and shown -----------------------------------------------------------------


def _environment_decode(raw: Any) -> Pairs:
    return tuple(sorted((str(k), str(v)) for k, v in dict(raw).items()))


def _names_only(pairs: Pairs) -> str:
    # Values may be secrets: a plan, a log line or a report shows the names alone.
    return ", ".join(key for key, _ in pairs)


def _environment_change(before: Pairs | None, after: Pairs | None) -> tuple[str, str]:
    """Environment variables by name only: values may be secrets, and even a hash of a short secret can be
    reversed. A variable whose value changed is marked on the "to" side."""
    old, new = dict(before or ()), dict(after or ())
    changed = {k for k in old.keys() & new.keys() if old[k] != new[k]}
    return ", ".join(sorted(old)), ", ".join(f"{k} (new value)" if k in changed else k for k in sorted(new))


def _alarms_encode(alarms: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"AlarmName": a} for a in alarms]


# The alarm the action adds to an update's AutoRollbackConfiguration for its smoke test (see smoke.py): the
# action's own, not one of the user's rollback alarms, so it is not read back as one.
SMOKE_ALARM_PREFIX = "sagemaker-async-deploy-smoke-"


def _alarms_decode(raw: Any) -> tuple[str, ...]:
    names = (str(a.get("AlarmName", "")) for a in raw)
    return tuple(name for name in names if not name.startswith(SMOKE_ALARM_PREFIX))


def _image_encode(image: ImageRef) -> str:
    return image.reference


def _image_show(image: ImageRef) -> str:
    return image.reference


def _image_same(a: ImageRef, b: ImageRef) -> bool:
    return a.same_image(b)


def _package_encode(package: PackageRef) -> str:
    return package.reference


def _package_show(package: PackageRef) -> str:
    return package.reference


def _package_same(a: PackageRef, b: PackageRef) -> bool:
    return a.same_package(b)


def _seconds(value: int) -> str:
    return f"{value} s"


# deployment-strategy → how UpdateEndpoint's DeploymentConfig says it (developer guide, deployment guardrails).
STRATEGIES = {"all-at-once": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR", "rolling": "rolling"}
_ROUTING = ("BlueGreenUpdatePolicy", "TrafficRoutingConfiguration")


def _strategy_of(deployment: Mapping[str, Any]) -> str | None:
    if "RollingUpdatePolicy" in deployment:
        return "rolling"
    kind = dig(deployment, (*_ROUTING, "Type"))
    return next((name for name, routing in STRATEGIES.items() if routing == kind), None)


# --- the table --------------------------------------------------------------------------------------------

# Required unless model-package is given (config checks that pair): the package names the image then.
IMAGE: Field[ImageRef] = Field(
    "image",
    "Image",
    Part.CONTAINER,
    ("Image",),
    checks.image,
    encode=_image_encode,
    decode=ImageRef.serving,
    show=_image_show,
    same=_image_same,
)
# A model made from a Model Registry package: CreateModel's container names the version (ModelPackageName), and
# the image and artifact are the package's, so a given package replaces them in the container. Planned by the
# version's ARN (the image, resolved from the package by ``packages``, is compared as its own row).
MODEL_PACKAGE: Field[PackageRef] = Field(
    "model-package",
    "Model package",
    Part.CONTAINER,
    ("ModelPackageName",),
    checks.model_package,
    encode=_package_encode,
    decode=PackageRef.serving,
    show=_package_show,
    same=_package_same,
    replaces=("Image", "ModelDataUrl", "ModelDataSource"),
)
EXECUTION_ROLE: Field[str] = Field(
    "execution-role-arn", "Execution role", Part.MODEL, ("ExecutionRoleArn",), checks.role_arn, empty="keep"
)
MODEL_DATA_URL: Field[str] = Field(
    "model-data-url",
    "Model artifact",
    Part.CONTAINER,
    ("ModelDataUrl",),
    checks.s3_uri,
    empty="keep",
    replaces=("ModelDataSource",),
)
ENVIRONMENT: Field[Pairs] = Field(
    "environment",
    "Environment",
    Part.CONTAINER,
    ("Environment",),
    checks.environment,
    empty="keep",
    encode=dict,
    decode=_environment_decode,
    show=_names_only,
    show_change=_environment_change,
)
INSTANCE_TYPE: Field[str] = Field(
    "instance-type", "Instance type", Part.VARIANT, ("InstanceType",), checks.instance_type, required=True
)
INSTANCE_COUNT: Field[int] = Field(
    "initial-instance-count",
    "Instance count",
    Part.VARIANT,
    ("InitialInstanceCount",),
    checks.whole_number(1, 10_000),
    empty="keep",
    on_create=1,
)
STARTUP_TIMEOUT: Field[int] = Field(
    "container-startup-timeout-seconds",
    "Container start-up health check timeout",
    Part.VARIANT,
    ("ContainerStartupHealthCheckTimeoutInSeconds",),
    checks.whole_number(60, 3600),
    empty="keep",
    show=_seconds,
)
DOWNLOAD_TIMEOUT: Field[int] = Field(
    "model-download-timeout-seconds",
    "Model download timeout",
    Part.VARIANT,
    ("ModelDataDownloadTimeoutInSeconds",),
    checks.whole_number(60, 3600),
    empty="keep",
    show=_seconds,
)
OUTPUT_PATH: Field[str] = Field(
    "output-path", "Output path", Part.ASYNC, ("OutputConfig", "S3OutputPath"), checks.s3_uri, required=True
)
FAILURE_PATH: Field[str] = Field(
    "failure-path",
    "Failure path",
    Part.ASYNC,
    ("OutputConfig", "S3FailurePath"),
    checks.s3_uri,
    empty="keep",
    none_removes=True,
)
SUCCESS_TOPIC: Field[str] = Field(
    "success-topic",
    "Success topic",
    Part.ASYNC,
    ("OutputConfig", "NotificationConfig", "SuccessTopic"),
    checks.topic,
    empty="keep",
    none_removes=True,
)
ERROR_TOPIC: Field[str] = Field(
    "error-topic",
    "Error topic",
    Part.ASYNC,
    ("OutputConfig", "NotificationConfig", "ErrorTopic"),
    checks.topic,
    empty="keep",
    none_removes=True,
)
MAX_CONCURRENT: Field[int] = Field(
    "max-concurrent-invocations",
    "Max concurrent invocations per instance",
    Part.ASYNC,
    ("ClientConfig", "MaxConcurrentInvocationsPerInstance"),
    checks.whole_number(1, 1000),
    empty="keep",
    on_create=1,
)
# How a rollout is watched, not what serves: these never start a rollout on their own.
ALARMS: Field[tuple[str, ...]] = Field(
    "alarms",
    "Rollback alarms",
    Part.DEPLOYMENT,
    ("AutoRollbackConfiguration", "Alarms"),
    checks.alarm_names,
    starts_rollout=False,
    encode=_alarms_encode,
    decode=_alarms_decode,
    show=", ".join,
)
BAKE: Field[int] = Field(
    "bake-seconds",
    "Bake",
    Part.DEPLOYMENT,
    ("BlueGreenUpdatePolicy", "TrafficRoutingConfiguration", "WaitIntervalInSeconds"),
    checks.whole_number(0, 3600),
    default="300",
    starts_rollout=False,
    also_at=(("RollingUpdatePolicy", "WaitIntervalInSeconds"),),
    unset=0,
)

STRATEGY: Field[str] = Field(
    "deployment-strategy",
    "Deployment strategy",
    Part.DEPLOYMENT,
    (*_ROUTING, "Type"),
    checks.one_of(*STRATEGIES),
    default="all-at-once",
    starts_rollout=False,
    reader=_strategy_of,
    unset="all-at-once",  # SageMaker's own default: blue/green, all at once
)
STEP_SIZE: Field[StepSize] = Field(
    "step-size",
    "Step size",
    Part.DEPLOYMENT,
    (*_ROUTING, "CanarySize"),
    checks.step_size,
    starts_rollout=False,
    encode=StepSize.as_capacity,
    decode=StepSize.of_capacity,
    also_at=((*_ROUTING, "LinearStepSize"), ("RollingUpdatePolicy", "MaximumBatchSize")),
)

# In the order plans and reports list them.
FIELDS: tuple[Field[Any], ...] = (
    IMAGE,
    MODEL_PACKAGE,
    INSTANCE_TYPE,
    INSTANCE_COUNT,
    OUTPUT_PATH,
    FAILURE_PATH,
    SUCCESS_TOPIC,
    ERROR_TOPIC,
    MAX_CONCURRENT,
    STARTUP_TIMEOUT,
    DOWNLOAD_TIMEOUT,
    EXECUTION_ROLE,
    MODEL_DATA_URL,
    ENVIRONMENT,
    ALARMS,
    BAKE,
    STRATEGY,
    STEP_SIZE,
)
MODEL_PARTS = (Part.MODEL, Part.CONTAINER)
CONFIG_PARTS = (Part.CONFIG, Part.VARIANT, Part.ASYNC)
# Settings of the model the action creates: with model-name, the named model is deployed as it is.
CREATED_MODEL_ONLY: tuple[Field[Any], ...] = (MODEL_PACKAGE, EXECUTION_ROLE, MODEL_DATA_URL, ENVIRONMENT)


def by_input(name: str) -> Field[Any]:
    return next(f for f in FIELDS if f.input == name)
