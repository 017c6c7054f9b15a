"""What keeps the rollback alarms from guarding a rollout, on plain values as DescribeAlarms and DescribeModel
answer: each warning with its exact words, and the alarms and settings that get none."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagemaker_async_deploy import preflight
from sagemaker_async_deploy.diagnosis import AlarmWarning

from .factories import action_config

NO_GUARDRAILS = (
    "SageMaker has no deployment guardrails for {what}: it falls back to blue/green, all traffic at once and no "
    "bake, so alarms (1), bake-seconds (600) are ignored. Each update runs a second fleet of the variant's "
    "instances beside the serving one, and nothing rolls back on an alarm."
)


def guard_warnings(config: Any, alarms: list[dict[str, Any]], model: dict[str, Any] | None) -> list[AlarmWarning]:
    """preflight.guard_warnings on the answers as parsed from JSON: new string objects, so that an identity test
    (``is``) where the code means equality shows."""
    return preflight.guard_warnings(config, json.loads(json.dumps(alarms)), json.loads(json.dumps(model)))


def config(**inputs: str) -> Any:
    """A deploy of endpoint whisper, variant AllTraffic, guarded by alarm "guard" with a 600 s bake."""
    return action_config(**{"alarms": "guard", "bake_seconds": "600", **inputs})


def metric(name: str, namespace: str = "AWS/SageMaker", **dimensions: str) -> dict[str, Any]:
    return {
        "Namespace": namespace,
        "MetricName": name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
    }


def alarm(**members: Any) -> dict[str, Any]:
    """An OK alarm on the endpoint's 5xx errors, one minute, that counts missing data as breaching."""
    return {
        "AlarmName": "guard",
        "StateValue": "OK",
        "TreatMissingData": "breaching",
        "Period": 60,
        "EvaluationPeriods": 1,
        **metric("Invocation5XXErrors", EndpointName="whisper", VariantName="AllTraffic"),
        **members,
    }


def messages(alarms: list[dict[str, Any]], **inputs: str) -> list[str]:
    return [w.message for w in guard_warnings(config(**inputs), alarms, None)]


def test_an_alarm_that_can_guard_the_rollout_gets_no_warning() -> None:
    """Published for async endpoints, on this endpoint and variant, breaching without data, a window inside the
    bake: nothing to say."""
    assert guard_warnings(config(), [alarm()], None) == []


def test_an_alarm_in_alarm_already_is_expected_to_roll_back() -> None:
    """An alarm in ALARM as the rollout starts: the warning names the alarm and says to expect a rollback."""
    assert guard_warnings(config(), [alarm(StateValue="ALARM")], None) == [
        AlarmWarning(
            "guard",
            "it is in ALARM already. SageMaker rolls back a deployment when any of its alarms trips, whichever "
            "fleet tripped it, and an alarm that is in ALARM as the deployment starts is likely to count: expect "
            "this rollout to be rolled back unless the alarm returns to OK first.",
        )
    ]


def test_a_metric_sagemaker_does_not_publish_for_async_endpoints_never_fires() -> None:
    """Invocations is not published for asynchronous endpoints: the alarm never fires, and the warning offers
    the metrics that are."""
    assert messages([alarm(MetricName="Invocations")]) == [
        "it watches Invocations, which SageMaker does not publish for asynchronous endpoints, so it never fires. "
        "Watch Invocation5XXErrors, InvocationFailures or ModelLatency instead."
    ]


@pytest.mark.parametrize(
    ("namespace", "name"),
    [
        ("/aws/sagemaker/Endpoints", "CPUUtilization"),
        ("/aws/sagemaker/Endpoints", "ModelLatency"),  # sorts before AWS/SageMaker
        ("Custom/Whisper", "Invocations"),  # sorts after it
        ("Custom/Whisper", "ModelLatency"),
    ],
)
def test_a_metric_of_another_namespace_is_not_judged(namespace: str, name: str) -> None:
    """A metric outside AWS/SageMaker (the instances' own, a custom one) is neither unpublished nor traffic-driven,
    whatever its name."""
    assert messages([alarm(Namespace=namespace, MetricName=name, TreatMissingData="missing")]) == []


