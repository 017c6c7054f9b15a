"""Turning an outcome into step outputs, the job summary and the PR comment body.

The summary and the comment are one document built for two widths: a PR comment in the conversation view
(about 760 px) and a job summary (about 1000 px). The verdict and the one thing that changed come first; the
changes are a ``diff`` block (GitHub colours its - and + lines); tables hold only short cells (digests, names
cut in the middle), because a table is as wide as its longest unbreakable cell; every full name and image
reference appears once, in a list, where GitHub wraps it; code blocks are folded to the page's width, because
GitHub never wraps them; the long parts (container log, timeline, kept settings, names in full) are folded in
``<details>``.

Every string from outside (AWS messages, log lines, names, image references, inputs) goes through the Markdown
builder as text and is cut to a sane length, and each document has a hard size limit, so whatever AWS returns
the summary stays far below the runner's 1 MiB and the comment below GitHub's 65,536 characters.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, cast
from urllib.parse import quote

from ._checks import image_digest
from ._markdown import Code, Document, Inline, Link, Strong, plain, shorten
from .config import ActionConfig
from .diagnosis import NOTHING, AlarmWarning, ContainerLog, Diagnosis, FiredAlarm, log_group
from .errors import FailureKind, InputProblem
from .fields import INSTANCE_COUNT
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
    "model-package-arn",
    "smoke-test",
)

SUMMARY_LIMIT = 100 * 1024  # bytes; the runner refuses a step summary over 1 MiB
COMMENT_LIMIT = 60_000  # bytes, so also characters; GitHub refuses a comment over 65,536 characters
NAME_MAX = 300  # names, ARNs and image references: real ones are far shorter
VALUE_MAX = 500  # one side of a change
MESSAGE_MAX = 2_000
LIST_MAX = 50  # cleaned-up / kept entries
ROWS_MAX = 100  # timeline rows
SHORT_DIGEST = len("sha256:") + 12
NONE = "—"

Result = Literal["created", "updated", "unchanged", "rolled-back", "failed", "would-create", "would-update"]


@dataclass(frozen=True)
class View:
    """How one result reads: its headline and which parts of the story it tells."""

    emoji: str
    word: str
    went_wrong: bool = False  # what happened, what to do next, the container log
    plan: bool = False  # nothing was changed: what an apply run would do


VIEWS: Mapping[Result, View] = {
    "created": View("✅", "created"),
    "updated": View("✅", "updated"),
    "unchanged": View("✅", "unchanged"),
    "rolled-back": View("↩️", "rolled back", went_wrong=True),
    "failed": View("❌", "failed", went_wrong=True),
    "would-create": View("📝", "would create", plan=True),
    "would-update": View("📝", "would update", plan=True),
}
TIMED_OUT = View("⏳", "timed out", went_wrong=True)
CANCELLED = View("⏹️", "cancelled", went_wrong=True)  # a signal stopped the run before its verdict


@dataclass(frozen=True)
class Layout:
    """What fits where the document is read."""

    heading: int  # level of the headline
    limit: int  # bytes of the whole document
    code_width: int  # characters of a code-block line that fit the page without a sideways scroll
    reason_max: int  # FailureReason and alarm reasons
    changes_max: int
    log_lines: int
    warnings_max: int
    timeline: bool
    links: bool  # a Links section (the comment has a footer line instead)


# DejaVu Sans Mono, the widest of the fonts GitHub's stylesheet may fall back to, sets its 13.6 px code at
# 8.2 px a character: 80 characters fill 656 of the comment's ~696 px inside the code block, 108 fill 886
# of the summary's ~936.
SUMMARY = Layout(2, SUMMARY_LIMIT, 108, 4_000, 200, 40, 50, timeline=True, links=True)
COMMENT = Layout(3, COMMENT_LIMIT, 80, 1_500, 30, 25, 10, timeline=False, links=False)


def view_of(outcome: RolloutOutcome, config: ActionConfig | None = None) -> View:
    """The view of the outcome's result (an unknown result reads as a failure, never as a success)."""
    view = VIEWS.get(cast(Result, outcome.result), VIEWS["failed"])
    if outcome.result == "failed" and outcome.timed_out:
        return TIMED_OUT
    if outcome.result == "failed" and outcome.cancelled:
        return CANCELLED
    if outcome.result == "unchanged" and config is not None and config.mode == "plan":
        return replace(view, word="unchanged (plan)", plan=True)
    return view


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
        "model-package-arn": outcome.serving_package,
        "smoke-test": "" if outcome.smoke is None else "passed" if outcome.smoke.passed else "failed",
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


def summary(outcome: RolloutOutcome, config: ActionConfig, diagnosis: Diagnosis = NOTHING) -> str:
    """The job summary: the whole story of the run, for the run page."""
    return _document(outcome, config, diagnosis, SUMMARY)


def comment_body(outcome: RolloutOutcome, config: ActionConfig, diagnosis: Diagnosis = NOTHING) -> str:
    """The PR comment: the same story for a narrower page, pointing to the run for the rest.

    No marker here: :func:`comment.publish_comment` puts its hidden marker on the first line itself.
    """
    return _document(outcome, config, diagnosis, COMMENT)


