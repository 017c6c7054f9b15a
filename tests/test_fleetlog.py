"""The new fleet's container log during the wait: the real Waiter and FleetLog against the emulator over HTTP."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_async_deploy.diagnosis import read_stream
from sagemaker_async_deploy.fleetlog import FleetLog, crash_line
from sagemaker_async_deploy.log import Log
from sagemaker_async_deploy.outcome import RolloutOutcome
from sagemaker_async_deploy.waiting import Since, Waiter
from sagemaker_emulator import Behaviour, Emulator, Timings

from .conftest import ACCOUNT_ID, boto_client
from .emulator._setup import in_service_endpoint, second_config

GROUP = "/aws/sagemaker/Endpoints/ep"
CRASH = [
    "Traceback (most recent call last):",
    '  File "/opt/ml/code/serve.py", line 12, in <module>',
    "::set-output name=result::updated",
    "RuntimeError: CUDA error: no kernel image is available for execution on the device",
]


@dataclass
class Recorder:
    """A second watcher: what the log held after each poll, to count polls between a write and its display."""

    buffer: io.StringIO
    polls: list[tuple[float, int]] = field(default_factory=list)

    def on_poll(self, endpoint: Any, now: float) -> None:
        self.polls.append((now, len(self.buffer.getvalue())))


@pytest.fixture(params=["full", "empty"], ids=["first-page-full", "first-page-empty"])
def slow(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """An emulator whose update launches for 1.5 s, long enough for several polls while the fleet crash-loops;
    GetLogEvents' first page full or empty (Behaviour.log_events_first_page)."""
    behaviour = Behaviour(log_events_first_page=request.param)
    timings = Timings(create=0.3, update=3.0, rollback=0.3, delete=0.2)
    emu = Emulator(timings=timings, account_id=ACCOUNT_ID, behaviour=behaviour)
    emu.start(port=0)
    try:
        yield emu
    finally:
        emu.stop()


def watched_update(emu: Emulator, lines: list[str], poll: float = 0.1) -> tuple[FleetLog, Recorder, str]:
    """An update whose new fleet crash-loops printing ``lines``, waited for by the real Waiter with FleetLog."""
    in_service_endpoint(boto_client(emu, "sagemaker"))
    return watched_update_on(emu, lines, poll)


def watched_update_on(emu: Emulator, lines: list[str], poll: float = 0.1) -> tuple[FleetLog, Recorder, str]:
    """The same, on an endpoint already in service."""
    sm = boto_client(emu, "sagemaker")
    second_config(sm)
    emu.faults.crash_loop_next_update(lines, "ep", restarts=2)
    buffer = io.StringIO()
    log = Log(buffer)
    started = time.time()
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    fleet = FleetLog(boto_client(emu, "logs"), log, "ep", "AllTraffic", since=started, startup_timeout=1800)
    recorder = Recorder(buffer)
    waiter = Waiter(sm, log, RolloutOutcome(result="failed"), started + 30, 30, poll)
    waiter.wait("ep", "Waiting for the rollout", since=Since("config-2"), watchers=[fleet, recorder])
    return fleet, recorder, buffer.getvalue()


def test_a_crash_loop_is_said_within_two_polls_of_being_written(slow: Emulator) -> None:
    """The crash line is in the log by the second poll after the container wrote it, as the exception's line,
    with the start-up timeout of the config rolled out."""
    fleet, recorder, text = watched_update(slow, CRASH)
    logs = boto_client(slow, "logs")
    (stream,) = fleet.streams
    written = min(line.at for line in read_stream(logs, GROUP, stream, 0) if line.text.startswith("RuntimeError"))
    first_able = next(i for i, (now, _) in enumerate(recorder.polls) if now >= written)
    said_at = next(i for i, (_, size) in enumerate(recorder.polls) if "crash-looping" in text[:size])
    assert said_at - first_able <= 1, (first_able, said_at)
    assert (
        "the new fleet is crash-looping: RuntimeError: CUDA error: no kernel image is available for execution on "
        "the device; SageMaker will fail the update after ContainerStartupHealthCheckTimeout (1800 s)" in text
    )
    assert text.count("crash-looping") == 1  # said once, though the container crashed twice


def test_container_lines_are_escaped_and_grouped_per_instance(slow: Emulator) -> None:
    """A workflow command in a container line stays inert; lines show under their instance, no data-log line."""
    fleet, _, text = watched_update(slow, CRASH)
    lines = text.splitlines()
    assert not [line for line in lines if line.lstrip().startswith("::set-output")]
    assert any("set-output name=result::updated" in line for line in lines)
    (stream,) = fleet.streams
    assert f"  ┌ new fleet, instance {stream.split('/', 1)[1]}:" in lines
    assert "data-log" not in text and "polling the request queue" not in text
    assert any(line.startswith("  │ ") and "Starting the inference server" in line for line in lines)


