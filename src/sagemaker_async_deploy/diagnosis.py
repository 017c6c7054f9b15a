"""Why a rollout went wrong, read after the verdict: the new fleet's container log and the alarm that fired.

SageMaker's FailureReason for a container that does not start says only "did not pass the ping health check.
Please check CloudWatch logs for this endpoint", and an alarm rollback says nothing at all. This module reads
what answers the reviewer's next question, once, read-only, after the verdict (nothing here runs on the
no-change path):

- the container log: the endpoint's log group ``/aws/sagemaker/Endpoints/<endpoint>`` holds one stream per
  instance, ``<variant>/<instance-id>``, and for an asynchronous endpoint a platform stream
  ``<variant>/<instance-id>/data-log`` beside it (SageMaker developer guide, "Log Amazon SageMaker AI events with
  Amazon CloudWatch" and "async-inference-monitor"): only the first holds what the container printed. A
  blue/green update starts new instances, so the new fleet's streams are the ones created after the update was
  asked for, and only their lines since then are shown: the old fleet goes on logging health checks during the
  update and must not be taken for the new one. The group never expires by default, so streams are listed by
  their latest event, newest first (in name order when that shows none: CloudWatch sets a stream's latest event
  time eventually), and events are read forward, following the token until it repeats
  (GetLogEvents may answer an empty page while more events exist: its API reference, and aws/aws-sdk-net #3218).
- the alarm that fired: the ``alarms``' state changes to ALARM during the rollout (DescribeAlarmHistory),
  with CloudWatch's StateReason; DescribeAlarms' current state when the history says nothing.

Reading is best effort: a missing group, no lines, or a role that may not read them gives one sentence that says
so and how to grant it, never a failed report. Every string read here is outside text; the report and the log
escape it where they show it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import aws

LOG_LINES_MAX = 40  # the last lines: a traceback's end is what says why
LOG_BYTES_MAX = 8_000  # all shown lines together
LINE_MAX = 400  # one line (JSON log lines can be long)
STREAMS_MAX = 10  # new streams read: a fleet of many instances fails the same way on each
STREAMS_LISTED_MAX = 200  # streams listed, latest event first, to find the new ones (4 pages)
STREAMS_BY_NAME_MAX = 500  # streams listed in name order when the latest-event order shows no new one (10 pages)
PAGES_MAX = 20  # pages of one stream read after the verdict: up to 10,000 events each
DATA_LOG = "/data-log"  # the platform's stream of an async endpoint's instance, not the container's
DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


@dataclass(frozen=True)
class LogLine:
    at: float  # epoch seconds
    stream: str
    text: str


@dataclass(frozen=True)
class ContainerLog:
    """The new fleet's last lines, or (``note``) why there are none."""

    group: str
    streams: tuple[str, ...] = ()
    lines: tuple[LogLine, ...] = ()
    omitted: int = 0  # earlier lines of the same window not shown
    note: str = ""


@dataclass(frozen=True)
class FiredAlarm:
    name: str
    at: float  # epoch seconds of the change to ALARM
    reason: str  # CloudWatch's StateReason
    before_rollout: bool = False  # in ALARM already when the update started


@dataclass(frozen=True)
class AlarmWarning:
    """An alarm (or a setting) that cannot guard the rollout the way the inputs expect."""

    alarm: str  # "" when it concerns every alarm (an instance type without guardrails)
    message: str


@dataclass(frozen=True)
class Diagnosis:
    """What the report adds to an outcome: preflight warnings, and after a failure or rollback why."""

    warnings: tuple[AlarmWarning, ...] = ()
    container_log: ContainerLog | None = None
    fired: tuple[FiredAlarm, ...] = ()
    alarm_note: str = ""  # why no fired alarm could be named


NOTHING = Diagnosis()


def log_group(endpoint_name: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint_name}"


def is_container_stream(name: str, variant_name: str) -> bool:
    """Whether a stream holds what a container of the variant printed (not the async platform's data-log)."""
    return name.startswith(f"{variant_name}/") and not name.endswith(DATA_LOG)


