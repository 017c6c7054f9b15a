"""Faults a test (or a person, through the control API) arms before the action runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ._sagemaker import SageMakerBackend

UpdateFaultKind = Literal["rollback", "fail", "rollback_failed"]
FailedUpdateEnd = Literal["InService", "Failed"]


@dataclass(frozen=True)
class UpdateFault:
    kind: UpdateFaultKind
    endpoint_name: str | None
    reason: str = ""
    # Only for kind "fail": where the endpoint ends up (see Faults.fail_next_update).
    end_status: FailedUpdateEnd = "InService"


@dataclass(frozen=True)
class CreateFault:
    endpoint_name: str | None
    reason: str


class Faults:
    """Armed misbehaviour. One-shot faults are consumed by the first request they match."""

    def __init__(self, backend: SageMakerBackend) -> None:
        self._backend = backend
        self._lock = threading.Lock()
        self._updates: list[UpdateFault] = []
        self._creates: list[CreateFault] = []
        self._throttle = 0
        self._expire_after: int | None = None

    def clear(self) -> None:
        with self._lock:
            self._updates.clear()
            self._creates.clear()
            self._throttle = 0
            self._expire_after = None

    def rollback_next_update(self, endpoint_name: str | None = None) -> None:
        """The next UpdateEndpoint goes Updating -> RollingBack -> InService on the OLD config, no
        FailureReason, no PendingDeploymentSummary: what AWS does when an auto-rollback alarm fires."""
        with self._lock:
            self._updates.append(UpdateFault("rollback", endpoint_name))

    def fail_next_update(
        self, reason: str, endpoint_name: str | None = None, end_status: FailedUpdateEnd = "InService"
    ) -> None:
        """The next UpdateEndpoint fails with ``reason``.

        ``end_status="InService"`` (default): the blue/green deployment failed before traffic moved, so the
        old fleet keeps serving: InService, old EndpointConfigName, FailureReason set.
        ``end_status="Failed"``: the endpoint ends Failed (old EndpointConfigName, FailureReason set).
        """
        if end_status not in ("InService", "Failed"):
            raise ValueError(f"end_status must be InService or Failed, not {end_status!r}")
        with self._lock:
            self._updates.append(UpdateFault("fail", endpoint_name, reason, end_status))

    def update_rollback_failed_next(self, reason: str, endpoint_name: str | None = None) -> None:
        """The next UpdateEndpoint goes Updating -> RollingBack -> UpdateRollbackFailed with ``reason``."""
        with self._lock:
            self._updates.append(UpdateFault("rollback_failed", endpoint_name, reason))

    def fail_next_create(self, reason: str, endpoint_name: str | None = None) -> None:
        """The next CreateEndpoint goes Creating -> Failed with ``reason``."""
        with self._lock:
            self._creates.append(CreateFault(endpoint_name, reason))

    def throttle(self, n: int) -> None:
        """The next ``n`` SageMaker requests answer HTTP 400 ThrottlingException "Rate exceeded"."""
        if n < 0:
            raise ValueError("n must not be negative")
        with self._lock:
            self._throttle = n

    def expire_credentials(self, after_requests: int = 0) -> None:
        """After ``after_requests`` more SageMaker requests the caller's session token has expired: every
        further request answers HTTP 400 ExpiredTokenException, as an OIDC session does after an hour."""
        if after_requests < 0:
            raise ValueError("after_requests must not be negative")
        with self._lock:
            self._expire_after = after_requests

    def busy(self, endpoint_name: str, seconds: float, region: str | None = None) -> None:
        """The endpoint is Updating for ``seconds`` because of someone else's update of the same config."""
        self._backend.make_busy(endpoint_name, seconds, region)

    def scale_to_zero(self, endpoint_name: str, region: str | None = None) -> None:
        """The endpoint's variants run 0 instances with empty DeployedImages (async endpoint at min 0)."""
        self._backend.scale_to_zero(endpoint_name, region)

    # Consumption, used by the backend and the server.

    def take_expired(self) -> bool:
        with self._lock:
            if self._expire_after is None:
                return False
            if self._expire_after > 0:
                self._expire_after -= 1
                return False
            return True

    def take_throttle(self) -> bool:
        with self._lock:
            if self._throttle > 0:
                self._throttle -= 1
                return True
            return False

    def take_update_fault(self, endpoint_name: str) -> UpdateFault | None:
        with self._lock:
            for fault in self._updates:
                if fault.endpoint_name in (None, endpoint_name):
                    self._updates.remove(fault)
                    return fault
            return None

    def take_create_fault(self, endpoint_name: str) -> CreateFault | None:
        with self._lock:
            for fault in self._creates:
                if fault.endpoint_name in (None, endpoint_name):
                    self._creates.remove(fault)
                    return fault
            return None
