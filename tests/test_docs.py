"""What users copy from the README must be true: the inputs and outputs tables, the IAM policies, the examples."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from sagemaker_async_deploy.config import INPUT_DEFAULTS
from sagemaker_async_deploy.report import OUTPUT_NAMES
from sagemaker_emulator import Emulator, RequestRecord, Timings

from .action.test_autoscaling import _seed_scale_from_zero
from .action.test_scenarios import Deployer
from .action_runner import ROLE, ActionRun, digest_image
from .conftest import boto_client, started_emulator
from .seed import ECR_REGISTRY, seed_alarm, seed_ecr_image, seed_model_package, seed_topic

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
ACTION_YML = ROOT / "action.yml"
DOCS = ROOT / "docs"
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
    "s3": "s3",
}
# S3 is a REST service: the emulator logs its requests by method and path. The IAM action each one needs
# (HeadObject is authorized as s3:GetObject, ListObjectsV2 as s3:ListBucket).
# The IAM action S3's REST operations are authorized as: reading an object or its metadata is s3:GetObject
# (HeadObject API reference), listing a bucket's keys s3:ListBucket (ListObjectsV2 API reference).
S3_ACTIONS = {"HeadObject": "GetObject", "GetObject": "GetObject", "ListObjectsV2": "ListBucket"}

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
    # The smoke test's alarm is put with Tags (the action's own always): "to create an alarm and set tags for it,
    # you must have the cloudwatch:TagResource permission in addition to the cloudwatch:PutMetricAlarm permission"
    # (CloudWatch user guide, "Alarms and tagging").
    "cloudwatch:TagResource": ("cloudwatch", "PutMetricAlarm"),
    # HeadObject of an answer that has not landed yet is a 404 only with s3:ListBucket on the bucket, a 403
    # without it (HeadObject API reference, "Permissions").
    "s3:ListBucket": ("s3", "HeadObject"),
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


def _plain(text: str) -> str:
    """Text as a reader sees it in either place: no code marks, an en dash read as a hyphen, spaces collapsed."""
    return " ".join(text.replace("`", "").replace("–", "-").split())


def description_disagreements(readme_rows: Iterable[list[str]], action: dict[str, Any]) -> list[str]:
    """Each input whose README meaning does not start with its action.yml description (what editors and the
    Marketplace show), so the two cannot drift: the README may add to it, never say something else."""
    problems: list[str] = []
    for row in readme_rows:
        name = _code(row[0])
        spec = action["inputs"].get(name)
        if spec is None:
            continue
        description = _plain(str(spec.get("description", "")))
        if not description or not _plain(row[3]).startswith(description):
            problems.append(f"{name}: the README's meaning does not start with action.yml's description")
    return problems


# The README's sections in the order a new user needs them: what it is, where to go, what it needs, how to set it
# up, the smallest workflow, then the reference.
FRONT_DOOR = [
    "Contents",
    "Requirements",
    "Setup",
    "Minimal workflow",
    "Full workflow",
    "Inputs",
    "Outputs",
    "IAM policy",
]


def test_readme_opens_as_a_front_door() -> None:
    """The two commands on the first screen, then a table of contents and the sections a user needs in order; the
    setup numbered; contributor setup and long guides elsewhere; nothing of the machine it was written on."""
    readme = README.read_text()
    first_screen = "\n".join(readme.splitlines()[:20])
    assert "make demo" in first_screen and "make test" in first_screen
    headings = re.findall(r"^## (.+?)\s*$", readme, re.M)
    assert [h for h in headings if h in FRONT_DOOR] == FRONT_DOOR
    assert headings[0] == "Contents"
    contents = _readme_section("Contents")
    for heading in FRONT_DOOR[1:]:
        assert f"(#{heading.lower().replace(' ', '-')})" in contents, heading
    steps = re.findall(r"^(\d+)\. \*\*(.+?)\*\*", _readme_section("Setup"), re.M)
    assert [n for n, _ in steps] == [str(i) for i in range(1, len(steps) + 1)]
    said = " ".join(title for _, title in steps).lower()
    for step in ("oidc provider", "deploy role", "plan role", "session length", "repository variables"):
        assert step in said, step
    for contributor in ("apt", "buildah", "chromium", "debootstrap", "## Performance", "## Mutation testing"):
        assert not re.search(rf"(?<![\w-]){re.escape(contributor)}(?![\w-])", readme, re.I), contributor
    assert not re.search(r"(?<![\w.])/(?:work|tmp|home|root|opt)/", readme), "a path of a machine"


def test_readme_inputs_table_matches_action_yml() -> None:
    """Every input of action.yml appears in the README's table in order, with the same required flag and default."""
    action = yaml.safe_load(ACTION_YML.read_text())
    assert inputs_disagreements(_section_table(README.read_text(), "Inputs"), action) == []


