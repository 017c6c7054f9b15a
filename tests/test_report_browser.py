"""The reports in a real browser at the widths people read them: nothing scrolls sideways, no Markdown shows raw.

The four stories come from real runs of the action against the emulator (tests/report_runs.py), rendered with
cmark-gfm in GitHub's stylesheet in headless Chromium (tests/browser.py), at a PR comment's width in the
conversation view and at a job summary's, with every <details> unfolded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sagemaker_async_deploy import report
from sagemaker_async_deploy.diagnosis import AlarmWarning, ContainerLog, Diagnosis, FiredAlarm, LogLine

from .browser import COMMENT_WIDTH, SUMMARY_WIDTH, Browser, chromium
from .report_runs import Report, four_reports, smoke_report
from .test_report import START, make_config, outcome_for, serving

WIDTHS = [("comment", COMMENT_WIDTH), ("summary", SUMMARY_WIDTH)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as started:
        yield started


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    return {**four_reports(tmp_path_factory.mktemp("runs")), "smoke": smoke_report(tmp_path_factory.mktemp("smoke"))}


@pytest.mark.parametrize("story", ["success", "plan", "rollback", "failure", "smoke"])
@pytest.mark.parametrize(("document", "width"), WIDTHS)
def test_real_reports_fit_their_page(
    browser: Browser, reports: dict[str, Report], story: str, document: str, width: int
) -> None:
    """The summary and the comment of each story fit their width, unfolded, with no raw Markdown showing."""
    markdown = getattr(reports[story], document)
    assert markdown.strip()
    measured = browser.measure(markdown, width)
    assert measured.overflow == []
    assert measured.raw_markdown == []


def test_the_failure_report_is_the_one_a_reviewer_needs(reports: dict[str, Report]) -> None:
    """The failure's comment holds the traceback's last line and not the old fleet's lines (a sanity check that
    the pictures and the measurements are of the story told)."""
    comment = reports["failure"].comment
    assert "torch.OutOfMemoryError: CUDA out of memory" in comment
    assert "GET /ping" not in comment
    assert "went to ALARM" in reports["rollback"].comment


def _worst_case(document: str) -> list[str]:
    """Reports with every cell as long as real names get: a 63-character endpoint, long alarms, S3 paths and
    log lines, and a failure whose endpoint ended on a third config."""
    endpoint = "whisper-large-v3-production-eu-west-1-asynchronous-inference-x"
    alarms = "whisper-large-v3-production-invocation-5xx-errors-above-threshold\nsecond alarm with spaces / slash"
    config = make_config(
        endpoint_name=endpoint,
        alarms=alarms,
        output_path="s3://a-very-long-bucket-name-for-inference-results/whisper/large-v3/production/out/",
        failure_path="s3://a-very-long-bucket-name-for-inference-results/whisper/large-v3/production/failed/",
        success_topic="arn:aws:sns:eu-west-1:123456789012:whisper-large-v3-production-inference-succeeded",
    )
    current = serving(
        endpoint_name=endpoint,
        config_name="terraform-managed-endpoint-configuration-for-whisper-large-v3-x",
        model_name="terraform-managed-model-for-whisper-large-v3-production-eu-west",
    )
    long_line = "ERROR " + "a-very-long-token-without-spaces-" * 12
    first_alarm = alarms.split("\n", maxsplit=1)[0]
    found = Diagnosis(
        warnings=(AlarmWarning(first_alarm, "it watches InvocationsPerInstance, which is not published."),),
        fired=(FiredAlarm(first_alarm, START + 60, "Threshold Crossed: " + "x" * 300),),
        container_log=ContainerLog(
            f"/aws/sagemaker/Endpoints/{endpoint}",
            ("AllTraffic/i-0123456789abcdef0", "AllTraffic/i-0123456789abcdef1"),
            tuple(LogLine(START + i, f"AllTraffic/i-0123456789abcdef{i % 2}", long_line) for i in range(6)),
        ),
    )
    outcomes = [
        outcome_for("updated", config, current),
        outcome_for("would-create", make_config(mode="plan", endpoint_name=endpoint, alarms=alarms), None),
        outcome_for("rolled-back", config, current),
        outcome_for("failed", config, current, failure_reason="x" * 900, serving_config="someone-elses-config-" * 3),
    ]
    build = report.summary if document == "summary" else report.comment_body
    return [build(outcome, config, found) for outcome in outcomes]


@pytest.mark.parametrize(("document", "width"), WIDTHS)
def test_the_longest_names_still_fit(browser: Browser, document: str, width: int) -> None:
    """Even with the longest names, paths and log lines, nothing overflows the narrow page or the wide one."""
    for markdown in _worst_case(document):
        measured = browser.measure(markdown, width)
        assert measured.overflow == [], markdown
        assert measured.raw_markdown == [], markdown


def test_the_check_sees_a_wide_table_and_a_long_code_line(browser: Browser) -> None:
    """The measurement fails what it must: a table of full image references and a code block's long line."""
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/whisper@sha256:" + "9f8e7d6c5b4a" * 5 + "abcd"
    table = f"| | Before | After |\n|---|---|---|\n| Image | `{image}` | `{image}` |\n"
    assert browser.measure(table, COMMENT_WIDTH).overflow
    assert browser.measure("```text\n" + "x" * 120 + "\n```\n", COMMENT_WIDTH).overflow
    assert browser.measure("```text\n" + "x" * 80 + "\n```\n", COMMENT_WIDTH).overflow == []


@pytest.mark.parametrize(
    "markdown",
    ["a | b\n|---|\nc\n", "a **bold\n", "a \\\\. b\n", "a \\<details\\> b\n"],
    ids=["pipe", "stars", "backslash", "tag"],
)
def test_the_check_sees_raw_markdown(browser: Browser, markdown: str) -> None:
    """A row without its table, unclosed stars, an escape shown as a backslash, a broken tag: each is caught."""
    assert browser.measure(markdown, SUMMARY_WIDTH).raw_markdown


def test_pictures_target_writes_each_png(reports: dict[str, Report], browser: Browser, tmp_path: Path) -> None:
    """The pictures module renders each story's comment to a PNG whose width is the comment's page."""
    from .pictures import PICTURES, write_pictures

    write_pictures(reports, browser, tmp_path)
    for name in PICTURES:
        png = (tmp_path / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(png[16:20], "big")
        assert COMMENT_WIDTH <= width <= COMMENT_WIDTH + 2