@pytest.mark.parametrize(
    ("dimensions", "warned"),
    [
        ({"EndpointName": "WHISPER", "VariantName": "AllTraffic"}, []),  # SageMaker's names are case-insensitive
        ({"EndpointName": "whisper"}, []),
        ({}, []),
        (
            {"EndpointName": "whisper-staging", "VariantName": "AllTraffic"},
            ["its EndpointName dimension is 'whisper-staging', not 'whisper': it watches another endpoint."],
        ),
        (
            {"EndpointName": "whisper", "VariantName": "Blue"},
            ["its VariantName dimension is 'Blue', not 'AllTraffic': it watches another variant."],
        ),
        (
            {"EndpointName": "whisper", "VariantName": "Aardvark"},
            ["its VariantName dimension is 'Aardvark', not 'AllTraffic': it watches another variant."],
        ),
        (
            {"EndpointName": "other", "VariantName": "Blue"},
            [
                "its EndpointName dimension is 'other', not 'whisper': it watches another endpoint.",
                "its VariantName dimension is 'Blue', not 'AllTraffic': it watches another variant.",
            ],
        ),
    ],
    ids=["case", "no-variant", "no-dimensions", "other-endpoint", "other-variant", "variant-sorting-first", "both"],
)
def test_an_alarm_on_another_endpoint_or_variant_is_named(dimensions: dict[str, str], warned: list[str]) -> None:
    """The endpoint name is compared case-insensitively, the variant exactly; a dimension not given is no problem."""
    assert messages([alarm(**metric("Invocation5XXErrors", **dimensions))]) == warned


@pytest.mark.parametrize(
    ("missing", "effect"),
    [
        ("notBreaching", "counts a period without data as good"),
        ("ignore", "keeps its state through periods without data"),
        ("missing", "goes to INSUFFICIENT_DATA, not ALARM, without data"),
        (None, "goes to INSUFFICIENT_DATA, not ALARM, without data"),
    ],
)
def test_a_traffic_driven_metric_that_does_not_breach_without_data_needs_requests(
    missing: str | None, effect: str
) -> None:
    """Without traffic a traffic-driven metric has no data; unless missing data breaches, the bake passes
    whatever the model does."""
    shown = missing or "missing"
    assert messages([alarm(TreatMissingData=missing)]) == [
        f"Invocation5XXErrors has data only when requests are handled, and the alarm {effect} (TreatMissingData "
        f"{shown}): a bake without traffic passes whatever the new model does. Send requests during the bake."
    ]


def test_a_gauge_published_without_traffic_needs_no_requests() -> None:
    """Backlog gauges have a data point every minute: TreatMissingData does not matter for them."""
    for gauge in ("ApproximateBacklogSize", "ApproximateBacklogSizePerInstance", "ApproximateAgeOfOldestRequest"):
        assert messages([alarm(MetricName=gauge, TreatMissingData="notBreaching")]) == []


@pytest.mark.parametrize(
    ("period", "evaluations", "bake", "warned"),
    [
        (60, 10, "600", False),  # exactly the bake: it can trip as the bake ends
        (60, 11, "600", True),
        (300, 3, "600", True),
        (300, 2, "600", False),
    ],
)
def test_an_alarm_slower_than_the_bake_cannot_trip_in_time(
    period: int, evaluations: int, bake: str, warned: bool
) -> None:
    """Period × EvaluationPeriods longer than bake-seconds: it cannot go to ALARM before the bake ends."""
    found = messages([alarm(Period=period, EvaluationPeriods=evaluations)], bake_seconds=bake)
    window = period * evaluations
    expected = (
        f"it needs {window}s of data (Period × EvaluationPeriods) to go to ALARM, longer than bake-seconds ({bake}): "
        f"it cannot trip before the bake ends. Raise bake-seconds to {window} or more."
    )
    assert found == ([expected] if warned else [])


