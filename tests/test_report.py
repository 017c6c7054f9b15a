"""The job summary, the PR comment body and the fatal-path summary, rendered with GitHub's Markdown engine."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, get_args

import pytest

from sagemaker_async_deploy import report
from sagemaker_async_deploy.carried import Kept
from sagemaker_async_deploy.comment import comment_marker, fit_comment_body
from sagemaker_async_deploy.config import INPUT_DEFAULTS, ActionConfig, parse_config
from sagemaker_async_deploy.diagnosis import AlarmWarning, ContainerLog, Diagnosis, FiredAlarm, LogLine
from sagemaker_async_deploy.errors import InputProblem
from sagemaker_async_deploy.planner import desired_from, plan
from sagemaker_async_deploy.rollout import RolloutOutcome, Transition
from sagemaker_async_deploy.state import ServingState

from .factories import SHAPES, serving_state
from .report_html import Rendered, parse, table_after, to_html

REGION = "eu-west-1"
REPO = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/whisper"
OLD_IMAGE = f"{REPO}@sha256:1a2b3c4d5e6f" + "0" * 52
NEW_IMAGE = f"{REPO}@sha256:9f8e7d6c5b4a" + "1" * 52
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
ALARMS = "whisper-5xx\nwhisper p99 latency / high"
RUN_URL = "https://github.com/acme/models/actions/runs/4242"
START = 1_700_000_000.0  # 22:13:20 UTC
HOSTILE = "</code><script>alert(1)</script> <img src=x onerror=alert(1)> | `tick` ``` ~~~"


def make_config(environ: dict[str, str] | None = None, **inputs: str) -> ActionConfig:
    """A config as parse_config makes it from inputs (underscores for hyphens) in eu-west-1, run 4242."""
    raw = {
        **INPUT_DEFAULTS,
        "endpoint-name": "whisper",
        "image": NEW_IMAGE,
        "instance-type": "ml.g5.xlarge",
        "output-path": "s3://inference-bucket/whisper/out/",
        "execution-role-arn": ROLE,
        "alarms": ALARMS,
        **{k.replace("_", "-"): v for k, v in inputs.items()},
    }
    env = {"AWS_REGION": REGION, "GITHUB_REPOSITORY": "acme/models", "GITHUB_RUN_ID": "4242"}
    return parse_config(raw, env if environ is None else environ)


def serving(**fields: Any) -> ServingState:
    """What the endpoint serves before the run: the old image on ml.g4dn.xlarge."""
    values: dict[str, Any] = {
        "region": REGION,
        "config_name": "whisper-aaaaaaaaaaaa",
        "model_name": "whisper-bbbbbbbbbbbb",
        "image": OLD_IMAGE,
        "instance_type": "ml.g4dn.xlarge",
        "output_path": "s3://inference-bucket/whisper/out/",
        "model_role": ROLE,
        "alarms": ("whisper-5xx", "whisper p99 latency / high"),
        "bake_seconds": 300,
    }
    values.update(fields)
    return serving_state(**values)


TRANSITIONS = [
    Transition(START + 2, "Updating", "Creating"),
    Transition(START + 185, "Updating", "Baking"),
    Transition(START + 490, "InService", ""),
]


def outcome_for(result: str, config: ActionConfig, current: ServingState | None, **fields: Any) -> RolloutOutcome:
    """The outcome the rollout reports for ``result``, with the plan made from ``current`` and ``config``."""
    the_plan = plan(current, desired_from(config, current, SHAPES))
    desired = the_plan.desired
    values: dict[str, Any] = {"plan": the_plan, "before": current, "started": START, "finished": START + 491}
    if current is not None:
        values.update(
            endpoint_arn=current.endpoint_arn,
            serving_config=current.config_name,
            serving_model=current.model_name,
            serving_image=current.image,
        )
    if result in ("created", "updated"):
        values.update(
            serving_config=desired.config_name,
            serving_model=desired.model_name,
            serving_image=desired.image,
            transitions=list(TRANSITIONS),
        )
        if current is not None:
            values["cleaned_up"] = [f"endpoint config {current.config_name}", f"model {current.model_name}"]
    elif result == "rolled-back":
        assert current is not None
        values.update(
            message=f"SageMaker rolled the update back (an auto-rollback alarm fired); "
            f"{current.config_name} still serves {current.image}",
            transitions=[
                *TRANSITIONS[:2],
                Transition(START + 400, "RollingBack", ""),
                Transition(START + 490, "InService", ""),
            ],
            cleaned_up=[f"endpoint config {desired.config_name}", f"model {desired.model_name}"],
            kept=[f"endpoint config {current.config_name} (serving)"],
        )
    elif result == "failed":
        values.update(
            message="the endpoint is Failed",
            serving_config=desired.config_name,
            transitions=[TRANSITIONS[0], Transition(START + 490, "Failed", "")],
            kept=[f"endpoint config {desired.config_name}", f"model {desired.model_name}"],
        )
    elif result in ("would-create", "would-update", "unchanged"):
        values["finished"] = START + 1
    values.update(fields)
    return RolloutOutcome(result=result, **values)


def updated() -> tuple[RolloutOutcome, ActionConfig]:
    config = make_config()
    return outcome_for("updated", config, serving()), config


def assert_tables_whole(rendered: Rendered) -> None:
    """Every table row has its header's width and no table row was left behind as paragraph text."""
    assert rendered.tables
    for table in rendered.tables:
        assert {len(row) for row in table} == {len(table[0])}, table
    assert not [line for p in rendered.paragraphs for line in p.splitlines() if line.lstrip().startswith("|")]


