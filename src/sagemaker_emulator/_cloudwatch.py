"""CloudWatch alarms as AWS keeps them, where moto departs: the initial state, composite alarms, the alarm history.

- A new alarm starts INSUFFICIENT_DATA and an updated one keeps its state: "When this operation creates an alarm,
  the alarm state is immediately set to INSUFFICIENT_DATA … When updating an existing alarm, its StateValue is left
  unchanged." (PutMetricAlarm reference, AWS SDK for .NET); INSUFFICIENT_DATA "is the initial state of a new alarm"
  (Application Auto Scaling user guide, cloudwatch-alarm-notifications). moto starts every alarm OK and resets the
  state on every update.
- DescribeAlarmHistory exists in AWS and not in moto 5.2.5. A state change is recorded as AWS's CLI reference example
  shows it: HistoryItemType "StateUpdate", HistorySummary "Alarm updated from OK to ALARM", HistoryData a JSON
  document {"version": "1.0", "oldState": {"stateValue", "stateReason", …}, "newState": {…}}. Without AlarmTypes
  it answers for metric alarms only: "If you omit this parameter, only metric alarms are returned"
  (DescribeAlarmHistory API reference, AlarmTypes).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch.models import Alarm, CloudWatchBackend, cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult

_INITIAL_REASON = "Unchecked: Initial alarm creation"


def install() -> None:
    """Patch moto's CloudWatch once per process (idempotent)."""
    if getattr(CloudWatchResponse, "describe_alarm_history", None) is _describe_alarm_history:
        return
    original = CloudWatchBackend.put_metric_alarm

    @functools.wraps(original)
    def put_metric_alarm(self: CloudWatchBackend, *args: Any, **kwargs: Any) -> Alarm:
        name = kwargs.get("name", args[0] if args else None)
        previous = self.alarms.get(name) if name is not None else None
        alarm = original(self, *args, **kwargs)
        if previous is not None and previous.rule is None:
            alarm.state_value = previous.state_value
            alarm.state_reason = previous.state_reason
            alarm.state_reason_data = previous.state_reason_data
            alarm.state_updated_timestamp = previous.state_updated_timestamp
            alarm.aws_history = list(getattr(previous, "aws_history", []))  # type: ignore[attr-defined]
        else:
            alarm.state_value = "INSUFFICIENT_DATA"
            alarm.state_reason = _INITIAL_REASON
            alarm.aws_history = []  # type: ignore[attr-defined]
        return alarm

    original_update = Alarm.update_state

    @functools.wraps(original_update)
    def update_state(self: Alarm, reason: str, reason_data: str, state_value: str) -> None:
        old = (self.state_value, self.state_reason)
        original_update(self, reason, reason_data, state_value)
        _record(self, old, self.state_updated_timestamp)

    CloudWatchBackend.put_metric_alarm = put_metric_alarm  # type: ignore[method-assign]
    Alarm.update_state = update_state  # type: ignore[method-assign]
    CloudWatchResponse.describe_alarm_history = _describe_alarm_history  # type: ignore[attr-defined]
    # moto 5.2.5 reads AlarmRule in its PutMetricAlarm handler "to re-use this method for composite alarms" but
    # routes no PutCompositeAlarm to it. A composite alarm starts INSUFFICIENT_DATA as a metric alarm does
    # (PutCompositeAlarm API reference: "the alarm state is immediately set to INSUFFICIENT_DATA").
    CloudWatchResponse.put_composite_alarm = CloudWatchResponse.put_metric_alarm  # type: ignore[attr-defined]


def _record(alarm: Alarm, old: tuple[str, str], at: datetime) -> None:
    if old[0] == alarm.state_value:
        return
    data = {
        "version": "1.0",
        "oldState": {"stateValue": old[0], "stateReason": old[1]},
        "newState": {"stateValue": alarm.state_value, "stateReason": alarm.state_reason},
    }
    history: list[dict[str, Any]] = getattr(alarm, "aws_history", [])
    history.append(
        {
            "AlarmName": alarm.name,
            "AlarmType": "CompositeAlarm" if alarm.rule else "MetricAlarm",
            "Timestamp": at,
            "HistoryItemType": "StateUpdate",
            "HistorySummary": f"Alarm updated from {old[0]} to {alarm.state_value}",
            "HistoryData": json.dumps(data, separators=(",", ":")),
        }
    )
    alarm.aws_history = history  # type: ignore[attr-defined]


def _describe_alarm_history(self: CloudWatchResponse) -> ActionResult:
    name = self._get_param("AlarmName")
    item_type = self._get_param("HistoryItemType")
    types = self._get_param("AlarmTypes", []) or ["MetricAlarm"]  # the reference's default: metric alarms only
    start, end = self._get_param("StartDate"), self._get_param("EndDate")
    newest_first = self._get_param("ScanBy", "TimestampDescending") != "TimestampAscending"
    limit = int(self._get_param("MaxRecords", 100) or 100)
    items: list[dict[str, Any]] = []
    for alarm in self.cloudwatch_backend.alarms.values():
        if name and alarm.name != name:
            continue
        items += getattr(alarm, "aws_history", [])
    items = [
        i
        for i in items
        if (not item_type or i["HistoryItemType"] == item_type)
        and i["AlarmType"] in types
        and (start is None or i["Timestamp"] >= _datetime(start))
        and (end is None or i["Timestamp"] <= _datetime(end))
    ]
    items.sort(key=lambda i: i["Timestamp"], reverse=newest_first)
    return ActionResult({"AlarmHistoryItems": items[:limit]})