def _document(outcome: RolloutOutcome, config: ActionConfig, diagnosis: Diagnosis, layout: Layout) -> str:
    view = view_of(outcome, config)
    doc = Document()
    _headline(doc, layout.heading, view, config.endpoint_name)
    _lead(doc, outcome, config, view, diagnosis)
    plan = outcome.plan
    rollout_warnings = plan.desired.warnings if plan is not None and plan.action != "unchanged" else ()
    if outcome.lost_model is not None:
        rollout_warnings = (*rollout_warnings, outcome.lost_model.plan_warning())
    _warnings(doc, diagnosis.warnings, layout.warnings_max, rollout_warnings)
    _package(doc, config, outcome)
    _smoke_test(doc, outcome, config, layout)
    if view.went_wrong:
        _what_happened(doc, outcome, config, diagnosis, layout)
        _next_steps(doc, outcome, config, view, diagnosis)
    _changes(doc, outcome, view, layout)
    _state_table(doc, outcome, view)
    _kept_settings(doc, outcome)
    if layout.timeline:
        _timeline(doc, outcome)
    _cleanup(doc, outcome)
    _autoscaling(doc, outcome)
    _full_names(doc, outcome, config)
    if layout.links:
        _links(doc, config.endpoint_name, config.region, config.alarms, config.github.run_url, view.went_wrong)
    else:
        _footer(doc, outcome, config)
    return doc.render(layout.limit, cut_note=_cut_note(config.github.run_url, "summary" if layout.links else "comment"))


def failure_summary(
    message: str,
    endpoint_name: str,
    *,
    outcome: RolloutOutcome | None = None,
    config: ActionConfig | None = None,
    problems: Sequence[InputProblem] = (),
    kind: FailureKind = "",
    diagnosis: Diagnosis = NOTHING,
) -> str:
    """The summary of the one fatal path (bad input, no or expired credentials, timeout, AWS refusal).

    It says what went wrong, how to fix it (with a YAML snippet when the fix is in the workflow), and,
    given the outcome so far, what still serves and what the run did before it stopped.
    """
    timed_out = kind == "timeout" or (outcome is not None and outcome.timed_out)
    cancelled = kind == "cancelled"
    view = CANCELLED if cancelled else TIMED_OUT if timed_out else VIEWS["failed"]
    doc = Document()
    _headline(doc, SUMMARY.heading, view, endpoint_name or "?")
    doc.heading(3, "What happened" if cancelled else "What went wrong")
    for paragraph in shorten(message, MESSAGE_MAX).split("\n\n"):
        doc.paragraph(paragraph)
    if problems:
        doc.table(("Input", "Problem"), ((Code(p.input), shorten(p.message, VALUE_MAX)) for p in problems[:ROWS_MAX]))
    _warnings(doc, diagnosis.warnings, SUMMARY.warnings_max)
    if diagnosis.container_log is not None:
        _container_log(doc, diagnosis.container_log, SUMMARY, config.region if config else "")
    doc.heading(3, "What to do next" if cancelled else "How to fix it")
    advice, snippet = _fatal_advice(kind, endpoint_name, timed_out=timed_out, config=config, inputs=bool(problems))
    doc.paragraph(advice)
    if snippet:
        doc.code_block(snippet, "yaml")
    if outcome is not None:
        _still_serving(doc, outcome)
        _cleanup(doc, outcome)
        _autoscaling(doc, outcome)
        _timeline(doc, outcome)
    if config is not None:
        _links(doc, config.endpoint_name, config.region, config.alarms, config.github.run_url, True)
    return doc.render(SUMMARY_LIMIT, cut_note=_cut_note(config.github.run_url if config else "", "summary"))


# --- sections -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Side:
    """One column of the state table: what an endpoint serves (or would, or was to)."""

    config: str
    model: str
    image: str
    instance_type: str


def _headline(doc: Document, level: int, view: View, endpoint_name: str) -> None:
    doc.heading(
        level,
        (f"{view.emoji} ", "SageMaker endpoint ", Code(shorten(endpoint_name, NAME_MAX)), ": ", Strong(view.word)),
    )


def verdict(outcome: RolloutOutcome, config: ActionConfig, diagnosis: Diagnosis = NOTHING) -> str:
    """The lead's sentence as plain text: the log's final ::error says exactly what the summary and comment lead
    with (the rollback's cause is known only after the diagnosis, so both are made from it, after it)."""
    return plain(lead(outcome, config, view_of(outcome, config), diagnosis))


def _lead(doc: Document, outcome: RolloutOutcome, config: ActionConfig, view: View, diagnosis: Diagnosis) -> None:
    """The verdict in one paragraph, and the run's own message when it did not go wrong."""
    doc.paragraph(*lead(outcome, config, view, diagnosis))
    if outcome.message and not view.went_wrong:
        doc.paragraph(_sentence(outcome.message))
    for note in outcome.plan.notes if outcome.plan else ():
        doc.paragraph(_sentence(shorten(note, VALUE_MAX)))


