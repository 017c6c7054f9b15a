"""The real action against the emulator: after a failure or a rollback the report says why (the new fleet's
container log, the alarm that fired), and before a rollout which alarms cannot guard it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_async_deploy import diagnosis, preflight
from sagemaker_async_deploy.config import INPUT_DEFAULTS, parse_config
from sagemaker_emulator import Behaviour, Emulator

from .conftest import boto_client
from .report_html import parse
from .report_runs import IMAGE_REPO, PULL, REPO, Report, Stage, image, stage
from .seed import seed_alarm

ENDPOINT = "whisper"
BASE = {
    "image": image("v1"),
    "instance-type": "ml.g5.xlarge",
    "bake-seconds": "600",
    "deployment-timeout-minutes": "60",
}
TRACEBACK_END = "RuntimeError: CUDA error: no kernel image is available for execution on the device"
HOSTILE_LINES = [
    "::set-output name=result::updated",
    "::add-mask::not-a-secret-at-all",
    "##[error]forged annotation",
    "</details><img src=x onerror=alert(1)> | **bold** `tick`",
    "```",
]


@pytest.fixture
def on(tmp_path: Path) -> Iterator[Stage]:
    with stage(tmp_path) as started:
        yield started


def streams(emu: Emulator) -> list[str]:
    """The containers' streams (an async endpoint's data-log streams left out)."""
    logs = boto_client(emu, "logs")
    found = logs.describe_log_streams(logGroupName=f"/aws/sagemaker/Endpoints/{ENDPOINT}")["logStreams"]
    return [s["logStreamName"] for s in found if not s["logStreamName"].endswith("/data-log")]


def unhealthy_update(on: Stage, lines: list[str]) -> tuple[Report, list[str]]:
    """A deployed endpoint, then an update whose new fleet logs ``lines`` and fails its health check; returns the
    report and the old fleet's streams."""
    assert on.run(BASE).run.result == "created"
    old = streams(on.emu)
    on.emu.faults.unhealthy_next_update(lines)
    return on.run({**BASE, "image": image("v2")}), old


def test_failed_update_shows_the_new_fleets_traceback_not_the_old_fleets_lines(on: Stage) -> None:
    """The summary, the comment and the log show the new fleet's last line, name only the new fleet's streams."""
    report, old = unhealthy_update(on, ["Traceback (most recent call last):", TRACEBACK_END])
    assert report.run.result == "failed"
    new = [s for s in streams(on.emu) if s not in old]
    assert old and new
    # The old fleet went on logging health checks during the update, so its lines are there to be mistaken.
    logs = boto_client(on.emu, "logs")
    group = f"/aws/sagemaker/Endpoints/{ENDPOINT}"
    old_lines = [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=old[0])["events"]]
    assert any("GET /ping" in line for line in old_lines)
    for document in (report.summary, report.comment):
        assert TRACEBACK_END in document
        assert new[0] in document
        assert not [s for s in old if s in document]
        assert "GET /ping" not in document
        # The start-up lines were written by both fleets: only the new fleet's count.
        assert document.count("Starting the inference server") == 1
    group = next(i for i, line in enumerate(report.run.lines) if line.startswith("::group::Container log"))
    assert any(TRACEBACK_END in line for line in report.run.lines[group:])


def test_the_log_groups_container_lines_per_instance(on: Stage) -> None:
    """Two new instances fail the same way: the log's container group shows the traceback once, under the first
    instance, and says the second's lines are the same, instead of repeating them."""
    two = {**BASE, "initial-instance-count": "2"}
    assert on.run(two).run.result == "created"
    on.emu.faults.unhealthy_next_update(["Traceback (most recent call last):", TRACEBACK_END])
    report = on.run({**two, "image": image("v2")})
    assert report.run.result == "failed"
    lines = report.run.lines
    start = next(i for i, line in enumerate(lines) if line.startswith("::group::Container log"))
    group = lines[start + 1 : lines.index("::endgroup::", start)]
    headers = [line for line in group if line.startswith("AllTraffic/i-") and line.endswith(":")]
    assert len(headers) == 2, group
    assert sum(TRACEBACK_END in line for line in group) == 1, group
    first = headers[0].split("/", 1)[1].rstrip(":")
    assert any(line.startswith("  … ") and line.endswith(f"the same as {first}") for line in group), group


