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

This module sends, waits and judges; the rollout decides what a failed verdict does.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from . import aws, cancel
from .config import SmokeTest
from .log import Log, safe
from .outcome import SmokeResult

EXCERPT_BYTES = 4096  # of the response or the failure, for the report: the first lines, not the whole answer
POLL_SECONDS_MAX = 5.0  # between two looks at S3: each look is two HeadObject calls
# RequestTTLSeconds (botocore's model: 60-21600, default 21600): a request still queued after the smoke test
# gave up proves nothing any more, so it need not outlive the wait by much.
TTL_MIN, TTL_MAX = 60, 21_600


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
        text = _text(failure).strip()
        return False, "the model answered with a failure" + (f": {text.splitlines()[0]}" if text else "")
    if output is None:
        return False, f"no answer in {max(waited, smoke.timeout_seconds):.0f} s"
    if smoke.expect is not None and not smoke.expect.search(_text(output)):
        return False, f"the response does not match smoke-test-expect ({smoke.expect.pattern})"
    return True, ""


def _text(body: bytes) -> str:
    return body.decode("utf-8", "replace")


class SmokeTester:
    """Sends the smoke test's request and waits for its answer."""

    def __init__(self, clients: aws.Clients, log: Log, smoke: SmokeTest) -> None:
        self.clients = clients
        self.log = log
        self.smoke = smoke

    def run(self, endpoint_name: str) -> SmokeResult:
        smoke = self.smoke
        how = safe(smoke.input_location) if smoke.input_location else f"{len(smoke.body):,} bytes inline"
        with self.log.group(f"Smoke test: one request to {endpoint_name} ({how}, {safe(smoke.content_type)})"):
            started = time.time()
            cancel.check()
            inference_id = request_id = output_uri = failure_uri = ""
            output: bytes | None = None
            failure: bytes | None = None
            refused = ""
            try:
                answer = aws.invoke_endpoint_async(self.clients.sagemaker_runtime, invoke_request(endpoint_name, smoke))
                inference_id = str(answer.get("InferenceId", ""))
                request_id = str(answer.get("RequestId", ""))
                output_uri = str(answer.get("OutputLocation", ""))
                failure_uri = str(answer.get("FailureLocation", ""))
                self.log.info(
                    f"Queued: inference id {safe(inference_id)}, request id {safe(request_id)}; waiting up to "
                    f"{smoke.timeout_seconds:g} s for {safe(output_uri)}"
                    + (f" or {safe(failure_uri)}" if failure_uri else "")
                )
                output, failure = self._wait(output_uri, failure_uri, started)
            except ClientError as error:
                # A smoke test that cannot be sent or read proves nothing: it fails, with AWS's words, and the
                # rollout treats it like any other failure (nothing unproven replaces what served).
                refused = f"AWS refused {error.operation_name}: {aws.error_code(error)}: {aws.error_message(error)}"
            waited = time.time() - started
            passed, reason = judge(output, failure, smoke, waited)
            if refused:
                passed, reason = False, refused
            landed = failure if failure is not None else output
            result = SmokeResult(
                passed=passed,
                reason=reason,
                inference_id=inference_id,
                request_id=request_id,
                output_location=output_uri,
                failure_location=failure_uri,
                seconds=waited,
                excerpt=_text(landed) if landed is not None else "",
                answered="failure" if failure is not None else "output" if output is not None else "",
            )
            if passed:
                self.log.info(f"Smoke test passed in {waited:.0f} s: the output object is there.")
            else:
                self.log.info(f"Smoke test failed after {waited:.0f} s: {safe(reason)}")
            return result

    def _wait(self, output_uri: str, failure_uri: str, started: float) -> tuple[bytes | None, bytes | None]:
        """(output's first bytes, failure's first bytes), at most one of them, None both when time ran out."""
        s3 = self.clients.s3
        output, failure = s3_object(output_uri), s3_object(failure_uri)
        deadline = started + self.smoke.timeout_seconds
        pause = 0.5
        while True:
            with cancel.interruptible():  # a cancelled job stops waiting at once
                if failure is not None and aws.head_object(s3, failure.bucket, failure.key) is not None:
                    return None, aws.get_object_start(s3, failure.bucket, failure.key, EXCERPT_BYTES)
                if output is not None and aws.head_object(s3, output.bucket, output.key) is not None:
                    return aws.get_object_start(s3, output.bucket, output.key, EXCERPT_BYTES), None
                now = time.time()
                if now >= deadline:
                    return None, None
                time.sleep(min(pause, deadline - now))
            pause = min(pause * 2, POLL_SECONDS_MAX)
