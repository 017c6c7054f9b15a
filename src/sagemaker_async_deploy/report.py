"""Turning an outcome into step outputs, the job summary and the PR comment body."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

from .config import ActionConfig
from .rollout import RolloutOutcome

OUTPUT_NAMES = (
    "result",
    "endpoint-arn",
    "endpoint-config-name",
    "previous-endpoint-config-name",
    "model-name",
    "image",
    "previous-image",
    "changes",
    "duration-seconds",
    "comment-url",
)


def outputs(outcome: RolloutOutcome, comment_url: str = "") -> dict[str, str]:
    """Every contract output, on every path (a failure still says what serves)."""
    before = outcome.before
    changes = [c.as_dict() for c in outcome.plan.changes] if outcome.plan else []
    return {
        "result": outcome.result,
        "endpoint-arn": outcome.endpoint_arn,
        "endpoint-config-name": outcome.serving_config,
        "previous-endpoint-config-name": before.config_name if before else "",
        "model-name": outcome.serving_model,
        "image": outcome.serving_image,
        "previous-image": before.image if before else "",
        "changes": json.dumps(changes),
        "duration-seconds": str(round(outcome.duration)),
        "comment-url": comment_url,
    }


def write_outputs(path: str, values: Mapping[str, str]) -> None:
    """Append ``name<<DELIM`` blocks to GITHUB_OUTPUT: a value may hold newlines, and no value can end
    the block early because the delimiter is random."""
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        for name, value in values.items():
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(path: str, markdown: str) -> None:
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(markdown if markdown.endswith("\n") else markdown + "\n")


def summary(outcome: RolloutOutcome, config: ActionConfig) -> str:
    before = outcome.before
    lines = [
        f"## SageMaker endpoint `{config.endpoint_name}`: {outcome.result}",
        "",
        f"Image: `{before.image if before else '—'}` → `{outcome.serving_image or '—'}`",
    ]
    if outcome.message:
        lines += ["", outcome.message]
    return "\n".join(lines) + "\n"


def failure_summary(message: str, endpoint_name: str) -> str:
    return f"## SageMaker endpoint `{endpoint_name or '?'}`: failed\n\n{message}\n"
