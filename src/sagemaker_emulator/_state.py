"""The emulated SageMaker's resources and how long their lifecycle phases last."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

JSON = dict[str, Any]


@dataclass(frozen=True)
class Timings:
    """Seconds each lifecycle phase lasts. WaitIntervalInSeconds stands for a share of ``update``, never real time.

    An all-at-once blue/green update lasts ``update``: provisioning the new fleet (LAUNCH), turning its traffic on
    (ACTIVATE) and the bake (BAKE, given to ACTIVATE when WaitIntervalInSeconds is 0). Each further traffic step
    (canary, linear) adds ACTIVATE + BAKE; each rolling batch takes a whole ``update``.
    """

    create: float = 1.0
    update: float = 1.0
    rollback: float = 1.0
    delete: float = 0.5

    LAUNCH: ClassVar[float] = 0.5
    ACTIVATE: ClassVar[float] = 0.1
    BAKE: ClassVar[float] = 0.4


@dataclass
class Resource:
    name: str
    arn: str
    request: JSON
    creation_time: float
    tags: list[JSON] = field(default_factory=list)
    # Faults.invisible_after_create: how many more requests naming it do not find it, and whose.
    hidden: int = 0
    hidden_from: str | None = None


@dataclass
class Model(Resource):
    # A model made from a model package (ContainerDefinition.ModelPackageName): the package's containers, as
    # CreateModel found them; what its instances run.
    package_containers: list[JSON] = field(default_factory=list)


class Config(Resource):
    pass


Step = Callable[[float], None]


@dataclass
class Endpoint:
    name: str
    arn: str
    region: str
    # What the endpoint serves: a snapshot, because the config itself may be deleted while in use.
    config: Config
    status: str
    creation_time: float
    last_modified: float
    variants: list[JSON] = field(default_factory=list)
    failure_reason: str | None = None
    pending: JSON | None = None
    last_deployment_config: JSON | None = None
    tags: list[JSON] = field(default_factory=list)
    steps: list[tuple[float, Step]] = field(default_factory=list)
    deleted: bool = False
    # Set while a test holds the lifecycle still (Faults.hold): the time it was frozen.
    held_since: float | None = None
    # Fleets launched so far: each new fleet (or rolling batch) runs on new instance ids.
    fleets: int = 0
    # The container log streams of the fleet that serves (it keeps logging while a new fleet starts).
    serving_streams: list[str] = field(default_factory=list)
    # Faults.lag_reads: what DescribeEndpoint keeps answering (None: "Could not find endpoint"), and until when.
    stale: tuple[JSON | None, float] | None = None


@dataclass
class Region:
    models: dict[str, Model] = field(default_factory=dict)
    configs: dict[str, Config] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    package_groups: dict[str, JSON] = field(default_factory=dict)  # the Model Registry, by group name
    packages: dict[str, JSON] = field(default_factory=dict)  # versioned model packages, by ARN


@dataclass(frozen=True)
class Target:
    """One variant of the fleet an update (or a create) brings up."""

    spec: JSON  # the config's ProductionVariant
    count: int
    weight: float


def key(name: str) -> str:
    # SageMaker ARNs carry names lower-cased, so names differing only in case collide.
    return name.lower()


def images_of(model: JSON) -> list[str]:
    if model.get("PrimaryContainer", {}).get("Image"):
        return [model["PrimaryContainer"]["Image"]]
    return [c["Image"] for c in model.get("Containers", []) if c.get("Image")]


def model_images(model: Model) -> list[str]:
    """The images a model's instances run: its containers', or those of the model package it was made from."""
    if model.package_containers:
        return [str(c["Image"]) for c in model.package_containers if c.get("Image")]
    return images_of(model.request)


def variant_status(status: str, at: float, message: str | None = None) -> JSON:
    entry: JSON = {"Status": status, "StartTime": at}
    if message:
        entry["StatusMessage"] = message
    return entry
