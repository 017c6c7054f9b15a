"""Deployment guardrails step by step: what DescribeEndpoint shows in each phase of each strategy.

The endpoint is held right after UpdateEndpoint and stepped through its phases, so every phase is observed
however loaded the machine is.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_emulator import Behaviour, Emulator
from tests.conftest import FAST_TIMINGS, boto_client

from ..seed import seed_alarm
from ._setup import config, in_service_endpoint, model, rolling_back, wait_for

Row = tuple[str, list[int], list[tuple[int, int, str, str]]]


def row(described: dict[str, Any]) -> Row:
    """(status, serving instance counts, pending (current, desired, VariantStatus, StatusMessage) per variant)."""
    live = [v.get("CurrentInstanceCount", 0) for v in described.get("ProductionVariants", [])]
    pending = [
        (
            v["CurrentInstanceCount"],
            v["DesiredInstanceCount"],
            v["VariantStatus"][0]["Status"],
            v["VariantStatus"][0].get("StatusMessage", ""),
        )
        for v in (described.get("PendingDeploymentSummary") or {}).get("ProductionVariants", [])
    ]
    return described["EndpointStatus"], live, pending


def phases(emulator: Emulator, sm: Any, update: dict[str, Any]) -> tuple[list[Row], list[dict[str, Any]]]:
    """UpdateEndpoint, held, stepped phase by phase; the distinct rows in order, and every description."""
    emulator.faults.hold_next_update("ep")
    sm.update_endpoint(EndpointName="ep", **update)
    described = [sm.describe_endpoint(EndpointName="ep")]
    while emulator.faults.step("ep"):
        described.append(sm.describe_endpoint(EndpointName="ep"))
    emulator.faults.release("ep")
    rows: list[Row] = []
    for d in described:
        if not rows or rows[-1] != row(d):
            rows.append(row(d))
    return rows, described


def endpoint_with(sm: Any, count: int, *, instance_type: str = "ml.g5.xlarge") -> None:
    in_service_endpoint(sm, count=count, instance_type=instance_type)
    model(sm, "model-2", "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:v2")
    config(sm, "config-2", "model-2", count=count, instance_type=instance_type)


def blue_green(kind: str, wait: int = 300, **sizes: Any) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": kind, "WaitIntervalInSeconds": wait, **sizes}}
    }


def rolling(batch: dict[str, Any], rollback: dict[str, Any] | None = None) -> dict[str, Any]:
    policy: dict[str, Any] = {"MaximumBatchSize": batch, "WaitIntervalInSeconds": 120}
    if rollback:
        policy["RollbackMaximumBatchSize"] = rollback
    return {"RollingUpdatePolicy": policy}


def with_alarm(deployment: dict[str, Any], alarm: str = "errors") -> dict[str, Any]:
    return {**deployment, "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm}]}}


def test_all_at_once_goes_creating_activating_baking(emulator: Emulator) -> None:
    """All at once: the whole new fleet launches, takes all traffic, bakes; the old fleet's counts never move."""
    sm = boto_client(emulator, "sagemaker")
    endpoint_with(sm, 2)
    rows, described = phases(
        emulator, sm, {"EndpointConfigName": "config-2", "DeploymentConfig": blue_green("ALL_AT_ONCE")}
    )
    assert rows == [
        ("Updating", [2], [(0, 2, "Creating", "Launching 2 instance(s).")]),
        ("Updating", [2], [(2, 2, "ActivatingTraffic", "Activating traffic on full capacity of 2 instance(s).")]),
        (
            "Updating",
            [2],
            [
                (
                    2,
                    2,
                    "Baking",
                    "Baking for 300 seconds (TerminationWaitInSeconds) "
                    "with traffic enabled on full capacity of 2 instance(s).",
                )
            ],
        ),
        ("InService", [2], []),
    ]
    starts = [
        d["PendingDeploymentSummary"]["ProductionVariants"][0]["VariantStatus"][0]["StartTime"] for d in described[:-1]
    ]
    assert starts == sorted(starts) and len(set(starts)) == 3
    pending = described[0]["PendingDeploymentSummary"]
    assert pending["EndpointConfigName"] == "config-2"
    assert pending["StartTime"] == described[0]["LastModifiedTime"]
    assert described[-1]["EndpointConfigName"] == "config-2"


