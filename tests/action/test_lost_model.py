"""A model deployed with model-name whose predecessor was deleted before the rollout (Terraform replacing its
model for a new image): the real action warns before the update, and after a rollback says that the config left
serving cannot launch another instance."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from sagemaker_emulator import Emulator

from ..action_runner import ROLE, ActionRun, digest_image
from .test_scenarios import Deployer

WARNING_TITLE = "::warning title=A rollback would not scale::"
VERDICT_TITLE = "::warning title=The endpoint cannot scale::"


def _terraform_model(deployer: Deployer, name: str, n: int) -> None:
    deployer.sm.create_model(ModelName=name, PrimaryContainer={"Image": digest_image(n)}, ExecutionRoleArn=ROLE)


def _deploy(deployer: Deployer, name: str, n: int) -> ActionRun:
    return deployer.run({"model-name": name, "image": digest_image(n), "execution-role-arn": ""})


@pytest.fixture
def replaced(emulator: Emulator, tmp_path: Path) -> Deployer:
    """An endpoint serving Terraform's model whisper-1; then, as Terraform replaces a model, whisper-1 is deleted
    and whisper-2 made from the next image."""
    deployer = Deployer(emulator, tmp_path)
    _terraform_model(deployer, "whisper-1", 1)
    first = _deploy(deployer, "whisper-1", 1)
    assert first.result == "created", first.stdout + first.stderr
    deployer.sm.delete_model(ModelName="whisper-1")
    _terraform_model(deployer, "whisper-2", 2)
    return deployer


def test_a_rollback_onto_a_deleted_model_is_warned_before_and_told_after(replaced: Deployer) -> None:
    """The plan warns that a rollback would land on a config whose model is gone; after the rollback the log and
    the summary say that the endpoint cannot scale and how to get out of it."""
    serving = replaced.endpoint()["EndpointConfigName"]
    replaced.emu.faults.rollback_next_update()
    run = _deploy(replaced, "whisper-2", 2)
    assert (run.exit_code, run.result) == (1, "rolled-back"), run.stdout + run.stderr
    warned = [line for line in run.lines if line.startswith(WARNING_TITLE)]
    assert len(warned) == 1 and f"config {serving} names model whisper-1" in warned[0]
    told = [line for line in run.lines if line.startswith(VERDICT_TITLE)]
    assert len(told) == 1 and "create the model again under the name whisper-1" in told[0]
    # The warning comes before any write, the verdict's note after the rollback.
    assert run.lines.index(warned[0]) < run.lines.index(told[0])
    assert "**Cannot scale:**" in run.summary and "whisper-1" in run.summary
    assert replaced.endpoint()["EndpointConfigName"] == serving


@pytest.mark.parametrize("end_status", ["InService", "Failed"])
def test_a_failed_update_that_leaves_the_deleted_models_config_serving_is_told_too(
    replaced: Deployer, end_status: Literal["InService", "Failed"]
) -> None:
    """A new fleet that fails before taking traffic leaves the old config serving, InService or Failed (the
    emulator's two ends of a failed UpdateEndpoint): the verdict is failed, and it says the endpoint cannot scale."""
    serving = replaced.endpoint()["EndpointConfigName"]
    replaced.emu.faults.fail_next_update("the new fleet did not pass its health check", end_status=end_status)
    run = _deploy(replaced, "whisper-2", 2)
    assert (run.exit_code, run.result) == (1, "failed"), run.stdout + run.stderr
    told = [line for line in run.lines if line.startswith(VERDICT_TITLE)]
    assert len(told) == 1 and f"{serving}" in told[0] and "whisper-1" in told[0], run.stdout
    assert "**Cannot scale:**" in run.summary and "whisper-1" in run.summary
    assert replaced.endpoint()["EndpointConfigName"] == serving


def test_a_plan_of_such_an_update_warns_the_reviewer(replaced: Deployer) -> None:
    """mode: plan reads the serving model too: the pull request's plan warns before anyone merges the update."""
    serving = replaced.endpoint()["EndpointConfigName"]
    run = replaced.run({"model-name": "whisper-2", "image": digest_image(2), "execution-role-arn": "", "mode": "plan"})
    assert (run.exit_code, run.result) == (0, "would-update"), run.stdout + run.stderr
    warned = [line for line in run.lines if line.startswith(WARNING_TITLE)]
    assert len(warned) == 1 and f"config {serving} names model whisper-1" in warned[0]
    assert "whisper\\-1, which no longer exists" in run.summary
    assert [r.operation for r in replaced.emu.requests if r.is_write] == []


def test_a_successful_update_away_from_a_deleted_model_only_warns(replaced: Deployer) -> None:
    """An update that succeeds leaves the lost model behind: the warning was right to be given, no note follows."""
    run = _deploy(replaced, "whisper-2", 2)
    assert (run.exit_code, run.result) == (0, "updated"), run.stdout + run.stderr
    assert [line for line in run.lines if line.startswith(WARNING_TITLE)]
    assert not [line for line in run.lines if line.startswith(VERDICT_TITLE)]
    assert "Cannot scale" not in run.summary
    assert "whisper\\-1, which no longer exists" in run.summary  # among the summary's warnings (Markdown-escaped)


def test_an_existing_serving_model_is_read_once_and_not_warned_of(emulator: Emulator, tmp_path: Path) -> None:
    """With the serving model still there no warning is given; finding that out costs one DescribeModel of it
    before the update."""
    deployer = Deployer(emulator, tmp_path)
    _terraform_model(deployer, "whisper-1", 1)
    assert _deploy(deployer, "whisper-1", 1).result == "created"
    _terraform_model(deployer, "whisper-2", 2)
    run = _deploy(deployer, "whisper-2", 2)
    assert (run.exit_code, run.result) == (0, "updated"), run.stdout + run.stderr
    assert not [line for line in run.lines if "would not scale" in line or "cannot scale" in line]
    operations = [(r.operation, r.params.get("ModelName")) for r in emulator.requests]
    before_update = operations[: operations.index(("UpdateEndpoint", None))]
    assert before_update.count(("DescribeModel", "whisper-1")) == 1


def test_a_rerun_with_nothing_to_change_does_not_read_the_serving_model(replaced: Deployer) -> None:
    """The no-change path stays as cheap as before: no DescribeModel of the serving model, no warning."""
    assert _deploy(replaced, "whisper-2", 2).result == "updated"
    run = _deploy(replaced, "whisper-2", 2)
    assert (run.exit_code, run.result) == (0, "unchanged"), run.stdout + run.stderr
    assert [r for r in replaced.emu.requests if r.operation == "DescribeModel"] == []
    assert not [line for line in run.lines if line.startswith(WARNING_TITLE)]
