"""publish_comment against the local GitHub server: one sticky comment per endpoint, and every failure a warning."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagemaker_async_deploy.comment import CommentSettings, comment_marker, publish_comment
from sagemaker_async_deploy.context import GitHubContext
from sagemaker_async_deploy.log import Log
from tests.github_server import (
    ALICE,
    BOB,
    FORK_TOKEN,
    GITHUB_ACTIONS_BOT,
    USER_TOKEN,
    WORKFLOW_TOKEN,
    GitHubServer,
)

REPO = "octo/models"
SHA = "0123456789abcdef0123456789abcdef01234567"
PR = 7
COMMENTS = f"/repos/{REPO}/issues/{PR}/comments"
CREATE = r"/repos/[^/]+/[^/]+/issues/\d+/comments"
MARKER = comment_marker("whisper")
# The only workflow commands publish_comment may start a line with; anything else was smuggled in.
OUR_COMMANDS = ("::warning::", "::warning title=", "::notice::", "::notice title=")


@pytest.fixture
def gh() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        server.add_pull(REPO, PR, head_sha=SHA, title="Roll out whisper v2")
        yield server


def settings_for(
    gh: GitHubServer,
    tmp_path: Path,
    *,
    event: str = "pull_request",
    number: int = PR,
    title: str = "Roll out whisper v2",
    token: str = WORKFLOW_TOKEN,
    sha: str = SHA,
) -> CommentSettings:
    payload = {"pull_request": {"number": number, "title": title}} if event.startswith("pull_request") else {}
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(payload), encoding="utf-8")
    context = GitHubContext(
        api_url=gh.api_url,
        server_url=gh.server_url,
        repository=REPO,
        sha=sha,
        event_name=event,
        event_path=str(event_path),
        run_id="4242",
    )
    # No waits: the tests exercise the retries, not the pauses between them.
    return CommentSettings(token=token, context=context, timeout=5, backoff=0, seconds_between_writes=0)


def publish(settings: CommentSettings, body: str = "Endpoint updated.", endpoint: str = "whisper") -> tuple[str, str]:
    stream = io.StringIO()
    url = publish_comment(settings, endpoint_name=endpoint, body=body, log=Log(stream=stream))
    return url, stream.getvalue()


def assert_no_smuggled_commands(log: str) -> None:
    for line in log.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("::"):
            assert stripped.startswith(OUR_COMMANDS), line
        assert "##[" not in line, line


def test_creates_one_comment_then_edits_it_in_place(gh: GitHubServer, tmp_path: Path) -> None:
    """The first run creates the endpoint's comment; later runs edit that same comment instead of adding one."""
    settings = settings_for(gh, tmp_path)
    first_url, _ = publish(settings, "Run 1: created")
    [created] = gh.comments(REPO, PR)
    assert first_url == created["html_url"] == f"{gh.server_url}/{REPO}/pull/{PR}#issuecomment-{created['id']}"
    assert created["body"].startswith(MARKER + "\n")
    assert created["user"]["login"] == "github-actions[bot]"

    second_url, log = publish(settings, "Run 2: updated")
    third_url, _ = publish(settings, "Run 3: unchanged")

    [edited] = gh.comments(REPO, PR)
    assert edited["id"] == created["id"]
    assert second_url == third_url == first_url
    assert edited["body"] == MARKER + "\nRun 3: unchanged"
    assert gh.count("POST", COMMENTS) == 1
    assert gh.count("PATCH", f"/repos/{REPO}/issues/comments/{created['id']}") == 2
    assert "Updated the comment" in log


def test_identical_body_is_not_written_again(gh: GitHubServer, tmp_path: Path) -> None:
    """A run whose comment text is already there sends no PATCH (no needless write or notification)."""
    settings = settings_for(gh, tmp_path)
    first, _ = publish(settings, "Same report")
    second, _ = publish(settings, "Same report")
    assert first == second != ""
    assert gh.count("PATCH") == 0
    assert len(gh.comments(REPO, PR)) == 1


def test_each_endpoint_has_its_own_comment(gh: GitHubServer, tmp_path: Path) -> None:
    """Two endpoints reported on one pull request get one comment each, neither overwriting the other."""
    settings = settings_for(gh, tmp_path)
    publish(settings, "whisper report", endpoint="whisper")
    publish(settings, "whisper-large report", endpoint="whisper-large")
    publish(settings, "whisper report 2", endpoint="whisper")
    bodies = [c["body"] for c in gh.comments(REPO, PR)]
    assert bodies == [MARKER + "\nwhisper report 2", comment_marker("whisper-large") + "\nwhisper-large report"]