def test_log_lines_holding_workflow_commands_stay_inert(on: Stage) -> None:
    """Container lines that look like workflow commands or HTML reach the log, the summary and the comment as text."""
    report, _ = unhealthy_update(on, HOSTILE_LINES)
    assert report.run.result == "failed"
    for line in report.run.lines:
        assert not line.lstrip().startswith(("::set-output", "::add-mask::not-a-secret")), line
        assert "##[error]" not in line
    assert report.run.outputs["result"] == "failed"
    for document in (report.summary, report.comment):
        rendered = parse(document)
        assert "img" not in rendered.tags and "script" not in rendered.tags
        (log,) = [block for block in rendered.pre if "set-output" in block]
        assert [line.split(" ", 1)[1] for line in log.splitlines()[-len(HOSTILE_LINES) :]] == HOSTILE_LINES
        assert "What to do next" in rendered.headings


def test_no_log_group_still_gives_the_report_with_a_hint(on: Stage) -> None:
    """A log group gone by the time the action reads it: the report completes and says the group does not exist."""
    assert on.run(BASE).run.result == "created"
    on.emu.faults.fail_next_update("CannotStartContainerError: the container exited with code 1")
    sm, logs = boto_client(on.emu, "sagemaker"), boto_client(on.emu, "logs")

    def delete_the_group_once_failed() -> None:
        # The action polls every 0.5 s here; this watcher every 10 ms, so the group is gone before it reads.
        deadline = time.time() + 60
        while time.time() < deadline and not sm.describe_endpoint(EndpointName=ENDPOINT).get("FailureReason"):
            time.sleep(0.01)
        logs.delete_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{ENDPOINT}")

    watcher = threading.Thread(target=delete_the_group_once_failed, daemon=True)
    watcher.start()
    report = on.run({**BASE, "image": image("v2"), "poll-interval-seconds": "0.5"})
    watcher.join(timeout=60)
    assert report.run.result == "failed", report.run.stdout + report.run.stderr
    for document in (report.summary, report.comment):
        assert (
            "No container log: the log group /aws/sagemaker/Endpoints/whisper does not exist." in parse(document).text
        )
        assert "CannotStartContainerError" in document
        assert "What to do next" in parse(document).headings


def test_six_hundred_old_streams_do_not_hide_the_new_fleets(on: Stage) -> None:
    """A log group of 600 old streams whose names sort before the new fleet's: the report still shows its lines."""
    assert on.run(BASE).run.result == "created"
    logs = boto_client(on.emu, "logs")
    group = f"/aws/sagemaker/Endpoints/{ENDPOINT}"
    long_ago = int((time.time() - 86_400) * 1000)
    for n in range(600):
        # "i-0000…" sorts before any instance id the new fleet gets: in name order, 500 of these come first.
        name = f"AllTraffic/i-0{n:016d}"
        logs.create_log_stream(logGroupName=group, logStreamName=name)
        logs.put_log_events(
            logGroupName=group, logStreamName=name, logEvents=[{"timestamp": long_ago + n, "message": "old"}]
        )
    on.emu.faults.unhealthy_next_update(["Traceback (most recent call last):", TRACEBACK_END])
    report = on.run({**BASE, "image": image("v2")})
    assert report.run.result == "failed"
    for document in (report.summary, report.comment):
        assert TRACEBACK_END in document
    listing = [r for r in on.emu.requests if r.operation == "DescribeLogStreams"]
    assert listing and all(r.params.get("orderBy") == "LastEventTime" for r in listing)