def lead(outcome: RolloutOutcome, config: ActionConfig, view: View, diagnosis: Diagnosis) -> tuple[Inline, ...]:
    """The verdict in one sentence, with the one thing that changed (or would, or was to)."""
    took = _duration(outcome.duration)
    where = f" in {config.region}"
    result = outcome.result
    changes = outcome.plan.changes if outcome.plan else ()
    serving = _image(outcome.serving_image)
    if result == "created":
        return (f"Created{where} in {took}; it serves ", serving, _on(outcome), ".")
    elif result == "updated":
        return (f"Updated ({_how(outcome)}){where} in {took}: ", *_main_change(changes), ".")
    elif result == "unchanged" and view.plan:
        return (
            Strong("Plan only, nothing was changed."),
            " Nothing to change: the endpoint already serves what the inputs ask for (",
            serving,
            ").",
        )
    elif result == "unchanged":
        return ("Nothing to change: the endpoint already serves what the inputs ask for (", serving, ").")
    elif result == "would-create":
        desired = outcome.plan.desired.image if outcome.plan else ""
        return (
            Strong("Plan only, nothing was changed."),
            f" The endpoint does not exist{where}; an apply run would create it serving ",
            _image(desired),
            _on(outcome),
            ".",
        )
    elif result == "would-update":
        count = len(changes)
        return (
            Strong("Plan only, nothing was changed."),
            f" An apply run would update {count} setting{'s' if count != 1 else ''} ({_how(outcome)}){where}: ",
            *_main_change(changes),
            ".",
        )
    elif result == "rolled-back" and outcome.smoke is not None and not outcome.smoke.passed:
        by_alarm = outcome.smoke_rolled_back_by == "sagemaker"
        return (
            "The smoke test of the new model",
            *_to_image(outcome, " "),
            " failed during the bake, so SageMaker rolled the update back on the action's smoke-test alarm"
            if by_alarm
            else " failed, so the action rolled the endpoint back",
            f" after {took}; the endpoint still serves ",
            serving,
            ".",
        )
    elif result == "rolled-back":
        fired = diagnosis.fired[0] if diagnosis.fired else None
        cause: Inline = ""
        if fired:
            how = " was in ALARM already when the update started" if fired.before_rollout else " went to ALARM"
            cause = (" because alarm ", Code(shorten(fired.name, NAME_MAX)), how)
        return (
            "SageMaker rolled back the update",
            *_to_image(outcome),
            f" after {took}",
            cause,
            "; the endpoint still serves ",
            serving,
            ".",
        )
    elif view is TIMED_OUT:
        return (f"The run stopped waiting after {took}; the rollout goes on in SageMaker.",)
    elif view is CANCELLED:
        return (f"The job was cancelled after {took}.",)
    elif _failed_before_traffic(outcome):
        return (
            "The new fleet",
            *_to_image(outcome, " of "),
            f" failed before it took traffic, after {took}; the endpoint still serves ",
            serving,
            ".",
        )
    else:
        return (
            "The rollout",
            *_to_image(outcome, " of "),
            f" failed after {took}: ",
            _sentence(outcome.message) or "see below.",
        )


def _to_image(outcome: RolloutOutcome, word: str = " to ") -> list[Inline]:
    """The image the update tried, when it is not the one that serves: a rollout is reviewed by its image."""
    tried = outcome.plan.desired.image if outcome.plan else ""
    if not tried or tried == outcome.serving_image:
        return []
    return [word, _image(tried)]


def _how(outcome: RolloutOutcome) -> str:
    """The deployment strategy in words: "blue/green, all at once", "rolling, batches of 25%", …"""
    return shorten(outcome.plan.desired.strategy, 120) if outcome.plan else "blue/green"


def _main_change(changes: Sequence[Change]) -> list[Inline]:
    """The first change in words (image first: that is what a rollout is for), and how many more there are."""
    if not changes:
        return ["no setting differs"]
    first = changes[0]
    before, after = _shown(first.field, first.before), _shown(first.field, first.after)
    parts: list[Inline] = [Code(first.field), " "]
    parts += [Code(before), " → ", Code(after)] if before else ["set to ", Code(after)]
    if len(changes) > 1:
        parts.append(f", and {len(changes) - 1} more change{'s' if len(changes) > 2 else ''} below")
    return parts


def _on(outcome: RolloutOutcome) -> Inline:
    if outcome.plan is None:
        return ""
    desired = outcome.plan.desired
    count = desired.value(INSTANCE_COUNT) or desired.fleet or 1
    return (" on ", Code(f"{count} × {desired.instance_type}"))


def _failed_before_traffic(outcome: RolloutOutcome) -> bool:
    before = outcome.before
    # An endpoint left UpdateRollbackFailed also names the old config, but serves a mix of both fleets.
    mixed = bool(outcome.transitions) and outcome.transitions[-1].status == "UpdateRollbackFailed"
    return (
        bool(outcome.failure_reason)
        and before is not None
        and outcome.serving_config == before.config_name
        and not mixed
    )


