"""The steps Rollout's run loop and apply take, in process against the emulator: what expired or rejected
credentials and other refusals before any write become, what serves read (and refused when its config is gone),
the autoscaling record looked for without loading the autoscaling code, the model artifact read in S3 (given,
kept from the serving model, unreadable, or named by a model package instead), and a model SageMaker had not
shown yet taken as an earlier run's.

These are run against every mutant of those steps (mutate/scope.toml, scope rollout-steps). One emulator with
short timings serves the module; each test works on endpoints of its own, seeded together at the start.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from moto import settings as moto_settings

from sagemaker_async_deploy import aws, builders, packages
from sagemaker_async_deploy.config import ARTIFACT_KEY, ActionConfig
from sagemaker_async_deploy.errors import DeployError
from sagemaker_async_deploy.log import Log
from sagemaker_async_deploy.outcome import RolloutOutcome
from sagemaker_async_deploy.planner import Desired, desired_from
from sagemaker_async_deploy.rollout import Rollout
from sagemaker_async_deploy.state import read_serving
from sagemaker_emulator import Timings

from . import lab
from .conftest import started_emulator
from .factories import ROLE, action_config, image
from .lab import EmulatorLab, each_test_fresh
from .seed import seed_model_package

# Shorter than the suite's FAST_TIMINGS: every mutant runs this module, and no test here watches a status.
TIMINGS = Timings(create=0.1, update=0.1, rollback=0.1, delete=0.05)
BUCKET = "models"
WEIGHTS = f"s3://{BUCKET}/whisper/model.tar.gz"  # stored when the module starts
GONE = f"s3://{BUCKET}/whisper/deleted.tar.gz"  # never stored
# Endpoints the module's tests start from, InService on image 1, and the inputs they were deployed with.
SEEDED: dict[str, dict[str, str]] = {
    "stale": {},
    "rejected": {},
    "denied": {},
    "unseen": {},
    "orphaned": {},
    "unrecorded": {},
    "kept": {"model_data_url": WEIGHTS},
    "kept-gone": {"model_data_url": GONE},
    "kept-forbidden": {"model_data_url": WEIGHTS},
    "packaged": {"model_data_url": WEIGHTS},
    "registry": {},
}


def config(name: str, **inputs: str) -> ActionConfig:
    """A deploy of image 1 (unless ``inputs`` say otherwise) to endpoint ``name``, polling every 0.02 s."""
    return action_config(
        endpoint_name=name,
        poll_interval_seconds="0.02",
        deployment_timeout_minutes="1",
        **{"execution_role_arn": ROLE, **inputs},
    )


class Lab(EmulatorLab):
    """The module's emulator, the clients the action uses, and the steps the tests share."""

    def start(self, cfg: ActionConfig) -> lab.Run:
        stream = io.StringIO()
        return lab.Run(Rollout(cfg, self.clients, Log(stream)), stream)

    def desired(self, name: str, **inputs: str) -> Desired:
        """What a run with ``inputs`` would roll out onto ``name`` as it serves now (nothing made, nothing read in
        S3)."""
        endpoint = aws.describe_endpoint(self.sm, name)
        current = None if endpoint is None else read_serving(self.sm, endpoint, "AllTraffic", need_model=True)
        return desired_from(config(name, **inputs), current, self.shapes)

    def seed(self) -> None:
        """The bucket with the model artifact, and every endpoint the tests start from."""
        self.clients.s3.create_bucket(Bucket=BUCKET)
        self.clients.s3.put_object(Bucket=BUCKET, Key="whisper/model.tar.gz", Body=b"weights v1")
        for name, inputs in SEEDED.items():
            desired = self.desired(name, **inputs)
            assert desired.model_request is not None
            self.sm.create_model(**desired.model_request)
            self.sm.create_endpoint_config(**desired.config_request)
            self.sm.create_endpoint(
                **builders.create_endpoint_request(
                    desired.endpoint_name, desired.config_name, desired.deployment_config, desired.tags
                )
            )
        for name in SEEDED:
            self.settle(name)

    def sagemaker_writes(self) -> list[str]:
        """SageMaker's write calls since the log was cleared: "CreateModel m" (a refused one with its status:
        "CreateModel m 400")."""
        names = ("EndpointName", "EndpointConfigName", "ModelName", "ResourceArn")
        return [
            f"{r.operation} {next(r.params[n] for n in names if n in r.params)}"
            + ("" if r.status == 200 else f" {r.status}")
            for r in self.emu.write_calls("sagemaker")
        ]

    def s3_reads(self) -> list[str]:
        return [r.operation for r in self.emu.requests if r.service == "s3"]

    def artifact_tag(self, model_name: str) -> str:
        """The artifact the action recorded on the model ("" for none)."""
        arn = self.sm.describe_model(ModelName=model_name)["ModelArn"]
        return aws.list_tags(self.sm, arn).get(ARTIFACT_KEY, "")

    def etag(self) -> str:
        return str(self.clients.s3.head_object(Bucket=BUCKET, Key="whisper/model.tar.gz")["ETag"]).strip('"')


