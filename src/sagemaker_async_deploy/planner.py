"""The pure planner: what serves now versus what the inputs ask for.

No I/O here. ``desired_from`` turns the config (and what serves) into a :class:`Desired`: every managed
setting's value, and the model and endpoint config an apply would create, carried over from what serves.
``plan`` compares the two setting by setting and decides create / update / unchanged. Names of the model and
the endpoint config are derived from their whole content, so a rerun after a crash finds and reuses what the
first run made, and never reuses one whose carried settings differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar, cast

from . import artifacts, builders, redeploy, smoke, strategy
from ._checks import Pairs
from .builders import Shapes
from .carried import Kept, kept_settings
from .config import ARTIFACT_KEY, ActionConfig
from .errors import PlanError
from .fields import (
    ALARMS,
    BAKE,
    CREATED_MODEL_ONLY,
    EXECUTION_ROLE,
    FIELDS,
    IMAGE,
    INSTANCE_COUNT,
    INSTANCE_TYPE,
    MODEL_DATA_URL,
    MODEL_PACKAGE,
    STEP_SIZE,
    STRATEGY,
    Field,
    Json,
    Part,
)
from .state import ServingState

PlanAction = Literal["create", "update", "unchanged"]
T = TypeVar("T")

__all__ = ["Change", "Desired", "Kept", "Plan", "PlanError", "ServingState", "desired_from", "plan"]


@dataclass(frozen=True)
class Change:
    field: str  # the input's name, as users know it
    before: str
    after: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "from": self.before, "to": self.after}


@dataclass(frozen=True)
class Desired:
    """What the inputs ask to serve: each managed setting's value and the resources an apply would create."""

    endpoint_name: str
    variant_name: str
    existing_model: str  # model-name input: deploy it as is ("" → the action creates one)
    values: Mapping[str, Any]  # by input name; None: absent. Settings of a created model only without one.
    model_content: Json | None  # CreateModel without its name and tags (None with an existing model)
    config_content: Json  # CreateEndpointConfig without its name and tags
    model_name: str
    config_name: str
    tags: Pairs
    kept_inputs: frozenset[str] = frozenset()  # empty inputs whose value was kept from what serves
    fleet: int | None = None  # the instance count the update will have (None on create)
    warnings: tuple[str, ...] = ()  # what the user should know before the rollout
    timeout_seconds: float = 3600.0  # deployment-timeout-minutes, in seconds
    forced: bool = False  # force-redeploy on an existing endpoint: an update even when nothing changed
    artifact: str = ""  # what the created model's artifact is now (artifacts.Identity's value), "" when not read
    artifact_url: str = ""  # where it was read: model-data-url, or the serving model's artifact it keeps
    bakes: int = 1  # how many bakes an update waits (one per traffic step or batch)
    no_guardrails: str = ""  # what makes SageMaker update without guardrails (all at once, no bake), in words
    # The serving endpoint's deployment settings no input names (builders.carried_deployment).
    carried_deployment: Json = field(default_factory=dict)

    @property
    def deployment_config(self) -> Json:
        return builders.deployment_config(
            self.values, timeout_seconds=self.timeout_seconds, carried=self.carried_deployment
        )

    @property
    def kept_deployment(self) -> Json:
        """The carried deployment settings this update keeps (those of the update policy it uses)."""
        own = builders.deployment_config(self.values, timeout_seconds=self.timeout_seconds)
        return builders.applicable(own, self.carried_deployment)

    @property
    def strategy(self) -> str:
        """The deployment strategy in words, for the log."""
        return strategy.describe(self.values[STRATEGY.input], self.value(STEP_SIZE), self.fleet)

    def value(self, setting: Field[T]) -> T | None:
        return cast("T | None", self.values.get(setting.input))

    @property
    def image(self) -> str:
        image = self.value(IMAGE)
        return image.reference if image is not None else ""

    @property
    def instance_type(self) -> str:
        return self.value(INSTANCE_TYPE) or ""

    @property
    def package_arn(self) -> str:
        """The model package version the created model is made from ("" when none)."""
        package = self.value(MODEL_PACKAGE)
        return package.reference if package is not None else ""

    @property
    def alarms(self) -> tuple[str, ...]:
        return self.value(ALARMS) or ()

    @property
    def bake_seconds(self) -> int:
        return self.value(BAKE) or 0

    @property
    def model_request(self) -> Json | None:
        if self.model_content is None:
            return None
        request = builders.model_request(self.model_name, self.model_content, self.tags)
        if self.artifact:
            request["Tags"].append({"Key": ARTIFACT_KEY, "Value": self.artifact})
        return request

    @property
    def config_request(self) -> Json:
        return builders.config_request(self.config_name, self.config_content, self.tags)


