"""What the Actions runner tells a container action about the run, read once from its environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class GitHubContext:
    """The run's GitHub side: where the API is, which repository, commit and event triggered it."""

    api_url: str  # GITHUB_API_URL, e.g. https://api.github.com or https://ghes.example/api/v3
    server_url: str  # GITHUB_SERVER_URL, e.g. https://github.com
    repository: str  # GITHUB_REPOSITORY, "owner/name"
    sha: str  # GITHUB_SHA
    event_name: str  # GITHUB_EVENT_NAME: pull_request, pull_request_target, push, workflow_dispatch, …
    event_path: str  # GITHUB_EVENT_PATH: the webhook payload as JSON ("" when absent)
    run_id: str  # GITHUB_RUN_ID

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> GitHubContext:
        return cls(
            api_url=environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
            server_url=environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
            repository=environ.get("GITHUB_REPOSITORY", ""),
            sha=environ.get("GITHUB_SHA", ""),
            event_name=environ.get("GITHUB_EVENT_NAME", ""),
            event_path=environ.get("GITHUB_EVENT_PATH", ""),
            run_id=environ.get("GITHUB_RUN_ID", ""),
        )

    @property
    def run_url(self) -> str:
        """Link to this workflow run ("" when the runner did not say which run this is)."""
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"