@pytest.fixture(scope="module")
def steps() -> Iterator[Lab]:
    with started_emulator(environ=True, timings=TIMINGS) as emu:
        the_lab = Lab(emu)
        the_lab.seed()
        yield the_lab


@pytest.fixture(autouse=True)
def fresh_log(steps: Lab) -> Iterator[None]:
    yield from each_test_fresh(steps.emu)


def refused(run: lab.Run) -> DeployError:
    with pytest.raises(DeployError) as refusal:
        run.rollout.run()
    return refusal.value


# --- credentials and refusals before any write -----------------------------------------------------------------


def test_credentials_expired_before_any_write_say_to_get_fresh_ones_right_before_the_step(steps: Lab) -> None:
    """A session token already expired at the first call: nothing was changed, so the error says to run
    configure-aws-credentials right before this step, of kind 'credentials-stale', not the one for a token that
    ran out mid-rollout."""
    steps.emu.faults.expire_credentials()
    run = steps.start(config("stale", image=image(2)))
    refusal = refused(run)
    assert str(refusal) == (
        "AWS credentials had expired before the action changed anything (ExpiredTokenException). Run "
        "aws-actions/configure-aws-credentials in this job, right before this step."
    )
    assert refusal.kind == "credentials-stale"
    assert run.outcome.writes == []


def test_rejected_credentials_say_to_check_the_configure_step(steps: Lab) -> None:
    """Credentials AWS does not know: the error names the code and the configure-aws-credentials step to check,
    of kind 'credentials-rejected'."""
    steps.emu.faults.reject_credentials(code="InvalidClientTokenId")
    refusal = refused(steps.start(config("rejected", image=image(2))))
    assert str(refusal) == (
        "AWS rejected the credentials (InvalidClientTokenId): check the aws-actions/configure-aws-credentials step "
        "before this one (role, region, account) and that no stale AWS_* variable overrides it."
    )
    assert refusal.kind == "credentials-rejected"


def test_a_model_the_role_may_not_create_ends_the_run_with_sagemakers_error_and_nothing_made(steps: Lab) -> None:
    """CreateModel refused (a role without sagemaker:CreateModel) at the first write: SageMaker's own error ends
    the run, not taken for stale credentials, and nothing after it is attempted or counted as written."""
    desired = steps.desired("denied", image=image(2))
    steps.emu.faults.deny("CreateModel")
    run = steps.start(config("denied", image=image(2)))
    with pytest.raises(ClientError) as raised:
        run.rollout.run()
    assert aws.error_code(raised.value) == "AccessDeniedException"
    assert steps.sagemaker_writes() == [f"CreateModel {desired.model_name} 400"]
    assert run.outcome.writes == []


def test_a_model_sagemaker_does_not_show_yet_is_taken_as_an_earlier_runs_and_the_update_goes_on(steps: Lab) -> None:
    """An earlier run made the model a moment ago and SageMaker does not show it yet (DescribeModel: not found,
    CreateModel: already existing): it is reused, counted among the writes, and the update goes on."""
    desired = steps.desired("unseen", image=image(2))
    assert desired.model_request is not None
    steps.emu.faults.invisible_after_create(1)
    steps.sm.create_model(**desired.model_request)
    steps.emu.faults.invisible_after_create(0)
    steps.emu.clear_requests()
    run = steps.start(config("unseen", image=image(2)))
    outcome = run.rollout.run()
    assert outcome.result == "updated", outcome.message
    assert steps.sagemaker_writes()[:3] == [
        f"CreateModel {desired.model_name} 400",
        f"CreateEndpointConfig {desired.config_name}",
        "UpdateEndpoint unseen",
    ]
    assert outcome.writes[:2] == [f"model {desired.model_name}", f"endpoint config {desired.config_name}"]
    assert steps.serving("unseen").model_name == desired.model_name


# --- what serves --------------------------------------------------------------------------------------------


def test_an_endpoint_whose_config_was_deleted_is_refused_before_any_write_saying_to_recreate_it(steps: Lab) -> None:
    """The serving config deleted while in use (Terraform's create_before_destroy): refused at once, of kind
    'missing-config', saying to create it again under its name; no model or config is made."""
    old = steps.serving("orphaned")
    steps.sm.delete_endpoint_config(EndpointConfigName=old.config_name)
    steps.emu.clear_requests()
    refusal = refused(steps.start(config("orphaned", image=image(2))))
    assert str(refusal) == (
        f"endpoint-name: the endpoint serves endpoint config '{old.config_name}', which no longer exists: it was "
        "deleted while still in use (Terraform's create_before_destroy does this after an update it took for a "
        "success, terraform-provider-aws #48997). SageMaker refuses every update of the endpoint until a config of "
        'that name exists again ("Could not find endpoint configuration"). Create it again under the same name with '
        "the settings it had (from your Terraform code or state), then rerun; deleting and recreating the endpoint "
        "also works, with downtime. Nothing was changed."
    )
    assert refusal.kind == "missing-config"
    assert steps.sagemaker_writes() == []


