"""An update changes only what the inputs name: the real action against endpoints it did not create."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from sagemaker_emulator import Emulator

from ..action_runner import ROLE, digest_image
from ..conftest import ACCOUNT_ID, REGION, boto_client
from ..seed import seed_topic
from ..shape_values import value_for
from ..test_builders import CARRIED, PART_SHAPES
from .test_bad_inputs import assert_refused
from .test_scenarios import Deployer

SUCCESS = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:whisper-done"
ERROR = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:whisper-failed"
KMS = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# Read-only members of the descriptions, and the names: everything else must be the same after an update.
READ_ONLY = {"ModelArn", "ModelName", "CreationTime", "EndpointConfigArn", "EndpointConfigName", "ResponseMetadata"}
INPUTS = {
    "instance-type": "ml.g5.xlarge",
    "output-path": "s3://inference-bucket/whisper/out/",
    "failure-path": "s3://inference-bucket/whisper/failed/",
    "success-topic": SUCCESS,
    "error-topic": ERROR,
    "execution-role-arn": "",
}


def seed_terraform_endpoint(emu: Emulator) -> None:
    """An endpoint as Terraform leaves it: a model in a VPC with network isolation, KMS on the volume and the
    async output, data capture, both topics carrying the response, 1800/1200 s timeouts, 2 instances,
    concurrency 4."""
    for topic in ("whisper-done", "whisper-failed"):
        seed_topic(emu, topic)
    sm = boto_client(emu, "sagemaker")
    sm.create_model(
        ModelName="whisper-tf",
        PrimaryContainer={
            "Image": digest_image(1),
            "ImageConfig": {"RepositoryAccessMode": "Vpc"},
            "ModelDataUrl": "s3://inference-bucket/whisper/model.tar.gz",
            "Environment": {"MODEL_ID": "openai/whisper-large-v3"},
        },
        ExecutionRoleArn=ROLE,
        VpcConfig={"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0a", "subnet-0b"]},
        EnableNetworkIsolation=True,
    )
    sm.create_endpoint_config(
        EndpointConfigName="whisper-tf",
        KmsKeyId=KMS,
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 20,
            "DestinationS3Uri": "s3://inference-bucket/whisper/capture/",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "whisper-tf",
                "InstanceType": "ml.g5.xlarge",
                "InitialInstanceCount": 2,
                "VolumeSizeInGB": 100,
                "ContainerStartupHealthCheckTimeoutInSeconds": 1800,
                "ModelDataDownloadTimeoutInSeconds": 1200,
            }
        ],
        AsyncInferenceConfig={
            "OutputConfig": {
                "S3OutputPath": INPUTS["output-path"],
                "S3FailurePath": INPUTS["failure-path"],
                "KmsKeyId": KMS,
                "NotificationConfig": {
                    "SuccessTopic": SUCCESS,
                    "ErrorTopic": ERROR,
                    "IncludeInferenceResponseIn": ["SUCCESS_NOTIFICATION_TOPIC", "ERROR_NOTIFICATION_TOPIC"],
                },
            },
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
        },
    )
    sm.create_endpoint(EndpointName="whisper", EndpointConfigName="whisper-tf")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="whisper", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})


def serving_descriptions(deployer: Deployer) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model, config) the endpoint serves, without their read-only members and names."""
    config = deployer.sm.describe_endpoint_config(EndpointConfigName=deployer.endpoint()["EndpointConfigName"])
    model = deployer.sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    for description in (model, config):
        for member in READ_ONLY:
            description.pop(member, None)
    config["ProductionVariants"][0].pop("ModelName")
    return model, config


@pytest.fixture
def terraform(emulator: Emulator, tmp_path: Path) -> Deployer:
    deployer = Deployer(emulator, tmp_path)
    seed_terraform_endpoint(emulator)
    return deployer


def test_a_plan_against_a_terraform_endpoint_with_its_image_is_unchanged(terraform: Deployer) -> None:
    """The serving image and the same paths and topics: nothing to do, no write, 2 instances and concurrency 4
    are not "changed" to the old defaults."""
    run = terraform.run({**INPUTS, "mode": "plan"})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "unchanged"
    assert run.changes == []
    assert terraform.emu.write_calls() == []