def test_another_users_comment_with_the_marker_is_left_alone(gh: GitHubServer, tmp_path: Path) -> None:
    """A comment that quotes the marker but was written by someone else is never edited; ours goes beside it."""
    quoted = f"Why does the bot write {MARKER} into its comments?"
    bob_id = gh.add_comment(REPO, PR, quoted, author=BOB)

    url, _ = publish(settings_for(gh, tmp_path), "Endpoint updated.")

    bob, ours = gh.comments(REPO, PR)
    assert (bob["id"], bob["body"]) == (bob_id, quoted)
    assert ours["user"]["login"] == GITHUB_ACTIONS_BOT.login
    assert url == ours["html_url"]
    assert gh.count("PATCH") == 0


def test_our_comment_quoting_the_marker_is_not_taken_for_it(gh: GitHubServer, tmp_path: Path) -> None:
    """A comment of ours that only quotes this endpoint's marker (say, another endpoint's report) is left alone."""
    quoting = gh.add_comment(
        REPO, PR, "<!-- sagemaker-async-deploy:endpoint=other -->\n`" + MARKER + "`", author=GITHUB_ACTIONS_BOT
    )
    settings = settings_for(gh, tmp_path)

    publish(settings, "report")

    quoted, ours = gh.comments(REPO, PR)
    assert quoted["id"] == quoting and MARKER in quoted["body"] and not quoted["body"].startswith(MARKER)
    assert ours["body"] == MARKER + "\nreport"


def test_personal_token_finds_its_own_comment_not_the_bots(gh: GitHubServer, tmp_path: Path) -> None:
    """With a personal token the identity comes from GraphQL viewer, so the bot's marker comment is not ours."""
    bot_id = gh.add_comment(REPO, PR, MARKER + "\nwritten by the workflow token", author=GITHUB_ACTIONS_BOT)
    settings = settings_for(gh, tmp_path, token=USER_TOKEN)

    publish(settings, "first")
    publish(settings, "second")

    bot, ours = gh.comments(REPO, PR)
    assert bot["id"] == bot_id and bot["body"].endswith("written by the workflow token")
    assert ours["user"]["login"] == ALICE.login and ours["body"] == MARKER + "\nsecond"
    assert gh.count("POST", "/graphql") == 2
    assert gh.count("GET", "/user") == 0


def test_identity_falls_back_to_the_actions_bot_when_graphql_fails(gh: GitHubServer, tmp_path: Path) -> None:
    """Without GraphQL, a workflow token refused by GET /user is taken to be github-actions[bot]."""
    existing = gh.add_comment(REPO, PR, MARKER + "\nold", author=GITHUB_ACTIONS_BOT)
    gh.fail("POST", "/graphql", 404, message="Not Found", times=10)

    url, log = publish(settings_for(gh, tmp_path), "new")

    assert gh.count("GET", "/user") == 1
    [comment] = gh.comments(REPO, PR)
    assert (comment["id"], comment["body"]) == (existing, MARKER + "\nnew")
    assert url == comment["html_url"]
    assert "::warning" not in log


def test_identity_from_get_user_when_graphql_fails_for_a_personal_token(gh: GitHubServer, tmp_path: Path) -> None:
    """Without GraphQL, a personal token's identity comes from GET /user, not from the bot fallback."""
    gh.add_comment(REPO, PR, MARKER + "\nbot's", author=GITHUB_ACTIONS_BOT)
    gh.fail("POST", "/graphql", 502, times=10)

    publish(settings_for(gh, tmp_path, token=USER_TOKEN), "alice's")

    assert [c["user"]["login"] for c in gh.comments(REPO, PR)] == [GITHUB_ACTIONS_BOT.login, ALICE.login]


