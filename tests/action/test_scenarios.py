"""The real action against the emulator: every lifecycle path issue by issue, asserted on outputs, exit
status, the endpoint's final state and the emulator's request log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sagemaker_emulator import Emulator, Timings

from ..action_runner import ROLE, ActionRun, action_env, digest_image, finish, run_action, waiting_run
from ..conftest import boto_client
from ..seed import seed_alarm

# What serves, and the endpoint's tags: an autoscaling record an interrupted run may have left there.
SAGEMAKER_READS = ("DescribeEndpoint", "DescribeEndpointConfig", "DescribeModel", "ListTags")


class Deployer:
    """Runs the action repeatedly against one emulator, each run in its own folder."""

    def __init__(self, emu: Emulator, tmp_path: Path) -> None:
        self.emu = emu
        self.tmp_path = tmp_path
        self.count = 0
        self.sm = boto_client(emu, "sagemaker")

    def run(self, inputs: dict[str, str] | None = None, **kwargs: Any) -> ActionRun:
        self.count += 1
        self.emu.clear_requests()
        return run_action(self.emu, self.tmp_path / f"run{self.count}", inputs, **kwargs)

    def run_waiting(self, inputs: dict[str, str] | None = None, **kwargs: Any) -> ActionRun:
        """``run`` while the test holds the endpoint Updating: the hold is released once the run has read the
        endpoint, so the run always finds that update in flight (see action_runner.waiting_run)."""
        self.count += 1
        self.emu.clear_requests()
        env = action_env(self.emu, self.tmp_path / f"run{self.count}", inputs or {}, **kwargs)
        return finish(waiting_run(self.emu, env), env)

    def run_after_crash(self, inputs: dict[str, str] | None = None, **kwargs: Any) -> ActionRun:
        """The run after one killed while ``hold_next_update`` was armed for it: if that run got as far as its
        UpdateEndpoint, the update is held and this run finds it in flight (``run_waiting``); if not, the hold
        still armed is dropped so that this run's own update runs."""
        if "UpdateEndpoint" in self.emu.operations("sagemaker"):
            return self.run_waiting(inputs, **kwargs)
        self.emu.faults.clear()
        return self.run(inputs, **kwargs)

    def endpoint(self, name: str = "whisper") -> dict[str, Any]:
        return dict(self.sm.describe_endpoint(EndpointName=name))

    def configs(self) -> set[str]:
        return {c["EndpointConfigName"] for c in self.sm.list_endpoint_configs()["EndpointConfigs"]}

    def models(self) -> set[str]:
        return {m["ModelName"] for m in self.sm.list_models()["Models"]}

    def writes(self) -> list[str]:
        return [r.operation for r in self.emu.write_calls()]


@pytest.fixture
def deployer(emulator: Emulator, tmp_path: Path) -> Deployer:
    return Deployer(emulator, tmp_path)


def test_first_deploy_creates_model_config_and_endpoint(deployer: Deployer) -> None:
    """A missing endpoint is created and the outputs name what now serves."""
    run = deployer.run()
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "created"
    endpoint = deployer.endpoint()
    assert endpoint["EndpointStatus"] == "InService"
    assert run.outputs["endpoint-config-name"] == endpoint["EndpointConfigName"]
    assert run.outputs["endpoint-arn"] == endpoint["EndpointArn"]
    assert run.outputs["image"] == digest_image(1)
    assert run.outputs["previous-image"] == ""
    assert run.outputs["previous-endpoint-config-name"] == ""
    assert deployer.writes() == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
    config = deployer.sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    assert config["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"] == "s3://inference-bucket/whisper/out/"
    assert config["AsyncInferenceConfig"]["ClientConfig"]["MaxConcurrentInvocationsPerInstance"] == 1
    model = deployer.sm.describe_model(ModelName=run.outputs["model-name"])
    assert model["PrimaryContainer"]["Image"] == digest_image(1)
    assert model["ExecutionRoleArn"] == ROLE
    tags = deployer.sm.list_tags(ResourceArn=model["ModelArn"])["Tags"]
    assert {"Key": "managed-by", "Value": "sagemaker-async-deploy"} in tags


def test_unchanged_rerun_makes_no_write_call(deployer: Deployer) -> None:
    """Running again with the same inputs reads at most four SageMaker calls and writes nothing."""
    assert deployer.run().result == "created"
    run = deployer.run()
    assert run.exit_code == 0
    assert run.result == "unchanged"
    assert json.loads(run.outputs["changes"]) == []
    assert deployer.emu.write_calls() == []
    assert set(deployer.emu.operations()) <= set(SAGEMAKER_READS)
    assert len(deployer.emu.operations("sagemaker")) <= 4


