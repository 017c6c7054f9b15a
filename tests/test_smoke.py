"""The smoke test's pure parts: the request, the verdict, the alarm route and its requests, with plain values."""

from __future__ import annotations

import json
import re

import pytest

from sagemaker_async_deploy import report, smoke
from sagemaker_async_deploy.config import SmokeTest
from sagemaker_async_deploy.fields import ALARMS
from sagemaker_async_deploy.outcome import SmokeResult

from .factories import action_config, image, serving_state
from .test_report import outcome_for


def _smoke(**overrides: object) -> SmokeTest:
    values: dict[str, object] = {
        "given": "smoke/request.json",
        "input_location": "",
        "body": b'{"x": 1}',
        "content_type": "application/json",
        "timeout_seconds": 30.0,
        "expect": None,
    }
    values.update(overrides)
    return SmokeTest(**values)  # type: ignore[arg-type]


def test_inline_request_carries_the_body_and_a_ttl_past_the_wait() -> None:
    """An inline smoke test sends its bytes as Body, with RequestTTLSeconds a minute past the timeout."""
    request = smoke.invoke_request("whisper", _smoke())
    assert request == {
        "EndpointName": "whisper",
        "ContentType": "application/json",
        "RequestTTLSeconds": 90,
        "Body": b'{"x": 1}',
    }


def test_s3_request_carries_the_input_location_and_ttl_within_aws_range() -> None:
    """An S3 smoke test sends InputLocation and no Body; the TTL stays within 60-21600."""
    request = smoke.invoke_request("whisper", _smoke(input_location="s3://b/k.json", body=b"", timeout_seconds=21_600))
    assert request["InputLocation"] == "s3://b/k.json"
    assert "Body" not in request
    assert request["RequestTTLSeconds"] == 21_600


@pytest.mark.parametrize(
    ("output", "failure", "expect", "passed", "reason"),
    [
        (b'{"label": "cat"}', None, None, True, ""),
        (b'{"label": "cat"}', None, r'"label":\s*"cat"', True, ""),
        (b'{"label": "dog"}', None, '"cat"', False, 'the response does not match smoke-test-expect ("cat")'),
        (None, b"ModelError: boom\nTraceback", None, False, "the model answered with a failure: ModelError: boom"),
        (None, b"", None, False, "the model answered with a failure"),
        (
            None,
            b"Traceback (most recent call last):\n  File \"serve.py\"\nKeyError: 'language'\n",
            None,
            False,
            "the model answered with a failure: KeyError: 'language'",
        ),
        (None, None, None, False, "no answer in 30 s"),
    ],
    ids=["output", "match", "mismatch", "failure", "empty-failure", "traceback", "nothing"],
)
def test_judge(output: bytes | None, failure: bytes | None, expect: str | None, passed: bool, reason: str) -> None:
    """The verdict from what landed in S3: output (and a match), a failure object's first line, or nothing."""
    compiled = re.compile(expect) if expect else None
    assert smoke.judge(output, failure, _smoke(expect=compiled), 30.0) == (passed, reason)


def test_a_failure_object_wins_over_an_output() -> None:
    """When both objects landed, the failure decides."""
    assert smoke.judge(b"ok", b"bad", _smoke(), 1.0)[0] is False


@pytest.mark.parametrize(
    ("strategy", "bake", "alarms", "expected"),
    [
        ("all-at-once", 300, ("a",), True),
        ("canary", 300, ("a",), True),
        ("linear", 1, ("a",), True),
        (None, 300, ("a",), True),
        ("rolling", 300, ("a",), False),
        ("all-at-once", 0, (), False),
        ("all-at-once", 300, tuple(f"a{i}" for i in range(9)), True),
        ("all-at-once", 300, tuple(f"a{i}" for i in range(10)), False),
    ],
)
def test_during_bake(strategy: str | None, bake: int, alarms: tuple[str, ...], expected: bool) -> None:
    """SageMaker rolls back on the smoke test only in a blue/green bake (of any length; a strategy not read back is
    the default blue/green one) with room for one more alarm; a strategy as read from a description counts alike."""
    assert smoke.during_bake(strategy, bake, alarms) is expected
    assert smoke.during_bake(json.loads(json.dumps(strategy)), bake, alarms) is expected


