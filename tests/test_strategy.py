"""Deployment strategies on plain values: the strategy an update runs on a fleet, the step it uses, how many bakes
it waits and how the log names it, each with its exact result or refusal."""

from __future__ import annotations

import pytest

from sagemaker_async_deploy.errors import PlanError
from sagemaker_async_deploy.strategy import (
    Fitted,
    StepSize,
    describe,
    fallback_warning,
    fit,
    no_guardrails_for,
    percent_problem,
    steps,
)

ONE = StepSize(1, False)
QUARTER = StepSize(25, True)


def fresh(name: str) -> str:
    """``name`` as a new string object, as an input parsed at run time is: an identity test (``is``) where the
    code means equality shows."""
    return "".join(list(name))


@pytest.mark.parametrize("fleet", [None, 0, 1, 4])
def test_all_at_once_has_no_step_on_any_fleet(fleet: int | None) -> None:
    """All at once moves everything in one step: no step size, no warning, whatever the fleet."""
    assert fit("all-at-once", StepSize(3, False), fleet) == Fitted("all-at-once", None)


@pytest.mark.parametrize(
    ("strategy", "default"),
    [("canary", StepSize(1, False)), ("linear", StepSize(25, True)), ("rolling", StepSize(25, True))],
)
def test_without_a_step_each_strategy_takes_its_default(strategy: str, default: StepSize) -> None:
    """No step-size: the smallest canary (one instance), four linear steps, a quarter of the fleet a batch."""
    assert fit(strategy, None, None) == Fitted(strategy, default)
    assert fit(strategy, None, 4) == Fitted(strategy, default)


def test_an_unknown_fleet_keeps_the_step_given() -> None:
    """On create the fleet is not known yet: the step given is kept as it is, unchecked against a fleet."""
    assert fit("linear", StepSize(7, False), None) == Fitted("linear", StepSize(7, False))


@pytest.mark.parametrize(
    ("strategy", "fleet", "why"),
    [
        ("canary", 0, "is scaled to zero instances"),
        ("linear", 0, "is scaled to zero instances"),
        ("rolling", 0, "is scaled to zero instances"),
        ("canary", 1, "runs one instance"),
        ("linear", 1, "runs one instance"),
    ],
)
def test_a_fleet_that_cannot_be_split_shifts_all_at_once_with_a_warning(strategy: str, fleet: int, why: str) -> None:
    """Zero instances (any strategy) or one instance (canary, linear) fall back to all at once, and say why."""
    assert fit(strategy, ONE, fleet) == Fitted(
        "all-at-once",
        None,
        (f"The variant {why}, which cannot be split into {strategy} steps: this update shifts all at once.",),
    )


def test_rolling_on_one_instance_is_refused_with_the_ways_out() -> None:
    """Rolling was chosen to avoid a second fleet, which all at once on one instance needs: refused, naming the
    strategy input and both ways out."""
    with pytest.raises(PlanError) as refused:
        fit("rolling", ONE, 1)
    assert refused.value.input == "deployment-strategy"
    assert refused.value.message == (
        "rolling replaces at most half of the variant's instances at a time, and it runs one instance. "
        "Use deployment-strategy: all-at-once (SageMaker provisions a second instance for the update) or "
        "give initial-instance-count: 2 or more"
    )


@pytest.mark.parametrize(
    ("strategy", "step", "fleet"),
    [
        ("canary", ONE, 2),  # 50 %: the largest canary
        ("linear", StepSize(1, False), 10),  # 10 %: the smallest linear step
        ("linear", StepSize(50, True), 3),
        ("rolling", StepSize(1, False), 20),  # 5 %
        ("rolling", StepSize(2, False), 4),  # 50 %
    ],
)
def test_a_step_within_aws_limits_is_kept(strategy: str, step: StepSize, fleet: int) -> None:
    """A step inside AWS's share of the fleet (bounds included) is used as given, with no warning."""
    assert fit(strategy, step, fleet) == Fitted(strategy, step)


