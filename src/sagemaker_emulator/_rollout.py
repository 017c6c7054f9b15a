"""One UpdateEndpoint's steps, scheduled on the endpoint as SageMaker's deployment guardrails take them."""

from __future__ import annotations

import bisect
import copy
import functools
import math
import operator
import time
from collections.abc import Callable

from moto.cloudwatch.models import cloudwatch_backends

from . import _cloudwatch, _deployment, _logs
from ._behaviour import Behaviour
from ._faults import UpdateFault
from ._fleets import Fleets
from ._state import JSON, Config, Endpoint, Step, Target, Timings, variant_status

# FailureReason of a fleet whose container fails SageMaker's ping (sagemaker-python-sdk #787,
# awslabs/llm-hosting-container #18, amazon-sagemaker-examples #210).
_HEALTH_CHECK = (
    "The primary container for production variant {variant} did not pass the ping health check. "
    "Please check CloudWatch logs for this endpoint."
)
# What CloudWatch writes when a threshold is crossed (alarm notifications and DescribeAlarms StateReason seen in
# public logs: "Threshold Crossed: 1 out of the last 1 datapoints [9.0 (26/03/21 22:44:00)] was greater than or
# equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).").
_COMPARISON_WORDS = {
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", 1.0),
    "GreaterThanThreshold": ("greater than", 1.0),
    "LessThanThreshold": ("less than", -1.0),
    "LessThanOrEqualToThreshold": ("less than or equal to", -1.0),
}