def test_new_streams_not_yet_among_the_latest_are_found_by_name(tmp_path: Path) -> None:
    """CloudWatch has not set the new streams' latest event time yet (Behaviour.last_event_timestamp="eventual"),
    so 250 streams of yesterday come first by latest event: the report finds the new fleet's lines in name order."""
    with stage(tmp_path, Behaviour(last_event_timestamp="eventual")) as on:
        assert on.run(BASE).run.result == "created"
        logs = boto_client(on.emu, "logs")
        group = f"/aws/sagemaker/Endpoints/{ENDPOINT}"
        yesterday = int((time.time() - 86_400) * 1000)
        for n in range(250):
            name = f"AllTraffic/i-0{n:016d}"
            logs.create_log_stream(logGroupName=group, logStreamName=name)
            logs.put_log_events(
                logGroupName=group, logStreamName=name, logEvents=[{"timestamp": yesterday + n, "message": "old"}]
            )
        on.emu.faults.unhealthy_next_update([TRACEBACK_END])
        report = on.run({**BASE, "image": image("v2")})
        assert report.run.result == "failed"
        for document in (report.summary, report.comment):
            assert TRACEBACK_END in document
        listings = [r.params for r in on.emu.requests if r.operation == "DescribeLogStreams"]
        assert any(p.get("orderBy") == "LastEventTime" for p in listings)
        assert any(p.get("logStreamNamePrefix") == "AllTraffic/" for p in listings)


def test_the_async_platforms_data_log_is_not_shown_as_the_containers(on: Stage) -> None:
    """The new instances' data-log streams hold lines of their own: neither they nor their names reach the report
    or the log as the container's."""
    report, _ = unhealthy_update(on, [TRACEBACK_END])
    logs = boto_client(on.emu, "logs")
    group = f"/aws/sagemaker/Endpoints/{ENDPOINT}"
    platform = [
        s["logStreamName"]
        for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
        if s["logStreamName"].endswith("/data-log")
    ]
    platform_lines = {
        e["message"] for name in platform for e in logs.get_log_events(logGroupName=group, logStreamName=name)["events"]
    }
    assert platform and platform_lines
    assert report.run.result == "failed"
    for document in (report.summary, report.comment, report.run.stdout):
        assert TRACEBACK_END in document
        assert "data-log" not in document
        assert not [line for line in platform_lines if line in document]


def test_an_empty_first_page_of_events_is_followed(tmp_path: Path) -> None:
    """GetLogEvents answering an empty page with a token that leads on (Behaviour.log_events_first_page="empty"):
    the report still shows the new fleet's lines, read by following the token."""
    with stage(tmp_path, Behaviour(log_events_first_page="empty")) as on:
        report, _ = unhealthy_update(on, ["Traceback (most recent call last):", TRACEBACK_END])
        assert report.run.result == "failed"
        for document in (report.summary, report.comment):
            assert TRACEBACK_END in document
        reads = [r for r in on.emu.requests if r.operation == "GetLogEvents"]
        assert any("nextToken" in r.params for r in reads)


def test_a_crash_loop_is_said_during_the_wait(on: Stage) -> None:
    """The real action prints the crash-looping new fleet's lines while it waits, escaped, says the crash with
    the config's start-up timeout before the verdict, and makes at most one log call per poll."""
    assert on.run(BASE).run.result == "created"
    on.emu.faults.crash_loop_next_update(["Traceback (most recent call last):", *HOSTILE_LINES, TRACEBACK_END])
    report = on.run({**BASE, "image": image("v2"), "container-startup-timeout-seconds": "900"})
    assert report.run.result == "failed"
    lines = report.run.lines
    said = next(i for i, line in enumerate(lines) if "the new fleet is crash-looping: " in line)
    verdict = next(i for i, line in enumerate(lines) if line.startswith("::error"))
    wait = next(i for i, line in enumerate(lines) if line == "::group::Waiting for the rollout")
    assert wait < said < verdict
    assert lines[said].endswith(
        f"crash-looping: {TRACEBACK_END}; SageMaker will fail the update after ContainerStartupHealthCheckTimeout "
        "(900 s)"
    )
    for line in lines:
        assert not line.lstrip().startswith(("::set-output", "::add-mask::not-a-secret")), line
        assert "##[error]" not in line
    calls = [r.operation for r in on.emu.requests]
    update = calls.index("UpdateEndpoint")
    # The verdict's diagnosis lists the streams once more after the wait's last poll.
    diagnosed = len(calls) - 1 - calls[::-1].index("DescribeLogStreams")
    last_poll = max(i for i, operation in enumerate(calls[:diagnosed]) if operation == "DescribeEndpoint")
    during = calls[update : last_poll + 1]
    reads = [op for op in during if op in ("DescribeLogStreams", "GetLogEvents")]
    assert reads and len(reads) <= during.count("DescribeEndpoint")


