"""Turning an outcome into step outputs, the job summary and the PR comment body.

The summary and the comment tell the same story: the verdict, what served before and after, what changed,
and on a rollback or failure what happened, what was cleaned up, what still serves and what to do next.
Every string from outside (AWS messages, names, image references, inputs) goes through the Markdown
builder as text and is cut to a sane length, and each document has a hard size limit, so whatever AWS
returns the summary stays far below the runner's 1 MiB and the comment below GitHub's 65,536 characters.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from ._checks import image_digest
from ._markdown import Code, Document, Inline, Link, Strong, shorten
from .config import ActionConfig
from .errors import FailureKind, InputProblem
from .outcome import RolloutOutcome, Transition
from .planner import Change
from .state import ServingState

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

SUMMARY_LIMIT = 100 * 1024  # bytes; the runner refuses a step summary over 1 MiB
COMMENT_LIMIT = 60_000  # bytes, so also characters; GitHub refuses a comment over 65,536 characters
NAME_MAX = 300  # names, ARNs and image references: real ones are far shorter
VALUE_MAX = 500  # one side of a change
MESSAGE_MAX = 2_000
REASON_MAX = 4_000  # FailureReason in the summary; the comment shows less and links to the summary
COMMENT_REASON_MAX = 1_500
LIST_MAX = 50  # cleaned-up / kept entries
ROWS_MAX = 100  # changes and timeline rows
COMMENT_ROWS_MAX = 30
SHORT_DIGEST = len("sha256:") + 12
NONE = "—"

_HEADLINES = {
    "created": ("✅", "created"),
    "updated": ("✅", "updated"),
    "unchanged": ("✅", "unchanged"),
    "rolled-back": ("↩️", "rolled back"),
    "failed": ("❌", "failed"),
    "would-create": ("📝", "would create"),
    "would-update": ("📝", "would update"),
}


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


# --- the documents ------------------------------------------------------------------------------------------


def summary(outcome: RolloutOutcome, config: ActionConfig) -> str:
    """The job summary: the whole story of the run, for the run page."""
    doc = Document()
    _headline(doc, 2, outcome, config)
    _lead(doc, outcome, config)
    if _went_wrong(outcome):
        _what_happened(doc, outcome, config, reason_max=REASON_MAX)
        _next_steps(doc, outcome, config)
    _state_table(doc, outcome, config, heading="Before → after")
    _changes(doc, outcome, config, rows_max=ROWS_MAX)
    _cleanup(doc, outcome)
    _timeline(doc, outcome)
    _links(doc, config.endpoint_name, config.region, config.alarms, config.github.run_url, _went_wrong(outcome))
    return doc.render(SUMMARY_LIMIT, cut_note=_cut_note(config.github.run_url, "summary"))


def comment_body(outcome: RolloutOutcome, config: ActionConfig) -> str:
    """The PR comment: the summary condensed, pointing to the run for the rest.

    No marker here: :func:`comment.publish_comment` puts its hidden marker on the first line itself.
    """
    doc = Document()
    _headline(doc, 3, outcome, config)
    _lead(doc, outcome, config)
    if _went_wrong(outcome):
        _what_happened(doc, outcome, config, reason_max=COMMENT_REASON_MAX)
        _next_steps(doc, outcome, config)
    _state_table(doc, outcome, config, heading="")
    _changes(doc, outcome, config, rows_max=COMMENT_ROWS_MAX)
    if outcome.cleaned_up:
        doc.paragraph("Cleaned up: ", _joined(outcome.cleaned_up, LIST_MAX // 5), ".")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(outcome.finished or outcome.started))
    run_url = config.github.run_url
    doc.paragraph(
        f"Last run {when}",
        (" · ", Link("full report in the job summary", run_url)) if run_url else "",
        " · ",
        Link("endpoint in the SageMaker console", _console_url(config.region, config.endpoint_name)),
    )
    return doc.render(COMMENT_LIMIT, cut_note=_cut_note(run_url, "comment"))


def failure_summary(
    message: str,
    endpoint_name: str,
    *,
    outcome: RolloutOutcome | None = None,
    config: ActionConfig | None = None,
    problems: Sequence[InputProblem] = (),
    kind: FailureKind = "",
) -> str:
    """The summary of the one fatal path (bad input, no or expired credentials, timeout, AWS refusal).

    It says what went wrong, how to fix it (with a YAML snippet when the fix is in the workflow), and,
    given the outcome so far, what still serves and what the run did before it stopped.
    """
    timed_out = kind == "timeout" or (outcome is not None and outcome.timed_out)
    name = shorten(endpoint_name, NAME_MAX) if endpoint_name else "?"
    doc = Document()
    doc.heading(2, ("⏳ " if timed_out else "❌ ", "SageMaker endpoint ", Code(name), ": ", _failed_word(timed_out)))
    doc.heading(3, "What went wrong")
    for paragraph in shorten(message, MESSAGE_MAX).split("\n\n"):
        doc.paragraph(paragraph)
    if problems:
        doc.table(("Input", "Problem"), ((Code(p.input), shorten(p.message, VALUE_MAX)) for p in problems[:ROWS_MAX]))
    doc.heading(3, "How to fix it")
    advice, snippet = _fatal_advice(kind, endpoint_name, timed_out=timed_out, config=config, inputs=bool(problems))
    doc.paragraph(advice)
    if snippet:
        doc.code_block(snippet, "yaml")
    if outcome is not None:
        _still_serving(doc, outcome, config)
        _cleanup(doc, outcome)
        _timeline(doc, outcome)
    if config is not None:
        _links(doc, config.endpoint_name, config.region, config.alarms, config.github.run_url, True)
    return doc.render(SUMMARY_LIMIT, cut_note=_cut_note(config.github.run_url if config else "", "summary"))


# --- sections -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Side:
    """One column of the before → after table: what an endpoint serves (or would, or was to)."""

    exists: bool
    config: str
    model: str
    image: str
    instance_type: str


_ABSENT = _Side(False, "", "", "", "")


def _headline(doc: Document, level: int, outcome: RolloutOutcome, config: ActionConfig) -> None:
    emoji, word = _HEADLINES.get(outcome.result, ("❔", outcome.result))
    if outcome.result == "failed" and outcome.timed_out:
        emoji, word = "⏳", _failed_word(True)
    if config.mode == "plan" and outcome.result == "unchanged":
        word = "unchanged (plan)"
    doc.heading(
        level, (f"{emoji} ", "SageMaker endpoint ", Code(shorten(config.endpoint_name, NAME_MAX)), ": ", Strong(word))
    )


def _failed_word(timed_out: bool) -> str:
    return "timed out" if timed_out else "failed"


def _lead(doc: Document, outcome: RolloutOutcome, config: ActionConfig) -> None:
    took = _duration(outcome.duration)
    image = Code(shorten(outcome.serving_image, NAME_MAX)) if outcome.serving_image else NONE
    changes = len(outcome.plan.changes) if outcome.plan else 0
    region = f" in {config.region}"
    result = outcome.result
    if result == "created":
        doc.paragraph(f"Created{region} in {took}; it serves ", image, ".")
    elif result == "updated":
        doc.paragraph(f"Updated blue/green{region} in {took}; it now serves ", image, ".")
    elif result == "unchanged":
        doc.paragraph("Nothing to change: the endpoint already serves what the inputs ask for.")
    elif result == "would-create":
        doc.paragraph(
            Strong("Plan only, nothing was changed."),
            f" The endpoint does not exist{region}; an apply run would create it with the settings below.",
        )
    elif result == "would-update":
        doc.paragraph(
            Strong("Plan only, nothing was changed."),
            f" An apply run would update {changes} setting{'s' if changes != 1 else ''} blue/green{region}.",
        )
    elif result == "rolled-back":
        doc.paragraph(f"The update was rolled back after {took}; the endpoint still serves ", image, ".")
    else:
        doc.paragraph(f"The rollout failed after {took}.")
    if outcome.message and not _went_wrong(outcome):
        doc.paragraph(_sentence(outcome.message))


def _went_wrong(outcome: RolloutOutcome) -> bool:
    return outcome.result in ("rolled-back", "failed")


def _what_happened(doc: Document, outcome: RolloutOutcome, config: ActionConfig, *, reason_max: int) -> None:
    doc.heading(3, "What happened")
    if outcome.message:
        doc.paragraph(_sentence(outcome.message))
    if outcome.failure_reason:
        doc.paragraph("SageMaker's FailureReason:")
        doc.code_block(shorten(outcome.failure_reason, reason_max))
    elif outcome.result == "rolled-back" and config.alarms:
        doc.paragraph(
            "SageMaker gave no FailureReason, which is what an auto-rollback alarm firing during the bake "
            "looks like. The alarms that guard the rollout: ",
            _joined([Link(a, _alarm_url(config.region, a)) for a in config.alarms], LIST_MAX),
            ".",
        )
    _still_serving(doc, outcome, config)


def _still_serving(doc: Document, outcome: RolloutOutcome, config: ActionConfig | None) -> None:
    serving = _now_side(outcome)
    if serving.config:
        # After a failed rollout SageMaker decides what serves; the config is what the endpoint reports.
        label = "Endpoint now on:" if outcome.result == "failed" and not outcome.timed_out else "Still serving:"
        parts: list[Inline] = [Strong(label), " endpoint config ", Code(shorten(serving.config, NAME_MAX))]
        if serving.image:
            parts += [" with image ", Code(shorten(serving.image, NAME_MAX))]
        doc.paragraph(*parts, ".")
    elif outcome.before is None and outcome.plan is not None and outcome.plan.action == "create":
        doc.paragraph(Strong("Still serving:"), " nothing, the endpoint did not exist before this run.")
    elif outcome.plan is None:
        doc.paragraph(Strong("Still serving:"), " unchanged; the run stopped before it changed anything.")


def _next_steps(doc: Document, outcome: RolloutOutcome, config: ActionConfig) -> None:
    name = config.endpoint_name
    doc.heading(3, "What to do next")
    if outcome.result == "rolled-back":
        doc.bullets(
            (
                "Look at the rollback alarms (links below): which metric crossed its threshold, and when."
                if config.alarms
                else "No rollback alarm was set: read the endpoint's CloudWatch logs for why SageMaker rolled back.",
                "Fix the model or its image, then push again; the next run rolls the new image out the same way.",
                "The previous config keeps serving meanwhile; nothing needs undoing.",
            )
        )
    elif outcome.timed_out:
        doc.bullets(
            (
                "The rollout goes on in SageMaker. Rerun the job: the action waits for it and finishes (verdict, "
                "cleanup).",
                ("If rollouts of this model take longer, raise ", Code("deployment-timeout-minutes"), "."),
            )
        )
    else:
        doc.bullets(
            (
                "Read the FailureReason above (SageMaker's own words).",
                (
                    "Read the container's logs in CloudWatch, log group ",
                    Link(Code(_log_group(name)), _log_group_url(config.region, name)),
                    ": a container that fails its health check (/ping) or crashes on start says why there.",
                ),
                "Fix, then push again; nothing that served before was deleted.",
            )
        )


def _state_table(doc: Document, outcome: RolloutOutcome, config: ActionConfig, *, heading: str) -> None:
    before = _side_of(outcome.before)
    wanted = _desired_side(outcome)
    now = _now_side(outcome)
    columns: list[tuple[str, _Side]]
    if outcome.result in ("would-create", "would-update"):
        columns = [("Serving now", before)] + ([("Would deploy", wanted)] if wanted else [])
    elif outcome.result == "unchanged":
        columns = [("Serving", before)]
    elif _went_wrong(outcome):
        now_title = "Now" if outcome.result == "failed" else "Serving now"
        columns = [("Before", before)] + ([("Attempted", wanted)] if wanted else []) + [(now_title, now)]
    else:
        columns = [("Before", before), ("After", now)]
    if heading:
        doc.heading(3, heading)
    name = shorten(config.endpoint_name, NAME_MAX)

    def row(label: str, cell: Callable[[_Side], Inline]) -> list[Inline]:
        return [Strong(label)] + [cell(side) if side.exists else NONE for _, side in columns]

    doc.table(
        ["", *(title for title, _ in columns)],
        [
            row("Endpoint", lambda side: Code(name)),
            row("Endpoint config", lambda side: _code(side.config)),
            row("Model", lambda side: _code(side.model)),
            row("Image digest", lambda side: _code(_short_digest(side.image))),
            row("Image", lambda side: _code(side.image)),
            row("Instance type", lambda side: _code(side.instance_type)),
        ],
    )


def _changes(doc: Document, outcome: RolloutOutcome, config: ActionConfig, *, rows_max: int) -> None:
    changes = outcome.plan.changes if outcome.plan else ()
    if not changes:
        return
    plan_mode = outcome.result in ("would-create", "would-update")
    doc.heading(3, "Changes an apply run would make" if plan_mode else "Changes")
    doc.table(("Setting", "From", "To"), (_change_row(c) for c in changes[:rows_max]))
    if len(changes) > rows_max:
        doc.paragraph(f"… and {len(changes) - rows_max} more (the changes output lists them all).")


def _change_row(change: Change) -> list[Inline]:
    return [Code(change.field), _code(shorten(change.before, VALUE_MAX)), _code(shorten(change.after, VALUE_MAX))]


def _cleanup(doc: Document, outcome: RolloutOutcome) -> None:
    if outcome.cleaned_up:
        doc.heading(3, "Cleaned up")
        doc.bullets(_capped(outcome.cleaned_up))
    if outcome.kept:
        doc.heading(3, "Kept")
        doc.bullets(_capped(outcome.kept))


def _timeline(doc: Document, outcome: RolloutOutcome) -> None:
    if not outcome.transitions:
        return
    doc.heading(3, "Rollout timeline")
    shown = outcome.transitions[:ROWS_MAX]
    doc.table(("Time (UTC)", "Status", "Variant status", "Since start"), (_timeline_row(t, outcome) for t in shown))
    if len(outcome.transitions) > ROWS_MAX:
        doc.paragraph(f"… and {len(outcome.transitions) - ROWS_MAX} more transitions.")
    doc.paragraph(f"Total duration: {_duration(outcome.duration)}.")


def _timeline_row(transition: Transition, outcome: RolloutOutcome) -> list[Inline]:
    return [
        time.strftime("%H:%M:%S", time.gmtime(transition.at)),
        shorten(transition.status, NAME_MAX),
        shorten(transition.variant_status, NAME_MAX) or NONE,
        "+" + _duration(transition.at - outcome.started),
    ]


def _links(
    doc: Document, endpoint_name: str, region: str, alarms: Sequence[str], run_url: str, with_logs: bool
) -> None:
    items: list[Inline] = [
        ("SageMaker console: ", Link(("endpoint ", Code(endpoint_name)), _console_url(region, endpoint_name))),
    ]
    items += [("Rollback alarm: ", Link(shorten(a, NAME_MAX), _alarm_url(region, a))) for a in alarms[:LIST_MAX]]
    if with_logs:
        items.append(
            ("CloudWatch logs: ", Link(Code(_log_group(endpoint_name)), _log_group_url(region, endpoint_name)))
        )
    if run_url:
        items.append(("Workflow run: ", Link(run_url, run_url)))
    doc.heading(3, "Links")
    doc.bullets(items)


# --- advice for the fatal path ------------------------------------------------------------------------------


def _fatal_advice(
    kind: FailureKind, endpoint_name: str, *, timed_out: bool, config: ActionConfig | None, inputs: bool
) -> tuple[Inline, str]:
    """What to do about a run that stopped, and a workflow snippet when the fix lives in the workflow."""
    region = config.region if config else "<region>"
    if inputs:
        return (
            ("Correct the inputs above in the step's ", Code("with:"), "; nothing was changed in AWS."),
            "",
        )
    if timed_out:
        minutes = round(config.deployment_timeout_seconds / 60) if config else 60
        return (
            "The rollout goes on in SageMaker and nothing was deleted. Rerun the job: the action waits for the "
            "rollout in progress and finishes the job. If rollouts of this model take this long, give them more time:",
            f"with:\n  deployment-timeout-minutes: {min(minutes * 2, 24 * 60)}\n",
        )
    if kind == "credentials-expired":
        minutes = round(config.deployment_timeout_seconds / 60) if config else 60
        seconds = min(max((minutes + 15) * 60, 3600), 43200)
        return (
            "The role session ended before the rollout did. Nothing was deleted; the endpoint may still be "
            "updating. Ask for a session longer than the rollout's timeout, then rerun:",
            "- uses: aws-actions/configure-aws-credentials@v4\n"
            "  with:\n"
            "    role-to-assume: arn:aws:iam::<account>:role/<deploy-role>\n"
            f"    aws-region: {region}\n"
            f"    role-duration-seconds: {seconds}  # longer than deployment-timeout-minutes\n",
        )
    if kind in ("no-credentials", "credentials-stale", "credentials-rejected"):
        return (
            "The action takes no keys as inputs; it reads the standard AWS variables that "
            "aws-actions/configure-aws-credentials sets. Add that step before this one (OIDC needs id-token: write):",
            "permissions:\n"
            "  id-token: write       # OIDC: assume the role without stored keys\n"
            "  contents: read\n"
            "  pull-requests: write  # the PR comment\n"
            "steps:\n"
            "  - uses: aws-actions/configure-aws-credentials@v4\n"
            "    with:\n"
            "      role-to-assume: arn:aws:iam::<account>:role/<deploy-role>\n"
            f"      aws-region: {region}\n"
            "  # … then this action's step\n",
        )
    if kind == "busy":
        return (
            "Another workflow or person updates this endpoint at the same time. Let one run per endpoint go at a "
            "time with a concurrency group, and rerun:",
            f"concurrency:\n  group: sagemaker-{shorten(endpoint_name, NAME_MAX)}\n  cancel-in-progress: false\n",
        )
    if kind == "access-denied":
        return (
            "The role the job assumed may not do what the message names. Grant that action to the role "
            "(least-privilege policy in the README), then rerun; nothing was deleted.",
            "",
        )
    return (
        "Read the message above and the step's log, fix the cause, then rerun; nothing that served was deleted.",
        "",
    )


# --- small helpers ------------------------------------------------------------------------------------------


def _side_of(state: ServingState | None) -> _Side:
    if state is None:
        return _ABSENT
    return _Side(True, state.config_name, state.model_name, state.image, state.instance_type)


def _desired_side(outcome: RolloutOutcome) -> _Side | None:
    if outcome.plan is None:
        return None
    d = outcome.plan.desired
    return _Side(True, d.config_name, d.model_name, d.image, d.instance_type)


def _now_side(outcome: RolloutOutcome) -> _Side:
    """What serves at the end of the run, completed from the side whose config it is."""
    config = outcome.serving_config
    if not config:
        return _side_of(outcome.before) if outcome.result != "failed" else _ABSENT
    known = [_side_of(outcome.before), _desired_side(outcome) or _ABSENT]
    match = next((side for side in known if side.exists and side.config == config), _ABSENT)
    if outcome.result == "failed" and match.exists:
        # A failed rollout leaves the outcome's model and image at what served when it was planned, while
        # the endpoint may report the new config: the config's own side is the consistent picture.
        return match
    return _Side(
        True,
        config,
        outcome.serving_model or match.model,
        outcome.serving_image or match.image,
        match.instance_type,
    )


def _sentence(text: str) -> str:
    text = shorten(text, MESSAGE_MAX)
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "…", ")")) else text + "."


def _code(text: str) -> Inline:
    return Code(shorten(text, NAME_MAX)) if text else NONE


def _short_digest(image: str) -> str:
    digest = image_digest(image)
    return digest[:SHORT_DIGEST] if digest else ""


def _capped(items: Sequence[str]) -> list[Inline]:
    shown: list[Inline] = [shorten(item, NAME_MAX) for item in items[:LIST_MAX]]
    if len(items) > LIST_MAX:
        shown.append(f"… and {len(items) - LIST_MAX} more")
    return shown


def _joined(items: Sequence[Inline], limit: int) -> Inline:
    parts: list[Inline] = []
    for index, item in enumerate(items[:limit]):
        parts += [", " if index else "", shorten(item, NAME_MAX) if isinstance(item, str) else item]
    if len(items) > limit:
        parts.append(f" and {len(items) - limit} more")
    return tuple(parts)


def _duration(seconds: float) -> str:
    total = max(round(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _cut_note(run_url: str, what: str) -> Inline:
    if what == "comment" and run_url:
        return ("This comment was cut to keep it short; the full report is in ", Link("the job summary", run_url), ".")
    return f"The rest of this {what} was cut to keep it short; the step's log has every detail."


def _console_base(region: str, service: str) -> str:
    """The AWS console for a service in the region's partition (China and GovCloud have their own)."""
    r = quote(region, safe="")
    if region.startswith("cn-"):
        return f"https://console.amazonaws.cn/{service}/home?region={r}"
    if region.startswith("us-gov-"):
        return f"https://console.amazonaws-us-gov.com/{service}/home?region={r}"
    return f"https://{r}.console.aws.amazon.com/{service}/home?region={r}"


def _console_url(region: str, endpoint_name: str) -> str:
    return f"{_console_base(region, 'sagemaker')}#/endpoints/{quote(endpoint_name, safe='')}"


def _alarm_url(region: str, alarm: str) -> str:
    return f"{_console_base(region, 'cloudwatch')}#alarmsV2:alarm/{quote(alarm, safe='')}"


def _log_group(endpoint_name: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint_name}"


def _log_group_url(region: str, endpoint_name: str) -> str:
    # The CloudWatch console reads its fragment with "$" in place of "%", after one round of encoding.
    encoded = quote(quote(_log_group(endpoint_name), safe=""), safe="").replace("%", "$")
    return f"{_console_base(region, 'cloudwatch')}#logsV2:log-groups/log-group/{encoded}"
