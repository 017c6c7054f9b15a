"""Preflight's remote checks in process, with real boto3 clients against the emulator: each refusal by its input
and exact message, which problems come back together, and what is not a problem."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from botocore.exceptions import EndpointConnectionError

from sagemaker_async_deploy import aws
from sagemaker_async_deploy._checks import ImageRef
from sagemaker_async_deploy.config import ActionConfig
from sagemaker_async_deploy.errors import InputError, InputProblem
from sagemaker_async_deploy.preflight import check_instance_type, check_resources, resolve_image
from sagemaker_emulator import Emulator

from .conftest import ACCOUNT_ID, REGION, boto_client, started_emulator
from .factories import ROLE, action_config, image
from .seed import ECR_REGISTRY, seed_alarm, seed_ecr_image, seed_topic

MODEL = "terraform-model"
OTHER_ACCOUNT_ROLE = "arn:aws:iam::999999999999:role/sagemaker"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}"
PUSH_IT = "(unknown repository or tag); push it first, or pass the digest: <registry>/<repo>@sha256:<64 hex>"
NOT_HOSTED = "is not an instance type SageMaker hosts endpoints on; expected e.g. ml.g4dn.xlarge or ml.m5.large"


# One emulator and one set of clients for the module, the emulator emptied before each test: building the
# clients (botocore loading SageMaker's service model) costs more than every request of a test together.
@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[Emulator]:
    with started_emulator(environ=True) as emu:
        yield emu


@pytest.fixture
def emulator(shared_emulator: Emulator) -> Emulator:
    """The module's emulator with no resources, faults or recorded requests."""
    shared_emulator.reset()
    return shared_emulator


@pytest.fixture(scope="module")
def clients(shared_emulator: Emulator) -> aws.Clients:
    """The clients main builds: the endpoint's region, endpoint URL and credentials from the environment."""
    built = aws.Clients(REGION)
    assert built.sagemaker.meta.region_name == REGION  # the session and SageMaker's model, loaded once
    return built


def unreachable(service: str, clients: aws.Clients, monkeypatch: pytest.MonkeyPatch) -> aws.Clients:
    """Clients of the same session whose ``service`` endpoint refuses connections (botocore's
    EndpointConnectionError), tried once."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service.upper()}", f"http://127.0.0.1:{port}")
    return clients.hurried()


@pytest.fixture
def cloudwatch_unreachable(emulator: Emulator, clients: aws.Clients, monkeypatch: pytest.MonkeyPatch) -> aws.Clients:
    return unreachable("cloudwatch", clients, monkeypatch)


def seed_model(emu: Emulator, container_image: str) -> None:
    """The existing model MODEL (as Terraform would make it) running ``container_image``."""
    boto_client(emu, "sagemaker").create_model(
        ModelName=MODEL, PrimaryContainer={"Image": container_image}, ExecutionRoleArn=ROLE
    )


def resolve_refused(config: ActionConfig, clients: aws.Clients) -> list[InputProblem]:
    """The problems of the InputError that resolve_image raises."""
    with pytest.raises(InputError) as raised:
        resolve_image(config, clients)
    return raised.value.problems


def no_ecr_image(given: str) -> InputProblem:
    return InputProblem("image", f"ECR has no image '{given}' {PUSH_IT}")


def calls(emu: Emulator) -> list[tuple[str, str, str]]:
    """(service, operation, region) of every request the emulator answered."""
    return [(r.service, r.operation, r.region) for r in emu.requests]


# --- resolve_image ----------------------------------------------------------------------------------------


def test_digest_image_is_kept_as_given_without_asking_ecr(emulator: Emulator, clients: aws.Clients) -> None:
    """An image pinned by digest returns the very config it was given, and no request is made."""
    config = action_config()
    assert resolve_image(config, clients) is config
    assert emulator.requests == []


def test_ecr_tag_becomes_its_digest_through_ecr(emulator: Emulator, clients: aws.Clients) -> None:
    """A tag of the endpoint's region is looked up by registry, repository and tag, and replaced by its digest."""
    pushed = seed_ecr_image(emulator, "whisper", "v1")
    emulator.clear_requests()
    config = action_config(image=f"{ECR_REGISTRY}/whisper:v1", alarms="a")
    resolved = resolve_image(config, clients)
    assert resolved.image == ImageRef(
        given=f"{ECR_REGISTRY}/whisper:v1", repository=f"{ECR_REGISTRY}/whisper", digest=pushed
    )
    assert resolved.image.reference == f"{ECR_REGISTRY}/whisper@{pushed}"
    assert resolved == config.with_image(resolved.image)  # nothing else of the config changes
    assert [(r.operation, r.region, r.params) for r in emulator.requests] == [
        (
            "DescribeImages",
            REGION,
            {"registryId": ACCOUNT_ID, "repositoryName": "whisper", "imageIds": [{"imageTag": "v1"}]},
        )
    ]