@pytest.mark.parametrize(
    ("strategy", "step", "fleet", "message"),
    [
        (
            "linear",
            StepSize(6, False),
            10,
            "6 instance(s) of 10 instances is 60%; linear steps must be 10%–50% of the variant's instance count "
            "(AWS's limit): with 10 instances, step-size 1 to 5",
        ),
        (
            "linear",
            StepSize(60, True),
            10,
            "60% of 10 instances is 60%; linear steps must be 10%–50% of the variant's instance count (AWS's "
            "limit): with 10 instances, step-size 1 to 5",
        ),
        (
            "canary",
            StepSize(2, False),
            3,
            "2 instance(s) of 3 instances is 67%; canary steps must be at most 50% of the variant's instance count "
            "(AWS's limit): with 3 instances, step-size 1 to 1",
        ),
        (
            "rolling",
            StepSize(1, False),
            21,
            "1 instance(s) of 21 instances is 5%; rolling steps must be 5%–50% of the variant's instance count "
            "(AWS's limit): with 21 instances, step-size 2 to 10",
        ),
    ],
)
def test_a_step_outside_aws_limits_is_refused_with_the_sizes_that_fit(
    strategy: str, step: StepSize, fleet: int, message: str
) -> None:
    """A step outside AWS's share of the fleet is refused on step-size, with the share it has and the range of
    instance counts that fit."""
    with pytest.raises(PlanError) as refused:
        fit(strategy, step, fleet)
    assert (refused.value.input, refused.value.message) == ("step-size", message)


@pytest.mark.parametrize("strategy", ["all-at-once", "canary", "linear", "rolling"])
def test_each_strategy_is_known_by_its_name_not_by_its_object(strategy: str) -> None:
    """The names are compared by value: a name read from the inputs behaves exactly as the literal."""
    step, fleet = StepSize(2, False), 10  # a canary: 2 bakes; 2 of 10 in steps: 5
    assert fit(fresh(strategy), step, fleet) == fit(strategy, step, fleet)
    if strategy != "rolling":  # rolling on one instance is refused: the next test
        assert fit(fresh(strategy), step, 1) == fit(strategy, step, 1)
    assert steps(fresh(strategy), step, fleet) == steps(strategy, step, fleet)
    assert describe(fresh(strategy), step, fleet) == describe(strategy, step, fleet)


def test_rolling_read_from_the_inputs_on_one_instance_is_refused() -> None:
    """A rolling name read at run time on one instance is refused like the literal, not fallen back from."""
    with pytest.raises(PlanError):
        fit(fresh("rolling"), ONE, 1)


def test_all_at_once_is_one_bake_and_named_so_even_with_a_step() -> None:
    """All at once ignores a step size it is given: one bake, and the log says all at once."""
    assert steps("all-at-once", QUARTER, 4) == 1
    assert describe("all-at-once", QUARTER, 4) == "blue/green, all at once"


def test_a_fleet_of_two_is_offered_the_one_step_that_fits() -> None:
    """On two instances a canary of two is refused with the one size that fits named."""
    with pytest.raises(PlanError) as refused:
        fit("canary", StepSize(2, False), 2)
    assert refused.value.message.endswith(": with 2 instances, step-size 1 to 1")


@pytest.mark.parametrize(
    ("strategy", "step", "fleet", "bakes"),
    [
        ("all-at-once", None, 4, 1),
        ("linear", None, 4, 1),  # no step: nothing split
        ("canary", ONE, 10, 2),  # the canary, then the rest
        ("canary", StepSize(50, True), 10, 2),
        ("linear", QUARTER, 4, 4),
        ("linear", StepSize(3, False), 10, 4),  # 30 %: ceil(3.33)
        ("linear", StepSize(1, False), 3, 3),
        ("rolling", StepSize(50, True), 8, 2),
        ("rolling", StepSize(1, False), 1, 1),
    ],
)
def test_an_update_waits_one_bake_per_step(strategy: str, step: StepSize | None, fleet: int, bakes: int) -> None:
    """One bake per traffic step or batch: a canary is always two, linear and rolling as many as their steps."""
    assert steps(strategy, step, fleet) == bakes


@pytest.mark.parametrize(
    ("strategy", "step", "fleet", "words"),
    [
        ("all-at-once", None, 4, "blue/green, all at once"),
        ("canary", None, 4, "blue/green, all at once"),
        ("canary", ONE, 4, "blue/green canary of 1 instance, then the rest"),
        ("canary", StepSize(2, False), 4, "blue/green canary of 2 instances, then the rest"),
        ("canary", StepSize(10, True), 20, "blue/green canary of 10% of 20 instances, then the rest"),
        ("linear", QUARTER, 4, "blue/green, linear steps of 25% of 4 instances"),
        ("linear", QUARTER, None, "blue/green, linear steps of 25%"),
        ("linear", QUARTER, 0, "blue/green, linear steps of 25%"),
        ("rolling", ONE, 4, "rolling, batches of 1 instance"),
        ("rolling", StepSize(3, False), 8, "rolling, batches of 3 instances"),
        ("rolling", StepSize(0, False), 8, "rolling, batches of 0 instances"),
    ],
)
def test_the_log_names_the_strategy_and_its_step(
    strategy: str, step: StepSize | None, fleet: int | None, words: str
) -> None:
    """The strategy in words: all at once, or the kind of step with its size (and the fleet, for a share)."""
    assert describe(strategy, step, fleet) == words