class Rollout:
    """Schedules one UpdateEndpoint's steps on the endpoint, as the deployment guardrails describe them.

    Blue/green (developer guide, deployment-guardrails-blue-green*.md): SageMaker provisions the whole green fleet,
    then turns traffic on in steps (all at once; canary then the rest; linear steps), each followed by a bake of
    WaitIntervalInSeconds during which the auto-rollback alarms are watched; the blue fleet stays until the end
    (you "are billed for both the fleets for the duration of the update"). Rolling
    (deployment-guardrails-rolling.html): per batch, new capacity, traffic, bake, then the same share of the old
    fleet is cleaned up. An alarm in ALARM at the end of a bake rolls the deployment back ("If any of the alarms trip
    during the baking period, then SageMaker initiates a rollback"; "if your old fleet trips the alarm during the
    deployment, SageMaker terminates your deployment", deployment-guardrails-configuration.md).

    What DescribeEndpoint shows during it follows the "SageMaker Endpoint Deployment State Change" example and
    VariantStatus messages (automating-sagemaker-with-eventbridge.md): the serving variants keep their weights and
    counts; the PendingDeploymentSummary variant shows the instances taking traffic as CurrentInstanceCount against
    DesiredInstanceCount, with the step's VariantStatus and StartTime.
    """

    def __init__(
        self,
        fleets: Fleets,
        timings: Timings,
        behaviour: Behaviour,
        endpoint: Endpoint,
        new: Config,
        targets: list[Target],
        plan: _deployment.Strategy,
        deployment: JSON | None,
        now: float,
        fault: UpdateFault | None,
    ) -> None:
        self.fleets = fleets
        self.timings = timings
        self.behaviour = behaviour
        self.endpoint = endpoint
        self.new = new
        self.targets = targets
        self.plan = plan
        self.deployment = deployment
        self.start = now
        self.fault = fault
        self.old_variants = copy.deepcopy(endpoint.variants)
        self.new_streams: list[str] = []
        self.ladders = [plan.steps(t.count, deployment) for t in targets]
        self.step_count = max(len(ladder) for ladder in self.ladders)
        timings = self.timings
        self.launch = timings.update * timings.LAUNCH
        self.activate = timings.update * (timings.ACTIVATE if plan.wait_seconds else timings.ACTIVATE + timings.BAKE)
        self.bake = timings.update * timings.BAKE if plan.wait_seconds else 0.0
        self.rollback_at = 0
        if fault is not None and fault.kind in ("rollback", "rollback_failed"):
            self.rollback_at = min(fault.at_step, self.step_count)

    # Building blocks

    def _step(self, i: int, target_index: int) -> _deployment.Step:
        ladder = self.ladders[target_index]
        return ladder[min(i, len(ladder) - 1)]

    def _pending(self, at: float, status_of: Callable[[int, Target], tuple[int, list[JSON]]]) -> None:
        region = self.endpoint.region
        variants = []
        for index, target in enumerate(self.targets):
            current, statuses = status_of(index, target)
            # Images are resolved once, when the deployment starts: ResolutionTime does not move with each phase.
            variants.append(
                self.fleets.summary(region, target, self.start, current=current, statuses=statuses, pending=True)
            )
        self.endpoint.pending = {
            "EndpointConfigName": self.new.name,
            "ProductionVariants": variants,
            "StartTime": self.start,
        }

    def _at(self, when: float, step: Step) -> None:
        # In deadline order; steps due at the same moment run in the order they were scheduled.
        bisect.insort(self.endpoint.steps, (when, step), key=operator.itemgetter(0))

    def _settle(self, at: float, status: str, reason: str | None, *, variants: list[JSON] | None = None) -> None:
        endpoint = self.endpoint
        endpoint.status = status
        endpoint.failure_reason = reason
        endpoint.pending = None
        endpoint.last_modified = at
        if variants is not None:
            endpoint.variants = variants

    # The schedule

    def schedule(self) -> None:
        if all(t.count == 0 for t in self.targets):
            self._launching(self.start, [(t, 0) for t in self.targets])
            self._at(self.start + self.launch, self._succeed)
            return
        if self.plan.kind == "rolling":
            self._schedule_rolling()
        else:
            self._schedule_blue_green()

    def _launching(self, at: float, batches: list[tuple[Target, int]], running: list[int] | None = None) -> None:
        """New instances start: VariantStatus Creating "Launching X instance(s).", and their container logs."""
        lines = self.fault.log_lines if self.fault is not None and self.fault.kind == "unhealthy" else ()
        streams = self.fleets.write_logs(
            self.endpoint, batches, at, lines, asynchronous="AsyncInferenceConfig" in self.new.request
        )
        if self.fault is not None and self.fault.kind == "crash_loop" and not self.new_streams:
            self._crash_loop(at, streams, self.fault)
        self.new_streams += streams
        counts = dict(enumerate(n for _, n in batches))

        def status(index: int, target: Target) -> tuple[int, list[JSON]]:
            current = running[index] if running is not None else 0
            return current, [variant_status("Creating", at, f"Launching {counts[index]} instance(s).")]

        self._pending(at, status)

    def _crash_loop(self, at: float, streams: list[str], fault: UpdateFault) -> None:
        """The new fleet's container crashes and is started again, evenly over the launch: a process that exits
        is restarted while SageMaker waits for the ping health check to pass, until ContainerStartupHealthCheck-
        TimeoutInSeconds ends the launch (ProductionVariant API reference; the issue reports of "failing only after
        1 hour", amazon-sagemaker-examples #3432)."""
        account, region, name = self.fleets.account_id, self.endpoint.region, self.endpoint.name
        for k in range(1, fault.restarts + 1):
            # Each crash is followed by a new start, but the last: the launch ends with the crash that ended it.
            lines = (*fault.log_lines, *(_logs.STARTUP_LINES if k < fault.restarts else ()))
            when = at + self.launch * k / (fault.restarts + 1)
            self._at(when, functools.partial(_logs.append_lines, account, region, name, streams, lines=lines))

    def _new_fleet_fails(self, at: float) -> bool:
        """A failed or unhealthy new fleet ends the update before traffic moves: the old fleet keeps serving."""
        fault = self.fault
        if fault is None or fault.kind not in ("fail", "unhealthy", "crash_loop"):
            return False
        if fault.kind == "fail":
            reason: str | None = fault.reason
            end = fault.end_status
        else:
            variant = self.targets[0].spec["VariantName"]
            reason = _HEALTH_CHECK.format(variant=variant)
            end = "InService"
        if end == "InService" and self.behaviour.failure_reason_after_failed_update == "empty":
            reason = None
        self._at(at, lambda when: self._settle(when, end, reason))
        return True

    def _traffic(self, at: float, i: int) -> float:
        """Step ``i`` (0-based) turns traffic on, then bakes; returns when it ends."""
        wait = self.plan.wait_seconds

        def activating(when: float) -> None:
            for variant in self.endpoint.variants:
                variant.pop("VariantStatus", None)  # a rolling batch's old share has terminated

            def status(index: int, target: Target) -> tuple[int, list[JSON]]:
                step = self._step(i, index)
                # Documented: "Activating traffic on canary capacity of X instance(s)."; the full-capacity
                # wording is the Baking message's ("… on full capacity of Y instance(s)."); steps in between have
                # no documented message.
                message = (
                    f"Activating traffic on {step.capacity} capacity of {step.instances} instance(s)."
                    if step.capacity
                    else None
                )
                return step.instances, [variant_status("ActivatingTraffic", when, message)]

            self._pending(when, status)

        def baking(when: float) -> None:
            def status(index: int, target: Target) -> tuple[int, list[JSON]]:
                step = self._step(i, index)
                message = (
                    f"Baking for {wait} seconds (TerminationWaitInSeconds) with traffic enabled on "
                    f"{step.capacity} capacity of {step.instances} instance(s)."
                    if step.capacity
                    else None
                )
                return step.instances, [variant_status("Baking", when, message)]

            self._pending(when, status)

        self._at(at, activating)
        end = at + self.activate
        if self.bake:
            self._at(end, baking)
            end += self.bake
        if self.rollback_at == i + 1 and self.fault is not None and self.fault.alarm:
            alarm, reason = self.fault.alarm, self.fault.reason
            self._at((at + end) / 2, lambda when: self._trip_alarm(alarm, reason, when))
        self._at(end, lambda when: self._checkpoint(when, i))
        return end

    def _trip_alarm(self, name: str, reason: str, at: float) -> None:
        account, region = self.fleets.account_id, self.endpoint.region
        _cloudwatch.set_state(
            account, region, name, "ALARM", reason or _threshold_reason(account, region, name, at), at
        )

    def _alarms_in_alarm(self, at: float) -> list[str]:
        # Alarms on metrics someone published (PutMetricData) are evaluated on that data first.
        _cloudwatch.evaluate(self.fleets.account_id, self.endpoint.region, self.plan.alarms, at)
        found = _cloudwatch.states(self.fleets.account_id, self.endpoint.region, self.plan.alarms)
        # An alarm in ALARM since before the update: see Behaviour.alarm_in_alarm_at_start.
        counts_from = self.start if self.behaviour.alarm_in_alarm_at_start == "ignored" else float("-inf")
        return [name for name, (state, since) in found.items() if state == "ALARM" and counts_from <= since <= at]

    def _checkpoint(self, at: float, i: int) -> None:
        """The end of step ``i``'s bake: roll back if an alarm is in ALARM (or the fault says so)."""
        fired = self._alarms_in_alarm(at)
        if self.rollback_at != i + 1 and not fired:
            return
        self.endpoint.steps.clear()
        self._roll_back(at, i, fired)

    def _roll_back(self, at: float, i: int, fired: list[str]) -> None:
        endpoint = self.endpoint
        fault = self.fault
        failed = fault is not None and fault.kind == "rollback_failed" and self.rollback_at == i + 1
        # What the endpoint shows meanwhile: see Behaviour.status_during_update_rollback.
        self._settle(at, self.behaviour.status_during_update_rollback, None)
        for variant in endpoint.variants:
            variant.pop("VariantStatus", None)
        duration = self.timings.rollback
        moved = 0
        if self.plan.kind == "rolling":
            # Old capacity cleaned up so far comes back in batches of RollbackMaximumBatchSize (all at once by
            # default, RollingUpdatePolicy doc).
            moved = self._step(i - 1, 0).instances if i > 0 else 0
            batch = _deployment.rollback_batch(self.deployment, self.targets[0].count)
            duration *= max(1, math.ceil(moved / batch))
        reason: str | None = None
        if failed:
            assert fault is not None
            reason = fault.reason
        elif self.behaviour.failure_reason_after_alarm_rollback == "set":
            names = ", ".join(fired or ([fault.alarm] if fault is not None and fault.alarm else [])) or "an alarm"
            reason = f"Deployment rolled back: auto-rollback alarm {names} is in ALARM state."

        if failed and self.plan.kind == "rolling":
            # UpdateRollbackFailed: "Your endpoint is in service with a mix of the old and new endpoint
            # configurations" (DescribeEndpoint EndpointStatus doc).
            mix = self._mix(at, i)
            self._at(at + duration, lambda when: self._settle(when, "UpdateRollbackFailed", reason, variants=mix))
            return
        status = "UpdateRollbackFailed" if failed else "InService"
        restored = copy.deepcopy(self.old_variants)
        self._at(at + duration, lambda when: self._settle(when, status, reason, variants=restored))

    def _mix(self, at: float, i: int) -> list[JSON]:
        region = self.endpoint.region
        mixed = []
        for index, old in enumerate(copy.deepcopy(self.old_variants)):
            target = self.targets[min(index, len(self.targets) - 1)]
            new_running = self._step(i, index).instances
            cleaned = self._step(i - 1, index).instances if i > 0 else 0
            old_running = max(int(old.get("CurrentInstanceCount", 0)) - cleaned, 0)
            old["DeployedImages"] = old.get("DeployedImages", []) + self.fleets.images(
                region, target.spec, new_running, at
            )
            old["CurrentInstanceCount"] = old_running + new_running
            mixed.append(old)
        return mixed

    def _succeed(self, at: float) -> None:
        region = self.endpoint.region
        self.endpoint.config = self.new
        self.endpoint.serving_streams = self.new_streams
        self._settle(at, "InService", None, variants=[self.fleets.summary(region, t, self.start) for t in self.targets])

    def _schedule_blue_green(self) -> None:
        self._launching(self.start, [(t, t.count) for t in self.targets])
        t = self.start + self.launch
        if self._new_fleet_fails(t):
            return
        for i in range(self.step_count):
            t = self._traffic(t, i)
        self._at(t, self._succeed)

    def _schedule_rolling(self) -> None:
        t = self.start
        for i in range(self.step_count):
            batch_start = t
            running = [self._step(i - 1, index).instances if i else 0 for index in range(len(self.targets))]
            batches = [(target, self._step(i, index).added) for index, target in enumerate(self.targets)]
            if i == 0:
                self._launching(batch_start, batches, running)
            else:
                self._at(batch_start, functools.partial(self._next_batch, batches=batches, running=running, i=i))
            t = batch_start + self.launch
            if i == 0 and self._new_fleet_fails(t):
                return
            t = self._traffic(t, i)
        self._at(t, self._succeed)

    def _next_batch(self, at: float, batches: list[tuple[Target, int]], running: list[int], i: int) -> None:
        """The previous batch baked: that much of the old fleet terminates ("Terminating X instance(s).") while
        the next batch launches."""
        for index, variant in enumerate(self.endpoint.variants):
            cleaned = self._step(i - 1, index).instances
            old_total = (
                int(self.old_variants[index].get("CurrentInstanceCount", 0)) if index < len(self.old_variants) else 0
            )
            variant["CurrentInstanceCount"] = max(old_total - cleaned, 0)
            variant["VariantStatus"] = [
                variant_status("Deleting", at, f"Terminating {self._step(i - 1, index).added} instance(s).")
            ]
        self._launching(at, batches, running)


def _threshold_reason(account: str, region: str, name: str, at: float) -> str:
    alarm = cloudwatch_backends[account][region].alarms.get(name)
    threshold = float(getattr(alarm, "threshold", 1.0) or 0.0)
    words, delta = _COMPARISON_WORDS.get(getattr(alarm, "comparison_operator", ""), ("greater than", 1.0))
    stamp = time.strftime("%d/%m/%y %H:%M:00", time.gmtime(at))
    return (
        f"Threshold Crossed: 1 out of the last 1 datapoints [{threshold + delta} ({stamp})] was {words} the "
        f"threshold ({threshold}) (minimum 1 datapoint for OK -> ALARM transition)."
    )
