"""Container logs of each fleet, written into moto's CloudWatch Logs the way SageMaker routes them.

"anything … a model container … sends to stdout or stderr is also sent to Amazon CloudWatch Logs"; an endpoint's
container logs go to log group ``/aws/sagemaker/Endpoints/[EndpointName]``, one stream per instance named
``[production-variant-name]/[instance-id]`` (developer guide, logging-cloudwatch.html). Instance ids have the EC2
form ``i-`` + 17 hex digits, as in the stream ``MyInferencePipelinesVariant/i-0179208609ff7e488/MyContainerName1``
(inference-pipeline-troubleshoot.md). A new fleet runs on new instances, so its streams are new ones.

What a container prints is the container's own; the start-up lines here are those of a typical Python serving
stack (gunicorn behind nginx, as SageMaker's own framework containers run), not words of SageMaker.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Sequence

from moto.logs.exceptions import ResourceAlreadyExistsException
from moto.logs.models import logs_backends

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
) -> None:
    """Each stream (``variant/instance-id``) gets the start-up lines, then ``extra_lines``, from ``at`` on."""
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