def math_alarm(*queries: dict[str, Any], **members: Any) -> dict[str, Any]:
    """A metric-math alarm: an expression over ``queries``."""
    return {
        "AlarmName": "guard",
        "StateValue": "OK",
        "TreatMissingData": "breaching",
        "EvaluationPeriods": 2,
        "Metrics": [{"Id": "e", "Expression": "a + b", "ReturnData": True}, *queries],
        **members,
    }


def test_a_metric_math_alarm_is_read_metric_by_metric() -> None:
    """Each metric of the expression is checked for being published and for its endpoint and variant."""
    found = messages(
        [
            math_alarm(
                {"Id": "a", "MetricStat": {"Metric": metric("Invocation5XXErrors", VariantName="Blue"), "Period": 60}},
                {"Id": "b", "MetricStat": {"Metric": metric("Invocations", EndpointName="whisper"), "Period": 60}},
                {"Id": "c", "MetricStat": {"Metric": {}, "Period": 60}},
            )
        ]
    )
    assert found == [
        "it watches Invocations, which SageMaker does not publish for asynchronous endpoints, so it never fires. "
        "Watch Invocation5XXErrors, InvocationFailures or ModelLatency instead.",
        "its VariantName dimension is 'Blue', not 'AllTraffic': it watches another variant.",
    ]


def test_a_metric_math_alarm_window_is_its_longest_period() -> None:
    """The window of a metric-math alarm is its longest metric's period (not its first) times EvaluationPeriods;
    a period given on the query itself counts too."""
    found = messages(
        [
            math_alarm(
                {"Id": "a", "MetricStat": {"Metric": metric("Invocation5XXErrors"), "Period": 60}},
                {"Id": "b", "MetricStat": {"Metric": metric("ModelLatency")}, "Period": 400},
            )
        ]
    )
    assert found == [
        "it needs 800s of data (Period × EvaluationPeriods) to go to ALARM, longer than bake-seconds (600): it "
        "cannot trip before the bake ends. Raise bake-seconds to 800 or more."
    ]


def test_two_traffic_driven_metrics_are_named_by_the_first() -> None:
    """A metric-math alarm over two traffic-driven metrics names the first of them in its one warning."""
    found = messages(
        [
            math_alarm(
                {"Id": "a", "MetricStat": {"Metric": metric("Invocation5XXErrors"), "Period": 60}},
                {"Id": "b", "MetricStat": {"Metric": metric("ModelLatency"), "Period": 60}},
                TreatMissingData="missing",
            )
        ]
    )
    assert [m.split(" has data")[0] for m in found] == ["Invocation5XXErrors"]


@pytest.mark.parametrize(
    "watched",
    [
        alarm(EvaluationPeriods=None, Period=600),  # no EvaluationPeriods: no window
        math_alarm({"Id": "a", "MetricStat": {"Metric": metric("Invocation5XXErrors")}}),  # no period anywhere
        {"AlarmName": "guard", "AlarmRule": "ALARM(a)", "StateValue": "OK"},  # composite: no metric
    ],
    ids=["no-evaluation-periods", "no-period", "composite"],
)
def test_an_alarm_without_a_known_window_is_not_said_too_slow(watched: dict[str, Any]) -> None:
    """Without a period, evaluation periods or metric the window is unknown: no warning, even for a bake of 0
    or 300 s."""
    assert messages([watched], bake_seconds="0") == []
    assert messages([watched], bake_seconds="300") == []


def test_a_composite_alarm_has_no_window_and_only_its_state_is_checked() -> None:
    """A composite alarm (AlarmRule, no metric) gets no metric or window warning, whatever its periods say."""
    composite = {
        "AlarmName": "guard",
        "AlarmRule": "ALARM(a)",
        "StateValue": "OK",
        "EvaluationPeriods": 99,
        "Period": 99,
    }
    assert messages([composite]) == []


def test_warnings_come_per_alarm_in_order_each_under_its_name() -> None:
    """Each alarm's warnings carry its name, alarms in the order DescribeAlarms gave them."""
    first = alarm(AlarmName="a", StateValue="ALARM")
    second = alarm(AlarmName="b", MetricName="Invocations")
    assert [w.alarm for w in guard_warnings(config(alarms="a,b"), [first, second], None)] == ["a", "b"]


