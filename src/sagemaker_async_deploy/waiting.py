"""Waiting for an endpoint to settle: one DescribeEndpoint per poll, a deadline, and a progress line when
something changes (status, config, the new fleet's step or instance count), else a heartbeat once a minute.

The boto3 waiter is not used: ``endpoint_in_service`` reports success after an alarm rollback, never stops
on ``UpdateRollbackFailed``, and polls every 30 s in silence.

SageMaker's control plane is eventually consistent (CreateEndpoint's API reference asks callers to retry
reads of what was just written; mlflow's deployer waits before its first status check "so that we don't
consider the operation to have failed if small delays occur"). So after this run's own CreateEndpoint or
UpdateEndpoint a settled status counts only with evidence that it is this update that settled: a
transitional status seen, LastModifiedTime later than before the call, or the new config pending or
serving. Without it the wait goes on, up to deployment-timeout-minutes; nothing is judged, and so nothing
deleted, on a read that may lag behind.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from . import aws, cancel
from .errors import DeployError
from .log import Log, safe
from .outcome import RolloutOutcome
from .state import TRANSITIONAL

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

# A 60-minute rollout polled every 5 s was 700 identical lines; a line a minute says the wait is alive.
HEARTBEAT_SECONDS = 60.0


@dataclass(frozen=True)
class Since:
    """This run's CreateEndpoint / UpdateEndpoint: what the endpoint looked like just before the call."""

    config_name: str  # the config the call rolls out
    modified: Any = None  # LastModifiedTime before the call (None: a create, the endpoint did not exist)


class PollWatcher(Protocol):
    """Something that looks at each poll of this run's own rollout: what the new fleet logs, a smoke test.
    Called after the poll's DescribeEndpoint (``None``: not visible yet), before the wait decides whether the
    endpoint settled; it may raise to end the wait (a cancel, an error that must stop the run)."""

    def on_poll(self, endpoint: aws.Json | None, now: float) -> None: ...


@dataclass
class Waiter:
    sm: SageMakerClient
    log: Log
    outcome: RolloutOutcome
    deadline: float  # epoch seconds
    timeout_seconds: float  # as configured, for the message
    poll_interval: float
    heartbeat: float = HEARTBEAT_SECONDS  # seconds without a change before "still …" is said

    def wait(
        self,
        endpoint_name: str,
        title: str,
        # equivalent mutant core/ReplaceBinaryOperator_Mul_Div: '/' for '*' only lets settling, since and watchers be
        # passed by position too; every call passes the endpoint's name and the title by position and names the rest
        *,
        settling: bool = False,
        since: Since | None = None,
        watchers: Sequence[PollWatcher] = (),
    ) -> aws.Json | None:
        """Poll until the endpoint settles (None: it is gone); a group of progress lines in the log.

        ``settling``: the update waited for is someone else's, which changes the timeout's message.
        ``since``: the update is this run's own; a settled status counts only once it shows that update.
        ``watchers``: each sees every poll's description, in order.
        """
        started = time.time()
        seen_transitional = False
        lagging = False
        # The last progress line (without its clock), when it was first said, and when a line was last printed.
        said, changed_at, said_at = "", started, started
        with self.log.group(title):
            while True:
                with cancel.interruptible():  # a cancelled job stops waiting at once
                    endpoint = aws.describe_endpoint(self.sm, endpoint_name)
                now = time.time()
                for watcher in watchers:
                    watcher.on_poll(endpoint, now)
                # equivalent mutant core/ReplaceBinaryOperator_Sub_Mod: a % b is a - b while b <= a < 2 * b, as for
                # any two epoch times of this century
                elapsed = f"  {now - started:6.0f}s  "
                if endpoint is None and not (since is not None and since.modified is None and not seen_transitional):
                    self.log.info(elapsed + "endpoint gone")
                    return None
                if endpoint is None:
                    line = "the new endpoint is not visible yet (SageMaker's reads lag behind)"
                    status = "not visible"
                else:
                    status = str(endpoint.get("EndpointStatus", ""))
                    moving = progress(endpoint)
                    self.outcome.note(now, status, variant_statuses(endpoint), moving)
                    pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName", "")
                    line = (
                        f"{safe(status):<16} config: {safe(endpoint.get('EndpointConfigName', ''))}"
                        + (f" → {safe(pending)}" if pending and pending != endpoint.get("EndpointConfigName") else "")
                        + (f"  {safe(moving)}" if moving else "")
                    )
                if line != said:
                    self.log.info(elapsed + line)
                    said, changed_at, said_at = line, now, now
                # equivalent mutant core/ReplaceBinaryOperator_Sub_Mod: a % b is a - b while b <= a < 2 * b, as for
                # any two epoch times of this century
                elif now - said_at >= self.heartbeat:
                    left = bake_left(endpoint, now) if endpoint is not None else ""
                    # equivalent mutant core/ReplaceBinaryOperator_Sub_Mod: a % b is a - b while b <= a < 2 * b, as for
                    # any two epoch times of this century
                    self.log.info(f"{elapsed}still {safe(status)}, no change for {now - changed_at:.0f}s{left}")
                    said_at = now
                if endpoint is not None:
                    if status in TRANSITIONAL:
                        seen_transitional = True
                    elif since is None or seen_transitional or shows(endpoint, since):
                        return endpoint
                    elif not lagging:
                        lagging = True
                        self.log.info(
                            "  SageMaker does not show this update yet (DescribeEndpoint may lag behind an update): "
                            "waiting for it to appear before judging."
                        )
                if now >= self.deadline:
                    raise self._timed_out(
                        endpoint,
                        settling=settling,
                        # equivalent mutant core/ReplaceAndWithOr: without since the wait reaches its deadline only
                        # with a transitional status, seen by then; with one seen, "unseen" changes no message
                        unseen=since is not None and not seen_transitional,
                    )
                with cancel.interruptible():
                    # equivalent mutants core/ReplaceBinaryOperator_Sub_Mod, core/NumberReplacer: the sleep follows
                    # the deadline check, so now < deadline < 2 * now: deadline % now is deadline - now, above -1.0
                    # (the NumberReplacer mutant that makes the floor 1.0 is killed)
                    time.sleep(min(self.poll_interval, max(self.deadline - now, 0.0)))

    # equivalent mutant core/ReplaceBinaryOperator_Mul_Div: '/' for '*' only lets settling and unseen be passed by
    # position too; the one call names them
    def _timed_out(self, endpoint: aws.Json | None, *, settling: bool, unseen: bool) -> DeployError:
        self.outcome.timed_out = True
        status = safe((endpoint or {}).get("EndpointStatus", "not visible"))
        minutes = f"{self.timeout_seconds / 60:g} minutes (deployment-timeout-minutes)"
        if settling:
            return DeployError(
                f"Timed out after {minutes} waiting for an update this run did not start; the endpoint "
                f"is still {status} and this run changed nothing. Let one run per endpoint go at "
                "a time (a concurrency group), or find who else updates it.",
                kind="timeout",
            )
        # equivalent mutant core/ReplaceAndWithOr: a wait times out seen (not unseen) only with its endpoint in a
        # transitional status (a settled one ends the wait, a missing one is gone): the test after "or" is false
        if unseen and (endpoint is None or endpoint.get("EndpointStatus") not in TRANSITIONAL):
            return DeployError(
                f"Timed out after {minutes}: SageMaker accepted the update, but DescribeEndpoint never showed "
                f"it (the endpoint is {status}, with neither a transitional status nor the new config). Nothing "
                "was deleted. Rerun the action: it reads the endpoint again and finishes or retries the job.",
                kind="timeout",
            )
        return DeployError(
            f"Timed out after {minutes} with the endpoint {status}. The rollout goes on in "
            "SageMaker; nothing was deleted. Rerun the action to wait for it and finish the job.",
            kind="timeout",
        )


