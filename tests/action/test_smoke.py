"""The smoke test, run by the real action against the emulator: one request to the new model once it takes all
the traffic, its answer read from S3, and what a failure does (a rollback of an update, a failed create that
keeps the endpoint), asserted on outputs, the summary, the endpoint and the emulator's request log."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagemaker_async_deploy.smoke import ALARM_PERIOD
from sagemaker_emulator import Emulator, Timings

from ..action_runner import ActionRun, action_env, digest_image, finish, kill_when, run_action, start_action
from ..conftest import boto_client
from ..seed import seed_alarm
from .test_scenarios import Deployer

BUCKET = "inference-bucket"
SMOKE = {
    "failure-path": f"s3://{BUCKET}/whisper/failed/",
    "smoke-test-input": "smoke/request.json",
    "smoke-test-timeout-seconds": "5",
}


class SmokeDeployer(Deployer):
    """A Deployer whose runs have a workspace holding the smoke test's request, and a bucket for the answers."""

    def __init__(self, emu: Emulator, tmp_path: Path) -> None:
        super().__init__(emu, tmp_path)
        self.workspace = tmp_path / "workspace"
        (self.workspace / "smoke").mkdir(parents=True)
        (self.workspace / "smoke" / "request.json").write_text('{"audio": "s3://samples/hello.wav"}')
        boto_client(emu, "s3").create_bucket(Bucket=BUCKET)

    def run(self, inputs: dict[str, str] | None = None, **kwargs: Any) -> ActionRun:
        extra = {"GITHUB_WORKSPACE": str(self.workspace), **kwargs.pop("extra", {})}
        return super().run({**SMOKE, **(inputs or {})}, extra=extra, **kwargs)

    def s3_keys(self) -> set[str]:
        listed = boto_client(self.emu, "s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])
        return {item["Key"] for item in listed}


@pytest.fixture
def smoke(emulator: Emulator, tmp_path: Path) -> SmokeDeployer:
    return SmokeDeployer(emulator, tmp_path)


def _plain(markdown: str) -> str:
    """The summary without Markdown's backslash escapes, as a reader sees its text."""
    return markdown.replace("\\", "")


def _invocations(run_emu: Emulator) -> list[dict[str, Any]]:
    return [r.params for r in run_emu.requests if r.operation == "InvokeEndpointAsync"]


def test_passing_smoke_test_on_create_reports_passed(smoke: SmokeDeployer) -> None:
    """A create sends one inline request once InService and reports the smoke test passed, with its answer."""
    run = smoke.run()
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "created"
    assert run.outputs["smoke-test"] == "passed"
    [sent] = _invocations(smoke.emu)
    assert sent["EndpointName"] == "whisper"
    assert sent["ContentType"] == "application/json"
    assert sent["BodyBytes"] == len('{"audio": "s3://samples/hello.wav"}')
    assert any(key.startswith("whisper/out/") for key in smoke.s3_keys())
    assert "Smoke test passed" in run.summary
    assert digest_image(1) in run.summary  # the healthy model's answer names its image: the response is shown


def test_passing_smoke_test_on_update_then_deletes_the_previous_config(smoke: SmokeDeployer) -> None:
    """An update's smoke test goes to the new model; only once it passed is the replaced config deleted."""
    first = smoke.run()
    run = smoke.run({"image": digest_image(2), "smoke-test-expect": r'"image": "[^"]+@sha256:0+2"'})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "updated"
    assert run.outputs["smoke-test"] == "passed"
    operations = [r.operation for r in smoke.emu.requests]
    assert operations.index("InvokeEndpointAsync") < operations.index("DeleteEndpointConfig")
    assert first.outputs["endpoint-config-name"] not in smoke.configs()


def test_failure_object_on_update_rolls_back_to_the_previous_config(smoke: SmokeDeployer) -> None:
    """A new model that answers with a failure object is rolled back by the action; the old config serves again,
    nothing of it was deleted, and the cause is in the outputs, the log and the summary."""
    first = smoke.run()
    smoke.emu.faults.async_answers("failure", image=digest_image(2), body="CUDA error: out of memory\nmore")
    run = smoke.run({"image": digest_image(2)})
    assert run.exit_code == 1
    assert run.result == "rolled-back"
    assert run.outputs["smoke-test"] == "failed"
    assert run.outputs["endpoint-config-name"] == first.outputs["endpoint-config-name"]
    assert run.outputs["image"] == digest_image(1)
    endpoint = smoke.endpoint()
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == first.outputs["endpoint-config-name"]
    assert smoke.configs() == {first.outputs["endpoint-config-name"]}
    assert smoke.models() == {first.outputs["model-name"]}
    deleted = [r.params for r in smoke.emu.requests if r.operation.startswith("Delete")]
    assert first.outputs["endpoint-config-name"] not in json.dumps(deleted)
    assert first.outputs["model-name"] not in json.dumps(deleted)
    updates = [r.params for r in smoke.emu.requests if r.operation == "UpdateEndpoint"]
    assert [u["EndpointConfigName"] for u in updates][-1] == first.outputs["endpoint-config-name"]
    assert "CUDA error: out of memory" in _plain(run.summary)
    assert "Smoke test failed" in run.summary
    assert any("smoke test failed" in line and "CUDA error" in line for line in run.errors())


def test_no_answer_in_time_rolls_back(smoke: SmokeDeployer) -> None:
    """A new model that never answers fails the smoke test after smoke-test-timeout-seconds: rolled back."""
    first = smoke.run()
    smoke.emu.faults.async_answers("never", image=digest_image(2))
    run = smoke.run({"image": digest_image(2), "smoke-test-timeout-seconds": "1"})
    assert run.result == "rolled-back", run.stdout
    assert run.outputs["smoke-test"] == "failed"
    assert smoke.endpoint()["EndpointConfigName"] == first.outputs["endpoint-config-name"]
    assert "answer in 1 s" in _plain(run.summary)
    assert any("no answer in 1 s" in line for line in run.errors())


def test_response_that_does_not_match_expect_rolls_back(smoke: SmokeDeployer) -> None:
    """An output that does not match smoke-test-expect fails the smoke test like a failure object."""
    first = smoke.run()
    smoke.emu.faults.async_answers("output", image=digest_image(2), body='{"label": "dog"}')
    run = smoke.run({"image": digest_image(2), "smoke-test-expect": '"label": "cat"'})
    assert run.result == "rolled-back", run.stdout
    assert smoke.endpoint()["EndpointConfigName"] == first.outputs["endpoint-config-name"]
    assert "does not match smoke-test-expect" in _plain(run.summary)
    assert '{"label": "dog"}' in run.summary


def test_failed_smoke_test_on_create_fails_and_keeps_the_endpoint(smoke: SmokeDeployer) -> None:
    """A create whose smoke test fails ends failed; the endpoint, its config and model are kept; the failure's
    text, a workflow command here, stays inert in the log."""
    smoke.emu.faults.async_answers("failure", body="::set-output name=result::created\nModelError: weights missing")
    run = smoke.run()
    assert run.exit_code == 1
    assert run.result == "failed"
    assert run.outputs["smoke-test"] == "failed"
    endpoint = smoke.endpoint()
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == run.outputs["endpoint-config-name"]
    assert smoke.configs() == {run.outputs["endpoint-config-name"]}
    assert not [r for r in smoke.emu.requests if r.operation.startswith("Delete")]
    assert "ModelError: weights missing" in _plain(run.summary)
    assert not [line for line in run.lines if line.lstrip().startswith("::set-output")]
    assert run.output_file.count("result<<") == 1


def test_s3_input_is_sent_as_input_location(smoke: SmokeDeployer) -> None:
    """An s3:// smoke-test-input is sent as InputLocation, with the content type given."""
    run = smoke.run({"smoke-test-input": f"s3://{BUCKET}/requests/hello.json", "smoke-test-content-type": "text/csv"})
    assert run.result == "created", run.stdout
    [sent] = _invocations(smoke.emu)
    assert sent["InputLocation"] == f"s3://{BUCKET}/requests/hello.json"
    assert sent["ContentType"] == "text/csv"
    assert sent["BodyBytes"] == 0


def test_plan_mode_says_which_smoke_test_would_run_and_sends_nothing(smoke: SmokeDeployer) -> None:
    """Plan mode names the smoke test an apply run would send, and sends none."""
    run = smoke.run({"mode": "plan"})
    assert run.result == "would-create", run.stdout
    assert _invocations(smoke.emu) == []
    assert run.outputs["smoke-test"] == ""
    assert "An apply run would send one request" in run.summary
    assert "smoke/request.json" in _plain(run.summary)
    assert "Smoke test: one request (smoke/request.json, application/json) once the endpoint is InService" in run.stdout


def test_no_smoke_test_input_sends_nothing(emulator: Emulator, tmp_path: Path) -> None:
    """Without smoke-test-input no request is sent and the smoke-test output is empty."""
    run = run_action(emulator, tmp_path)
    assert run.result == "created"
    assert run.outputs["smoke-test"] == ""
    assert _invocations(emulator) == []


def _write(workspace: Path, name: str, data: bytes) -> None:
    (workspace / "smoke" / name).write_bytes(data)


@pytest.mark.parametrize(
    ("inputs", "files", "expected"),
    [
        ({"smoke-test-input": "smoke/missing.json"}, {}, "no file 'smoke/missing.json' in the workspace"),
        ({"smoke-test-input": "smoke/empty.json"}, {"empty.json": b""}, "is empty"),
        (
            {"smoke-test-input": "smoke/large.bin"},
            {"large.bin": b"x" * 128_001},
            "larger than the 128,000 bytes InvokeEndpointAsync takes inline",
        ),
        ({"smoke-test-input": "../outside.json"}, {}, "is outside the workspace"),
        ({"smoke-test-input": "s3://inference-bucket"}, {}, "is not the S3 URI of an object"),
        ({"smoke-test-input": "s3://Bad_Bucket/key.json"}, {}, "is not the S3 URI of an object"),
        ({"smoke-test-expect": "(unclosed"}, {}, "is not a regular expression"),
        ({"smoke-test-timeout-seconds": "0"}, {}, "out of range"),
        ({"smoke-test-content-type": "text/é"}, {}, "not a content type SageMaker takes"),
    ],
    ids=["missing", "empty", "128001-bytes", "outside", "bucket-only", "bad-bucket", "bad-regex", "timeout", "type"],
)
def test_bad_smoke_test_input_is_refused_by_name_before_any_write(
    smoke: SmokeDeployer, inputs: dict[str, str], files: dict[str, bytes], expected: str
) -> None:
    """Each bad smoke-test input is an ::error naming the input and a valid form, and nothing is written."""
    for name, data in files.items():
        _write(smoke.workspace, name, data)
    run = smoke.run(inputs)
    assert run.exit_code == 1
    assert run.result == "failed"
    [name] = inputs
    errors = [line for line in run.errors() if f"title=Invalid input {name}" in line]
    assert errors and expected in errors[0], run.errors()
    assert smoke.emu.write_calls() == []


def test_largest_inline_body_is_sent(smoke: SmokeDeployer) -> None:
    """A file of exactly 128,000 bytes is within the inline limit and is sent whole."""
    _write(smoke.workspace, "large.bin", b"x" * 128_000)
    run = smoke.run({"smoke-test-input": "smoke/large.bin"})
    assert run.result == "created", run.stdout
    [sent] = _invocations(smoke.emu)
    assert sent["BodyBytes"] == 128_000


# --- during the final bake: SageMaker's own rollback, tripped through the action's alarm -----------------------

BAKING = {"alarms": "whisper-5xx", "bake-seconds": "60"}
SMOKE_ALARM = "sagemaker-async-deploy-smoke-whisper"


@pytest.fixture
def baking(tmp_path: Path) -> Iterator[SmokeDeployer]:
    """A SmokeDeployer on an emulator whose bakes last long enough (4 s) for a smoke test to finish inside one on
    a loaded machine, with the user's rollback alarm."""
    with Emulator(timings=Timings(create=0.3, update=10.0, rollback=0.3, delete=0.1)) as emu:
        seed_alarm(emu, "whisper-5xx")
        yield SmokeDeployer(emu, tmp_path)


def _alarm(emu: Emulator) -> dict[str, Any]:
    [alarm] = boto_client(emu, "cloudwatch").describe_alarms(AlarmNames=[SMOKE_ALARM])["MetricAlarms"]
    return dict(alarm)


def test_failure_during_the_bake_is_rolled_back_by_sagemaker_on_the_actions_alarm(baking: SmokeDeployer) -> None:
    """A failure object during the final bake publishes the alarm's metric; SageMaker rolls back (no second
    UpdateEndpoint), the previous config serves, nothing of it is deleted, and the report says why."""
    first = baking.run(BAKING)
    assert first.result == "created", first.stdout
    baking.emu.faults.async_answers("failure", image=digest_image(2), body="RuntimeError: bad weights")
    run = baking.run({**BAKING, "image": digest_image(2)})
    assert run.result == "rolled-back", run.stdout
    assert run.outputs["smoke-test"] == "failed"
    assert run.outputs["endpoint-config-name"] == first.outputs["endpoint-config-name"]
    assert baking.endpoint()["EndpointConfigName"] == first.outputs["endpoint-config-name"]
    assert baking.configs() == {first.outputs["endpoint-config-name"]}
    assert baking.models() == {first.outputs["model-name"]}
    operations = baking.writes()
    assert operations.count("UpdateEndpoint") == 1  # SageMaker rolled back, not the action
    assert "PutMetricData" in operations
    [update] = [r.params for r in baking.emu.requests if r.operation == "UpdateEndpoint"]
    alarms = update["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert {"AlarmName": SMOKE_ALARM} in alarms
    assert _alarm(baking.emu)["StateValue"] == "ALARM"
    text = _plain(run.summary)
    assert "SageMaker rolled the update back on the action's smoke-test alarm" in text
    assert "RuntimeError: bad weights" in text


def test_passing_smoke_test_during_the_bake_is_sent_before_the_update_ends(baking: SmokeDeployer) -> None:
    """A passing smoke test is sent while the new fleet bakes with all the traffic, answered by the new model, and
    the update ends updated; the action's alarm is tagged and watches a 10 s high-resolution metric."""
    baking.run(BAKING)
    run = baking.run({**BAKING, "image": digest_image(2), "smoke-test-expect": "0+2"})
    assert run.result == "updated", run.stdout
    assert run.outputs["smoke-test"] == "passed"
    requests = baking.emu.requests
    sent = next(i for i, r in enumerate(requests) if r.operation == "InvokeEndpointAsync")
    assert "PutMetricData" not in baking.writes()
    # The endpoint was still Updating after the request went out: it was sent during the bake.
    assert any(r.operation == "DescribeEndpoint" for r in requests[sent:])
    assert "Smoke test sent" in run.stdout
    alarm = _alarm(baking.emu)
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["Threshold"]) == (10, 1, 1.0)
    assert alarm["TreatMissingData"] == "notBreaching"
    tags = boto_client(baking.emu, "cloudwatch").list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
    assert {"Key": "managed-by", "Value": "sagemaker-async-deploy"} in tags


@pytest.mark.parametrize("strategy", ["canary", "linear"])
def test_a_canary_or_linear_update_is_smoke_tested_after_its_last_shift(baking: SmokeDeployer, strategy: str) -> None:
    """While a canary's or an earlier linear step's bake leaves part of the traffic on the old fleet, no request is
    sent (the emulator routes it to the old model); once the last shift gave the new fleet all the traffic, the
    request goes out in that final bake and the new model answers it."""
    fleet = {**BAKING, "initial-instance-count": "2"}
    baking.run(fleet)
    # The healthy model's answer names its image: only the new model's matches.
    new_model = r'"image": "[^"]+@sha256:0+2"'
    inputs = {"image": digest_image(2), "deployment-strategy": strategy, "step-size": "1"}
    run = baking.run({**fleet, **inputs, "smoke-test-expect": new_model})
    assert run.result == "updated", run.stdout
    assert run.outputs["smoke-test"] == "passed"
    requests = baking.emu.requests
    sent = next(i for i, r in enumerate(requests) if r.operation == "InvokeEndpointAsync")
    assert any(r.operation == "DescribeEndpoint" for r in requests[sent:])  # in the final bake, not after it


def test_the_actions_alarm_is_reused_reset_and_not_reported_as_a_users_alarm(baking: SmokeDeployer) -> None:
    """Each update puts the same alarm and sets it OK before UpdateEndpoint; a later plan does not count it among
    the user's rollback alarms."""
    baking.run(BAKING)
    baking.emu.faults.async_answers("failure", image=digest_image(2))
    assert baking.run({**BAKING, "image": digest_image(2)}).result == "rolled-back"
    assert _alarm(baking.emu)["StateValue"] == "ALARM"
    # The failure's datapoint leaves the alarm's 10 s period before the next update bakes, as it does in the
    # minutes a real update takes.
    published = next(r.time for r in baking.emu.requests if r.operation == "PutMetricData")
    time.sleep(max(published + ALARM_PERIOD + 1 - time.time(), 0))
    run = baking.run({**BAKING, "image": digest_image(3)})
    assert run.result == "updated", run.stdout
    writes = baking.writes()
    assert writes.index("PutMetricAlarm") < writes.index("SetAlarmState") < writes.index("UpdateEndpoint")
    names = [r.params.get("AlarmName") for r in baking.emu.requests if r.operation == "PutMetricAlarm"]
    assert names == [SMOKE_ALARM]
    plan = baking.run({**BAKING, "image": digest_image(4), "mode": "plan"})
    assert [c["field"] for c in plan.changes] == ["image"]


def test_a_smoke_test_the_bake_ends_before_is_finished_and_rolled_back_by_the_action(baking: SmokeDeployer) -> None:
    """A request sent in the final bake whose answer has not come when the bake (4 s here) ends: SageMaker finishes
    the update, the smoke test waits out its own timeout without sending again, and the action rolls back itself
    (a second, blue/green UpdateEndpoint), keeping what served before and removing what it rolled out."""
    first = baking.run(BAKING)
    assert first.result == "created", first.stdout
    old_config, old_model = first.outputs["endpoint-config-name"], first.outputs["model-name"]
    baking.emu.faults.async_answers("never", image=digest_image(2))
    run = baking.run({**BAKING, "image": digest_image(2), "smoke-test-timeout-seconds": "8"})
    assert run.result == "rolled-back", run.stdout
    assert run.outputs["smoke-test"] == "failed"
    updates = [r.params for r in baking.emu.requests if r.operation == "UpdateEndpoint"]
    assert [u["EndpointConfigName"] for u in updates][1:] == [old_config]
    # Sent while the new fleet baked, before the update ended; looked for after it, not sent again.
    new_config = updates[0]["EndpointConfigName"]
    assert run.stdout.index("Smoke test sent") < run.stdout.index(f"is InService on {new_config}")
    assert len(_invocations(baking.emu)) == 1
    assert "PutMetricData" not in baking.writes()  # no failure while the bake lasted: the alarm had nothing to trip on
    assert updates[-1]["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == (
        "ALL_AT_ONCE"
    )
    assert baking.endpoint()["EndpointConfigName"] == old_config
    assert baking.configs() == {old_config}
    assert baking.models() == {old_model}
    text = _plain(run.summary)
    assert "failed, so the action rolled the endpoint back" in text
    assert "No answer in 8 s" in text
    assert "SageMaker rolled the update back on the action's smoke-test alarm" not in text


def test_plan_warns_when_the_smoke_test_outlasts_the_bake(baking: SmokeDeployer) -> None:
    """A smoke-test timeout longer than the final bake is a plan warning that the action's own rollback applies."""
    baking.run(BAKING)
    run = baking.run({**BAKING, "image": digest_image(2), "mode": "plan", "smoke-test-timeout-seconds": "600"})
    assert run.result == "would-update"
    assert "does not fit in the final bake" in _plain(run.summary)


def test_refused_rollback_fails_and_keeps_both_configs(smoke: SmokeDeployer) -> None:
    """When SageMaker refuses the action's rollback after a failed smoke test, the run fails, keeps both configs and
    says how to go back by hand."""
    first = smoke.run()
    smoke.emu.faults.async_answers("never", image=digest_image(2))
    smoke.emu.clear_requests()
    inputs = {**SMOKE, "image": digest_image(2), "smoke-test-timeout-seconds": "2"}
    env = action_env(smoke.emu, smoke.tmp_path / "refused", inputs, extra={"GITHUB_WORKSPACE": str(smoke.workspace)})
    process = start_action(env)
    deadline = time.time() + 60
    while "InvokeEndpointAsync" not in smoke.emu.operations("sagemaker"):  # answered 202, once the update is over
        assert time.time() < deadline, "the action never sent its smoke test"
        time.sleep(0.02)
    smoke.emu.faults.deny("UpdateEndpoint")  # the update is over; the rollback comes after the smoke test's 2 s
    run = finish(process, env)
    assert run.result == "failed", run.stdout
    assert run.outputs["smoke-test"] == "failed"
    assert first.outputs["endpoint-config-name"] in smoke.configs()
    assert len(smoke.configs()) == 2
    assert any("aws sagemaker update-endpoint --endpoint-name whisper" in line for line in run.errors())


def test_run_that_adopts_an_interrupted_rollout_smoke_tests_it_before_deleting_anything(smoke: SmokeDeployer) -> None:
    """A run killed mid-wait left its update to finish; the next run smoke-tests what it finds serving before it
    deletes what that update replaced, and rolls a failing model back."""
    first = smoke.run()
    smoke.emu.clear_requests()
    smoke.emu.faults.hold_next_update("whisper")
    extra = {"GITHUB_WORKSPACE": str(smoke.workspace)}
    crashed = action_env(smoke.emu, smoke.tmp_path / "crashed", {**SMOKE, "image": digest_image(2)}, extra=extra)
    kill_when(start_action(crashed), smoke.emu, "UpdateEndpoint")
    smoke.emu.faults.async_answers("failure", image=digest_image(2), body="ValueError: shapes")
    run = smoke.run_waiting({**SMOKE, "image": digest_image(2)}, extra=extra)
    assert "Completed the rollout an earlier run started" in run.stdout
    assert run.result == "rolled-back", run.stdout
    assert run.outputs["smoke-test"] == "failed"
    assert smoke.endpoint()["EndpointConfigName"] == first.outputs["endpoint-config-name"]
    assert smoke.configs() == {first.outputs["endpoint-config-name"]}
    assert smoke.models() == {first.outputs["model-name"]}