def test_a_new_image_on_a_terraform_endpoint_keeps_every_other_setting(terraform: Deployer) -> None:
    """After the update the model and config are the serving ones but for the image; the plan said so."""
    model_before, config_before = serving_descriptions(terraform)
    run = terraform.run({**INPUTS, "image": digest_image(2)})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "updated"
    assert [c["field"] for c in run.changes] == ["image"]
    model_after, config_after = serving_descriptions(terraform)
    assert model_after["PrimaryContainer"].pop("Image") == digest_image(2)
    model_before["PrimaryContainer"].pop("Image")
    assert model_after == model_before
    assert config_after == config_before
    live = terraform.endpoint()["ProductionVariants"][0]
    assert live["CurrentInstanceCount"] == 2
    # The log says what was kept, in words.
    kept = run.stdout.split("Kept from the serving endpoint:\n", 1)[1].split("::endgroup::")[0]
    for line in ("VPC: 2 subnets", "Network isolation: on", f"Volume KMS key: {KMS}", "Data capture: 20 %"):
        assert line in kept, kept
    # What Terraform made is not the action's: the replaced model stays, the replaced config is deleted.
    assert "whisper-tf" in terraform.models()


def test_empty_failure_path_and_topics_keep_terraforms_and_none_removes_them(terraform: Deployer) -> None:
    """Left empty, the failure path and both topics Terraform set keep serving through an update; ``none``
    removes them, each reported as a change."""
    kept = terraform.run(
        {**INPUTS, "failure-path": "", "success-topic": "", "error-topic": "", "image": digest_image(2)}
    )
    assert kept.result == "updated", kept.stdout + kept.stderr
    assert [c["field"] for c in kept.changes] == ["image"]
    _, config = serving_descriptions(terraform)
    output = config["AsyncInferenceConfig"]["OutputConfig"]
    assert output["S3FailurePath"] == INPUTS["failure-path"]
    assert (output["NotificationConfig"]["SuccessTopic"], output["NotificationConfig"]["ErrorTopic"]) == (
        SUCCESS,
        ERROR,
    )

    removed = terraform.run(
        {**INPUTS, "failure-path": "none", "success-topic": "none", "error-topic": "none", "image": digest_image(2)}
    )
    assert removed.result == "updated", removed.stdout + removed.stderr
    assert removed.changes == [
        {"field": "failure-path", "from": INPUTS["failure-path"], "to": ""},
        {"field": "success-topic", "from": SUCCESS, "to": ""},
        {"field": "error-topic", "from": ERROR, "to": ""},
    ]
    _, config = serving_descriptions(terraform)
    assert set(config["AsyncInferenceConfig"]["OutputConfig"]) == {"S3OutputPath", "KmsKeyId"}


