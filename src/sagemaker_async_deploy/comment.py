"""The sticky pull-request comment: one per endpoint, found by a hidden marker, edited in place on every run.

The comment is secondary to the deployment: whatever GitHub answers (403 on fork pull requests, 404, 422,
rate limits, 5xx, network errors), :func:`publish_comment` writes one ``::warning`` that says what failed
and what to do, and returns "". It never raises, so the deployment's result and exit status stand.

PyGithub is imported inside the functions that talk to GitHub: a run that writes no comment does not pay
for importing it.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sagemaker_async_deploy.context import GitHubContext
from sagemaker_async_deploy.log import Log, safe

if TYPE_CHECKING:
    from github import Github
    from github.Issue import Issue
    from github.IssueComment import IssueComment

MAX_BODY_CHARS = 65536  # GitHub refuses a longer comment body with 422
# Comments a workflow's GITHUB_TOKEN writes are authored by this bot: who we are when the token cannot say.
ACTIONS_BOT_LOGIN = "github-actions[bot]"
PULL_REQUEST_EVENTS = frozenset({"pull_request", "pull_request_target"})
# A push's commit may be the head of an open pull request, looked up through the API. Other events (manual,
# scheduled, release, …) belong to no pull request: they end before PyGithub is imported or GitHub is called.
COMMIT_PULL_EVENTS = frozenset({"push"})
_VIEWER_QUERY = "query { viewer { login databaseId } }"
_RETRIED_STATUSES = (500, 502, 503, 504)


@dataclass(frozen=True)
class CommentSettings:
    """How to reach GitHub for the comment. The defaults suit a workflow run; tests shorten the waits."""

    token: str
    context: GitHubContext
    timeout: int = 20  # seconds per request
    retries: int = 3  # transport retries of reads and edits on 5xx and connection failures
    backoff: float = 1.0  # seconds; also the pause before re-reading comments after a failed create
    seconds_between_writes: float = 0.5  # PyGithub pauses between writes; its 1 s default is for bulk use


@dataclass(frozen=True)
class _PullRef:
    number: int
    title: str


@dataclass(frozen=True)
class _Identity:
    """Who the token writes as; ``id`` is None when only the login is known."""

    login: str
    id: int | None


class _NoPullRequest(Exception):
    """There is no pull request to comment on; the message says why (a notice, not a warning)."""


def comment_marker(endpoint_name: str) -> str:
    """The hidden HTML comment that identifies this action's comment for one endpoint."""
    # Endpoint names are [a-zA-Z0-9-]; anything else is percent-quoted so the marker cannot end early.
    name = re.sub(r"[^A-Za-z0-9._-]", lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), endpoint_name)
    return f"<!-- sagemaker-async-deploy:endpoint={name} -->"


def _utf16_len(text: str) -> int:
    # GitHub does not document whether its limit counts code points or UTF-16 units; UTF-16 units are never
    # fewer, so a body that fits in them fits either way.
    return len(text.encode("utf-16-le")) // 2


def _closers(text: str) -> str:
    """What must be appended so a cut-off Markdown text leaves no code fence or <details> open."""
    fence = ""
    open_details = 0
    for line in text.split("\n"):
        match = re.match(r" {0,3}(`{3,}|~{3,})(.*)$", line)
        if fence:
            # A closing fence: same character, at least as long, nothing after it.
            if match and match[1][0] == fence[0] and len(match[1]) >= len(fence) and not match[2].strip():
                fence = ""
            continue
        if match and not (match[1][0] == "`" and "`" in match[2]):
            fence = match[1]
            continue
        open_details += len(re.findall(r"<details\b", line, re.I)) - len(re.findall(r"</details>", line, re.I))
    closing = f"\n{fence}" if fence else ""
    return closing + "\n</details>" * max(open_details, 0)


