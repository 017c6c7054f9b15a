"""The job summary, the PR comment body and the fatal-path summary, rendered with GitHub's Markdown engine."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagemaker_async_deploy import report
from sagemaker_async_deploy.comment import comment_marker, fit_comment_body
from sagemaker_async_deploy.config import INPUT_DEFAULTS, ActionConfig, parse_config
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


def test_update_table_shows_before_and_after() -> None:
    """An update's table has Before and After columns: config, model, short digest, full image, instance type."""
    outcome, config = updated()
    desired = desired_from(config, outcome.before, SHAPES)
    table = table_after(parse(report.summary(outcome, config)), "Before")
    assert table == [
        ["", "Before", "After"],
        ["Endpoint", "whisper", "whisper"],
        ["Endpoint config", "whisper-aaaaaaaaaaaa", desired.config_name],
        ["Model", "whisper-bbbbbbbbbbbb", desired.model_name],
        ["Image digest", "sha256:1a2b3c4d5e6f", "sha256:9f8e7d6c5b4a"],
        ["Image", OLD_IMAGE, NEW_IMAGE],
        ["Instance type", "ml.g4dn.xlarge", "ml.g5.xlarge"],
    ]
    assert NEW_IMAGE in parse(report.summary(outcome, config)).codes


def test_create_has_nothing_before() -> None:
    """A created endpoint's Before column is a dash in every row."""
    config = make_config()
    outcome = outcome_for("created", config, None)
    table = table_after(parse(report.summary(outcome, config)), "Before")
    assert [row[1] for row in table[1:]] == ["—"] * 6
    assert table[4][2] == "sha256:9f8e7d6c5b4a"


def test_update_lists_the_changes() -> None:
    """The changes table lists each changed setting with its old and new value."""
    outcome, config = updated()
    table = table_after(parse(report.summary(outcome, config)), "Setting")
    assert table[0] == ["Setting", "From", "To"]
    assert ["image", OLD_IMAGE, NEW_IMAGE] in table
    assert ["instance-type", "ml.g4dn.xlarge", "ml.g5.xlarge"] in table
    assert outcome.plan is not None
    assert len(table) == 1 + len(outcome.plan.changes)


def test_plan_mode_shows_what_would_change() -> None:
    """A plan run says "would update", that nothing was changed, and lists the changes an apply would make."""
    config = make_config(mode="plan")
    outcome = outcome_for("would-update", config, serving())
    rendered = parse(report.summary(outcome, config))
    assert "would update" in rendered.headings[0]
    assert "Changes an apply run would make" in rendered.headings
    assert any(
        p.startswith("Plan only, nothing was changed. An apply run would update 2 settings")
        for p in rendered.paragraphs
    )
    assert table_after(rendered, "Serving now")[0] == ["", "Serving now", "Would deploy"]
    changes = table_after(rendered, "Setting")
    assert [row[0] for row in changes[1:]] == ["image", "instance-type"]


def test_plan_mode_create_lists_every_setting() -> None:
    """A plan run against a missing endpoint lists every setting it would create it with."""
    config = make_config(mode="plan")
    outcome = outcome_for("would-create", config, None)
    rendered = parse(report.comment_body(outcome, config))
    changes = table_after(rendered, "Setting")
    assert ["image", "—", NEW_IMAGE] in changes
    assert ["output-path", "—", "s3://inference-bucket/whisper/out/"] in changes


def test_unchanged_shows_what_serves_and_no_changes() -> None:
    """An unchanged run shows one Serving column and says there is nothing to change."""
    config = make_config()
    outcome = outcome_for("unchanged", config, serving(image=NEW_IMAGE, instance_type="ml.g5.xlarge"))
    rendered = parse(report.summary(outcome, config))
    assert table_after(rendered, "Serving")[0] == ["", "Serving"]
    assert "Nothing to change: the endpoint already serves what the inputs ask for." in rendered.paragraphs
    assert "Changes" not in rendered.headings


def test_rollback_says_what_still_serves_what_was_cleaned_up_and_what_to_do() -> None:
    """A rollback shows the serving config and image, the deleted new config and model, and the next steps."""
    config = make_config()
    outcome = outcome_for("rolled-back", config, serving())
    desired = desired_from(config, outcome.before, SHAPES)
    markdown = report.summary(outcome, config)
    rendered = parse(markdown)
    assert f"Still serving: endpoint config whisper-aaaaaaaaaaaa with image {OLD_IMAGE}." in rendered.paragraphs
    assert table_after(rendered, "Serving now")[2] == [
        "Endpoint config",
        "whisper-aaaaaaaaaaaa",
        desired.config_name,
        "whisper-aaaaaaaaaaaa",
    ]
    cleaned = markdown.split("### Cleaned up", 1)[1].split("###", 1)[0]
    assert f"endpoint config {desired.config_name}" in parse(cleaned).text
    assert f"model {desired.model_name}" in parse(cleaned).text
    assert "endpoint config whisper-aaaaaaaaaaaa (serving)" in parse(markdown.split("### Kept", 1)[1]).text
    assert "What to do next" in rendered.headings
    assert "Look at the rollback alarms (links below): which metric crossed its threshold, and when." in rendered.text
    assert "which is what an auto-rollback alarm firing during the bake looks like" in rendered.text