def _warnings(doc: Document, warnings: Sequence[AlarmWarning], most: int, rollout: Sequence[str] = ()) -> None:
    """What the preflight found about the alarms, and what the plan found about the rollout itself."""
    items: list[Inline] = [_sentence(shorten(w, VALUE_MAX)) for w in rollout]
    items += [
        (Strong(shorten(w.alarm, NAME_MAX)), ": ", shorten(w.message, VALUE_MAX))
        if w.alarm
        else shorten(w.message, VALUE_MAX)
        for w in warnings
    ]
    if not items:
        return
    doc.heading(3, "⚠️ Warnings")
    doc.bullets(items[:most])
    if len(items) > most:
        doc.paragraph(f"… and {len(items) - most} more (the step's log lists them all).")


def _package(doc: Document, config: ActionConfig, outcome: RolloutOutcome) -> None:
    """The Model Registry version the inputs name (or, when they name none, the one the endpoint served before):
    which one, its approval, where to see it."""
    package = config.package or outcome.replaced_package
    if package is None or not package.arn:
        return
    doc.heading(3, "Model package" if config.package else "Model package served before this run")
    items: list[Inline] = [
        ("Version ", Code(str(package.version)), " of group ", Code(shorten(package.group or "?", NAME_MAX))),
        ("Approval: ", Code(package.approval or "?")),
        ("ARN: ", Code(shorten(package.arn, NAME_MAX))),
    ]
    if package.group:
        items.append(Link("the group's versions in the SageMaker console", _package_url(config.region, package.group)))
    if package.newer:
        items.append(_sentence(shorten(package.newer, VALUE_MAX)))
    doc.bullets(items)


def _what_happened(
    doc: Document, outcome: RolloutOutcome, config: ActionConfig, diagnosis: Diagnosis, layout: Layout
) -> None:
    doc.heading(3, "What happened")
    if outcome.failure_reason:
        doc.paragraph("SageMaker's FailureReason:")
        doc.quote(shorten(outcome.failure_reason, layout.reason_max))
    for fired in diagnosis.fired[:LIST_MAX]:
        _fired(doc, fired, layout, config.region)
    smoke_failed = outcome.smoke is not None and not outcome.smoke.passed
    if outcome.result == "rolled-back" and not diagnosis.fired and not smoke_failed:
        # Without a FailureReason or an alarm seen in ALARM nothing names the cause: say so, never guess one.
        if config.alarms and not outcome.failure_reason:
            doc.paragraph(
                "SageMaker gave no FailureReason and no alarm is shown to have fired, so the cause is unknown; an "
                "alarm that fired during the bake is the usual one. The alarms that guard the rollout: ",
                _joined([Link(a, _alarm_url(config.region, a)) for a in config.alarms], LIST_MAX),
                ".",
            )
        if diagnosis.alarm_note:
            doc.paragraph(_sentence(diagnosis.alarm_note))
    if diagnosis.container_log is not None:
        _container_log(doc, diagnosis.container_log, layout, config.region)
    if outcome.result != "rolled-back" and not _failed_before_traffic(outcome):
        _still_serving(doc, outcome)  # the lead said it otherwise
    lost = outcome.lost_model
    if lost is not None and lost.serves_after(outcome.serving_config):
        doc.paragraph(Strong("Cannot scale:"), " ", _sentence(lost.verdict_note()))


def _fired(doc: Document, fired: FiredAlarm, layout: Layout, region: str) -> None:
    when = "in ALARM since" if fired.before_rollout else "went to ALARM at"
    doc.paragraph(
        "Alarm ",
        Link(Code(shorten(fired.name, NAME_MAX)), _alarm_url(region, fired.name)),
        f" {when} {_clock(fired.at)} UTC" + (", before the update started" if fired.before_rollout else ""),
        ":" if fired.reason else ".",
    )
    if fired.reason:
        doc.quote(shorten(fired.reason, layout.reason_max))


def _container_log(doc: Document, log: ContainerLog, layout: Layout, region: str) -> None:
    if not log.lines:
        doc.paragraph(_sentence(log.note or "The new fleet's container log is empty."))
        return
    lines = log.lines[-layout.log_lines :]
    omitted = log.omitted + len(log.lines) - len(lines)
    inner = Document()
    streams = sorted({shorten(line.stream, NAME_MAX) for line in lines})
    inner.paragraph(
        "Log group ",
        Link(Code(log.group), _group_url(region, log.group)) if region else Code(log.group),
        ", new fleet's stream" + ("s " if len(streams) > 1 else " "),
        _joined([Code(s) for s in streams], 5),
        f"; {omitted} earlier line{'s' if omitted != 1 else ''} not shown." if omitted else ".",
    )
    many = len(streams) > 1
    text = "\n".join(
        f"{_clock(line.at)} " + (f"[{shorten(_instance(line.stream), 40)}] " if many else "") + shorten(line.text, 400)
        for line in lines
    )
    inner.code_block(text, width=layout.code_width)
    last = next((line.text.strip() for line in reversed(lines) if line.text.strip()), "")
    summary = f"Container log of the new fleet: last {len(lines)} line{'s' if len(lines) != 1 else ''}"
    doc.paragraph("The new fleet's last log line: ", Code(shorten(last, 300)) if last else NONE)
    doc.details(summary, inner)


