"""Rollout's smoke test and the rollback it orders, in process against the emulator: a passed smoke test lets the
update or create finish (the request sent once, the action's alarm joining an update's auto-rollback alarms only
when the update bakes, never a create's); a failed one fails a create with the endpoint kept, and rolls an update
back to the config that served before, or, when SageMaker refuses the rollback or it does not finish in time or on
that config, says so with what to do and keeps everything; a server error or bad credentials on the rollback stop
the run; a smoke-test alarm that cannot be published is a warning.

The action-level tests (tests/action) tell these stories through the real action; these are their fast twins, run
against every mutant of ``Rollout._smoke_test``, ``_smoke_route``, ``_roll_back_to`` and ``_waiter_for_rollback``
(mutate/scope.toml, scope rollout-steps). One emulator with short timings serves the module; each test works on
endpoints of its own, seeded together at the start. A failed smoke test is handed to the Rollout as already sent
during the bake, as the rollout holds it; a passed one is sent to the emulator's healthy model.
"""

from __future__ import annotations

import dataclasses
import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sagemaker_async_deploy import aws, builders, smoke
from sagemaker_async_deploy.errors import DeployError
from sagemaker_async_deploy.log import Log
from sagemaker_async_deploy.outcome import SmokeResult
from sagemaker_async_deploy.planner import Plan
from sagemaker_async_deploy.rollout import Rollout
from sagemaker_async_deploy.smoke import SmokeTester, SmokeWatcher
from sagemaker_async_deploy.state import ServingState
from sagemaker_emulator import Timings

from .conftest import REGION, started_emulator
from .factories import ROLE, action_config, image
from .lab import EmulatorLab, Run, each_test_fresh
from .seed import seed_alarm, seed_handmade_config

# Shorter than the suite's FAST_TIMINGS: every mutant of the scope runs this module.
TIMINGS = Timings(create=0.1, update=0.1, rollback=0.1, delete=0.05)
BUCKET = "bucket"
SMOKE_INPUT = f"s3://{BUCKET}/requests/hello.json"
REASON = "the failure object landed: CUDA error"
ERRORS = "whisper-5xx"  # the user's auto-rollback alarm
# Endpoints the module's tests start from: InService on image 1, one per test that changes what serves.
SEEDED = (
    "baked",
    "unbaked",
    "rolled",
    "refused",
    "fivexx",
    "expired",
    "rejected",
    "hotfixed-aaa",
    "hotfixed-zzz",
    "unsettled",
    "settled-failed",
    "settled-out",
    "settled-gone",
    "slow",
    "unpublished",
)


def config_inputs(**inputs: str) -> dict[str, Any]:
    """The inputs of a deploy of image 1 polling every 0.02 s, its answers in the module's bucket, and ``inputs``."""
    return {
        "poll_interval_seconds": "0.02",
        "deployment_timeout_minutes": "1",
        "execution_role_arn": ROLE,
        "output_path": f"s3://{BUCKET}/out/",
        "failure_path": f"s3://{BUCKET}/failed/",
        **inputs,
    }


class Lab(EmulatorLab):
    """The module's emulator, the clients the action uses, and the steps the tests share."""

    def start(self, name: str, clients: aws.Clients | None = None, timeout: float = 0, **inputs: str) -> Run:
        """A Rollout of image 1 (unless ``inputs`` say otherwise) onto ``name``, polling every 0.02 s; with
        ``timeout``, deployment-timeout of that many seconds."""
        config = action_config(endpoint_name=name, **config_inputs(**inputs))
        if timeout:
            config = dataclasses.replace(config, deployment_timeout_seconds=timeout)
        stream = io.StringIO()
        return Run(Rollout(config, clients or self.clients, Log(stream)), stream)

    def seed(self) -> None:
        """An S3 bucket for the answers, and every endpoint the tests start from, created as a first deploy
        creates it."""
        self.clients.s3.create_bucket(Bucket=BUCKET)
        seed_alarm(self.emu, ERRORS)
        for name in SEEDED:
            desired = self.planned(self.start(name), create=True).desired
            self.sm.create_endpoint(
                **builders.create_endpoint_request(
                    desired.endpoint_name, desired.config_name, desired.deployment_config, desired.tags
                )
            )
        for name in SEEDED:
            self.settle(name)

    def rolled_out(self, run: Run) -> tuple[ServingState, Plan, aws.Json]:
        """The update ``run`` asks for, made and settled InService on its config as run() leaves it before the
        smoke test: what served before, the plan, and the settled description."""
        name = run.rollout.config.endpoint_name
        previous = self.serving(name)
        the_plan = self.planned(run)
        desired = the_plan.desired
        self.sm.update_endpoint(
            **builders.update_endpoint_request(
                name, desired.config_name, desired.deployment_config, new_instance_count=False
            )
        )
        final = self.settle(name)
        assert final["EndpointConfigName"] == desired.config_name
        return previous, the_plan, final

    def requests(self, operation: str) -> list[dict[str, Any]]:
        return [r.params for r in self.emu.requests if r.operation == operation]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with started_emulator(environ=True, timings=TIMINGS) as emu:
        the_lab = Lab(emu)
        the_lab.seed()
        yield the_lab