def test_every_member_of_the_input_shapes_survives_a_real_update(emulator: Emulator, tmp_path: Path) -> None:
    """A model and config holding a valid value of every member botocore's model lists (but those refused)
    are carried member for member through the action, the emulator and back."""
    deployer = Deployer(emulator, tmp_path)
    model_members: dict[str, Any] = {}
    container: dict[str, Any] = {"Image": digest_image(1)}
    config_members: dict[str, Any] = {}
    variant: dict[str, Any] = {
        "VariantName": "AllTraffic",
        "ModelName": "whisper-all",
        "InstanceType": "ml.g5.xlarge",
    }
    output: dict[str, Any] = {"S3OutputPath": "s3://inference-bucket/out/"}
    client: dict[str, Any] = {}
    notification: dict[str, Any] = {"SuccessTopic": SUCCESS}
    targets = {
        "model": model_members,
        "container": container,
        "config": config_members,
        "variant": variant,
        "async-output": output,
        "async-notification": notification,
        "async-client": client,
    }
    for part, member in CARRIED:
        targets[part][member] = value_for(PART_SHAPES[part].members[member], f"{part}.{member}")
    container.pop("ModelDataUrl")  # one of ModelDataUrl and ModelDataSource, as AWS takes them
    role = model_members.pop("ExecutionRoleArn")
    output["NotificationConfig"] = notification
    seed_topic(emulator, "whisper-done")
    sm = boto_client(emulator, "sagemaker")
    sm.create_model(ModelName="whisper-all", PrimaryContainer=container, ExecutionRoleArn=role, **model_members)
    sm.create_endpoint_config(
        EndpointConfigName="whisper-all",
        ProductionVariants=[variant],
        AsyncInferenceConfig={"OutputConfig": output, "ClientConfig": client},
        **config_members,
    )
    sm.create_endpoint(EndpointName="whisper", EndpointConfigName="whisper-all")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="whisper", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    model_before, config_before = serving_descriptions(deployer)

    # The failure path and the topics are among the members: their empty inputs keep them.
    inputs = {"instance-type": "ml.g5.xlarge", "output-path": output["S3OutputPath"]}
    run = deployer.run({**inputs, "image": digest_image(2), "execution-role-arn": ""})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert [c["field"] for c in run.changes] == ["image"]
    model_after, config_after = serving_descriptions(deployer)
    expected = copy.deepcopy(model_before)
    expected["PrimaryContainer"]["Image"] = digest_image(2)
    assert model_after == expected
    assert config_after == config_before


# --- the two timeout inputs ------------------------------------------------------------------------------


def test_timeouts_set_on_create_then_kept_then_changed(emulator: Emulator, tmp_path: Path) -> None:
    """Given on create they land on the variant; the same again is unchanged; a new value is an update."""
    deployer = Deployer(emulator, tmp_path)
    timeouts = {"container-startup-timeout-seconds": "1800", "model-download-timeout-seconds": "1200"}
    created = deployer.run(timeouts)
    assert created.result == "created", created.stdout + created.stderr
    variant = deployer.sm.describe_endpoint_config(EndpointConfigName=created.outputs["endpoint-config-name"])[
        "ProductionVariants"
    ][0]
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 1800
    assert variant["ModelDataDownloadTimeoutInSeconds"] == 1200
    assert deployer.run(timeouts).result == "unchanged"
    assert deployer.run().result == "unchanged"  # empty inputs keep what serves
    changed = deployer.run({**timeouts, "container-startup-timeout-seconds": "2400"})
    assert changed.result == "updated", changed.stdout + changed.stderr
    assert changed.changes == [{"field": "container-startup-timeout-seconds", "from": "1800 s", "to": "2400 s"}]


@pytest.mark.parametrize("name", ["container-startup-timeout-seconds", "model-download-timeout-seconds"])
@pytest.mark.parametrize("value", ["59", "3601", "ten"])
def test_timeouts_out_of_range_are_refused_by_name(emulator: Emulator, tmp_path: Path, name: str, value: str) -> None:
    """A timeout outside 60-3600 is an ::error naming the input, before any write."""
    run = Deployer(emulator, tmp_path).run({name: value})
    assert_refused(run, emulator, name)
    assert any("60–3600" in line for line in run.errors())


# --- what cannot be carried --------------------------------------------------------------------------------


def _seed(
    emu: Emulator,
    *,
    model: dict[str, Any],
    variant: dict[str, Any],
    config: dict[str, Any],
    more_variants: tuple[str, ...] = (),
) -> None:
    """An endpoint serving config and model "whisper-odd"; ``more_variants`` are named variants beside AllTraffic,
    each like it."""
    sm = boto_client(emu, "sagemaker")
    sm.create_model(ModelName="whisper-odd", ExecutionRoleArn=ROLE, **model)
    sm.create_endpoint_config(
        EndpointConfigName="whisper-odd",
        ProductionVariants=[
            {"VariantName": name, "ModelName": "whisper-odd", **variant} for name in ("AllTraffic", *more_variants)
        ],
        **config,
    )
    sm.create_endpoint(EndpointName="whisper", EndpointConfigName="whisper-odd")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="whisper", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})