def _instance(stream: str) -> str:
    return stream.split("/", 1)[-1]


def _still_serving(doc: Document, outcome: RolloutOutcome) -> None:
    serving = outcome.serving_config
    if serving:
        # After a failed rollout SageMaker decides what serves; the config is what the endpoint reports.
        before = outcome.before.config_name if outcome.before else ""
        label = "Endpoint now on:" if outcome.result == "failed" and serving != before else "Still serving:"
        side = _now_side(outcome)
        parts: list[Inline] = [Strong(label), " endpoint config ", Code(_cell(serving, 40))]
        if side is not None and side.image:
            parts += [" with image ", _image(side.image)]
        doc.paragraph(*parts, ".")
    elif outcome.before is None and outcome.plan is not None and outcome.plan.action == "create":
        doc.paragraph(Strong("Still serving:"), " nothing, the endpoint did not exist before this run.")
    elif outcome.plan is None:
        doc.paragraph(Strong("Still serving:"), " unchanged; the run stopped before it changed anything.")


def _next_steps(doc: Document, outcome: RolloutOutcome, config: ActionConfig, view: View, diagnosis: Diagnosis) -> None:
    name = config.endpoint_name
    doc.heading(3, "What to do next")
    logs: Inline = Link(Code(log_group(name)), _log_group_url(config.region, name))
    if outcome.smoke is not None and not outcome.smoke.passed:
        doc.bullets(
            (
                "Read the smoke test's answer above: the failure object is the model's own words; no answer means "
                "the request waited in the queue or the model hung.",
                ("Read the container's logs in CloudWatch, log group ", logs, ", for what the model did with it."),
                "Fix the model or its image (or smoke-test-expect), then push again.",
                "The previous config keeps serving; nothing needs undoing."
                if outcome.result == "rolled-back"
                else "The endpoint was kept serving the new model: there was nothing to go back to.",
            )
        )
    elif outcome.result == "rolled-back":
        doc.bullets(
            (
                (
                    "Look at the alarm in CloudWatch (linked above): which metric crossed its threshold, "
                    "and on which fleet."
                )
                if diagnosis.fired
                else "Look at the rollback alarms (links below): which metric crossed its threshold, and when."
                if config.alarms
                else ("No rollback alarm was set: read the endpoint's CloudWatch logs, ", logs, ", for why."),
                "Fix the model or its image, then push again; the next run rolls the new image out the same way.",
                "The previous config keeps serving meanwhile; nothing needs undoing.",
            )
        )
    elif view is CANCELLED:
        doc.bullets(
            (
                "Nothing needs undoing. The next run of this endpoint (a rerun, or the next push) waits for any "
                "update in progress, adopts it (verdict, cleanup) and puts back autoscaling this run could not.",
                "A job cancelled by a newer run of the same concurrency group needs nothing: that run does the above.",
            )
        )
    elif view is TIMED_OUT:
        doc.bullets(
            (
                "The rollout goes on in SageMaker. Rerun the job: the action waits for it and finishes (verdict, "
                "cleanup).",
                ("If rollouts of this model take longer, raise ", Code("deployment-timeout-minutes"), "."),
            )
        )
    elif _out_of_capacity(outcome.failure_reason):
        doc.bullets(
            (
                (
                    "AWS had no ",
                    Code(outcome.plan.desired.instance_type if outcome.plan else "instance"),
                    " capacity for the new fleet when it launched: a shortage on AWS's side, not a fault of the "
                    "image. Run the job again later; capacity is often back within hours.",
                ),
                ("Or pick another ", Code("instance-type"), " (a GPU of another family or size)."),
                (
                    Code("deployment-strategy: rolling"),
                    " needs capacity for one batch instead of a whole second fleet.",
                ),
                "Nothing that served before was deleted.",
            )
        )
    else:
        read_log: Inline = (
            "Read the new fleet's container log above: a container that fails its health check (/ping) or "
            "crashes on start says why there."
            if diagnosis.container_log is not None and diagnosis.container_log.lines
            else (
                "Read the container's logs in CloudWatch, log group ",
                logs,
                ": a container that fails its health check (/ping) or crashes on start says why there.",
            )
        )
        doc.bullets(
            (
                "Read the FailureReason above (SageMaker's own words).",
                read_log,
                "Fix, then push again; nothing that served before was deleted.",
            )
        )


SMOKE_LINES = 10  # of the response or the failure, in the report


