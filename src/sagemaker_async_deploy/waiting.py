"""Waiting for an endpoint to settle: one DescribeEndpoint per poll, one progress line per poll, a deadline.

The boto3 waiter is not used: ``endpoint_in_service`` reports success after an alarm rollback, never stops
on ``UpdateRollbackFailed``, and polls every 30 s in silence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import aws
from .errors import DeployError
from .log import Log, safe
from .outcome import RolloutOutcome
from .state import TRANSITIONAL

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


@dataclass
class Waiter:
    sm: SageMakerClient
    log: Log
    outcome: RolloutOutcome
    deadline: float  # epoch seconds
    timeout_seconds: float  # as configured, for the message
    poll_interval: float

    def wait(self, endpoint_name: str, title: str, *, settling: bool = False) -> aws.Json | None:
        """Poll until the endpoint settles (None: it is gone); a group of progress lines in the log.

        ``settling``: the update waited for is someone else's, which changes the timeout's message.
        """
        started = time.time()
        with self.log.group(title):
            while True:
                endpoint = aws.describe_endpoint(self.sm, endpoint_name)
                now = time.time()
                if endpoint is None:
                    self.log.info(f"  {now - started:6.0f}s  endpoint gone")
                    return None
                status = str(endpoint.get("EndpointStatus", ""))
                variant_status = variant_statuses(endpoint)
                self.outcome.note(now, status, variant_status)
                pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName", "")
                self.log.info(
                    f"  {now - started:6.0f}s  {safe(status):<16} variant: {safe(variant_status) or '-':<24} "
                    f"config: {safe(endpoint.get('EndpointConfigName', ''))}"
                    + (f" → {safe(pending)}" if pending else "")
                )
                if status not in TRANSITIONAL:
                    return endpoint
                if now >= self.deadline:
                    raise self._timed_out(status, settling=settling)
                time.sleep(min(self.poll_interval, max(self.deadline - now, 0.0)))

    def _timed_out(self, status: str, *, settling: bool) -> DeployError:
        self.outcome.timed_out = True
        minutes = f"{self.timeout_seconds / 60:g} minutes (deployment-timeout-minutes)"
        if settling:
            return DeployError(
                f"Timed out after {minutes} waiting for an update this run did not start; the endpoint "
                f"is still {safe(status)} and this run changed nothing. Let one run per endpoint go at "
                "a time (a concurrency group), or find who else updates it.",
                kind="timeout",
            )
        return DeployError(
            f"Timed out after {minutes} with the endpoint {safe(status)}. The rollout goes on in "
            "SageMaker; nothing was deleted. Rerun the action to wait for it and finish the job.",
            kind="timeout",
        )


def variant_statuses(endpoint: aws.Json) -> str:
    """The VariantStatus of the serving and the pending fleet, as one line."""
    statuses: list[str] = []
    for variant in endpoint.get("ProductionVariants", []) + (
        (endpoint.get("PendingDeploymentSummary") or {}).get("ProductionVariants", [])
    ):
        statuses += [str(s.get("Status", "")) for s in variant.get("VariantStatus", [])]
    return ", ".join(s for s in statuses if s)