def new_streams(
    logs: Any, group: str, variant_name: str, since_ms: int, max_items: int, *, by_name: bool = False
) -> list[str]:
    """The container streams created at or after ``since_ms`` (the new fleet's), oldest first: listed by their
    latest event, or (``by_name``) in name order. CloudWatch sets a stream's lastEventTimestamp "on an eventual
    consistency basis … typically … in less than an hour from ingestion" (DescribeLogStreams API reference), so a
    new stream may not be among the latest yet: name order is the second look."""
    streams = aws.describe_log_streams(logs, group, max_items, f"{variant_name}/" if by_name else "")
    new = sorted(
        (
            s
            for s in streams
            if is_container_stream(str(s.get("logStreamName", "")), variant_name)
            and int(s.get("creationTime", 0)) >= since_ms
        ),
        key=lambda s: (int(s.get("creationTime", 0)), str(s.get("logStreamName", ""))),
    )
    return [str(s.get("logStreamName", "")) for s in new]


def log_lines(stream: str, events: list[aws.Json]) -> list[LogLine]:
    """The events as lines (an event may hold several), in order."""
    lines: list[LogLine] = []
    for event in events:
        at = int(event.get("timestamp", 0)) / 1000
        for text in str(event.get("message", "")).rstrip("\r\n").splitlines() or [""]:
            lines.append(LogLine(at, stream, text))
    return lines


def read_stream(logs: Any, group: str, stream: str, since_ms: int, pages_max: int = PAGES_MAX) -> list[LogLine]:
    """The stream's lines since ``since_ms``: pages followed until the token repeats (or ``pages_max``)."""
    lines: list[LogLine] = []
    token = ""
    for _ in range(pages_max):
        events, following = aws.get_log_events(logs, group, stream, since_ms, token)
        lines += log_lines(stream, events)
        if not following or following == token:
            break
        token = following
    return lines


def container_log(logs: Any, endpoint_name: str, variant_name: str, since: float) -> ContainerLog:
    """The last lines the new fleet (streams created at or after ``since``) wrote since ``since``."""
    group = log_group(endpoint_name)
    since_ms = int(since * 1000)
    try:
        found = new_streams(logs, group, variant_name, since_ms, STREAMS_LISTED_MAX) or new_streams(
            logs, group, variant_name, since_ms, STREAMS_BY_NAME_MAX, by_name=True
        )
        names = tuple(found[:STREAMS_MAX])
        if not names:
            return ContainerLog(
                group,
                note=f"No instance of the new fleet wrote to the log group {group} (no stream "
                f"{variant_name}/<instance-id> created since the update started).",
            )
        events: list[LogLine] = []
        for name in names:
            events += read_stream(logs, group, name, since_ms)
    except ClientError as error:
        return ContainerLog(group, note=_log_read_note(group, error))
    except BotoCoreError as error:
        return ContainerLog(group, note=f"The container log could not be read ({type(error).__name__}).")
    if not events:
        return ContainerLog(group, names, note=f"The new fleet wrote no line to {group} since the update started.")
    events.sort(key=lambda line: line.at)  # stable: lines of one event keep their order
    shown = _last_within(events)
    return ContainerLog(group, names, tuple(shown), omitted=len(events) - len(shown))


def _last_within(lines: list[LogLine]) -> list[LogLine]:
    """The last lines that fit LOG_LINES_MAX and LOG_BYTES_MAX, each cut to LINE_MAX."""
    shown: list[LogLine] = []
    size = 0
    for line in reversed(lines[-LOG_LINES_MAX:]):
        text = line.text if len(line.text) <= LINE_MAX else line.text[: LINE_MAX - 1] + "…"
        size += len(text.encode()) + 1
        if size > LOG_BYTES_MAX:
            break
        shown.append(LogLine(line.at, line.stream, text))
    return shown[::-1]


