"""The emulated Model Registry: groups, versions, approval, and models made from a package."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_emulator import Behaviour, Emulator
from tests.conftest import ACCOUNT_ID, FAST_TIMINGS, boto_client

from ._responses import Recorder
from ._setup import ROLE, config, wait_for

PACKAGE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/whisper@sha256:" + "ab" * 32


def register(sm: Any, group: str, image: str = PACKAGE_IMAGE, status: str | None = None) -> str:
    """A new version in ``group`` running ``image``; its ARN."""
    extra = {"ModelApprovalStatus": status} if status else {}
    spec = {
        "Containers": [{"Image": image, "ModelDataUrl": "s3://models/whisper/model.tar.gz"}],
        "SupportedContentTypes": ["application/json"],
        "SupportedResponseMIMETypes": ["application/json"],
    }
    return str(
        sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=spec, **extra)["ModelPackageArn"]
    )


@pytest.fixture
def recorded(emulator: Emulator) -> Iterator[tuple[Any, Recorder]]:
    recorder = Recorder()
    sm = recorder.attach(boto_client(emulator, "sagemaker"))
    yield sm, recorder
    assert recorder.problems() == []  # every answer has botocore's output shape


def test_versions_are_numbered_in_their_group_and_wait_for_approval(recorded: tuple[Any, Recorder]) -> None:
    """Each version gets the next number and a versioned ARN; without a status it is PendingManualApproval."""
    sm, _ = recorded
    sm.create_model_package_group(ModelPackageGroupName="whisper")
    first, second = register(sm, "whisper"), register(sm, "whisper", status="Approved")
    assert first.endswith(":model-package/whisper/1") and second.endswith(":model-package/whisper/2")
    described = sm.describe_model_package(ModelPackageName=first)
    assert described["ModelPackageGroupName"] == "whisper"
    assert described["ModelPackageVersion"] == 1
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert sm.describe_model_package(ModelPackageName=second)["ModelApprovalStatus"] == "Approved"


def test_list_filters_by_group_and_approval_and_sorts_ascending_unless_told(recorded: tuple[Any, Recorder]) -> None:
    """ListModelPackages sorts by CreationTime ascending by default, descending when asked, and filters."""
    sm, _ = recorded
    for group in ("whisper", "other"):
        sm.create_model_package_group(ModelPackageGroupName=group)
    arns = [register(sm, "whisper", status=s) for s in ("Approved", "PendingManualApproval", "Approved")]
    register(sm, "other", status="Approved")
    listed = sm.list_model_packages(ModelPackageGroupName="whisper")["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in listed] == arns
    approved = sm.list_model_packages(
        ModelPackageGroupName="whisper", ModelApprovalStatus="Approved", SortBy="CreationTime", SortOrder="Descending"
    )["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in approved] == [arns[2], arns[0]]


def test_list_pages_through_a_large_group(recorded: tuple[Any, Recorder]) -> None:
    """A group with more versions than a page is listed whole by the paginator."""
    sm, _ = recorded
    sm.create_model_package_group(ModelPackageGroupName="whisper")
    arns = [register(sm, "whisper") for _ in range(12)]
    pages = sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName="whisper", MaxResults=5)
    assert [p["ModelPackageArn"] for page in pages for p in page["ModelPackageSummaryList"]] == arns


def test_update_changes_the_approval(recorded: tuple[Any, Recorder]) -> None:
    """UpdateModelPackage approves a pending version."""
    sm, _ = recorded
    sm.create_model_package_group(ModelPackageGroupName="whisper")
    arn = register(sm, "whisper")
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="reviewed")
    assert sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"


def test_unknown_package_and_group_are_validation_errors(recorded: tuple[Any, Recorder]) -> None:
    """A package of a missing group, or a missing package, is a ValidationException."""
    sm, _ = recorded
    with pytest.raises(ClientError) as missing_group:
        register(sm, "nope")
    with pytest.raises(ClientError) as missing_package:
        sm.describe_model_package(ModelPackageName=f"arn:aws:sagemaker:us-east-1:{ACCOUNT_ID}:model-package/nope/1")
    assert missing_group.value.response["Error"]["Code"] == "ValidationException"
    assert missing_package.value.response["Error"]["Code"] == "ValidationException"


def test_a_package_model_serves_the_package_image(recorded: tuple[Any, Recorder]) -> None:
    """A model made from a package is described as created, and its endpoint's DeployedImages name the package's
    image."""
    sm, _ = recorded
    sm.create_model_package_group(ModelPackageGroupName="whisper")
    arn = register(sm, "whisper", status="Approved")
    sm.create_model(ModelName="m1", PrimaryContainer={"ModelPackageName": arn}, ExecutionRoleArn=ROLE)
    assert sm.describe_model(ModelName="m1")["PrimaryContainer"] == {"ModelPackageName": arn}
    config(sm, "c1", "m1")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="c1")
    variant = wait_for(sm, "ep", "InService")["ProductionVariants"][0]
    assert variant["DeployedImages"][0]["SpecifiedImage"] == PACKAGE_IMAGE
    assert variant["DeployedImages"][0]["ResolvedImage"] == PACKAGE_IMAGE


def test_a_model_of_a_missing_package_is_refused(recorded: tuple[Any, Recorder]) -> None:
    """CreateModel naming a package that does not exist is a ValidationException."""
    sm, _ = recorded
    missing = f"arn:aws:sagemaker:us-east-1:{ACCOUNT_ID}:model-package/nope/1"
    with pytest.raises(ClientError) as caught:
        sm.create_model(ModelName="m1", PrimaryContainer={"ModelPackageName": missing}, ExecutionRoleArn=ROLE)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_with_image_describes_the_package_model_with_its_image() -> None:
    """Behaviour package_model_description=with-image adds the package's Image and ModelDataUrl to DescribeModel."""
    behaviour = Behaviour(package_model_description="with-image")
    with Emulator(timings=FAST_TIMINGS, account_id=ACCOUNT_ID, behaviour=behaviour).start(port=0) as emu:
        sm = boto_client(emu, "sagemaker")
        sm.create_model_package_group(ModelPackageGroupName="whisper")
        arn = register(sm, "whisper", status="Approved")
        sm.create_model(ModelName="m1", PrimaryContainer={"ModelPackageName": arn}, ExecutionRoleArn=ROLE)
        assert sm.describe_model(ModelName="m1")["PrimaryContainer"] == {
            "ModelPackageName": arn,
            "Image": PACKAGE_IMAGE,
            "ModelDataUrl": "s3://models/whisper/model.tar.gz",
        }