def _datetime(value: Any) -> datetime:
    """A naive UTC datetime, as moto keeps its timestamps."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(float(value), UTC)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def set_state(account: str, region: str, name: str, state: str, reason: str, at: float) -> bool:
    """Move alarm ``name`` to ``state`` as of ``at`` (epoch seconds); False when there is no such alarm."""
    backend = cloudwatch_backends[account][region]
    alarm = backend.alarms.get(name)
    if alarm is None:
        return False
    old = (alarm.state_value, alarm.state_reason)
    moment = _datetime(at)
    alarm.state_reason = reason
    alarm.state_reason_data = json.dumps({"version": "1.0", "queryDate": moment.isoformat() + "+0000"})
    alarm.state_value = state
    alarm.state_updated_timestamp = moment
    _record(alarm, old, moment)
    return True


def states(account: str, region: str, names: tuple[str, ...]) -> dict[str, tuple[str, float]]:
    """(StateValue, when it was set, epoch seconds) of each named alarm that exists."""
    backend = cloudwatch_backends[account][region]
    found: dict[str, tuple[str, float]] = {}
    for name in names:
        alarm = backend.alarms.get(name)
        if alarm is not None:
            found[name] = (alarm.state_value, alarm.state_updated_timestamp.replace(tzinfo=UTC).timestamp())
    return found


# Statistics of the datapoints in one period, as CloudWatch computes them for an alarm's Statistic.
_STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "Maximum": max,
    "Minimum": min,
    "Sum": sum,
    "SampleCount": len,
    "Average": lambda values: sum(values) / len(values),
}
# Each comparison, and how CloudWatch's StateReason words it ("… was greater than or equal to the threshold").
_BREACHES: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (lambda value, threshold: value >= threshold, "greater than or equal to"),
    "GreaterThanThreshold": (lambda value, threshold: value > threshold, "greater than"),
    "LessThanThreshold": (lambda value, threshold: value < threshold, "less than"),
    "LessThanOrEqualToThreshold": (lambda value, threshold: value <= threshold, "less than or equal to"),
}


def evaluate(account: str, region: str, names: tuple[str, ...], at: float) -> None:
    """Evaluate the named metric alarms on moto's metric data as of ``at`` (epoch seconds); moto itself never
    does. CloudWatch's rules ("Evaluating an alarm", CloudWatch user guide, AlarmThatSendsEmail): the alarm looks
    at its most recent EvaluationPeriods periods of Period seconds, and goes to ALARM when DatapointsToAlarm of them
    (EvaluationPeriods when unset) breach the threshold; a period's datapoint is the Statistic of the values
    published in it. Only an alarm with data in that window moves: missing data is treated as the alarm's
    TreatMissingData says, and the rollback alarms here treat it as notBreaching (the default keeps the state,
    "missing"), so an alarm without data keeps the state a test or SetAlarmState gave it."""
    backend = cloudwatch_backends[account][region]
    for name in names:
        alarm = backend.alarms.get(name)
        if alarm is None or alarm.rule is not None or not alarm.metric_name or alarm.statistic not in _STATISTICS:
            continue
        period = int(alarm.period or 60)
        periods = int(alarm.evaluation_periods or 1)
        start = at - period * periods
        wanted = {(d.name, d.value) for d in alarm.dimensions}
        buckets: dict[int, list[float]] = {}
        for datum in backend.metric_data:
            if datum.namespace != alarm.namespace or datum.name != alarm.metric_name:
                continue
            if {(d.name, d.value) for d in datum.dimensions} != wanted or not hasattr(datum, "value"):
                continue
            moment = datum.timestamp.replace(tzinfo=UTC).timestamp()
            if start < moment <= at:
                buckets.setdefault(int((moment - start) // period), []).append(float(datum.value))
        if not buckets:
            continue
        breaches, comparison = _BREACHES.get(alarm.comparison_operator, _BREACHES["GreaterThanOrEqualToThreshold"])
        values = {index: _STATISTICS[alarm.statistic](points) for index, points in buckets.items()}
        breaching = [index for index, value in values.items() if breaches(value, float(alarm.threshold))]
        needed = int(alarm.datapoints_to_alarm or periods)
        state = "ALARM" if len(breaching) >= needed else "OK"
        if state == alarm.state_value:
            continue
        stamp = datetime.fromtimestamp(at, UTC).strftime("%d/%m/%y %H:%M:%S")
        shown = ", ".join(f"{values[i]:g}" for i in sorted(values))
        words = {"ALARM": "was", "OK": "was not"}[state]
        reason = (
            f"Threshold Crossed: {len(breaching)} out of the last {len(values)} datapoints [{shown} ({stamp})] "
            f"{words} {comparison} the threshold ({float(alarm.threshold)}) (minimum {needed} "
            f"datapoint{'s' if needed != 1 else ''} for {alarm.state_value} -> {state} transition)."
        )
        # Stamped a millisecond before ``at``: moto keeps microseconds, and a stamp rounded up past the moment of
        # the check would read as a change after it.
        set_state(account, region, name, state, reason, at - 0.001)
