"""The pure planner: what serves now versus what the inputs ask for.

No I/O here. ``desired_from`` turns the config (and what serves) into a DesiredConfig; ``plan`` compares the
two field by field and decides create / update / unchanged. Names of the model and endpoint config are
derived from the desired content, so a rerun after a crash finds and reuses what the first run made.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Literal

from .config import MODEL_NAME_RE, NAME_MAX, ActionConfig

PlanAction = Literal["create", "update", "unchanged"]
HASH_LEN = 12


class PlanError(Exception):
    """What serves cannot be reconciled with the inputs: which input to change, and how."""

    def __init__(self, input_name: str, message: str) -> None:
        self.input = input_name
        self.message = message
        super().__init__(f"{input_name}: {message}")


@dataclass(frozen=True)
class ServingState:
    """What an endpoint serves now, gathered from DescribeEndpoint, its config and its model."""

    endpoint_name: str
    endpoint_arn: str
    status: str
    failure_reason: str
    config_name: str
    variant_names: tuple[str, ...]
    variant_name: str
    model_name: str
    image: str  # the digest reference when known (DeployedImages), else the model's image as written
    instance_type: str
    initial_instance_count: int
    current_instance_count: int | None
    has_async_config: bool
    output_path: str
    failure_path: str
    success_topic: str
    error_topic: str
    max_concurrent_invocations: int | None
    model_role: str
    model_data_url: str
    model_environment: tuple[tuple[str, str], ...]
    alarms: tuple[str, ...] | None  # from LastDeploymentConfig; None when the endpoint never had one
    bake_seconds: int | None
    pending_config_name: str = ""  # PendingDeploymentSummary: an update in progress

    @property
    def image_digest(self) -> str:
        return image_digest(self.image)


@dataclass(frozen=True)
class DesiredConfig:
    """What the inputs ask to serve, with inherited model settings filled in."""

    endpoint_name: str
    variant_name: str
    image: str  # registry/repo@sha256:…
    instance_type: str
    initial_instance_count: int
    output_path: str
    failure_path: str
    success_topic: str
    error_topic: str
    max_concurrent_invocations: int
    existing_model: str  # model-name input: deploy it as is ("" → the action creates one)
    role: str
    model_data_url: str
    environment: tuple[tuple[str, str], ...]
    alarms: tuple[str, ...]
    bake_seconds: int
    tags: tuple[tuple[str, str], ...]

    @property
    def image_digest(self) -> str:
        return image_digest(self.image)

    @property
    def model_name(self) -> str:
        """The model to deploy: the given one, or a name derived from everything the created model holds."""
        if self.existing_model:
            return self.existing_model
        return derived_name(
            self.endpoint_name,
            {
                "image": self.image,
                "role": self.role,
                "model_data_url": self.model_data_url,
                "environment": self.environment,
            },
        )

    @property
    def config_name(self) -> str:
        """The endpoint config name, derived from everything the config holds."""
        return derived_name(
            self.endpoint_name,
            {
                "model": self.model_name,
                "variant": self.variant_name,
                "instance_type": self.instance_type,
                "initial_instance_count": self.initial_instance_count,
                "output_path": self.output_path,
                "failure_path": self.failure_path,
                "success_topic": self.success_topic,
                "error_topic": self.error_topic,
                "max_concurrent_invocations": self.max_concurrent_invocations,
            },
        )


@dataclass(frozen=True)
class Change:
    field: str  # the input's name, as users know it
    before: str
    after: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "from": self.before, "to": self.after}


@dataclass(frozen=True)
class Plan:
    action: PlanAction
    changes: tuple[Change, ...]
    desired: DesiredConfig
    current: ServingState | None

    @property
    def retain_instance_count(self) -> bool:
        """Keep the live (possibly autoscaled) count unless the user asked for a new initial count."""
        return not any(c.field == "initial-instance-count" for c in self.changes)

    @property
    def instance_type_changes(self) -> bool:
        return any(c.field == "instance-type" for c in self.changes)


def image_digest(image: str) -> str:
    """``sha256:…`` of an image reference pinned by digest, "" for a tag reference."""
    _, sep, digest = image.partition("@")
    return digest if sep and digest.startswith("sha256:") else ""


def name_prefix(endpoint_name: str) -> str:
    """The part of derived names that says which endpoint they belong to, short enough for a hash after it."""
    room = NAME_MAX - 1 - HASH_LEN
    if len(endpoint_name) <= room:
        return endpoint_name
    # Two long endpoint names sharing their first characters must not share derived names.
    tag = hashlib.sha256(endpoint_name.encode()).hexdigest()[:6]
    return endpoint_name[: room - 7].rstrip("-") + "-" + tag


def derived_name(endpoint_name: str, content: dict[str, object]) -> str:
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:HASH_LEN]
    name = f"{name_prefix(endpoint_name)}-{digest}"
    assert len(name) <= NAME_MAX and MODEL_NAME_RE.match(name), name
    return name


def is_derived_name(endpoint_name: str, name: str) -> bool:
    """True for a model/config name this action derives for that endpoint (so it is ours to clean up)."""
    return re.fullmatch(re.escape(name_prefix(endpoint_name)) + rf"-[0-9a-f]{{{HASH_LEN}}}", name) is not None


def desired_from(config: ActionConfig, current: ServingState | None) -> DesiredConfig:
    """The desired endpoint, inheriting role, artifact and environment from the serving model when not given."""
    inherit = current is not None and config.creates_model
    role = config.execution_role_arn or (current.model_role if inherit and current else "")
    if config.creates_model and not role:
        raise PlanError(
            "execution-role-arn",
            "needed for the model the action creates on a first deploy "
            "(later deploys reuse the serving model's role); e.g. arn:aws:iam::<account>:role/<sagemaker-role>",
        )
    data_url = config.model_data_url or (current.model_data_url if inherit and current else "")
    environment = config.environment or (current.model_environment if inherit and current else ())
    return DesiredConfig(
        endpoint_name=config.endpoint_name,
        variant_name=config.variant_name,
        image=config.image.reference,
        instance_type=config.instance_type,
        initial_instance_count=config.initial_instance_count,
        output_path=config.output_path,
        failure_path=config.failure_path,
        success_topic=config.success_topic,
        error_topic=config.error_topic,
        max_concurrent_invocations=config.max_concurrent_invocations,
        existing_model=config.model_name,
        role=role,
        model_data_url=data_url,
        environment=environment,
        alarms=config.alarms,
        bake_seconds=config.bake_seconds,
        tags=config.tags,
    )


def plan(current: ServingState | None, desired: DesiredConfig) -> Plan:
    """Decide create / update / unchanged and list every field that differs."""
    if current is None:
        return Plan("create", _creation_changes(desired), desired, None)
    if len(current.variant_names) > 1:
        raise PlanError(
            "endpoint-name",
            f"the endpoint serves {len(current.variant_names)} production variants "
            f"({', '.join(current.variant_names)}); this action manages single-variant endpoints",
        )
    if current.variant_name != desired.variant_name:
        raise PlanError(
            "variant-name",
            f"the endpoint's variant is '{current.variant_name}', not '{desired.variant_name}'; "
            f"set variant-name: {current.variant_name} (blue/green guardrails need the same variant name)",
        )
    if not current.has_async_config:
        raise PlanError(
            "endpoint-name",
            "the endpoint is a real-time endpoint (its config has no AsyncInferenceConfig); "
            "SageMaker cannot turn it into an asynchronous one by an update",
        )

    changes: list[Change] = []

    def compare(field: str, before: object, after: object) -> None:
        if before != after:
            changes.append(Change(field, _show(before), _show(after)))

    # The same digest is the same image, whatever registry name it was pushed under.
    if current.image_digest and desired.image_digest:
        if current.image_digest != desired.image_digest:
            changes.append(Change("image", current.image, desired.image))
    else:
        compare("image", current.image, desired.image)
    compare("instance-type", current.instance_type, desired.instance_type)
    compare("initial-instance-count", current.initial_instance_count, desired.initial_instance_count)
    compare("output-path", current.output_path, desired.output_path)
    compare("failure-path", current.failure_path, desired.failure_path)
    compare("success-topic", current.success_topic, desired.success_topic)
    compare("error-topic", current.error_topic, desired.error_topic)
    compare("max-concurrent-invocations", current.max_concurrent_invocations, desired.max_concurrent_invocations)
    if desired.existing_model:
        compare("model-name", current.model_name, desired.existing_model)
    else:
        compare("execution-role-arn", current.model_role, desired.role)
        compare("model-data-url", current.model_data_url, desired.model_data_url)
        if current.model_environment != desired.environment:
            changes.append(_environment_change(current.model_environment, desired.environment))

    if not changes:
        return Plan("unchanged", (), desired, current)
    # Alarms and bake govern how a rollout is watched, not what serves: they never start a rollout on their
    # own, but when one happens they are part of it and shown.
    # An endpoint never updated has no LastDeploymentConfig: no alarms watched it, no bake.
    serving_alarms = current.alarms or ()
    if serving_alarms != desired.alarms:
        changes.append(Change("alarms", ", ".join(serving_alarms), ", ".join(desired.alarms)))
    serving_bake = current.bake_seconds if current.bake_seconds is not None else (0 if desired.alarms else None)
    if serving_bake is not None and serving_bake != desired.bake_seconds:
        changes.append(Change("bake-seconds", str(serving_bake), str(desired.bake_seconds)))
    return Plan("update", tuple(changes), desired, current)


def _creation_changes(desired: DesiredConfig) -> tuple[Change, ...]:
    fields: list[tuple[str, object]] = [
        ("image", desired.image),
        ("instance-type", desired.instance_type),
        ("initial-instance-count", desired.initial_instance_count),
        ("output-path", desired.output_path),
        ("failure-path", desired.failure_path),
        ("success-topic", desired.success_topic),
        ("error-topic", desired.error_topic),
        ("max-concurrent-invocations", desired.max_concurrent_invocations),
    ]
    if desired.existing_model:
        fields.append(("model-name", desired.existing_model))
    else:
        fields += [("execution-role-arn", desired.role), ("model-data-url", desired.model_data_url)]
    changes = [Change(name, "", _show(value)) for name, value in fields if _show(value)]
    if desired.environment and not desired.existing_model:
        changes.append(_environment_change((), desired.environment))
    return tuple(changes)


def _show(value: object) -> str:
    return "" if value is None else str(value)


def _environment_change(before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...]) -> Change:
    """Environment variables by name only: values may be secrets, and even a hash of a short secret can be
    reversed. A variable whose value changed is marked on the "to" side."""
    old, new = dict(before), dict(after)
    changed = sorted(k for k in old.keys() & new.keys() if old[k] != new[k])
    shown = ", ".join(f"{k} (new value)" if k in changed else k for k in sorted(new))
    return Change("environment", ", ".join(sorted(old)), shown)