def shows(endpoint: aws.Json, since: Since) -> bool:
    """Whether a description shows the update made ``since``: its config pending or serving, or a later
    LastModifiedTime (both of SageMaker's clock, so no clock of this machine is compared)."""
    pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
    if since.config_name in (endpoint.get("EndpointConfigName"), pending):
        return True
    modified = endpoint.get("LastModifiedTime")
    return since.modified is not None and modified is not None and modified > since.modified


def bake_left(endpoint: aws.Json, now: float) -> str:
    """ ", bake: about N s left" while the new fleet bakes, when its StatusMessage gives the bake's length
    ("Baking for X seconds (TerminationWaitInSeconds) …", the developer guide's EventBridge example) and its
    VariantStatus its StartTime; else ""."""
    for variant in (endpoint.get("PendingDeploymentSummary") or {}).get("ProductionVariants", []):
        latest = (variant.get("VariantStatus") or [{}])[-1]
        found = re.match(r"Baking for (\d+) seconds", str(latest.get("StatusMessage", "")))
        started = latest.get("StartTime")
        if latest.get("Status") == "Baking" and found and isinstance(started, datetime):
            # equivalent mutant core/ReplaceBinaryOperator_Sub_Mod: a % b is a - b while b <= a < 2 * b, as for
            # any two epoch times of this century
            left = int(found[1]) - (now - started.timestamp())
            return f", bake: about {max(left, 0):.0f}s left"
    return ""


def variant_statuses(endpoint: aws.Json) -> str:
    """The VariantStatus of the serving and the pending fleet, as one line."""
    statuses: list[str] = []
    for variant in endpoint.get("ProductionVariants", []) + (
        (endpoint.get("PendingDeploymentSummary") or {}).get("ProductionVariants", [])
    ):
        statuses += [str(s.get("Status", "")) for s in variant.get("VariantStatus", [])]
    return ", ".join(s for s in statuses if s)


def progress(endpoint: aws.Json) -> str:
    """Which step a rollout is in, in words: the new fleet's status, its instances against the count it
    aims for (PendingDeploymentSummary's counts show a canary or a linear step, its weights do not: the
    EventBridge example of a canary bake in SageMaker's developer guide has CurrentInstanceCount 1 of
    DesiredInstanceCount 3), SageMaker's own StatusMessage, and what the old fleet is doing (a rolling update
    terminates it batch by batch)."""
    parts: list[str] = []
    for variant in (endpoint.get("PendingDeploymentSummary") or {}).get("ProductionVariants", []):
        parts.append(_fleet("new fleet", variant, counts=True))
    for variant in endpoint.get("ProductionVariants", []):
        if variant.get("VariantStatus"):
            parts.append(_fleet("old fleet", variant, counts=False))
    return "; ".join(p for p in parts if p)


# equivalent mutant core/ReplaceBinaryOperator_Mul_Div: '/' for '*' only lets counts be passed by position too;
# every call names it
def _fleet(which: str, variant: aws.Json, *, counts: bool) -> str:
    latest = (variant.get("VariantStatus") or [{}])[-1]
    status, message = str(latest.get("Status", "")), str(latest.get("StatusMessage", ""))
    text = f"{which}: {status}" if status else ""
    current, desired = variant.get("CurrentInstanceCount"), variant.get("DesiredInstanceCount")
    if counts and current is not None and desired:
        # equivalent mutant core/ReplaceComparisonOperator_NotEq_Gt: a desired count here is a whole number above 0
        text += f", {current} of {desired} instance{'s' if desired != 1 else ''}"
    return text + (f" ({message})" if message and text else "")