def test_readme_input_meanings_start_with_action_yml_descriptions() -> None:
    """Each input's meaning in the README starts with its description in action.yml."""
    action = yaml.safe_load(ACTION_YML.read_text())
    assert description_disagreements(_section_table(README.read_text(), "Inputs"), action) == []


def test_the_description_check_catches_a_meaning_that_drifted() -> None:
    """A README meaning that says something else than action.yml, or only part of it, is reported."""
    action = yaml.safe_load(ACTION_YML.read_text())
    rows = _section_table(README.read_text(), "Inputs")
    bake = next(i for i, row in enumerate(rows) if _code(row[0]) == "bake-seconds")
    rows[bake] = [*rows[bake][:3], "Seconds to bake, 0 when no alarms."]
    rows[0] = [*rows[0][:3], rows[0][3][:-1]]  # the description's last character dropped
    assert description_disagreements(rows, action) == [
        "endpoint-name: the README's meaning does not start with action.yml's description",
        "bake-seconds: the README's meaning does not start with action.yml's description",
    ]


def test_action_yml_states_the_limits_the_readme_states() -> None:
    """The descriptions editors show carry the limits users trip on: a first deploy's role, the model's own image,
    at most 10 existing alarms, the endpoint's variant name, one bake default and what 0 means."""
    inputs = yaml.safe_load(ACTION_YML.read_text())["inputs"]
    assert "first deploy needs it" in inputs["execution-role-arn"]["description"]
    assert "image must be that model's own image" in inputs["model-name"]["description"]
    assert "at most 10" in inputs["alarms"]["description"] and "must exist" in inputs["alarms"]["description"]
    assert "must be the endpoint's own variant name" in inputs["variant-name"]["description"]
    bake = inputs["bake-seconds"]["description"]
    assert "default 300" in bake and "0 finishes without watching" in bake and "0 when" not in bake
    assert "Rarely needed" in inputs["poll-interval-seconds"]["description"]


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


# --- the IAM policies -----------------------------------------------------------------------------------------


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
    """Runs the action through a Deployer and keeps every request the emulator saw during each run, by the
    policy file that must grant it: plan runs, apply runs, and apply runs that change autoscaling."""

    def __init__(self, deployer: Deployer) -> None:
        self.deployer = deployer
        self.requests: dict[str, list[RequestRecord]] = {"plan": [], "apply": [], "autoscaling": []}

    def run(self, inputs: dict[str, str], expected: str, *, kind: str = "", **kwargs: Any) -> ActionRun:
        run = self.deployer.run(inputs, **kwargs)  # clears the emulator's log first: seeding calls are not counted
        kind = kind or ("plan" if inputs.get("mode") == "plan" else "apply")
        self.requests[kind] += [_named(r) for r in self.deployer.emu.requests]
        assert run.result == expected, run.stdout + run.stderr
        return run

    def called(self, *kinds: str) -> set[str]:
        """The IAM actions of every call the runs of these kinds made."""
        called: set[str] = set()
        for request in (r for kind in kinds for r in self.requests[kind]):
            assert request.service in IAM_PREFIX, f"a call to an unexpected service: {request.service}"
            operation = request.operation
            if request.service == "s3":
                operation = S3_ACTIONS[operation]
            called.add(f"{IAM_PREFIX[request.service]}:{operation}")
        return called

    def seen(self, *kinds: str) -> set[tuple[str, str]]:
        return {(r.service, r.operation) for kind in kinds for r in self.requests[kind]}


