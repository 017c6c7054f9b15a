"""The smoke test's request and its wait, in process against the emulator: what is sent, what each look at S3
finds, how long the wait lasts and how often it looks, and when the watcher of a bake sends and trips its alarm.

The emulator's async endpoint answers as armed (Faults.async_answers): an output after 0.3 s, a failure object, or
never. Where only the count and spacing of the looks matter, the module's clock is a fake one, so that a wait of
a minute takes no time."""

from __future__ import annotations

import io
import re
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_async_deploy import smoke
from sagemaker_async_deploy.config import SmokeTest
from sagemaker_async_deploy.log import Log
from sagemaker_async_deploy.outcome import SmokeResult
from sagemaker_async_deploy.smoke import SmokeTester, SmokeWatcher
from sagemaker_emulator import Emulator

from .conftest import module_clients, started_emulator
from .emulator._setup import ROLE, wait_for

ENDPOINT = "whisper"
BUCKET = "smoke-bucket"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """An async endpoint InService whose answers land in S3, failures under their own path."""
    with started_emulator(environ=True) as started:
        sm = module_clients().sagemaker
        module_clients().s3.create_bucket(Bucket=BUCKET)
        sm.create_model(ModelName="m", PrimaryContainer={"Image": "img"}, ExecutionRoleArn=ROLE)
        sm.create_endpoint_config(
            EndpointConfigName="c",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "m",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
            AsyncInferenceConfig={
                "OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/out", "S3FailurePath": f"s3://{BUCKET}/failed"}
            },
        )
        sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="c")
        wait_for(sm, ENDPOINT, "InService")
        yield started


@pytest.fixture
def model(emu: Emulator) -> Iterator[Emulator]:
    """The emulator, its armed answers and request log cleared after the test."""
    emu.clear_requests()
    yield emu
    emu.faults.clear()


def smoke_test(**overrides: Any) -> SmokeTest:
    values: dict[str, Any] = {
        "given": "smoke/request.json",
        "input_location": "",
        "body": b'{"x": 1}',
        "content_type": "application/json",
        "timeout_seconds": 20.0,
        "expect": None,
    }
    values.update(overrides)
    return SmokeTest(**values)


def smoke_tester(
    log: io.StringIO | None = None, endpoint: str = ENDPOINT, clients_: Any = None, **smoke_args: Any
) -> SmokeTester:
    return SmokeTester(clients_ or module_clients(), Log(log or io.StringIO()), smoke_test(**smoke_args), endpoint)


def heads(emu: Emulator) -> int:
    """HeadObject calls so far (the request log names a REST call of S3 by its method and path)."""
    return len([r for r in emu.requests if r.service == "s3" and r.operation.startswith("HEAD /")])


def gets(emu: Emulator) -> int:
    """GetObject calls so far."""
    return len([r for r in emu.requests if r.service == "s3" and r.operation.startswith(f"GET /{BUCKET}/")])