def assert_no_html_from_outside(markdown: str) -> None:
    """Nothing but the elements the report builds appears in the HTML; an <img> or <script> never does."""
    html = to_html(markdown)
    rendered = parse(markdown)
    allowed = {"h2", "h3", "p", "strong", "code", "pre", "table", "thead", "tbody", "tr", "th", "td", "a", "ul", "li"}
    allowed |= {"blockquote", "details", "summary", "em"}
    assert set(rendered.tags) <= allowed, set(rendered.tags) - allowed
    assert "<script" not in html and "<img" not in html


ALL_RESULTS = [
    ("created", None, "apply"),
    ("updated", serving(), "apply"),
    ("unchanged", serving(image=NEW_IMAGE, instance_type="ml.g5.xlarge"), "apply"),
    ("rolled-back", serving(), "apply"),
    ("failed", serving(), "apply"),
    ("would-create", None, "plan"),
    ("would-update", serving(), "plan"),
    ("unchanged", serving(image=NEW_IMAGE, instance_type="ml.g5.xlarge"), "plan"),
]


@pytest.mark.parametrize(("result", "current", "mode"), ALL_RESULTS)
def test_every_result_renders_whole_tables(result: str, current: ServingState | None, mode: str) -> None:
    """For every result the summary's and the comment's tables render as <table> with no stray | rows."""
    config = make_config(mode=mode)
    outcome = outcome_for(result, config, current)
    for markdown in (report.summary(outcome, config), report.comment_body(outcome, config)):
        assert "<table>" in to_html(markdown)
        assert_tables_whole(parse(markdown))
        assert_no_html_from_outside(markdown)


@pytest.mark.parametrize(
    ("result", "current", "mode", "headline"),
    [
        ("created", None, "apply", "✅ SageMaker endpoint whisper: created"),
        ("updated", serving(), "apply", "✅ SageMaker endpoint whisper: updated"),
        (
            "unchanged",
            serving(image=NEW_IMAGE, instance_type="ml.g5.xlarge"),
            "apply",
            "✅ SageMaker endpoint whisper: unchanged",
        ),
        ("rolled-back", serving(), "apply", "↩️ SageMaker endpoint whisper: rolled back"),
        ("failed", serving(), "apply", "❌ SageMaker endpoint whisper: failed"),
        ("would-create", None, "plan", "📝 SageMaker endpoint whisper: would create"),
        ("would-update", serving(), "plan", "📝 SageMaker endpoint whisper: would update"),
        (
            "unchanged",
            serving(image=NEW_IMAGE, instance_type="ml.g5.xlarge"),
            "plan",
            "✅ SageMaker endpoint whisper: unchanged (plan)",
        ),
    ],
)
def test_headline_names_the_result(result: str, current: ServingState | None, mode: str, headline: str) -> None:
    """The first heading of the summary and of the comment says the endpoint and the result in words."""
    config = make_config(mode=mode)
    outcome = outcome_for(result, config, current)
    assert parse(report.summary(outcome, config)).headings[0] == headline
    assert parse(report.comment_body(outcome, config)).headings[0] == headline


def test_update_table_shows_before_and_after_in_short_cells() -> None:
    """An update's table has Before and After columns of short digests, instance types and names."""
    outcome, config = updated()
    desired = desired_from(config, outcome.before, SHAPES)
    table = table_after(parse(report.summary(outcome, config)), "Before")
    assert table == [
        ["", "Before", "After"],
        ["Image digest", "sha256:1a2b3c4d5e6f", "sha256:9f8e7d6c5b4a"],
        ["Instance type", "ml.g4dn.xlarge", "ml.g5.xlarge"],
        ["Endpoint config", "whisper-aaaaaaaaaaaa", desired.config_name],
        ["Model", "whisper-bbbbbbbbbbbb", desired.model_name],
    ]


def test_long_names_are_cut_in_the_middle_in_the_table() -> None:
    """A name longer than a cell keeps its start and its distinguishing end, and appears in full once below."""
    long_config = "whisper-production-eu-west-1-endpoint-0123456789ab"  # <endpoint>-<12 hex> as the action names
    outcome = outcome_for("updated", make_config(), serving(config_name=long_config))
    markdown = report.summary(outcome, make_config())
    cell = table_after(parse(markdown), "Before")[3][1]
    assert cell == "whisper-produc…-0123456789ab"
    assert markdown.count(long_config) == 1


@pytest.mark.parametrize("document", ["summary", "comment"])
def test_each_full_image_reference_appears_once(document: str) -> None:
    """The old and the new image reference each appear once in full: short digests everywhere else."""
    outcome, config = updated()
    markdown = report.summary(outcome, config) if document == "summary" else report.comment_body(outcome, config)
    assert markdown.count(OLD_IMAGE) == 1
    assert markdown.count(NEW_IMAGE) == 1