def _named(request: RequestRecord) -> RequestRecord:
    """An S3 request (logged by method and path) under its operation's name: HEAD of an object is HeadObject, GET
    of an object GetObject, GET of a bucket (its listing) ListObjectsV2."""
    if request.service != "s3":
        return request
    method, _, path = request.operation.partition(" ")
    of_object = "/" in path.split("?", 1)[0].strip("/")
    names = {"HEAD": "HeadObject", "GET": "GetObject" if of_object else "ListObjectsV2"}
    return replace(request, operation=names.get(method, request.operation))


def _smoke_test_during_a_bake(tmp_path: Path) -> list[RequestRecord]:
    """The requests of a smoke test that fails during a bake long enough for it (an emulator of its own, started
    once the other scenarios are done): the action's alarm is put, reset and tripped."""
    with Emulator(timings=Timings(create=0.3, update=10.0, rollback=0.3, delete=0.1)) as slow:
        seed_alarm(slow, "whisper-5xx")
        boto_client(slow, "s3").create_bucket(Bucket="inference-bucket")
        record = _Recorder(Deployer(slow, tmp_path))
        workspace = tmp_path / "workspace"
        workspace.mkdir(parents=True)
        (workspace / "request.json").write_text("{}")
        inputs = {
            "alarms": "whisper-5xx",
            "bake-seconds": "60",
            "failure-path": "s3://inference-bucket/whisper/failed/",
            "smoke-test-input": "request.json",
            "smoke-test-timeout-seconds": "5",
        }
        extra = {"GITHUB_WORKSPACE": str(workspace)}
        record.run(inputs, "created", extra=extra)
        slow.faults.async_answers("failure", image=digest_image(2))
        record.run({**inputs, "image": digest_image(2)}, "rolled-back", extra=extra)
        return [r for kind in record.requests.values() for r in kind]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> _Recorder:
    """Every AWS feature the action has, each run once: plan and apply, create, unchanged, an update with alarms,
    topics and an ECR tag, a rollback, a crashed new fleet, an instance-type change of an autoscaled variant
    (planned, then applied) and an existing model-name."""
    tmp_path = tmp_path_factory.mktemp("iam")
    with started_emulator() as emulator:
        record = _Recorder(Deployer(emulator, tmp_path))
        record.run({"mode": "plan"}, "would-create")
        record.run({}, "created")
        record.run({}, "unchanged")
        success, error, tag_image = _seed_preflight_resources(emulator)
        watched = {"alarms": "whisper-5xx", "bake-seconds": "0", "success-topic": success, "error-topic": error}
        record.run({"mode": "plan", "image": tag_image, "execution-role-arn": ROLE, **watched}, "would-update")
        record.run({"image": tag_image, **watched}, "updated")
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
        new_type = {"image": digest_image(3), "instance-type": "ml.g5.xlarge"}
        record.run({**new_type, "mode": "plan"}, "would-update")
        record.run(new_type, "updated", kind="autoscaling")
        record.deployer.sm.create_model(
            ModelName="terraform-whisper", PrimaryContainer={"Image": digest_image(7)}, ExecutionRoleArn=ROLE
        )
        record.run(
            # The instance type it serves now: an existing model, no autoscaling to move.
            {
                "model-name": "terraform-whisper",
                "image": digest_image(7),
                "execution-role-arn": "",
                "instance-type": "ml.g5.xlarge",
            },
            "updated",
        )
        same_type = {"instance-type": "ml.g5.xlarge"}
        # A Model Registry group's latest approved version, instead of an image: planned, then deployed.
        seed_model_package(emulator, "whisper-models", digest_image(8))
        # On the instance type it serves now: no autoscaling to move.
        package = {"model-package": "whisper-models", "image": None, "model-name": None, **same_type}
        record.run({**package, "mode": "plan"}, "would-update")
        record.run(package, "updated")
        # A model artifact compared by its identity: an object, then a prefix.
        artifacts = boto_client(emulator, "s3")
        artifacts.create_bucket(Bucket="model-artifacts-bucket")
        for key in ("whisper/model.tar.gz", "whisper/model/weights.bin"):
            artifacts.put_object(Bucket="model-artifacts-bucket", Key=key, Body=b"weights")
        url = "s3://model-artifacts-bucket/whisper/model.tar.gz"
        artifact = {"model-package": "", "image": digest_image(8), "model-data-url": url, **same_type}
        record.run({**artifact, "mode": "plan"}, "would-update")
        record.run(artifact, "updated")
        # A prefix of uncompressed model data, kept from a serving model made by hand.
        prefix = {
            "S3Uri": "s3://model-artifacts-bucket/whisper/model/",
            "S3DataType": "S3Prefix",
            "CompressionType": "None",
        }
        record.deployer.sm.create_model(
            ModelName="prefix-whisper",
            PrimaryContainer={"Image": digest_image(9), "ModelDataSource": {"S3DataSource": prefix}},
            ExecutionRoleArn=ROLE,
        )
        kept = {"execution-role-arn": "", **same_type}
        record.run({"model-name": "prefix-whisper", "image": digest_image(9), **kept}, "updated")
        record.run({"image": digest_image(10), **kept, "mode": "plan"}, "would-update")  # lists the kept prefix
        record.run({"image": digest_image(10), **kept}, "updated")
        # A smoke test: one request, and its answer read from S3.
        boto_client(emulator, "s3").create_bucket(Bucket="inference-bucket")
        workspace = tmp_path / "workspace"
        workspace.mkdir()
        (workspace / "request.json").write_text("{}")
        smoke = {"image": digest_image(11), "smoke-test-input": "request.json", "smoke-test-timeout-seconds": "5"}
        record.run({**smoke, **kept}, "updated", extra={"GITHUB_WORKSPACE": str(workspace)})
    record.requests["apply"] += _smoke_test_during_a_bake(tmp_path / "bake")
    return record


