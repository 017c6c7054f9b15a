"""The Model Registry: the model-package input resolved to the version to deploy and the image it runs.

A versioned package ARN is described; a group (by name, or by ARN for another account's group) gives its latest
Approved version by creation time. The planner then compares the version's ARN and its image with what serves,
so a newly approved version is a change and the same one is not. A version that is not Approved is refused
before anything is written, with its status. Read-only calls only (DescribeModelPackage, ListModelPackages);
run before the plan, in plan mode too.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from . import aws
from ._checks import ImageRef, PackageRef, ecr_tag_image, image_digest
from .config import ActionConfig
from .errors import InputError, InputProblem
from .log import safe

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

INPUT = "model-package"
APPROVED = "Approved"
DENIED = ("AccessDenied", "AccessDeniedException")


def resolve(config: ActionConfig, clients: aws.Clients) -> ActionConfig:
    """The config with the package version to deploy and its image; unchanged without model-package."""
    given = config.package
    if given is None:
        return config
    sm = clients.sagemaker
    newer = ""
    if given.arn:
        arn = given.arn
    else:
        latest, newest = _latest(sm, given)
        arn = str(latest["ModelPackageArn"])
        if newest is not None and newest.get("ModelPackageArn") != latest.get("ModelPackageArn"):
            newer = (
                f"version {newest.get('ModelPackageVersion', '?')} of {given.group} is newer but "
                f"{newest.get('ModelApprovalStatus', 'not approved')}, so the latest Approved version, "
                f"{latest.get('ModelPackageVersion', '?')}, is the one deployed"
            )
    package = _describe(sm, arn)
    status = str(package.get("ModelApprovalStatus", ""))
    version = int(package.get("ModelPackageVersion") or given.version or 0)
    group = str(package.get("ModelPackageGroupName") or given.group)
    if status != APPROVED:
        raise InputError(
            [
                InputProblem(
                    INPUT,
                    f"version {version} of model package group {safe(group)} is {safe(status or 'not approved')}, "
                    "not Approved; only an Approved version is deployed. Approve it in the Model Registry "
                    f"(aws sagemaker update-model-package --model-package-arn {safe(arn)} --model-approval-status "
                    "Approved), or name the group to deploy its latest Approved version",
                )
            ]
        )
    containers = list((package.get("InferenceSpecification") or {}).get("Containers") or [])
    # equivalent mutant core/NumberReplacer: containers[0] is read only when there is exactly one, so [-1] is it.
    if len(containers) != 1 or not containers[0].get("Image"):
        raise InputError(
            [
                InputProblem(
                    INPUT,
                    f"version {version} of {safe(group)} has {len(containers)} inference containers; the action "
                    "deploys single-container models: create the model yourself and deploy it with model-name",
                )
            ]
        )
    resolved = PackageRef(
        given=given.given,
        arn=str(package.get("ModelPackageArn", arn)),
        group=group,
        version=version,
        approval=status,
        newer=newer,
    )
    # equivalent mutant core/NumberReplacer: exactly one container here, so containers[-1] is containers[0].
    return config.with_package(resolved, package_image(str(containers[0]["Image"])))


def describe_serving(sm: SageMakerClient, serving: PackageRef) -> PackageRef:
    """The package version a serving model is made from, with its group, number and approval as the registry
    holds them now, for the report of a run whose inputs name no package (an update from a package to an image).
    Only shown, never planned by: a version that cannot be read (deleted, another account's without a resource
    policy for this one, a role without DescribeModelPackage) is shown as its ARN names it, without approval."""
    if not serving.arn:
        return serving
    try:
        package = aws.describe_model_package(sm, serving.arn)
    except ClientError:
        return serving
    if package is None:
        return serving
    return replace(
        serving,
        # An unversioned package (a Marketplace listing) has neither member: what its ARN names stands.
        group=str(package.get("ModelPackageGroupName", serving.group)),
        version=int(package.get("ModelPackageVersion", serving.version)),
        approval=str(package.get("ModelApprovalStatus", "")),
    )


def package_image(image: str) -> ImageRef:
    """The image a package's container names: pinned by digest, an ECR tag (resolved to its digest like the image
    input, so the planner compares digests), or anything else, compared as written."""
    if image_digest(image):
        return ImageRef.serving(image)
    return ecr_tag_image(image) or ImageRef.serving(image)


def _latest(sm: SageMakerClient, given: PackageRef) -> tuple[aws.Json, aws.Json | None]:
    """The group's latest Approved version and its newest version of any status (None when it is the same)."""
    try:
        approved = aws.newest_model_package(sm, given.group, APPROVED)
        newest = aws.newest_model_package(sm, given.group, None)
    except ClientError as error:
        raise _refusal(error, f"model package group {safe(given.group)}") from error
    if approved is None:
        what = "has no versions" if newest is None else "has no Approved version"
        raise InputError(
            [
                InputProblem(
                    INPUT,
                    f"model package group {safe(given.group)} {what} in this region and account (or one this "
                    "account may read); approve a version in the Model Registry first, or check the name",
                )
            ]
        )
    return approved, newest


def _describe(sm: SageMakerClient, arn: str) -> aws.Json:
    try:
        package = aws.describe_model_package(sm, arn)
    except ClientError as error:
        raise _refusal(error, f"model package {safe(arn)}") from error
    if package is None:
        raise InputError([InputProblem(INPUT, f"no model package {safe(arn)}; check the ARN and the region")])
    return package


def _refusal(error: ClientError, what: str) -> Exception:
    """AccessDenied on a package is most often another account's package without a resource policy for this one."""
    if aws.error_code(error) not in DENIED:
        return error
    return InputError(
        [
            InputProblem(
                INPUT,
                f"AWS denied reading {what}: {safe(aws.error_message(error))}. The deploying role needs "
                "sagemaker:DescribeModelPackage and sagemaker:ListModelPackages on it; a package of another "
                "account is readable only when its model package group's resource policy "
                "(PutModelPackageGroupPolicy) allows this account those actions and sagemaker:CreateModel",
            )
        ]
    )