@dataclass(frozen=True)
class Plan:
    action: PlanAction
    changes: tuple[Change, ...]
    desired: Desired
    current: ServingState | None
    kept: tuple[Kept, ...] = ()  # settings carried over from the serving endpoint, for the reviewer
    notes: tuple[str, ...] = ()  # what the reviewer should know about how the plan was made

    @property
    def retain_instance_count(self) -> bool:
        """Keep the live (possibly autoscaled) count unless the user asked for a new initial count."""
        # equivalent mutant core/ReplaceComparisonOperator_Eq_Is: a change's field is its row's own input string
        return not any(c.field == INSTANCE_COUNT.input for c in self.changes)

    @property
    def instance_type_changes(self) -> bool:
        # equivalent mutant core/ReplaceComparisonOperator_Eq_Is: a change's field is its row's own input string
        return any(c.field == INSTANCE_TYPE.input for c in self.changes)

    @property
    def forced(self) -> bool:
        """An update only because force-redeploy asked for one: no setting differs."""
        return any(c.field == redeploy.INPUT for c in self.changes)


def desired_from(
    config: ActionConfig,
    current: ServingState | None,
    shapes: Shapes,
    # equivalent mutant core/ReplaceBinaryOperator_Mul_Div: '/' for '*' only lets artifact be passed by position
    # too; every call passes config, current and shapes by position and names artifact
    *,
    artifact: artifacts.Identity | None = None,
) -> Desired:
    """What the inputs ask for. An empty input that means "keep" takes what serves (on create: the row's
    create value), and ``none`` removes it; the model and config an apply would create carry every other
    setting from what serves. ``artifact`` is what the created model's artifact is now (``artifacts.identity``):
    part of its name, so that a re-uploaded artifact gets a model of its own."""
    if current is not None:
        refuse_unsupported(current, variant_name=config.variant_name, creates_model=config.creates_model)
    values: dict[str, Any] = {}
    kept: set[str] = set()
    for setting in FIELDS:
        if setting in CREATED_MODEL_ONLY and not config.creates_model:
            continue
        # equivalent mutant core/ReplaceComparisonOperator_Is_Eq: fields are frozen dataclasses that differ in their
        # input name, so a field equals only itself
        if setting is MODEL_DATA_URL and config.package is not None:
            continue  # the package version names its artifact (MODEL_PACKAGE replaces a kept one)
        given = config.given(setting)
        if config.removes(setting):
            values[setting.input] = None
        elif given is not None:
            values[setting.input] = given
        elif current is None:
            values[setting.input] = setting.on_create
        # equivalent mutant core/ReplaceComparisonOperator_Eq_LtE: empty is "keep" or "none", which sorts after it
        # equivalent mutant core/ReplaceComparisonOperator_Eq_Is: empty is the field table's literal, the same
        # interned string as this one
        elif setting.empty == "keep":
            values[setting.input] = current.value(setting)
            kept.add(setting.input)
        else:
            values[setting.input] = None
    values[BAKE.input] = config.bake_seconds
    fleet = _fleet(current, values) if current is not None else None
    fitted = strategy.fit(
        values[STRATEGY.input], values[STEP_SIZE.input], fleet if current is not None else _starting_fleet(values)
    )
    values[STRATEGY.input], values[STEP_SIZE.input] = fitted.strategy, fitted.step
    warnings = list(fitted.warnings)
    # equivalent mutant core/NumberReplacer: 0 for 1 is no change, as StepSize.share counts a fleet of 0 as 1
    bakes = strategy.steps(fitted.strategy, fitted.step, fleet or 1)
    no_guardrails = strategy.no_guardrails_for(values.get(INSTANCE_TYPE.input) or "")
    if no_guardrails:
        bakes = 0  # all at once without a bake, whatever was asked
        # The step size as given: a default the user never set is not "ignored".
        ignored = strategy.fallback_warning(
            no_guardrails, fitted.strategy, config.given(STEP_SIZE), config.bake_seconds, config.alarms, fleet
        )
        warnings += [ignored] if ignored else []
    if config.bake_seconds * bakes > config.deployment_timeout_seconds:
        warnings.append(
            f"The update bakes {bakes} time(s) {config.bake_seconds} s (bake-seconds), longer than "
            f"deployment-timeout-minutes ({config.deployment_timeout_seconds / 60:g}): "
            + (
                # The rolling policy's MaximumExecutionTimeoutInSeconds is that timeout (builders.deployment_config).
                "SageMaker stops the rolling update at that timeout and rolls it back. "
                # equivalent mutant core/ReplaceComparisonOperator_Eq_GtE: no strategy name sorts after rolling
                if fitted.strategy == "rolling"
                else "the action will stop waiting before SageMaker finishes. "
            )
            + "Raise deployment-timeout-minutes or lower bake-seconds"
        )
    if config.smoke_test is not None and current is not None:
        note = smoke.bake_warning(config.smoke_test, fitted.strategy, config.bake_seconds, config.alarms)
        if note:
            warnings.append(note)
    if config.creates_model and not values.get(EXECUTION_ROLE.input):
        raise PlanError(
            EXECUTION_ROLE.input,
            "needed for the model the action creates on a first deploy "
            "(later deploys reuse the serving model's role); e.g. arn:aws:iam::<account>:role/<sagemaker-role>",
        )

    model_content: Json | None = None
    if config.creates_model:
        model_content = builders.model_content(values, current.model if current else None, shapes)
        named = {"Model": model_content, "Artifact": artifact.value} if artifact else model_content
        model_name = builders.derived_name(config.endpoint_name, named)
    else:
        model_name = config.model_name
    config_content = builders.config_content(
        values,
        current.config if current else None,
        shapes,
        variant_name=config.variant_name,
        model_name=model_name,
    )
    return Desired(
        endpoint_name=config.endpoint_name,
        variant_name=config.variant_name,
        existing_model=config.model_name,
        values=values,
        model_content=model_content,
        config_content=config_content,
        model_name=model_name,
        config_name=builders.derived_name(config.endpoint_name, config_content),
        tags=config.tags,
        kept_inputs=frozenset(kept),
        fleet=fleet,
        warnings=tuple(warnings),
        timeout_seconds=config.deployment_timeout_seconds,
        forced=config.force_redeploy and current is not None,
        artifact=artifact.value if artifact and config.creates_model else "",
        artifact_url=artifact.url if artifact and config.creates_model else "",
        bakes=bakes,
        no_guardrails=no_guardrails,
        carried_deployment=builders.carried_deployment(
            current.part(Part.DEPLOYMENT) if current else None, shapes.deployment_config
        ),
    )