def test_create_has_nothing_before() -> None:
    """A created endpoint's Before column is a dash in every row."""
    config = make_config()
    outcome = outcome_for("created", config, None)
    table = table_after(parse(report.summary(outcome, config)), "Before")
    assert [row[1] for row in table[1:]] == ["—"] * 4
    assert table[1][2] == "sha256:9f8e7d6c5b4a"


def test_the_lead_says_the_verdict_and_the_main_change() -> None:
    """The first paragraph under the headline names the result's one thing: the image, from → to."""
    outcome, config = updated()
    first = parse(report.comment_body(outcome, config)).paragraphs[0]
    assert first == (
        "Updated (blue/green, all at once) in eu-west-1 in 8m 11s: image whisper@sha256:1a2b3c4d5e6f → "
        "whisper@sha256:9f8e7d6c5b4a, and 1 more change below."
    )


def test_update_lists_the_changes_as_a_diff() -> None:
    """The changes are a diff block: a - line with the old and a + line with the new value of each setting."""
    outcome, config = updated()
    rendered = parse(report.summary(outcome, config))
    (diff,) = [block for block in rendered.pre if block.startswith("- ")]
    assert diff.splitlines() == [
        "- image: whisper@sha256:1a2b3c4d5e6f",
        "+ image: whisper@sha256:9f8e7d6c5b4a",
        "- instance-type: ml.g4dn.xlarge",
        "+ instance-type: ml.g5.xlarge",
    ]
    assert '<pre lang="diff">' in to_html(report.summary(outcome, config))


def test_a_long_change_is_folded_and_keeps_its_sign() -> None:
    """A value longer than the comment's code width continues on lines that keep the + sign."""
    config = make_config(output_path="s3://inference-bucket/" + "very-long-prefix/" * 8)
    outcome = outcome_for("updated", config, serving())
    (diff,) = [b for b in parse(report.comment_body(outcome, config)).pre if b.startswith("- ")]
    lines = [line for line in diff.splitlines() if "output-path" in line or line.startswith("+  ")]
    assert all(len(line) <= report.COMMENT.code_width for line in diff.splitlines())
    assert lines[1].startswith("+ output-path: s3://inference-bucket/") and lines[2].startswith("+  ")


def test_plan_mode_shows_what_would_change() -> None:
    """A plan run says "would update", that nothing was changed, and lists the changes an apply would make."""
    config = make_config(mode="plan")
    outcome = outcome_for("would-update", config, serving())
    rendered = parse(report.summary(outcome, config))
    assert "would update" in rendered.headings[0]
    assert "Changes an apply run would make" in rendered.headings
    assert rendered.paragraphs[0].startswith(
        "Plan only, nothing was changed. An apply run would update 2 settings (blue/green, all at once)"
    )
    assert table_after(rendered, "Serving now")[0] == ["", "Serving now", "Would deploy"]


def test_plan_mode_create_lists_every_setting() -> None:
    """A plan run against a missing endpoint lists every setting it would create it with, as + lines."""
    config = make_config(mode="plan")
    outcome = outcome_for("would-create", config, None)
    (diff,) = [b for b in parse(report.comment_body(outcome, config)).pre if b.startswith("+ ")]
    assert "+ image: whisper@sha256:9f8e7d6c5b4a" in diff.splitlines()
    assert "+ output-path: s3://inference-bucket/whisper/out/" in diff.splitlines()
    assert not [line for line in diff.splitlines() if line.startswith("- ")]


def test_unchanged_shows_what_serves_and_no_changes() -> None:
    """An unchanged run shows one Serving column and says there is nothing to change."""
    config = make_config()
    outcome = outcome_for("unchanged", config, serving(image=NEW_IMAGE, instance_type="ml.g5.xlarge"))
    rendered = parse(report.summary(outcome, config))
    assert table_after(rendered, "Serving")[0] == ["", "Serving"]
    assert rendered.paragraphs[0] == (
        "Nothing to change: the endpoint already serves what the inputs ask for (whisper@sha256:9f8e7d6c5b4a)."
    )
    assert "Changes" not in rendered.headings


def test_rollback_says_what_still_serves_what_was_cleaned_up_and_what_to_do() -> None:
    """A rollback says what still serves, lists the deleted new config and model, and the next steps."""
    config = make_config()
    outcome = outcome_for("rolled-back", config, serving())
    desired = desired_from(config, outcome.before, SHAPES)
    rendered = parse(report.summary(outcome, config))
    assert rendered.paragraphs[0] == (
        "SageMaker rolled back the update to whisper@sha256:9f8e7d6c5b4a after 8m 11s; the endpoint still serves "
        "whisper@sha256:1a2b3c4d5e6f."
    )
    assert table_after(rendered, "Attempted")[0] == ["", "Before, still serving", "Attempted"]
    cleaned = next(p for p in rendered.paragraphs if p.startswith("Cleaned up:"))
    assert f"endpoint config {desired.config_name}" in cleaned and f"model {desired.model_name}" in cleaned
    assert "Kept: endpoint config whisper-aaaaaaaaaaaa (serving)." in rendered.paragraphs
    assert "What to do next" in rendered.headings
    assert "Look at the rollback alarms (links below): which metric crossed its threshold, and when." in rendered.text
    assert "no alarm is shown to have fired, so the cause is unknown" in rendered.text


