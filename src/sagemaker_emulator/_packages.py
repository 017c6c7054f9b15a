"""The Model Registry: model package groups and their versioned model packages.

Shapes are botocore's (CreateModelPackageGroup, CreateModelPackage, DescribeModelPackage, ListModelPackages,
UpdateModelPackage in the SageMaker service model); requests are validated against them like every other
operation. What each answer holds is cited beside it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

from ._state import JSON, Region, key

# A versioned package's ARN: model-package/<group>/<version> (ModelPackageArn in the service model; the API
# reference of CreateModelPackage: versioned packages are "part of a model group"). Names in ARNs are lower case.
_VERSIONED_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:\d{12}:model-package/(?P<name>.+)$")


class ApiRefusal(Exception):
    """A refusal, raised with the error type and message the backend answers it with."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


class ModelPackages:
    """Groups and versions per region, kept in the backend's Region."""

    def __init__(self, account_id: str, arn: Callable[[str, str, str], str]) -> None:
        self.account_id = account_id
        self._arn = arn

    # --- groups ---------------------------------------------------------------------------------------------

    def create_group(self, state: Region, region: str, p: JSON, now: float) -> JSON:
        name = str(p["ModelPackageGroupName"])
        arn = self._arn(region, "model-package-group", name)
        if key(name) in state.package_groups:
            # The service model lists no ConflictException for CreateModelPackageGroup; SageMaker answers an
            # existing name with a ValidationException, like every Create* of this API (the emulator's wording).
            raise ApiRefusal("ValidationException", f'Model Package Group already exists: "{arn}".')
        state.package_groups[key(name)] = {
            "ModelPackageGroupName": name,
            "ModelPackageGroupArn": arn,
            "ModelPackageGroupDescription": str(p.get("ModelPackageGroupDescription", "")),
            "CreationTime": now,
            "CreatedBy": {},
            "ModelPackageGroupStatus": "Completed",
        }
        return {"ModelPackageGroupArn": arn}

    def describe_group(self, state: Region, region: str, p: JSON, now: float) -> JSON:
        group = state.package_groups.get(key(_name_of(str(p["ModelPackageGroupName"]))))
        if group is None:
            raise ApiRefusal("ValidationException", f"ModelPackageGroup {p['ModelPackageGroupName']} does not exist.")
        return copy.deepcopy(group)

    # --- versions -------------------------------------------------------------------------------------------

    def create(self, state: Region, region: str, p: JSON, now: float) -> JSON:
        group_name = p.get("ModelPackageGroupName")
        if not group_name:
            # Unversioned packages are what AWS Marketplace sellers list; the action deploys them only through a
            # model made from them (model-name), so the emulator does not model them.
            raise ApiRefusal("ValidationException", "The emulator models versioned model packages only.")
        group = state.package_groups.get(key(_name_of(str(group_name))))
        if group is None:
            raise ApiRefusal("ValidationException", f"Model Package Group {group_name} does not exist.")
        name = str(group["ModelPackageGroupName"])
        version = 1 + sum(1 for pkg in state.packages.values() if key(pkg["ModelPackageGroupName"]) == key(name))
        arn = self._arn(region, "model-package", f"{name}/{version}")
        package: JSON = {
            # DescribeModelPackage of a versioned package: ModelPackageName is the group's name, and the version
            # is its own member (DescribeModelPackageOutput in the service model).
            "ModelPackageName": name,
            "ModelPackageGroupName": name,
            "ModelPackageVersion": version,
            "ModelPackageArn": arn,
            "CreationTime": now,
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            # CreateModelPackage's API reference: ModelApprovalStatus is optional for versioned models and must
            # be Approved to deploy; without it a version waits for approval (the SageMaker Python SDK's
            # Model.register documents approval_status "default: PendingManualApproval").
            "ModelApprovalStatus": str(p.get("ModelApprovalStatus", "PendingManualApproval")),
            "LastModifiedTime": now,
        }
        for member in ("ModelPackageDescription", "InferenceSpecification", "CertifyForMarketplace", "Domain", "Task"):
            if member in p:
                package[member] = copy.deepcopy(p[member])
        state.packages[key(arn)] = package
        return {"ModelPackageArn": arn}

    def find(self, state: Region, region: str, name_or_arn: str) -> JSON | None:
        """A package by its versioned ARN (what CreateModel's ModelPackageName and DescribeModelPackage take)."""
        if _VERSIONED_ARN.match(name_or_arn):
            return state.packages.get(key(name_or_arn))
        return None

    def describe(self, state: Region, region: str, p: JSON, now: float) -> JSON:
        package = self.find(state, region, str(p["ModelPackageName"]))
        if package is None:
            # The emulator's wording; the action treats any ValidationException here as "no such package".
            raise ApiRefusal("ValidationException", f"ModelPackage {p['ModelPackageName']} does not exist.")
        return copy.deepcopy(package)

    def list(self, state: Region, region: str, p: JSON, now: float) -> list[JSON]:
        """ModelPackageSummaryList before sorting and paging."""
        items = [_summary(pkg) for pkg in state.packages.values()]
        if p.get("ModelPackageGroupName"):
            group = key(_name_of(str(p["ModelPackageGroupName"])))
            items = [i for i in items if key(i["ModelPackageGroupName"]) == group]
        if p.get("ModelApprovalStatus"):
            items = [i for i in items if i.get("ModelApprovalStatus") == p["ModelApprovalStatus"]]
        if p.get("ModelPackageType") == "Unversioned":
            items = []
        return items

    def update(self, state: Region, region: str, p: JSON, now: float) -> JSON:
        package = self.find(state, region, str(p["ModelPackageArn"]))
        if package is None:
            raise ApiRefusal("ValidationException", f"ModelPackage {p['ModelPackageArn']} does not exist.")
        for member in ("ModelApprovalStatus", "ApprovalDescription"):
            if member in p:
                package[member] = p[member]
        package["LastModifiedTime"] = now
        return {"ModelPackageArn": package["ModelPackageArn"]}


def _name_of(name_or_arn: str) -> str:
    """A group given by name or by ARN (ListModelPackages' ModelPackageGroupName is an ArnOrName)."""
    return name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn


def _summary(package: JSON) -> JSON:
    """ModelPackageSummary: the members the service model gives it, from the package's description."""
    members = (
        "ModelPackageName",
        "ModelPackageGroupName",
        "ModelPackageVersion",
        "ModelPackageArn",
        "ModelPackageDescription",
        "CreationTime",
        "ModelPackageStatus",
        "ModelApprovalStatus",
    )
    return {m: copy.deepcopy(package[m]) for m in members if m in package}


def containers(package: JSON) -> list[JSON]:
    """The inference containers a model made from the package runs."""
    return list((package.get("InferenceSpecification") or {}).get("Containers") or [])