POLICY_FILES = {
    "deploy": DOCS / "iam-policy.json",
    "autoscaling": DOCS / "iam-policy-autoscaling.json",
    "plan": DOCS / "iam-plan-policy.json",
}


def _grants(name: str) -> set[tuple[str, str]]:
    """Each (action, resource) the policy file grants."""
    grants: set[tuple[str, str]] = set()
    for statement in json.loads(POLICY_FILES[name].read_text())["Statement"]:
        actions, resources = statement["Action"], statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            grants |= {(action, r) for r in ([resources] if isinstance(resources, str) else resources)}
    return grants


def _granted(name: str) -> set[str]:
    actions = _policy_actions(json.loads(POLICY_FILES[name].read_text()))
    assert not [a for a in actions if "*" in a], f"{name}: the policy lists actions one by one"
    return actions


def test_the_scenarios_reach_every_aws_feature(recorded: _Recorder) -> None:
    """The runs the policies are checked against make each kind of call; a scenario that stopped would hide a gap."""
    called = recorded.called("plan", "apply", "autoscaling")
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
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModelPackages",
        "s3:GetObject",
        "s3:ListBucket",
        "sagemaker:InvokeEndpointAsync",
        "s3:GetObject",
        "cloudwatch:SetAlarmState",
        "cloudwatch:PutMetricData",
    ):
        assert expected in called, f"no scenario made {expected}"
    plan_called = recorded.called("plan")
    for expected in ("cloudwatch:DescribeAlarms", "sns:GetTopicAttributes", "ecr:DescribeImages"):
        assert expected in plan_called, f"no plan run made {expected}"
    requests = [r for kind in recorded.requests.values() for r in kind]
    assert any(r.operation == "CreateModel" and r.params.get("ExecutionRoleArn") for r in requests)
    assert any(r.operation.startswith("Create") and r.params.get("Tags") for r in requests)


