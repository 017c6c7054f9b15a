"""Artifact identity: the real action notices a model artifact replaced at the same S3 path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sagemaker_emulator import Emulator

from ..action_runner import ROLE, digest_image
from ..conftest import boto_client
from .test_safety import plain
from .test_scenarios import Deployer

URL = "s3://models/whisper/model.tar.gz"
TAG = "sagemaker-async-deploy:artifact"


@pytest.fixture
def deployer(emulator: Emulator, tmp_path: Path) -> Deployer:
    return Deployer(emulator, tmp_path)


def s3(deployer: Deployer, *, versioned: bool = False) -> Any:
    """The bucket ``models`` (versioned when asked), with a client to upload to it."""
    client = boto_client(deployer.emu, "s3")
    client.create_bucket(Bucket="models")
    if versioned:
        client.put_bucket_versioning(Bucket="models", VersioningConfiguration={"Status": "Enabled"})
    return client


def upload(client: Any, body: bytes, key: str = "whisper/model.tar.gz") -> dict[str, Any]:
    client.put_object(Bucket="models", Key=key, Body=body)
    return dict(client.head_object(Bucket="models", Key=key))


def artifact_tag(deployer: Deployer, model_name: str) -> str:
    arn = deployer.sm.describe_model(ModelName=model_name)["ModelArn"]
    return {t["Key"]: t["Value"] for t in deployer.sm.list_tags(ResourceArn=arn)["Tags"]}.get(TAG, "")


def terraform_endpoint(deployer: Deployer) -> None:
    """The endpoint whisper serving the model terraform-whisper through a config made by hand, InService."""
    deployer.sm.create_endpoint_config(
        EndpointConfigName="terraform-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "terraform-whisper",
                "InstanceType": "ml.g4dn.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
        AsyncInferenceConfig={
            "OutputConfig": {"S3OutputPath": "s3://inference-bucket/whisper/out/"},
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1},
        },
    )
    deployer.sm.create_endpoint(EndpointName="whisper", EndpointConfigName="terraform-config")
    deployer.sm.get_waiter("endpoint_in_service").wait(
        EndpointName="whisper", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )


def test_the_created_model_records_the_artifact_and_an_unchanged_rerun_stays_unchanged(deployer: Deployer) -> None:
    """A model made with model-data-url carries the object's ETag as a tag (no version in an unversioned bucket);
    the same object on the rerun is no change."""
    head = upload(s3(deployer), b"weights v1")
    first = deployer.run({"model-data-url": URL})
    assert first.result == "created", first.stdout + first.stderr
    assert artifact_tag(deployer, first.outputs["model-name"]) == f"etag={head['ETag'].strip(chr(34))}"
    rerun = deployer.run({"model-data-url": URL})
    assert rerun.result == "unchanged", rerun.stdout
    assert deployer.emu.write_calls() == []


def test_an_artifact_reuploaded_at_the_same_path_is_an_update_shown_as_such(deployer: Deployer) -> None:
    """Re-uploading model.tar.gz over the old one plans an update whose change names the replacement, rolls it out
    on a new model, and removes the replaced one."""
    client = s3(deployer)
    old = upload(client, b"weights v1")["ETag"].strip('"')
    first = deployer.run({"model-data-url": URL})
    new = upload(client, b"weights v2, retrained")["ETag"].strip('"')
    plan = deployer.run({"model-data-url": URL, "mode": "plan"})
    assert plan.result == "would-update", plan.stdout
    expected = {
        "field": "model-data-url",
        "from": f"model.tar.gz: ETag {old[:8]}…",
        "to": f"model.tar.gz replaced in S3: ETag {new[:8]}…",
    }
    assert plan.changes == [expected]
    assert "model.tar.gz replaced in S3" in plain(plan.summary)
    run = deployer.run({"model-data-url": URL})
    assert run.result == "updated", run.stdout + run.stderr
    assert run.changes == [expected]
    assert run.outputs["model-name"] != first.outputs["model-name"]
    assert artifact_tag(deployer, run.outputs["model-name"]) == f"etag={new}"
    assert deployer.models() == {run.outputs["model-name"]}


def test_a_versioned_bucket_records_the_version_too(deployer: Deployer) -> None:
    """In a versioned bucket the tag holds the VersionId beside the ETag, and a new version is a change even when
    its bytes (hence its ETag) are the same."""
    client = s3(deployer, versioned=True)
    first_head = upload(client, b"weights")
    first = deployer.run({"model-data-url": URL})
    assert artifact_tag(deployer, first.outputs["model-name"]).endswith(f" version={first_head['VersionId']}")
    second_head = upload(client, b"weights")
    assert second_head["ETag"] == first_head["ETag"]
    run = deployer.run({"model-data-url": URL})
    assert run.result == "updated", run.stdout + run.stderr
    assert [c["field"] for c in run.changes] == ["model-data-url"]


def test_a_serving_model_without_the_record_is_compared_by_url_and_says_so(deployer: Deployer) -> None:
    """An endpoint whose model was made by other tools (no tag) is unchanged for the same URL, and the log and the
    summary say the artifact was compared by URL only."""
    upload(s3(deployer), b"weights")
    deployer.sm.create_model(
        ModelName="terraform-whisper",
        PrimaryContainer={"Image": digest_image(1), "ModelDataUrl": URL},
        ExecutionRoleArn=ROLE,
    )
    terraform_endpoint(deployer)
    run = deployer.run({"model-data-url": URL})
    assert run.result == "unchanged", run.stdout + run.stderr
    said = "model-data-url is compared by its URL only this time"
    assert said in run.stdout and said in plain(run.summary)
    assert run.stdout.count(said) == 1


def test_a_missing_artifact_is_an_input_error_before_any_write(deployer: Deployer) -> None:
    """model-data-url naming nothing in S3 is refused as bad input, and nothing is written."""
    s3(deployer)
    run = deployer.run({"model-data-url": URL})
    assert run.exit_code != 0
    assert any("model-data-url: nothing is stored at" in e for e in run.errors()), run.errors()
    assert deployer.emu.write_calls("sagemaker") == []


def test_a_kept_prefix_is_compared_by_its_listing(deployer: Deployer) -> None:
    """Uncompressed model data in an S3 prefix, kept from the serving model (ModelDataSource), is identified by its
    objects' ETags: the first model the action makes records it, and a file replaced under it is a change."""
    client = s3(deployer)
    for name in ("config.json", "weights.bin"):
        upload(client, b"v1 " + name.encode(), key=f"whisper/model/{name}")
    source = {
        "S3DataSource": {"S3Uri": "s3://models/whisper/model/", "S3DataType": "S3Prefix", "CompressionType": "None"}
    }
    deployer.sm.create_model(
        ModelName="terraform-whisper",
        PrimaryContainer={"Image": digest_image(1), "ModelDataSource": source},
        ExecutionRoleArn=ROLE,
    )
    terraform_endpoint(deployer)
    first = deployer.run({"image": digest_image(2)})
    assert first.result == "updated", first.stdout + first.stderr
    assert artifact_tag(deployer, first.outputs["model-name"]).endswith(" objects=2")
    container = deployer.sm.describe_model(ModelName=first.outputs["model-name"])["PrimaryContainer"]
    assert container["ModelDataSource"] == source
    assert deployer.run({"image": digest_image(2)}).result == "unchanged"
    upload(client, b"v2 weights", key="whisper/model/weights.bin")
    run = deployer.run({"image": digest_image(2)})
    assert run.result == "updated", run.stdout + run.stderr
    assert [c["field"] for c in run.changes] == ["model-data-url"]
    assert run.changes[0]["to"].startswith("model/ replaced in S3: listing ")


def test_a_prefix_given_as_model_data_url_is_an_input_error(deployer: Deployer) -> None:
    """model-data-url is ModelDataUrl, one .tar.gz object: a prefix is refused before any call, saying so."""
    run = deployer.run({"model-data-url": "s3://models/whisper/model/"})
    assert run.exit_code != 0
    assert any("model-data-url: ends in '/', a prefix" in e for e in run.errors()), run.errors()
    assert deployer.emu.requests == []


def test_a_kept_artifact_s3_denies_is_compared_by_url(deployer: Deployer) -> None:
    """A kept artifact that cannot be read (here: its bucket is gone) does not fail the run: compared by URL."""
    deployer.sm.create_model(
        ModelName="terraform-whisper",
        PrimaryContainer={"Image": digest_image(1), "ModelDataUrl": "s3://gone/model.tar.gz"},
        ExecutionRoleArn=ROLE,
    )
    terraform_endpoint(deployer)
    run = deployer.run({"image": digest_image(1)})
    assert run.result == "unchanged", run.stdout + run.stderr
    assert "could not be read" in run.stdout
