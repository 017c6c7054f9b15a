"""The new fleet's log, poll by poll: FleetLog against the emulator's CloudWatch Logs, with the streams written
directly (no rollout to wait for), and against a client that fails; and the verdict's log on plain values.

Each poll is one call: which one, and what it prints, is what these tests pin down."""

from __future__ import annotations

import io
import itertools
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from sagemaker_async_deploy import fleetlog
from sagemaker_async_deploy.diagnosis import ContainerLog, LogLine
from sagemaker_async_deploy.fleetlog import FleetLog, show_last_lines
from sagemaker_async_deploy.log import Log, safe
from sagemaker_emulator import Emulator

from .conftest import module_clients

UPDATING = {"EndpointStatus": "Updating"}
NUMBERS = itertools.count(1)


class Fleet:
    """An endpoint of the test's own whose log group holds an old stream (before the update) and the new fleet's
    streams, written directly; and a FleetLog watching it from ``since``."""

    def __init__(self, emu: Emulator, *instances: str, startup_timeout: int | None = 600) -> None:
        self.emu = emu
        self.endpoint = f"ep-{next(NUMBERS)}"
        self.group = f"/aws/sagemaker/Endpoints/{self.endpoint}"
        self.logs = module_clients().logs
        self.logs.create_log_group(logGroupName=self.group)
        self.stream("i-old", ["from before the update"], at_ms=int(time.time() * 1000) - 5000)
        time.sleep(0.01)
        self.since = time.time()
        time.sleep(0.01)
        for instance in instances:
            self.stream(instance, [])
        self.out = io.StringIO()
        self.watcher = FleetLog(
            self.logs, Log(self.out), self.endpoint, "AllTraffic", since=self.since, startup_timeout=startup_timeout
        )
        emu.clear_requests()

    def stream(self, instance: str, lines: list[str], at_ms: int | None = None) -> None:
        name = f"AllTraffic/{instance}"
        if name not in self.names():
            self.logs.create_log_stream(logGroupName=self.group, logStreamName=name)
        self.write(instance, lines, at_ms)

    def write(self, instance: str, lines: list[str], at_ms: int | None = None) -> None:
        at = at_ms if at_ms is not None else int(time.time() * 1000)
        if lines:
            events = [{"timestamp": at + n, "message": line} for n, line in enumerate(lines)]
            self.logs.put_log_events(logGroupName=self.group, logStreamName=f"AllTraffic/{instance}", logEvents=events)

    def names(self) -> list[str]:
        return [s["logStreamName"] for s in self.logs.describe_log_streams(logGroupName=self.group)["logStreams"]]

    def poll(self, now: float | None = None, endpoint: dict[str, Any] | None = UPDATING) -> str:
        """One poll: the CloudWatch Logs call it made ("" for none), as "<operation> <stream or order>"."""
        self.emu.clear_requests()
        self.watcher.on_poll(endpoint, time.time() if now is None else now)
        calls = [r for r in self.emu.requests if r.service == "logs"]
        assert len(calls) <= 1, calls
        if not calls:
            return ""
        params = calls[0].params
        if calls[0].operation == "GetLogEvents":
            return f"read {params['logStreamName'].split('/', 1)[1]}"
        return "list by name" if params.get("logStreamNamePrefix") == "AllTraffic/" else "list by latest event"

    @property
    def text(self) -> str:
        return self.out.getvalue()


def clock(at_ms: int) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(at_ms / 1000))


def test_the_new_streams_are_listed_then_read_in_turn_and_listed_again_every_tenth_call(emu: Emulator) -> None:
    """A listing finds the instances started since the call (not the old one); the next polls read one stream
    each, in turn; every tenth call lists again, by latest event and by name in turn."""
    fleet = Fleet(emu, "i-a", "i-b", "i-c")
    calls = [fleet.poll() for _ in range(21)]
    turn = ["read i-a", "read i-b", "read i-c"] * 6
    assert calls == ["list by latest event", *turn[:8], "list by name", *turn[8:17], "list by latest event", turn[17]]
    assert fleet.watcher.streams == ["AllTraffic/i-a", "AllTraffic/i-b", "AllTraffic/i-c"]


def test_an_instance_started_later_joins_the_turn_once(emu: Emulator) -> None:
    """A rolling batch brings new instances: the next listing adds them after the ones known, each once."""
    fleet = Fleet(emu, "i-a")
    fleet.poll()
    fleet.stream("i-b", [])
    for _ in range(9):
        fleet.poll()
    assert fleet.watcher.streams == ["AllTraffic/i-a", "AllTraffic/i-b"]
    assert [fleet.poll() for _ in range(3)] == ["read i-a", "read i-b", "read i-a"]