def _starting_fleet(values: Mapping[str, Any]) -> int | None:
    """The fleet a first deploy's strategy is checked against. A first deploy only stores the strategy for later
    updates, whose fleet autoscaling may have changed; a step outside AWS's limits for the fleet it starts with
    is still refused now, not at the first update. One instance cannot be split at all (None: not fitted), so the
    strategy is stored as asked and fitted when an update runs."""
    # equivalent mutant core/NumberReplacer: on create the instance count is never empty (its row's on_create is 1),
    # so what stands for an empty one is never read
    initial = int(values.get(INSTANCE_COUNT.input) or 1)
    return initial if initial >= 2 else None


def _fleet(current: ServingState, values: Mapping[str, Any]) -> int:
    """The instance count an update will have: the new initial count when it changes, else the retained
    DesiredInstanceCount (RetainAllVariantProperties keeps what autoscaling set)."""
    serving_count = current.value(INSTANCE_COUNT)
    wanted = values.get(INSTANCE_COUNT.input)
    if wanted is not None and INSTANCE_COUNT.differs(serving_count, wanted):
        return int(wanted)
    retained = current.desired_instance_count
    return retained if retained is not None else int(serving_count or 0)


# equivalent mutant ReplaceBinaryOperator_Mul_Div: '/' for '*' only lets these be passed by position too;
# every call names them, so no call behaves differently
def refuse_unsupported(current: ServingState, *, variant_name: str, creates_model: bool) -> None:
    """What an update cannot carry safely, refused before anything is written: with the reason and the way out.

    The most specific reason first: a serverless or multi-model endpoint is also a real-time one, and saying
    which kind it is tells the user more.
    """
    names = current.variant_names
    if len(names) > 1:
        raise PlanError(
            "endpoint-name",
            f"the endpoint serves {len(names)} production variants ({', '.join(names)}); "
            "this action manages single-variant endpoints",
        )
    if (current.config or {}).get("ShadowProductionVariants"):
        raise PlanError(
            "endpoint-name",
            "the endpoint config has shadow variants (a shadow test); this action manages single-variant "
            "endpoints: end the shadow test first",
        )
    # The config's one variant; with the config gone there is none, and the asked name stands.
    # equivalent mutant NumberReplacer: more than one name was refused above, so names[0] is names[-1]
    served = names[0] if names else variant_name
    if variant_name != served:
        raise PlanError(
            "variant-name",
            f"the endpoint's variant is '{served}', not '{variant_name}'; "
            f"set variant-name: {served} (blue/green guardrails need the same variant name)",
        )
    if current.variant.get("ServerlessConfig"):
        raise PlanError(
            "endpoint-name",
            "the endpoint is a serverless endpoint; asynchronous inference runs on instances: deploy to a new "
            "endpoint name",
        )
    if current.variant.get("InstancePools"):
        # A heterogeneous variant names its instance types in pools, not in InstanceType: instance-type would
        # be compared with nothing and planned as a change on every run, and the request would then hold both.
        types = ", ".join(str(pool.get("InstanceType")) for pool in current.variant["InstancePools"])
        raise PlanError(
            "endpoint-name",
            f"the endpoint's variant runs on instance pools ({types}); this action manages one instance-type "
            "per variant: change the pools where they were made (Terraform, the console) or deploy to a new "
            "endpoint name",
        )
    if creates_model and current.model is not None:
        _refuse_model(current)
    if current.config is not None and not current.has_async_config:
        raise PlanError(
            "endpoint-name",
            "the endpoint is a real-time endpoint (its config has no AsyncInferenceConfig); "
            "SageMaker cannot turn it into an asynchronous one by an update",
        )
    if creates_model and current.model is None and current.model_name:
        # Without it the next model would be made from the inputs alone, silently dropping its artifact,
        # environment and network settings.
        raise PlanError(
            "model-name",
            f"the serving model '{current.model_name}' no longer exists (it was deleted while the endpoint uses "
            "it); the action makes the next model from the serving one's role, artifact, environment and network "
            "settings, and cannot read them. Create the model again under that name, or deploy a model of your "
            "own with model-name",
        )


