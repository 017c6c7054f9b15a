"""The smoke test: one asynchronous request to the new model, and a verdict on its answer.

An endpoint that is InService on the new config proves that its containers load and answer ``/ping``; it
does not prove that the model answers a real request. So once the new model takes all the traffic, one
InvokeEndpointAsync request goes to the endpoint, and the smoke test waits for its answer in S3: the output
object (success, if its body matches ``smoke-test-expect``) or the failure object (its text is the reason),
whichever lands first, for at most ``smoke-test-timeout-seconds``.

InvokeEndpointAsync answers at once with the S3 URIs where the answer will land (OutputLocation,
FailureLocation; botocore's sagemaker-runtime model and the developer guide's async-inference-check-status
page: "check the output location … or the failure location"); the request waits in the endpoint's queue first.
Each poll costs one HeadObject per location; the body is read once, at most ``EXCERPT_BYTES`` of it.

When the update bakes, the smoke test runs inside the final bake (SmokeWatcher, one step per poll of the wait),
and a failure trips an alarm the action owns, so that SageMaker rolls the update back itself; otherwise it runs
once the endpoint is InService on the new config. This module sends, waits, judges and builds the alarm's
requests; the rollout decides what a failed verdict does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from . import aws, cancel
from ._checks import MAX_ALARMS
from .config import SmokeTest
from .fields import SMOKE_ALARM_PREFIX
from .log import Log, safe
from .outcome import SmokeResult

EXCERPT_BYTES = 4096  # of the response or the failure, for the report: the first lines, not the whole answer
POLL_SECONDS_MAX = 5.0  # between two looks at S3: each look is two HeadObject calls
# RequestTTLSeconds (botocore's model: 60-21600, default 21600): a request still queued after the smoke test
# gave up proves nothing any more, so it need not outlive the wait by much.
TTL_MIN, TTL_MAX = 60, 21_600


# SageMaker rolls an update back itself when an alarm of its AutoRollbackConfiguration goes to ALARM during a bake
# ("If any alarms are tripped during a deployment, SageMaker rolls back the deployment", AutoRollbackConfig API
# reference). So while the final bake runs, a failed smoke test trips an alarm the action owns: the action
# publishes one datapoint of a high-resolution custom metric (PutMetricData with StorageResolution 1), which an
# alarm with a 10 s period watches ("Valid values are 10, 20, 30, and any multiple of 60 … specify 10, 20, or 30
# only for metrics that are stored by a PutMetricData call with a StorageResolution of 1", PutMetricAlarm API
# reference). One alarm per endpoint, named after it, made or updated on each run that uses it.
METRIC_NAMESPACE = "sagemaker-async-deploy/smoke-test"
METRIC_NAME = "SmokeTestFailed"
ALARM_PERIOD = 10


def alarm_name(endpoint_name: str) -> str:
    return f"{SMOKE_ALARM_PREFIX}{endpoint_name}"


def _dimensions(endpoint_name: str) -> list[dict[str, str]]:
    return [{"Name": "EndpointName", "Value": endpoint_name}]


def during_bake(strategy: str | None, bake_seconds: int, alarms: tuple[str, ...]) -> bool:
    """Whether SageMaker itself can roll back on a failed smoke test: a blue/green update that bakes (a rolling
    update's last batch bakes while old instances still serve), with room for one more auto-rollback alarm."""
    # equivalent mutants core/ReplaceComparisonOperator_Gt_NotEq, core/ReplaceComparisonOperator_Lt_NotEq,
    # core/ReplaceComparisonOperator_Lt_IsNot: bake-seconds is never negative (0-3600), and no update has more
    # than MAX_ALARMS alarms (the alarms input refuses more, as AWS does), whose counts are small ints, one object.
    return strategy != "rolling" and bake_seconds > 0 and len(alarms) < MAX_ALARMS


def alarm_request(endpoint_name: str, tags: list[dict[str, str]]) -> aws.Json:
    """PutMetricAlarm of the action's smoke-test alarm: ALARM on one datapoint of 1 within 10 s; no data is not
    breaching, so the alarm is OK again once its period has passed without a failure."""
    return {
        "AlarmName": alarm_name(endpoint_name),
        "AlarmDescription": (
            "Made by sagemaker-async-deploy: goes to ALARM when its smoke test of the endpoint's new model fails "
            "during a bake, so that SageMaker rolls the update back."
        ),
        "Namespace": METRIC_NAMESPACE,
        "MetricName": METRIC_NAME,
        "Dimensions": _dimensions(endpoint_name),
        "Statistic": "Maximum",
        "Period": ALARM_PERIOD,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "Tags": tags,
    }


def metric_request(endpoint_name: str) -> aws.Json:
    """PutMetricData of one failed smoke test: a high-resolution datapoint, so that the 10 s alarm sees it."""
    return {
        "Namespace": METRIC_NAMESPACE,
        "MetricData": [
            {
                "MetricName": METRIC_NAME,
                "Dimensions": _dimensions(endpoint_name),
                "Value": 1.0,
                "Unit": "Count",
                "StorageResolution": 1,
            }
        ],
    }


def with_alarm(deployment: aws.Json, name: str) -> aws.Json:
    """The DeploymentConfig with ``name`` added to its auto-rollback alarms."""
    rollback = dict(deployment.get("AutoRollbackConfiguration") or {})
    rollback["Alarms"] = [*rollback.get("Alarms", []), {"AlarmName": name}]
    return {**deployment, "AutoRollbackConfiguration": rollback}


def takes_all_traffic_baking(endpoint: aws.Json) -> bool:
    """Whether the new fleet bakes with all the traffic: the final bake of a blue/green update. Each pending
    variant is Baking on its full count ("Baking for X seconds … with traffic enabled on full capacity of Y
    instance(s)", VariantStatus in the developer guide's EventBridge examples); a canary or an earlier linear step
    bakes on fewer instances."""
    variants = (endpoint.get("PendingDeploymentSummary") or {}).get("ProductionVariants") or []
    if not variants:
        return False
    for variant in variants:
        latest = (variant.get("VariantStatus") or [{}])[-1]
        if latest.get("Status") != "Baking":
            return False
        if variant.get("CurrentInstanceCount") != variant.get("DesiredInstanceCount"):
            return False
    return True


def bake_warning(smoke: SmokeTest, strategy: str | None, bake_seconds: int, alarms: tuple[str, ...]) -> str:
    """What the plan says when the smoke test cannot do its work inside the final bake ("" when it can)."""
    # equivalent mutant core/ReplaceComparisonOperator_LtE_Eq: bake-seconds is never negative (0-3600).
    if strategy == "rolling" or bake_seconds <= 0:
        return ""
    # equivalent mutants core/ReplaceComparisonOperator_GtE_Eq, core/ReplaceComparisonOperator_GtE_Is: no update
    # has more than MAX_ALARMS alarms (the alarms input refuses more), and small ints are one object.
    if len(alarms) >= MAX_ALARMS:
        return (
            f"alarms names {MAX_ALARMS} alarms, the most an update takes: the smoke test cannot add its own, so it "
            "runs after the update and a failure is rolled back by the action, with a second blue/green update"
        )
    if smoke.timeout_seconds + ALARM_PERIOD * 2 > bake_seconds:
        return (
            f"smoke-test-timeout-seconds ({smoke.timeout_seconds:g} s) does not fit in the final bake "
            f"({bake_seconds} s, bake-seconds) with the {ALARM_PERIOD * 2} s its alarm needs: if the model has not "
            "answered when the bake ends, SageMaker finishes the update and a failed smoke test is rolled back by "
            "the action, with a second blue/green update"
        )
    return ""


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str


def s3_object(uri: str) -> S3Object | None:
    """``s3://bucket/key`` → its bucket and key; None for anything else."""
    if not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[len("s3://") :].partition("/")
    return S3Object(bucket, key) if bucket and key else None


def invoke_request(endpoint_name: str, smoke: SmokeTest) -> aws.Json:
    """InvokeEndpointAsync's request: the body inline or its S3 location, and a TTL just past the wait."""
    request: aws.Json = {
        "EndpointName": endpoint_name,
        "ContentType": smoke.content_type,
        "RequestTTLSeconds": min(max(math.ceil(smoke.timeout_seconds) + 60, TTL_MIN), TTL_MAX),
    }
    if smoke.input_location:
        request["InputLocation"] = smoke.input_location
    else:
        request["Body"] = smoke.body
    return request


def judge(output: bytes | None, failure: bytes | None, smoke: SmokeTest, waited: float) -> tuple[bool, str]:
    """(passed, why it failed) from what landed in S3: the output object's first bytes, the failure object's,
    or neither (no answer in the time given)."""
    if failure is not None:
        lines = [line.strip() for line in _text(failure).splitlines() if line.strip()]
        # A Python traceback says what went wrong on its last line; other failure texts on their first.
        said = lines[-1] if lines and lines[0].startswith("Traceback") else lines[0] if lines else ""
        return False, "the model answered with a failure" + (f": {said}" if said else "")
    if output is None:
        return False, f"no answer in {max(waited, smoke.timeout_seconds):.0f} s"
    if smoke.expect is not None and not smoke.expect.search(_text(output)):
        return False, f"the response does not match smoke-test-expect ({smoke.expect.pattern})"
    return True, ""


def _text(body: bytes) -> str:
    return body.decode("utf-8", "replace")


class SmokeTester:
    """Sends the smoke test's request and looks for its answer: all at once (``run``), or one look per poll of
    a rollout that is still baking (``send``, then ``look``; see SmokeWatcher)."""

    def __init__(self, clients: aws.Clients, log: Log, smoke: SmokeTest, endpoint_name: str) -> None:
        self.clients = clients
        self.log = log
        self.smoke = smoke
        self.endpoint_name = endpoint_name
        self.started = 0.0  # when the request was sent (0: not yet)
        self.inference_id = self.request_id = self.output_uri = self.failure_uri = ""
        self.result: SmokeResult | None = None

    def describe(self) -> str:
        smoke = self.smoke
        how = safe(smoke.input_location) if smoke.input_location else f"{len(smoke.body):,} bytes inline"
        return f"one request to {self.endpoint_name} ({how}, {safe(smoke.content_type)})"

    def send(self) -> None:
        """InvokeEndpointAsync; a refusal is a failed smoke test (``result``)."""
        cancel.check()
        self.started = time.time()
        try:
            answer = aws.invoke_endpoint_async(
                self.clients.sagemaker_runtime, invoke_request(self.endpoint_name, self.smoke)
            )
        except ClientError as error:
            self._refused(error)
            return
        self.inference_id = str(answer.get("InferenceId", ""))
        self.request_id = str(answer.get("RequestId", ""))
        self.output_uri = str(answer.get("OutputLocation", ""))
        self.failure_uri = str(answer.get("FailureLocation", ""))
        self.log.info(
            f"Smoke test sent: inference id {safe(self.inference_id)}, request id {safe(self.request_id)}; waiting "
            f"up to {self.smoke.timeout_seconds:g} s for {safe(self.output_uri)}"
            + (f" or {safe(self.failure_uri)}" if self.failure_uri else "")
        )

    def look(self) -> SmokeResult | None:
        """One look at S3 (at most two HeadObject calls, one GetObject once an answer is there): the verdict once
        an answer landed or the time is up, None while neither."""
        if self.result is not None:
            return self.result
        try:
            output, failure = self._answer()
        except ClientError as error:
            self._refused(error)
            return self.result
        # equivalent mutant core/ReplaceBinaryOperator_Sub_Mod: both are epoch seconds and the wait is shorter than
        # the epoch time it started at, so now % started is now - started (for the next fifty years).
        waited = time.time() - self.started
        if output is None and failure is None and waited < self.smoke.timeout_seconds:
            return None
        passed, reason = judge(output, failure, self.smoke, waited)
        landed = failure if failure is not None else output
        self._finish(
            passed, reason, landed, "failure" if failure is not None else "output" if output is not None else ""
        )
        return self.result

    def run(self) -> SmokeResult:
        """Send (unless sent already) and wait for the verdict, looking with growing pauses."""
        with self.log.group(f"Smoke test: {self.describe()}"):
            if not self.started:
                self.send()
            pause = 0.5
            while True:
                result = self.look()
                if result is not None:
                    return result
                with cancel.interruptible():  # a cancelled job stops waiting at once
                    time.sleep(max(min(pause, self.started + self.smoke.timeout_seconds - time.time()), 0.0))
                pause = min(pause * 2, POLL_SECONDS_MAX)

    def _answer(self) -> tuple[bytes | None, bytes | None]:
        """(output's first bytes, failure's first bytes): at most one of them, neither while nothing landed."""
        s3 = self.clients.s3
        output, failure = s3_object(self.output_uri), s3_object(self.failure_uri)
        if failure is not None and aws.head_object(s3, failure.bucket, failure.key) is not None:
            return None, aws.get_object_start(s3, failure.bucket, failure.key, EXCERPT_BYTES)
        if output is not None and aws.head_object(s3, output.bucket, output.key) is not None:
            return aws.get_object_start(s3, output.bucket, output.key, EXCERPT_BYTES), None
        return None, None

    def _refused(self, error: ClientError) -> None:
        # A smoke test that cannot be sent or read proves nothing: it fails, with AWS's words, and the rollout
        # treats it like any other failure (nothing unproven replaces what served).
        reason = f"AWS refused {error.operation_name}: {aws.error_code(error)}: {aws.error_message(error)}"
        self._finish(False, reason, None, "")

    def _finish(self, passed: bool, reason: str, landed: bytes | None, answered: str) -> None:
        # equivalent mutant core/ReplaceBinaryOperator_Sub_Mod: epoch seconds, as in look().
        waited = time.time() - (self.started or time.time())
        self.result = SmokeResult(
            passed=passed,
            reason=reason,
            inference_id=self.inference_id,
            request_id=self.request_id,
            output_location=self.output_uri,
            failure_location=self.failure_uri,
            seconds=waited,
            excerpt=_text(landed) if landed is not None else "",
            answered=answered,
        )
        if passed:
            self.log.info(f"Smoke test passed in {waited:.0f} s: the output object is there.")
        else:
            self.log.info(f"Smoke test failed after {waited:.0f} s: {safe(reason)}")


class SmokeWatcher:
    """Runs the smoke test during the final bake, one step per poll of the wait: sends the request once the new
    fleet bakes with all the traffic, looks for the answer on each later poll, and on a failure calls ``tripped``
    (which publishes the datapoint the action's rollback alarm watches) once."""

    def __init__(self, tester: SmokeTester, tripped: Callable[[SmokeResult], None]) -> None:
        self.tester = tester
        self.tripped = tripped

    def on_poll(self, endpoint: aws.Json | None, now: float) -> None:
        tester = self.tester
        if tester.result is not None or endpoint is None:
            return
        if not tester.started:
            if not takes_all_traffic_baking(endpoint):
                return
            tester.send()
        else:
            tester.look()
        if tester.result is not None and not tester.result.passed:
            self.tripped(tester.result)