def test_no_stream_yet_lists_again_on_the_next_poll(emu: Emulator) -> None:
    """Before any new instance logs, each poll lists, by latest event and by name in turn."""
    fleet = Fleet(emu)
    assert [fleet.poll() for _ in range(5)] == ["list by latest event", "list by name"] * 2 + ["list by latest event"]
    assert fleet.watcher.streams == []


def test_lines_show_under_their_instance_once_each(emu: Emulator) -> None:
    """Each read prints the stream's new lines only, under a header when the instance changes, with the time of
    each line; a stream read again from where it stopped repeats nothing."""
    fleet = Fleet(emu, "i-a")
    at = int(fleet.since * 1000) + 100
    fleet.write("i-a", ["Starting the inference server", "Listening on 8080"], at)
    fleet.poll()
    fleet.poll()
    fleet.poll()  # nothing new
    fleet.write("i-a", ["Model loaded"], at + 50)
    fleet.poll()
    assert fleet.text.splitlines() == [
        "  ┌ new fleet, instance i-a:",
        f"  │ {clock(at)} Starting the inference server",
        f"  │ {clock(at + 1)} Listening on 8080",
        f"  │ {clock(at + 50)} Model loaded",
    ]


def test_an_instance_that_prints_a_line_again_shows_it_again(emu: Emulator) -> None:
    """A crash loop restarts the container: its start-up lines, printed again, are shown again under it, not
    counted as another instance's; and only lines since the call are read, whatever the stream holds before."""
    fleet = Fleet(emu, "i-a")
    at = int(fleet.since * 1000)
    fleet.write("i-a", ["buffered before the update"], at - 5000)
    fleet.write("i-a", ["Starting", "Crashed"], at + 100)
    fleet.poll()
    fleet.poll()
    fleet.write("i-a", ["Starting"], at + 200)
    fleet.poll()
    assert fleet.text.splitlines() == [
        "  ┌ new fleet, instance i-a:",
        f"  │ {clock(at + 100)} Starting",
        f"  │ {clock(at + 101)} Crashed",
        f"  │ {clock(at + 200)} Starting",
    ]


def test_lines_another_instance_showed_are_counted_not_repeated(emu: Emulator) -> None:
    """Instances start the same way: a second instance's identical lines are counted ("1 line", "2 lines"), its
    own are shown, each under its header."""
    fleet = Fleet(emu, "i-a", "i-b")
    at = int(fleet.since * 1000) + 100
    fleet.write("i-a", ["Starting", "Loading"], at)
    fleet.write("i-b", ["Starting", "Loading", "Ready on i-b"], at)
    fleet.poll()
    fleet.poll()
    fleet.poll()
    fleet.write("i-a", ["Ready on i-b", "Loaded on i-a"], at + 10)
    fleet.write("i-b", ["Starting"], at + 10)
    fleet.poll()
    fleet.poll()
    assert fleet.text.splitlines() == [
        "  ┌ new fleet, instance i-a:",
        f"  │ {clock(at)} Starting",
        f"  │ {clock(at + 1)} Loading",
        "  ┌ new fleet, instance i-b:",
        f"  │ {clock(at + 2)} Ready on i-b",
        "  │ … 2 lines the same as another instance's",
        "  ┌ new fleet, instance i-a:",
        f"  │ {clock(at + 11)} Loaded on i-a",
        "  │ … 1 line the same as another instance's",
        "  ┌ new fleet, instance i-b:",
        "  │ … 1 line the same as another instance's",
    ]


def test_a_crash_is_said_once_with_the_start_up_timeout(emu: Emulator) -> None:
    """The first crash line is said at once, escaped, with the config's start-up timeout (or SageMaker's
    default); a later crash is not said again."""
    fleet = Fleet(emu, "i-a", startup_timeout=None)
    at = int(fleet.since * 1000) + 100
    fleet.write("i-a", ["Traceback (most recent call last):", "  File x", "RuntimeError: ::error::CUDA"], at)
    fleet.poll()
    fleet.poll()
    fleet.write("i-a", ["Killed"], at + 10)
    fleet.poll()
    crashes = [line for line in fleet.text.splitlines() if "⚠" in line]
    assert fleet.watcher.crash == "RuntimeError: ::error::CUDA"
    assert crashes == [
        f"  ⚠ the new fleet is crash-looping: {safe('RuntimeError: ::error::CUDA')}; SageMaker will fail the update "
        "after ContainerStartupHealthCheckTimeout (SageMaker's default, the config sets none)"
    ]