ASYNC = {"AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://inference-bucket/whisper/out/"}}}
INSTANCES = {"InstanceType": "ml.g4dn.xlarge", "InitialInstanceCount": 1}


@pytest.mark.parametrize(
    ("model", "variant", "config", "names", "says"),
    [
        (
            {"Containers": [{"Image": digest_image(1)}, {"Image": digest_image(3)}]},
            INSTANCES,
            ASYNC,
            "model-name",
            "inference pipeline of 2 containers",
        ),
        (
            {"PrimaryContainer": {"Image": digest_image(1), "Mode": "MultiModel", "ModelDataUrl": "s3://bucket/m/"}},
            INSTANCES,
            {},
            "model-name",
            "MultiModel",
        ),
        (
            {"PrimaryContainer": {"Image": digest_image(1)}},
            {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}},
            {},
            "endpoint-name",
            "serverless",
        ),
        (
            {"PrimaryContainer": {"Image": digest_image(1)}},
            INSTANCES,
            {"ShadowProductionVariants": [{"VariantName": "Shadow", "ModelName": "whisper-odd", **INSTANCES}]},
            "endpoint-name",
            "shadow",
        ),
        (
            {"PrimaryContainer": {"Image": digest_image(1)}},
            {
                "InitialInstanceCount": 1,
                "InstancePools": [
                    {"InstanceType": "ml.g5.xlarge", "Priority": 1},
                    {"InstanceType": "ml.g6.xlarge", "Priority": 2},
                ],
            },
            {},
            "endpoint-name",
            "instance pools (ml.g5.xlarge, ml.g6.xlarge)",
        ),
    ],
    ids=["pipeline", "multi-model", "serverless", "shadow", "instance-pools"],
)
def test_what_cannot_be_carried_is_refused_before_any_write(
    emulator: Emulator,
    tmp_path: Path,
    model: dict[str, Any],
    variant: dict[str, Any],
    config: dict[str, Any],
    names: str,
    says: str,
) -> None:
    """Pipelines, multi-model, serverless, shadow and instance-pool endpoints are refused with the reason (a model
    package model is deployable: tests/action/test_model_registry.py)."""
    _seed(emulator, model=model, variant=variant, config=config)
    emulator.clear_requests()
    run = Deployer(emulator, tmp_path).run({"image": digest_image(2), "execution-role-arn": ""})
    assert_refused(run, emulator, names)
    assert any(says in line for line in run.errors()), run.errors()


def test_a_setting_newer_than_the_actions_sdk_is_refused_before_any_write(emulator: Emulator, tmp_path: Path) -> None:
    """A member AWS returns that botocore cannot parse would be dropped: the update is refused, naming it."""
    deployer = Deployer(emulator, tmp_path)
    assert deployer.run().result == "created"
    emulator.faults.extra_member("DescribeEndpointConfig", "FutureGuardrailSetting", {"Enabled": True})
    emulator.clear_requests()
    run = deployer.run({"image": digest_image(2)})
    assert_refused(run, emulator, "endpoint-name")
    assert any("FutureGuardrailSetting" in line and "newer release" in line for line in run.errors()), run.errors()
    # The same endpoint with the same image is still unchanged: nothing would be carried, nothing is refused.
    assert deployer.run().result == "unchanged"


def test_an_endpoint_of_two_variants_is_refused_before_any_write(emulator: Emulator, tmp_path: Path) -> None:
    """Two production variants (an A/B split) cannot be rolled blue/green as one: refused, nothing written."""
    _seed(
        emulator,
        model={"PrimaryContainer": {"Image": digest_image(1)}},
        variant={"InitialVariantWeight": 1.0, **INSTANCES},
        config=ASYNC,
        more_variants=("B",),
    )
    emulator.clear_requests()
    run = Deployer(emulator, tmp_path).run({"image": digest_image(2), "execution-role-arn": ""})
    assert_refused(run, emulator, "endpoint-name")
    assert any("serves 2 production variants (AllTraffic, B)" in line for line in run.errors()), run.errors()