@pytest.fixture(autouse=True)
def fresh_log(lab: Lab) -> Iterator[None]:
    yield from each_test_fresh(lab.emu)


def failed(run: Run) -> SmokeResult:
    """The smoke test of ``run`` as sent during the bake and failed: its result, as the rollout holds it."""
    smoke_test = run.rollout.config.smoke_test
    assert smoke_test is not None
    tester = SmokeTester(run.rollout.clients, run.rollout.log, smoke_test, run.rollout.config.endpoint_name)
    tester.result = SmokeResult(
        passed=False,
        reason=REASON,
        inference_id="inf-1",
        request_id="req-1",
        output_location=f"s3://{BUCKET}/out/inf-1.out",
        failure_location=f"s3://{BUCKET}/failed/inf-1-error.out",
        seconds=3.0,
        excerpt="CUDA error",
        answered="failure",
    )
    run.rollout.smoke_tester = tester
    return tester.result


class Settled:
    """A rollback's wait that ends on ``endpoint`` (None: the endpoint is gone), whatever the emulator does."""

    def __init__(self, endpoint: aws.Json | None) -> None:
        self.endpoint = endpoint

    def wait(self, *args: Any, **kwargs: Any) -> aws.Json | None:
        return self.endpoint


# --- a passed smoke test ---------------------------------------------------------------------------------------


def test_an_update_that_bakes_is_smoke_tested_under_the_actions_alarm_and_then_finishes(lab: Lab) -> None:
    """An update that bakes carries the action's smoke-test alarm after the user's among its auto-rollback alarms;
    the smoke test is sent once, and when it passes the update is 'updated' and what it replaced is deleted."""
    old = lab.serving("baked")
    run = lab.start("baked", image=image(2), smoke_test_input=SMOKE_INPUT, alarms=ERRORS, bake_seconds="10")
    outcome = run.rollout.run()
    assert outcome.plan is not None
    desired = outcome.plan.desired
    alarm = smoke.alarm_name("baked")
    assert (outcome.result, outcome.message) == ("updated", "")
    assert outcome.smoke is not None and outcome.smoke.passed
    assert outcome.cleaned_up == [f"endpoint config {old.config_name}", f"model {old.model_name}"]
    assert f"alarm {alarm}" in outcome.writes
    [update] = lab.requests("UpdateEndpoint")
    assert update["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": ERRORS},
        {"AlarmName": alarm},
    ]
    assert [r["AlarmName"] for r in lab.requests("PutMetricAlarm")] == [alarm]
    assert len(lab.requests("InvokeEndpointAsync")) == 1
    assert lab.serving("baked").config_name == desired.config_name


def test_an_update_that_does_not_bake_is_smoke_tested_after_it_without_an_alarm(lab: Lab) -> None:
    """An update that does not bake (bake-seconds 0) gives SageMaker no time to roll back on an alarm: no alarm
    of the action's is made or added to the user's, and the smoke test is sent once after the update."""
    old = lab.serving("unbaked")
    run = lab.start("unbaked", image=image(2), smoke_test_input=SMOKE_INPUT, alarms=ERRORS, bake_seconds="0")
    outcome = run.rollout.run()
    assert outcome.result == "updated"
    assert outcome.smoke is not None and outcome.smoke.passed
    assert outcome.cleaned_up == [f"endpoint config {old.config_name}", f"model {old.model_name}"]
    assert not any(w.startswith("alarm ") for w in outcome.writes)
    [update] = lab.requests("UpdateEndpoint")
    assert update["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"] == [{"AlarmName": ERRORS}]
    assert lab.requests("PutMetricAlarm") == []
    assert len(lab.requests("InvokeEndpointAsync")) == 1