def test_new_image_updates_blue_green_and_deletes_the_replaced_config(deployer: Deployer) -> None:
    """A new digest creates a new model and config, updates the endpoint, then removes what it replaced."""
    first = deployer.run()
    run = deployer.run({"image": digest_image(2), "alarms": "", "bake-seconds": "120"})
    assert run.exit_code == 0, run.stdout
    assert run.result == "updated"
    assert run.outputs["previous-endpoint-config-name"] == first.outputs["endpoint-config-name"]
    assert run.outputs["previous-image"] == digest_image(1)
    assert run.outputs["image"] == digest_image(2)
    assert [c["field"] for c in run.changes] == ["image"]
    endpoint = deployer.endpoint()
    assert endpoint["EndpointConfigName"] == run.outputs["endpoint-config-name"]
    assert deployer.configs() == {run.outputs["endpoint-config-name"]}
    assert deployer.models() == {run.outputs["model-name"]}
    update = next(r for r in deployer.emu.requests if r.operation == "UpdateEndpoint")
    assert update.params["RetainAllVariantProperties"] is True
    policy = update.params["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert policy == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}  # no alarms: nothing to bake against


def test_update_sends_alarms_and_bake_for_auto_rollback(deployer: Deployer) -> None:
    """Alarms become the AutoRollbackConfiguration and bake-seconds the blue/green wait interval."""
    for name in ("whisper-5xx", "whisper-latency"):
        seed_alarm(deployer.emu, name)
    deployer.run()
    run = deployer.run({"image": digest_image(2), "alarms": "whisper-5xx,\nwhisper-latency", "bake-seconds": "600"})
    assert run.result == "updated", run.stdout
    update = next(r for r in deployer.emu.requests if r.operation == "UpdateEndpoint")
    deployment = update.params["DeploymentConfig"]
    assert deployment["AutoRollbackConfiguration"] == {
        "Alarms": [{"AlarmName": "whisper-5xx"}, {"AlarmName": "whisper-latency"}]
    }
    assert deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["WaitIntervalInSeconds"] == 600


def test_rollback_is_reported_as_failure_and_keeps_the_serving_config(deployer: Deployer) -> None:
    """An alarm rollback exits non-zero, keeps the old config serving and removes the new one."""
    first = deployer.run()
    old_config = first.outputs["endpoint-config-name"]
    deployer.emu.faults.rollback_next_update()
    run = deployer.run({"image": digest_image(2)})
    assert run.exit_code != 0
    assert run.result == "rolled-back"
    assert run.outputs["endpoint-config-name"] == old_config
    assert run.outputs["image"] == digest_image(1)
    assert run.outputs["model-name"] == first.outputs["model-name"]
    endpoint = deployer.endpoint()
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == old_config
    assert deployer.configs() == {old_config}
    assert deployer.models() == {first.outputs["model-name"]}
    assert any(line.startswith("::error title=") and "rolled-back::" in line for line in run.lines)
    assert "DeleteEndpointConfig" in deployer.writes()
    deleted = [r.params["EndpointConfigName"] for r in deployer.emu.requests if r.operation == "DeleteEndpointConfig"]
    assert old_config not in deleted


def test_failed_update_with_reason_keeps_what_serves(deployer: Deployer) -> None:
    """An update that fails before traffic moves is 'failed', names the reason and deletes nothing serving."""
    first = deployer.run()
    deployer.emu.faults.fail_next_update("CannotStartContainerError: the container exited with code 1")
    run = deployer.run({"image": digest_image(2)})
    assert run.exit_code != 0
    assert run.result == "failed"
    assert any("CannotStartContainerError" in line for line in run.errors())
    assert deployer.endpoint()["EndpointConfigName"] == first.outputs["endpoint-config-name"]
    assert first.outputs["endpoint-config-name"] in deployer.configs()
    assert first.outputs["model-name"] in deployer.models()


def test_failed_endpoint_deletes_nothing(deployer: Deployer) -> None:
    """An update ending Failed leaves every config and model in place for the investigation."""
    deployer.run()
    deployer.emu.faults.fail_next_update("InternalFailure", end_status="Failed")
    run = deployer.run({"image": digest_image(2)})
    assert run.exit_code != 0
    assert run.result == "failed"
    assert not [op for op in deployer.writes() if op.startswith("Delete")]
    assert len(deployer.configs()) == 2


def test_update_rollback_failed_is_terminal(deployer: Deployer) -> None:
    """UpdateRollbackFailed stops the wait at once (the boto3 waiter would poll until it gives up)."""
    deployer.run()
    deployer.emu.faults.update_rollback_failed_next("rollback could not restore the old fleet")
    run = deployer.run({"image": digest_image(2)})
    assert run.exit_code != 0
    assert run.result == "failed"
    assert "UpdateRollbackFailed" in run.stdout
    assert not [op for op in deployer.writes() if op.startswith("Delete")]


def test_failed_create_is_reported(deployer: Deployer) -> None:
    """A create that ends Failed exits non-zero with the FailureReason in the annotation."""
    deployer.emu.faults.fail_next_create("ResourceLimitExceeded: no ml.g4dn.xlarge capacity")
    run = deployer.run()
    assert run.exit_code != 0
    assert run.result == "failed"
    assert any("ResourceLimitExceeded" in line for line in run.errors())


def test_busy_endpoint_is_waited_for_then_planned_again(deployer: Deployer) -> None:
    """An endpoint busy with someone else's update is waited out before the plan, then updated."""
    deployer.run()
    # Held from its start and released once the run has read the endpoint: it finds the update in flight.
    deployer.emu.faults.busy("whisper", 0.3, held=True)
    run = deployer.run_waiting({"image": digest_image(2)})
    assert run.exit_code == 0, run.stdout
    assert run.result == "updated"
    assert "waiting for it to settle" in run.stdout
    assert deployer.endpoint()["EndpointConfigName"] == run.outputs["endpoint-config-name"]


def test_throttled_requests_are_retried(deployer: Deployer) -> None:
    """ThrottlingException answers are retried by boto3's standard retry mode."""
    deployer.emu.faults.throttle(3)
    run = deployer.run()
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "created"


def test_scaled_to_zero_with_the_same_image_is_unchanged(deployer: Deployer) -> None:
    """An async endpoint at zero instances (no DeployedImages) is not redeployed for nothing."""
    deployer.run()
    deployer.emu.faults.scale_to_zero("whisper")
    run = deployer.run()
    assert run.result == "unchanged", run.stdout
    assert deployer.emu.write_calls() == []


def test_scaled_to_zero_with_a_new_image_is_updated(deployer: Deployer) -> None:
    """At zero instances the image is read from the model, so a new digest is still an update."""
    deployer.run()
    deployer.emu.faults.scale_to_zero("whisper")
    run = deployer.run({"image": digest_image(2)})
    assert run.result == "updated", run.stdout
    assert [c["field"] for c in run.changes] == ["image"]


def test_instance_type_change_alone_updates_and_keeps_the_model(deployer: Deployer) -> None:
    """Changing only the instance type makes a new config on the same model and keeps that model."""
    first = deployer.run()
    run = deployer.run({"instance-type": "ml.g5.xlarge"})
    assert run.result == "updated", run.stdout
    assert run.changes == [{"field": "instance-type", "from": "ml.g4dn.xlarge", "to": "ml.g5.xlarge"}]
    assert run.outputs["model-name"] == first.outputs["model-name"]
    assert "CreateModel" not in deployer.writes()
    assert deployer.models() == {first.outputs["model-name"]}


def test_existing_model_name_is_deployed_without_creating_a_model(deployer: Deployer) -> None:
    """With model-name the action deploys that model and never calls CreateModel."""
    deployer.sm.create_model(
        ModelName="terraform-whisper",
        PrimaryContainer={"Image": digest_image(7)},
        ExecutionRoleArn=ROLE,
    )
    run = deployer.run({"model-name": "terraform-whisper", "image": digest_image(7), "execution-role-arn": ""})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "created"
    assert run.outputs["model-name"] == "terraform-whisper"
    assert "CreateModel" not in deployer.writes()


def test_plan_mode_reports_without_writing(deployer: Deployer) -> None:
    """mode: plan gives would-create / would-update with the changes, and makes no write call."""
    run = deployer.run({"mode": "plan"})
    assert run.exit_code == 0
    assert run.result == "would-create"
    assert deployer.emu.write_calls() == []
    deployer.run()
    run = deployer.run({"mode": "plan", "image": digest_image(3)})
    assert run.result == "would-update"
    assert run.changes == [{"field": "image", "from": digest_image(1), "to": digest_image(3)}]
    assert run.outputs["image"] == digest_image(3)  # the contract: the desired image in plan mode
    assert run.outputs["previous-image"] == digest_image(1)
    assert deployer.emu.write_calls() == []


def test_timeout_deletes_nothing_and_says_so(tmp_path: Path) -> None:
    """When the wait outlasts deployment-timeout-minutes the run fails and deletes nothing."""
    with Emulator(timings=Timings(create=0.2, update=0.2)) as emu:
        deployer = Deployer(emu, tmp_path)
        deployer.run()
        emu.faults.hold_next_update("whisper")  # the update lasts until released, longer than any timeout
        run = deployer.run({"image": digest_image(2), "deployment-timeout-minutes": "0.02"})
        assert run.exit_code != 0
        assert run.result == "failed"
        assert any("Timed out" in line and "nothing was deleted" in line for line in run.errors())
        assert not [op for op in deployer.writes() if op.startswith("Delete")]
        assert deployer.endpoint()["EndpointStatus"] == "Updating"


def test_credentials_expiring_during_the_wait_are_reported_clearly(deployer: Deployer) -> None:
    """An OIDC session that expires mid-wait fails the run with advice, deleting nothing."""
    deployer.run()
    # Three reads, four calls for the model and config, UpdateEndpoint, one poll: the next poll is refused.
    deployer.emu.faults.expire_credentials(after_requests=9)
    run = deployer.run({"image": digest_image(2)})
    deployer.emu.faults.clear()
    assert "UpdateEndpoint" in deployer.writes()
    assert run.exit_code != 0
    assert run.result == "failed"
    assert any("credentials expired" in line and "role-duration-seconds" in line for line in run.errors())
    assert not [op for op in deployer.writes() if op.startswith("Delete")]
