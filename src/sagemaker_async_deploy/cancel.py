"""A cancelled job: SIGINT and SIGTERM stop the run at the next safe point, never in the middle of a write.

The runner cancels a job (Cancel pressed, a newer run of a concurrency group with cancel-in-progress, the job's
``timeout-minutes``) by sending SIGINT to the step's process, SIGTERM 7.5 s later and SIGKILL 2.5 s after that
(GitHub docs, "Workflow cancellation reference"). In its container the action is PID 1, and the kernel delivers
to a PID 1 only the signals it has a handler for: without the handlers below SIGTERM would do nothing and the
run would die mid-sentence at SIGKILL.

The first signal is noted. Where the run only waits (the poll loop's sleep and read), it is interrupted at once
with :class:`Cancelled`; elsewhere it goes on to the next :func:`check`, so an AWS write that was sent is also
seen through (its answer tells what SageMaker accepted). Later signals are ignored: the run is already ending,
within :data:`BUDGET_SECONDS` of the first.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

BUDGET_SECONDS = 5.0  # from the first signal to the exit, well before SIGKILL at 10 s


class Cancelled(BaseException):
    """The job was cancelled. A BaseException, so that no ``except Exception`` on the way takes it for an error."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(f"cancelled by {signal_name}")
        self.signal_name = signal_name


class _State:
    signal_name = ""
    at = 0.0
    interruptible = 0  # depth of interruptible() blocks the main thread is in


def install() -> None:
    """Handle SIGINT and SIGTERM from now on (idempotent; the main thread only, as Python requires)."""
    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)


def _handle(signum: int, _frame: FrameType | None) -> None:
    if _State.signal_name:
        return
    _State.signal_name = signal.Signals(signum).name
    _State.at = time.time()
    if _State.interruptible:
        raise Cancelled(_State.signal_name)


def requested() -> bool:
    return bool(_State.signal_name)


def signal_name() -> str:
    return _State.signal_name


def remaining() -> float:
    """Seconds left of the budget since the first signal (the whole budget when there was none)."""
    if not _State.signal_name:
        return BUDGET_SECONDS
    # equivalent mutant core/ReplaceBinaryOperator_Sub_Mod: the signal's time is an epoch time of this run, more
    # than half of now, so now % then is now - then
    return BUDGET_SECONDS - (time.time() - _State.at)


def check() -> None:
    """Raise :class:`Cancelled` if a signal came: called before anything that would start a change."""
    if _State.signal_name:
        raise Cancelled(_State.signal_name)


@contextmanager
def interruptible() -> Iterator[None]:
    """A block that only waits or reads: a signal during it raises :class:`Cancelled` at once."""
    check()
    _State.interruptible += 1
    try:
        yield
    finally:
        _State.interruptible -= 1
