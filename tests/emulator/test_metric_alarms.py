"""Auto-rollback alarms on published metrics: the emulator evaluates them on moto's metric data at the end of a
bake, as CloudWatch would, and SageMaker rolls back on the one in ALARM."""

from __future__ import annotations

from typing import Any

from sagemaker_emulator import Emulator
from tests.conftest import boto_client

from ._setup import in_service_endpoint, second_config, wait_for

ALARM = "smoke-ep"
DIMENSIONS = [{"Name": "EndpointName", "Value": "ep"}]


def _update_held_at_the_bake(emulator: Emulator, sm: Any, cloudwatch: Any) -> None:
    """An endpoint updated with ALARM as its auto-rollback alarm, held while its new fleet bakes."""
    cloudwatch.put_metric_alarm(
        AlarmName=ALARM,
        Namespace="custom/smoke",
        MetricName="Failed",
        Dimensions=DIMENSIONS,
        Statistic="Maximum",
        Period=10,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    in_service_endpoint(sm)
    second_config(sm)
    emulator.faults.hold_next_update("ep")
    sm.update_endpoint(
        EndpointName="ep",
        EndpointConfigName="config-2",
        DeploymentConfig={
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 60}
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": ALARM}]},
        },
    )
    while emulator.faults.step("ep"):
        pending = sm.describe_endpoint(EndpointName="ep").get("PendingDeploymentSummary") or {}
        variants = pending.get("ProductionVariants") or [{}]
        if (variants[0].get("VariantStatus") or [{}])[-1].get("Status") == "Baking":
            return
    raise AssertionError("the update never baked")


def test_a_breaching_datapoint_during_the_bake_rolls_back(emulator: Emulator) -> None:
    """A high-resolution datapoint at the threshold, published during the bake, puts the alarm in ALARM at the
    bake's end and SageMaker rolls back to the old config; the alarm's history shows the transition."""
    sm, cloudwatch = boto_client(emulator, "sagemaker"), boto_client(emulator, "cloudwatch")
    _update_held_at_the_bake(emulator, sm, cloudwatch)
    cloudwatch.put_metric_data(
        Namespace="custom/smoke",
        MetricData=[{"MetricName": "Failed", "Dimensions": DIMENSIONS, "Value": 1.0, "StorageResolution": 1}],
    )
    emulator.faults.release("ep")
    settled = wait_for(sm, "ep", "InService")
    assert settled["EndpointConfigName"] == "config-1"
    assert "PendingDeploymentSummary" not in settled
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [1")
    history = cloudwatch.describe_alarm_history(AlarmName=ALARM)["AlarmHistoryItems"]
    assert any(item["HistorySummary"].endswith("to ALARM") for item in history)


def test_no_datapoint_and_a_datapoint_below_the_threshold_let_the_update_finish(emulator: Emulator) -> None:
    """Without a breaching datapoint the alarm does not fire and the update ends on the new config."""
    sm, cloudwatch = boto_client(emulator, "sagemaker"), boto_client(emulator, "cloudwatch")
    _update_held_at_the_bake(emulator, sm, cloudwatch)
    cloudwatch.put_metric_data(
        Namespace="custom/smoke",
        MetricData=[{"MetricName": "Failed", "Dimensions": DIMENSIONS, "Value": 0.0, "StorageResolution": 1}],
    )
    emulator.faults.release("ep")
    assert wait_for(sm, "ep", "InService")["EndpointConfigName"] == "config-2"
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"]
    assert alarm["StateValue"] != "ALARM"