def test_a_crash_sentence_names_the_configured_timeout_and_cuts_a_long_line() -> None:
    """The sentence names the config's timeout; a line longer than LINE_MAX is cut to it, ending in "…"."""
    assert fleetlog.crash_sentence("Killed", 1800) == (
        "the new fleet is crash-looping: Killed; SageMaker will fail the update after "
        "ContainerStartupHealthCheckTimeout (1800 s)"
    )
    longest = "x" * fleetlog.LINE_MAX
    assert fleetlog.crash_sentence(longest, 60).count("x") == fleetlog.LINE_MAX
    cut = fleetlog.crash_sentence(longest + "y", 60)
    assert f"crash-looping: {'x' * (fleetlog.LINE_MAX - 1)}…; SageMaker" in cut


def test_a_long_line_is_cut_in_the_live_log(emu: Emulator) -> None:
    """A line longer than LINE_MAX (JSON logs) is cut to LINE_MAX characters, the last one "…"."""
    fleet = Fleet(emu, "i-a")
    at = int(fleet.since * 1000) + 100
    fleet.write("i-a", ["a" * fleetlog.LINE_MAX, "b" * (fleetlog.LINE_MAX + 1)], at)
    fleet.poll()
    fleet.poll()
    lines = fleet.text.splitlines()
    assert lines[1] == f"  │ {clock(at)} {'a' * fleetlog.LINE_MAX}"
    assert lines[2] == f"  │ {clock(at + 1)} {'b' * (fleetlog.LINE_MAX - 1)}…"


def test_the_log_is_read_only_while_this_run_creates_or_updates(emu: Emulator) -> None:
    """Creating and Updating are watched; any other status, or no endpoint, costs no call."""
    fleet = Fleet(emu, "i-a")
    for status in ("InService", "RollingBack", "Failed", "SystemUpdating"):
        assert fleet.poll(endpoint={"EndpointStatus": status}) == ""
    assert fleet.poll(endpoint=None) == ""
    assert fleet.poll(endpoint={"EndpointStatus": "Creating"}) == "list by latest event"
    assert fleet.poll(endpoint=UPDATING) == "read i-a"


def test_no_log_group_yet_is_asked_again_after_exactly_a_minute(emu: Emulator) -> None:
    """ "No such log group": no call for LOOK_AGAIN_SECONDS, then the next poll asks again; nothing is printed."""
    out = io.StringIO()
    watcher = FleetLog(
        module_clients().logs, Log(out), f"nothing-logged-{next(NUMBERS)}", "AllTraffic", since=time.time()
    )
    now = 1000.0
    emu.clear_requests()
    watcher.on_poll(UPDATING, now)
    watcher.on_poll(UPDATING, now + 59.9)
    assert len([r for r in emu.requests if r.service == "logs"]) == 1
    watcher.on_poll(UPDATING, now + 60)
    assert len([r for r in emu.requests if r.service == "logs"]) == 2
    assert out.getvalue() == ""


class Failing:
    """A CloudWatch Logs client whose every call raises ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def get_paginator(self, operation: str) -> Any:
        self.calls += 1
        raise self.error


def failing_watcher(error: Exception) -> tuple[FleetLog, Failing, io.StringIO]:
    out = io.StringIO()
    logs = Failing(error)
    return FleetLog(logs, Log(out), "ep", "AllTraffic", since=time.time()), logs, out  # type: ignore[arg-type]


def test_a_dropped_connection_costs_a_minute_not_the_wait() -> None:
    """A connection error says so once and asks again after LOOK_AGAIN_SECONDS, not before."""
    watcher, logs, out = failing_watcher(EndpointConnectionError(endpoint_url="https://logs.us-east-1.amazonaws.com"))
    watcher.on_poll(UPDATING, 1000.0)
    watcher.on_poll(UPDATING, 1059.9)
    assert logs.calls == 1
    watcher.on_poll(UPDATING, 1060.0)
    assert logs.calls == 2
    assert (
        out.getvalue().splitlines()
        == ["  (the new fleet's log could not be read: EndpointConnectionError; trying again later)"] * 2
    )


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("AccessDeniedException", "the role may not read it; see the report"),
        ("UnauthorizedOperation", "the role may not read it; see the report"),
        ("ThrottlingException", "ThrottlingException"),
    ],
)
def test_a_refusal_stops_the_watcher_with_one_line(code: str, said: str) -> None:
    """Access denied, or any refusal but "no such group", stops the live log for good with one line."""
    watcher, logs, out = failing_watcher(ClientError({"Error": {"Code": code, "Message": "no"}}, "DescribeLogStreams"))
    for poll in range(5):
        watcher.on_poll(UPDATING, 1000.0 + 100 * poll)
    assert logs.calls == 1
    assert out.getvalue().splitlines() == [f"  (the new fleet's log is not shown during the wait: {said})"]


def test_no_such_group_is_quiet_for_a_minute() -> None:
    """ResourceNotFoundException: no line, no call for a minute, then asked again."""
    missing = ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, "DescribeLogStreams")
    watcher, logs, out = failing_watcher(missing)
    watcher.on_poll(UPDATING, 1000.0)
    watcher.on_poll(UPDATING, 1030.0)
    watcher.on_poll(UPDATING, 1060.0)
    assert (logs.calls, out.getvalue()) == (2, "")


def test_a_traceback_names_the_exception_right_after_it() -> None:
    """The exception line may follow the traceback's first line at once."""
    assert fleetlog.crash_line(["Traceback (most recent call last):", "ValueError: bad"]) == "ValueError: bad"
    assert fleetlog.crash_line(["  Traceback (most recent call last):  "]) == "Traceback (most recent call last):"


