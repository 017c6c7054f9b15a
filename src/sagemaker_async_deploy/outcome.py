"""What a run found and did, as the report needs it: the verdict, what served before and after, what happened."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the planner reads the smoke test's plan warning from smoke, which uses this
    from ._checks import PackageRef
    from .lost_model import LostModel
    from .planner import Plan
    from .state import ServingState


@dataclass(frozen=True)
class Transition:
    at: float  # epoch seconds
    status: str
    variant_status: str
    progress: str = ""  # which step the rollout is in, in words ("new fleet: Baking, 1 of 4 instances")


@dataclass(frozen=True)
class SmokeResult:
    """What the smoke test's one request got: its verdict, where its answer landed and how it began."""

    passed: bool
    reason: str  # why it failed, in words ("" when it passed)
    inference_id: str
    request_id: str  # InvokeEndpointAsync's x-amzn-RequestId
    output_location: str  # S3 URI of the response (whether or not it landed)
    failure_location: str  # S3 URI of the failure ("" when the endpoint has no S3FailurePath)
    seconds: float  # from the request to the answer (or to the timeout)
    excerpt: str  # the first bytes of the object that landed (outside text: escape before showing)
    answered: str  # "output", "failure" or "" (no answer)


@dataclass
class RolloutOutcome:
    """Everything the report needs: the verdict, what served before and after, and what happened."""

    result: str  # created, updated, unchanged, rolled-back, failed; plan mode: would-create, would-update
    plan: Plan | None = None
    before: ServingState | None = None
    endpoint_arn: str = ""
    serving_config: str = ""
    serving_model: str = ""
    serving_image: str = ""
    serving_package: str = ""  # the model package version the serving model is made from ("" when none)
    # The package version the endpoint served before a run whose inputs name none (described for the report).
    replaced_package: PackageRef | None = None
    failure_reason: str = ""
    message: str = ""
    timed_out: bool = False
    cancelled: bool = False  # a signal (SIGINT, SIGTERM) stopped the run before its verdict
    transitions: list[Transition] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)  # what this run changed in AWS, in order
    cleaned_up: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    autoscaling: list[str] = field(default_factory=list)  # what happened to the variant's autoscaling, in sentences
    smoke: SmokeResult | None = None  # the smoke test's verdict, when one ran
    smoke_rolled_back_by: str = ""  # after a failed smoke test: "sagemaker" (its alarm, in the bake) or "action"
    started: float = field(default_factory=time.time)
    # The serving config names a model that no longer exists: a rollback returns to a config that cannot scale.
    lost_model: LostModel | None = None
    update_started: float = 0.0  # when CreateEndpoint/UpdateEndpoint was called: the new fleet is younger
    finished: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.result in ("created", "updated", "unchanged", "would-create", "would-update")

    @property
    def duration(self) -> float:
        return (self.finished or time.time()) - self.started

    def record_serving(self, state: ServingState) -> None:
        """What serves, as outputs report it: the endpoint, its config, its model and image."""
        self.endpoint_arn = state.endpoint_arn
        self.serving_config = state.config_name
        self.serving_model = state.model_name
        self.serving_image = state.image
        self.serving_package = state.package_arn

    def note(self, at: float, status: str, variant_status: str, progress: str = "") -> None:
        """A poll's status, kept when it differs from the last one seen."""
        last = self.transitions[-1] if self.transitions else None
        if last is None or (last.status, last.variant_status, last.progress) != (status, variant_status, progress):
            self.transitions.append(Transition(at, status, variant_status, progress))
