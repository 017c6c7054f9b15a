"""A cancelled job (the runner's SIGINT, then SIGTERM): the action stops within seconds, leaves outputs, a job
summary and a PR comment that say so, deletes nothing, and the next run adopts what SageMaker went on with."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagemaker_async_deploy.config import INPUT_DEFAULTS
from sagemaker_emulator import Emulator

from ..action_runner import ActionRun, action_env, answered, digest_image, finish, start_action, wait_for_call
from ..github_server import WORKFLOW_TOKEN, GitHubServer
from ..report_html import parse
from .test_autoscaling import RESOURCE, _alarm, _policy_arn, _record_tags, _seed_scale_from_zero, _settings
from .test_scenarios import Deployer

REPO = "acme/models"
SHA = "a" * 40
DELETIONS = ("DeleteEndpoint", "DeleteEndpointConfig", "DeleteModel", "DeregisterScalableTarget", "DeleteScalingPolicy")
# The interval users poll at (the input's default, 5 s): a signal right after a poll finds the run at the start of
# a 5 s sleep, so a report within 5 s shows that the signal interrupts the sleep instead of waiting it out.
USERS_POLL = {"poll-interval-seconds": INPUT_DEFAULTS["poll-interval-seconds"]}


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        yield server


def _comment_env(github: GitHubServer, number: int) -> dict[str, Any]:
    github.add_pull(REPO, number, head_sha=SHA)
    return {
        "event_name": "pull_request",
        "event": {"number": number, "pull_request": {"number": number, "head": {"sha": SHA}}},
        "extra": {"GITHUB_API_URL": github.api_url, "GITHUB_SERVER_URL": github.server_url},
    }


def _signal(process: subprocess.Popen[str], env: dict[str, str], signum: int) -> tuple[ActionRun, float]:
    """Send ``signum``; the finished run and the seconds from the signal to the exit."""
    sent = time.time()
    process.send_signal(signum)
    run = finish(process, env, timeout=30)
    return run, time.time() - sent


def _in_wait(emu: Emulator) -> None:
    """Until the action polls the endpoint after its UpdateEndpoint: it is waiting for the rollout, and sleeps
    until its next poll."""
    wait_for_call(emu, "UpdateEndpoint")
    polls = answered(emu, "DescribeEndpoint")
    wait_for_call(emu, "DescribeEndpoint", after=polls)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cancel_during_the_wait_reports_within_five_seconds_and_the_rerun_adopts(
    emulator: Emulator, github: GitHubServer, tmp_path: Path, signum: int
) -> None:
    """SIGINT or SIGTERM while waiting, polling every 5 s: a non-zero exit within 5 s with outputs, a summary and
    a PR comment that say cancelled and that SageMaker goes on; nothing deleted; the next run adopts the rollout
    and cleans up."""
    comment = _comment_env(github, 7)
    deployer = Deployer(emulator, tmp_path)
    first = deployer.run({"comment": "true", "github-token": WORKFLOW_TOKEN}, **comment)
    assert first.result == "created", first.stdout + first.stderr
    emulator.clear_requests()
    emulator.faults.hold_next_update("whisper")
    env = action_env(
        emulator,
        tmp_path / "cancelled",
        {"image": digest_image(2), "comment": "true", "github-token": WORKFLOW_TOKEN, **USERS_POLL},
        **comment,
    )
    process = start_action(env)
    _in_wait(emulator)
    signalled = len(emulator.requests)

    run, seconds = _signal(process, env, signum)
    assert seconds < 5, f"took {seconds:.1f} s"
    assert run.exit_code != 0
    assert "Traceback" not in run.stderr
    assert run.result == "failed"
    assert run.outputs["endpoint-config-name"] == first.outputs["endpoint-config-name"]  # what still serves
    assert run.outputs["previous-endpoint-config-name"] == first.outputs["endpoint-config-name"]
    assert run.outputs["comment-url"]
    summary = parse(run.summary)
    assert summary.headings[0] == "⏹️ SageMaker endpoint whisper: cancelled"
    assert "The endpoint is still Updating" in summary.text and "adopts it" in summary.text
    [body] = [c["body"] for c in github.comments(REPO, 7)]
    assert "cancelled" in parse(body).headings[0] and "adopts it" in parse(body).text
    assert not [r.operation for r in emulator.requests[signalled:] if r.operation in DELETIONS]
    assert deployer.endpoint()["EndpointStatus"] == "Updating"

    rerun = deployer.run_waiting({"image": digest_image(2)})  # finds the held update in flight
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    assert rerun.result == "updated"
    assert "Completed the rollout an earlier run started" in rerun.stdout
    serving = deployer.endpoint()["EndpointConfigName"]
    assert serving != first.outputs["endpoint-config-name"]
    assert deployer.configs() == {serving}


def test_cancel_while_an_autoscaled_variant_updates_leaves_the_record_for_the_next_run(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Cancelled during an instance-type change: autoscaling is not registered mid-update, the record stays and
    the summary says so; the next run restores the target, its policy and the alarm's new ARN."""
    deployer = Deployer(emulator, tmp_path)
    deployer.run()
    autoscaling, cloudwatch, _ = _seed_scale_from_zero(emulator)
    settings_before = _settings(autoscaling)
    alarm_before = _alarm(cloudwatch, "HasBacklogWithoutCapacity")
    emulator.faults.hold_next_update("whisper")
    env = action_env(emulator, tmp_path / "cancelled", {"instance-type": "ml.g5.xlarge", **USERS_POLL})
    process = start_action(env)
    _in_wait(emulator)

    run, seconds = _signal(process, env, signal.SIGINT)
    assert seconds < 5, f"took {seconds:.1f} s"
    assert run.exit_code != 0
    assert (
        autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RESOURCE])["ScalableTargets"]
        == []
    )
    assert _record_tags(deployer)
    assert "restores it once it settled" in parse(run.summary).text

    rerun = deployer.run_waiting({"instance-type": "ml.g5.xlarge"})  # finds the held update in flight
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    assert _settings(autoscaling) == settings_before
    new_arn = _policy_arn(autoscaling, "scale-out-from-zero")
    assert _alarm(cloudwatch, "HasBacklogWithoutCapacity") == {**alarm_before, "AlarmActions": [new_arn]}
    assert _record_tags(deployer) == []