@pytest.mark.parametrize("before", [1, 2, 3, 4])
def test_a_traceback_names_its_own_exception_not_an_earlier_one(before: int) -> None:
    """An exception line printed before the traceback (a handled error, logged) is not the one it names."""
    earlier = [f"line {n}" for n in range(before - 1)] + ["KeyError: 'optional' (handled, using the default)"]
    lines = [*earlier, "Traceback (most recent call last):", "RuntimeError: CUDA error", "worker exiting"]
    assert fleetlog.crash_line(lines) == "RuntimeError: CUDA error"
    lines = [*earlier, "Traceback (most recent call last):", '  File "serve.py"', "RuntimeError: CUDA error"]
    assert fleetlog.crash_line(lines) == "RuntimeError: CUDA error"


# --- the verdict's container log ----------------------------------------------------------------------------


def test_the_verdicts_log_groups_lines_per_stream_and_counts_repeats() -> None:
    """Per stream, its lines with their time; lines another instance showed are counted with whose they were."""
    at = 1_700_000_000.0
    container = ContainerLog(
        group="/aws/sagemaker/Endpoints/ep",
        lines=(
            LogLine(at, "AllTraffic/i-c", "Starting"),
            LogLine(at + 1, "AllTraffic/i-b", "Starting"),
            LogLine(at + 2, "AllTraffic/i-c", "::error::CUDA error"),
            LogLine(at + 3, "AllTraffic/i-b", "Only on b"),
            LogLine(at + 4, "AllTraffic/i-a", "Only on b"),
            LogLine(at + 5, "AllTraffic/i-a", "Starting"),
            LogLine(at + 6, "AllTraffic/i-a", "Killed"),
            LogLine(at + 7, "AllTraffic/i-d", "Starting"),
        ),
        note="Earlier lines are not shown",
    )
    out = io.StringIO()
    show_last_lines(Log(out), container)
    t = [time.strftime("%H:%M:%S", time.gmtime(at + n)) for n in range(8)]
    lines = out.getvalue().splitlines()
    assert lines[0] == "::group::Container log of the new fleet (8 lines)"
    assert lines[1] == "Earlier lines are not shown"
    assert "::error::" not in out.getvalue()
    assert lines[2:-1] == [
        "AllTraffic/i-c:",
        f"  {t[0]} Starting",
        f"  {t[2]} {safe('::error::CUDA error')}",
        "AllTraffic/i-b:",
        f"  {t[3]} Only on b",
        "  … 1 more, the same as i-c",
        "AllTraffic/i-a:",
        f"  {t[6]} Killed",
        "  … 2 more, the same as i-b, i-c",
        "AllTraffic/i-d:",
        "  … 1 more, the same as i-c",
    ]


def test_the_verdicts_log_without_a_note_or_repeats() -> None:
    """No note: no line for it; a stream of its own lines only: no count."""
    out = io.StringIO()
    show_last_lines(Log(out), ContainerLog(group="g", lines=(LogLine(0.0, "AllTraffic/i-a", "Ready"),)))
    assert out.getvalue().splitlines() == [
        "::group::Container log of the new fleet (1 lines)",
        "AllTraffic/i-a:",
        "  00:00:00 Ready",
        "::endgroup::",
    ]
