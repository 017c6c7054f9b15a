"""What an endpoint serves now: DescribeEndpoint, its serving config and (when needed) its model, as read.

:class:`ServingState` keeps the descriptions whole: the planner reads each managed setting through its row
in ``fields``, and the builders carry everything else over from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import artifacts, aws
from .config import ARTIFACT_KEY
from .fields import IMAGE, MODEL_PACKAGE, Field, Json, Part

T = TypeVar("T")
TRANSITIONAL = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


@dataclass(frozen=True)
class ServingState:
    """An endpoint as described: the endpoint, the config it serves and the model that config names."""

    endpoint: Json
    config: Json | None  # None: the endpoint's config no longer exists (deleted behind its back)
    model: Json | None  # None: not read (an existing model-name whose image DeployedImages names), or gone
    variant_name: str  # the variant the action manages: the requested one, or the config's only one
    # Members of the config or model that the installed botocore does not know (see aws.unknown_members).
    unknown_members: tuple[str, ...] = field(default=())
    # The serving model's record of its artifact (the ARTIFACT_KEY tag): None without one, or when not read.
    artifact_tag: str | None = None

    # --- the parts the field table reads ----------------------------------------------------------------

    def part(self, part: Part) -> Json | None:
        # equivalent mutant core/ReplaceComparisonOperator_Is_Eq: Part is an Enum, whose members equal only
        # themselves (every `is` of this method)
        if part is Part.ENDPOINT:
            return self.endpoint
        if part is Part.MODEL:  # equivalent mutant core/ReplaceComparisonOperator_Is_Eq: an Enum
            return self.model
        if part is Part.CONTAINER:  # equivalent mutant core/ReplaceComparisonOperator_Is_Eq: an Enum
            return aws.model_container(self.model) if self.model is not None else None
        if part is Part.CONFIG:  # equivalent mutant core/ReplaceComparisonOperator_Is_Eq: an Enum
            return self.config
        if part is Part.VARIANT:  # equivalent mutant core/ReplaceComparisonOperator_Is_Eq: an Enum
            return self.variant
        if part is Part.ASYNC:  # equivalent mutant core/ReplaceComparisonOperator_Is_Eq: an Enum
            return (self.config or {}).get("AsyncInferenceConfig")
        return self.endpoint.get("LastDeploymentConfig")

    def value(self, setting: Field[T]) -> T | None:
        """What serves for one managed setting (None: nothing set)."""
        # equivalent mutant core/ReplaceComparisonOperator_Is_Eq: no other field of the table equals IMAGE (each
        # has its own input name)
        if setting is IMAGE:
            # What the variant runs is the truth; the model says what it was given (or the endpoint runs no
            # instance, scaled to zero, and DeployedImages is empty).
            return setting.decode(self.image) if self.image else None
        return setting.read(self.part(setting.part))

    # --- the endpoint -----------------------------------------------------------------------------------

    @property
    def endpoint_name(self) -> str:
        return str(self.endpoint.get("EndpointName", ""))

    @property
    def endpoint_arn(self) -> str:
        return str(self.endpoint.get("EndpointArn", ""))

    @property
    def status(self) -> str:
        return str(self.endpoint.get("EndpointStatus", ""))

    @property
    def failure_reason(self) -> str:
        return str(self.endpoint.get("FailureReason", "") or "")

    @property
    def config_name(self) -> str:
        return str(self.endpoint.get("EndpointConfigName", ""))

    @property
    def pending_config_name(self) -> str:
        """The config an update in progress rolls out ("" when none)."""
        return str((self.endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName", ""))

    @property
    def live_variant(self) -> Json:
        """The variant as DescribeEndpoint reports it (instance counts, deployed images)."""
        return next(
            (v for v in self.endpoint.get("ProductionVariants", []) if v.get("VariantName") == self.variant_name),
            {},
        )

    @property
    def current_instance_count(self) -> int | None:
        count = self.live_variant.get("CurrentInstanceCount")
        return int(count) if count is not None else None

    @property
    def desired_instance_count(self) -> int | None:
        """What SageMaker aims for (autoscaling moves it); an update with RetainAllVariantProperties keeps it."""
        count = self.live_variant.get("DesiredInstanceCount")
        return int(count) if count is not None else None

    # --- the config and the model ------------------------------------------------------------------------

    @property
    def variants(self) -> list[Json]:
        return list((self.config or {}).get("ProductionVariants", []))

    @property
    def variant_names(self) -> tuple[str, ...]:
        return tuple(str(v.get("VariantName", "")) for v in self.variants)

    @property
    def variant(self) -> Json:
        """The config's production variant the action manages ({} when the config is gone)."""
        return next((v for v in self.variants if v.get("VariantName") == self.variant_name), {})

    @property
    def model_name(self) -> str:
        return str(self.variant.get("ModelName", ""))

    @property
    def has_async_config(self) -> bool:
        return self.config is not None and "AsyncInferenceConfig" in self.config

    @property
    def image(self) -> str:
        """The digest reference the variant runs, else the image the model names ("" when unknown)."""
        deployed = aws.deployed_image(self.live_variant)
        if deployed:
            return deployed
        container = self.part(Part.CONTAINER) or {}
        return str(container.get("Image", ""))

    @property
    def instance_type(self) -> str:
        return str(self.variant.get("InstanceType", ""))

    @property
    def package_arn(self) -> str:
        """The model package the serving model is made from ("" when none, or the model was not read)."""
        package = self.value(MODEL_PACKAGE)
        return package.reference if package is not None else ""


def read_serving(
    sm: Any,
    endpoint: Json,
    variant_name: str,
    # equivalent mutant core/ReplaceBinaryOperator_Mul_Div: '/' for '*' only lets need_model and need_artifact be
    # passed by position too; every call names them
    *,
    need_model: bool,
    need_artifact: bool = False,
) -> ServingState:
    """What the endpoint serves, from DescribeEndpoint, its config and the model if needed.

    The model is read when the planner needs it (the action creates the next model from it) or when
    DeployedImages does not name the image (an async endpoint scaled to zero): every call here is on the
    no-change path.
    """
    config_name = str(endpoint.get("EndpointConfigName", ""))
    config = aws.describe_endpoint_config(sm, config_name) if config_name else None
    variants = (config or {}).get("ProductionVariants", [])
    names = [str(v.get("VariantName", "")) for v in variants]
    # A single-variant config under another name is still read, so the planner can say which name it has.
    # equivalent mutant core/NumberReplacer: names[-1] is names[0] where it is read, a config of one variant
    chosen = variant_name if variant_name in names or len(names) != 1 else names[0]
    state = ServingState(endpoint=endpoint, config=config, model=None, variant_name=chosen)
    model: Json | None = None
    if state.model_name and (need_model or not aws.deployed_image(state.live_variant)):
        model = aws.describe_model(sm, state.model_name)
    unknown = aws.unknown_members(config) + aws.unknown_members(model)
    # A serving model with an artifact: its tags say what the artifact was when it was made (artifacts.identity).
    has_artifact = model is not None and bool(artifacts.location(aws.model_container(model)))
    tags = aws.list_tags(sm, str(model["ModelArn"])) if need_artifact and model and has_artifact else {}
    return ServingState(
        endpoint=endpoint,
        config=config,
        model=model,
        variant_name=chosen,
        unknown_members=unknown,
        artifact_tag=tags.get(ARTIFACT_KEY),
    )
