"""What the in-process rollout tests share: a module's emulator, the action's clients for it, and the reads
that tell what an endpoint serves and what of the action's making is left."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sagemaker_async_deploy import aws
from sagemaker_async_deploy.builders import Shapes
from sagemaker_async_deploy.outcome import RolloutOutcome
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