# One region sorts before the endpoint's, one after: the choice of ECR client is a test of equality.
@pytest.mark.parametrize("ecr_region", ["eu-west-1", "us-west-2"])
def test_ecr_tag_of_another_region_is_resolved_in_that_region(
    emulator: Emulator, clients: aws.Clients, ecr_region: str
) -> None:
    """A repository in another region than the endpoint's is asked in its own region."""
    pushed = seed_ecr_image(emulator, "whisper", "v1", region=ecr_region)
    emulator.clear_requests()
    registry = f"{ACCOUNT_ID}.dkr.ecr.{ecr_region}.amazonaws.com"
    resolved = resolve_image(action_config(image=f"{registry}/whisper:v1"), clients)
    assert resolved.image.reference == f"{registry}/whisper@{pushed}"
    assert calls(emulator) == [("ecr", "DescribeImages", ecr_region)]


def test_unknown_ecr_tag_is_the_image_inputs_problem(emulator: Emulator, clients: aws.Clients) -> None:
    """A tag the repository does not hold is refused as the image input, naming the image as given."""
    seed_ecr_image(emulator, "whisper", "v1")
    given = f"{ECR_REGISTRY}/whisper:v2"
    assert resolve_refused(action_config(image=given), clients) == [no_ecr_image(given)]


def test_unknown_ecr_repository_is_the_image_inputs_problem(clients: aws.Clients) -> None:
    """A repository that does not exist is refused the same way as an unknown tag."""
    given = f"{ECR_REGISTRY}/no-such-repo:v1"
    assert resolve_refused(action_config(image=given), clients) == [no_ecr_image(given)]