def test_a_rollback_with_a_failure_reason_and_no_alarm_seen_blames_no_alarm() -> None:
    """SageMaker's FailureReason is the cause it gives: no sentence about alarms follows it."""
    config = make_config()
    outcome = outcome_for("rolled-back", config, serving(), failure_reason=REASON)
    rendered = parse(report.summary(outcome, config))
    assert REASON in rendered.paragraphs
    assert "no alarm is shown to have fired" not in rendered.text
    assert "The alarms that guard the rollout" not in rendered.text


FIRED = FiredAlarm(
    "whisper-5xx", START + 380, "Threshold Crossed: 1 datapoint [3.0 (14/11/23 22:19:00)] was >= the threshold (1.0)."
)


@pytest.mark.parametrize("document", ["summary", "comment"])
def test_rollback_names_the_alarm_that_fired_and_its_reason(document: str) -> None:
    """With the alarm's history, the rollback names the alarm in the lead, and when and why it fired below."""
    config = make_config()
    outcome = outcome_for("rolled-back", config, serving())
    found = Diagnosis(fired=(FIRED,))
    markdown = (
        report.summary(outcome, config, found) if document == "summary" else report.comment_body(outcome, config, found)
    )
    rendered = parse(markdown)
    assert rendered.paragraphs[0] == (
        "SageMaker rolled back the update to whisper@sha256:9f8e7d6c5b4a after 8m 11s because alarm whisper-5xx "
        "went to ALARM; "
        "the endpoint still serves whisper@sha256:1a2b3c4d5e6f."
    )
    assert "Alarm whisper-5xx went to ALARM at 22:19:40 UTC:" in rendered.paragraphs
    assert FIRED.reason in rendered.paragraphs  # the blockquote's paragraph
    assert "the cause is unknown" not in rendered.text
    assert (
        f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#alarmsV2:alarm/whisper-5xx",
        "whisper-5xx",
    ) in rendered.links


def test_rollback_without_a_readable_history_says_how_to_grant_it() -> None:
    """When the alarm history could not be read, the rollback says so in one sentence and still lists the alarms."""
    config = make_config()
    outcome = outcome_for("rolled-back", config, serving())
    note = "The action may not read which alarm fired: grant its role cloudwatch:DescribeAlarmHistory."
    rendered = parse(report.summary(outcome, config, Diagnosis(alarm_note=note)))
    assert note in rendered.paragraphs
    assert "The alarms that guard the rollout: whisper-5xx, whisper p99 latency / high." in rendered.text


REASON = "The primary container for production variant AllTraffic did not pass the ping health check."
TRACEBACK = (
    "Traceback (most recent call last):",
    '  File "/opt/ml/code/serve.py", line 12, in <module>',
    "RuntimeError: CUDA error: out of memory",
)


def failed_before_traffic(config: ActionConfig, **fields: Any) -> RolloutOutcome:
    """A rollout whose new fleet failed its health check: the old config still serves, with a FailureReason."""
    current = serving()
    values: dict[str, Any] = {"failure_reason": REASON, "serving_config": current.config_name, "kept": []}
    return outcome_for("failed", config, current, **{**values, **fields})


def container_log(*texts: str, stream: str = "AllTraffic/i-0new", omitted: int = 0) -> ContainerLog:
    lines = tuple(LogLine(START + 100 + i, stream, text) for i, text in enumerate(texts))
    return ContainerLog("/aws/sagemaker/Endpoints/whisper", (stream,), lines, omitted)


def test_failed_rollout_shows_its_failure_reason_and_where_to_look() -> None:
    """A failed rollout quotes FailureReason (it wraps, unlike a code block) and points to the CloudWatch logs."""
    config = make_config()
    rendered = parse(report.summary(failed_before_traffic(config), config))
    assert rendered.paragraphs[0] == (
        "The new fleet of whisper@sha256:9f8e7d6c5b4a failed before it took traffic, after 8m 11s; the endpoint "
        "still serves "
        "whisper@sha256:1a2b3c4d5e6f."
    )
    assert REASON in rendered.paragraphs and "blockquote" in rendered.tags
    logs = (
        f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}"
        "#logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FEndpoints$252Fwhisper"
    )
    assert (logs, "/aws/sagemaker/Endpoints/whisper") in rendered.links


@pytest.mark.parametrize(
    "reason",
    [
        "Unable to provision requested ML compute capacity due to InsufficientInstanceCapacity error.",
        "CapacityError: Unable to provision requested ML compute capacity. Please retry using a different ML "
        "instance type.",
    ],
)
def test_a_fleet_aws_had_no_capacity_for_says_it_is_not_the_image(reason: str) -> None:
    """No capacity for the new fleet is AWS's shortage: the next steps say retry, another type, or rolling."""
    config = make_config()
    rendered = parse(report.summary(failed_before_traffic(config, failure_reason=reason), config))
    assert reason in rendered.paragraphs
    steps = rendered.text.split("What to do next", 1)[1]
    assert "AWS had no ml.g5.xlarge capacity for the new fleet when it launched" in steps
    assert "deployment-strategy: rolling needs capacity for one batch" in steps
    assert "container log" not in steps.split("Changes", 1)[0]