def fit_comment_body(body: str, marker: str, run_url: str = "") -> str:
    """The body with the marker on its first line, cut to GitHub's limit with a note if it is too long.

    A cut happens at a line break, closes any open code fence or <details>, and points to the job summary,
    which holds the full report.
    """
    text = marker + "\n" + body.replace(marker, "").lstrip("\n")
    if _utf16_len(text) <= MAX_BODY_CHARS:
        return text
    where = f"the job summary of [the workflow run]({run_url})" if run_url else "this run's job summary"
    note = (
        "\n\n> [!NOTE]\n"
        f"> This comment was truncated to fit GitHub's limit of {MAX_BODY_CHARS:,} characters; "
        f"the full report is in {where}.\n"
    )
    budget = MAX_BODY_CHARS - _utf16_len(note)
    while True:
        cut = text[:budget]
        while _utf16_len(cut) > budget:
            # A character outside the BMP is two UTF-16 units: dropping half the excess in characters at least
            # is never too much, and a few rounds reach the budget.
            cut = cut[: len(cut) - max((_utf16_len(cut) - budget + 1) // 2, 1)]
        newline = cut.rfind("\n")
        if newline > len(marker):
            cut = cut[:newline]
        result = cut + _closers(cut) + note
        overflow = _utf16_len(result) - MAX_BODY_CHARS
        if overflow <= 0:
            return result
        # From what was kept, not from the budget: after a cut at a line break the same budget would keep the
        # same text, and a long last line would take one round per character.
        # Never below the marker, which holds no <details> or fence and so always fits.
        budget = max(min(budget, _utf16_len(cut)) - overflow, _utf16_len(marker) + 1)


def publish_comment(settings: CommentSettings, endpoint_name: str, body: str, log: Log) -> str:
    """Create or update this endpoint's comment on the run's pull request; return its html_url or "".

    "" means no comment was written, and a ``::notice`` (no pull request) or ``::warning`` (GitHub
    refused or failed) says why. Never raises.
    """
    context = settings.context
    marker = comment_marker(endpoint_name)
    text = fit_comment_body(body, marker, context.run_url)
    step = "read the event payload"
    try:
        if not settings.token:
            log.warning(
                "No GitHub token, so no pull request comment was written. "
                "Set the github-token input (its default is the workflow's GITHUB_TOKEN).",
                title="PR comment skipped",
            )
            return ""
        if not context.repository:
            raise _NoPullRequest("GITHUB_REPOSITORY is not set")
        pull = _pull_from_payload(context)
        if pull is None and context.event_name not in COMMIT_PULL_EVENTS:
            raise _NoPullRequest(f"a {context.event_name or '(unnamed)'} event has no pull request")
        step = "reach GitHub"

        from github import Auth, Github  # imported here: runs without a comment never load PyGithub
        from urllib3.util.retry import Retry

        retry = Retry(
            total=settings.retries,
            connect=settings.retries,
            read=settings.retries,
            status=settings.retries,
            backoff_factor=settings.backoff,
            status_forcelist=_RETRIED_STATUSES,
            # Reads and edits repeat safely. POST does not: a create whose answer was lost may have stored
            # the comment, so _create looks before posting again (and GraphQL reads fall back instead).
            allowed_methods=frozenset({"GET", "HEAD", "PATCH"}),
            raise_on_status=False,  # the last 5xx reaches PyGithub and becomes a GithubException
            # A server asking for a long wait gets it on the next run, not by holding the deployment job.
            respect_retry_after_header=False,
        )
        gh = Github(
            auth=Auth.Token(settings.token),
            base_url=context.api_url,
            timeout=settings.timeout,
            per_page=100,
            retry=retry,
            seconds_between_requests=0,
            seconds_between_writes=settings.seconds_between_writes,
            lazy=True,  # act on repositories and issues by URL without fetching each one first
        )
        try:
            repo = gh.get_repo(context.repository)
            if pull is None:
                step = f"look up the pull request of commit {context.sha[:12]}"
                pull = _pull_from_commit(gh, context)
            log.info(f"Pull request #{pull.number}: {safe(pull.title)}")
            step = "find out which account the token writes as"
            me = _token_identity(gh)
            log.info(f"Commenting as {safe(me.login)}")
            issue = repo.get_issue(pull.number)
            step = f"read the comments of pull request #{pull.number}"
            existing = _find_own_comment(issue, marker, me)
            if existing is not None:
                step = f"update comment {existing.id} on pull request #{pull.number}"
                if existing.body != text:
                    existing.edit(text)
                log.info(f"Updated the comment for endpoint {safe(endpoint_name)}: {safe(existing.html_url)}")
                return existing.html_url
            step = f"create a comment on pull request #{pull.number}"
            url = _create(issue, text, marker=marker, me=me, settings=settings, log=log)
            log.info(f"Created the comment for endpoint {safe(endpoint_name)}: {safe(url)}")
            return url
        finally:
            gh.close()
    except _NoPullRequest as reason:
        log.notice(f"No pull request comment: {reason}.", title="PR comment skipped")
        return ""
    # The deployment's outcome must stand whatever happens here, so every failure becomes a warning.
    except Exception as exc:
        log.warning(_explain(step, exc, context), title="PR comment not written")
        return ""


def _pull_from_payload(context: GitHubContext) -> _PullRef | None:
    """The pull request of a pull_request / pull_request_target run, from the event payload; else None."""
    if context.event_name not in PULL_REQUEST_EVENTS:
        return None
    if not context.event_path:
        raise _NoPullRequest(f"the {context.event_name} event came without a payload (GITHUB_EVENT_PATH)")
    with open(context.event_path, encoding="utf-8") as handle:
        payload = json.load(handle)
    pull_request = payload.get("pull_request") if isinstance(payload, dict) else None
    number = pull_request.get("number") if isinstance(pull_request, dict) else None
    if not isinstance(number, int):
        raise _NoPullRequest(f"the {context.event_name} event payload names no pull request number")
    title = pull_request.get("title") if isinstance(pull_request, dict) else ""
    return _PullRef(number, title if isinstance(title, str) else "")


def _pull_from_commit(gh: Github, context: GitHubContext) -> _PullRef:
    """The open pull request of this repository associated with the run's commit."""
    if not context.sha:
        raise _NoPullRequest("GITHUB_SHA is not set, so no pull request can be associated with the run")
    repo = gh.get_repo(context.repository)
    for pr in repo.get_commit(context.sha).get_pulls():
        # The list can include pull requests of other repositories (a fork's commit seen from its parent);
        # only one into this repository is the run's own.
        if pr.base.repo.full_name.lower() != context.repository.lower():
            continue
        # The first open one, in GitHub's order. A merged or closed pull request is a record its reviewers
        # already acted on; a push after the merge does not rewrite its report.
        if pr.state == "open":
            return _PullRef(pr.number, pr.title or "")
    raise _NoPullRequest(f"commit {context.sha[:12]} belongs to no open pull request of {context.repository}")


def _token_identity(gh: Github) -> _Identity:
    """The account the token writes comments as.

    GraphQL ``viewer`` answers for personal and installation tokens alike (a GitHub App's bot is
    "name[bot]"). GET /user is the fallback where GraphQL is not reachable; a workflow's GITHUB_TOKEN is
    refused there (403), and its comments are authored by github-actions[bot].
    """
    from github import BadCredentialsException, GithubException, RateLimitExceededException
    from requests.exceptions import RequestException

    try:
        _, data = gh.requester.graphql_query(_VIEWER_QUERY, {})
        viewer = (data.get("data") or {}).get("viewer") or {}
        login, user_id = viewer.get("login"), viewer.get("databaseId")
        if isinstance(login, str) and login:
            return _Identity(login, user_id if isinstance(user_id, int) else None)
    except (BadCredentialsException, RateLimitExceededException):
        raise
    except (GithubException, RequestException):
        pass
    try:
        user = gh.get_user()
        return _Identity(user.login, user.id)
    except GithubException as exc:
        if exc.status == 403 and not isinstance(exc, RateLimitExceededException):
            return _Identity(ACTIONS_BOT_LOGIN, None)
        raise


def _is_own(comment: IssueComment, me: _Identity) -> bool:
    user = comment.user
    if user is None:  # a deleted account ("ghost") shows as no user
        return False
    if me.id is not None:
        return bool(user.id == me.id)
    return bool(user.login.lower() == me.login.lower())


def _find_own_comment(issue: Issue, marker: str, me: _Identity) -> IssueComment | None:
    """The oldest comment that starts with the marker and that the token's own account wrote (never someone
    else's). Starting with it, not merely containing it: our comment on another endpoint may quote this one's
    marker in a code block."""
    for comment in issue.get_comments():
        if (comment.body or "").startswith(marker) and _is_own(comment, me):
            return comment
    return None


def _create(issue: Issue, text: str, *, marker: str, me: _Identity, settings: CommentSettings, log: Log) -> str:
    """Create the comment, never leaving two: a create without a clear answer is checked before a retry."""
    from github import GithubException
    from requests.exceptions import RequestException

    for attempt in (1, 2):
        try:
            return issue.create_comment(text).html_url
        except (GithubException, RequestException) as exc:
            ambiguous = isinstance(exc, RequestException) or (exc.status >= 500)
            if not ambiguous or attempt == 2:
                raise
            log.info(f"Creating the comment got no clear answer ({_short(exc)}); checking whether it exists")
        time.sleep(settings.backoff)
        stored = _find_own_comment(issue, marker, me)
        if stored is not None:
            if stored.body != text:
                stored.edit(text)
            return stored.html_url
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _short(exc: BaseException) -> str:
    """A one-line description of a GitHub or network error, its message cut to a readable length."""
    from github import GithubException

    if isinstance(exc, GithubException):
        data: Any = exc.data
        message = data.get("message") if isinstance(data, dict) else None
        detail = message or exc.message or ""
        errors = data.get("errors") if isinstance(data, dict) else None
        if isinstance(errors, list):
            extra = [e.get("message") for e in errors if isinstance(e, dict) and e.get("message")]
            detail = "; ".join([detail, *map(str, extra)]) if extra else detail
        text = f"HTTP {exc.status}: {detail}" if detail else f"HTTP {exc.status}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    # GitHub's messages are outside text: defused here so no caller can print one raw.
    return safe(text if len(text) <= 300 else text[:297] + "...")


def _explain(step: str, exc: BaseException, context: GitHubContext) -> str:
    """The warning for a failed step: what failed, GitHub's answer, and what to do about it."""
    from github import BadCredentialsException, GithubException, RateLimitExceededException
    from requests.exceptions import RequestException

    what = f"Could not {step} ({_short(exc)})."
    if isinstance(exc, BadCredentialsException):
        fix = "GitHub rejected the github-token input: check the secret it names, or leave it at its default."
    elif isinstance(exc, RateLimitExceededException):
        reset = (exc.headers or {}).get("x-ratelimit-reset", "")
        when = time.strftime(" at %H:%M:%S UTC", time.gmtime(int(reset))) if reset.isdigit() else ""
        fix = f"The token's API rate limit is used up; it resets{when}. The next run updates the comment."
    elif isinstance(exc, GithubException) and exc.status == 403:
        fix = (
            "The token may not write to pull requests: give the job `permissions: pull-requests: write`. "
            "Pull requests from forks get a read-only GITHUB_TOKEN, so no comment can be written there; "
            "the job summary has the report."
        )
    elif isinstance(exc, GithubException) and exc.status == 404:
        fix = (
            f"GitHub does not show {context.repository} or the pull request to this token: check the token's "
            f"repository access and that GITHUB_API_URL ({context.api_url}) is this repository's server."
        )
    elif isinstance(exc, GithubException) and exc.status == 422:
        fix = "GitHub refused the comment's content; the job summary has the full report."
    elif isinstance(exc, GithubException) and exc.status >= 500:
        fix = "GitHub had a server error; re-run the job to update the comment."
    elif isinstance(exc, GithubException):
        fix = "The job summary has the full report."
    elif isinstance(exc, RequestException):
        fix = f"GitHub's API at {context.api_url} was not reachable; re-run the job to update the comment."
    elif step == "read the event payload" and isinstance(exc, (OSError, ValueError)):
        fix = f"GITHUB_EVENT_PATH ({context.event_path}) should name the event's JSON payload."
    else:
        fix = "This is a bug in sagemaker-async-deploy; the deployment's result is not affected."
    # The URLs and paths in it come from the environment: defused like any outside text.
    return safe(f"{what} {fix} The deployment's result is not affected.")
