"""model-package resolved in process against the emulator's Model Registry: which version is deployed, the image it
runs, and each refusal before anything is written."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sagemaker_async_deploy import aws, packages
from sagemaker_async_deploy._checks import ImageRef, PackageRef
from sagemaker_async_deploy.config import ActionConfig
from sagemaker_async_deploy.errors import InputError
from sagemaker_emulator import Emulator

from .conftest import ACCOUNT_ID, REGION, boto_client, module_clients
from .factories import REPO, action_config, image
from .seed import seed_model_package

NUMBERS = itertools.count(1)


@pytest.fixture
def group(emu: Emulator) -> Iterator[str]:
    """A group name of the test's own; the faults armed by the test are cleared after it."""
    yield f"whisper-models-{next(NUMBERS)}"
    emu.faults.clear()


def resolved(model_package: str) -> ActionConfig:
    return packages.resolve(action_config(model_package=model_package, image=""), module_clients())


def problem(model_package: str) -> str:
    with pytest.raises(InputError) as raised:
        resolved(model_package)
    [found] = raised.value.problems
    assert found.input == "model-package"
    return found.message


def test_without_model_package_the_config_is_left_as_it_is() -> None:
    """No model-package: no call, the very config given."""
    config = action_config()
    assert packages.resolve(config, aws.Clients(REGION)) is config


def test_a_group_deploys_its_latest_approved_version_and_says_a_newer_unapproved_one(emu: Emulator, group: str) -> None:
    """A group gives its latest Approved version (ARN, version, image, approval); a newer Rejected version is named
    in the plan's words."""
    seed_model_package(emu, group, image(1))
    arn = seed_model_package(emu, group, image(2))
    seed_model_package(emu, group, image(3), status="Rejected")
    config = resolved(group)
    package = config.package
    assert package is not None
    assert (package.given, package.arn, package.group, package.version, package.approval) == (
        group,
        arn,
        group,
        2,
        "Approved",
    )
    assert config.image == ImageRef.serving(image(2))
    assert package.newer == (
        f"version 3 of {group} is newer but Rejected, so the latest Approved version, 2, is the one deployed"
    )


def test_a_group_whose_newest_version_is_approved_says_nothing_newer(emu: Emulator, group: str) -> None:
    """When the latest Approved version is the newest version, nothing newer is said."""
    seed_model_package(emu, group, image(1), status="Rejected")
    arn = seed_model_package(emu, group, image(2))
    package = resolved(group).package
    assert package is not None
    assert (package.arn, package.version, package.newer) == (arn, 2, "")


def test_a_newer_version_ten_is_named_after_an_approved_version_nine(emu: Emulator, group: str) -> None:
    """Versions are told apart by ARN, not ordered by it: ".../10" sorts before ".../9" as text, and is still the
    newer version the plan names."""
    for _ in range(9):
        arn = seed_model_package(emu, group, image(1))
    seed_model_package(emu, group, image(2), status="Rejected")
    package = resolved(group).package
    assert package is not None
    assert (package.arn, package.version) == (arn, 9)
    assert package.newer.startswith(f"version 10 of {group} is newer but Rejected")


def test_a_version_aws_does_not_number_is_shown_as_0(emu: Emulator, group: str) -> None:
    """A group's version whose description has no ModelPackageVersion (not a required member) is version 0 in the
    report, never another version's number; the group is the one given."""
    arn = seed_model_package(emu, group, image(1))
    emu.faults.extra_member("DescribeModelPackage", "ModelPackageVersion", None)
    emu.faults.extra_member("DescribeModelPackage", "ModelPackageGroupName", None)
    package = resolved(group).package
    assert package is not None
    assert (package.arn, package.group, package.version) == (arn, group, 0)


def test_a_versioned_arn_is_deployed_as_named(emu: Emulator, group: str) -> None:
    """A versioned ARN is described, not listed: that version, even when a later one is approved."""
    arn = seed_model_package(emu, group, image(1))
    seed_model_package(emu, group, image(2))
    emu.clear_requests()
    config = resolved(arn)
    package = config.package
    assert package is not None
    assert (package.arn, package.group, package.version, package.newer) == (arn, group, 1, "")
    assert config.image == ImageRef.serving(image(1))
    assert [r.operation for r in emu.requests if r.service == "sagemaker"] == ["DescribeModelPackage"]


def test_a_version_that_is_not_approved_is_refused_with_its_status(emu: Emulator, group: str) -> None:
    """A versioned ARN of a version pending approval is refused, naming its version, group, status and the way
    to approve it."""
    seed_model_package(emu, group, image(1))
    arn = seed_model_package(emu, group, image(2), status="PendingManualApproval")
    assert problem(arn) == (
        f"version 2 of model package group {group} is PendingManualApproval, not Approved; only an Approved version "
        "is deployed. Approve it in the Model Registry (aws sagemaker update-model-package --model-package-arn "
        f"{arn} --model-approval-status Approved), or name the group to deploy its latest Approved version"
    )