def _smoke_test(doc: Document, outcome: RolloutOutcome, config: ActionConfig, layout: Layout) -> None:
    """The smoke test: in plan mode, the one an apply run would send; after a rollout, what it got."""
    smoke = config.smoke_test
    if smoke is None:
        return
    given = Code(shorten(smoke.given, NAME_MAX))
    if config.mode == "plan":
        doc.heading(3, "Smoke test")
        if outcome.plan is not None and outcome.plan.action == "unchanged":
            doc.paragraph("None would run: nothing would be rolled out.")
            return
        doc.paragraph(
            "An apply run would send one request, ",
            given,
            (" (inline, " + f"{len(smoke.body):,} bytes, ") if not smoke.input_location else " (",
            Code(shorten(smoke.content_type, 100)),
            "), once the new model takes all the traffic, and wait up to ",
            f"{smoke.timeout_seconds:g} s for its answer in S3",
            (", which must match ", Code(shorten(smoke.expect.pattern, VALUE_MAX))) if smoke.expect else "",
            ".",
        )
        return
    result = outcome.smoke
    if result is None:
        return
    doc.heading(3, f"{'✅' if result.passed else '❌'} Smoke test {'passed' if result.passed else 'failed'}")
    doc.paragraph(
        "One request, ",
        given,
        ", ",
        f"answered in {_duration(result.seconds)}."
        if result.passed
        else (f"failed after {_duration(result.seconds)}: ", _sentence(shorten(result.reason, VALUE_MAX))),
    )
    items: list[Inline] = [
        (
            "Request id ",
            Code(shorten(result.request_id or NONE, NAME_MAX)),
            ", inference id ",
            Code(shorten(result.inference_id or NONE, NAME_MAX)),
        ),
    ]
    for label, uri, landed in (
        ("Output", result.output_location, result.answered == "output"),
        ("Failure", result.failure_location, result.answered == "failure"),
    ):
        if uri and (landed or not result.passed):  # a passed test's empty failure location says nothing
            items.append(
                (
                    f"{label}: ",
                    Link(Code(shorten(uri, NAME_MAX)), _s3_url(config.region, uri)),
                    "" if landed else " (nothing there when the smoke test ended)",
                )
            )
    doc.bullets(items)
    if result.excerpt:
        lines = result.excerpt.splitlines()[:SMOKE_LINES]
        doc.paragraph(f"The {'failure' if result.answered == 'failure' else 'response'} begins:")
        doc.code_block("\n".join(shorten(line, 400) for line in lines), width=layout.code_width)


def _s3_url(region: str, uri: str) -> str:
    """The S3 console's page of the object an ``s3://bucket/key`` URI names."""
    bucket, _, key = uri[len("s3://") :].partition("/")
    base = _console_base(region, "s3").replace("/s3/home?", "/s3/object/" + quote(bucket, safe="") + "?")
    return f"{base}&prefix={quote(key, safe='')}"


def _out_of_capacity(failure_reason: str) -> bool:
    """SageMaker could not launch the instances: "Unable to provision requested ML compute capacity due to
    InsufficientInstanceCapacity error." (as quoted in aws/deep-learning-containers#6673), or "CapacityError:
    Unable to provision requested ML compute capacity." (DIAGNijmegen/rse-grand-challenge#2631)."""
    return "Unable to provision requested ML compute capacity" in failure_reason or (
        "InsufficientInstanceCapacity" in failure_reason
    )


def _changes(doc: Document, outcome: RolloutOutcome, view: View, layout: Layout) -> None:
    changes = outcome.plan.changes if outcome.plan else ()
    if not changes:
        return
    doc.heading(3, "Changes an apply run would make" if view.plan else "Changes")
    lines: list[str] = []
    for change in changes[: layout.changes_max]:
        before, after = _shown(change.field, change.before), _shown(change.field, change.after)
        if before:
            lines.append(f"- {change.field}: {shorten(before, VALUE_MAX)}")
        if after:
            lines.append(f"+ {change.field}: {shorten(after, VALUE_MAX)}")
    doc.code_block("\n".join(lines), "diff", width=layout.code_width, keep_prefix=2)
    if len(changes) > layout.changes_max:
        doc.paragraph(f"… and {len(changes) - layout.changes_max} more (the changes output lists them all).")


def _shown(field: str, value: str) -> str:
    """A change's value as the diff shows it: an image as its repository's last part and a short digest."""
    return short_image(value) if field == "image" else value


def _state_table(doc: Document, outcome: RolloutOutcome, view: View) -> None:
    """Before and after side by side, in cells short enough for the narrow page (full names are listed once,
    folded, below)."""
    before = _side_of(outcome.before)
    wanted = _desired_side(outcome)
    now = _now_side(outcome)
    columns: list[tuple[str, _Side | None]]
    if view.plan:
        columns = [("Serving now", before), ("Would deploy", wanted)]
        if outcome.result == "unchanged":
            columns = [("Serving", before)]
    elif outcome.result == "unchanged":
        columns = [("Serving", before)]
    elif view.went_wrong:
        columns = [("Before", before), ("Attempted", wanted)]
        if now is not None and now not in (before, wanted):
            columns.append(("Now", now))
        elif now is not None and now == wanted and now != before and outcome.result == "failed":
            columns[1] = ("Attempted, now on", wanted)
        elif now is not None and now == before:
            columns[0] = ("Before, still serving", before)
    else:
        columns = [("Before", before), ("After", now)]
    width = 28 if len(columns) < 3 else 18

    def row(label: str, cell: str) -> list[Inline]:
        values = [getattr(side, cell) if side is not None else "" for _, side in columns]
        shown = [_short_digest(v) if cell == "image" else _cell(v, width) for v in values]
        cells: list[Inline] = [Strong(label)]
        return cells + [Code(v) if v else NONE for v in shown]

    doc.table(
        ["", *(title for title, _ in columns)],
        [
            row("Image digest", "image"),
            row("Instance type", "instance_type"),
            row("Endpoint config", "config"),
            row("Model", "model"),
        ],
    )