def test_deploy_policy_grants_exactly_what_runs_without_autoscaling_call(recorded: _Recorder) -> None:
    """docs/iam-policy.json alone covers every plan and apply run that changes no autoscaled instance type, and
    grants nothing else but the permissions AWS checks besides those calls."""
    called, granted = recorded.called("plan", "apply"), _granted("deploy")
    implied = {p for p, call in IMPLIED.items() if call in recorded.seen("plan", "apply")}
    assert sorted(called - granted) == [], "the deploy policy misses operations the action calls"
    assert sorted(granted - called - implied) == [], "the deploy policy grants operations no run needs"
    assert sorted(implied - granted) == [], "the deploy policy misses permissions AWS checks besides the calls"


def test_autoscaling_policy_adds_exactly_what_an_instance_type_change_of_an_autoscaled_variant_calls(
    recorded: _Recorder,
) -> None:
    """docs/iam-policy-autoscaling.json, beside the deploy policy, covers the autoscaled instance-type change, and
    grants nothing the deploy policy has or that change does not need."""
    deploy, extra = _granted("deploy"), _granted("autoscaling")
    called = recorded.called("autoscaling")
    implied = {p for p, call in IMPLIED.items() if call in recorded.seen("autoscaling")} - deploy
    # An action both files grant is granted on other resources (PutMetricAlarm: the smoke test's own alarm in the
    # deploy policy, any alarm that names a re-created scaling policy here).
    assert not _grants("deploy") & _grants("autoscaling"), "the optional statements repeat the deploy policy"
    statements = json.loads(POLICY_FILES["autoscaling"].read_text())["Statement"]
    assert all(s["Sid"].startswith("Optional") for s in statements), "each statement says it is optional"
    assert sorted(called - deploy - extra) == [], "the two policies miss operations the change calls"
    assert sorted(extra - called - implied) == [], "the autoscaling policy grants operations the change never needs"
    assert sorted(implied - extra) == [], "the autoscaling policy misses permissions AWS checks besides the calls"
    seen = recorded.seen("plan", "apply", "autoscaling")
    for permission, (service, operation) in IMPLIED.items():
        assert (service, operation) in seen, f"{permission} is granted for {operation}, which no scenario made"


def test_plan_policy_covers_every_plan_run_and_grants_no_write(recorded: _Recorder) -> None:
    """docs/iam-plan-policy.json grants exactly the calls of the plan runs, all of them reads of the deploy policy."""
    granted = _granted("plan")
    assert granted == recorded.called("plan")
    reads = re.compile(r"[a-z0-9-]+:(Describe|List|Get)[A-Za-z]+")
    assert [a for a in sorted(granted) if not reads.fullmatch(a)] == [], "the plan policy grants a write"
    assert granted <= _granted("deploy")


