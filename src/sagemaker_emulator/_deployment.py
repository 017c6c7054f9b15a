"""Deployment guardrails: which steps an update takes, and the limits SageMaker documents for them. Pure.

Sources (developer guide, deployment-guardrails-*.md; botocore's model for DeploymentConfig):
- No update policy: "SageMaker uses a blue/green deployment strategy with all at once traffic shifting by default"
  (BlueGreenUpdatePolicy doc). Blue/green provisions the whole new fleet first, then shifts traffic: all at once in
  one step; canary in two (the canary, then the rest); linear in steps of LinearStepSize until the old fleet is
  fully deactivated. Each step has a baking period of WaitIntervalInSeconds.
- Rolling (RollingUpdatePolicy): per batch of MaximumBatchSize, provision new capacity, turn traffic on, bake,
  terminate that much of the old fleet. Rollback restores the old fleet in batches of RollbackMaximumBatchSize,
  by default "100% of total capacity … bring up the whole capacity of the old fleet at once".
- Endpoints on Inf1 instances (and Marketplace containers, Elastic Inference) "fall back to using a blue/green
  deployment with all at once traffic shifting and no final baking period" (deployment-guardrails-exclusions.md).
- CAPACITY_PERCENT rounds up to whole instances: the rolling example notebook uses 33 % of 3 instances with the
  comment "33% * 3 = 1 instance".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

JSON = dict[str, Any]
Capacity = Literal["canary", "full"] | None


@dataclass(frozen=True)
class Step:
    """One traffic step (blue/green) or rolling batch of one variant."""

    instances: int  # instances of the new fleet taking traffic once this step is done
    added: int  # instances this step adds (a rolling batch launches them)
    capacity: Capacity  # how SageMaker's StatusMessage names the capacity ("canary", "full"), when it does


@dataclass(frozen=True)
class Strategy:
    kind: Literal["blue_green", "rolling"]
    routing: str  # ALL_AT_ONCE, CANARY, LINEAR, or ROLLING
    wait_seconds: int  # WaitIntervalInSeconds: the bake after each step (0: no bake)
    alarms: tuple[str, ...]

    def steps(self, count: int, config: JSON | None) -> tuple[Step, ...]:
        """The steps for a variant whose new fleet has ``count`` instances."""
        if count <= 0:
            return (Step(0, 0, "full"),)
        if self.kind == "rolling":
            policy = (config or {}).get("RollingUpdatePolicy", {})
            return _ladder(count, instances(policy.get("MaximumBatchSize"), count), last_capacity="full")
        routing = ((config or {}).get("BlueGreenUpdatePolicy") or {}).get("TrafficRoutingConfiguration") or {}
        if self.routing == "CANARY":
            canary = min(instances(routing.get("CanarySize"), count), count)
            if canary >= count:
                return (Step(count, count, "full"),)
            return (Step(canary, canary, "canary"), Step(count, count - canary, "full"))
        if self.routing == "LINEAR":
            return _ladder(count, instances(routing.get("LinearStepSize"), count), last_capacity="full")
        return (Step(count, count, "full"),)


def instances(size: JSON | None, count: int) -> int:
    """A CapacitySize in instances of a fleet of ``count`` (at least one)."""
    if not size:
        return count
    value = int(size.get("Value", 0))
    if size.get("Type") == "CAPACITY_PERCENT":
        return max(1, math.ceil(count * value / 100))
    return max(1, value)


def _ladder(count: int, step: int, last_capacity: Capacity) -> tuple[Step, ...]:
    steps: list[Step] = []
    done = 0
    while done < count:
        added = min(step, count - done)
        done += added
        steps.append(Step(done, added, last_capacity if done == count else None))
    return tuple(steps)


def strategy(config: JSON | None, *, guardrails_supported: bool = True) -> Strategy:
    """What an update with this DeploymentConfig does."""
    config = config or {}
    alarms = tuple(
        str(a.get("AlarmName", "")) for a in (config.get("AutoRollbackConfiguration") or {}).get("Alarms", [])
    )
    if not guardrails_supported:
        return Strategy("blue_green", "ALL_AT_ONCE", 0, alarms)
    rolling = config.get("RollingUpdatePolicy")
    if rolling:
        return Strategy("rolling", "ROLLING", int(rolling.get("WaitIntervalInSeconds", 0)), alarms)
    routing = (config.get("BlueGreenUpdatePolicy") or {}).get("TrafficRoutingConfiguration") or {}
    return Strategy(
        "blue_green", str(routing.get("Type", "ALL_AT_ONCE")), int(routing.get("WaitIntervalInSeconds", 0)), alarms
    )


def rollback_batch(config: JSON | None, count: int) -> int:
    """Instances a rolling rollback restores per batch for a fleet of ``count`` (``count``: all at once)."""
    rollback = ((config or {}).get("RollingUpdatePolicy") or {}).get("RollbackMaximumBatchSize")
    if not rollback:
        return max(count, 1)
    return min(instances(rollback, count), max(count, 1))


def limits_message(config: JSON | None, counts: dict[str, int]) -> str | None:
    """The refusal of a DeploymentConfig that breaks a documented limit, or None.

    The wording is the emulator's: AWS's own message for these has not been seen. ``counts`` are the instance
    counts each variant's new fleet will have (what the percentages are "of the variant's total instance count").
    """
    if not config:
        return None
    blue_green, rolling = config.get("BlueGreenUpdatePolicy"), config.get("RollingUpdatePolicy")
    if blue_green and rolling:
        # BlueGreenUpdatePolicy doc: "Only one update policy should be used in the deployment configuration."
        return (
            "DeploymentConfig can use only one update policy: BlueGreenUpdatePolicy or RollingUpdatePolicy, not both."
        )
    if blue_green:
        routing = blue_green.get("TrafficRoutingConfiguration") or {}
        kind = routing.get("Type")
        for member, wanted in (("CanarySize", "CANARY"), ("LinearStepSize", "LINEAR")):
            if kind == wanted and not routing.get(member):
                return f"TrafficRoutingConfiguration of Type {wanted} needs {member}."
            if kind != wanted and routing.get(member):
                return f"TrafficRoutingConfiguration {member} is only for Type {wanted}, not {kind}."
        if kind == "CANARY":
            # TrafficRoutingConfig doc: "Value must be less than or equal to 50% of the variant's total instance count."
            return _out_of_range("CanarySize", routing["CanarySize"], counts, 0, 50)
        if kind == "LINEAR":
            # TrafficRoutingConfig doc: "Value must be 10-50% of the variant's total instance count."
            return _out_of_range("LinearStepSize", routing["LinearStepSize"], counts, 10, 50)
    if rolling:
        # RollingUpdatePolicy doc: "Value must be between 5% to 50% of the variant's total instance count."
        return _out_of_range("MaximumBatchSize", rolling.get("MaximumBatchSize") or {}, counts, 5, 50)
    return None


def _out_of_range(member: str, size: JSON, counts: dict[str, int], low: int, high: int) -> str | None:
    value = int(size.get("Value", 0))
    for variant, count in counts.items():
        if size.get("Type") == "CAPACITY_PERCENT":
            percent = float(value)
        else:
            percent = math.inf if count <= 0 else 100.0 * value / count
        if not low <= percent <= high:
            shown = f"{value}%" if size.get("Type") == "CAPACITY_PERCENT" else f"{value} instance(s)"
            bounds = f"at most {high}%" if low == 0 else f"between {low}% and {high}%"
            return (
                f"{member} {shown} must be {bounds} of the variant's total instance count "
                f"({count} for variant {variant})."
            )
    return None