def test_an_inf1_instance_is_left_to_the_planner() -> None:
    """The planner warns of Inf1's fallback without a call (test_planner); the alarms' own warnings stay here, and
    say nothing of guardrails a second time."""
    warnings = guard_warnings(config(instance_type="ml.inf1.xlarge"), [alarm(StateValue="ALARM")], None)
    assert [w.alarm for w in warnings] == ["guard"]
    assert guard_warnings(config(instance_type="ml.inf2.xlarge"), [], None) == []


ARN = "arn:aws:sagemaker:us-east-1:123456789012:model/vendor-model"
SELLERS = "arn:aws:sagemaker:us-east-1:865070037744:model-package/vendor-asr-1-0a1b2c"


@pytest.mark.parametrize(
    ("model", "warned"),
    [
        ({"ModelArn": ARN, "PrimaryContainer": {"ModelPackageName": SELLERS}}, True),
        ({"ModelArn": ARN, "Containers": [{"ModelPackageName": SELLERS}]}, True),
        (
            {
                "ModelArn": ARN,
                "PrimaryContainer": {"ModelPackageName": SELLERS.replace("865070037744", "123456789012")},
            },
            False,
        ),
        ({"ModelArn": ARN, "PrimaryContainer": {"ModelPackageName": "vendor-asr"}}, False),  # a name: this account's
        ({"ModelArn": ARN, "PrimaryContainer": {"Image": "repo@sha256:" + "a" * 64}}, False),
        ({"ModelArn": "model/vendor-model", "PrimaryContainer": {"ModelPackageName": SELLERS}}, False),
        ({"ModelArn": ARN, "PrimaryContainer": {"ModelPackageName": "x:y:z:w:865070037744"}}, False),
        (
            {
                "ModelArn": ARN,
                "PrimaryContainer": {"ModelPackageName": SELLERS.replace("865070037744", "012345678901")},
            },
            True,
        ),
        ({"ModelArn": ARN, "PrimaryContainer": {"ModelPackageName": "arn:aws:sagemaker:us-east-1:865070037744"}}, True),
        ({"ModelArn": ARN, "PrimaryContainer": {"ModelPackageName": "arn:aws:sagemaker:us-east-1"}}, False),
        ({"ModelArn": ARN, "PrimaryContainer": {"ModelPackageName": "arn:aws:sagemaker"}}, False),
        (
            {"ModelArn": "arn:aws:sagemaker:us-east-1:123456789012", "PrimaryContainer": {"ModelPackageName": SELLERS}},
            True,
        ),
        ({"ModelArn": "arn:aws:sagemaker:us-east-1", "PrimaryContainer": {"ModelPackageName": SELLERS}}, False),
    ],
    ids=[
        "sellers",
        "containers",
        "own",
        "by-name",
        "image",
        "no-arn",
        "not-an-arn",
        "seller-number-lower",
        "package-five-parts",
        "package-four-parts",
        "package-three-parts",
        "own-five-parts",
        "own-four-parts",
    ],
)
def test_a_model_package_of_another_account_has_no_guardrails(model: dict[str, Any], warned: bool) -> None:
    """A model running a package of another account (a subscribed Marketplace model) gets the warning; a package
    of its own account, by name, or a plain image does not."""
    found = guard_warnings(config(model_name="vendor-model", execution_role_arn=""), [], model)
    what = "vendor-model, a model package of another account as AWS Marketplace models are"
    assert found == ([AlarmWarning("", NO_GUARDRAILS.format(what=what))] if warned else [])


def test_a_marketplace_models_warning_names_the_strategy_it_ignores() -> None:
    """A rolling update of a Marketplace model is still all at once: the warning names the strategy asked for."""
    model = {"ModelArn": ARN, "PrimaryContainer": {"ModelPackageName": SELLERS}}
    rolling = config(model_name="vendor-model", execution_role_arn="", deployment_strategy="rolling")
    (warning,) = guard_warnings(rolling, [], model)
    assert "deployment-strategy (rolling), alarms (1), bake-seconds (600) are ignored" in warning.message
    assert "A rolling update needs no second fleet elsewhere; here it does." in warning.message
