"""The wait's log: a progress line when something changes, else a heartbeat; the real Waiter against the emulator."""

from __future__ import annotations

import io
import itertools
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sagemaker_async_deploy.log import Log
from sagemaker_async_deploy.outcome import RolloutOutcome
from sagemaker_async_deploy.waiting import Since, Waiter, bake_left
from sagemaker_emulator import Emulator, Timings

from .action_runner import digest_image, run_action
from .conftest import ACCOUNT_ID, boto_client
from .emulator._setup import in_service_endpoint, second_config

CLOCK = re.compile(r"^  \s*\d+s  ")


def wait_lines(lines: list[str], title: str = "Waiting for the rollout") -> list[str]:
    """The lines of the wait's group."""
    start = lines.index(f"::group::{title}")
    return lines[start + 1 : lines.index("::endgroup::", start)]


def test_a_progress_line_only_when_something_changes(tmp_path: Path) -> None:
    """Polled every 20 ms, a create prints one line per change of status or step, never the same line twice in a
    row, and far fewer lines than polls."""
    with Emulator(timings=Timings(create=2.0, update=0.3, rollback=0.3, delete=0.2), account_id=ACCOUNT_ID) as emu:
        run = run_action(emu, tmp_path, {"poll-interval-seconds": "0.02"})
        polls = emu.operations().count("DescribeEndpoint")
    assert run.result == "created", run.stdout + run.stderr
    progress = [CLOCK.sub("", line) for line in wait_lines(run.lines) if CLOCK.match(line)]
    assert progress and len(progress) * 3 < polls, (progress, polls)
    assert all(a != b for a, b in itertools.pairwise(progress)), progress
    assert progress[0].startswith("Creating") and progress[-1].startswith("InService")


def test_a_heartbeat_when_nothing_changes(emulator: Emulator) -> None:
    """An update held still: no line per poll, but "still Updating" with the time since the last change, once per
    heartbeat."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    emulator.faults.hold_next_update("ep")
    buffer = io.StringIO()
    log = Log(buffer)
    started = time.time()
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    release = threading.Timer(1.3, lambda: emulator.faults.release("ep"))
    release.start()
    waiter = Waiter(sm, log, RolloutOutcome(result="failed"), started + 30, 30, 0.02, heartbeat=0.4)
    waiter.wait("ep", "Waiting for the rollout", since=Since("config-2"))
    release.join()
    lines = wait_lines(buffer.getvalue().splitlines())
    beats = [line for line in lines if "still Updating, no change for" in line]
    assert 2 <= len(beats) <= 4, lines
    quiet = [int(re.search(r"no change for (\d+)s", line)[1]) for line in beats]  # type: ignore[index]
    assert quiet == sorted(quiet)
    assert len(lines) < 12, lines


def test_digests_are_short_in_the_log_but_once_in_the_plan(emulator: Emulator, tmp_path: Path) -> None:
    """An update's log names each image's full reference once, in the plan group's change line; elsewhere it
    shows them as the report does (repository@sha256: and 12 hex digits), and ends with the report's lead."""
    old, new = digest_image(int("12" * 32, 16)), digest_image(int("ab" * 32, 16))
    assert run_action(emulator, tmp_path, {"image": old}).result == "created"
    run = run_action(emulator, tmp_path, {"image": new})
    assert run.result == "updated", run.stdout + run.stderr
    lines = run.lines
    plan = wait_lines(lines, "Plan: update")
    for image in (old, new):
        holding = [line for line in lines if image in line]
        assert len(holding) == 1, holding
        assert holding[0] in plan
    assert any(line.startswith("Creating model") and "whisper@sha256:abababababab." in line for line in lines), lines
    assert lines[-1].startswith("Result: updated. Updated (blue/green")
    assert lines[-1].endswith("image whisper@sha256:121212121212 → whisper@sha256:abababababab.")


def test_the_heartbeat_says_how_much_bake_is_left() -> None:
    """While the new fleet bakes, the bake's length from SageMaker's message and its StartTime give the time left;
    any other step gives nothing."""
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def pending(status: str, message: str) -> dict[str, Any]:
        variant = {"VariantStatus": [{"Status": status, "StatusMessage": message, "StartTime": start}]}
        return {"PendingDeploymentSummary": {"ProductionVariants": [variant]}}

    baking = pending("Baking", "Baking for 600 seconds (TerminationWaitInSeconds) with traffic enabled on ...")
    assert bake_left(baking, start.timestamp() + 150) == ", bake: about 450s left"
    assert bake_left(baking, start.timestamp() + 900) == ", bake: about 0s left"
    assert bake_left(pending("Creating", "Launching 2 instance(s)."), start.timestamp()) == ""
    assert bake_left({}, start.timestamp()) == ""
