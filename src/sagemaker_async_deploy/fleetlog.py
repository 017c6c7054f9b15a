"""The new fleet's voice during the wait: its container log, live, and a crash loop said the moment it shows.

While a broken container starts, SageMaker waits out ContainerStartupHealthCheckTimeoutInSeconds before it calls
the update failed (amazon-sagemaker-examples #3432: "failing only after 1 hour"); the new fleet's log said why
within a minute. So while this run's own CreateEndpoint / UpdateEndpoint is Creating or Updating, this watcher
(a :class:`~.waiting.PollWatcher`) reads the streams of the instances started since the call and prints their
new lines, escaped, per instance. A line that looks like a crash is said at once; the wait goes on, SageMaker
decides.

Bounded cost: at most one CloudWatch Logs call per poll (a listing to find the new instances, by latest event
and by name in turn, else one page of one instance's stream, in turn), and after an answer that the log group
does not exist, none for a minute.
Finding and reading streams is :mod:`.diagnosis`'s, which reads the same log after the verdict.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from . import aws, cancel, diagnosis
from .diagnosis import LogLine
from .log import Log, safe

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

WATCHED = ("Creating", "Updating")  # the new fleet starts; later statuses are the verdict's
LIST_EVERY = 10  # once instances are known, every 10th call lists again: a rolling batch brings new ones
STREAMS_LISTED = 50  # one page, latest event first: the new fleet's streams are the ones logging now
LOOK_AGAIN_SECONDS = 60.0  # after "no such log group": SageMaker creates it when an instance first logs
PAGE_LINES = 100  # events read per call; more wait for the instance's next turn
LINE_MAX = diagnosis.LINE_MAX

# What a crashing container prints: a Python traceback, a binary built for another CPU ("exec format error"),
# the kernel's OOM killer ("Killed", "Out of memory", OOMKilled), a process that exits non-zero.
CRASH = re.compile(
    r"Traceback \(most recent call last\)|exec format error|^\s*Killed\s*$|\bOOMKilled\b|out of memory"
    r"|\bOOM\b|exited with (?:code|status) [1-9]\d*|exit (?:code|status):? ?[1-9]\d*",
    re.IGNORECASE,
)
# The line of a Python traceback that names the exception: not indented, "SomeError: …" or "module.Error".
EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failure)\b")


def crash_line(lines: list[str]) -> str:
    """The line that says best why a crash happened, or "" when none looks like a crash: for a traceback, the
    exception after it (what a reader needs, not "Traceback (most recent call last):")."""
    for index, text in enumerate(lines):
        if not CRASH.search(text):
            continue
        if text.lstrip().startswith("Traceback"):
            # equivalent mutants core/ReplaceBinaryOperator_Add_Mul, core/ReplaceBinaryOperator_Add_FloorDiv,
            # core/ReplaceBinaryOperator_Add_Pow, core/ReplaceBinaryOperator_Add_BitOr, core/NumberReplacer: they
            # start the search at index or index + 1, and the traceback's own line never matches EXCEPTION.
            return next((t for t in lines[index + 1 :] if EXCEPTION.match(t)), text).strip()
        return text.strip()
    return ""


def crash_sentence(line: str, startup_timeout: int | None) -> str:
    """What the progress line says of a crash loop (the line is outside text: escaped here)."""
    timeout = f"{startup_timeout} s" if startup_timeout else "SageMaker's default, the config sets none"
    return (
        f"the new fleet is crash-looping: {safe(_cut(line))}; SageMaker will fail the update after "
        f"ContainerStartupHealthCheckTimeout ({timeout})"
    )


@dataclass
class FleetLog:
    """Watches the new fleet's container log during this run's own rollout (see the module's docstring)."""

    logs: CloudWatchLogsClient
    log: Log
    endpoint_name: str
    variant_name: str
    since: float  # when CreateEndpoint / UpdateEndpoint was called: the new fleet's streams are younger
    startup_timeout: int | None = None  # ContainerStartupHealthCheckTimeoutInSeconds of the config rolled out
    crash: str = ""  # the crash line said, once
    streams: list[str] = field(default_factory=list)
    _tokens: dict[str, str] = field(default_factory=dict)
    _calls: int = 0
    _listings: int = 0
    _turn: int = 0
    _quiet_until: float = 0.0
    _stopped: bool = False
    _last_instance: str = ""
    _shown_by: dict[str, str] = field(default_factory=dict)  # a line's text → the instance it was shown for

    @property
    def group(self) -> str:
        return diagnosis.log_group(self.endpoint_name)

    def on_poll(self, endpoint: aws.Json | None, now: float) -> None:
        if self._stopped or endpoint is None or endpoint.get("EndpointStatus") not in WATCHED:
            return
        if now < self._quiet_until:
            return
        try:
            with cancel.interruptible():  # only reads: a cancelled job does not wait for CloudWatch's answer
                # equivalent mutants core/ReplaceComparisonOperator_Eq_GtE, core/ReplaceComparisonOperator_Eq_Is: a
                # remainder of 10 is at most 9, and small ints are one object.
                if not self.streams or self._calls % LIST_EVERY == LIST_EVERY - 1:
                    self._list()
                else:
                    self._read(self.streams[self._turn % len(self.streams)])
                    self._turn += 1
        except ClientError as error:
            self._refused(error, now)
        except BotoCoreError as error:
            # A dropped connection costs this poll's look, not the wait: try again in a minute.
            self._quiet_until = now + LOOK_AGAIN_SECONDS
            self.log.info(f"  (the new fleet's log could not be read: {type(error).__name__}; trying again later)")
        finally:
            self._calls += 1

    def _list(self) -> None:
        # By latest event, and every other time by name: a new stream's latest event time is set eventually.
        since_ms = int(self.since * 1000)
        by_name = self._listings % 2 == 1  # equivalent mutant core/ReplaceComparisonOperator_Eq_GtE: % 2 is 0 or 1
        self._listings += 1
        found = diagnosis.new_streams(
            self.logs, self.group, self.variant_name, since_ms, STREAMS_LISTED, by_name=by_name
        )
        self.streams += [name for name in found if name not in self.streams]

    def _read(self, stream: str) -> None:
        token = self._tokens.get(stream, "")
        events, following = aws.get_log_events(
            self.logs, self.group, stream, int(self.since * 1000), token, limit=PAGE_LINES
        )
        if following:
            self._tokens[stream] = following  # at the stream's end the same token: its next events follow it
        lines = diagnosis.log_lines(stream, events)
        if lines:
            self._show(stream, lines)

    def _show(self, stream: str, lines: list[LogLine]) -> None:
        """The lines under their instance; lines another instance showed already are counted, not repeated (a
        fleet's instances start the same way); a crash line said once, at once."""
        instance = _instance(stream)
        fresh = [line for line in lines if self._shown_by.get(line.text, instance) == instance]
        repeated = len(lines) - len(fresh)
        if fresh or repeated:
            if instance != self._last_instance:
                self.log.info(f"  ┌ new fleet, instance {safe(instance)}:")
                self._last_instance = instance
            for line in fresh:
                self._shown_by.setdefault(line.text, instance)
                self.log.info(f"  │ {_clock(line.at)} {safe(_cut(line.text))}")
            if repeated:
                # equivalent mutant core/ReplaceComparisonOperator_NotEq_Gt: repeated is at least 1 here.
                self.log.info(f"  │ … {repeated} line{'s' if repeated != 1 else ''} the same as another instance's")
        if not self.crash:
            said = crash_line([line.text for line in lines])
            if said:
                self.crash = said
                self.log.info(f"  ⚠ {crash_sentence(said, self.startup_timeout)}")

    def _refused(self, error: ClientError, now: float) -> None:
        code = aws.error_code(error)
        if code == "ResourceNotFoundException":
            # No group yet (nothing has logged), or no such stream: no call for a minute.
            self._quiet_until = now + LOOK_AGAIN_SECONDS
            return
        self._stopped = True  # access denied or worse: the verdict's diagnosis says how to grant it
        if code in diagnosis.DENIED:
            self.log.info(
                "  (the new fleet's log is not shown during the wait: the role may not read it; see the report)"
            )
        else:
            self.log.info(f"  (the new fleet's log is not shown during the wait: {safe(code)})")


def show_last_lines(log: Log, container: diagnosis.ContainerLog) -> None:
    """The verdict's container log in the Actions log, grouped per instance: lines another instance showed already
    are counted, not repeated (a fleet's instances fail the same way)."""
    with log.group(f"Container log of the new fleet ({len(container.lines)} lines)"):
        if container.note:
            log.info(safe(container.note))
        by_stream: dict[str, list[LogLine]] = {}
        for line in container.lines:
            by_stream.setdefault(line.stream, []).append(line)
        shown_by: dict[str, str] = {}  # a line's text → the instance it was shown for
        for stream, lines in by_stream.items():
            instance = _instance(stream)
            # equivalent mutant core/ReplaceComparisonOperator_Eq_Is: a stream's lines compare with its one instance
            # object, and two streams of the variant never name the same instance.
            fresh = [line for line in lines if shown_by.setdefault(line.text, instance) == instance]
            log.info(f"{safe(stream)}:")
            for line in fresh:
                log.info(f"  {_clock(line.at)} {safe(line.text)}")
            # equivalent mutants core/ReplaceComparisonOperator_Lt_NotEq, core/ReplaceComparisonOperator_Lt_IsNot:
            # fresh is part of lines, and at most LOG_LINES_MAX (40) lines are shown: small ints, one object each.
            if len(fresh) < len(lines):
                others = sorted({shown_by[line.text] for line in lines} - {instance})
                log.info(f"  … {len(lines) - len(fresh)} more, the same as {safe(', '.join(others))}")


def _instance(stream: str) -> str:
    # equivalent mutants core/ReplaceUnaryOperator_USub_UAdd, core/ReplaceUnaryOperator_Delete_USub,
    # core/NumberReplacer: a container stream is "<variant>/<instance id>", one "/" (diagnosis.is_container_stream).
    return stream.split("/", 1)[-1]


def _cut(text: str) -> str:
    return text if len(text) <= LINE_MAX else text[: LINE_MAX - 1] + "…"


def _clock(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(epoch))