def _log_read_note(group: str, error: ClientError) -> str:
    code = aws.error_code(error)
    if code == "ResourceNotFoundException":
        return (
            f"No container log: the log group {group} does not exist. SageMaker creates it when an instance first "
            "logs, with the model's execution role, which needs logs:CreateLogGroup, logs:CreateLogStream and "
            "logs:PutLogEvents."
        )
    if code in DENIED:
        return (
            f"The action may not read the container log: grant its role logs:DescribeLogStreams and "
            f"logs:GetLogEvents on {group} (statement ReadTheNewFleetsContainerLog of the action's "
            "docs/iam-policy.json)."
        )
    return f"The container log could not be read: {code}: {aws.error_message(error)}"


def fired_alarms(
    cloudwatch: Any, names: tuple[str, ...], since: float, until: float
) -> tuple[tuple[FiredAlarm, ...], str]:
    """Which of ``names`` went to ALARM between ``since`` and ``until``, with CloudWatch's reason; else a note."""
    if not names:
        return (), ""
    start = datetime.fromtimestamp(since, UTC)
    end = datetime.fromtimestamp(max(until, time.time()), UTC)
    fired: list[FiredAlarm] = []
    history_note = ""
    try:
        for name in names:
            for item in aws.describe_alarm_history(cloudwatch, name, start, end):
                change = _to_alarm(item)
                if change is not None:
                    fired.append(FiredAlarm(name, change[0], change[1]))
                    break
    except ClientError as error:
        history_note = _alarm_read_note(error, "DescribeAlarmHistory")
    except BotoCoreError as error:
        history_note = f"The alarms' history could not be read ({type(error).__name__})."
    if fired:
        return tuple(sorted(fired, key=lambda f: f.at)), ""
    # No history (or none readable): what the alarms say now is the next best witness.
    try:
        alarms = aws.describe_alarms(cloudwatch, list(names))
    except (ClientError, BotoCoreError) as error:
        if isinstance(error, ClientError):
            return (), history_note or _alarm_read_note(error, "DescribeAlarms")
        return (), history_note or f"The alarms could not be read ({type(error).__name__})."
    for alarm in alarms:
        if alarm.get("StateValue") != "ALARM":
            continue
        changed = alarm.get("StateUpdatedTimestamp")
        at = changed.timestamp() if isinstance(changed, datetime) else since
        fired.append(FiredAlarm(str(alarm.get("AlarmName", "")), at, str(alarm.get("StateReason", "")), at < since))
    if fired:
        return tuple(sorted(fired, key=lambda f: f.at)), ""
    return (), history_note or "None of the alarms is in ALARM now, and their history shows no change to ALARM."


def _to_alarm(item: aws.Json) -> tuple[float, str] | None:
    """(when, reason) of a history item that moved the alarm to ALARM, else None."""
    try:
        data = json.loads(str(item.get("HistoryData") or "{}"))
    except ValueError:
        return None
    new_state = data.get("newState") if isinstance(data, dict) else None
    if not isinstance(new_state, dict) or new_state.get("stateValue") != "ALARM":
        return None
    stamp = item.get("Timestamp")
    at = stamp.timestamp() if isinstance(stamp, datetime) else 0.0
    return at, str(new_state.get("stateReason") or item.get("HistorySummary") or "")


# Where each read is granted in docs/iam-policy.json: DescribeAlarms is a preflight read too.
_STATEMENT = {"DescribeAlarmHistory": "ReadWhichAlarmFired", "DescribeAlarms": "PreflightChecks"}


def _alarm_read_note(error: ClientError, operation: str) -> str:
    code = aws.error_code(error)
    if code in DENIED:
        return (
            f"The action may not read which alarm fired: grant its role cloudwatch:{operation} "
            f"(statement {_STATEMENT[operation]} of the action's docs/iam-policy.json)."
        )
    return f"Which alarm fired could not be read: {code}: {aws.error_message(error)}"
