"""Bad inputs through the real action against the emulator: refused by name, before any write call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from sagemaker_emulator import Emulator

from ..action_runner import REPO, ActionRun, digest_image, run_action
from ..conftest import ACCOUNT_ID, REGION, boto_client
from ..seed import ECR_REGISTRY, seed_alarm, seed_ecr_image, seed_topic

TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:inference-done"
ALARM = "whisper-p99-latency"

Seed = Callable[[Emulator], None]


def seed_alarm_and_topic(emu: Emulator) -> None:
    """One alarm and one topic that exist, so a case can name one that does not beside them."""
    seed_topic(emu, "inference-done")
    seed_alarm(emu, ALARM)


def seed_ecr(emu: Emulator) -> str:
    """An ECR repository ``whisper`` holding tag v1; returns that image's digest."""
    return seed_ecr_image(emu, "whisper", "v1")


def seed_serving_endpoint(variant: str = "AllTraffic", asynchronous: bool = True) -> Seed:
    """An InService endpoint ``whisper`` made outside the action, to refuse managing."""

    def seed(emu: Emulator) -> None:
        sm = boto_client(emu, "sagemaker")
        sm.create_model(
            ModelName="whisper-manual",
            PrimaryContainer={"Image": digest_image(1)},
            ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/sagemaker",
        )
        extra = {"AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://inference-bucket/out/"}}}
        sm.create_endpoint_config(
            EndpointConfigName="whisper-manual",
            ProductionVariants=[
                {
                    "VariantName": variant,
                    "ModelName": "whisper-manual",
                    "InstanceType": "ml.g4dn.xlarge",
                    "InitialInstanceCount": 1,
                }
            ],
            **(extra if asynchronous else {}),
        )
        sm.create_endpoint(EndpointName="whisper", EndpointConfigName="whisper-manual")
        sm.get_waiter("endpoint_in_service").wait(
            EndpointName="whisper", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
        )

    return seed


@dataclass(frozen=True)
class Case:
    """One bad input: the inputs that carry it, the input the error must name, and text it must show."""

    id: str
    inputs: dict[str, str | None]
    names: str
    shows: str = ""
    seed: Seed | None = field(default=None, compare=False)