def test_rollback_names_the_alarm_and_its_reason(on: Stage) -> None:
    """An alarm rollback's summary and comment name the alarm that went to ALARM and CloudWatch's reason."""
    seed_alarm(on.emu, "whisper-5xx", endpoint=ENDPOINT, TreatMissingData="breaching")
    seed_alarm(on.emu, "whisper-latency", endpoint=ENDPOINT, metric="ModelLatency", TreatMissingData="breaching")
    inputs = {**BASE, "alarms": "whisper-5xx\nwhisper-latency"}
    assert on.run(inputs).run.result == "created"
    reason = "Threshold Crossed: 1 out of the last 1 datapoints [7.0 (01/12/26 09:12:00)] was >= 1.0."
    on.emu.faults.rollback_next_update(alarm="whisper-latency", reason=reason)
    report = on.run({**inputs, "image": image("v2")})
    assert report.run.result == "rolled-back"
    for document in (report.summary, report.comment):
        rendered = parse(document)
        assert "because alarm whisper-latency went to ALARM" in rendered.paragraphs[0]
        assert reason in rendered.paragraphs
        assert "whisper-5xx went to ALARM" not in rendered.text
    assert "Alarm whisper-latency went to ALARM: " + reason in report.run.stdout
    assert "DescribeAlarmHistory" in on.emu.operations()


def annotation(line: str) -> str:
    """The message of a ``::error <props>::message`` line, unescaped as the runner reads it."""
    message = line.split("::", 2)[2]
    return message.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def test_the_error_line_and_the_summary_lead_are_one_sentence(on: Stage) -> None:
    """An alarm rollback with no FailureReason: the log's ::error is the summary's and the comment's first sentence,
    naming the alarm (the verdict alone knew no cause, the diagnosis after it does)."""
    seed_alarm(on.emu, "whisper-5xx", endpoint=ENDPOINT, TreatMissingData="breaching")
    inputs = {**BASE, "alarms": "whisper-5xx"}
    assert on.run(inputs).run.result == "created"
    on.emu.faults.rollback_next_update(alarm="whisper-5xx")
    report = on.run({**inputs, "image": image("v2")})
    assert report.run.result == "rolled-back"
    (error,) = report.run.errors()
    assert error.startswith("::error title=SageMaker endpoint whisper%3A rolled-back::")
    message = annotation(error)
    assert "because alarm whisper-5xx went to ALARM" in message and "unknown" not in message
    for document in (report.summary, report.comment):
        assert parse(document).paragraphs[0] == message


# --- the preflight warnings ------------------------------------------------------------------------------------


def warned(on: Stage, alarm: dict[str, Any], **inputs: str) -> list[str]:
    """The warnings a plan run prints for one alarm seeded with ``alarm``'s settings."""
    seed_alarm(on.emu, "guard", **alarm)
    run = on.run({**BASE, "mode": "plan", "alarms": "guard", **inputs}).run
    assert run.result == "would-create", run.stdout + run.stderr
    return [line for line in run.lines if line.startswith("::warning")]


