"""A local GitHub REST API server for tests: real HTTP on loopback that PyGithub, unmodified, talks to.

It serves the part of the API the action uses, with GitHub's response shapes (absolute ``url`` and
``html_url`` pointing back at this server, ``user: {login, id, type}``, timestamps, ``node_id``), paginates
with ``Link`` headers, answers per token the way GitHub answers per token kind, and lets a test inject the
failures GitHub really produces. Every request is recorded so tests can count calls.

Usage::

    with GitHubServer() as gh:
        gh.add_pull("octo/app", 7, head_sha="abc")
        ...  # point the code under test at gh.api_url with token WORKFLOW_TOKEN
        assert gh.count("POST", "/repos/octo/app/issues/7/comments") == 1
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

MAX_COMMENT_BODY = 65536
INTEGRATION_REFUSAL = "Resource not accessible by integration"
DOCS = "https://docs.github.com/rest"


@dataclass(frozen=True)
class Identity:
    """Who a token acts as. ``installation`` tokens (GITHUB_TOKEN, app tokens) cannot call GET /user."""

    login: str
    id: int
    type: str = "User"  # "User" or "Bot", as GitHub reports it in ``user.type``
    installation: bool = False
    can_write: bool = True  # False: the read-only token a workflow gets on a pull request from a fork

    def user_json(self, base: str) -> dict[str, Any]:
        return {
            "login": self.login,
            "id": self.id,
            "node_id": f"U_{self.id}",
            "type": self.type,
            "site_admin": False,
            "url": f"{base}/users/{self.login}",
            "html_url": f"{base.rsplit('/api/v3', 1)[0]}/{self.login}",
        }


# The identities GitHub gives the usual tokens; the ids are GitHub's own for the bot.
GITHUB_ACTIONS_BOT = Identity("github-actions[bot]", 41898282, "Bot", installation=True)
WORKFLOW_TOKEN = "ghs_workflowtoken"  # a workflow's GITHUB_TOKEN with pull-requests: write
FORK_TOKEN = "ghs_forkreadonlytoken"  # the read-only GITHUB_TOKEN of a pull request from a fork
USER_TOKEN = "ghp_alicepersonaltoken"  # a personal access token of the user "alice"
ALICE = Identity("alice", 1001)
BOB = Identity("bob", 1002)
DEFAULT_TOKENS: dict[str, Identity] = {
    WORKFLOW_TOKEN: GITHUB_ACTIONS_BOT,
    FORK_TOKEN: Identity("github-actions[bot]", 41898282, "Bot", installation=True, can_write=False),
    USER_TOKEN: ALICE,
}


@dataclass
class Fault:
    """A failure injected for requests whose method and path match, for the next ``times`` of them.

    ``status`` 0 drops the connection without an answer. With ``after_effect`` the request is carried
    out first (the comment is stored) and only the answer fails — the ambiguous case clients must handle.
    """

    method: str
    path: str  # regular expression matched against the path without the API prefix
    status: int = 502
    message: str = "Server Error"
    times: int = 1
    after_effect: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and method == self.method and re.fullmatch(self.path, path) is not None


@dataclass(frozen=True)
class Call:
    """One request the server received."""

    method: str
    path: str  # without the API prefix, e.g. /repos/octo/app/issues/7/comments
    query: dict[str, str]
    token: str


class _Reply(Exception):
    """Raised inside a handler to answer with a GitHub-style error."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.payload: dict[str, Any] = {"message": message, "documentation_url": DOCS, **extra}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubServer:
    """The GitHub REST API (and GraphQL ``viewer``) on ``http://127.0.0.1:<port><api_prefix>``.

    ``api_prefix`` "" serves like api.github.com; "/api/v3" like GitHub Enterprise Server (GraphQL then
    lives at /api/graphql, as PyGithub derives it).
    """

    def __init__(self, *, api_prefix: str = "", tokens: dict[str, Identity] | None = None) -> None:
        self.api_prefix = api_prefix.rstrip("/")
        self.tokens = dict(DEFAULT_TOKENS if tokens is None else tokens)
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self._repos: dict[str, int] = {}
        self._pulls: dict[tuple[str, int], dict[str, Any]] = {}
        self._comments: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self._ids = itertools.count(900_000_001)
        self._lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> GitHubServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._serve, name="github-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        assert self._server is not None
        # A short poll keeps stop() quick: shutdown waits for the serving loop's next poll.
        self._server.serve_forever(poll_interval=0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def origin(self) -> str:
        assert self._server is not None, "server not started"
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def api_url(self) -> str:
        """What the runner puts in GITHUB_API_URL."""
        return self.origin + self.api_prefix

    @property
    def server_url(self) -> str:
        """What the runner puts in GITHUB_SERVER_URL (the web UI: html_url values live here)."""
        return self.origin

    # ----------------------------------------------------------------- state set up by tests

    def add_repo(self, full_name: str) -> None:
        with self._lock:
            self._repos.setdefault(full_name, 10_000 + len(self._repos))

    def add_pull(
        self,
        repo: str,
        number: int,
        *,
        title: str = "Roll out the new model",
        state: str = "open",
        head_sha: str = "",
        merged: bool = False,
    ) -> None:
        """A pull request in ``repo``; its ``head_sha`` is what GET commits/{sha}/pulls associates it with."""
        self.add_repo(repo)
        with self._lock:
            self._pulls[(repo, number)] = {
                "title": title,
                "state": state,
                "head_sha": head_sha,
                "merged": merged,
                "created_at": _now(),
            }
            self._comments.setdefault((repo, number), [])

    def add_comment(self, repo: str, number: int, body: str, *, author: Identity = BOB) -> int:
        """Seed a comment as if ``author`` had written it; returns its id."""
        with self._lock:
            return self._store_comment(repo, number, body, author)["id"]  # type: ignore[no-any-return]

    def comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        """The comments on an issue or pull request, oldest first (in the API's JSON shape)."""
        with self._lock:
            return [self._comment_json(c) for c in self._comments.get((repo, number), [])]

    def fail(self, method: str, path: str, status: int = 502, **kwargs: Any) -> Fault:
        """Inject a fault; ``path`` is a regular expression on the path without the API prefix."""
        fault = Fault(method, path, status, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def count(self, method: str, path: str | None = None) -> int:
        """How many requests with this method (and exactly this path, if given) the server received."""
        return sum(1 for c in self.calls if c.method == method and (path is None or c.path == path))

    # ----------------------------------------------------------------- JSON shapes

    def _repo_json(self, full_name: str) -> dict[str, Any]:
        owner, name = full_name.split("/", 1)
        rid = self._repos[full_name]
        return {
            "id": rid,
            "node_id": f"R_{rid}",
            "name": name,
            "full_name": full_name,
            "private": False,
            "owner": {
                "login": owner,
                "id": rid + 1,
                "type": "Organization",
                "url": f"{self.api_url}/users/{owner}",
            },
            "url": f"{self.api_url}/repos/{full_name}",
            "html_url": f"{self.server_url}/{full_name}",
            "default_branch": "main",
        }

    def _pull_json(self, repo: str, number: int) -> dict[str, Any]:
        pull = self._pulls[(repo, number)]
        api = f"{self.api_url}/repos/{repo}"
        return {
            "id": 500_000 + number,
            "node_id": f"PR_{repo}_{number}",
            "number": number,
            "state": pull["state"],
            "title": pull["title"],
            "merged": pull["merged"],
            "user": ALICE.user_json(self.api_url),
            "url": f"{api}/pulls/{number}",
            "html_url": f"{self.server_url}/{repo}/pull/{number}",
            "issue_url": f"{api}/issues/{number}",
            "comments_url": f"{api}/issues/{number}/comments",
            "created_at": pull["created_at"],
            "updated_at": pull["created_at"],
            "head": {"sha": pull["head_sha"], "ref": "feature", "repo": self._repo_json(repo)},
            "base": {"sha": "0" * 40, "ref": "main", "repo": self._repo_json(repo)},
        }

    def _issue_json(self, repo: str, number: int) -> dict[str, Any]:
        pull = self._pull_json(repo, number)
        return {
            "id": 600_000 + number,
            "node_id": f"I_{repo}_{number}",
            "number": number,
            "state": pull["state"],
            "title": pull["title"],
            "user": pull["user"],
            "url": pull["issue_url"],
            "html_url": pull["html_url"],
            "comments_url": pull["comments_url"],
            "comments": len(self._comments.get((repo, number), [])),
            "pull_request": {"url": pull["url"], "html_url": pull["html_url"]},
            "created_at": pull["created_at"],
            "updated_at": pull["updated_at"],
        }

    def _comment_json(self, stored: dict[str, Any]) -> dict[str, Any]:
        repo, number, cid = stored["repo"], stored["number"], stored["id"]
        author: Identity = stored["author"]
        return {
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": f"{self.api_url}/repos/{repo}/issues/comments/{cid}",
            "html_url": f"{self.server_url}/{repo}/pull/{number}#issuecomment-{cid}",
            "issue_url": f"{self.api_url}/repos/{repo}/issues/{number}",
            "body": stored["body"],
            "user": author.user_json(self.api_url),
            "author_association": "NONE" if author.type == "Bot" else "MEMBER",
            "created_at": stored["created_at"],
            "updated_at": stored["updated_at"],
        }

    def _store_comment(self, repo: str, number: int, body: str, author: Identity) -> dict[str, Any]:
        stamp = _now()
        stored = {
            "id": next(self._ids),
            "repo": repo,
            "number": number,
            "body": body,
            "author": author,
            "created_at": stamp,
            "updated_at": stamp,
        }
        self._comments.setdefault((repo, number), []).append(stored)
        return stored

    # ----------------------------------------------------------------- HTTP

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path
        if self.api_prefix:
            graphql_path = self.api_prefix.removesuffix("/v3") + "/graphql"
            path = "/graphql" if path == graphql_path else path.removeprefix(self.api_prefix)
        auth = request.headers.get("Authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else ""
        with self._lock:
            self.calls.append(Call(request.method, path, dict(request.args), token))
            fault = next((f for f in self.faults if f.matches(request.method, path)), None)
            if fault is not None:
                fault.times -= 1
        if fault is not None and not fault.after_effect:
            return self._fault(fault, environ, start_response)
        response = self._respond(request, path, token)
        if fault is not None:
            return self._fault(fault, environ, start_response)
        return response(environ, start_response)

    def _fault(self, fault: Fault, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if fault.status == 0:
            # Close the socket under the handler: the client sees the connection end without an answer.
            start_response("502 Bad Gateway", [("Content-Length", "0")])
            sock: socket.socket = environ["werkzeug.socket"]
            sock.shutdown(socket.SHUT_RDWR)
            return []
        payload = {"message": fault.message, "documentation_url": DOCS}
        response = self._json(payload, fault.status, fault.headers)
        return response(environ, start_response)

    def _json(self, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        response = Response(json.dumps(payload), status=status, content_type="application/json; charset=utf-8")
        response.headers["X-RateLimit-Limit"] = "5000"
        response.headers["X-RateLimit-Remaining"] = "4999"
        response.headers["X-RateLimit-Reset"] = str(int(time.time()) + 3600)
        response.headers["X-GitHub-Request-Id"] = f"TEST:{len(self.calls)}"
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response

    def _respond(self, request: Request, path: str, token: str) -> Response:
        try:
            identity = self.tokens.get(token)
            if identity is None:
                raise _Reply(401, "Bad credentials")
            with self._lock:
                return self._route(request, path, identity)
        except _Reply as reply:
            return self._json(reply.payload, reply.status)

    def _route(self, request: Request, path: str, who: Identity) -> Response:
        method = request.method
        if method == "POST" and path == "/graphql":
            return self._graphql(request, who)
        if method == "GET" and path == "/user":
            if who.installation:
                raise _Reply(403, INTEGRATION_REFUSAL)
            return self._json(who.user_json(self.api_url))
        if method == "GET" and path == "/rate_limit":
            core = {"limit": 5000, "remaining": 4999, "reset": int(time.time()) + 3600, "used": 1}
            return self._json({"resources": {"core": core}, "rate": core})

        match = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)?", path)
        if match is None:
            raise _Reply(404, "Not Found")
        repo, rest = match.group(1), match.group(2) or ""
        if repo not in self._repos:
            raise _Reply(404, "Not Found")
        if method == "GET" and rest == "":
            return self._json(self._repo_json(repo))

        if method == "GET" and (m := re.fullmatch(r"/commits/([0-9a-fA-F]+)", rest)):
            return self._json({"sha": m[1], "url": f"{self.api_url}/repos/{repo}/commits/{m[1]}"})
        if method == "GET" and (m := re.fullmatch(r"/commits/([0-9a-fA-F]+)/pulls", rest)):
            # Like GitHub, the list may include pull requests of other repositories (forks, parents).
            found = [self._pull_json(r, n) for (r, n), p in self._pulls.items() if p["head_sha"] == m[1]]
            return self._paginate(request, path, found)
        if m := re.fullmatch(r"/(pulls|issues)/(\d+)", rest):
            number = int(m.group(2))
            if method == "GET" and (repo, number) in self._pulls:
                if m.group(1) == "pulls":
                    return self._json(self._pull_json(repo, number))
                return self._json(self._issue_json(repo, number))
            raise _Reply(404, "Not Found")
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            number = int(m.group(1))
            if (repo, number) not in self._pulls:
                raise _Reply(404, "Not Found")
            if method == "GET":
                listed = [self._comment_json(c) for c in self._comments[(repo, number)]]
                return self._paginate(request, path, listed)
            if method == "POST":
                body = self._body_of(request, who)
                return self._json(self._comment_json(self._store_comment(repo, number, body, who)), 201)
        if m := re.fullmatch(r"/issues/comments/(\d+)", rest):
            cid = int(m.group(1))
            stored = next((c for cs in self._comments.values() for c in cs if c["id"] == cid), None)
            if stored is None or stored["repo"] != repo:
                raise _Reply(404, "Not Found")
            if method == "GET":
                return self._json(self._comment_json(stored))
            if method == "PATCH":
                # GitHub lets anyone with write access edit any comment: not editing someone else's
                # comment is the client's job, so the server does not refuse it either.
                stored["body"] = self._body_of(request, who)
                stored["updated_at"] = _now()
                return self._json(self._comment_json(stored))
        raise _Reply(404, "Not Found")

    def _body_of(self, request: Request, who: Identity) -> str:
        if not who.can_write:
            raise _Reply(403, INTEGRATION_REFUSAL)
        payload = request.get_json(force=True, silent=True)  # GitHub reads JSON whatever the Content-Type
        body = payload.get("body") if isinstance(payload, dict) else None
        if not isinstance(body, str):
            raise _Reply(422, 'Invalid request.\n\nNo subschema in "anyOf" matched.')
        if len(body) > MAX_COMMENT_BODY:
            raise _Reply(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "IssueComment",
                        "code": "custom",
                        "field": "body",
                        "message": f"body is too long (maximum is {MAX_COMMENT_BODY} characters)",
                    }
                ],
            )
        return body

    def _graphql(self, request: Request, who: Identity) -> Response:
        payload = request.get_json(force=True, silent=True) or {}
        query = str(payload.get("query", ""))
        if re.search(r"\bviewer\s*\{", query):
            # GitHub answers viewer for installation tokens too, with the app's bot login ("name[bot]").
            return self._json({"data": {"viewer": {"login": who.login, "databaseId": who.id}}})
        return self._json({"errors": [{"message": "The test server only answers viewer queries"}]})

    def _paginate(self, request: Request, path: str, items: list[dict[str, Any]]) -> Response:
        per_page = min(max(int(request.args.get("per_page", "30")), 1), 100)
        page = max(int(request.args.get("page", "1")), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        headers: dict[str, str] = {}
        if last > 1:
            links = []

            def link(n: int, rel: str) -> str:
                query = dict(request.args)
                query["page"] = str(n)
                return f'<{self.api_url}{path}?{urlencode(sorted(query.items()))}>; rel="{rel}"'

            if page > 1:
                links += [link(page - 1, "prev"), link(1, "first")]
            if page < last:
                links += [link(page + 1, "next"), link(last, "last")]
            headers["Link"] = ", ".join(links)
        return self._json(chunk, 200, headers)
