"""What users copy from the README must be true: the inputs and outputs tables, the IAM policy, the examples."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sagemaker_async_deploy.config import INPUT_DEFAULTS
from sagemaker_async_deploy.report import OUTPUT_NAMES
from sagemaker_emulator import Emulator, RequestRecord

from .action.test_autoscaling import _seed_scale_from_zero
from .action.test_scenarios import Deployer
from .action_runner import ROLE, ActionRun, digest_image
from .seed import ECR_REGISTRY, seed_alarm, seed_ecr_image, seed_topic

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
ACTION_YML = ROOT / "action.yml"
POLICY = ROOT / "docs" / "iam-policy.json"
EXAMPLES = ROOT / "examples"

# The IAM prefix of each service as the emulator names it (its SigV4 signing name; CloudWatch's is "monitoring").
IAM_PREFIX = {
    "sagemaker": "sagemaker",
    "cloudwatch": "cloudwatch",
    "monitoring": "cloudwatch",
    "sns": "sns",
    "ecr": "ecr",
    "sts": "sts",
    "application-autoscaling": "application-autoscaling",
    "logs": "logs",
}

# Permissions AWS checks without the action making that API call itself, each with the call that needs it.
IMPLIED = {
    # CreateModel's ExecutionRoleArn: the caller must be allowed to pass the role to SageMaker.
    "iam:PassRole": ("sagemaker", "CreateModel"),
    # A config with a KmsKeyId (an update carries the serving one over): CreateEndpoint and UpdateEndpoint need
    # kms:CreateGrant so that SageMaker can use the key for the new fleet's volumes, per the SageMaker API
    # permissions reference (docs.aws.amazon.com/sagemaker/latest/dg/api-permissions-reference.html).
    "kms:CreateGrant": ("sagemaker", "UpdateEndpoint"),
    # Tags on CreateModel / CreateEndpointConfig / CreateEndpoint are authorized as sagemaker:AddTags.
    "sagemaker:AddTags": ("sagemaker", "CreateEndpointConfig"),
    # RegisterScalableTarget checks that the caller may scale the variant itself.
    "sagemaker:UpdateEndpointWeightsAndCapacities": ("application-autoscaling", "RegisterScalableTarget"),
    # A restored target-tracking policy gets its CloudWatch alarms made anew (the action also puts alarms itself,
    # re-pointing them); deregistering deletes the old ones.
    "cloudwatch:PutMetricAlarm": ("application-autoscaling", "PutScalingPolicy"),
    "cloudwatch:DeleteAlarms": ("application-autoscaling", "DeregisterScalableTarget"),
}


# --- the inputs and outputs tables ---------------------------------------------------------------------------


def _section_table(markdown: str, heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the first table under the heading ``heading``, header row excluded."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"#+\s+" + re.escape(heading), line.strip()))
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    assert len(rows) > 2, f"no table under '{heading}'"
    return [row for row in rows[1:] if not set("".join(row)) <= set("-: ")]


def _code(cell: str) -> str:
    match = re.fullmatch(r"`([^`]+)`", cell)
    return match[1] if match else cell


def inputs_disagreements(readme_rows: Iterable[list[str]], action: dict[str, Any]) -> list[str]:
    """Each way the README's inputs table differs from action.yml (name, order, required, default)."""
    problems: list[str] = []
    rows = list(readme_rows)
    names = [_code(row[0]) for row in rows]
    if names != list(action["inputs"]):
        problems.append(f"input names or order: README {names} != action.yml {list(action['inputs'])}")
    for row in rows:
        name = _code(row[0])
        spec = action["inputs"].get(name)
        if spec is None:
            continue
        required = "yes" if spec.get("required") else "no"
        if row[1] != required:
            problems.append(f"{name}: required is '{row[1]}' in the README, '{required}' in action.yml")
        default = spec.get("default")
        expected = "" if default is None else (f"`{default}`" if str(default) != "" else '`""`')
        if row[2] != expected:
            problems.append(f"{name}: default is '{row[2]}' in the README, '{expected}' in action.yml")
    return problems


def test_readme_inputs_table_matches_action_yml() -> None:
    """Every input of action.yml appears in the README's table in order, with the same required flag and default."""
    action = yaml.safe_load(ACTION_YML.read_text())
    assert inputs_disagreements(_section_table(README.read_text(), "Inputs"), action) == []


