"""The cancel module in this process: a real SIGINT or SIGTERM, the first one noted with its time, later ones
ignored, a wait interrupted at once, everything else stopped at the next check, and the seconds left of the
budget."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from sagemaker_async_deploy import cancel


@pytest.fixture
def handlers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The action's handlers installed, with no signal seen yet; the test runner's handlers put back after."""
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(cancel._State, "signal_name", "")
    monkeypatch.setattr(cancel._State, "at", 0.0)
    monkeypatch.setattr(cancel._State, "interruptible", 0)
    cancel.install()
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def test_without_a_signal_nothing_is_requested_and_the_whole_budget_is_left(handlers: None) -> None:
    """Before any signal: not requested, no name, check() passes, the whole budget remains."""
    assert (cancel.requested(), cancel.signal_name(), cancel.remaining()) == (False, "", cancel.BUDGET_SECONDS)
    cancel.check()
    with cancel.interruptible():
        time.sleep(0.01)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_both_signals_are_handled_and_the_first_is_noted(handlers: None, signum: int) -> None:
    """SIGINT (the runner's first) and SIGTERM (7.5 s later) are both handled: the run is asked to stop, under
    the signal's name, and check() then raises Cancelled with that name."""
    before = time.time()
    signal.raise_signal(signum)
    assert (cancel.requested(), cancel.signal_name()) == (True, signal.Signals(signum).name)
    assert before <= cancel._State.at <= time.time()
    with pytest.raises(cancel.Cancelled) as stopped:
        cancel.check()
    assert stopped.value.signal_name == signal.Signals(signum).name
    assert str(stopped.value) == f"cancelled by {signal.Signals(signum).name}"


def test_later_signals_keep_the_first_ones_name_and_time(handlers: None) -> None:
    """The runner's SIGTERM after its SIGINT changes nothing: the budget runs from the first signal."""
    signal.raise_signal(signal.SIGINT)
    first = cancel._State.at
    time.sleep(0.02)
    signal.raise_signal(signal.SIGTERM)
    assert (cancel.signal_name(), cancel._State.at) == ("SIGINT", first)


def test_the_budget_runs_down_from_the_first_signal(handlers: None) -> None:
    """remaining() is the budget less the seconds since the first signal."""
    signal.raise_signal(signal.SIGINT)
    cancel._State.at -= 2.0  # the signal came two seconds ago
    assert cancel.BUDGET_SECONDS - 2.1 < cancel.remaining() <= cancel.BUDGET_SECONDS - 2.0


def test_a_signal_during_a_wait_interrupts_it_at_once(handlers: None) -> None:
    """Inside interruptible(), the signal raises Cancelled where the wait is, not after it."""
    started = time.monotonic()
    with pytest.raises(cancel.Cancelled), cancel.interruptible():
        previous = signal.signal(signal.SIGALRM, lambda *_: signal.raise_signal(signal.SIGTERM))
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        try:
            time.sleep(5)
        finally:
            signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 2
    assert cancel._State.interruptible == 0  # the block is left however it ends


def test_a_signal_outside_a_wait_is_only_noted_until_the_next_check(handlers: None) -> None:
    """Outside interruptible() the work in hand goes on (an AWS write is seen through); the next check stops it."""
    signal.raise_signal(signal.SIGINT)  # would raise here if it interrupted
    finished = True
    assert finished and cancel.requested()
    with pytest.raises(cancel.Cancelled):
        cancel.check()


def test_an_interruptible_block_after_the_signal_does_not_start(handlers: None) -> None:
    """Entering interruptible() once a signal came raises before the block runs: no wait or read starts."""
    signal.raise_signal(signal.SIGINT)
    ran = []
    with pytest.raises(cancel.Cancelled), cancel.interruptible():
        ran.append(True)
    assert ran == []
    assert cancel._State.interruptible == 0


def test_nested_blocks_stay_interruptible_until_the_outer_one_ends(handlers: None) -> None:
    """The depth counts nested blocks, so leaving an inner one does not make the outer one deaf."""
    with cancel.interruptible():
        with cancel.interruptible():
            assert cancel._State.interruptible == 2
        assert cancel._State.interruptible == 1
        with pytest.raises(cancel.Cancelled):
            signal.raise_signal(signal.SIGINT)
    assert cancel._State.interruptible == 0
