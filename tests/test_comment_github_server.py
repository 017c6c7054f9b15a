"""The GitHub test server answers like GitHub, so tests built on it mean something."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.github_server import FORK_TOKEN, USER_TOKEN, WORKFLOW_TOKEN, GitHubServer

REPO = "octo/models"


@pytest.fixture
def gh() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        server.add_pull(REPO, 7, head_sha="abc")
        yield server


def call(
    url: str, token: str = WORKFLOW_TOKEN, method: str = "GET", body: Any = None
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.load(error)


def test_comments_paginate_with_absolute_link_headers(gh: GitHubServer) -> None:
    """Listing comments pages with Link headers whose absolute URLs lead back to this server."""
    for i in range(5):
        gh.add_comment(REPO, 7, f"c{i}")
    url = f"{gh.api_url}/repos/{REPO}/issues/7/comments?per_page=2"
    bodies: list[str] = []
    while url:
        status, headers, page = call(url)
        assert status == 200
        bodies += [c["body"] for c in page]
        links = dict((rel, link) for link, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', headers.get("Link", "")))
        assert all(link.startswith(gh.api_url + "/repos/") for link in links.values())
        url = links.get("next", "")
    assert bodies == [f"c{i}" for i in range(5)]
    assert [c.query.get("page", "1") for c in gh.calls] == ["1", "2", "3"]


def test_comment_json_has_githubs_shape_and_absolute_urls(gh: GitHubServer) -> None:
    """A created comment carries id, node_id, absolute url/html_url/issue_url, user, and timestamps."""
    status, _, comment = call(f"{gh.api_url}/repos/{REPO}/issues/7/comments", method="POST", body={"body": "hi"})
    assert status == 201
    assert comment["url"] == f"{gh.api_url}/repos/{REPO}/issues/comments/{comment['id']}"
    assert comment["html_url"] == f"{gh.server_url}/{REPO}/pull/7#issuecomment-{comment['id']}"
    assert comment["issue_url"] == f"{gh.api_url}/repos/{REPO}/issues/7"
    assert comment["user"] | {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"} == comment["user"]
    assert {"node_id", "created_at", "updated_at", "body"} <= comment.keys()


def test_user_endpoint_refuses_installation_tokens(gh: GitHubServer) -> None:
    """GET /user answers 403 for a workflow token, the user for a personal token, 401 for an unknown one."""
    status, _, refusal = call(f"{gh.api_url}/user")
    assert (status, refusal["message"]) == (403, "Resource not accessible by integration")
    status, _, user = call(f"{gh.api_url}/user", token=USER_TOKEN)
    assert (status, user["login"], user["type"]) == (200, "alice", "User")
    assert call(f"{gh.api_url}/user", token="nope")[0] == 401


def test_graphql_viewer_names_the_bot_for_installation_tokens(gh: GitHubServer) -> None:
    """GraphQL viewer answers the bot's login and database id for a workflow token."""
    query = {"query": "query { viewer { login databaseId } }", "variables": {}}
    _, _, answer = call(f"{gh.api_url}/graphql", method="POST", body=query)
    assert answer == {"data": {"viewer": {"login": "github-actions[bot]", "databaseId": 41898282}}}


def test_writes_are_refused_for_read_only_tokens_and_long_bodies(gh: GitHubServer) -> None:
    """A fork's read-only token gets 403 on writes; a body over 65,536 characters gets 422, nothing stored."""
    url = f"{gh.api_url}/repos/{REPO}/issues/7/comments"
    status, _, refusal = call(url, token=FORK_TOKEN, method="POST", body={"body": "hi"})
    assert (status, refusal["message"]) == (403, "Resource not accessible by integration")
    status, _, invalid = call(url, method="POST", body={"body": "x" * 65_537})
    assert status == 422 and "maximum is 65536 characters" in invalid["errors"][0]["message"]
    assert gh.comments(REPO, 7) == []


def test_faults_apply_as_many_times_as_asked(gh: GitHubServer) -> None:
    """An injected fault answers its status for the given number of matching requests, then stops."""
    gh.fail(
        "GET", r"/repos/octo/models", 403, message="API rate limit exceeded", headers={"X-RateLimit-Remaining": "0"}
    )
    status, headers, _ = call(f"{gh.api_url}/repos/{REPO}")
    assert (status, headers["X-RateLimit-Remaining"]) == (403, "0")
    assert call(f"{gh.api_url}/repos/{REPO}")[0] == 200


def test_fault_after_effect_stores_before_failing(gh: GitHubServer) -> None:
    """An after-effect fault stores the comment and only then answers the error."""
    gh.fail("POST", r".*/comments", 502, after_effect=True)
    status, _, _ = call(f"{gh.api_url}/repos/{REPO}/issues/7/comments", method="POST", body={"body": "hi"})
    assert status == 502
    assert [c["body"] for c in gh.comments(REPO, 7)] == ["hi"]
