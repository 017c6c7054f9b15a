"""Container logs of each fleet, written into moto's CloudWatch Logs the way SageMaker routes them.

"anything … a model container … sends to stdout or stderr is also sent to Amazon CloudWatch Logs"; an endpoint's
container logs go to log group ``/aws/sagemaker/Endpoints/[EndpointName]``, one stream per instance named
``[production-variant-name]/[instance-id]`` (developer guide, logging-cloudwatch.html). Instance ids have the EC2
form ``i-`` + 17 hex digits, as in the stream ``MyInferencePipelinesVariant/i-0179208609ff7e488/MyContainerName1``
(inference-pipeline-troubleshoot.md). A new fleet runs on new instances, so its streams are new ones. An asynchronous
endpoint's instance also has a platform stream ``[production-variant-name]/[instance-id]/data-log`` (logging-cloudwatch
and async-inference-monitor "Logs"); what SageMaker writes there is not documented, so its line here is the
emulator's own wording, there to be told apart from the container's.

CloudWatch Logs as moto serves it already orders DescribeLogStreams by LastEventTime, descending on request, and
refuses a logStreamNamePrefix with that order, as the DescribeLogStreams API reference says ("If you order the results
by event time, you cannot specify the logStreamNamePrefix parameter"); GetLogEvents returns the token passed in at the
end of the stream ("If you have reached the end of the stream, it returns the same token you passed in", GetLogEvents
API reference). What moto does not do, an empty page while more events exist, is the switch
``Behaviour.log_events_first_page`` (see :func:`install`).

What a container prints is the container's own; the start-up lines here are those of a typical Python serving
stack (gunicorn behind nginx, as SageMaker's own framework containers run), not words of SageMaker.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import time
from collections.abc import Sequence
from typing import Any

from moto.logs.exceptions import ResourceAlreadyExistsException
from moto.logs.models import LogStream, logs_backends

from ._behaviour import Behaviour

STARTUP_LINES = (
    "Starting the inference server with 1 workers.",
    "[INFO] Starting gunicorn 22.0.0",
    "[INFO] Listening at: unix:/tmp/gunicorn.sock (12)",
    "[INFO] Using worker: sync",
    "[INFO] Booting worker with pid: 15",
)

# The fleet that serves keeps answering SageMaker's health checks while a new one starts, and a typical serving
# stack logs each of them: nginx's access-log line with SageMaker's pinger as the client ("GET /ping HTTP/1.1"
# 400 3 "-" "AHC/2.0", sagemaker-python-sdk #1554), every 5 seconds (sagemaker-inference-toolkit #70). These
# lines are what a diagnosis must not mistake for the new fleet's. The emulator's timings are compressed, so
# the few written while a fleet launches come 10 ms apart rather than 5 s.
PINGS_PER_LAUNCH = 3
DATA_LOG = "data-log"
# The emulator's own wording for the async platform's stream (SageMaker documents the stream, not its lines).
DATA_LOG_LINE = "[emulator] asynchronous inference: polling the request queue"


# With Behaviour.last_event_timestamp="eventual", how long a stream's latest event stays out of its description.
RECENT_SECONDS = 60.0


class _State:
    behaviour = Behaviour()


def install(behaviour: Behaviour) -> None:
    """Patch moto's GetLogEvents and stream descriptions once per process; ``behaviour`` applies from now on.

    GetLogEvents "can return empty results while there are more log events available through the token" (its API
    reference); aws/aws-sdk-net #3218 shows a first page with no events and a token that leads on. With
    ``log_events_first_page="empty"`` a read from the head without a token gets that empty page, whose forward
    token leads to the first event.

    A stream's lastEventTimestamp "updates on an eventual consistency basis. It typically updates in less than an
    hour from ingestion" (DescribeLogStreams API reference): with ``last_event_timestamp="eventual"`` a stream
    whose latest event is younger than RECENT_SECONDS is described without it."""
    _State.behaviour = behaviour
    if getattr(LogStream.get_log_events, "emulated", False):
        return
    original = LogStream.get_log_events

    @functools.wraps(original)
    def get_log_events(
        self: LogStream,
        start_time: Any,
        end_time: Any,
        limit: Any,
        next_token: str | None,
        start_from_head: Any,
    ) -> tuple[list[dict[str, Any]], str | None, str | None]:
        if _State.behaviour.log_events_first_page == "empty" and next_token is None and start_from_head:
            # moto's forward token "f/<index>" resumes after <index>: -1 resumes at the first event.
            return [], f"b/{0:056d}", f"f/{-1:056d}"
        return original(self, start_time, end_time, limit, next_token, start_from_head)

    get_log_events.emulated = True  # type: ignore[attr-defined]
    LogStream.get_log_events = get_log_events  # type: ignore[method-assign]
    original_describe = LogStream.to_describe_dict

    @functools.wraps(original_describe)
    def to_describe_dict(self: LogStream) -> dict[str, Any]:
        described = original_describe(self)
        recent = (time.time() - RECENT_SECONDS) * 1000
        if _State.behaviour.last_event_timestamp == "eventual" and described.get("lastEventTimestamp", 0) > recent:
            # Not set yet: moto's LastEventTime order then puts the stream last, as a stream without events.
            del described["lastEventTimestamp"]
        return described

    LogStream.to_describe_dict = to_describe_dict  # type: ignore[method-assign]


def ping_line(at: float) -> str:
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(at))
    return f'10.32.0.2 - - [{stamp}] "GET /ping HTTP/1.1" 200 1 "-" "AHC/2.0"'


def log_group(endpoint_name: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint_name}"


def instance_ids(endpoint_arn: str, variant: str, fleet: int, count: int) -> list[str]:
    """``count`` instance ids for fleet number ``fleet`` of a variant: stable for a test, new for each fleet."""
    ids = []
    for index in range(count):
        digest = hashlib.sha256(f"{endpoint_arn}|{variant}|{fleet}|{index}".encode()).hexdigest()
        ids.append("i-0" + digest[:16])
    return ids


def write_fleet(
    account: str,
    region: str,
    endpoint_name: str,
    streams: Sequence[str],
    at: float,
    extra_lines: Sequence[str] = (),
    *,
    data_log: bool = True,
) -> None:
    """Each stream (``variant/instance-id``) gets the start-up lines, then ``extra_lines``, from ``at`` on; with
    ``data_log`` (an asynchronous endpoint) its platform stream ``variant/instance-id/data-log`` gets a line too."""
    if not streams:
        return
    backend = logs_backends[account][region]
    group = log_group(endpoint_name)
    with contextlib.suppress(ResourceAlreadyExistsException):
        backend.create_log_group(group, {})
    start = int(at * 1000)
    lines = [*STARTUP_LINES, *extra_lines]
    for stream in streams:
        with contextlib.suppress(ResourceAlreadyExistsException):
            backend.create_log_stream(group, stream)
        events = [{"timestamp": start + 10 * i, "message": line} for i, line in enumerate(lines)]
        backend.put_log_events(group, stream, events)
        if data_log:
            platform = f"{stream}/{DATA_LOG}"
            with contextlib.suppress(ResourceAlreadyExistsException):
                backend.create_log_stream(group, platform)
            backend.put_log_events(group, platform, [{"timestamp": start + 5, "message": DATA_LOG_LINE}])


def append_lines(
    account: str, region: str, endpoint_name: str, streams: Sequence[str], at: float, lines: Sequence[str]
) -> None:
    """``lines`` appended to each stream from ``at`` on, 1 ms apart: a crash prints its traceback at once (a
    stream deleted meanwhile is skipped)."""
    backend = logs_backends[account][region]
    existing = backend.groups.get(log_group(endpoint_name))
    start = int(at * 1000)
    for stream in streams:
        if existing is None or stream not in existing.streams:
            continue
        events = [{"timestamp": start + i, "message": line} for i, line in enumerate(lines)]
        backend.put_log_events(log_group(endpoint_name), stream, events)


def write_pings(account: str, region: str, endpoint_name: str, streams: Sequence[str], at: float) -> None:
    """The serving fleet's streams get the health checks it answers from ``at`` on (see PINGS_PER_LAUNCH)."""
    backend = logs_backends[account][region]
    group = log_group(endpoint_name)
    existing = backend.groups.get(group)
    for stream in streams:
        if existing is None or stream not in existing.streams:
            continue  # deleted behind the endpoint's back (a test does that): nothing to append to
        times = [at + 0.01 * i for i in range(PINGS_PER_LAUNCH)]
        events = [{"timestamp": int(t * 1000), "message": ping_line(t)} for t in times]
        backend.put_log_events(group, stream, events)