def _kept_settings(doc: Document, outcome: RolloutOutcome) -> None:
    """Settings carried over from the serving endpoint unchanged (not changes), folded."""
    kept = outcome.plan.kept if outcome.plan else ()
    if not kept:
        return
    inner = Document()
    inner.bullets(
        (Strong(shorten(item.label, NAME_MAX)), ": ", Code(shorten(item.value, VALUE_MAX))) for item in kept[:LIST_MAX]
    )
    if len(kept) > LIST_MAX:
        inner.paragraph(f"… and {len(kept) - LIST_MAX} more (the step's log lists them all).")
    doc.details(f"Kept from the serving endpoint ({len(kept)} setting{'s' if len(kept) != 1 else ''})", inner)


def _timeline(doc: Document, outcome: RolloutOutcome) -> None:
    if not outcome.transitions:
        return
    inner = Document()
    shown = outcome.transitions[:ROWS_MAX]
    inner.table(("Time (UTC)", "Status", "Step", "Since start"), (_timeline_row(t, outcome) for t in shown))
    if len(outcome.transitions) > ROWS_MAX:
        inner.paragraph(f"… and {len(outcome.transitions) - ROWS_MAX} more transitions.")
    count = len(outcome.transitions)
    doc.details(
        f"Rollout timeline: {count} status change{'s' if count != 1 else ''} in {_duration(outcome.duration)}", inner
    )


def _timeline_row(transition: Transition, outcome: RolloutOutcome) -> list[Inline]:
    return [
        _clock(transition.at),
        shorten(transition.status, 60),
        # Which step the rollout was in (the new fleet's status and instances), else the bare VariantStatus.
        shorten(transition.progress or transition.variant_status, 160) or NONE,
        "+" + _duration(transition.at - outcome.started),
    ]


def _cleanup(doc: Document, outcome: RolloutOutcome) -> None:
    if outcome.cleaned_up:
        doc.paragraph(Strong("Cleaned up:"), " ", _joined(outcome.cleaned_up, LIST_MAX), ".")
    if outcome.kept:
        doc.paragraph(Strong("Kept:"), " ", _joined(outcome.kept, LIST_MAX), ".")


def _autoscaling(doc: Document, outcome: RolloutOutcome) -> None:
    """What happened to the variant's autoscaling: restored, alarms re-pointed, or left recorded for the next run."""
    if outcome.autoscaling:
        doc.heading(3, "Autoscaling")
        doc.bullets([shorten(line, MESSAGE_MAX) for line in outcome.autoscaling[:LIST_MAX]])


def _full_names(doc: Document, outcome: RolloutOutcome, config: ActionConfig) -> None:
    """Every name and reference the tables cut short, in full, once (a list wraps; a table does not)."""
    rows: list[Inline] = []
    if outcome.endpoint_arn:
        rows.append((Strong("Endpoint ARN"), ": ", Code(shorten(outcome.endpoint_arn, NAME_MAX))))
    sides = [("Before", _side_of(outcome.before))]
    if outcome.result != "unchanged":
        sides.append(("Would deploy" if view_of(outcome, config).plan else "Deployed", _desired_side(outcome)))
    seen: set[_Side] = set()
    for title, side in sides:
        if side is None or side in seen:
            continue
        seen.add(side)
        parts: list[Inline] = [Strong(title), ": image ", Code(shorten(side.image, NAME_MAX)) if side.image else NONE]
        parts += [", endpoint config ", Code(shorten(side.config, NAME_MAX))] if side.config else []
        parts += [", model ", Code(shorten(side.model, NAME_MAX))] if side.model else []
        rows.append(tuple(parts))
    if rows:
        inner = Document().bullets(rows)
        doc.details("Names and image references in full", inner)


def _links(
    doc: Document, endpoint_name: str, region: str, alarms: Sequence[str], run_url: str, with_logs: bool
) -> None:
    items: list[Inline] = [
        ("SageMaker console: ", Link(("endpoint ", Code(endpoint_name)), _console_url(region, endpoint_name))),
    ]
    items += [("Rollback alarm: ", Link(shorten(a, NAME_MAX), _alarm_url(region, a))) for a in alarms[:LIST_MAX]]
    if with_logs:
        items.append(("CloudWatch logs: ", Link(Code(log_group(endpoint_name)), _log_group_url(region, endpoint_name))))
    if run_url:
        items.append(("Workflow run: ", Link(run_url, run_url)))
    doc.heading(3, "Links")
    doc.bullets(items)