@pytest.mark.parametrize("document", ["summary", "comment"])
def test_failed_rollout_shows_the_new_fleets_last_log_lines_folded(document: str) -> None:
    """The container log's last lines are in a <details> block with the stream and a console link; the last
    line is also named in the open."""
    config = make_config()
    found = Diagnosis(container_log=container_log(*TRACEBACK, omitted=12))
    outcome = failed_before_traffic(config)
    markdown = (
        report.summary(outcome, config, found) if document == "summary" else report.comment_body(outcome, config, found)
    )
    rendered = parse(markdown)
    assert "The new fleet's last log line: RuntimeError: CUDA error: out of memory" in rendered.paragraphs
    assert "<summary>Container log of the new fleet: last 3 lines</summary>" in markdown
    (log,) = [block for block in rendered.pre if "Traceback" in block]
    assert log.splitlines() == [f"22:15:0{i} {text}" for i, text in enumerate(TRACEBACK)]
    assert any(
        p.startswith(
            "Log group /aws/sagemaker/Endpoints/whisper, new fleet's stream AllTraffic/i-0new; "
            "12 earlier lines not shown"
        )
        for p in rendered.paragraphs
    )
    assert "Read the new fleet's container log above" in rendered.text


def test_log_lines_are_inert_text() -> None:
    """Log lines holding workflow commands, HTML, fences or a closing </details> stay text in their block."""
    config = make_config()
    hostile = ("::set-output name=result::updated", "::add-mask::x", "</details><script>x</script>", "````", "|a|")
    markdown = report.comment_body(
        failed_before_traffic(config), config, Diagnosis(container_log=container_log(*hostile))
    )
    assert_no_html_from_outside(markdown)
    rendered = parse(markdown)
    (log,) = [block for block in rendered.pre if "set-output" in block]
    assert [line.split(" ", 1)[1] for line in log.splitlines()] == list(hostile)
    assert not [line for line in markdown.splitlines() if line.startswith("::")]
    assert "What to do next" in rendered.headings


def test_long_log_lines_are_folded_to_the_page() -> None:
    """A log line longer than the page continues on the next line instead of scrolling sideways."""
    config = make_config()
    found = Diagnosis(container_log=container_log("x" * 300))
    (log,) = [b for b in parse(report.comment_body(failed_before_traffic(config), config, found)).pre if "xxx" in b]
    assert all(len(line) <= report.COMMENT.code_width for line in log.splitlines())
    assert log.replace("\n", "").replace("  ", "").endswith("x" * 10)


def test_unreadable_log_is_one_sentence() -> None:
    """No log (missing group, no lines, no permission): one sentence saying so, and the report goes on."""
    config = make_config()
    note = "No container log: the log group /aws/sagemaker/Endpoints/whisper does not exist."
    found = Diagnosis(container_log=ContainerLog("/aws/sagemaker/Endpoints/whisper", note=note))
    rendered = parse(report.comment_body(failed_before_traffic(config), config, found))
    assert note in rendered.paragraphs
    assert "details" not in rendered.tags[: rendered.tags.index("h3", 1)]
    assert "What to do next" in rendered.headings


@pytest.mark.parametrize("mode", ["plan", "apply"])
def test_alarm_warnings_are_listed_under_the_lead(mode: str) -> None:
    """Preflight warnings show right after the verdict, each with its alarm, in plan and apply runs."""
    config = make_config(mode=mode)
    outcome = outcome_for("would-update" if mode == "plan" else "updated", config, serving())
    warnings = (AlarmWarning("whisper-5xx", "it watches Invocations, which SageMaker does not publish."),)
    rendered = parse(report.comment_body(outcome, config, Diagnosis(warnings=warnings)))
    assert rendered.headings[1] == "⚠️ Warnings"
    assert "whisper-5xx: it watches Invocations, which SageMaker does not publish." in rendered.text


@pytest.mark.parametrize("document", ["summary", "comment"])
def test_html_in_aws_text_is_never_rendered_as_html(document: str) -> None:
    """A FailureReason, message, status or cleanup entry holding HTML renders as text, in summary and comment."""
    config = make_config()
    outcome = outcome_for(
        "failed",
        config,
        serving(),
        failure_reason=HOSTILE,
        message=HOSTILE,
        transitions=[Transition(START + 1, HOSTILE, HOSTILE)],
        kept=[HOSTILE],
        cleaned_up=[HOSTILE],
    )
    found = Diagnosis(
        warnings=(AlarmWarning(HOSTILE, HOSTILE),),
        fired=(FiredAlarm(HOSTILE, START, HOSTILE),),
        container_log=container_log(HOSTILE, stream=HOSTILE),
    )
    markdown = (
        report.summary(outcome, config, found) if document == "summary" else report.comment_body(outcome, config, found)
    )
    assert_no_html_from_outside(markdown)
    rendered = parse(markdown)
    assert_tables_whole(rendered)
    assert HOSTILE in rendered.paragraphs  # the FailureReason's quote


def test_failure_reason_with_backtick_fences_stays_in_its_quote() -> None:
    """A FailureReason holding ``` lines cannot open a block: everything after it still renders as report."""
    config = make_config()
    reason = "first\n```\n# not a heading\n````\n<b>bold?</b>\n`````"
    outcome = outcome_for("failed", config, serving(), failure_reason=reason)
    rendered = parse(report.summary(outcome, config))
    assert [p for p in rendered.paragraphs if p in reason.splitlines()] == reason.splitlines()
    assert "not a heading" not in rendered.headings
    assert "What to do next" in rendered.headings
    assert "Links" in rendered.headings