def _refuse_model(current: ServingState) -> None:
    model = current.model or {}
    containers = model.get("Containers") or []
    name = current.model_name
    if not model.get("PrimaryContainer") and len(containers) > 1:
        raise PlanError(
            "model-name",
            f"the serving model '{name}' is an inference pipeline of {len(containers)} containers; the action "
            "replaces the image of a single-container model. Build the pipeline model yourself and deploy it "
            "with model-name",
        )
    container = current.part(Part.CONTAINER) or {}
    # A model made from a model package is deployable: its package version and image are what serves (the
    # model-package row), and an update to an image or another version replaces them.
    if container.get("Mode") == "MultiModel":
        raise PlanError(
            "model-name",
            f"the serving model '{name}' is a multi-model endpoint's model (Mode: MultiModel); new models are "
            "added to its S3 prefix, not rolled out. Deploy a model of your own with model-name",
        )


def plan(current: ServingState | None, desired: Desired) -> Plan:
    """Decide create / update / unchanged and list every setting that differs."""
    if current is None:
        return Plan("create", _creation_changes(desired), desired, None)

    changes: list[Change] = []
    for setting in FIELDS:
        if setting.input not in desired.values:
            continue
        before, after = current.value(setting), desired.values[setting.input]
        # equivalent mutant core/ReplaceComparisonOperator_Is_Eq: fields are frozen dataclasses that differ in their
        # input name, so a field equals only itself
        if setting is IMAGE and before is None and _same_package(current, desired):
            # Scaled to zero, a package model runs no image to read (DeployedImages is empty, and its container
            # names only the package): the same version runs the same image.
            before = after
        if setting.differs(before, after):
            changes.append(Change(setting.input, *setting.change(before, after)))
    notes = _artifact_change(current, desired, changes)
    if desired.existing_model and current.model_name != desired.existing_model:
        # Right after the image (FIELDS' first row), as on create; first when the image is the same.
        # equivalent mutant core/ReplaceComparisonOperator_Eq_Is: a Change's field is its row's input string
        # itself, so an image change holds the very object IMAGE.input is
        # equivalent mutant core/ReplaceComparisonOperator_Eq_Is: a change's field is its row's own input string
        after_image = int(bool(changes) and changes[0].field == IMAGE.input)
        changes.insert(after_image, Change("model-name", current.model_name, desired.existing_model))

    # Alarms and bake govern how a rollout is watched, not what serves: they never start a rollout on their
    # own, but when one happens they are part of it and shown.
    if not any(_starts_rollout(c) for c in changes):
        if not desired.forced:
            return Plan("unchanged", (), desired, current, kept_settings(desired), notes)
        # The same content under a name of its own: it must not be the serving config's (see redeploy).
        desired = replace(
            desired,
            config_name=redeploy.config_name(desired.endpoint_name, desired.config_content, current.config_name),
        )
        changes.insert(0, Change(redeploy.INPUT, "", redeploy.CHANGE_TO))
    if current.unknown_members:
        # Only an update carries the serving resources over; with nothing to change nothing would be lost.
        shown = ", ".join(current.unknown_members[:5])
        raise PlanError(
            "endpoint-name",
            f"the serving endpoint holds settings the AWS SDK in this version of the action does not know "
            f"({shown}); an update would drop them. Use a newer release of the action",
        )
    return Plan("update", tuple(changes), desired, current, kept_settings(desired), notes)