def test_the_action_reads_and_writes_what_action_yml_declares() -> None:
    """The code's inputs (with their defaults) and outputs are exactly action.yml's, so none is silently ignored."""
    action = yaml.safe_load(ACTION_YML.read_text())
    declared = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    # The runner fills github-token from the expression; run by hand the action has no token and no comment.
    declared["github-token"] = ""
    assert declared == INPUT_DEFAULTS
    assert list(action["outputs"]) == list(OUTPUT_NAMES)


def test_readme_outputs_table_matches_action_yml() -> None:
    """The README's outputs table names exactly the outputs of action.yml, in order."""
    action = yaml.safe_load(ACTION_YML.read_text())
    rows = _section_table(README.read_text(), "Outputs")
    assert [_code(row[0]) for row in rows] == list(action["outputs"])


def test_the_table_check_catches_a_wrong_default_and_a_missing_input() -> None:
    """The comparison reports a changed default, a changed required flag and a dropped input."""
    action = yaml.safe_load(ACTION_YML.read_text())
    rows = _section_table(README.read_text(), "Inputs")
    bake = next(i for i, row in enumerate(rows) if _code(row[0]) == "bake-seconds")
    rows[bake] = [rows[bake][0], "no", "`600`", *rows[bake][3:]]
    rows[0] = [rows[0][0], "no", *rows[0][2:]]
    del rows[-1]
    problems = inputs_disagreements(rows, action)
    assert any(p.startswith("bake-seconds: default") for p in problems)
    assert any(p.startswith("endpoint-name: required") for p in problems)
    assert any(p.startswith("input names or order") for p in problems)


# --- the IAM policy -----------------------------------------------------------------------------------------


def _policy_actions(policy: dict[str, Any]) -> set[str]:
    actions: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions


def _seed_preflight_resources(emu: Emulator) -> tuple[str, str, str]:
    """A rollback alarm, two SNS topics and an ECR tag; returns the topics' ARNs and the tag image reference."""
    seed_alarm(emu, "whisper-5xx")
    success, error = seed_topic(emu, "whisper-done"), seed_topic(emu, "whisper-failed")
    seed_ecr_image(emu, "whisper", "v2")
    return success, error, f"{ECR_REGISTRY}/whisper:v2"


class _Recorder:
    """Runs the action through a Deployer and keeps every request the emulator saw during each run."""

    def __init__(self, deployer: Deployer) -> None:
        self.deployer = deployer
        self.requests: list[RequestRecord] = []

    def run(self, inputs: dict[str, str], expected: str) -> ActionRun:
        run = self.deployer.run(inputs)  # clears the emulator's log first: seeding calls are not counted
        self.requests += self.deployer.emu.requests
        assert run.result == expected, run.stdout + run.stderr
        return run


