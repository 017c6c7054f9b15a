"""The whole action with its PR comment: PyGithub, unmodified, talks to the local GitHub API server
through GITHUB_API_URL, exactly as it talks to github.com or GitHub Enterprise Server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagemaker_emulator import Emulator

from ..action_runner import ActionRun, digest_image, run_action
from ..github_server import FORK_TOKEN, WORKFLOW_TOKEN, GitHubServer

REPO = "acme/models"
SHA = "a" * 40
MARKER = "<!-- sagemaker-async-deploy:endpoint=whisper -->"


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        yield server


def _run(
    emu: Emulator, github: GitHubServer, tmp: Path, inputs: dict[str, str], profile: bool = False, **kwargs: Any
) -> ActionRun:
    extra = {"GITHUB_API_URL": github.api_url, "GITHUB_SERVER_URL": github.server_url}
    if profile:
        extra |= PROFILE_IMPORTS
    return run_action(emu, tmp, {"comment": "true", "github-token": WORKFLOW_TOKEN, **inputs}, extra=extra, **kwargs)


def _pull_event(number: int) -> dict[str, Any]:
    return {"number": number, "pull_request": {"number": number, "head": {"sha": SHA}}}


# Python reports every module it imports on stderr (PYTHONPROFILEIMPORTTIME): what a run loaded, seen from outside.
PROFILE_IMPORTS = {"PYTHONPROFILEIMPORTTIME": "1"}


def _imported(run: ActionRun) -> set[str]:
    """The top-level packages the action's process imported, from its import-time report."""
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \| +(\S+)$", run.stderr, re.M)
    return {name.split(".")[0] for name in names}


def test_one_comment_is_kept_current_across_runs(emulator: Emulator, github: GitHubServer, tmp_path: Path) -> None:
    """Create, unchanged and update runs all edit the same single comment, whose url is an output."""
    github.add_pull(REPO, 7, head_sha=SHA)
    created = _run(emulator, github, tmp_path / "1", {}, event_name="pull_request", event=_pull_event(7))
    assert created.result == "created", created.stdout + created.stderr
    [comment] = github.comments(REPO, 7)
    assert comment["body"].startswith(MARKER)
    assert created.outputs["comment-url"] == comment["html_url"]
    assert "created" in comment["body"]

    unchanged = _run(emulator, github, tmp_path / "2", {}, event_name="pull_request", event=_pull_event(7))
    updated = _run(
        emulator, github, tmp_path / "3", {"image": digest_image(2)}, event_name="pull_request", event=_pull_event(7)
    )
    assert (unchanged.result, updated.result) == ("unchanged", "updated")
    [comment_after] = github.comments(REPO, 7)
    assert comment_after["id"] == comment["id"]
    assert digest_image(2).split("@")[1][:19] in comment_after["body"]
    assert github.count("POST", f"/repos/{REPO}/issues/7/comments") == 1


def test_push_event_finds_the_pull_request_of_the_commit(
    emulator: Emulator, github: GitHubServer, tmp_path: Path
) -> None:
    """On push, the PR is found through the commit's associated pull requests."""
    github.add_pull(REPO, 12, head_sha=SHA)
    run = _run(emulator, github, tmp_path, {}, event_name="push")
    assert run.exit_code == 0
    assert len(github.comments(REPO, 12)) == 1
    assert run.outputs["comment-url"].endswith(f"#issuecomment-{github.comments(REPO, 12)[0]['id']}")


@pytest.mark.parametrize("event_name", ["workflow_dispatch", "schedule"])
def test_run_without_pull_request_neither_loads_pygithub_nor_calls_github(
    emulator: Emulator, github: GitHubServer, tmp_path: Path, event_name: str
) -> None:
    """With the default comment: true, a manual or scheduled run ends the comment with a notice, before any import
    of PyGithub or any GitHub request, even though its commit heads an open pull request."""
    github.add_pull(REPO, 12, head_sha=SHA)
    event = {"ref": "refs/heads/main", "inputs": {}} if event_name == "workflow_dispatch" else {"schedule": "0 * * * *"}
    run = _run(emulator, github, tmp_path, {}, event_name=event_name, event=event, profile=True)
    assert run.exit_code == 0 and run.result == "created", run.stdout + run.stderr
    assert run.outputs["comment-url"] == ""
    assert f"No pull request comment: a {event_name} event has no pull request." in run.stdout + run.stderr
    imported = _imported(run)
    assert {"boto3", "sagemaker_async_deploy"} <= imported, "the import report must cover the run"
    assert "github" not in imported
    assert github.calls == []