def test_an_endpoint_without_an_autoscaling_record_is_read_without_loading_the_autoscaling_code(
    steps: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unchanged endpoint whose tags hold no autoscaling record: its tags are read once and the autoscaling
    code is never imported (the no-change path stays cheap)."""
    monkeypatch.setitem(sys.modules, "sagemaker_async_deploy.autoscaling", None)  # importing it now fails
    outcome = steps.start(config("unrecorded")).rollout.run()
    assert (outcome.result, outcome.message) == ("unchanged", "")
    assert [r.operation for r in steps.emu.requests if r.operation == "ListTags"] == ["ListTags"]


# --- the model artifact -----------------------------------------------------------------------------------------


def test_model_data_url_is_read_in_s3_and_recorded_on_the_model_made(steps: Lab) -> None:
    """model-data-url given: the object is read in S3, the log names its ETag, and the model made carries it."""
    etag = steps.etag()
    run = steps.start(config("fresh", model_data_url=WEIGHTS))
    outcome = run.rollout.run()
    assert outcome.result == "created", outcome.message
    assert f"Model artifact {WEIGHTS}: ETag {etag[:8]}…." in run.lines
    assert steps.artifact_tag(outcome.serving_model) == f"etag={etag}"


def test_the_serving_models_artifact_kept_by_an_update_is_read_and_recorded(steps: Lab) -> None:
    """No model-data-url: the update keeps the serving model's artifact, reads it in S3 and records it on the new
    model."""
    etag = steps.etag()
    run = steps.start(config("kept", image=image(2)))
    outcome = run.rollout.run()
    assert outcome.result == "updated", outcome.message
    assert f"Model artifact {WEIGHTS}: ETag {etag[:8]}…." in run.lines
    assert steps.artifact_tag(outcome.serving_model) == f"etag={etag}"


def test_a_kept_artifact_no_longer_stored_is_compared_by_url_and_the_run_goes_on(steps: Lab) -> None:
    """The serving model's artifact is gone from S3: a note says it is compared by URL, and the run goes on
    (nothing changed here)."""
    run = steps.start(config("kept-gone"))
    outcome = run.rollout.run()
    assert (outcome.result, outcome.message) == ("unchanged", "")
    assert f"The model artifact {GONE} could not be read (nothing stored there): compared by URL." in run.lines


def test_a_kept_artifact_s3_refuses_to_show_is_compared_by_url_and_the_run_goes_on(
    steps: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3 answers HeadObject of the serving model's artifact with 403 (a role without s3:GetObject): a note
    names the code and says it is compared by URL, and the run goes on."""
    # moto checks every request's credentials from now on; the test's dummy ones are refused with a bare 403.
    monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    run = steps.start(config("kept-forbidden"))
    outcome = run.rollout.run()
    assert (outcome.result, outcome.message) == ("unchanged", "")
    assert f"The model artifact {WEIGHTS} could not be read (403): compared by URL." in run.lines


def test_a_model_package_records_no_artifact_of_the_model_it_replaces(steps: Lab) -> None:
    """A model package names its own artifact: the serving model's is not read in S3, and the package's model
    carries no artifact record."""
    arn = seed_model_package(steps.emu, "whisper-steps", image(2))
    steps.emu.clear_requests()
    resolved = packages.resolve(config("packaged", model_package=arn, image=""), steps.clients)
    run = steps.start(resolved)
    outcome = run.rollout.run()
    assert outcome.result == "updated", outcome.message
    assert steps.s3_reads() == []
    assert not any("Model artifact" in line for line in run.lines)
    assert steps.artifact_tag(outcome.serving_model) == ""


def test_the_package_version_an_update_replaces_is_described_only_when_an_image_replaces_it(steps: Lab) -> None:
    """An endpoint moved from an image to a package, then to a newer version, then back to an image: only the last
    update, which no package input names, reads the version it replaces for the report (its group and approval);
    a run that changes nothing reads no package, even of an endpoint serving one."""
    first = seed_model_package(steps.emu, "whisper-registry", image(2))
    newer = seed_model_package(steps.emu, "whisper-registry", image(3))

    def deploy(**inputs: str) -> RolloutOutcome:
        cfg = config("registry", **inputs)
        if inputs.get("model_package"):
            cfg = packages.resolve(cfg, steps.clients)
        steps.emu.clear_requests()
        outcome = steps.start(cfg).rollout.run()
        assert outcome.result in ("updated", "unchanged"), outcome.message
        return outcome

    for arn in (first, newer):
        outcome = deploy(model_package=arn, image="")
        assert (outcome.result, outcome.replaced_package) == ("updated", None)
    packaged_model = deploy(model_package=newer, image="").serving_model
    unchanged = deploy(model_name=packaged_model, image=image(3), execution_role_arn="")
    assert (unchanged.result, unchanged.replaced_package) == ("unchanged", None)
    assert "DescribeModelPackage" not in steps.emu.operations("sagemaker")
    outcome = deploy(image=image(1))
    assert outcome.result == "updated"
    assert outcome.replaced_package is not None
    assert (outcome.replaced_package.arn, outcome.replaced_package.approval) == (newer, "Approved")
    assert outcome.replaced_package.group == "whisper-registry"