def test_the_deploy_policy_narrows_what_it_can() -> None:
    """The container log is read from the endpoints' own log groups only; PassRole names one role, for SageMaker;
    alarms are tagged only where the action puts its own (the smoke test's)."""
    policy = json.loads(POLICY_FILES["deploy"].read_text())
    tagging = next(s for s in policy["Statement"] if "cloudwatch:TagResource" in s["Action"])
    assert "cloudwatch:PutMetricAlarm" in tagging["Action"]
    assert tagging["Resource"] == "arn:aws:cloudwatch:*:*:alarm:sagemaker-async-deploy-smoke-*"
    logs = next(s for s in policy["Statement"] if "logs:GetLogEvents" in s["Action"])
    assert logs["Resource"] == "arn:aws:logs:*:*:log-group:/aws/sagemaker/Endpoints/*"
    pass_role = next(s for s in policy["Statement"] if s["Action"] == "iam:PassRole")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert ":role/" in pass_role["Resource"] and "*" not in pass_role["Resource"]


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("iam-trust-policy.json", "repo:org/repository:ref:refs/heads/main"),
        ("iam-plan-trust-policy.json", "repo:org/repository:pull_request"),
    ],
)
def test_trust_policies_admit_only_githubs_oidc_tokens_of_one_repository(name: str, subject: str) -> None:
    """Each role trusts GitHub's OIDC provider for STS only, for one repository and one branch (or its PRs)."""
    (statement,) = json.loads((DOCS / name).read_text())["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
    # StringEquals, not StringLike: a wildcard in the subject would admit other repositories or branches.
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": subject,
        }
    }


def test_readme_links_every_iam_file() -> None:
    """The README's setup and IAM sections link each policy file a user copies."""
    readme = README.read_text()
    for path in sorted(DOCS.glob("iam-*.json")):
        assert f"(docs/{path.name})" in readme, path.name


# A statement named in prose or in a message: "statement X", "the X statement", "X of docs/iam-policy.json".
_SID = r"`?([A-Z][a-z]+(?:[A-Z][a-z]*)+)`?"
_STATEMENT_MENTIONS = (
    re.compile(r"\bstatements?\s+" + _SID + r"(?:\s+(?:and|or)\s+" + _SID + ")?"),
    re.compile(_SID + r"(?:\s+(?:and|or)\s+" + _SID + r")?\s+statements?\b"),
    re.compile(_SID + r"\s+of\s+(?:the\s+action's\s+)?\[?`?(?:docs/)?iam-[\w-]+\.json"),
)


def statement_mentions(text: str) -> set[str]:
    """The statement names a text mentions, with the string literals a message is built of joined first."""
    text = re.sub(r"\"\s*f?\"", "", " ".join(text.split()))
    return {
        name for pattern in _STATEMENT_MENTIONS for match in pattern.finditer(text) for name in match.groups() if name
    }


def test_every_statement_named_in_the_docs_and_messages_is_in_a_policy_file() -> None:
    """A statement renamed in the policy files leaves no advice, in the guides or in the action's own messages, to
    add one that no file holds."""
    sids = {s["Sid"] for path in DOCS.glob("iam-*.json") for s in json.loads(path.read_text())["Statement"]}
    sources = [README, ROOT / "CONTRIBUTING.md", *DOCS.glob("*.md"), *(ROOT / "src").rglob("*.py")]
    named = {
        (path.relative_to(ROOT).as_posix(), name) for path in sources for name in statement_mentions(path.read_text())
    }
    assert {name for _, name in named} >= {"ReadTheNewFleetsContainerLog", "ReadWhichAlarmFired", "DeployEndpoints"}
    assert sorted((path, name) for path, name in named if name not in sids) == []


def test_the_statement_check_reads_each_way_a_statement_is_named() -> None:
    """Each phrasing the guides and messages use is found, a message split over string literals too."""
    text = (
        "grant it (statement AlphaOne of the action's docs/iam-policy.json); the `BetaOne` or `GammaOne` statement; "
        "the statements `DeltaOne` and `EpsilonOne` of [iam-policy.json](iam-policy.json); `ZetaOne` of "
        '`docs/iam-policy-autoscaling.json`; "(statement EtaOne" "Theta of the README)"; PascalCase alone'
    )
    assert statement_mentions(text) == {
        "AlphaOne",
        "BetaOne",
        "GammaOne",
        "DeltaOne",
        "EpsilonOne",
        "ZetaOne",
        "EtaOneTheta",
    }


