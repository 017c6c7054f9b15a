"""What the in-process rollout tests share: a module's emulator, the action's clients for it, and the reads
that tell what an endpoint serves and what of the action's making is left."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sagemaker_async_deploy import aws
from sagemaker_async_deploy.builders import Shapes
from sagemaker_async_deploy.outcome import RolloutOutcome
from sagemaker_async_deploy.planner import Plan, desired_from, plan
from sagemaker_async_deploy.rollout import Rollout
from sagemaker_async_deploy.state import TRANSITIONAL, ServingState, read_serving
from sagemaker_emulator import Emulator

from .conftest import REGION

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


@dataclass
class Run:
    """A Rollout as main() builds it (real clients through the emulator's URL), its log kept in a buffer."""

    rollout: Rollout
    stream: io.StringIO

    @property
    def outcome(self) -> RolloutOutcome:
        return self.rollout.outcome

    @property
    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()


class EmulatorLab:
    """The module's emulator and the clients the action uses against it."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.clients = aws.Clients(REGION)
        self.sm: SageMakerClient = self.clients.sagemaker
        self.shapes = Shapes.of(self.sm.meta.service_model)

    def settle(self, name: str) -> aws.Json:
        """Poll until the endpoint's lifecycle stops (it moves on its own: the emulator's timings)."""
        deadline = time.time() + 30
        while time.time() < deadline:
            endpoint = aws.describe_endpoint(self.sm, name)
            assert endpoint is not None
            if endpoint["EndpointStatus"] not in TRANSITIONAL:
                return endpoint
            time.sleep(0.01)
        raise AssertionError(f"{name} never settled")

    def planned(self, run: Run, *, create: bool = False) -> Plan:
        """The plan run() makes against what serves now (``create``: against no endpoint, as its first deploy
        did), with the model and endpoint config it would create made as it makes them."""
        cfg = run.rollout.config
        endpoint = None if create else aws.describe_endpoint(self.sm, cfg.endpoint_name)
        current = None
        if endpoint is not None:
            current = read_serving(self.sm, endpoint, cfg.variant_name, need_model=cfg.creates_model)
        the_plan = plan(current, desired_from(cfg, current, self.shapes))
        desired = the_plan.desired
        if desired.model_request is not None and aws.describe_model(self.sm, desired.model_name) is None:
            self.sm.create_model(**desired.model_request)
        if aws.describe_endpoint_config(self.sm, desired.config_name) is None:
            self.sm.create_endpoint_config(**desired.config_request)
        return the_plan

    def serving(self, name: str) -> ServingState:
        endpoint = aws.describe_endpoint(self.sm, name)
        assert endpoint is not None
        return read_serving(self.sm, endpoint, "AllTraffic", need_model=True)

    def configs(self, name: str) -> set[str]:
        """The endpoint configs named as the action names those of ``name``."""
        return {c for c in aws.list_endpoint_config_names(self.sm, name) if c.startswith(f"{name}-")}

    def models(self, name: str) -> set[str]:
        """The models named as the action names those of ``name``."""
        return {m for m in aws.list_model_names(self.sm, name) if m.startswith(f"{name}-")}


def each_test_fresh(emu: Emulator) -> Iterator[None]:
    """For an autouse fixture of a module sharing one emulator: each test reads only its own requests and leaves
    no fault armed for the next."""
    emu.clear_requests()
    yield
    emu.faults.clear()