@pytest.mark.parametrize(
    ("strategy", "step", "problem"),
    [
        ("linear", StepSize(9, True), "9% is outside linear's 10%–50% of the variant's instance count"),
        ("linear", StepSize(10, True), ""),
        ("linear", StepSize(50, True), ""),
        ("linear", StepSize(51, True), "51% is outside linear's 10%–50% of the variant's instance count"),
        ("canary", StepSize(51, True), "51% is outside canary's at most 50% of the variant's instance count"),
        ("canary", StepSize(0, True), ""),
        ("rolling", StepSize(4, True), "4% is outside rolling's 5%–50% of the variant's instance count"),
        ("linear", StepSize(99, False), ""),  # a number of instances: checked once the fleet is known
        ("all-at-once", StepSize(100, True), ""),
        (
            "all-at-once",
            StepSize(101, True),
            "101% is outside all-at-once's at most 100% of the variant's instance count",
        ),
    ],
)
def test_a_step_in_percent_is_checked_before_the_fleet_is_known(strategy: str, step: StepSize, problem: str) -> None:
    """A share outside the strategy's limits is named with its range; instance counts wait for the fleet."""
    assert percent_problem(strategy, step) == problem


# --- without guardrails (Inf1, Marketplace) ------------------------------------------------------------------------

FALLBACK = (
    "SageMaker has no deployment guardrails for ml.inf1.xlarge: it falls back to blue/green, all traffic at once and "
    "no bake, so "
)
COST = "Each update runs a second fleet of {} beside the serving one, and nothing rolls back on an alarm."


@pytest.mark.parametrize(
    ("strategy", "step", "alarms", "fleet", "ignored", "fleet_words"),
    [
        ("canary", None, (), 2, "deployment-strategy (canary) is ignored.", "2 instance(s)"),
        (
            "linear",
            QUARTER,
            (),
            None,
            "deployment-strategy (linear), step-size (25%) are ignored.",
            "the variant's instances",
        ),
        ("all-at-once", ONE, ("errors",), 1, "alarms (1), bake-seconds (600) are ignored.", "1 instance(s)"),
        (
            "all-at-once",
            None,
            ("errors", "latency"),
            0,
            "alarms (2), bake-seconds (600) are ignored.",
            "the variant's instances",
        ),
    ],
)
def test_an_update_without_guardrails_names_each_input_it_ignores_and_the_fleet_it_costs(
    strategy: str, step: StepSize | None, alarms: tuple[str, ...], fleet: int | None, ignored: str, fleet_words: str
) -> None:
    """Every input SageMaker ignores when it falls back (the strategy and step unless all-at-once, the alarms and
    the bake when alarms are given) is named, in a sentence that agrees with their number, and so is the second
    fleet each update runs."""
    warning = fallback_warning("ml.inf1.xlarge", strategy, step, 600, alarms, fleet)
    assert warning == FALLBACK + ignored + " " + COST.format(fleet_words)


def test_a_rolling_update_without_guardrails_is_told_it_needs_a_second_fleet_here() -> None:
    """Rolling needs no second fleet anywhere else; the fallback says that here it does."""
    rolling = "".join(["roll", "ing"])  # as parsed from the input: equal to the literal, not the same object
    warning = fallback_warning("ml.inf1.xlarge", rolling, ONE, 600, (), 4)
    assert warning == (
        FALLBACK
        + "deployment-strategy (rolling), step-size (1) are ignored. "
        + COST.format("4 instance(s)")
        + " A rolling update needs no second fleet elsewhere; here it does."
    )


def test_only_inf1_instances_lose_the_guardrails() -> None:
    """Inf1 is named (AWS's exclusions list it); Inf2 and GPU instances keep blue/green guardrails."""
    assert no_guardrails_for("ml.inf1.xlarge") == "ml.inf1.xlarge (an Inf1 instance)"
    assert (no_guardrails_for("ml.inf2.xlarge"), no_guardrails_for("ml.g4dn.xlarge")) == ("", "")


def test_an_update_that_asks_for_nothing_guardrails_give_is_not_warned() -> None:
    """All at once, no alarms (a step given or not): nothing is ignored, nothing is said."""
    assert fallback_warning("ml.inf1.xlarge", "all-at-once", ONE, 600, (), 2) == ""
    assert fallback_warning("ml.inf1.xlarge", "all-at-once", None, 0, (), None) == ""
