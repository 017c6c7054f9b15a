"""Deployment strategies: how SageMaker moves traffic to the new fleet, and the limits AWS sets on each.

Blue/green (all at once, canary, linear) provisions a whole second fleet for the update; rolling replaces
the fleet in batches and needs no second fleet, which is why AWS's guide suggests it for "accelerated
instances that are in high demand" (developer guide, deployment guardrails, rolling deployments). Each step
is followed by the bake (WaitIntervalInSeconds), during which the alarms can roll the update back.

The limits are AWS's (UpdateEndpoint API reference: CanarySize "must be less than or equal to 50% of the
variant's total instance count", LinearStepSize "10-50%", rolling MaximumBatchSize "between 5% to 50%"),
checked against the instance count the update will have, before anything is written.

Steps are counted in whole instances, as SageMaker takes them: a percentage of the fleet rounds up to at least one
instance (AWS's rolling deployment example notebook, "33% * 3 = 1 instance"), so 25 % of 2 instances is one
instance a step and two steps, not four. The bakes an update waits are counted that way too.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._checks import StepSize
from .errors import PlanError
from .fields import STEP_SIZE, STRATEGY

# Defaults of step-size, per strategy: the smallest canary; four linear steps; a quarter of the fleet a batch.
DEFAULT_STEP = {"canary": StepSize(1, False), "linear": StepSize(25, True), "rolling": StepSize(25, True)}
# The share of the variant's instance count one step may move: (at least, at most).
LIMITS = {"canary": (0.0, 0.5), "linear": (0.1, 0.5), "rolling": (0.05, 0.5)}
# RollingUpdatePolicy.MaximumExecutionTimeoutInSeconds (botocore's service model: 600–28800).
ROLLING_TIMEOUT_RANGE = (600, 28800)


@dataclass(frozen=True)
class Fitted:
    """The strategy an update uses on a fleet, and what the user should know about it."""

    strategy: str
    step: StepSize | None
    warnings: tuple[str, ...] = ()


def percent_problem(strategy: str, step: StepSize) -> str:
    """What is wrong with a step given in percent for the strategy ("" when nothing), without the fleet."""
    low, high = LIMITS.get(strategy, (0.0, 1.0))
    # equivalent mutant core/NumberReplacer: step values are whole numbers, and none lies between low × 99 and
    # low × 100 for the lows of 5 % and 10 %
    if step.percent and not low * 100 <= step.value <= high * 100:
        return f"{step} is outside {strategy}'s {_range(low, high)} of the variant's instance count"
    return ""


def fit(strategy: str, step: StepSize | None, fleet: int | None) -> Fitted:
    """The strategy as it can run on ``fleet`` instances (None: unknown, as on create).

    A fleet of one instance, or none (scaled to zero), cannot be split into steps. Canary and linear then
    fall back to all at once, which needs the same capacity (a second fleet either way), as SageMaker itself
    falls back where it cannot shift traffic in steps (developer guide, deployment guardrails exclusions:
    Inf1 and Marketplace containers). Rolling on one instance is refused: it was chosen to avoid a second
    fleet, which all at once needs. At zero instances nothing serves, so all at once costs nothing.
    """
    # equivalent mutant core/ReplaceComparisonOperator_Eq_LtE: the strategy is one of the four names
    # deployment-strategy accepts, and none sorts before all-at-once
    if strategy == "all-at-once":
        return Fitted(strategy, None)
    chosen = step or DEFAULT_STEP[strategy]
    if fleet is None:
        return Fitted(strategy, chosen)
    # equivalent mutant core/ReplaceComparisonOperator_Eq_LtE: an instance count is never negative, and 0 is taken
    # by the first test
    # equivalent mutant core/ReplaceComparisonOperator_NotEq_Lt: of the names left (canary, linear, rolling) all
    # but rolling sort before rolling
    if fleet == 0 or (fleet == 1 and strategy != "rolling"):
        # equivalent mutant core/ReplaceComparisonOperator_Eq_LtE: an instance count is never negative
        why = "is scaled to zero instances" if fleet == 0 else "runs one instance"
        return Fitted(
            "all-at-once",
            None,
            (f"The variant {why}, which cannot be split into {strategy} steps: this update shifts all at once.",),
        )
    # equivalent mutant core/ReplaceComparisonOperator_Eq_LtE: a fleet of 0 returned above
    if fleet == 1:
        raise PlanError(
            STRATEGY.input,
            "rolling replaces at most half of the variant's instances at a time, and it runs one instance. "
            "Use deployment-strategy: all-at-once (SageMaker provisions a second instance for the update) or "
            "give initial-instance-count: 2 or more",
        )
    low, high = LIMITS[strategy]
    share = chosen.share(fleet)
    if not low <= share <= high:
        raise PlanError(
            STEP_SIZE.input,
            f"{chosen} {'' if chosen.percent else 'instance(s) '}of {fleet} instances is {share:.0%}; "
            f"{strategy} steps must be {_range(low, high)} of the variant's instance count "
            f"(AWS's limit){_suggest(strategy, fleet)}",
        )
    return Fitted(strategy, chosen)


def steps(strategy: str, step: StepSize | None, fleet: int) -> int:
    """How many bakes an update waits: one per traffic step or batch."""
    # equivalent mutant core/ReplaceComparisonOperator_Eq_LtE: the strategy is one of the four names
    # deployment-strategy accepts, and none sorts before all-at-once
    if strategy == "all-at-once" or step is None:
        return 1
    # equivalent mutant core/ReplaceComparisonOperator_Eq_LtE: all-at-once returned above; linear and rolling sort
    # after canary
    if strategy == "canary":
        return 2  # the canary, then the rest
    return step.steps(fleet)


def describe(strategy: str, step: StepSize | None, fleet: int | None) -> str:
    """In words, for the log: "canary of 1 instance, then the rest"."""
    # equivalent mutant core/ReplaceComparisonOperator_Eq_LtE: the strategy is one of the four names
    # deployment-strategy accepts, and none sorts before all-at-once
    if strategy == "all-at-once" or step is None:
        return "blue/green, all at once"
    of = f" of {fleet} instances" if fleet else ""
    size = f"{step}{of}" if step.percent else f"{step} instance{'s' if step.value != 1 else ''}"
    # equivalent mutant core/ReplaceComparisonOperator_Eq_LtE: all-at-once returned above; linear and rolling sort
    # after canary
    if strategy == "canary":
        return f"blue/green canary of {size}, then the rest"
    # equivalent mutant core/ReplaceComparisonOperator_Eq_LtE: rolling, the one name left, sorts after linear
    if strategy == "linear":
        return f"blue/green, linear steps of {size}"
    return f"rolling, batches of {size}"


def no_guardrails_for(instance_type: str) -> str:
    """What of the variant leaves an update without deployment guardrails, in words ("" when nothing does).

    Developer guide, "deployment-guardrails-exclusions": endpoints on Inf1 instances (and Marketplace containers,
    which preflight reads from the model) "fall back to using a blue/green deployment with all at once traffic
    shifting and no final baking period" — rolling included, whatever the update asks for.
    """
    return f"{instance_type} (an Inf1 instance)" if instance_type.startswith("ml.inf1.") else ""


def fallback_warning(
    what: str, strategy: str, step: StepSize | None, bake_seconds: int, alarms: tuple[str, ...], fleet: int | None
) -> str:
    """The warning for an update SageMaker runs without guardrails on ``what``: which inputs it ignores, and what
    it costs instead ("" when the inputs ask for nothing it ignores)."""
    ignored: list[str] = []
    # equivalent mutant core/ReplaceComparisonOperator_NotEq_Gt: all-at-once sorts before the other strategies
    if strategy != "all-at-once":
        ignored.append(f"deployment-strategy ({strategy})")
        if step is not None:
            ignored.append(f"step-size ({step})")
    if alarms:
        ignored += [f"alarms ({len(alarms)})", f"bake-seconds ({bake_seconds})"]
    if not ignored:
        return ""
    fleet_words = f"{fleet} instance(s)" if fleet else "the variant's instances"
    # equivalent mutant core/ReplaceComparisonOperator_Eq_GtE: rolling sorts after the other strategies
    rolling = " A rolling update needs no second fleet elsewhere; here it does." if strategy == "rolling" else ""
    return (
        f"SageMaker has no deployment guardrails for {what}: it falls back to blue/green, all traffic at once and "
        # equivalent mutant core/ReplaceComparisonOperator_Eq_LtE: nothing ignored returned above, so len is >= 1
        f"no bake, so {', '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} ignored. Each update runs a second "
        f"fleet of {fleet_words} beside the serving one, and nothing rolls back on an alarm.{rolling}"
    )


def _range(low: float, high: float) -> str:
    return f"at most {high:.0%}" if not low else f"{low:.0%}–{high:.0%}"


def _suggest(strategy: str, fleet: int) -> str:
    low, high = LIMITS[strategy]
    # equivalent mutants core/ReplaceBinaryOperator_Add_Mul, ReplaceBinaryOperator_Add_FloorDiv,
    # ReplaceBinaryOperator_Add_Pow, ReplaceBinaryOperator_Add_LShift, ReplaceBinaryOperator_Add_BitOr,
    # ReplaceBinaryOperator_Add_BitXor, NumberReplacer: a step of the whole fleet or more (n / fleet >= 1) never fits
    # under the 50 % every strategy allows at most, so any end from fleet on lists the same steps (fleet - 1 does not,
    # on a fleet of two)
    fits = [n for n in range(1, fleet + 1) if low <= n / fleet <= high]
    return f": with {fleet} instances, step-size {fits[0]} to {fits[-1]}" if fits else ""