def test_no_wait_interval_means_no_bake(emulator: Emulator) -> None:
    """Without a DeploymentConfig SageMaker shifts all traffic at once and has nothing to bake."""
    sm = boto_client(emulator, "sagemaker")
    endpoint_with(sm, 1)
    rows, _ = phases(emulator, sm, {"EndpointConfigName": "config-2"})
    assert [r[2][0][2] if r[2] else r[0] for r in rows] == ["Creating", "ActivatingTraffic", "InService"]


def test_canary_then_the_rest(emulator: Emulator) -> None:
    """Canary: the canary takes traffic and bakes, then the rest, with SageMaker's documented messages."""
    sm = boto_client(emulator, "sagemaker")
    endpoint_with(sm, 4)
    canary = blue_green("CANARY", 600, CanarySize={"Type": "INSTANCE_COUNT", "Value": 1})
    rows, _ = phases(emulator, sm, {"EndpointConfigName": "config-2", "DeploymentConfig": canary})
    assert rows == [
        ("Updating", [4], [(0, 4, "Creating", "Launching 4 instance(s).")]),
        ("Updating", [4], [(1, 4, "ActivatingTraffic", "Activating traffic on canary capacity of 1 instance(s).")]),
        (
            "Updating",
            [4],
            [
                (
                    1,
                    4,
                    "Baking",
                    "Baking for 600 seconds (TerminationWaitInSeconds) "
                    "with traffic enabled on canary capacity of 1 instance(s).",
                )
            ],
        ),
        ("Updating", [4], [(4, 4, "ActivatingTraffic", "Activating traffic on full capacity of 4 instance(s).")]),
        (
            "Updating",
            [4],
            [
                (
                    4,
                    4,
                    "Baking",
                    "Baking for 600 seconds (TerminationWaitInSeconds) "
                    "with traffic enabled on full capacity of 4 instance(s).",
                )
            ],
        ),
        ("InService", [4], []),
    ]


def test_linear_steps_of_a_quarter(emulator: Emulator) -> None:
    """Linear 25 % of 4 instances: four steps of one instance each, a bake after each."""
    sm = boto_client(emulator, "sagemaker")
    endpoint_with(sm, 4)
    linear = blue_green("LINEAR", 60, LinearStepSize={"Type": "CAPACITY_PERCENT", "Value": 25})
    rows, _ = phases(emulator, sm, {"EndpointConfigName": "config-2", "DeploymentConfig": linear})
    traffic = [(p[0][0], p[0][2]) for status, _, p in rows if p and p[0][2] != "Creating"]
    assert traffic == [(n, phase) for n in (1, 2, 3, 4) for phase in ("ActivatingTraffic", "Baking")]
    assert rows[-2][2][0][3].endswith("on full capacity of 4 instance(s).")
    assert rows[1][2][0][3] == ""  # steps between the first and the last have no documented message


def test_rolling_batches_shrink_the_old_fleet(emulator: Emulator) -> None:
    """Rolling by one instance of three: each batch launches, takes traffic, bakes; then one old instance goes."""
    sm = boto_client(emulator, "sagemaker")
    endpoint_with(sm, 3)
    rows, described = phases(
        emulator,
        sm,
        {"EndpointConfigName": "config-2", "DeploymentConfig": rolling({"Type": "INSTANCE_COUNT", "Value": 1})},
    )
    assert [(r[1], [(p[0], p[2]) for p in r[2]]) for r in rows] == [
        ([3], [(0, "Creating")]),
        ([3], [(1, "ActivatingTraffic")]),
        ([3], [(1, "Baking")]),
        ([2], [(1, "Creating")]),
        ([2], [(2, "ActivatingTraffic")]),
        ([2], [(2, "Baking")]),
        ([1], [(2, "Creating")]),
        ([1], [(3, "ActivatingTraffic")]),
        ([1], [(3, "Baking")]),
        ([3], []),
    ]
    deleting = [
        d["ProductionVariants"][0]["VariantStatus"][0]
        for d in described
        if d["ProductionVariants"][0].get("VariantStatus")
    ]
    assert {s["StatusMessage"] for s in deleting} == {"Terminating 1 instance(s)."}
    assert {s["Status"] for s in deleting} == {"Deleting"}