class Clock:
    """The smoke module's clock: ``sleep`` moves it on at once and is kept; each reading moves it on by ``tick``
    (the time a call takes). A negative sleep fails, as time.sleep's ValueError does; so does a wait that never
    ends."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.tick = 0.0
        self.slept: list[float] = []

    def time(self) -> float:
        now = self.now
        self.now += self.tick
        return now

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        if len(self.slept) >= 40:
            raise AssertionError(f"still waiting after {self.slept}")
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(smoke, "time", fake)
    return fake


def test_no_answer_waits_with_growing_pauses_up_to_the_timeout(model: Emulator, clock: Clock) -> None:
    """A model that never answers: looks after 0.5, 1, 2, 4 s, then every 5 s, the last pause cut to end at the
    timeout; two HeadObject calls per look; then "no answer" after exactly the timeout."""
    model.faults.async_answers("never")
    result = smoke_tester(timeout_seconds=20.0).run()
    assert clock.slept == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 2.5]
    assert heads(model) == 2 * (len(clock.slept) + 1)
    assert (result.passed, result.reason, result.answered, result.seconds) == (False, "no answer in 20 s", "", 20.0)


def test_a_short_timeout_cuts_the_first_pause(model: Emulator, clock: Clock) -> None:
    """With less time left than the next pause, the wait sleeps only what is left, then gives its verdict."""
    model.faults.async_answers("never")
    result = smoke_tester(timeout_seconds=0.25).run()
    assert clock.slept == [0.25]
    assert result.reason == "no answer in 0 s"


def test_a_look_before_the_answer_finds_nothing_and_a_verdict_is_kept(model: Emulator, clock: Clock) -> None:
    """Each look within the time given and before an answer is None; once the time is up the verdict is given,
    and later looks return it without asking S3 again."""
    model.faults.async_answers("never")
    watched = smoke_tester(timeout_seconds=10.0)
    watched.send()
    assert watched.look() is None
    clock.now += 9.9
    assert watched.look() is None
    clock.now += 0.1
    result = watched.look()
    assert result is not None and result.reason == "no answer in 10 s"
    asked = heads(model)
    assert watched.look() is result
    assert heads(model) == asked


class RefusingS3:
    """An S3 client for a role that may not read the answer's bucket."""

    def head_object(self, **params: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")


def test_a_look_that_ends_past_the_deadline_sleeps_no_negative_time(model: Emulator, clock: Clock) -> None:
    """The deadline may pass between a look and the pause after it: the pause is then none, and the next look
    gives the verdict."""
    model.faults.async_answers("never")
    clock.tick = 0.3
    result = smoke_tester(timeout_seconds=0.5).run()
    assert clock.slept == [0.0]
    assert result.reason == "no answer in 1 s"


def test_a_look_long_after_the_deadline_gives_the_verdict(model: Emulator, clock: Clock) -> None:
    """A watcher's next poll may come well after the deadline: that look gives the verdict, not another wait."""
    model.faults.async_answers("never")
    watched = smoke_tester(timeout_seconds=10.0)
    watched.send()
    clock.now += 12.0
    result = watched.look()
    assert result is not None and (result.reason, result.seconds) == ("no answer in 12 s", 12.0)


def test_a_healthy_model_passes_with_its_answer(model: Emulator) -> None:
    """One request; the output object lands, is read once and passes; the result names the request and the URIs."""
    log = io.StringIO()
    sent = smoke_tester(log)
    result = sent.run()
    assert result.passed and result.reason == "" and result.answered == "output"
    assert result.inference_id and result.request_id
    assert result.output_location == f"s3://{BUCKET}/out/{result.inference_id}.out"
    assert result.failure_location == f"s3://{BUCKET}/failed/{result.inference_id}-error.out"
    assert f'"inference_id": "{result.inference_id}"' in result.excerpt
    assert 0 < result.seconds < 5
    assert [r.operation for r in model.requests if r.operation == "InvokeEndpointAsync"] == ["InvokeEndpointAsync"]
    assert gets(model) == 1
    text = log.getvalue()
    assert (
        f"Smoke test sent: inference id {result.inference_id}, request id {result.request_id}; waiting up to 20 s "
        f"for {result.output_location} or {result.failure_location}"
    ) in text
    assert "Smoke test passed in" in text and "Smoke test failed" not in text


def test_a_failure_object_fails_with_its_text(model: Emulator) -> None:
    """A failure object is the verdict: its text is the reason and the excerpt; the output is not looked for."""
    model.faults.async_answers("failure", body="ModelError: CUDA out of memory\nmore")
    log = io.StringIO()
    result = smoke_tester(log).run()
    assert (result.passed, result.reason, result.answered) == (
        False,
        "the model answered with a failure: ModelError: CUDA out of memory",
        "failure",
    )
    assert result.excerpt == "ModelError: CUDA out of memory\nmore"
    assert "Smoke test failed after" in log.getvalue() and "Smoke test passed" not in log.getvalue()


def test_the_response_must_match_what_is_expected(model: Emulator) -> None:
    """An output that does not match smoke-test-expect fails, with the output as the excerpt."""
    model.faults.async_answers("output", body='{"label": "dog"}')
    result = smoke_tester(expect=re.compile('"cat"')).run()
    assert (result.passed, result.answered, result.excerpt) == (False, "output", '{"label": "dog"}')


def test_only_the_first_bytes_of_a_long_answer_are_read(model: Emulator) -> None:
    """A large answer costs one ranged read of EXCERPT_BYTES, not the whole object."""
    model.faults.async_answers("output", body="x" * 10_000)
    result = smoke_tester().run()
    assert result.passed and result.excerpt == "x" * smoke.EXCERPT_BYTES


def test_a_request_sent_from_s3_names_its_input_location(model: Emulator) -> None:
    """An S3 smoke test sends InputLocation, which the endpoint reads instead of a body."""
    module_clients().s3.put_object(Bucket=BUCKET, Key="requests/hello.json", Body=b"{}")
    result = smoke_tester(input_location=f"s3://{BUCKET}/requests/hello.json", body=b"").run()
    assert result.passed
    [request] = [r for r in model.requests if r.operation == "InvokeEndpointAsync"]
    assert request.params["InputLocation"] == f"s3://{BUCKET}/requests/hello.json"


def test_a_refused_request_fails_at_once_with_aws_words(model: Emulator, clock: Clock) -> None:
    """InvokeEndpointAsync refused (no such endpoint): a failed smoke test with AWS's error, no wait, no S3 read."""
    result = smoke_tester(endpoint="no-such-endpoint").run()
    assert not result.passed and result.answered == "" and result.excerpt == ""
    assert result.reason.startswith("AWS refused InvokeEndpointAsync: ValidationError: Endpoint no-such-endpoint")
    assert (result.seconds, clock.slept, heads(model)) == (0.0, [], 0)


def test_an_answer_that_cannot_be_read_fails_the_smoke_test(model: Emulator, clock: Clock) -> None:
    """A refused read of S3 proves nothing: the smoke test fails with AWS's words, and no more looks are made."""
    refusing = types.SimpleNamespace(sagemaker_runtime=module_clients().sagemaker_runtime, s3=RefusingS3())
    result = smoke_tester(clients_=refusing).run()
    assert not result.passed and result.reason == "AWS refused HeadObject: 403: Forbidden"
    assert result.inference_id and clock.slept == []


def test_a_run_after_send_does_not_send_again(model: Emulator) -> None:
    """A watcher that sent the request already leaves only the waiting to run."""
    watched = smoke_tester()
    watched.send()
    assert watched.run().passed
    assert len([r for r in model.requests if r.operation == "InvokeEndpointAsync"]) == 1


def test_describe_says_what_is_sent() -> None:
    """The group's title: the endpoint, the body's size or its S3 location, and the content type."""
    assert smoke_tester(body=b"x" * 1234).describe() == "one request to whisper (1,234 bytes inline, application/json)"
    assert (
        smoke_tester(input_location="s3://b/k.json", body=b"").describe()
        == "one request to whisper (s3://b/k.json, application/json)"
    )


# --- the watcher of the final bake -------------------------------------------------------------------------


def baking(current: int = 1, desired: int = 1) -> dict[str, Any]:
    variant = {
        "CurrentInstanceCount": current,
        "DesiredInstanceCount": desired,
        "VariantStatus": [{"Status": "Baking"}],
    }
    return {"EndpointStatus": "Updating", "PendingDeploymentSummary": {"ProductionVariants": [variant]}}


def test_the_watcher_sends_once_the_new_fleet_bakes_with_all_traffic_and_trips_once(
    model: Emulator, clock: Clock
) -> None:
    """No request before the final bake; one when it starts; one look per later poll; a failure trips the alarm
    once, and later polls do nothing."""
    model.faults.async_answers("failure", body="KeyError: 'language'")
    tripped: list[SmokeResult] = []
    watched = smoke_tester()
    watcher = SmokeWatcher(watched, tripped.append)
    watcher.on_poll(None, clock.now)
    watcher.on_poll({"EndpointStatus": "Updating"}, clock.now)
    watcher.on_poll(baking(1, 3), clock.now)
    assert not watched.started and heads(model) == 0
    watcher.on_poll(baking(3, 3), clock.now)
    assert watched.started and heads(model) == 0 and watched.result is None
    time.sleep(0.5)  # the emulator's model answers after 0.3 s of wall-clock time
    watcher.on_poll(baking(3, 3), clock.now)
    assert watched.result is not None and tripped == [watched.result]
    assert watched.result.reason == "the model answered with a failure: KeyError: 'language'"
    asked = heads(model)
    watcher.on_poll(baking(3, 3), clock.now)
    watcher.on_poll(None, clock.now)
    assert tripped == [watched.result] and heads(model) == asked


def test_a_passing_smoke_test_trips_nothing(model: Emulator) -> None:
    """An answer that passes leaves the alarm alone."""
    tripped: list[SmokeResult] = []
    watched = smoke_tester()
    watcher = SmokeWatcher(watched, tripped.append)
    watcher.on_poll(baking(), 0.0)
    time.sleep(0.5)
    watcher.on_poll(baking(), 0.0)
    assert watched.result is not None and watched.result.passed and tripped == []


def test_a_refused_send_trips_at_once(model: Emulator) -> None:
    """A request SageMaker refuses during the bake is a failed smoke test: the alarm is tripped on that poll."""
    tripped: list[SmokeResult] = []
    watcher = SmokeWatcher(smoke_tester(endpoint="no-such-endpoint"), tripped.append)
    watcher.on_poll(baking(), 0.0)
    assert len(tripped) == 1 and tripped[0].reason.startswith("AWS refused InvokeEndpointAsync")