def test_with_alarm_adds_the_actions_alarm_after_the_users() -> None:
    """The action's alarm joins the user's auto-rollback alarms; the input DeploymentConfig is not changed."""
    deployment = {"BlueGreenUpdatePolicy": {}, "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "5xx"}]}}
    added = smoke.with_alarm(deployment, "sagemaker-async-deploy-smoke-whisper")
    assert added["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": "5xx"},
        {"AlarmName": "sagemaker-async-deploy-smoke-whisper"},
    ]
    assert deployment["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": "5xx"}]}


def test_the_actions_alarm_is_not_read_back_as_a_users_alarm() -> None:
    """Reading a LastDeploymentConfig leaves the smoke-test alarm out of the user's alarms."""
    raw = {"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "5xx"}, {"AlarmName": smoke.alarm_name("ep")}]}}
    assert ALARMS.read(raw) == ("5xx",)


def test_alarm_and_metric_requests_match() -> None:
    """The alarm watches exactly the metric the failure publishes, at high resolution, tagged: one datapoint of 1
    in one 10 s period is ALARM; no data is not breaching."""
    tags = [{"Key": "managed-by", "Value": "sagemaker-async-deploy"}]
    dimensions = [{"Name": "EndpointName", "Value": "whisper"}]
    alarm = smoke.alarm_request("whisper", tags)
    del alarm["AlarmDescription"]
    assert alarm == {
        "AlarmName": "sagemaker-async-deploy-smoke-whisper",
        "Namespace": "sagemaker-async-deploy/smoke-test",
        "MetricName": "SmokeTestFailed",
        "Dimensions": dimensions,
        "Statistic": "Maximum",
        "Period": 10,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "Tags": tags,
    }
    assert smoke.metric_request("whisper") == {
        "Namespace": "sagemaker-async-deploy/smoke-test",
        "MetricData": [
            {
                "MetricName": "SmokeTestFailed",
                "Dimensions": dimensions,
                "Value": 1.0,
                "Unit": "Count",
                "StorageResolution": 1,
            }
        ],
    }


def _baking(current: int, desired: int, *statuses: str) -> dict[str, object]:
    history = [{"Status": status} for status in statuses or ("Baking",)]
    variant = {"CurrentInstanceCount": current, "DesiredInstanceCount": desired, "VariantStatus": history}
    # As DescribeEndpoint's answer holds it: parsed from JSON, no literal of this module.
    return dict(json.loads(json.dumps({"PendingDeploymentSummary": {"ProductionVariants": [variant]}})))


def test_takes_all_traffic_baking() -> None:
    """Only a bake on the new fleet's full count is the final bake; a canary bake, activation, any other status
    or a count that differs is not. The variant's latest status is the last of its history."""
    assert smoke.takes_all_traffic_baking(_baking(3, 3))
    assert smoke.takes_all_traffic_baking(_baking(300, 300))
    assert smoke.takes_all_traffic_baking(_baking(3, 3, "Creating", "ActivatingTraffic", "Baking"))
    assert not smoke.takes_all_traffic_baking(_baking(3, 3, "Baking", "ActivatingTraffic"))
    assert not smoke.takes_all_traffic_baking(_baking(1, 3))
    assert not smoke.takes_all_traffic_baking(_baking(4, 3))
    assert not smoke.takes_all_traffic_baking(_baking(3, 3, "ActivatingTraffic"))
    assert not smoke.takes_all_traffic_baking(_baking(3, 3, "Creating"))
    assert not smoke.takes_all_traffic_baking({"EndpointStatus": "InService"})
    two = _baking(3, 3)
    pending = two["PendingDeploymentSummary"]
    assert isinstance(pending, dict)
    pending["ProductionVariants"].append({**pending["ProductionVariants"][0], "CurrentInstanceCount": 1})
    assert not smoke.takes_all_traffic_baking(two)


def test_bake_warning() -> None:
    """The plan warns when the smoke test and its alarm's two periods do not fit in the bake, or no alarm can be
    added; nothing for a rolling update or one that does not bake."""
    rolling = json.loads('"rolling"')
    assert smoke.bake_warning(_smoke(timeout_seconds=30), "all-at-once", 300, ("a",)) == ""
    assert smoke.bake_warning(_smoke(timeout_seconds=280), "all-at-once", 300, ("a",)) == ""
    assert smoke.bake_warning(_smoke(timeout_seconds=281), None, 300, ("a",)) == (
        "smoke-test-timeout-seconds (281 s) does not fit in the final bake (300 s, bake-seconds) with the 20 s its "
        "alarm needs: if the model has not answered when the bake ends, SageMaker finishes the update and a failed "
        "smoke test is rolled back by the action, with a second blue/green update"
    )
    assert "does not fit in the final bake (1 s" in smoke.bake_warning(_smoke(), "canary", 1, ("a",))
    assert "10 alarms" in smoke.bake_warning(_smoke(), "canary", 300, tuple(f"a{i}" for i in range(10)))
    assert smoke.bake_warning(_smoke(), "canary", 300, tuple(f"a{i}" for i in range(9))) == ""
    assert smoke.bake_warning(_smoke(timeout_seconds=600), "rolling", 300, ("a",)) == ""
    assert smoke.bake_warning(_smoke(timeout_seconds=600), rolling, 300, ("a",)) == ""
    assert smoke.bake_warning(_smoke(timeout_seconds=600), "linear", 0, ()) == ""


def test_s3_object() -> None:
    """Only an s3:// URI with a bucket and a key names an object the smoke test can look for."""
    assert smoke.s3_object("s3://bucket/out/1.out") == smoke.S3Object("bucket", "out/1.out")
    assert smoke.s3_object("s3://bucket/") is None
    assert smoke.s3_object("s3:///key") is None
    assert smoke.s3_object("https://bucket.s3.amazonaws.com/key") is None
    assert smoke.s3_object("") is None


def _failed_smoke(excerpt: str) -> SmokeResult:
    return SmokeResult(
        passed=False,
        reason=f"the model answered with a failure: {excerpt.splitlines()[0]}",
        inference_id="inf-1",
        request_id="req-1",
        output_location="s3://bucket/out/inf-1.out",
        failure_location="s3://bucket/failed/inf-1-error.out",
        seconds=12.0,
        excerpt=excerpt,
        answered="failure",
    )


@pytest.mark.parametrize("by", ["sagemaker", "action"])
def test_report_names_the_smoke_test_as_the_cause_in_summary_and_comment(by: str) -> None:
    """A rollback caused by the smoke test says so in both documents, with the request id, the failure's first
    lines (outside text kept inert) and links to both S3 objects."""
    config = action_config(smoke_test_input="s3://bucket/requests/hello.json", image=image(2))
    outcome = outcome_for("rolled-back", config, serving_state())
    outcome.smoke = _failed_smoke("::set-output name=result::updated\n<b>CUDA</b> error")
    outcome.smoke_rolled_back_by = by
    for document in (report.summary(outcome, config), report.comment_body(outcome, config)):
        assert "Smoke test failed" in document
        assert "req-1" in document
        assert (
            "https://us-east-1.console.aws.amazon.com/s3/object/bucket?region=us-east-1&prefix=failed%2Finf-1-error.out"
            in document
        )
        # Outside text shows only inside a fenced block, where Markdown renders nothing of it.
        assert "```text\n::set-output name=result::updated\n<b>CUDA</b> error\n```" in document
        assert document.count("<b>CUDA</b>") == 1
        lead = "SageMaker rolled the update back on the action's smoke-test alarm"
        assert (lead in document.replace("\\", "")) is (by == "sagemaker")
        assert "cause is unknown" not in document
    assert report.outputs(outcome)["smoke-test"] == "failed"