def _artifact_change(current: ServingState, desired: Desired, changes: list[Change]) -> tuple[str, ...]:
    """The artifact at the same model-data-url, replaced in S3 since the serving model was made: a change. A
    serving model that recorded nothing is compared by URL only, and the plan says so."""
    url = desired.artifact_url
    serving = artifacts.location(current.part(Part.CONTAINER) or {})
    if not desired.artifact or url != serving or any(c.field == MODEL_DATA_URL.input for c in changes):
        return ()  # a new URL is a change of its own
    name = artifacts.basename(url)
    if current.artifact_tag is None:
        return (
            f"The serving model has no record of what {name} held when it was made (it was made before the action "
            "recorded artifacts, or by other tools): model-data-url is compared by its URL only this time; the "
            "next model the action makes records it",
        )
    if current.artifact_tag != desired.artifact:
        before, after = artifacts.Identity(current.artifact_tag), artifacts.Identity(desired.artifact)
        changes.append(Change(MODEL_DATA_URL.input, f"{name}: {before.shown}", f"{name} replaced in S3: {after.shown}"))
    return ()


def _same_package(current: ServingState, desired: Desired) -> bool:
    serving, wanted = current.value(MODEL_PACKAGE), desired.value(MODEL_PACKAGE)
    return serving is not None and wanted is not None and MODEL_PACKAGE.same(serving, wanted)


def _starts_rollout(change: Change) -> bool:
    if change.field in ("model-name", redeploy.INPUT):
        return True
    return next(f for f in FIELDS if f.input == change.field).starts_rollout


def _creation_changes(desired: Desired) -> tuple[Change, ...]:
    # What the endpoint will serve; how later rollouts are watched (alarms, bake) is not a setting of it.
    changes = [
        Change(setting.input, "", setting.shown(desired.values.get(setting.input)))
        for setting in FIELDS
        if setting.starts_rollout and setting.shown(desired.values.get(setting.input))
    ]
    if desired.existing_model:
        changes.insert(1, Change("model-name", "", desired.existing_model))
    return tuple(changes)