@pytest.mark.parametrize(
    ("alarm", "inputs", "says"),
    [
        ({"endpoint": ENDPOINT, "metric": "Invocations"}, {}, "SageMaker does not publish for asynchronous endpoints"),
        ({"endpoint": "whisper-staging"}, {}, "its EndpointName dimension is 'whisper-staging', not 'whisper'"),
        ({"endpoint": ENDPOINT, "TreatMissingData": "notBreaching"}, {}, "a bake without traffic passes"),
        (
            {"endpoint": ENDPOINT, "TreatMissingData": "breaching", "Period": 300, "EvaluationPeriods": 3},
            {"bake-seconds": "600"},
            "it needs 900s of data",
        ),
        (
            {"endpoint": ENDPOINT, "TreatMissingData": "breaching"},
            {"instance-type": "ml.inf1.xlarge"},
            "no deployment guardrails for ml.inf1.xlarge",
        ),
    ],
    ids=["unpublished-metric", "other-endpoint", "missing-data", "short-bake", "inf1"],
)
def test_each_alarm_warning_in_a_plan_run(on: Stage, alarm: dict[str, Any], inputs: dict[str, str], says: str) -> None:
    """Each way an alarm cannot guard the rollout is a ::warning in a plan run, and in its report."""
    warnings = warned(on, alarm, **inputs)
    assert [w for w in warnings if says in w], warnings
    assert says.split("'", maxsplit=1)[0] in on.github.comments(REPO, PULL)[0]["body"].replace("\\", "")


def test_an_alarm_in_alarm_already_is_warned_about(on: Stage) -> None:
    """An alarm already in ALARM warns that SageMaker will roll the rollout back."""
    seed_alarm(on.emu, "guard", endpoint=ENDPOINT, TreatMissingData="breaching")
    boto_client(on.emu, "cloudwatch").set_alarm_state(AlarmName="guard", StateValue="ALARM", StateReason="errors")
    run = on.run({**BASE, "mode": "plan", "alarms": "guard"}).run
    assert [line for line in run.lines if line.startswith("::warning") and "it is in ALARM already" in line]


@pytest.mark.parametrize("reading", ["rolls-back", "ignored"])
def test_an_update_guarded_by_an_alarm_in_alarm_already(tmp_path: Path, reading: str) -> None:
    """AWS's pages read either way (Behaviour.alarm_in_alarm_at_start); under both the apply run warns first, in
    the log and in the report, and the verdict says what happened: a rollback blamed on the alarm being in ALARM
    since before the update, or an update."""
    with stage(tmp_path, Behaviour(alarm_in_alarm_at_start=reading)) as on:  # type: ignore[arg-type]
        seed_alarm(on.emu, "guard", endpoint=ENDPOINT, TreatMissingData="breaching")
        inputs = {**BASE, "alarms": "guard"}
        assert on.run(inputs).run.result == "created"
        boto_client(on.emu, "cloudwatch").set_alarm_state(AlarmName="guard", StateValue="ALARM", StateReason="5xx")
        report = on.run({**inputs, "image": image("v2")})
        warnings = [line for line in report.run.lines if line.startswith("::warning")]
        assert [w for w in warnings if "it is in ALARM already" in w], warnings
        assert report.run.result == ("rolled-back" if reading == "rolls-back" else "updated")
        for document in (report.summary, report.comment):
            rendered = parse(document)
            assert "⚠️ Warnings" in rendered.headings
            assert "it is in ALARM already" in rendered.text
            if reading == "rolls-back":
                assert "because alarm guard was in ALARM already when the update started" in rendered.paragraphs[0]
                assert "went to ALARM" not in rendered.text
            else:
                assert rendered.paragraphs[0].startswith("Updated (")


def test_a_well_set_alarm_gives_no_warning(on: Stage) -> None:
    """An alarm on a published metric of this endpoint, breaching on missing data, within the bake: no warning."""
    assert warned(on, {"endpoint": ENDPOINT, "TreatMissingData": "breaching"}) == []


def test_no_alarms_no_cloudwatch_call(on: Stage) -> None:
    """Without alarms the warnings cost nothing: no CloudWatch call at all."""
    run = on.run({**BASE, "mode": "plan"}).run
    assert run.result == "would-create"
    assert not [op for op in on.emu.requests if op.service in ("cloudwatch", "monitoring")]


# --- the readers on their own, against the emulator's CloudWatch --------------------------------------------


