"""model-package: the real action deploys what the Model Registry approved, against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sagemaker_emulator import Behaviour, Emulator

from ..action_runner import digest_image
from ..conftest import ACCOUNT_ID, FAST_TIMINGS, boto_client
from ..seed import ECR_REGISTRY, seed_ecr_image, seed_model_package
from .test_safety import plain
from .test_scenarios import Deployer

GROUP = "whisper-models"
# The inputs of a run that deploys a package: no image (the package names it).
PACKAGE = {"model-package": GROUP, "image": None}


@pytest.fixture(params=["as-created", "with-image"])
def deployer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployer]:
    """A Deployer on an emulator whose DescribeModel of a package model is either of the two answers AWS may give
    (Behaviour.package_model_description)."""
    behaviour = Behaviour(package_model_description=request.param)
    emu = Emulator(timings=FAST_TIMINGS, account_id=ACCOUNT_ID, behaviour=behaviour).start(port=0)
    try:
        yield Deployer(emu, tmp_path)
    finally:
        emu.stop()


def test_first_deploy_of_a_group_deploys_its_latest_approved_version(deployer: Deployer) -> None:
    """With a group name, the latest Approved version is deployed: the model names the package, the outputs name the
    version and its image."""
    seed_model_package(deployer.emu, GROUP, digest_image(1))
    arn = seed_model_package(deployer.emu, GROUP, digest_image(2))
    seed_model_package(deployer.emu, GROUP, digest_image(3), status="Rejected")
    run = deployer.run(PACKAGE)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "created"
    assert run.outputs["model-package-arn"] == arn
    assert run.outputs["image"] == digest_image(2)
    create = next(r for r in deployer.emu.requests if r.operation == "CreateModel").params
    assert create["PrimaryContainer"] == {"ModelPackageName": arn}
    assert create["ExecutionRoleArn"]
    assert {"field": "model-package", "from": "", "to": arn} in run.changes
    summary = plain(run.summary)
    assert "Version `2` of group `whisper-models`" in summary and "Approval: `Approved`" in summary
    group_page = (
        "https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/model-registry/whisper-models"
    )
    assert f"[the group's versions in the SageMaker console]({group_page})" in run.summary


def test_a_newer_approved_version_is_an_update_and_the_old_model_is_removed(deployer: Deployer) -> None:
    """A version approved after the serving one is planned as a change of model-package (and image) and rolled out."""
    first_arn = seed_model_package(deployer.emu, GROUP, digest_image(1))
    first = deployer.run(PACKAGE)
    second_arn = seed_model_package(deployer.emu, GROUP, digest_image(2))
    run = deployer.run(PACKAGE)
    assert run.result == "updated", run.stdout + run.stderr
    assert {"field": "model-package", "from": first_arn, "to": second_arn} in run.changes
    assert [c["field"] for c in run.changes][:2] == ["image", "model-package"]
    assert run.outputs["model-package-arn"] == second_arn
    assert deployer.models() == {run.outputs["model-name"]}
    assert run.outputs["model-name"] != first.outputs["model-name"]


def test_the_same_approved_version_is_unchanged(deployer: Deployer) -> None:
    """Rerun with nothing new approved: unchanged, nothing written, the output still names the serving version."""
    arn = seed_model_package(deployer.emu, GROUP, digest_image(1))
    deployer.run(PACKAGE)
    run = deployer.run(PACKAGE)
    assert run.result == "unchanged", run.stdout + run.stderr
    assert deployer.emu.write_calls() == []
    assert run.outputs["model-package-arn"] == arn


def test_a_newer_pending_version_leaves_the_endpoint_unchanged_and_says_so(deployer: Deployer) -> None:
    """A version registered after the approved one but not approved itself is not deployed, and the log and the
    summary say why."""
    seed_model_package(deployer.emu, GROUP, digest_image(1))
    deployer.run(PACKAGE)
    seed_model_package(deployer.emu, GROUP, digest_image(2), status="PendingManualApproval")
    run = deployer.run(PACKAGE)
    assert run.result == "unchanged", run.stdout + run.stderr
    assert deployer.emu.write_calls() == []
    said = "version 2 of whisper-models is newer but pendingmanualapproval"
    assert said in run.stdout.lower()
    assert said in plain(run.summary).lower()


def test_an_unapproved_version_arn_is_refused_before_any_write(deployer: Deployer) -> None:
    """A versioned ARN that is not Approved is an input error naming its status; nothing is written."""
    arn = seed_model_package(deployer.emu, GROUP, digest_image(1), status="PendingManualApproval")
    run = deployer.run({"model-package": arn, "image": None})
    assert run.exit_code != 0
    assert deployer.emu.write_calls() == []
    errors = run.errors()
    assert any("model-package" in e and "is PendingManualApproval, not Approved" in e for e in errors), errors


def test_a_group_without_an_approved_version_is_refused(deployer: Deployer) -> None:
    """A group whose versions all wait for approval deploys nothing and says so."""
    seed_model_package(deployer.emu, GROUP, digest_image(1), status="PendingManualApproval")
    run = deployer.run(PACKAGE)
    assert run.exit_code != 0
    assert deployer.emu.write_calls() == []
    assert any("has no Approved version" in e for e in run.errors()), run.errors()


def test_a_denied_describe_points_at_the_resource_policy(deployer: Deployer) -> None:
    """AccessDenied on DescribeModelPackage (another account's package, say) is an error about permissions and the
    group's resource policy, with nothing written."""
    arn = seed_model_package(deployer.emu, GROUP, digest_image(1))
    deployer.emu.faults.deny("DescribeModelPackage")
    run = deployer.run({"model-package": arn, "image": None})
    assert run.exit_code != 0
    assert deployer.emu.write_calls() == []
    assert any("resource policy" in e and "sagemaker:DescribeModelPackage" in e for e in run.errors()), run.errors()


def test_a_package_endpoint_is_updated_to_an_image_and_back(deployer: Deployer) -> None:
    """An endpoint serving a package takes an image (the package leaves the model), and then a package again."""
    arn = seed_model_package(deployer.emu, GROUP, digest_image(1))
    deployer.run(PACKAGE)
    to_image = deployer.run({"image": digest_image(5)})
    assert to_image.result == "updated", to_image.stdout + to_image.stderr
    assert {"field": "model-package", "from": arn, "to": ""} in to_image.changes
    assert to_image.outputs["model-package-arn"] == ""
    # The version it replaced, read from the registry: which one, its approval, where to see its group.
    summary = plain(to_image.summary)
    assert "Model package served before this run" in summary
    assert "Version `1` of group `whisper-models`" in summary and "Approval: `Approved`" in summary
    assert "#/model-registry/whisper-models" in to_image.summary
    model = deployer.sm.describe_model(ModelName=to_image.outputs["model-name"])
    assert model["PrimaryContainer"]["Image"] == digest_image(5)
    assert "ModelPackageName" not in model["PrimaryContainer"]
    back = deployer.run(PACKAGE)
    assert back.result == "updated", back.stdout + back.stderr
    assert back.outputs["model-package-arn"] == arn
    assert back.outputs["image"] == digest_image(1)
    container = deployer.sm.describe_model(ModelName=back.outputs["model-name"])["PrimaryContainer"]
    assert container["ModelPackageName"] == arn
    assert deployer.models() == {back.outputs["model-name"]}


def test_plan_mode_shows_the_version_it_would_deploy(deployer: Deployer) -> None:
    """In plan mode the version is resolved and shown, and nothing is written."""
    arn = seed_model_package(deployer.emu, GROUP, digest_image(1))
    run = deployer.run({**PACKAGE, "mode": "plan"})
    assert run.result == "would-create", run.stdout + run.stderr
    assert deployer.emu.write_calls() == []
    assert {"field": "model-package", "from": "", "to": arn} in run.changes


@pytest.mark.parametrize(
    ("inputs", "input_name", "words"),
    [
        ({"model-package": GROUP}, "model-package", "give either image or model-package, not both"),
        ({**PACKAGE, "model-name": "terraform-whisper"}, "model-package", "leave it empty when model-name is given"),
        ({**PACKAGE, "model-data-url": "s3://models/a.tar.gz"}, "model-data-url", "names its own model artifact"),
        ({"image": None}, "image", "is required unless model-package is given"),
        (
            {"model-package": f"arn:aws:sagemaker:us-east-1:{ACCOUNT_ID}:model-package/whisper-abc", "image": None},
            "model-package",
            "is an unversioned model package",
        ),
        ({"model-package": "not a group!", "image": None}, "model-package", "is neither a versioned model package"),
    ],
)
def test_bad_combinations_are_input_errors_before_any_call(
    emulator: Emulator, tmp_path: Path, inputs: dict[str, str | None], input_name: str, words: str
) -> None:
    """Each bad combination or form is an ::error naming the input, and no AWS call is made."""
    deployer = Deployer(emulator, tmp_path)
    run = deployer.run(inputs)  # type: ignore[arg-type]  # None removes an input
    assert run.exit_code != 0
    assert any(f"{input_name}: " in e and words in e for e in run.errors()), run.errors()
    assert emulator.requests == []


def test_a_group_of_another_account_is_listed_by_its_arn(deployer: Deployer) -> None:
    """A group given by ARN (how another account's group is named) is listed by that ARN."""
    seed_model_package(deployer.emu, GROUP, digest_image(1))
    group_arn = boto_client(deployer.emu, "sagemaker").describe_model_package_group(ModelPackageGroupName=GROUP)[
        "ModelPackageGroupArn"
    ]
    run = deployer.run({"model-package": group_arn, "image": None})
    assert run.result == "created", run.stdout + run.stderr
    listed = [r.params for r in deployer.emu.requests if r.operation == "ListModelPackages"]
    assert listed and all(p["ModelPackageGroupName"] == group_arn for p in listed)
    assert all(p["SortBy"] == "CreationTime" and p["SortOrder"] == "Descending" for p in listed)


def test_a_version_naming_an_ecr_tag_is_compared_by_its_digest(deployer: Deployer) -> None:
    """A version whose container names an ECR :tag runs that tag's digest (resolved through ECR like the image
    input): the rerun is unchanged, and the output names the digest."""
    digest = seed_ecr_image(deployer.emu, "whisper", "v7")
    seed_model_package(deployer.emu, GROUP, f"{ECR_REGISTRY}/whisper:v7")
    first = deployer.run(PACKAGE)
    assert first.result == "created", first.stdout + first.stderr
    assert first.outputs["image"] == f"{ECR_REGISTRY}/whisper@{digest}"
    assert deployer.run(PACKAGE).result == "unchanged"