CASES = [
    # Names: SageMaker's pattern and 63 characters.
    Case("endpoint-underscore", {"endpoint-name": "whisper_large"}, "endpoint-name", "whisper_large"),
    Case("endpoint-64-chars", {"endpoint-name": "e" * 64}, "endpoint-name", "64 characters"),
    Case("endpoint-missing", {"endpoint-name": None}, "endpoint-name", "required"),
    Case("variant-space", {"variant-name": "All Traffic"}, "variant-name", "All Traffic"),
    Case("model-name-dot", {"model-name": "model.v1", "execution-role-arn": None}, "model-name", "model.v1"),
    # Image: pinned by digest or an ECR tag.
    Case("image-docker-hub-tag", {"image": "nginx:latest"}, "image", "nginx:latest"),
    Case("image-short-digest", {"image": f"{REPO}@sha256:abc"}, "image", "sha256:abc"),
    Case("image-ghcr-tag", {"image": "ghcr.io/acme/whisper:v1"}, "image", "ghcr.io/acme/whisper:v1"),
    Case("image-missing", {"image": None}, "image", "required"),
    # Instance type: ml. family, then SageMaker's enum.
    Case("instance-type-no-ml", {"instance-type": "g4dn.xlarge"}, "instance-type", "g4dn.xlarge"),
    Case("instance-type-not-in-enum", {"instance-type": "ml.foo.bar"}, "instance-type", "ml.foo.bar"),
    # S3 URIs.
    Case("output-path-https", {"output-path": "https://bucket.s3.amazonaws.com/out"}, "output-path", "https://"),
    Case("failure-path-one-slash", {"failure-path": "s3:/bucket/fail"}, "failure-path", "s3:/bucket/fail"),
    Case("model-data-url-no-scheme", {"model-data-url": "bucket/model.tar.gz"}, "model-data-url", "bucket/model"),
    # ARNs.
    Case("success-topic-sqs-arn", {"success-topic": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:q"}, "success-topic", "sqs"),
    Case(
        "error-topic-other-region",
        {"error-topic": f"arn:aws:sns:eu-west-1:{ACCOUNT_ID}:errors"},
        "error-topic",
        "eu-west-1",
    ),
    Case(
        "role-not-a-role",
        {"execution-role-arn": f"arn:aws:iam::{ACCOUNT_ID}:user/alice"},
        "execution-role-arn",
        "user/alice",
    ),
    Case(
        "role-with-model-name",
        {"model-name": "terraform-model"},
        "execution-role-arn",
        "model-name",
    ),
    # Enumerations and booleans.
    Case("mode-deploy", {"mode": "deploy"}, "mode", "deploy"),
    Case("delete-previous-yes", {"delete-previous": "yes"}, "delete-previous", "yes"),
    Case("comment-on", {"comment": "on"}, "comment", "on"),
    # Numbers.
    Case("bake-3601", {"bake-seconds": "3601", "alarms": ALARM}, "bake-seconds", "3601"),
    Case("max-concurrent-0", {"max-concurrent-invocations": "0"}, "max-concurrent-invocations", "0"),
    Case("max-concurrent-1001", {"max-concurrent-invocations": "1001"}, "max-concurrent-invocations", "1001"),
    Case("initial-count-0", {"initial-instance-count": "0"}, "initial-instance-count", "0"),
    Case("initial-count-words", {"initial-instance-count": "two"}, "initial-instance-count", "two"),
    Case("timeout-0", {"deployment-timeout-minutes": "0"}, "deployment-timeout-minutes", "0"),
    # KEY=VALUE lines and tags.
    Case("tags-51", {"tags": "\n".join(f"k{i}=v" for i in range(51))}, "tags", "51"),
    Case("tag-key-aws-prefix", {"tags": "aws:x=1"}, "tags", "aws:x"),
    Case("tag-value-257", {"tags": "team=" + "v" * 257}, "tags", "team"),
    Case("env-line-without-equals", {"environment": "MODE=fast\nVERBOSE"}, "environment", "line 2"),
    Case("env-bad-key", {"environment": "MY-KEY=1"}, "environment", "MY-KEY"),
    # Alarms and region.
    Case("alarms-11", {"alarms": ",".join(f"alarm-{i}" for i in range(11))}, "alarms", "11"),
    Case("region-malformed", {"aws-region": "US East"}, "aws-region", "US East"),
    # Needs AWS reads: what the inputs name must exist.
    Case(
        "alarm-does-not-exist",
        {"alarms": f"{ALARM}, whisper-5xx"},
        "alarms",
        "whisper-5xx",
        seed_alarm_and_topic,
    ),
    Case(
        "topic-does-not-exist",
        {"success-topic": TOPIC, "error-topic": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:no-such-topic"},
        "error-topic",
        "no-such-topic",
        seed_alarm_and_topic,
    ),
    Case(
        "model-name-does-not-exist",
        {"model-name": "terraform-model", "execution-role-arn": None},
        "model-name",
        "terraform-model",
    ),
    Case("ecr-tag-does-not-exist", {"image": f"{ECR_REGISTRY}/whisper:v2"}, "image", "whisper:v2", seed_ecr),
    Case("ecr-repository-does-not-exist", {"image": f"{ECR_REGISTRY}/no-such-repo:v1"}, "image", "no-such-repo"),
    Case(
        "role-of-another-account",
        {"execution-role-arn": "arn:aws:iam::999999999999:role/sagemaker"},
        "execution-role-arn",
        "999999999999",
    ),
    Case("first-deploy-without-role", {"execution-role-arn": None}, "execution-role-arn"),
    # What serves cannot be managed with these inputs.
    Case("variant-name-mismatch", {}, "variant-name", "Primary", seed_serving_endpoint(variant="Primary")),
    Case("real-time-endpoint", {}, "endpoint-name", "real-time", seed_serving_endpoint(asynchronous=False)),
]


def error_messages(run: ActionRun) -> list[str]:
    """The message part of every ``::error`` annotation (after ``::error <props>::``)."""
    return [line.split("::", 2)[2] for line in run.errors()]


def assert_refused(run: ActionRun, emu: Emulator, name: str) -> None:
    """The common verdict on a bad input: non-zero exit, an ::error naming it, and no write call."""
    assert run.exit_code != 0, run.stdout + run.stderr
    assert run.result == "failed"
    assert any(message.startswith(f"{name}:") for message in error_messages(run)), run.errors()
    assert emu.write_calls() == [], [r.operation for r in emu.write_calls()]


def test_the_inputs_every_case_starts_from_are_accepted(emulator: Emulator, tmp_path: Path) -> None:
    """The inputs each case changes one of deploy without any ::error, so a case is refused for the input it
    changes and not for the rest; and each case names an input action.yml declares."""
    declared = set(yaml.safe_load((Path(__file__).parents[2] / "action.yml").read_text())["inputs"])
    assert sorted({case.names for case in CASES} - declared) == []
    assert len({case.id for case in CASES}) == len(CASES)
    run = run_action(emulator, tmp_path)
    assert (run.exit_code, run.result, run.errors()) == (0, "created", []), run.stdout + run.stderr


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_by_name_before_any_write(case: Case, emulator: Emulator, tmp_path: Path) -> None:
    """The run exits non-zero with an ::error naming the input (and its value), having written nothing."""
    if case.seed is not None:
        case.seed(emulator)
    emulator.clear_requests()  # what the test seeded is not the action's doing
    run = run_action(emulator, tmp_path, case.inputs)
    assert_refused(run, emulator, case.names)
    if case.shows:
        assert any(case.shows in message for message in error_messages(run)), run.errors()


def test_several_bad_inputs_are_all_reported_in_one_run(emulator: Emulator, tmp_path: Path) -> None:
    """Every bad input gets its own ::error in the same run, so one fix round is enough."""
    bad = {
        "endpoint-name": "whisper_large",
        "image": "nginx:latest",
        "output-path": "bucket/out",
        "mode": "deploy",
        "delete-previous": "yes",
        "bake-seconds": "3601",
        "max-concurrent-invocations": "0",
        "tags": "aws:x=1",
    }
    run = run_action(emulator, tmp_path, bad)
    assert run.exit_code != 0
    named = {message.split(":", 1)[0] for message in error_messages(run)}
    assert set(bad) <= named
    assert emulator.requests == []  # local checks fail before any AWS call at all


def test_several_missing_remote_resources_are_all_reported_in_one_run(emulator: Emulator, tmp_path: Path) -> None:
    """A missing alarm, a missing topic and a role of another account come back together."""
    seed_alarm_and_topic(emulator)
    emulator.clear_requests()
    run = run_action(
        emulator,
        tmp_path,
        {
            "alarms": "no-such-alarm",
            "success-topic": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:no-such-topic",
            "execution-role-arn": "arn:aws:iam::999999999999:role/sagemaker",
        },
    )
    assert_refused(run, emulator, "alarms")
    named = {message.split(":", 1)[0] for message in error_messages(run)}
    assert {"alarms", "success-topic", "execution-role-arn"} <= named


def test_existing_alarm_and_topic_pass_preflight(emulator: Emulator, tmp_path: Path) -> None:
    """The seeded alarm and topic are accepted: the refusals above are about absence, not form."""
    seed_alarm_and_topic(emulator)
    run = run_action(emulator, tmp_path, {"alarms": ALARM, "success-topic": TOPIC, "bake-seconds": "0"})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "created"


def test_ecr_tag_that_exists_is_deployed_by_its_digest(emulator: Emulator, tmp_path: Path) -> None:
    """An ECR :tag is resolved through ECR and the model is created with the digest reference, not the tag."""
    image_digest = seed_ecr(emulator)
    run = run_action(emulator, tmp_path, {"image": f"{ECR_REGISTRY}/whisper:v1"})
    assert run.exit_code == 0, run.stdout + run.stderr
    pinned = f"{ECR_REGISTRY}/whisper@{image_digest}"
    assert run.outputs["image"] == pinned
    create_model = [r for r in emulator.requests if r.operation == "CreateModel"]
    assert len(create_model) == 1
    assert create_model[0].params["PrimaryContainer"]["Image"] == pinned


def test_image_instance_type_and_resource_problems_are_reported_together(emulator: Emulator, tmp_path: Path) -> None:
    """An unknown ECR tag, an instance type outside SageMaker's enum and a missing alarm all come back in one run."""
    seed_ecr(emulator)
    emulator.clear_requests()
    run = run_action(
        emulator,
        tmp_path,
        {"image": f"{ECR_REGISTRY}/whisper:v2", "instance-type": "ml.foo.bar", "alarms": "no-such-alarm"},
    )
    assert_refused(run, emulator, "image")
    named = {message.split(":", 1)[0] for message in error_messages(run)}
    assert {"image", "instance-type", "alarms"} <= named


def test_instance_type_and_resource_problems_are_reported_together(emulator: Emulator, tmp_path: Path) -> None:
    """An instance type outside SageMaker's enum and a role of another account come back in one run."""
    run = run_action(
        emulator,
        tmp_path,
        {"instance-type": "ml.foo.bar", "execution-role-arn": "arn:aws:iam::999999999999:role/sagemaker"},
    )
    assert_refused(run, emulator, "instance-type")
    named = {message.split(":", 1)[0] for message in error_messages(run)}
    assert {"instance-type", "execution-role-arn"} <= named