def test_marketplace_model_is_warned_about() -> None:
    """A model-name whose container is an AWS Marketplace model package gets the no-guardrails warning."""
    raw = {
        **INPUT_DEFAULTS,
        "endpoint-name": ENDPOINT,
        "image": image("v1"),
        "instance-type": "ml.g5.xlarge",
        "output-path": "s3://inference-bucket/out/",
        "model-name": "vendor-model",
        "alarms": "guard",
    }
    config = parse_config(raw, {"AWS_REGION": "us-east-1"})
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model/vendor-model"
    package = "arn:aws:sagemaker:us-east-1:865070037744:model-package/vendor-asr-1-0a1b2c"
    model = {"ModelArn": arn, "PrimaryContainer": {"ModelPackageName": package}}
    (warning,) = preflight.guard_warnings(config, [], model)
    assert warning.message.startswith("SageMaker has no deployment guardrails for vendor-model, a model package")
    own = package.replace(":865070037744:", ":123456789012:")
    assert preflight.guard_warnings(config, [], {"ModelArn": arn, "PrimaryContainer": {"ModelPackageName": own}}) == []
    assert preflight.guard_warnings(config, [], {"ModelArn": arn, "PrimaryContainer": {"Image": IMAGE_REPO}}) == []


def test_a_refused_log_read_is_one_sentence_with_the_permission() -> None:
    """AccessDenied on the log group gives the sentence that names the permissions and the statement to add."""
    error = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "DescribeLogStreams")
    note = diagnosis._log_read_note("/aws/sagemaker/Endpoints/whisper", error)
    assert "logs:DescribeLogStreams and logs:GetLogEvents" in note
    assert "ReadTheNewFleetsContainerLog" in note


@pytest.mark.parametrize(
    ("operation", "statement"),
    [("DescribeAlarmHistory", "ReadWhichAlarmFired"), ("DescribeAlarms", "PreflightChecks")],
)
def test_a_refused_alarm_read_names_the_statement_that_grants_it(operation: str, statement: str) -> None:
    """Each refused alarm read points at the statement of the deploy policy that grants exactly that action."""
    error = ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, operation)
    note = diagnosis._alarm_read_note(error, operation)
    assert f"grant its role cloudwatch:{operation} (statement {statement} of the action's docs/iam-policy.json)" in note
    policy = json.loads((Path(__file__).parents[1] / "docs" / "iam-policy.json").read_text())
    granted = next(s["Action"] for s in policy["Statement"] if s["Sid"] == statement)
    assert f"cloudwatch:{operation}" in granted


def test_alarm_history_outside_the_window_does_not_count(emulator: Emulator) -> None:
    """An alarm that went to ALARM and back to OK before the rollout started is not named as the one that fired."""
    seed_alarm(emulator, "guard", endpoint=ENDPOINT)
    cloudwatch = boto_client(emulator, "cloudwatch")
    cloudwatch.set_alarm_state(AlarmName="guard", StateValue="ALARM", StateReason="old errors")
    cloudwatch.set_alarm_state(AlarmName="guard", StateValue="OK", StateReason="fine")
    later = datetime.now(UTC).timestamp() + 1
    fired, note = diagnosis.fired_alarms(cloudwatch, ("guard",), later, later + 60)
    assert fired == ()
    assert note == "None of the alarms is in ALARM now, and their history shows no change to ALARM."


def _config(**inputs: str) -> Any:
    raw = {
        **INPUT_DEFAULTS,
        "endpoint-name": ENDPOINT,
        "image": image("v1"),
        "instance-type": "ml.g5.xlarge",
        "output-path": "s3://inference-bucket/out/",
        "alarms": "guard",
        "bake-seconds": "600",
        **inputs,
    }
    return parse_config(raw, {"AWS_REGION": "us-east-1"})


def _metric(name: str, **dimensions: str) -> dict[str, Any]:
    return {
        "Namespace": "AWS/SageMaker",
        "MetricName": name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
    }