def test_iam_policy_grants_exactly_what_the_action_calls(emulator: Emulator, tmp_path: Path) -> None:
    """Every AWS operation the integration scenarios make is granted, and nothing is granted that none needs."""
    record = _Recorder(Deployer(emulator, tmp_path))
    record.run({"mode": "plan"}, "would-create")
    record.run({}, "created")
    record.run({}, "unchanged")
    success, error, tag_image = _seed_preflight_resources(emulator)
    record.run(
        {
            "image": tag_image,
            "alarms": "whisper-5xx",
            "bake-seconds": "0",
            "success-topic": success,
            "error-topic": error,
        },
        "updated",
    )
    record.run({"mode": "plan", "image": digest_image(3)}, "would-update")
    emulator.faults.rollback_next_update(alarm="whisper-5xx")
    record.run({"image": digest_image(3), "alarms": "whisper-5xx"}, "rolled-back")
    # A new fleet that fails its health check after logging: the report reads its container log.
    emulator.faults.unhealthy_next_update(["Traceback (most recent call last):", "RuntimeError: no GPU"])
    record.run({"image": digest_image(4)}, "failed")
    autoscaling, _, _ = _seed_scale_from_zero(emulator)  # a tagged target, a step policy, alarms naming it
    autoscaling.put_scheduled_action(
        ServiceNamespace="sagemaker",
        ScheduledActionName="nightly-zero",
        ResourceId="endpoint/whisper/variant/AllTraffic",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        Schedule="cron(0 22 * * ? *)",
        ScalableTargetAction={"MinCapacity": 0, "MaxCapacity": 0},
    )
    record.run({"image": digest_image(3), "instance-type": "ml.g5.xlarge"}, "updated")
    record.deployer.sm.create_model(
        ModelName="terraform-whisper", PrimaryContainer={"Image": digest_image(7)}, ExecutionRoleArn=ROLE
    )
    record.run(
        {"model-name": "terraform-whisper", "image": digest_image(7), "execution-role-arn": ""},
        "updated",
    )

    called: set[str] = set()
    for request in record.requests:
        assert request.service in IAM_PREFIX, f"a call to an unexpected service: {request.service}"
        called.add(f"{IAM_PREFIX[request.service]}:{request.operation}")
    # The scenarios reach every AWS feature the action has; a scenario that stopped doing so would hide a gap.
    for expected in (
        "sagemaker:UpdateEndpoint",
        "sagemaker:DeleteModel",
        "sagemaker:ListTags",
        "cloudwatch:DescribeAlarms",
        "sns:GetTopicAttributes",
        "ecr:DescribeImages",
        "sts:GetCallerIdentity",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:TagResource",
        "cloudwatch:PutMetricAlarm",
        "sagemaker:AddTags",
        "sagemaker:DeleteTags",
        "logs:DescribeLogStreams",
        "logs:GetLogEvents",
        "cloudwatch:DescribeAlarmHistory",
    ):
        assert expected in called, f"no scenario made {expected}"

    policy = json.loads(POLICY.read_text())
    granted = _policy_actions(policy)
    assert not [a for a in granted if "*" in a], "the policy lists actions one by one"
    assert sorted(called - granted) == [], "the policy misses operations the action calls"
    assert sorted(granted - called - set(IMPLIED)) == [], "the policy grants operations the action never calls"
    assert sorted(set(IMPLIED) - granted) == [], "the policy misses permissions AWS checks besides the calls"
    seen = {(r.service, r.operation) for r in record.requests}
    for permission, (service, operation) in IMPLIED.items():
        assert (service, operation) in seen, f"{permission} is granted for {operation}, which no scenario made"
    assert any(r.operation == "CreateModel" and r.params.get("ExecutionRoleArn") for r in record.requests)
    assert any(r.operation.startswith("Create") and r.params.get("Tags") for r in record.requests)

    # The container log is read from the endpoints' own log groups, nothing else of CloudWatch Logs.
    logs = next(s for s in policy["Statement"] if "logs:GetLogEvents" in s["Action"])
    assert logs["Resource"] == "arn:aws:logs:*:*:log-group:/aws/sagemaker/Endpoints/*"
    pass_role = next(s for s in policy["Statement"] if s["Action"] == "iam:PassRole")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert ":role/" in pass_role["Resource"] and "*" not in pass_role["Resource"]


def test_readme_quotes_the_iam_policy_file() -> None:
    """The policy in the README is the one in docs/iam-policy.json that the test above checks."""
    blocks = re.findall(r"```json\n(.*?)```", README.read_text(), re.S)
    policies = [json.loads(block) for block in blocks if '"Statement"' in block]
    assert policies == [json.loads(POLICY.read_text())]


# --- the example workflows ----------------------------------------------------------------------------------

EXAMPLE_FILES = sorted(EXAMPLES.rglob("*.yml"))


def test_there_are_examples_for_each_use() -> None:
    """Plan and apply, a matrix of endpoints, a Terraform-made model and each Terraform split have an example."""
    texts = {path: path.read_text() for path in EXAMPLE_FILES}
    assert any("mode: plan" in text and "mode: apply" in text for text in texts.values())
    assert any("matrix:" in text for text in texts.values())
    assert any("model-name:" in text for text in texts.values())
    # Terraform beside the action: each way of splitting the endpoint between them, with its own workflow.
    for split in ("action-owns-endpoint", "terraform-owns-endpoint"):
        assert EXAMPLES / "terraform" / split / "deploy.yml" in texts, split


def test_readme_quick_start_is_the_checked_example() -> None:
    """The quick start workflow in the README is examples/deploy.yml, which actionlint checks below."""
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    assert blocks and blocks[0] == (EXAMPLES / "deploy.yml").read_text()


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda path: str(path.relative_to(EXAMPLES)))
def test_example_passes_actionlint(example: Path) -> None:
    """The example workflow is valid for GitHub Actions according to actionlint."""
    actionlint = Path(sys.executable).parent / "actionlint"
    result = subprocess.run(
        [str(actionlint), "-no-color", str(example)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda path: str(path.relative_to(EXAMPLES)))
def test_example_grants_permissions_per_job_and_pins_actions(example: Path) -> None:
    """Top-level permissions are empty, each job grants its own and has a timeout, third-party actions are pinned."""
    workflow = yaml.safe_load(example.read_text())
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, name
        assert "timeout-minutes" in job, name
        for step in job.get("steps", []):
            uses = step.get("uses", "")
            if uses and not uses.startswith("org/sagemaker-async-deploy@"):
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", uses), uses