def test_canary_rolled_back_at_its_second_step_by_a_named_alarm(either_rollback_status: Emulator) -> None:
    """rollback_next_update(alarm, reason, at_step=2): the alarm goes to ALARM during the final bake, with its
    reason in DescribeAlarms and DescribeAlarmHistory, then SageMaker rolls back to the old config."""
    emulator = either_rollback_status
    status = emulator.behaviour.status_during_update_rollback
    sm = boto_client(emulator, "sagemaker")
    cloudwatch = boto_client(emulator, "cloudwatch")
    seed_alarm(emulator, "errors")
    endpoint_with(sm, 4)
    before = sm.describe_endpoint(EndpointName="ep")
    emulator.faults.rollback_next_update("ep", alarm="errors", reason="5XX errors on the new fleet", at_step=2)
    canary = with_alarm(blue_green("CANARY", 600, CanarySize={"Type": "CAPACITY_PERCENT", "Value": 25}))
    rows, described = phases(emulator, sm, {"EndpointConfigName": "config-2", "DeploymentConfig": canary})
    assert [r[0] for r in rows][-2:] == [status, "InService"]
    baked = [r[2][0][:3] for r in rows if r[2] and r[2][0][2] == "Baking"]
    assert baked == [(1, 4, "Baking"), (4, 4, "Baking")]
    final = described[-1]
    assert final["EndpointConfigName"] == "config-1"
    assert final["ProductionVariants"] == before["ProductionVariants"]
    assert "FailureReason" not in final
    alarm = cloudwatch.describe_alarms(AlarmNames=["errors"])["MetricAlarms"][0]
    assert (alarm["StateValue"], alarm["StateReason"]) == ("ALARM", "5XX errors on the new fleet")
    history = cloudwatch.describe_alarm_history(AlarmName="errors")["AlarmHistoryItems"]
    assert [(h["HistoryItemType"], h["HistorySummary"]) for h in history] == [
        ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to ALARM")
    ]
    fired = history[0]["Timestamp"].timestamp()
    started = described[0]["PendingDeploymentSummary"]["StartTime"].timestamp()
    rolled_back = next(d for d in described if rolling_back(d, status))["LastModifiedTime"].timestamp()
    assert started < fired < rolled_back


def test_an_alarm_already_in_alarm_rolls_back_at_the_first_bake(either_rollback_status: Emulator) -> None:
    """An auto-rollback alarm in ALARM when the bake ends rolls the update back, no fault needed ("if your old
    fleet trips the alarm during the deployment, SageMaker terminates your deployment")."""
    emulator = either_rollback_status
    status = emulator.behaviour.status_during_update_rollback
    sm = boto_client(emulator, "sagemaker")
    seed_alarm(emulator, "errors")
    boto_client(emulator, "cloudwatch").set_alarm_state(
        AlarmName="errors", StateValue="ALARM", StateReason="already bad"
    )
    endpoint_with(sm, 2)
    rows, described = phases(
        emulator, sm, {"EndpointConfigName": "config-2", "DeploymentConfig": with_alarm(blue_green("ALL_AT_ONCE", 60))}
    )
    assert [r[0] for r in rows] == ["Updating", "Updating", "Updating", status, "InService"]
    assert described[-1]["EndpointConfigName"] == "config-1"


def test_an_alarm_not_in_alarm_lets_the_update_through(emulator: Emulator) -> None:
    """A fresh alarm is INSUFFICIENT_DATA (PutMetricAlarm reference), which does not roll anything back."""
    sm = boto_client(emulator, "sagemaker")
    seed_alarm(emulator, "errors")
    endpoint_with(sm, 1)
    assert boto_client(emulator, "cloudwatch").describe_alarms()["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    _, described = phases(
        emulator, sm, {"EndpointConfigName": "config-2", "DeploymentConfig": with_alarm(blue_green("ALL_AT_ONCE", 60))}
    )
    assert described[-1]["EndpointConfigName"] == "config-2"


def test_rolling_rollback_at_batch_two_restores_the_old_fleet(either_rollback_status: Emulator) -> None:
    """A rollback during the second batch brings the cleaned-up old instance back; the old fleet serves in full."""
    emulator = either_rollback_status
    status = emulator.behaviour.status_during_update_rollback
    sm = boto_client(emulator, "sagemaker")
    endpoint_with(sm, 3)
    emulator.faults.rollback_next_update("ep", at_step=2)
    deployment = rolling({"Type": "INSTANCE_COUNT", "Value": 1}, rollback={"Type": "INSTANCE_COUNT", "Value": 1})
    rows, described = phases(emulator, sm, {"EndpointConfigName": "config-2", "DeploymentConfig": deployment})
    assert rows[-2:] == [(status, [2], []), ("InService", [3], [])]
    assert described[-1]["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"].endswith(":v1")