def test_push_run_loads_pygithub_and_comments_on_the_commits_pull_request(
    emulator: Emulator, github: GitHubServer, tmp_path: Path
) -> None:
    """A push run with the default comment: true finds the open pull request of its commit and comments there."""
    github.add_pull(REPO, 12, head_sha=SHA)
    run = _run(emulator, github, tmp_path, {}, event_name="push", profile=True)
    assert run.exit_code == 0, run.stdout + run.stderr
    [comment] = github.comments(REPO, 12)
    assert run.outputs["comment-url"] == comment["html_url"]
    assert "github" in _imported(run)
    assert github.count("GET", f"/repos/{REPO}/commits/{SHA}/pulls") == 1


def test_no_pull_request_means_no_comment_and_success(emulator: Emulator, github: GitHubServer, tmp_path: Path) -> None:
    """Without an associated PR the run succeeds with a notice and an empty comment-url."""
    github.add_repo(REPO)
    run = _run(emulator, github, tmp_path, {}, event_name="push")
    assert run.exit_code == 0
    assert run.result == "created"
    assert run.outputs["comment-url"] == ""
    assert any(line.startswith("::notice") for line in run.lines)


def test_read_only_token_warns_and_keeps_the_deploy_result(
    emulator: Emulator, github: GitHubServer, tmp_path: Path
) -> None:
    """A fork PR's read-only token gives a warning; the deployment's result and exit status stand."""
    github.add_pull(REPO, 9, head_sha=SHA)
    run = _run(
        emulator, github, tmp_path, {"github-token": FORK_TOKEN}, event_name="pull_request", event=_pull_event(9)
    )
    assert run.exit_code == 0
    assert run.result == "created"
    assert run.outputs["comment-url"] == ""
    assert any(line.startswith("::warning") and "pull-requests: write" in line for line in run.lines)
    assert github.comments(REPO, 9) == []


def test_rollback_is_told_on_the_pull_request_and_still_fails_the_step(
    emulator: Emulator, github: GitHubServer, tmp_path: Path
) -> None:
    """A rolled-back deploy updates the comment to say so and still exits non-zero."""
    github.add_pull(REPO, 3, head_sha=SHA)
    _run(emulator, github, tmp_path / "1", {}, event_name="pull_request", event=_pull_event(3))
    emulator.faults.rollback_next_update()
    run = _run(
        emulator, github, tmp_path / "2", {"image": digest_image(2)}, event_name="pull_request", event=_pull_event(3)
    )
    assert run.exit_code != 0
    assert run.result == "rolled-back"
    [comment] = github.comments(REPO, 3)
    assert "rolled back" in comment["body"].lower()


def test_comment_false_never_calls_github(emulator: Emulator, github: GitHubServer, tmp_path: Path) -> None:
    """comment: false makes no GitHub request at all."""
    github.add_pull(REPO, 5, head_sha=SHA)
    run = _run(emulator, github, tmp_path, {"comment": "false"}, event_name="pull_request", event=_pull_event(5))
    assert run.exit_code == 0
    assert github.calls == []


def test_a_run_that_stops_early_still_updates_the_comment(
    emulator: Emulator, github: GitHubServer, tmp_path: Path
) -> None:
    """A timeout or a missing alarm rewrites the comment, so the PR never shows the previous run as current."""
    github.add_pull(REPO, 4, head_sha=SHA)
    event = _pull_event(4)
    _run(emulator, github, tmp_path / "1", {}, event_name="pull_request", event=event)
    run = _run(
        emulator,
        github,
        tmp_path / "2",
        {"image": digest_image(2), "alarms": "no-such-alarm"},
        event_name="pull_request",
        event=event,
    )
    assert run.exit_code != 0
    [comment] = github.comments(REPO, 4)
    assert "failed" in comment["body"].lower()
    assert "alarms" in comment["body"]
    assert run.outputs["comment-url"] == comment["html_url"]