# --- links between the documents ---------------------------------------------------------------------------

MARKDOWN = [README, ROOT / "CONTRIBUTING.md", *sorted(DOCS.glob("*.md"))]


def _anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings: lower case, punctuation but hyphens dropped, spaces as hyphens."""
    markdown = re.sub(r"```.*?```", "", markdown, flags=re.S)
    headings = re.findall(r"^#+\s+(.+?)\s*$", markdown, re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def link_problems(path: Path) -> list[str]:
    """Each relative link of a Markdown file whose file does not exist, or whose #anchor names no heading there."""
    problems: list[str] = []
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a URL elsewhere
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            problems.append(f"{path.name}: {target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked.read_text()):
            problems.append(f"{path.name}: {target}: no such heading")
    return problems


@pytest.mark.parametrize("document", MARKDOWN, ids=lambda path: path.name)
def test_every_relative_link_resolves(document: Path) -> None:
    """A section that moves between the README and docs/ leaves no link pointing at where it was."""
    assert link_problems(document) == []


def test_every_section_of_the_readme_named_in_words_is_there() -> None:
    """ "The README's X section" or "the README's X" in a guide or a message names a heading the README still has:
    sections that moved to docs/ are linked where they went."""
    headings = {h.lower() for h in re.findall(r"^#+\s+(.+?)\s*$", README.read_text(), re.M)}
    sources = [ROOT / "CONTRIBUTING.md", *DOCS.glob("*.md"), *(ROOT / "src").rglob("*.py"), *EXAMPLES.rglob("*.md")]
    named = {
        (path.relative_to(ROOT).as_posix(), match[1])
        for path in sources
        for match in re.finditer(
            r"README's\s+\[?([A-Z][\w ]*?)\]?(?:\(|\s+(?:section|statement|table)\b|[),.])",
            " ".join(path.read_text().split()),
        )
    }
    assert {name for _, name in named} >= {"Guides"}
    assert sorted((path, name) for path, name in named if name.lower() not in headings) == []


def test_the_link_check_catches_a_moved_section(tmp_path: Path) -> None:
    """A link to a heading that is gone, or to a file that is not there, is reported."""
    (tmp_path / "a.md").write_text("# A\n\n## Kept here\n\n[x](#kept-here) [y](#moved-away) [z](gone.md)\n")
    assert link_problems(tmp_path / "a.md") == ["a.md: #moved-away: no such heading", "a.md: gone.md: no such file"]


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


def _readme_section(heading: str) -> str:
    return README.read_text().split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_full_workflow_is_the_checked_example() -> None:
    """The full workflow in the README is examples/deploy.yml, which actionlint checks below."""
    blocks = re.findall(r"```yaml\n(.*?)```", _readme_section("Full workflow"), re.S)
    assert blocks and blocks[0] == (EXAMPLES / "deploy.yml").read_text()


def test_readme_minimal_workflow_is_the_example_apply_job_trimmed() -> None:
    """The minimal snippet's steps are the example's apply job with fewer inputs, every required one given: what
    it passes to each action is what the checked example passes."""
    (block,) = re.findall(r"```yaml\n(.*?)```", _readme_section("Minimal workflow"), re.S)
    steps = yaml.safe_load(block)
    assert len(block.strip().splitlines()) <= 15
    example = yaml.safe_load((EXAMPLES / "deploy.yml").read_text())["jobs"]["apply"]["steps"]
    for step in steps:
        same = next(s for s in example if s.get("uses") == step["uses"])
        assert step["with"].items() <= same["with"].items(), step["uses"]
    action = yaml.safe_load(ACTION_YML.read_text())
    ours = next(s for s in steps if s["uses"].startswith("org/sagemaker-async-deploy@"))
    required = {name for name, spec in action["inputs"].items() if spec.get("required")}
    assert required <= set(ours["with"])


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