def test_ecr_that_cannot_be_reached_is_not_the_images_fault(
    emulator: Emulator, clients: aws.Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only ECR's "not found" is the input's problem: a connection failure propagates as itself."""
    with pytest.raises(EndpointConnectionError):
        resolve_image(action_config(image=f"{ECR_REGISTRY}/whisper:v1"), unreachable("ecr", clients, monkeypatch))


def test_unknown_ecr_tag_comes_with_the_instance_type_and_resource_problems(
    emulator: Emulator, clients: aws.Clients
) -> None:
    """With the tag unknown, the instance type, alarms, topics and role are still checked and reported, in order."""
    given = f"{ECR_REGISTRY}/whisper:v2"
    config = action_config(
        image=given,
        instance_type="ml.foo.bar",
        alarms="no-such-alarm",
        success_topic=f"{TOPIC_ARN}:no-such-topic",
        execution_role_arn=OTHER_ACCOUNT_ROLE,
    )
    assert resolve_refused(config, clients) == [
        no_ecr_image(given),
        InputProblem("instance-type", f"'ml.foo.bar' {NOT_HOSTED}"),
        InputProblem(
            "alarms", "no CloudWatch alarm named 'no-such-alarm' in us-east-1; auto-rollback needs existing alarms"
        ),
        InputProblem("success-topic", f"SNS topic '{TOPIC_ARN}:no-such-topic' does not exist; create it first"),
        InputProblem(
            "execution-role-arn",
            "the role is in account 999999999999 but the credentials are for 123456789012; "
            "SageMaker needs an execution role of the endpoint's account",
        ),
    ]


def test_unknown_ecr_tag_is_not_compared_with_the_models_image(emulator: Emulator, clients: aws.Clients) -> None:
    """An unresolved tag has no digest yet, so a named model's image is no second problem beside it."""
    seed_model(emulator, image(2))
    given = f"{ECR_REGISTRY}/whisper:v2"
    assert resolve_refused(action_config(image=given, model_name=MODEL), clients) == [no_ecr_image(given)]


def test_unknown_ecr_tag_is_reported_alone_when_sagemaker_refuses_a_read(
    emulator: Emulator, clients: aws.Clients
) -> None:
    """A further check SageMaker refuses (AccessDenied) is left to the rerun; the image problem is still raised."""
    emulator.faults.deny("DescribeModel")
    given = f"{ECR_REGISTRY}/whisper:v2"
    config = action_config(image=given, model_name=MODEL, alarms="no-such-alarm")
    assert resolve_refused(config, clients) == [no_ecr_image(given)]


def test_unknown_ecr_tag_is_reported_alone_when_cloudwatch_cannot_be_reached(
    emulator: Emulator, cloudwatch_unreachable: aws.Clients
) -> None:
    """A further check that cannot connect (a botocore error, not an AWS answer) hides nothing already found."""
    given = f"{ECR_REGISTRY}/whisper:v2"
    config = action_config(image=given, alarms="no-such-alarm")
    assert resolve_refused(config, cloudwatch_unreachable) == [no_ecr_image(given)]


# --- check_instance_type ----------------------------------------------------------------------------------


@pytest.mark.parametrize("instance_type", ["ml.g4dn.xlarge", "ml.m5.large", "ml.inf1.xlarge", "ml.g5.12xlarge"])
def test_instance_type_sagemaker_hosts_on_is_no_problem(
    emulator: Emulator, clients: aws.Clients, instance_type: str
) -> None:
    """A production-variant instance type passes, and the resources are not read yet (the rollout checks them)."""
    config = action_config(instance_type=instance_type, alarms="no-such-alarm", execution_role_arn=OTHER_ACCOUNT_ROLE)
    assert check_instance_type(config, clients) == []
    assert emulator.requests == []


def test_instance_type_outside_sagemakers_enum_is_refused(emulator: Emulator, clients: aws.Clients) -> None:
    """A well-formed type that is not in the API's ProductionVariantInstanceType enum is the instance type's problem."""
    config = action_config(instance_type="ml.foo.bar")
    assert check_instance_type(config, clients) == [InputProblem("instance-type", f"'ml.foo.bar' {NOT_HOSTED}")]


def test_a_training_only_instance_type_is_refused(clients: aws.Clients) -> None:
    """ml.c5n.xlarge trains but does not host endpoints: the enum, not the ml. pattern, decides."""
    config = action_config(instance_type="ml.c5n.xlarge")
    assert check_instance_type(config, clients) == [InputProblem("instance-type", f"'ml.c5n.xlarge' {NOT_HOSTED}")]


def test_bad_instance_type_comes_with_the_resource_problems_once(emulator: Emulator, clients: aws.Clients) -> None:
    """With the instance type refused, the resources are checked too, and the instance type is reported once."""
    config = action_config(instance_type="ml.foo.bar", alarms="no-such-alarm", execution_role_arn=OTHER_ACCOUNT_ROLE)
    assert check_instance_type(config, clients) == [
        InputProblem("instance-type", f"'ml.foo.bar' {NOT_HOSTED}"),
        InputProblem(
            "alarms", "no CloudWatch alarm named 'no-such-alarm' in us-east-1; auto-rollback needs existing alarms"
        ),
        InputProblem(
            "execution-role-arn",
            "the role is in account 999999999999 but the credentials are for 123456789012; "
            "SageMaker needs an execution role of the endpoint's account",
        ),
    ]


def test_bad_instance_type_is_reported_alone_when_sagemaker_refuses_a_read(
    emulator: Emulator, clients: aws.Clients
) -> None:
    """A resource check SageMaker refuses is left to the rerun; the instance type problem is still reported."""
    emulator.faults.deny("DescribeModel")
    config = action_config(instance_type="ml.foo.bar", model_name=MODEL, alarms="no-such-alarm")
    assert check_instance_type(config, clients) == [InputProblem("instance-type", f"'ml.foo.bar' {NOT_HOSTED}")]


def test_bad_instance_type_is_reported_alone_when_cloudwatch_cannot_be_reached(
    emulator: Emulator, cloudwatch_unreachable: aws.Clients
) -> None:
    """A resource check that cannot connect hides nothing: the instance type problem is still reported."""
    config = action_config(instance_type="ml.foo.bar", alarms="no-such-alarm")
    assert check_instance_type(config, cloudwatch_unreachable) == [
        InputProblem("instance-type", f"'ml.foo.bar' {NOT_HOSTED}")
    ]


# --- check_resources --------------------------------------------------------------------------------------


def test_inputs_that_name_nothing_make_no_request(emulator: Emulator, clients: aws.Clients) -> None:
    """No alarms, topics, model or role: nothing to look up, no problem and no request."""
    assert check_resources(action_config(), clients) == []
    assert emulator.requests == []


def test_existing_alarms_are_no_problem(emulator: Emulator, clients: aws.Clients) -> None:
    """Alarms that all exist pass, looked up in one DescribeAlarms call."""
    seed_alarm(emulator, "whisper-5xx")
    seed_alarm(emulator, "whisper-latency")
    emulator.clear_requests()
    assert check_resources(action_config(alarms="whisper-5xx,whisper-latency"), clients) == []
    assert calls(emulator) == [("cloudwatch", "DescribeAlarms", REGION)]


def test_only_the_missing_alarms_are_named_in_the_order_given(emulator: Emulator, clients: aws.Clients) -> None:
    """Of the alarms given, those CloudWatch does not know are named together, in input order, with the region."""
    seed_alarm(emulator, "whisper-5xx")
    config = action_config(alarms="z-missing,whisper-5xx,a-missing")
    assert check_resources(config, clients) == [
        InputProblem(
            "alarms",
            "no CloudWatch alarm named 'z-missing', 'a-missing' in us-east-1; auto-rollback needs existing alarms",
        )
    ]


def test_existing_topics_are_no_problem(emulator: Emulator, clients: aws.Clients) -> None:
    """A success and an error topic that exist pass."""
    done, failed = seed_topic(emulator, "done"), seed_topic(emulator, "failed")
    assert check_resources(action_config(success_topic=done, error_topic=failed), clients) == []


@pytest.mark.parametrize("missing", ["success-topic", "error-topic"])
def test_a_missing_topic_is_its_own_inputs_problem(emulator: Emulator, clients: aws.Clients, missing: str) -> None:
    """Either topic that does not exist is refused by its own input name, the other one passing."""
    existing = seed_topic(emulator, "done")
    topics = {"success-topic": existing, "error-topic": existing, missing: f"{TOPIC_ARN}:gone"}
    config = action_config(**{name.replace("-", "_"): arn for name, arn in topics.items()})
    assert check_resources(config, clients) == [
        InputProblem(missing, f"SNS topic '{TOPIC_ARN}:gone' does not exist; create it first")
    ]


def test_both_topics_missing_are_both_reported_success_first(clients: aws.Clients) -> None:
    """Two missing topics give two problems, success-topic then error-topic."""
    config = action_config(success_topic=f"{TOPIC_ARN}:ok", error_topic=f"{TOPIC_ARN}:ko")
    assert check_resources(config, clients) == [
        InputProblem("success-topic", f"SNS topic '{TOPIC_ARN}:ok' does not exist; create it first"),
        InputProblem("error-topic", f"SNS topic '{TOPIC_ARN}:ko' does not exist; create it first"),
    ]


def test_missing_model_is_the_model_name_inputs_problem(clients: aws.Clients) -> None:
    """A model-name SageMaker does not know is refused with the region it was looked for in."""
    assert check_resources(action_config(model_name=MODEL), clients) == [
        InputProblem("model-name", "no SageMaker model named 'terraform-model' in us-east-1")
    ]


@pytest.mark.parametrize(
    "model_image",
    [image(1), image(1, repo="999999999999.dkr.ecr.eu-west-1.amazonaws.com/mirror"), f"{ECR_REGISTRY}/whisper:v1"],
    ids=["same-reference", "same-digest-elsewhere", "tag-without-digest"],
)
def test_model_running_the_image_or_a_tag_is_no_problem(
    emulator: Emulator, clients: aws.Clients, model_image: str
) -> None:
    """The model's image passes when its digest is the image's (whatever the registry) or it names no digest."""
    seed_model(emulator, model_image)
    assert check_resources(action_config(model_name=MODEL), clients) == []


# Digests on both sides of the input's: a mismatch is a test of inequality, not of order.
@pytest.mark.parametrize("n", [0, 2])
def test_model_running_another_digest_is_the_image_inputs_problem(
    emulator: Emulator, clients: aws.Clients, n: int
) -> None:
    """A model whose image has another digest than the image input is refused as the image's problem."""
    seed_model(emulator, image(n))
    assert check_resources(action_config(model_name=MODEL), clients) == [
        InputProblem(
            "image",
            f"model 'terraform-model' runs {image(n)}, not {image(1)}; "
            "pass the model's image or let the action create the model",
        )
    ]


def test_role_of_the_credentials_account_is_no_problem(emulator: Emulator, clients: aws.Clients) -> None:
    """A role in the account STS names for the credentials passes, after one GetCallerIdentity."""
    assert check_resources(action_config(execution_role_arn=ROLE), clients) == []
    assert calls(emulator) == [("sts", "GetCallerIdentity", REGION)]


# Accounts on both sides of the credentials': a mismatch is a test of inequality, not of order.
@pytest.mark.parametrize("account", ["999999999999", "000000000001"])
def test_role_of_another_account_is_the_roles_problem(clients: aws.Clients, account: str) -> None:
    """A role in another account than the credentials' is refused, naming both accounts."""
    config = action_config(execution_role_arn=f"arn:aws:iam::{account}:role/sagemaker")
    assert check_resources(config, clients) == [
        InputProblem(
            "execution-role-arn",
            f"the role is in account {account} but the credentials are for 123456789012; "
            "SageMaker needs an execution role of the endpoint's account",
        )
    ]


def test_every_missing_resource_is_reported_in_one_list(emulator: Emulator, clients: aws.Clients) -> None:
    """Alarms, both topics and the model's image are all reported together, in that order."""
    seed_model(emulator, image(2))
    config = action_config(
        alarms="no-such-alarm",
        success_topic=f"{TOPIC_ARN}:ok",
        error_topic=f"{TOPIC_ARN}:ko",
        model_name=MODEL,
    )
    assert check_resources(config, clients) == [
        InputProblem(
            "alarms", "no CloudWatch alarm named 'no-such-alarm' in us-east-1; auto-rollback needs existing alarms"
        ),
        InputProblem("success-topic", f"SNS topic '{TOPIC_ARN}:ok' does not exist; create it first"),
        InputProblem("error-topic", f"SNS topic '{TOPIC_ARN}:ko' does not exist; create it first"),
        InputProblem(
            "image",
            f"model 'terraform-model' runs {image(2)}, not {image(1)}; "
            "pass the model's image or let the action create the model",
        ),
    ]