def test_own_comment_on_the_second_page_is_found_and_edited(gh: GitHubServer, tmp_path: Path) -> None:
    """Comments are read page by page: ours, after 120 others, is edited rather than duplicated."""
    for i in range(120):
        gh.add_comment(REPO, PR, f"review comment {i}", author=BOB if i % 2 else ALICE)
    ours = gh.add_comment(REPO, PR, MARKER + "\nold report", author=GITHUB_ACTIONS_BOT)

    url, _ = publish(settings_for(gh, tmp_path), "new report")

    pages = [c.query.get("page", "1") for c in gh.calls if c.method == "GET" and c.path == COMMENTS]
    assert pages == ["1", "2"]
    assert all(c.query.get("per_page") == "100" for c in gh.calls if c.path == COMMENTS)
    assert gh.count("POST", COMMENTS) == 0
    comments = gh.comments(REPO, PR)
    assert len(comments) == 121
    assert comments[-1]["id"] == ours and comments[-1]["body"] == MARKER + "\nnew report"
    assert url.endswith(f"#issuecomment-{ours}")


def test_push_event_finds_the_open_pull_request_of_this_repository(tmp_path: Path) -> None:
    """On push the PR comes from commits/{sha}/pulls, skipping other repositories' and closed PRs."""
    with GitHubServer() as gh:
        gh.add_pull("someone/models-fork", 3, head_sha=SHA)  # listed first, but another repository
        gh.add_pull(REPO, 5, head_sha=SHA, state="closed", merged=True)
        gh.add_pull(REPO, PR, head_sha=SHA, title="The open one")

        url, log = publish(settings_for(gh, tmp_path, event="push"))

        assert gh.count("GET", f"/repos/{REPO}/commits/{SHA}/pulls") == 1
        assert url.startswith(f"{gh.server_url}/{REPO}/pull/{PR}#issuecomment-")
        assert len(gh.comments(REPO, PR)) == 1
        assert gh.comments(REPO, 5) == [] and gh.comments("someone/models-fork", 3) == []
        assert f"Pull request #{PR}: The open one" in log


@pytest.mark.parametrize("event", ["pull_request", "pull_request_target"])
def test_pull_request_event_uses_the_payload_number(gh: GitHubServer, tmp_path: Path, event: str) -> None:
    """On pull_request(_target) the PR number comes from the event payload, without a commit lookup."""
    url, _ = publish(settings_for(gh, tmp_path, event=event, sha="ffff"))
    assert url != ""
    assert len(gh.comments(REPO, PR)) == 1
    assert not any("/commits/" in c.path for c in gh.calls)


def test_no_pull_request_means_a_notice_and_no_comment(gh: GitHubServer, tmp_path: Path) -> None:
    """A pushed commit that belongs to no open PR gets no comment: a notice, "" returned, nothing written."""
    url, log = publish(settings_for(gh, tmp_path, event="push", sha="abcdef"))
    assert url == ""
    assert "::notice title=PR comment skipped::" in log and "abcdef" in log
    assert "::warning" not in log
    assert gh.count("POST", COMMENTS) == 0


@pytest.mark.parametrize("event", ["workflow_dispatch", "schedule", "release"])
def test_event_without_pull_request_makes_no_github_call(gh: GitHubServer, tmp_path: Path, event: str) -> None:
    """A run whose event carries no pull request gets a notice naming the event and sends GitHub nothing."""
    url, log = publish(settings_for(gh, tmp_path, event=event))
    assert url == ""
    assert f"::notice title=PR comment skipped::No pull request comment: a {event} event has no pull request" in log
    assert "::warning" not in log
    assert gh.calls == []


def test_fork_pull_request_token_gets_a_warning_with_the_fix(gh: GitHubServer, tmp_path: Path) -> None:
    """A read-only token (fork PR) is refused with 403: one warning naming the permission, "" returned."""
    url, log = publish(settings_for(gh, tmp_path, token=FORK_TOKEN))
    assert url == ""
    [warning] = [line for line in log.splitlines() if line.startswith("::warning")]
    assert "Resource not accessible by integration" in warning
    assert "permissions: pull-requests: write" in warning and "fork" in warning
    assert gh.comments(REPO, PR) == []
    assert gh.count("POST", COMMENTS) == 1


def test_5xx_after_the_comment_was_stored_leaves_exactly_one(gh: GitHubServer, tmp_path: Path) -> None:
    """A create answered 502 after GitHub stored it is found by re-listing, never posted a second time."""
    gh.fail("POST", CREATE, 502, after_effect=True)
    url, log = publish(settings_for(gh, tmp_path), "report")
    [comment] = gh.comments(REPO, PR)
    assert url == comment["html_url"]
    assert comment["body"] == MARKER + "\nreport"
    assert gh.count("POST", COMMENTS) == 1
    assert "::warning" not in log


