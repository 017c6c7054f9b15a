"""The Terraform examples, applied as shipped with the real Terraform CLI and hashicorp/aws provider against the
emulator, through the story each README tells: Terraform and the action take turns on one account, and
`terraform plan` stays clean after every rollout.

Not part of `make test`: `make test-terraform` runs it (marker ``terraform``), with the provider from
``TF_PLUGIN_DIR`` when set (``terraform init -plugin-dir``), else from the registry. Each example folder is
copied as it is and gets one file more, ``emulator_override.tf``: a Terraform override file that points the
provider at the emulator. Nothing else of the examples is changed for the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from sagemaker_emulator import Emulator

from .action.test_scenarios import Deployer
from .action_runner import ActionRun, digest_image
from .conftest import ACCOUNT_ID, REGION, boto_client

pytestmark = pytest.mark.terraform

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "terraform"
ENDPOINT = "whisper"
RESOURCE = f"endpoint/{ENDPOINT}/variant/AllTraffic"
# The services the examples' resources live in, by the provider's name for them in its endpoints block.
PROVIDER_SERVICES = ("sagemaker", "iam", "sts", "sns", "cloudwatch", "appautoscaling")
# A Terraform command on two busy cores: provider start-up, refresh, apply.
COMMAND_TIMEOUT = 600


def _override(url: str) -> str:
    """The provider pointed at the emulator, with the checks that would need real AWS turned off."""
    endpoints = "\n".join(f'    {service} = "{url}"' for service in PROVIDER_SERVICES)
    return f"""provider "aws" {{
  region                      = "{REGION}"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {{
{endpoints}
  }}
}}
"""


@dataclass
class Terraform:
    """One example folder, copied as shipped, with the emulator's provider override beside it."""

    emu: Emulator
    folder: Path
    home: Path

    @classmethod
    def of(cls, example: str, emu: Emulator, tmp_path: Path) -> Terraform:
        folder = tmp_path / example
        shutil.copytree(EXAMPLES / example, folder, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
        (folder / "emulator_override.tf").write_text(_override(emu.url))
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        terraform = cls(emu, folder, home)
        plugins = os.environ.get("TF_PLUGIN_DIR", "")
        terraform.run("init", *([f"-plugin-dir={plugins}"] if plugins else []))
        return terraform

    def run(self, *args: str, expect: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        """``terraform <args>``; fails the test on an exit code not expected, or when the emulator refused one
        of the provider's calls (an answer the provider tolerated would still be one AWS does not give)."""
        self.emu.clear_requests()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            # No call to HashiCorp's version check service.
            "CHECKPOINT_DISABLE": "1",
            # The provider's own log, for a failure: its SDK's retries are only told there.
            "TF_LOG_PROVIDER": "DEBUG",
            "TF_LOG_PATH": str(self.home / "provider.log"),
        }
        binary = shutil.which(os.environ.get("TERRAFORM", "terraform"))
        assert binary, "no terraform on PATH: `make test-terraform` says how to get it"
        result = subprocess.run(
            [binary, *args, "-no-color"],
            cwd=self.folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        command = f"terraform {' '.join(args)}"
        if result.returncode not in expect:
            calls = "\n".join(f"{r.time:.3f} {r.service} {r.operation} {r.status}" for r in self.emu.requests)
            log = (self.home / "provider.log").read_text(errors="replace").splitlines()
            retries = "\n".join(line for line in log if "retry" in line.lower() or "attempt=2" in line)
            raise AssertionError(
                f"{command}: {result.returncode}\n{result.stdout}\n{result.stderr}\n"
                f"the emulator answered:\n{calls}\nthe provider's retries:\n{retries[-5000:]}"
            )
        refused = [f"{r.service} {r.operation} {r.status}" for r in self.emu.requests if r.status >= 400]
        assert refused == [], f"{command}: the emulator refused {refused}"
        return result

    def apply(self, *variables: str) -> None:
        self.run("apply", "-auto-approve", *(f"-var={v}" for v in variables))

    def plan_is_clean(self, *variables: str) -> bool:
        """``terraform plan -detailed-exitcode`` exits 0 (2: changes)."""
        result = self.run("plan", "-detailed-exitcode", *(f"-var={v}" for v in variables), expect=(0, 2))
        return result.returncode == 0

    def plan_text(self, *variables: str) -> str:
        return self.run("plan", *(f"-var={v}" for v in variables)).stdout

    def output(self, name: str) -> str:
        return self.run("output", "-raw", name).stdout


def _ok(run: ActionRun, result: str) -> None:
    assert (run.exit_code, run.result) == (0, result), run.stdout + run.stderr


@pytest.mark.parametrize("example", ["action-owns-endpoint", "terraform-owns-endpoint"])
def test_examples_are_formatted(example: str) -> None:
    """`terraform fmt -check` finds nothing to change in the example's files."""
    binary = shutil.which(os.environ.get("TERRAFORM", "terraform"))
    assert binary, "no terraform on PATH: `make test-terraform` says how to get it"
    result = subprocess.run(
        [binary, "fmt", "-check", "-diff", "-no-color", str(EXAMPLES / example)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": os.environ.get("PATH", ""), "CHECKPOINT_DISABLE": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_action_owns_endpoint_through_the_seed_story(emulator: Emulator, tmp_path: Path) -> None:
    """Terraform's role, topics, alarms and autoscaling around the action's endpoint: every plan after a rollout
    is clean, autoscaling survives an instance-type change, and a rollback onto a model Terraform deleted is told."""
    tf = Terraform.of("action-owns-endpoint", emulator, tmp_path / "tf")
    deployer = Deployer(emulator, tmp_path / "runs")
    sm = boto_client(emulator, "sagemaker")

    # The first apply: no endpoint yet, so no autoscaling.
    tf.apply("autoscaling=false")
    role = tf.output("execution_role_arn")
    assert role == f"arn:aws:iam::{ACCOUNT_ID}:role/{ENDPOINT}-sagemaker-execution"
    inputs = {
        "image": digest_image(1),
        "instance-type": "ml.g5.xlarge",
        "execution-role-arn": role,
        "success-topic": tf.output("success_topic_arn"),
        "error-topic": tf.output("error_topic_arn"),
        "alarms": tf.output("alarm_name"),
        "bake-seconds": "0",
    }

    # The action creates the endpoint; the second apply adds autoscaling to its variant.
    _ok(deployer.run(inputs), "created")
    tf.apply()
    autoscaling = boto_client(emulator, "application-autoscaling")
    assert autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RESOURCE])[
        "ScalableTargets"
    ]
    assert tf.plan_is_clean()

    # A new image: the action makes the model; Terraform has nothing to say.
    _ok(deployer.run({**inputs, "image": digest_image(2)}), "updated")
    assert tf.plan_is_clean()

    # An instance-type change of the autoscaled variant: the policies come back with new ARNs, the alarm that
    # scales out from zero names the new one, and Terraform reads it all back without a diff.
    _ok(deployer.run({**inputs, "image": digest_image(2), "instance-type": "ml.g5.2xlarge"}), "updated")
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=RESOURCE)
    step_policy = next(p for p in policies["ScalingPolicies"] if p["PolicyName"].endswith("scale-from-zero"))
    alarm = boto_client(emulator, "cloudwatch").describe_alarms(AlarmNames=[f"{ENDPOINT}-HasBacklogWithoutCapacity"])[
        "MetricAlarms"
    ][0]
    assert alarm["AlarmActions"] == [step_policy["PolicyARN"]]
    assert tf.plan_is_clean()

    # A rerun with nothing new writes nothing.
    settled = {**inputs, "image": digest_image(2), "instance-type": "ml.g5.2xlarge"}
    _ok(deployer.run(settled), "unchanged")
    assert deployer.writes() == []
    # From here on the model is Terraform's: the action makes none, so it takes no role for one.
    settled["execution-role-arn"] = ""

    # The model-name variant: Terraform makes the model, the action deploys it.
    tf.apply(f"model_image={digest_image(3)}")
    first_model = tf.output("model_name")
    _ok(deployer.run({**settled, "image": digest_image(3), "model-name": first_model}), "updated")
    assert tf.plan_is_clean(f"model_image={digest_image(3)}")

    # A new image replaces Terraform's model: the serving one is destroyed before the rollout, which rolls back
    # onto a config whose model is gone. The plan warns before the update, and the verdict says what it means.
    tf.apply(f"model_image={digest_image(4)}")
    second_model = tf.output("model_name")
    assert first_model not in deployer.models()
    emulator.faults.rollback_next_update()
    run = deployer.run({**settled, "image": digest_image(4), "model-name": second_model})
    assert (run.exit_code, run.result) == (1, "rolled-back"), run.stdout + run.stderr
    assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == run.outputs["endpoint-config-name"]
    warnings = [line for line in run.lines if line.startswith("::warning") and first_model in line]
    assert warnings, run.stdout
    assert "cannot launch" in run.summary and first_model in run.summary, run.summary
    assert tf.plan_is_clean(f"model_image={digest_image(4)}")


def test_terraform_owns_endpoint_plan_stays_clean_after_a_rollout(emulator: Emulator, tmp_path: Path) -> None:
    """With the example's lifecycle and ignore_tags, a rollout by the action leaves `terraform plan` clean and an
    apply makes no SageMaker write; without ignoring deployment_config the plan would replace the endpoint."""
    tf = Terraform.of("terraform-owns-endpoint", emulator, tmp_path / "tf")
    deployer = Deployer(emulator, tmp_path / "runs")
    sm = boto_client(emulator, "sagemaker")
    first = f"first_image={digest_image(1)}"

    tf.apply(first)
    assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == f"{ENDPOINT}-first"
    run = deployer.run(
        {
            "image": digest_image(2),
            "instance-type": "ml.g5.xlarge",
            "output-path": f"s3://acme-inference/{ENDPOINT}/out/",
            "execution-role-arn": "",
            "alarms": f"{ENDPOINT}-5xx",
            "bake-seconds": "0",
            "delete-previous": "false",
        }
    )
    _ok(run, "updated")
    assert run.outputs["previous-endpoint-config-name"] == f"{ENDPOINT}-first"
    assert f"{ENDPOINT}-first" in deployer.configs()
    assert tf.plan_is_clean(first)

    # The record an interrupted instance-type change leaves on the endpoint is not Terraform's to remove.
    arn = sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]
    record = {"Key": "sagemaker-async-deploy:autoscaling:1/1", "Value": "x"}
    sm.add_tags(ResourceArn=arn, Tags=[record])
    assert tf.plan_is_clean(first)
    tf.apply(first)
    assert [r.operation for r in emulator.write_calls("sagemaker")] == []
    assert record in sm.list_tags(ResourceArn=arn)["Tags"]

    # Without deployment_config in ignore_changes the provider would put the declared (absent) one back, and as
    # the action's alarms are in its auto_rollback_configuration, which forces a new endpoint, it would replace
    # the endpoint.
    main = tf.folder / "main.tf"
    main.write_text(
        main.read_text().replace(
            "ignore_changes = [endpoint_config_name, deployment_config]", "ignore_changes = [endpoint_config_name]"
        )
    )
    text = tf.plan_text(first)
    assert "aws_sagemaker_endpoint.this must be replaced" in text, text
    assert "auto_rollback_configuration { # forces replacement" in text, text
    assert [r.operation for r in emulator.write_calls("sagemaker")] == []