def test_a_create_is_smoke_tested_once_it_is_in_service_without_an_alarm(lab: Lab) -> None:
    """A first deploy has nothing to roll back to, so no alarm of the action's, even with alarms and a bake: the
    smoke test is sent once, after the endpoint is InService, and when it passes the endpoint is 'created'."""
    run = lab.start("newcomer", smoke_test_input=SMOKE_INPUT, alarms=ERRORS, bake_seconds="10")
    outcome = run.rollout.run()
    assert outcome.result == "created"
    assert outcome.smoke is not None and outcome.smoke.passed
    assert outcome.writes == [
        f"model {outcome.serving_model}",
        f"endpoint config {outcome.serving_config}",
        "endpoint newcomer",
    ]
    assert lab.requests("PutMetricAlarm") == []
    assert len(lab.requests("InvokeEndpointAsync")) == 1


# --- a failed smoke test ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "kept"),
    [
        ({}, ["endpoint config {config} (serving)", "model {model} (serving)"]),
        ({"model_name": "terraform-whisper", "execution_role_arn": ""}, ["endpoint config {config} (serving)"]),
    ],
    ids=["model-made", "model-given"],
)
def test_a_failed_smoke_test_on_a_create_fails_and_keeps_what_serves(
    lab: Lab, inputs: dict[str, Any], kept: list[str]
) -> None:
    """A create's failed smoke test fails the run: there is no earlier config to go back to, so the endpoint keeps
    serving the new config, kept with the model the run made (a model it was given is not its to keep)."""
    run = lab.start("created-failed", smoke_test_input=SMOKE_INPUT, **inputs)
    failed(run)
    assert run.rollout._smoke_test(None, "created-failed-config", "created-failed-model", {}) is False
    outcome = run.outcome
    assert (outcome.result, outcome.message) == (
        "failed",
        f"the smoke test failed ({REASON}); the endpoint was created and is kept, serving the new model: there is "
        "no earlier config to go back to",
    )
    assert outcome.kept == [k.format(config="created-failed-config", model="created-failed-model") for k in kept]
    assert lab.emu.write_calls() == []


def test_a_failed_smoke_test_on_an_update_rolls_the_endpoint_back_and_removes_what_it_made(lab: Lab) -> None:
    """An update's failed smoke test: the action updates the endpoint back to the config that served, waits for it,
    reports 'rolled-back' by the action with what serves again, and deletes the new config and model."""
    run = lab.start("rolled", image=image(2), smoke_test_input=SMOKE_INPUT)
    previous, the_plan, final = lab.rolled_out(run)
    desired = the_plan.desired
    failed(run)
    lab.emu.clear_requests()
    assert run.rollout._smoke_test(previous, desired.config_name, desired.model_name, final) is False
    outcome = run.outcome
    assert (outcome.result, outcome.smoke_rolled_back_by) == ("rolled-back", "action")
    assert outcome.message == (
        f"the smoke test failed ({REASON}), so the action rolled the endpoint back; "
        f"{previous.config_name} still serves {image(1)}"
    )
    assert (outcome.serving_config, outcome.serving_model) == (previous.config_name, previous.model_name)
    assert outcome.cleaned_up == [f"endpoint config {desired.config_name}", f"model {desired.model_name}"]
    assert outcome.writes[-1] == f"rollback of endpoint rolled to {previous.config_name}"
    assert f"The smoke test failed ({REASON}): rolling rolled back to {previous.config_name}." in run.lines
    [rollback] = lab.requests("UpdateEndpoint")
    assert rollback["EndpointConfigName"] == previous.config_name
    assert lab.serving("rolled").config_name == previous.config_name
    assert (lab.configs("rolled"), lab.models("rolled")) == ({previous.config_name}, {previous.model_name})


QUOTA = "The account-level service limit 'ml.g4dn.xlarge for endpoint usage' is 1 Instances."