def test_metric_math_alarms_are_read_metric_by_metric() -> None:
    """In a metric-math alarm each metric is checked: an unpublished one and another variant are both warned of."""
    alarm = {
        "AlarmName": "guard",
        "StateValue": "OK",
        "TreatMissingData": "breaching",
        "EvaluationPeriods": 1,
        "Metrics": [
            {"Id": "e", "Expression": "errors / calls", "ReturnData": True},
            {
                "Id": "errors",
                "MetricStat": {
                    "Metric": _metric("Invocation5XXErrors", EndpointName=ENDPOINT, VariantName="Blue"),
                    "Period": 60,
                },
            },
            {"Id": "calls", "MetricStat": {"Metric": _metric("Invocations", EndpointName=ENDPOINT), "Period": 60}},
        ],
    }
    messages = [w.message for w in preflight.guard_warnings(_config(), [alarm], None)]
    assert any(m.startswith("it watches Invocations, which SageMaker does not publish") for m in messages)
    assert any(m.startswith("its VariantName dimension is 'Blue', not 'AllTraffic'") for m in messages)
    assert len(messages) == 2


def test_a_composite_alarm_is_only_checked_for_its_state() -> None:
    """A composite alarm has no metric of its own: only an ALARM state is warned of."""
    composite = {"AlarmName": "guard", "AlarmRule": "ALARM(a) OR ALARM(b)", "StateValue": "OK"}
    assert preflight.guard_warnings(_config(), [composite], None) == []
    (warning,) = preflight.guard_warnings(_config(), [{**composite, "StateValue": "ALARM"}], None)
    assert warning.message.startswith("it is in ALARM already")


def test_backlog_gauges_are_published_without_traffic() -> None:
    """An alarm on the async backlog has data without requests: missing-data settings do not matter there."""
    alarm = {
        "AlarmName": "guard",
        "StateValue": "OK",
        "Period": 60,
        "EvaluationPeriods": 5,
        **_metric("ApproximateAgeOfOldestRequest", EndpointName=ENDPOINT),
    }
    assert preflight.guard_warnings(_config(), [alarm], None) == []


def test_a_composite_alarm_that_rolled_back_and_is_ok_again_is_named(emulator: Emulator, aws_env: Any) -> None:
    """DescribeAlarmHistory answers for metric alarms only unless asked for composite ones too (its API
    reference): a composite rollback alarm back in OK is still found in its history."""
    from sagemaker_async_deploy import aws

    seed_alarm(emulator, "errors", endpoint=ENDPOINT)
    cloudwatch = boto_client(emulator, "cloudwatch")
    cloudwatch.put_composite_alarm(AlarmName="guard", AlarmRule="ALARM(errors)")
    since = time.time() - 1
    cloudwatch.set_alarm_state(AlarmName="guard", StateValue="ALARM", StateReason="errors on the new fleet")
    cloudwatch.set_alarm_state(AlarmName="guard", StateValue="OK", StateReason="rolled back")
    # What CloudWatch keeps: without AlarmTypes the composite alarm's history is not returned.
    assert cloudwatch.describe_alarm_history(AlarmName="guard")["AlarmHistoryItems"] == []
    fired, note = diagnosis.fired_alarms(aws.Clients("us-east-1").cloudwatch, ("guard",), since, time.time() + 1)
    assert [(f.name, f.reason) for f in fired] == [("guard", "errors on the new fleet")]
    assert note == ""


def test_marketplace_model_without_alarms_is_warned_that_its_strategy_is_ignored() -> None:
    """A Marketplace model updates all at once whatever deployment-strategy says: with rolling and no alarms the
    warning names the ignored strategy; with all at once and no alarms nothing is ignored."""
    raw = {
        **INPUT_DEFAULTS,
        "endpoint-name": ENDPOINT,
        "image": image("v1"),
        "instance-type": "ml.g5.xlarge",
        "output-path": "s3://inference-bucket/out/",
        "model-name": "vendor-model",
        "deployment-strategy": "rolling",
    }
    package = "arn:aws:sagemaker:us-east-1:865070037744:model-package/vendor-asr-1-0a1b2c"
    model = {
        "ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/vendor-model",
        "PrimaryContainer": {"ModelPackageName": package},
    }
    (warning,) = preflight.guard_warnings(parse_config(raw, {"AWS_REGION": "us-east-1"}), [], model)
    assert "deployment-strategy (rolling) is ignored" in warning.message
    all_at_once = parse_config({**raw, "deployment-strategy": "all-at-once"}, {"AWS_REGION": "us-east-1"})
    assert preflight.guard_warnings(all_at_once, [], model) == []