def test_dropped_connection_after_the_comment_was_stored_leaves_exactly_one(gh: GitHubServer, tmp_path: Path) -> None:
    """A create whose connection drops after GitHub stored it is not repeated either."""
    gh.fail("POST", CREATE, 0, after_effect=True)
    url, _ = publish(settings_for(gh, tmp_path))
    [comment] = gh.comments(REPO, PR)
    assert url == comment["html_url"]
    assert gh.count("POST", COMMENTS) == 1


def test_5xx_before_the_comment_was_stored_is_tried_once_more(gh: GitHubServer, tmp_path: Path) -> None:
    """A create that failed without storing anything is checked for, then posted a second time."""
    gh.fail("POST", CREATE, 503)
    url, _ = publish(settings_for(gh, tmp_path))
    [comment] = gh.comments(REPO, PR)
    assert url == comment["html_url"]
    assert gh.count("POST", COMMENTS) == 2
    assert gh.count("GET", COMMENTS) == 2  # the first look, and the look before the second create


def test_create_failing_twice_is_a_warning_not_a_third_post(gh: GitHubServer, tmp_path: Path) -> None:
    """When GitHub keeps failing the create, two attempts end in a warning and "", with nothing stored."""
    gh.fail("POST", CREATE, 502, times=5)
    url, log = publish(settings_for(gh, tmp_path))
    assert url == ""
    assert gh.count("POST", COMMENTS) == 2
    assert "::warning title=PR comment not written::Could not create a comment on pull request #7" in log
    assert "HTTP 502" in log and "re-run" in log


def test_reads_and_edits_are_retried_on_5xx(gh: GitHubServer, tmp_path: Path) -> None:
    """A 502 on listing comments or on the PATCH is retried by the transport and the run still succeeds."""
    existing = gh.add_comment(REPO, PR, MARKER + "\nold", author=GITHUB_ACTIONS_BOT)
    gh.fail("GET", COMMENTS, 502)
    gh.fail("PATCH", rf"/repos/{REPO}/issues/comments/{existing}", 502)
    url, log = publish(settings_for(gh, tmp_path), "new")
    assert url.endswith(f"#issuecomment-{existing}")
    assert gh.comments(REPO, PR)[0]["body"] == MARKER + "\nnew"
    assert gh.count("GET", COMMENTS) == 2 and gh.count("PATCH") == 2
    assert "::warning" not in log


def test_rate_limit_is_a_warning_without_waiting(gh: GitHubServer, tmp_path: Path) -> None:
    """A rate-limited token gets one warning saying so, and no retry that would hold the job."""
    gh.fail(
        "GET",
        COMMENTS,
        403,
        message="API rate limit exceeded for installation ID 1234.",
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1767225600"},
    )
    url, log = publish(settings_for(gh, tmp_path))
    assert url == ""
    assert gh.count("GET", COMMENTS) == 1
    assert "rate limit" in log and "resets at 00:00:00 UTC" in log
    assert gh.count("POST", COMMENTS) == 0


def test_validation_failure_is_a_warning_pointing_to_the_summary(gh: GitHubServer, tmp_path: Path) -> None:
    """A 422 on create is a definite refusal: one warning with GitHub's reason, no second attempt."""
    gh.fail("POST", CREATE, 422, message="Validation Failed")
    url, log = publish(settings_for(gh, tmp_path))
    assert url == ""
    assert "HTTP 422: Validation Failed" in log and "job summary" in log
    assert gh.count("POST", COMMENTS) == 1


def test_missing_pull_request_is_a_404_warning(gh: GitHubServer, tmp_path: Path) -> None:
    """A PR number GitHub does not know answers 404: a warning about access and GITHUB_API_URL."""
    url, log = publish(settings_for(gh, tmp_path, number=99))
    assert url == ""
    assert "Could not read the comments of pull request #99 (HTTP 404: Not Found)" in log
    assert gh.api_url in log


def test_rejected_token_is_a_warning_naming_the_input(gh: GitHubServer, tmp_path: Path) -> None:
    """A token GitHub rejects (401) is reported against the github-token input."""
    url, log = publish(settings_for(gh, tmp_path, token="ghp_revoked"))
    assert url == ""
    assert "Bad credentials" in log and "github-token" in log


def test_empty_token_is_a_warning_and_nothing_is_sent(gh: GitHubServer, tmp_path: Path) -> None:
    """Without a token nothing is sent to GitHub and the warning names the github-token input."""
    url, log = publish(settings_for(gh, tmp_path, token=""))
    assert url == ""
    assert "::warning" in log and "github-token" in log
    assert gh.calls == []