def test_a_rollback_sagemaker_refuses_keeps_both_configs_and_says_how_to_go_back(lab: Lab) -> None:
    """SageMaker refusing the rollback (a quota) leaves the new model serving: 'failed', with SageMaker's words and
    the command that goes back by hand, and both configs and the new model kept."""
    run = lab.start("refused", image=image(2), smoke_test_input=SMOKE_INPUT)
    previous, the_plan, final = lab.rolled_out(run)
    desired = the_plan.desired
    failed(run)
    lab.emu.faults.quota_next_update(QUOTA, endpoint_name="refused")
    assert run.rollout._smoke_test(previous, desired.config_name, desired.model_name, final) is False
    outcome = run.outcome
    assert (outcome.result, outcome.smoke_rolled_back_by) == ("failed", "")
    assert outcome.message == (
        f"the smoke test failed ({REASON}) and SageMaker refused the rollback to {previous.config_name} "
        f"(ResourceLimitExceeded: {QUOTA}); the new model serves. Go back by hand: aws sagemaker update-endpoint "
        f"--endpoint-name refused --endpoint-config-name {previous.config_name}"
    )
    assert outcome.kept == [
        f"endpoint config {desired.config_name}",
        f"model {desired.model_name}",
        f"endpoint config {previous.config_name}",
    ]
    assert outcome.cleaned_up == []
    assert lab.serving("refused").config_name == desired.config_name


@pytest.fixture(scope="module")
def one_attempt(lab: Lab) -> aws.Clients:
    """The action's clients with one attempt per call: a 5xx armed once is the last answer."""
    return aws.Clients(REGION, Config(retries={"mode": "standard", "total_max_attempts": 1}))


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("fivexx", "InternalFailure"),
        ("expired", "ExpiredTokenException"),
        ("rejected", "UnrecognizedClientException"),
    ],
)
def test_a_server_error_or_bad_credentials_on_the_rollback_stop_the_run(
    lab: Lab, one_attempt: aws.Clients, name: str, code: str
) -> None:
    """A 5xx on the rollback, or credentials that expired or are not AWS's, is no refusal to report as one: the
    error ends the run as it is (what it becomes is the run loop's), and nothing is deleted."""
    run = lab.start(name, clients=one_attempt, image=image(2), smoke_test_input=SMOKE_INPUT)
    previous, the_plan, final = lab.rolled_out(run)
    desired = the_plan.desired
    failed(run)
    if code == "InternalFailure":
        lab.emu.faults.server_error("UpdateEndpoint", code=code)
    elif code == "ExpiredTokenException":
        lab.emu.faults.expire_credentials()
    else:
        lab.emu.faults.reject_credentials()
    with pytest.raises(ClientError) as raised:
        run.rollout._smoke_test(previous, desired.config_name, desired.model_name, final)
    lab.emu.faults.clear()
    assert aws.error_code(raised.value) == code
    assert run.outcome.cleaned_up == []
    assert lab.serving(name).config_name == desired.config_name


@pytest.mark.parametrize("other", ["aaa", "zzz"])
def test_a_rollback_that_lands_on_someone_elses_config_did_not_finish(lab: Lab, other: str) -> None:
    """Someone else's update landing right after the rollback (on a config sorting before or after the old one)
    is no rollback: 'failed', naming what serves, with both configs and the new model kept."""
    name = f"hotfixed-{other}"
    hotfix = f"{other}-hotfix"
    run = lab.start(name, image=image(2), smoke_test_input=SMOKE_INPUT)
    previous, the_plan, final = lab.rolled_out(run)
    desired = the_plan.desired
    seed_handmade_config(lab.sm, hotfix, image(3), ROLE, f"s3://{BUCKET}/out/")
    failed(run)
    lab.emu.faults.update_when_settled(hotfix, endpoint_name=name)
    assert run.rollout._smoke_test(previous, desired.config_name, desired.model_name, final) is False
    outcome = run.outcome
    assert (outcome.result, outcome.serving_config) == ("failed", hotfix)
    assert outcome.message == (
        f"the smoke test failed ({REASON}) and the rollback to {previous.config_name} did not finish: "
        f"the endpoint is InService on {hotfix}"
    )
    assert outcome.kept == [
        f"endpoint config {desired.config_name}",
        f"model {desired.model_name}",
        f"endpoint config {previous.config_name}",
    ]
    assert outcome.cleaned_up == []
    assert lab.serving(name).config_name == hotfix