def test_cancel_before_the_update_keeps_autoscaling_and_starts_nothing(emulator: Emulator, tmp_path: Path) -> None:
    """A signal while autoscaling is being recorded: no update is started, the variant keeps (or gets back at
    once) its autoscaling, and the record is removed — the endpoint does not change, so that is safe now."""
    deployer = Deployer(emulator, tmp_path)
    first = deployer.run()
    autoscaling, cloudwatch, _ = _seed_scale_from_zero(emulator)
    settings_before = _settings(autoscaling)
    emulator.clear_requests()
    env = action_env(emulator, tmp_path / "cancelled", {"instance-type": "ml.g5.xlarge"})
    process = start_action(env)
    wait_for_call(emulator, "DescribeScalableTargets", service="application-autoscaling")

    run, seconds = _signal(process, env, signal.SIGINT)
    assert seconds < 5, f"took {seconds:.1f} s"
    assert run.exit_code != 0
    assert run.result == "failed"
    assert "UpdateEndpoint" not in emulator.operations()
    assert _settings(autoscaling) == settings_before
    alarm = _alarm(cloudwatch, "HasBacklogWithoutCapacity")
    assert alarm["AlarmActions"] == [_policy_arn(autoscaling, "scale-out-from-zero")]
    assert _record_tags(deployer) == []
    assert "nothing is in progress" in parse(run.summary).text
    endpoint = deployer.endpoint()
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == (
        "InService",
        first.outputs["endpoint-config-name"],
    )