def test_failed_rollout_shows_its_failure_reason_and_where_to_look() -> None:
    """A failed rollout shows FailureReason in a code block and points to the endpoint's CloudWatch logs."""
    config = make_config()
    reason = "The primary container for production variant AllTraffic did not pass the ping health check."
    outcome = outcome_for("failed", config, serving(), failure_reason=reason)
    rendered = parse(report.summary(outcome, config))
    assert rendered.pre == [reason + "\n"]
    attempted = desired_from(config, outcome.before, SHAPES).config_name
    assert "Endpoint now on: endpoint config " + attempted in rendered.text
    logs = (
        f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}"
        "#logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FEndpoints$252Fwhisper"
    )
    assert (logs, "/aws/sagemaker/Endpoints/whisper") in rendered.links


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
    markdown = report.summary(outcome, config) if document == "summary" else report.comment_body(outcome, config)
    assert_no_html_from_outside(markdown)
    rendered = parse(markdown)
    assert_tables_whole(rendered)
    assert rendered.pre == [HOSTILE + "\n"]
    assert HOSTILE + "." in rendered.paragraphs


def test_failure_reason_with_backtick_fences_stays_in_its_block() -> None:
    """A FailureReason holding ``` lines cannot close its block: everything after it still renders as report."""
    config = make_config()
    reason = "first\n```\n# not a heading\n````\n<b>bold?</b>\n`````"
    outcome = outcome_for("failed", config, serving(), failure_reason=reason)
    rendered = parse(report.summary(outcome, config))
    assert rendered.pre == [reason + "\n"]
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
    (pre,) = parse(summary).pre
    assert pre.startswith("x`<x`<") and "more characters)" in pre
    assert "Links" in parse(summary).headings


def test_everything_huge_still_fits() -> None:
    """Thousands of huge transitions, cleanup entries and changes cannot push past the document limits."""
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
    summary = report.summary(outcome, config)
    comment = report.comment_body(outcome, config)
    assert len(summary.encode()) <= report.SUMMARY_LIMIT
    assert len(comment.encode()) <= report.COMMENT_LIMIT
    for markdown in (summary, comment):
        assert_tables_whole(parse(markdown))


def test_document_limit_cuts_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the document limit the summary keeps whole sections, drops the rest and ends with a note."""
    config = make_config()
    outcome = outcome_for("failed", config, serving(), kept=[f"{'k' * 290}{i}" for i in range(50)])
    outcome.cleaned_up = list(outcome.kept)
    assert len(report.summary(outcome, config).encode()) > 20_000
    monkeypatch.setattr(report, "SUMMARY_LIMIT", 20_000)
    cut = report.summary(outcome, config)
    assert len(cut.encode()) <= 20_000
    rendered = parse(cut)
    assert rendered.text.rstrip().endswith(
        "The rest of this summary was cut to keep it short; the step's log has every detail."
    )
    assert rendered.headings[-1] == "Cleaned up"
    assert_tables_whole(rendered)


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


def test_timeline_has_one_row_per_transition() -> None:
    """The timeline table has one row per status transition: UTC time, status, variant status, time since start."""
    outcome, config = updated()
    rendered = parse(report.summary(outcome, config))
    assert table_after(rendered, "Time (UTC)") == [
        ["Time (UTC)", "Status", "Variant status", "Since start"],
        ["22:13:22", "Updating", "Creating", "+2s"],
        ["22:16:25", "Updating", "Baking", "+3m 05s"],
        ["22:21:30", "InService", "—", "+8m 10s"],
    ]
    assert "Total duration: 8m 11s." in rendered.paragraphs


def test_comment_is_the_condensed_story() -> None:
    """The comment has the headline, the table and the changes, links the run's summary, and no timeline."""
    outcome, config = updated()
    markdown = report.comment_body(outcome, config)
    rendered = parse(markdown)
    assert table_after(rendered, "Before")[0] == ["", "Before", "After"]
    assert table_after(rendered, "Setting")
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
    assert any(p.startswith("Still serving: endpoint config whisper-aaaaaaaaaaaa") for p in rendered.paragraphs)


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
    assert f"Still serving: endpoint config whisper-aaaaaaaaaaaa with image {OLD_IMAGE}." in rendered.paragraphs
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