@pytest.mark.parametrize(
    ("name", "status", "shown"),
    [
        ("settled-failed", "Failed", "Failed on {config}"),
        ("settled-out", "OutOfService", "OutOfService on {config}"),
        ("settled-gone", None, "gone"),
    ],
)
def test_a_rollback_that_settles_anything_but_in_service_did_not_finish(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, name: str, status: str | None, shown: str
) -> None:
    """A rollback that ends Failed or OutOfService, even on the old config (statuses sorting before and after
    InService), or with the endpoint gone, did not finish: 'failed', with what the endpoint is, and nothing
    deleted."""
    run = lab.start(name, image=image(2), smoke_test_input=SMOKE_INPUT)
    previous, the_plan, final = lab.rolled_out(run)
    desired = the_plan.desired
    failed(run)
    settled = None
    if status is not None:
        settled = {**final, "EndpointStatus": status, "EndpointConfigName": previous.config_name}
    monkeypatch.setattr(run.rollout, "_waiter_for_rollback", lambda: Settled(settled))
    assert run.rollout._smoke_test(previous, desired.config_name, desired.model_name, final) is False
    outcome = run.outcome
    assert (outcome.result, outcome.smoke_rolled_back_by) == ("failed", "")
    assert outcome.serving_config == ("" if status is None else previous.config_name)
    assert outcome.message == (
        f"the smoke test failed ({REASON}) and the rollback to {previous.config_name} did not finish: "
        f"the endpoint is {shown.format(config=previous.config_name)}"
    )
    assert outcome.kept == [
        f"endpoint config {desired.config_name}",
        f"model {desired.model_name}",
        f"endpoint config {previous.config_name}",
    ]
    assert outcome.cleaned_up == []


def test_a_rollback_gets_a_deployment_timeout_of_its_own_and_times_out_after_it(lab: Lab) -> None:
    """The rollback's wait starts a new deployment-timeout when it starts, however much of the update's was used,
    and ends with a timeout once that has passed with the rollback still going."""
    run = lab.start("slow", image=image(2), smoke_test_input=SMOKE_INPUT, timeout=1.5)
    previous, the_plan, final = lab.rolled_out(run)
    desired = the_plan.desired
    failed(run)
    run.rollout.waiter.deadline = time.time()  # the update used up all of its time
    lab.emu.faults.hold_next_update("slow")
    # A wait without its deadline would wait as long as the hold: released after a while, it ends rolled back.
    releaser = threading.Timer(6.0, lab.emu.faults.release, args=("slow",))
    releaser.start()
    started = time.time()
    try:
        with pytest.raises(DeployError) as raised:
            run.rollout._smoke_test(previous, desired.config_name, desired.model_name, final)
        waited = time.time() - started
    finally:
        releaser.cancel()
        lab.emu.faults.release("slow")
    assert raised.value.kind == "timeout"
    assert str(raised.value).startswith("Timed out after 0.025 minutes (deployment-timeout-minutes) with the endpoint")
    assert 1.5 <= waited < 6.0


# --- the smoke test's alarm ------------------------------------------------------------------------------------


def test_a_failed_smoke_test_that_cannot_be_published_is_a_warning_and_the_wait_goes_on(lab: Lab) -> None:
    """CloudWatch refusing the failed smoke test's datapoint stops nothing: a warning with AWS's words says the
    action rolls back itself once the update ends."""
    run = lab.start("unpublished", image=image(2), smoke_test_input=SMOKE_INPUT, alarms=ERRORS, bake_seconds="10")
    the_plan = lab.planned(run)
    cloudwatch = run.rollout.clients.cloudwatch

    def refuse(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not allowed: cloudwatch:PutMetricData"}}, "PutMetricData"
        )

    cloudwatch.meta.events.register("before-call.cloudwatch.PutMetricData", refuse)
    try:
        _, watchers = run.rollout._smoke_route(the_plan)
        [watcher] = watchers
        assert isinstance(watcher, SmokeWatcher)
        watcher.tripped(failed(run))
    finally:
        cloudwatch.meta.events.unregister("before-call.cloudwatch.PutMetricData", refuse)
    assert (
        "::warning::Could not publish the failed smoke test (AccessDenied: not allowed: cloudwatch:PutMetricData); "
        "the action rolls back itself once the update ends."
    ) in run.lines
