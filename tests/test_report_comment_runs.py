"""The table of which runs update the PR comment (docs/pr-comment.md) is what the action does, row by row.

Each row of the table under "Fork pull requests and the comment" names a kind of run; here each kind is run
for real against the emulator and the local GitHub API server, after a first run that wrote the comment, and
the comment is compared with what the row says.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .action_runner import action_env, answered, finish, start_action, wait_for_call
from .browser import ROOT
from .github_server import WORKFLOW_TOKEN
from .report_runs import ENDPOINT, PULL, REPO, SHA, Stage, image, stage

BASE = {"image": image("v1"), "instance-type": "ml.g5.xlarge", "deployment-timeout-minutes": "60"}


def _plan(on: Stage) -> str:
    return on.run({**BASE, "mode": "plan", "image": image("v2")}).run.result


def _deploy(on: Stage) -> str:
    return on.run({**BASE, "image": image("v2")}).run.result


def _rollback(on: Stage) -> str:
    on.emu.faults.rollback_next_update()
    return on.run({**BASE, "image": image("v2")}).run.result


def _timeout(on: Stage) -> str:
    on.emu.faults.hold_next_update()
    run = on.run({**BASE, "image": image("v2"), "deployment-timeout-minutes": "0.02"}).run
    return "timed out" if "Timed out after" in run.stdout else run.result


def _expired(on: Stage) -> str:
    on.emu.faults.expire_credentials(after_requests=0)
    run = on.run({**BASE, "image": image("v2")}).run
    return "expired" if "credentials had expired" in run.stdout else run.result


def _missing_alarm(on: Stage) -> str:
    run = on.run({**BASE, "image": image("v2"), "alarms": "no-such-alarm"}).run
    return "invalid" if "no CloudWatch alarm named" in run.stdout else run.result


def _unparsable(on: Stage) -> str:
    run = on.run({**BASE, "image": image("v2"), "mode": "deploy"}).run
    return "invalid" if "is not a mode" in run.stdout else run.result


def _cancelled(on: Stage) -> str:
    on.emu.faults.hold_next_update()
    on.emu.clear_requests()
    event = {"number": PULL, "pull_request": {"number": PULL, "head": {"sha": SHA}}}
    extra = {"GITHUB_API_URL": on.github.api_url, "GITHUB_SERVER_URL": on.github.server_url}
    inputs = {"comment": "true", "github-token": WORKFLOW_TOKEN, "endpoint-name": ENDPOINT, **BASE}
    env = action_env(
        on.emu,
        on.tmp / "cancelled",
        {**inputs, "image": image("v2")},
        event_name="pull_request",
        event=event,
        extra=extra,
    )
    process = start_action(env)
    wait_for_call(on.emu, "UpdateEndpoint")
    polls = answered(on.emu, "DescribeEndpoint")
    wait_for_call(on.emu, "DescribeEndpoint", after=polls)  # a poll after the held update: it is in the wait
    process.send_signal(signal.SIGINT)  # what the runner sends first when a job is cancelled
    run = finish(process, env)
    return "cancelled" if run.exit_code != 0 and "Cancelled (SIGINT)" in run.stdout else run.result


def _no_comment(on: Stage) -> str:
    return on.run({**BASE, "image": image("v2"), "comment": "false"}).run.result


# The table row's first cell → the run, and the result it must reach.
RUNS: dict[str, tuple[Callable[[Stage], str], str]] = {
    "`mode: plan` (`would-create`, `would-update`, `unchanged`)": (_plan, "would-update"),
    "`created`, `updated`, `unchanged`": (_deploy, "updated"),
    "`rolled-back`, `failed`": (_rollback, "rolled-back"),
    "a timeout (`deployment-timeout-minutes`)": (_timeout, "timed out"),
    "expired or rejected credentials, an AWS error, an error of the action's own": (_expired, "expired"),
    "an input naming what AWS does not have (an alarm, a topic, a model, an ECR tag)": (_missing_alarm, "invalid"),
    "an input that does not parse (e.g. `mode: deploy`)": (_unparsable, "invalid"),
    "a cancelled job": (_cancelled, "cancelled"),
    "`comment: false`": (_no_comment, "updated"),
}


def readme_rows() -> dict[str, str]:
    """The table's rows: run → what it says of the comment."""
    section = (ROOT / "docs" / "pr-comment.md").read_text()
    table = section.split("| run | the comment |", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip().strip("|").split(" | ") for line in table.strip().splitlines()[1:]]
    return {run.strip(): says.strip() for run, says in rows}


def test_every_row_has_its_run() -> None:
    """Each run kind the table names is run below, and each run below is in the table."""
    assert sorted(readme_rows()) == sorted(RUNS)


@pytest.fixture
def on(tmp_path: Path) -> Iterator[Stage]:
    with stage(tmp_path) as started:
        yield started


@pytest.mark.parametrize("row", list(RUNS), ids=lambda row: re.sub(r"\W+", "-", row)[:40].strip("-"))
def test_the_comment_is_updated_as_the_readme_says(on: Stage, row: str) -> None:
    """After a run that wrote the comment, a run of this kind updates it exactly when the table says so."""
    first = on.run(BASE)
    assert first.run.result == "created", first.run.stdout + first.run.stderr
    before = on.github.comments(REPO, PULL)[0]["body"]
    scenario, reached = RUNS[row]
    assert scenario(on) == reached
    after = on.github.comments(REPO, PULL)[0]["body"]
    says = readme_rows()[row]
    assert says.startswith(("updated", "not updated")), says
    assert (after != before) == says.startswith("updated"), (says, after)
    assert len(on.github.comments(REPO, PULL)) == 1