def test_a_version_without_status_or_number_is_refused_in_the_words_of_the_input(emu: Emulator, group: str) -> None:
    """A description without ModelApprovalStatus or version (AWS marks neither required) is not approved; the
    refusal falls back on the version and group the ARN names."""
    arn = seed_model_package(emu, group, image(1))
    emu.faults.extra_member("DescribeModelPackage", "ModelApprovalStatus", "")
    emu.faults.extra_member("DescribeModelPackage", "ModelPackageVersion", None)
    emu.faults.extra_member("DescribeModelPackage", "ModelPackageGroupName", "")
    assert problem(arn).startswith(f"version 1 of model package group {group} is not approved, not Approved;")


@pytest.mark.parametrize(
    ("containers", "count"),
    [([{"Image": image(1)}, {"Image": image(2)}], 2), ([], 0), ([{"ModelDataUrl": "s3://bucket/model.tar.gz"}], 1)],
    ids=["two", "none", "no-image"],
)
def test_a_version_that_is_not_one_container_with_an_image_is_refused(
    emu: Emulator, group: str, containers: list[dict[str, Any]], count: int
) -> None:
    """The action deploys single-container models: two containers, none, or one without an image are refused."""
    arn = seed_model_package(emu, group, image(1))
    emu.faults.extra_member("DescribeModelPackage", "InferenceSpecification", {"Containers": containers})
    assert problem(arn) == (
        f"version 1 of {group} has {count} inference containers; the action deploys single-container models: "
        "create the model yourself and deploy it with model-name"
    )


def test_a_group_with_no_approved_version_is_refused(emu: Emulator, group: str) -> None:
    """A group whose versions all wait for approval, or that has none, is refused with which of the two."""
    boto_client(emu, "sagemaker").create_model_package_group(ModelPackageGroupName=group)
    assert problem(group).startswith(f"model package group {group} has no versions in this region and account")
    seed_model_package(emu, group, image(1), status="PendingManualApproval")
    assert problem(group).startswith(f"model package group {group} has no Approved version in this region")


def test_a_missing_version_is_refused(emu: Emulator, group: str) -> None:
    """A versioned ARN nobody made is the input's problem, before anything is written."""
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:model-package/{group}/7"
    assert problem(arn) == f"no model package {arn}; check the ARN and the region"


@pytest.mark.parametrize("operation", ["ListModelPackages", "DescribeModelPackage"])
def test_access_denied_says_what_the_role_and_the_group_policy_need(emu: Emulator, group: str, operation: str) -> None:
    """AccessDenied on reading a group or a version names it, with AWS's words and what must allow it."""
    arn = seed_model_package(emu, group, image(1))
    emu.faults.deny(operation)
    what = f"model package group {group}" if operation == "ListModelPackages" else f"model package {arn}"
    message = problem(group if operation == "ListModelPackages" else arn)
    assert message.startswith(f"AWS denied reading {what}: ")
    assert "sagemaker:DescribeModelPackage and sagemaker:ListModelPackages" in message
    assert "PutModelPackageGroupPolicy" in message


@pytest.mark.parametrize("by", ["group", "arn"])
def test_other_errors_are_not_taken_for_the_inputs_fault(emu: Emulator, group: str, by: str) -> None:
    """A refusal other than AccessDenied (here throttling) is raised as AWS's error, not as a bad input."""
    arn = seed_model_package(emu, group, image(1))
    emu.faults.throttle(1)
    once = aws.Clients(REGION, Config(retries={"mode": "standard", "total_max_attempts": 1}))
    with pytest.raises(ClientError) as raised:
        packages.resolve(action_config(model_package=group if by == "group" else arn, image=""), once)
    assert aws.error_code(raised.value) == "ThrottlingException"


def test_a_package_image_is_compared_by_digest_when_it_can_be() -> None:
    """A digest-pinned image serves as written; an ECR tag is resolved like the image input; anything else is
    compared as written."""
    assert packages.package_image(image(1)) == ImageRef.serving(image(1))
    tagged = packages.package_image(f"{REPO}:v2")
    assert (tagged.repository, tagged.digest, tagged.tag, tagged.ecr_region) == (REPO, "", "v2", REGION)
    assert packages.package_image("docker.io/library/whisper:v2") == ImageRef.serving("docker.io/library/whisper:v2")


def test_a_serving_version_is_described_with_its_approval(emu: Emulator, group: str) -> None:
    """The version a serving model names is read back with its group, number and approval as the registry holds
    them now (here rejected since it was deployed)."""
    arn = seed_model_package(emu, group, image(1))
    boto_client(emu, "sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    described = packages.describe_serving(module_clients().sagemaker, PackageRef.serving(arn))
    assert (described.arn, described.group, described.version, described.approval) == (arn, group, 1, "Rejected")


@pytest.mark.parametrize("how", ["denied", "missing"])
def test_an_unreadable_serving_version_is_shown_as_its_arn_names_it(emu: Emulator, group: str, how: str) -> None:
    """Denied (another account's package) or gone: the report still names the version its ARN gives, without an
    approval, and the run goes on."""
    if how == "denied":
        arn = seed_model_package(emu, group, image(1))
        emu.faults.deny("DescribeModelPackage")
    else:
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:model-package/{group}/3"
    serving = PackageRef.serving(arn)
    assert packages.describe_serving(module_clients().sagemaker, serving) == serving
    assert (serving.group, serving.version, serving.approval) == (group, 3 if how == "missing" else 1, "")