def test_rolling_rollback_that_fails_leaves_a_mix(emulator: Emulator) -> None:
    """update_rollback_failed_next on a rolling update: UpdateRollbackFailed, the reason, both fleets' images."""
    sm = boto_client(emulator, "sagemaker")
    endpoint_with(sm, 2)
    emulator.faults.update_rollback_failed_next("could not relaunch the old instances", "ep")
    _, described = phases(
        emulator,
        sm,
        {"EndpointConfigName": "config-2", "DeploymentConfig": rolling({"Type": "INSTANCE_COUNT", "Value": 1})},
    )
    final = described[-1]
    assert final["EndpointStatus"] == "UpdateRollbackFailed"
    assert final["FailureReason"] == "could not relaunch the old instances"
    images = [i["SpecifiedImage"].rsplit(":", 1)[1] for i in final["ProductionVariants"][0]["DeployedImages"]]
    assert images == ["v1", "v2"]
    assert final["ProductionVariants"][0]["CurrentInstanceCount"] == 3  # two old, one new


def test_rollback_at_a_step_past_the_last_fires_at_the_last(either_rollback_status: Emulator) -> None:
    """at_step beyond the strategy's steps fires at its last step (all at once has one)."""
    emulator = either_rollback_status
    status = emulator.behaviour.status_during_update_rollback
    sm = boto_client(emulator, "sagemaker")
    endpoint_with(sm, 1)
    emulator.faults.rollback_next_update("ep", at_step=5)
    rows, _ = phases(
        emulator, sm, {"EndpointConfigName": "config-2", "DeploymentConfig": blue_green("ALL_AT_ONCE", 60)}
    )
    assert [r[0] for r in rows] == ["Updating", "Updating", "Updating", status, "InService"]


def test_failure_reason_after_an_alarm_rollback_can_be_set(emulator: Emulator) -> None:
    """Behaviour failure_reason_after_alarm_rollback="set": the rollback leaves a FailureReason naming the alarm."""
    emulator.stop()
    with Emulator(timings=FAST_TIMINGS, behaviour=Behaviour(failure_reason_after_alarm_rollback="set")) as emu:
        sm = boto_client(emu, "sagemaker")
        seed_alarm(emu, "errors")
        endpoint_with(sm, 1)
        emu.faults.rollback_next_update("ep", alarm="errors")
        sm.update_endpoint(
            EndpointName="ep", EndpointConfigName="config-2", DeploymentConfig=with_alarm(blue_green("ALL_AT_ONCE", 60))
        )
        final = wait_for(sm, "ep", "InService")
        assert final["FailureReason"] == "Deployment rolled back: auto-rollback alarm errors is in ALARM state."


def test_create_keeps_its_deployment_config_for_later_updates(emulator: Emulator) -> None:
    """CreateEndpoint's DeploymentConfig is LastDeploymentConfig, and an update with RetainDeploymentConfig uses it."""
    sm = boto_client(emulator, "sagemaker")
    model(sm, "model-1")
    config(sm, "config-1", "model-1", count=2)
    canary = blue_green("CANARY", 60, CanarySize={"Type": "INSTANCE_COUNT", "Value": 1})
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1", DeploymentConfig=canary)
    assert wait_for(sm, "ep", "InService")["LastDeploymentConfig"] == canary
    model(sm, "model-2")
    config(sm, "config-2", "model-2", count=2)
    rows, described = phases(emulator, sm, {"EndpointConfigName": "config-2", "RetainDeploymentConfig": True})
    assert rows[1][2][0][3] == "Activating traffic on canary capacity of 1 instance(s)."
    assert described[-1]["LastDeploymentConfig"] == canary


def test_inf1_endpoints_fall_back_to_all_at_once_without_bake(emulator: Emulator) -> None:
    """Deployment guardrails exclude Inf1 instances: all at once, no baking period, whatever was asked."""
    sm = boto_client(emulator, "sagemaker")
    endpoint_with(sm, 4, instance_type="ml.inf1.xlarge")
    canary = blue_green("CANARY", 600, CanarySize={"Type": "INSTANCE_COUNT", "Value": 1})
    rows, _ = phases(emulator, sm, {"EndpointConfigName": "config-2", "DeploymentConfig": canary})
    assert [r[2][0][2] if r[2] else r[0] for r in rows] == ["Creating", "ActivatingTraffic", "InService"]