def test_instances_that_print_the_same_lines_are_not_repeated(slow: Emulator) -> None:
    """Two new instances start the same way: the second's identical lines are counted, not printed again."""
    sm = boto_client(slow, "sagemaker")
    in_service_endpoint(sm, count=2)
    second_config(sm, count=2)
    buffer = io.StringIO()
    log = Log(buffer)
    started = time.time()
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    fleet = FleetLog(boto_client(slow, "logs"), log, "ep", "AllTraffic", since=started)
    Waiter(sm, log, RolloutOutcome(result="failed"), started + 30, 30, 0.1).wait(
        "ep", "Waiting for the rollout", since=Since("config-2"), watchers=[fleet]
    )
    text = buffer.getvalue()
    assert len(fleet.streams) == 2
    assert text.count("Starting the inference server with 1 workers.") == 1
    assert "the same as another instance's" in text


def test_at_most_one_log_call_per_poll_and_none_without_a_group(emulator: Emulator) -> None:
    """Polls of an update whose log group does not exist: one call learns it, then none for a minute."""
    buffer = io.StringIO()
    fleet = FleetLog(boto_client(emulator, "logs"), Log(buffer), "nothing-logged", "AllTraffic", since=time.time())
    emulator.clear_requests()
    now = time.time()
    for poll in range(20):
        fleet.on_poll({"EndpointStatus": "Updating"}, now + poll)
    calls = [r for r in emulator.requests if r.service == "logs"]
    assert len(calls) == 1
    fleet.on_poll({"EndpointStatus": "Updating"}, now + 61)
    assert len([r for r in emulator.requests if r.service == "logs"]) == 2
    assert buffer.getvalue() == ""


def test_the_log_is_read_only_while_the_new_fleet_starts(emulator: Emulator) -> None:
    """InService, RollingBack or gone: no log call (the verdict's diagnosis reads the log after)."""
    fleet = FleetLog(boto_client(emulator, "logs"), Log(io.StringIO()), "ep", "AllTraffic", since=time.time())
    emulator.clear_requests()
    for status in ("InService", "RollingBack", "Failed"):
        fleet.on_poll({"EndpointStatus": status}, time.time())
    fleet.on_poll(None, time.time())
    assert not [r for r in emulator.requests if r.service == "logs"]


@pytest.mark.parametrize(
    ("lines", "said"),
    [
        (["loading", "Traceback (most recent call last):", '  File "x.py"', "ValueError: bad"], "ValueError: bad"),
        (["exec /usr/bin/serve: exec format error"], "exec /usr/bin/serve: exec format error"),
        (["Killed"], "Killed"),
        (["torch.cuda.OutOfMemoryError: CUDA out of memory."], "torch.cuda.OutOfMemoryError: CUDA out of memory."),
        (["worker exited with code 3"], "worker exited with code 3"),
        (["Listening at: unix:/tmp/gunicorn.sock", "worker exited with code 0", "Killed the old cache"], ""),
    ],
    ids=["traceback", "exec-format", "killed", "oom", "non-zero-exit", "healthy"],
)
def test_what_looks_like_a_crash(lines: list[str], said: str) -> None:
    """A traceback names its exception; exec format errors, the OOM killer and non-zero exits are crashes; a zero
    exit or the word "Killed" inside a sentence are not."""
    assert crash_line(lines) == said


def test_a_role_that_may_not_read_the_log_is_told_once_and_asked_no_more(emulator: Emulator) -> None:
    """AccessDenied on a log read: one line saying the log is not shown during the wait, then no call at all."""
    buffer = io.StringIO()
    fleet = FleetLog(boto_client(emulator, "logs"), Log(buffer), "ep", "AllTraffic", since=time.time())
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "DescribeLogStreams")
    fleet._refused(denied, time.time())
    emulator.clear_requests()
    for _ in range(3):
        fleet.on_poll({"EndpointStatus": "Updating"}, time.time())
    assert not [r for r in emulator.requests if r.service == "logs"]
    assert buffer.getvalue().splitlines() == [
        "  (the new fleet's log is not shown during the wait: the role may not read it; see the report)"
    ]


def test_the_live_log_looks_by_name_too(tmp_path: Path) -> None:
    """New streams without a latest event time yet (Behaviour.last_event_timestamp="eventual") sort after 60 of
    yesterday's: the watcher's second listing, by name, finds them, and their lines show during the wait."""
    behaviour = Behaviour(last_event_timestamp="eventual")
    timings = Timings(create=0.3, update=3.0, rollback=0.3, delete=0.2)
    with Emulator(timings=timings, account_id=ACCOUNT_ID, behaviour=behaviour) as emu:
        sm = boto_client(emu, "sagemaker")
        in_service_endpoint(sm)
        logs = boto_client(emu, "logs")
        yesterday = int((time.time() - 86_400) * 1000)
        for n in range(60):
            name = f"AllTraffic/i-f{n:016d}"  # after any new instance's id in name order
            logs.create_log_stream(logGroupName=GROUP, logStreamName=name)
            logs.put_log_events(
                logGroupName=GROUP, logStreamName=name, logEvents=[{"timestamp": yesterday + n, "message": "old"}]
            )
        fleet, _, text = watched_update_on(emu, CRASH)
    assert len(fleet.streams) == 1
    assert "crash-looping: RuntimeError" in text