def _footer(doc: Document, outcome: RolloutOutcome, config: ActionConfig) -> None:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(outcome.finished or outcome.started))
    run_url = config.github.run_url
    parts: list[Inline] = [f"Last run {when}"]
    if run_url:
        parts += [" · ", Link("full report in the job summary", run_url)]
    parts += [" · ", Link("endpoint in the SageMaker console", _console_url(config.region, config.endpoint_name))]
    if view_of(outcome, config).went_wrong:
        parts += [" · ", Link("CloudWatch logs", _log_group_url(config.region, config.endpoint_name))]
        parts += [(" · ", Link(f"alarm {shorten(a, 60)}", _alarm_url(config.region, a))) for a in config.alarms[:5]]
    doc.paragraph(*parts)


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
    if kind == "cancelled":
        return (
            "Nothing needs undoing and nothing was deleted. The next run of this endpoint (a rerun, or the next push) "
            "waits for any update in progress, adopts it (verdict, cleanup) and puts back autoscaling this run could "
            "not. To let one run per endpoint go at a time, the next queued instead of cancelling a rollout midway:",
            f"concurrency:\n  group: sagemaker-{shorten(endpoint_name, NAME_MAX)}\n  cancel-in-progress: false\n",
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
            "(least-privilege policy: the action's docs/iam-policy.json), then rerun; nothing was deleted.",
            "",
        )
    return (
        "Read the message above and the step's log, fix the cause, then rerun; nothing that served was deleted.",
        "",
    )


# --- small helpers ------------------------------------------------------------------------------------------


def _side_of(state: ServingState | None) -> _Side | None:
    if state is None:
        return None
    return _Side(state.config_name, state.model_name, state.image, state.instance_type)


def _desired_side(outcome: RolloutOutcome) -> _Side | None:
    if outcome.plan is None:
        return None
    d = outcome.plan.desired
    return _Side(d.config_name, d.model_name, d.image, d.instance_type)


def _now_side(outcome: RolloutOutcome) -> _Side | None:
    """What serves at the end of the run, completed from the side whose config it is."""
    config = outcome.serving_config
    if not config:
        return _side_of(outcome.before) if outcome.result != "failed" else None
    known = [side for side in (_side_of(outcome.before), _desired_side(outcome)) if side is not None]
    match = next((side for side in known if side.config == config), None)
    if match is not None and outcome.result == "failed":
        # A failed rollout leaves the outcome's model and image at what served when it was planned, while
        # the endpoint may report the new config: the config's own side is the consistent picture.
        return match
    return _Side(
        config,
        outcome.serving_model or (match.model if match else ""),
        outcome.serving_image or (match.image if match else ""),
        match.instance_type if match else "",
    )


def _sentence(text: str) -> str:
    text = shorten(text, MESSAGE_MAX)
    text = text[:1].upper() + text[1:]
    return text if not text or text.endswith((".", "…", ")")) else text + "."


def _image(image: str) -> Inline:
    return Code(short_image(image)) if image else NONE


def short_image(image: str) -> str:
    """``whisper@sha256:9f8e7d6c5b4a``: the repository's last part and the digest's first 12 hex digits (the log
    shows images so too, the full reference once, in its plan)."""
    digest = image_digest(image)
    if not digest:
        return _cell(image, 60)
    repository = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return f"{_cell(repository, 30)}@{digest[:SHORT_DIGEST]}"


def _short_digest(image: str) -> str:
    digest = image_digest(image)
    return digest[:SHORT_DIGEST] if digest else _cell(image, 20)


def _cell(text: str, width: int) -> str:
    """The text cut in the middle to ``width`` characters: derived names differ in their last part."""
    if len(text) <= width:
        return text
    tail = (width - 1) // 2
    return text[: width - 1 - tail] + "…" + text[-tail:]


def _clock(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(epoch))


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


def _package_url(region: str, group: str) -> str:
    """The group's page in the registry, which lists its versions: the console's one address for it that
    registry scripts in the open agree on (AWS documents no console addresses; a version's own page has none
    that is stable)."""
    name = group.rsplit("/", 1)[-1]  # a group given by ARN
    return f"{_console_base(region, 'sagemaker')}#/model-registry/{quote(name, safe='')}"


def _alarm_url(region: str, alarm: str) -> str:
    return f"{_console_base(region, 'cloudwatch')}#alarmsV2:alarm/{quote(alarm, safe='')}"


def _log_group_url(region: str, endpoint_name: str) -> str:
    return _group_url(region, log_group(endpoint_name))


def _group_url(region: str, group: str) -> str:
    # The CloudWatch console reads its fragment with "$" in place of "%", after one round of encoding.
    encoded = quote(quote(group, safe=""), safe="").replace("%", "$")
    return f"{_console_base(region, 'cloudwatch')}#logsV2:log-groups/log-group/{encoded}"