def refusal(sm: Any, deployment: dict[str, Any]) -> str:
    with pytest.raises(ClientError) as caught:
        sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2", DeploymentConfig=deployment)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    return str(caught.value.response["Error"]["Message"])


def test_documented_size_limits_are_enforced(emulator: Emulator) -> None:
    """Canary over 50 %, linear under 10 %, rolling over 50 % and both policies at once are refused, naming the
    member and the variant's instance count; the endpoint stays as it was."""
    sm = boto_client(emulator, "sagemaker")
    endpoint_with(sm, 4)
    percent = {"Type": "CAPACITY_PERCENT"}
    assert refusal(sm, blue_green("CANARY", CanarySize={**percent, "Value": 60})) == (
        "CanarySize 60% must be at most 50% of the variant's total instance count (4 for variant AllTraffic)."
    )
    assert refusal(sm, blue_green("CANARY", CanarySize={"Type": "INSTANCE_COUNT", "Value": 3})) == (
        "CanarySize 3 instance(s) must be at most 50% of the variant's total instance count (4 for variant AllTraffic)."
    )
    assert refusal(sm, blue_green("LINEAR", LinearStepSize={**percent, "Value": 5})) == (
        "LinearStepSize 5% must be between 10% and 50% of the variant's total instance count "
        "(4 for variant AllTraffic)."
    )
    assert refusal(sm, rolling({**percent, "Value": 75})) == (
        "MaximumBatchSize 75% must be between 5% and 50% of the variant's total instance count "
        "(4 for variant AllTraffic)."
    )
    both = {**blue_green("ALL_AT_ONCE"), **rolling({**percent, "Value": 25})}
    assert refusal(sm, both) == (
        "DeploymentConfig can use only one update policy: BlueGreenUpdatePolicy or RollingUpdatePolicy, not both."
    )
    assert refusal(sm, blue_green("CANARY")) == "TrafficRoutingConfiguration of Type CANARY needs CanarySize."
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "InService"


def test_one_instance_cannot_take_a_canary(emulator: Emulator) -> None:
    """A fleet of one instance cannot be split: a canary of one instance is 100 % of it."""
    sm = boto_client(emulator, "sagemaker")
    endpoint_with(sm, 1)
    assert "(1 for variant AllTraffic)" in refusal(
        sm, blue_green("CANARY", CanarySize={"Type": "INSTANCE_COUNT", "Value": 1})
    )


def test_the_retained_instance_count_is_what_limits_are_checked_against(emulator: Emulator) -> None:
    """With RetainAllVariantProperties the new fleet has the serving DesiredInstanceCount, not the config's."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm, count=4)
    model(sm, "model-2")
    config(sm, "config-2", "model-2", count=1)
    canary = blue_green("CANARY", 60, CanarySize={"Type": "INSTANCE_COUNT", "Value": 1})
    sm.update_endpoint(
        EndpointName="ep", EndpointConfigName="config-2", DeploymentConfig=canary, RetainAllVariantProperties=True
    )
    assert wait_for(sm, "ep", "InService")["ProductionVariants"][0]["DesiredInstanceCount"] == 4


def test_limits_can_be_switched_off_but_not_the_model_ranges(emulator: Emulator) -> None:
    """enforce_deployment_limits=False accepts a 60 % canary; WaitIntervalInSeconds over 3600 is refused anyway."""
    emulator.stop()
    with Emulator(timings=FAST_TIMINGS, behaviour=Behaviour(enforce_deployment_limits=False)) as emu:
        sm = boto_client(emu, "sagemaker", parameter_validation=False)
        endpoint_with(sm, 4)
        sm.update_endpoint(
            EndpointName="ep",
            EndpointConfigName="config-2",
            DeploymentConfig=blue_green("CANARY", CanarySize={"Type": "CAPACITY_PERCENT", "Value": 60}),
        )
        assert wait_for(sm, "ep", "InService", timeout=20)["EndpointConfigName"] == "config-2"
        message = refusal(sm, blue_green("ALL_AT_ONCE", wait=4000))
        assert message.startswith("1 validation error detected: Value '4000' at ")
        assert "Member must have value less than or equal to 3600" in message