def test_unreachable_github_is_a_warning(tmp_path: Path) -> None:
    """A GitHub API nobody answers on is a network warning, not an exception."""
    with GitHubServer() as gh:
        settings = settings_for(gh, tmp_path)
    url, log = publish(settings)  # the server has stopped: connections are refused
    assert url == ""
    assert "was not reachable" in log and settings.context.api_url in log


def test_unreadable_event_payload_is_a_warning(gh: GitHubServer, tmp_path: Path) -> None:
    """A pull_request run whose payload file is not JSON warns about GITHUB_EVENT_PATH."""
    settings = settings_for(gh, tmp_path)
    Path(settings.context.event_path).write_text("{not json", encoding="utf-8")
    url, log = publish(settings)
    assert url == ""
    assert "Could not read the event payload" in log and "GITHUB_EVENT_PATH" in log


def test_body_over_the_limit_is_truncated_with_a_note(gh: GitHubServer, tmp_path: Path) -> None:
    """A 100,000-character report is cut below 65,536 with the marker kept, its code fence closed and a note."""
    body = "## Rollout\n```text\n" + "".join(f"log line {i:06d}\n" for i in range(6000)) + "```\n"
    assert len(body) > 90_000

    url, log = publish(settings_for(gh, tmp_path), body)

    [comment] = gh.comments(REPO, PR)
    text = comment["body"]
    assert url == comment["html_url"]
    assert len(text) <= 65_536
    assert text.startswith(MARKER + "\n## Rollout\n```text\nlog line 000000\n")
    assert "truncated" in text and "job summary" in text and f"{gh.server_url}/{REPO}/actions/runs/4242" in text
    before_note = text[: text.index("> [!NOTE]")]
    assert before_note.rstrip().endswith("\n```")  # the fence is closed before the note
    assert "::warning" not in log


def test_outside_text_never_starts_a_log_line(gh: GitHubServer, tmp_path: Path) -> None:
    """A PR title and a GitHub error message carrying ::set-output and newlines cannot start workflow commands."""
    hostile = "fine\n::set-output name=comment-url::https://evil.example\r\n##[error]pwned\n::add-mask::x"
    gh.add_pull(REPO, 8, head_sha="beef", title=hostile)
    gh.fail("POST", CREATE, 403, message=hostile)

    _, pr_log = publish(settings_for(gh, tmp_path, event="push", sha="beef"))
    _, payload_log = publish(settings_for(gh, tmp_path, number=8, title=hostile))

    for log in (pr_log, payload_log):
        assert_no_smuggled_commands(log)
        assert "set-output" in log  # the text is shown, only defused
    assert pr_log.count("::warning") == 1


def test_pygithub_is_not_imported_when_no_comment_can_be_written(tmp_path: Path) -> None:
    """A run that can write no comment (no PR number in the payload) never imports PyGithub."""
    event = tmp_path / "event.json"
    event.write_text("{}", encoding="utf-8")
    script = f"""
import io, sys
from sagemaker_async_deploy.comment import CommentSettings, publish_comment
from sagemaker_async_deploy.context import GitHubContext
from sagemaker_async_deploy.log import Log
context = GitHubContext("http://127.0.0.1:9", "http://127.0.0.1:9", "o/r", "abc", "pull_request", {str(event)!r}, "1")
out = io.StringIO()
assert publish_comment(CommentSettings("t", context), "whisper", "body", Log(out)) == ""
assert "::notice" in out.getvalue(), out.getvalue()
print(sorted(m for m in sys.modules if m == "github" or m.startswith("github.")))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"


def test_github_enterprise_server_paths(tmp_path: Path) -> None:
    """With GITHUB_API_URL ending in /api/v3, REST and GraphQL (/api/graphql) both go to the right paths."""
    with GitHubServer(api_prefix="/api/v3") as gh:
        gh.add_pull(REPO, PR, head_sha=SHA)
        settings = settings_for(gh, tmp_path)
        assert settings.context.api_url.endswith("/api/v3")
        first, _ = publish(settings, "one")
        second, _ = publish(settings, "two")
        assert first == second != ""
        assert [c["body"] for c in gh.comments(REPO, PR)] == [MARKER + "\ntwo"]
        assert gh.count("POST", "/graphql") == 2