def test_huge_failure_reason_keeps_the_summary_small() -> None:
    """A 5 MB FailureReason gives a summary far under 1 MiB and a comment under 60,000 characters, both cut."""
    config = make_config()
    outcome = outcome_for("failed", config, serving(), failure_reason="x`<" * (5 * 1024 * 1024 // 3))
    summary = report.summary(outcome, config)
    comment = report.comment_body(outcome, config)
    assert len(summary.encode()) < 20 * 1024
    assert len(comment) < 10_000
    quoted = next(p for p in parse(summary).paragraphs if p.startswith("x`<x`<"))
    assert "more characters)" in quoted
    assert "Links" in parse(summary).headings


def test_everything_huge_still_fits() -> None:
    """Thousands of huge transitions, cleanup entries, log lines and warnings cannot pass the document limits."""
    config = make_config()
    big = "y|" * 50_000
    outcome = outcome_for(
        "failed",
        config,
        serving(),
        failure_reason=big,
        message=big,
        transitions=[Transition(START + i, big, big) for i in range(2_000)],
        kept=[big] * 2_000,
        cleaned_up=[big] * 2_000,
    )
    found = Diagnosis(
        warnings=tuple(AlarmWarning(big, big) for _ in range(500)), container_log=container_log(*[big] * 500)
    )
    summary = report.summary(outcome, config, found)
    comment = report.comment_body(outcome, config, found)
    assert len(summary.encode()) <= report.SUMMARY_LIMIT
    assert len(comment.encode()) <= report.COMMENT_LIMIT
    for markdown in (summary, comment):
        assert_tables_whole(parse(markdown))


def test_document_limit_cuts_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the document limit the summary keeps whole sections, drops the rest and ends with a note."""
    config = make_config()
    found = Diagnosis(warnings=tuple(AlarmWarning(f"alarm-{i}", "w" * 280) for i in range(40)))
    outcome = outcome_for("failed", config, serving())
    assert len(report.summary(outcome, config, found).encode()) > 13_000
    monkeypatch.setattr(report, "SUMMARY", replace(report.SUMMARY, limit=13_000))
    cut = report.summary(outcome, config, found)
    assert len(cut.encode()) <= 13_000
    rendered = parse(cut)
    assert rendered.text.rstrip().endswith(
        "The rest of this summary was cut to keep it short; the step's log has every detail."
    )
    assert "⚠️ Warnings" in rendered.headings
    assert "Links" not in rendered.headings


def test_links_point_to_the_consoles_of_the_region_and_to_the_run() -> None:
    """The summary links the endpoint in SageMaker, each alarm in CloudWatch (name encoded) and the workflow run."""
    outcome, config = updated()
    links = parse(report.summary(outcome, config)).links
    base = f"https://{REGION}.console.aws.amazon.com"
    assert (f"{base}/sagemaker/home?region={REGION}#/endpoints/whisper", "endpoint whisper") in links
    assert (f"{base}/cloudwatch/home?region={REGION}#alarmsV2:alarm/whisper-5xx", "whisper-5xx") in links
    assert (
        f"{base}/cloudwatch/home?region={REGION}#alarmsV2:alarm/whisper%20p99%20latency%20%2F%20high",
        "whisper p99 latency / high",
    ) in links
    assert (RUN_URL, RUN_URL) in links


def test_no_run_link_without_a_run() -> None:
    """Outside a workflow run (no GITHUB_RUN_ID) neither document links a run."""
    config = make_config(environ={"AWS_REGION": REGION})
    outcome = outcome_for("updated", config, serving())
    for markdown in (report.summary(outcome, config), report.comment_body(outcome, config)):
        assert not [href for href, _ in parse(markdown).links if "/actions/runs/" in href]


def test_china_region_links_to_its_own_console() -> None:
    """In a China region the console links go to console.amazonaws.cn."""
    config = make_config(environ={"AWS_REGION": "cn-north-1"})
    outcome = outcome_for("updated", config, serving())
    links = parse(report.summary(outcome, config)).links
    assert (
        "https://console.amazonaws.cn/sagemaker/home?region=cn-north-1#/endpoints/whisper",
        "endpoint whisper",
    ) in links


def test_timeline_is_folded_with_one_row_per_transition() -> None:
    """The summary's timeline is a folded table: UTC time, status, the step (else the variant status), time
    since start."""
    outcome, config = updated()
    markdown = report.summary(outcome, config)
    assert "<details><summary>Rollout timeline: 3 status changes in 8m 11s</summary>" in markdown
    assert table_after(parse(markdown), "Time (UTC)") == [
        ["Time (UTC)", "Status", "Step", "Since start"],
        ["22:13:22", "Updating", "Creating", "+2s"],
        ["22:16:25", "Updating", "Baking", "+3m 05s"],
        ["22:21:30", "InService", "—", "+8m 10s"],
    ]


def test_full_names_are_folded_once() -> None:
    """The names the table cuts short are listed in full, once, in a folded list."""
    outcome, config = updated()
    markdown = report.comment_body(outcome, config)
    desired = desired_from(config, outcome.before, SHAPES)
    names = markdown.split("<summary>Names and image references in full</summary>", 1)[1].split("</details>")[0]
    items = [line for line in names.splitlines() if line.startswith("- ")]
    assert [parse(item).text.strip() for item in items[1:]] == [
        f"Before: image {OLD_IMAGE}, endpoint config whisper-aaaaaaaaaaaa, model whisper-bbbbbbbbbbbb",
        f"Deployed: image {NEW_IMAGE}, endpoint config {desired.config_name}, model {desired.model_name}",
    ]


def test_comment_is_the_condensed_story() -> None:
    """The comment has the headline, the table and the changes, links the run's summary, and no timeline."""
    outcome, config = updated()
    markdown = report.comment_body(outcome, config)
    rendered = parse(markdown)
    assert table_after(rendered, "Before")[0] == ["", "Before", "After"]
    assert "Changes" in rendered.headings
    assert "Time (UTC)" not in markdown
    assert (RUN_URL, "full report in the job summary") in rendered.links
    assert len(markdown) < len(report.summary(outcome, config))


def test_comment_carries_no_marker_of_its_own() -> None:
    """The body leaves the marker to publish_comment, which then sends it unchanged behind the marker."""
    outcome, config = updated()
    body = report.comment_body(outcome, config)
    marker = comment_marker(config.endpoint_name)
    assert "<!--" not in body
    assert fit_comment_body(body, marker, RUN_URL) == marker + "\n" + body


def test_rollback_comment_says_what_happened() -> None:
    """The rollback comment says SageMaker rolled back, what still serves and what to do next."""
    config = make_config()
    outcome = outcome_for("rolled-back", config, serving())
    rendered = parse(report.comment_body(outcome, config))
    assert "What happened" in rendered.headings and "What to do next" in rendered.headings
    assert "the endpoint still serves whisper@sha256:1a2b3c4d5e6f" in rendered.paragraphs[0]


def test_every_result_has_its_view() -> None:
    """Each result of the contract has a view, and a result nobody knows reads as a failure, never a success."""
    assert set(report.VIEWS) == set(get_args(report.Result))
    assert {r for r, v in report.VIEWS.items() if v.went_wrong} == {"rolled-back", "failed"}
    assert {r for r, v in report.VIEWS.items() if v.plan} == {"would-create", "would-update"}
    assert report.view_of(RolloutOutcome(result="exploded")) == report.VIEWS["failed"]
    assert report.view_of(RolloutOutcome(result="failed", timed_out=True)) == report.TIMED_OUT


def test_outputs_keep_the_contract() -> None:
    """The step outputs still carry every contract name with the outcome's values."""
    outcome, _ = updated()
    values = report.outputs(outcome, "https://github.com/acme/models/pull/7#issuecomment-1")
    assert list(values) == list(report.OUTPUT_NAMES)
    assert values["result"] == "updated"
    assert values["previous-image"] == OLD_IMAGE
    assert values["duration-seconds"] == "491"
    assert [c["field"] for c in json.loads(values["changes"])] == ["image", "instance-type"]


# --- the fatal path -----------------------------------------------------------------------------------------


def yaml_blocks(markdown: str) -> list[str]:
    """The contents of the YAML code blocks, each up to the end of the document."""
    return markdown.split("```yaml\n")[1:]


def test_missing_credentials_summary_shows_the_workflow_fix() -> None:
    """No credentials: the summary says so and shows the configure-aws-credentials step with id-token: write."""
    config = make_config()
    markdown = report.failure_summary(
        "No AWS credentials: run aws-actions/configure-aws-credentials before this step.",
        "whisper",
        outcome=RolloutOutcome(result="failed"),
        kind="no-credentials",
        config=config,
    )
    rendered = parse(markdown)
    assert rendered.headings[:3] == ["❌ SageMaker endpoint whisper: failed", "What went wrong", "How to fix it"]
    (snippet,) = rendered.pre
    assert "id-token: write" in snippet
    assert "uses: aws-actions/configure-aws-credentials@v4" in snippet
    assert f"aws-region: {REGION}" in snippet
    assert "Still serving: unchanged; the run stopped before it changed anything." in rendered.paragraphs


def test_expired_credentials_summary_asks_for_a_longer_session() -> None:
    """Expired credentials: the snippet sets role-duration-seconds longer than the deployment timeout."""
    config = make_config(deployment_timeout_minutes="90")
    markdown = report.failure_summary(
        "AWS credentials expired while the action was working (ExpiredToken).",
        "whisper",
        config=config,
        kind="credentials-expired",
    )
    (snippet,) = parse(markdown).pre
    assert "role-duration-seconds: 6300" in snippet


def test_timeout_summary_says_to_rerun_and_what_serves() -> None:
    """A timeout: "timed out" headline, what still serves, the timeline, and rerun or raise the timeout."""
    config = make_config()
    outcome = outcome_for("failed", config, serving(), timed_out=True, message="", kept=[])
    outcome.serving_config = "whisper-aaaaaaaaaaaa"
    outcome.transitions = TRANSITIONS[:2]
    markdown = report.failure_summary(
        "Timed out after 60 minutes (deployment-timeout-minutes) with the endpoint Updating.",
        "whisper",
        outcome=outcome,
        config=config,
    )
    rendered = parse(markdown)
    assert rendered.headings[0] == "⏳ SageMaker endpoint whisper: timed out"
    assert "Still serving: endpoint config whisper-aaaaaaaaaaaa with image whisper@sha256:1a2b3c4d5e6f." in (
        rendered.paragraphs
    )
    assert any(
        p.startswith("The rollout goes on in SageMaker and nothing was deleted. Rerun the job")
        for p in rendered.paragraphs
    )
    assert rendered.pre == ["with:\n  deployment-timeout-minutes: 120\n"]
    assert len(table_after(rendered, "Time (UTC)")) == 3


def test_input_problems_are_listed_and_escaped() -> None:
    """Invalid inputs are listed by name in a table, their messages as text even when they hold HTML."""
    problems = [
        InputProblem("aws-region", "'<img src=x onerror=alert(1)>' is not an AWS region; expected e.g. us-east-1"),
        InputProblem("image", "is required and was not given"),
    ]
    markdown = report.failure_summary("Invalid input; nothing was changed.", "<b>whisper|x`", problems=problems)
    assert_no_html_from_outside(markdown)
    rendered = parse(markdown)
    assert rendered.headings[0] == "❌ SageMaker endpoint <b>whisper|x`: failed"
    assert table_after(rendered, "Input") == [
        ["Input", "Problem"],
        ["aws-region", "'<img src=x onerror=alert(1)>' is not an AWS region; expected e.g. us-east-1"],
        ["image", "is required and was not given"],
    ]
    assert rendered.pre == []


def test_concurrent_updates_summary_suggests_a_concurrency_group() -> None:
    """An endpoint updated by someone else run after run: the fix is a concurrency group per endpoint."""
    markdown = report.failure_summary(
        "endpoint-name: whisper kept being updated by someone else; gave up after 5 attempts.",
        "whisper",
        kind="busy",
        config=make_config(),
    )
    assert yaml_blocks(markdown)[0].startswith("concurrency:\n  group: sagemaker-whisper\n")


def test_fatal_message_is_text() -> None:
    """The fatal message is shown as text: AWS words in it cannot become HTML or break the page."""
    markdown = report.failure_summary(f"AWS refused UpdateEndpoint: ValidationException: {HOSTILE}", "whisper")
    assert_no_html_from_outside(markdown)
    assert f"AWS refused UpdateEndpoint: ValidationException: {HOSTILE}" in parse(markdown).paragraphs


def test_failed_create_says_nothing_served_before() -> None:
    """A create that stopped early says nothing served before the run."""
    config = make_config()
    outcome = outcome_for("failed", config, None, serving_config="", transitions=[])
    markdown = report.failure_summary(
        "endpoint whisper disappeared during the rollout", "whisper", outcome=outcome, config=config
    )
    assert "Still serving: nothing, the endpoint did not exist before this run." in parse(markdown).paragraphs


def test_kept_settings_are_folded_and_are_not_changes() -> None:
    """What an update carries over from the serving endpoint is listed in a folded section, not as changes."""
    outcome, config = updated()
    assert outcome.plan is not None
    kept = (Kept("VPC", "2 subnets, 1 security group"), Kept("Data capture", "20 % to s3://capture-bucket/whisper/"))
    outcome.plan = replace(outcome.plan, kept=kept)
    markdown = report.comment_body(outcome, config)
    assert "<summary>Kept from the serving endpoint (2 settings)</summary>" in markdown
    folded = markdown.split("<summary>Kept from the serving endpoint (2 settings)</summary>", 1)[1].split("</details>")[
        0
    ]
    assert [parse(line).text.strip() for line in folded.splitlines() if line.startswith("- ")] == [
        "VPC: 2 subnets, 1 security group",
        "Data capture: 20 % to s3://capture-bucket/whisper/",
    ]
    (diff,) = [b for b in parse(markdown).pre if b.startswith("- ")]
    assert "VPC" not in diff


def test_a_long_kept_list_says_how_many_it_leaves_out() -> None:
    """The folded list stops at its cap and says how many more the log holds, instead of silently ending."""
    outcome, config = updated()
    assert outcome.plan is not None
    kept = tuple(Kept(f"Environment variable VAR_{i}", "set") for i in range(report.LIST_MAX + 7))
    outcome.plan = replace(outcome.plan, kept=kept)
    markdown = report.comment_body(outcome, config)
    summary = f"<summary>Kept from the serving endpoint ({report.LIST_MAX + 7} settings)</summary>"
    folded = markdown.split(summary, 1)[1].split("</details>")[0]
    assert len([line for line in folded.splitlines() if line.startswith("- ")]) == report.LIST_MAX
    assert "… and 7 more (the step's log lists them all)." in parse(folded).paragraphs


def test_the_timeline_says_which_step_the_rollout_was_in() -> None:
    """A canary's bake reads as the new fleet's step and instances, in SageMaker's words."""
    outcome, config = updated()
    step = "new fleet: Baking, 1 of 4 instances (Baking for 600 seconds with traffic enabled on canary capacity)"
    outcome.transitions = [Transition(START + 60, "Updating", "Baking", step)]
    rows = table_after(parse(report.summary(outcome, config)), "Time (UTC)")
    assert rows[1][2] == step
