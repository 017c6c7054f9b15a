"""Checks that need AWS (read-only calls), run before any call that changes anything.

Local checks live in ``config``; these ask AWS whether what the inputs name exists: the ECR tag's digest,
the alarms, the topics, the existing model, the role's account, the instance type. All problems are
collected and reported together.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from . import aws
from ._checks import ROLE_ARN_RE, image_digest
from .config import ActionConfig
from .errors import InputError, InputProblem
from .fields import ERROR_TOPIC, EXECUTION_ROLE, INSTANCE_TYPE, SUCCESS_TOPIC
from .log import safe


def resolve_image(config: ActionConfig, clients: aws.Clients) -> ActionConfig:
    """An ECR ``:tag`` image becomes ``repo@sha256:…`` through ECR; a digest reference stays as it is."""
    image = config.image
    if image.digest:
        return config
    # ECR answers for its own region: a repository elsewhere is asked there.
    ecr = clients.ecr if image.ecr_region == config.region else aws.Clients(image.ecr_region).ecr
    # Not found is the input's fault; AccessDenied, throttling or expired credentials are not, and go the way
    # of every AWS refusal.
    digest = aws.ecr_image_digest(ecr, image.ecr_account, image.ecr_repository, image.tag)
    if digest is None:
        raise InputError(
            [
                InputProblem(
                    "image",
                    f"ECR has no image '{safe(image.given)}' (unknown repository or tag); push it first, "
                    "or pass the digest: <registry>/<repo>@sha256:<64 hex>",
                ),
                *_also_wrong(config, clients, instance_type=True),
            ]
        )
    return config.with_image(image.resolved(digest))


def _also_wrong(config: ActionConfig, clients: aws.Clients, *, instance_type: bool) -> list[InputProblem]:
    """The other remote checks, when one has already failed the run.

    The caller stops at the first check that fails (image, then instance type, then the resources), yet
    several bad inputs must all be reported in one run. Best effort: a check that cannot run here (no
    permission, say) is left to the rerun rather than hiding the problem already found.
    """
    try:
        return (_instance_type_problems(config, clients) if instance_type else []) + check_resources(config, clients)
    except (ClientError, BotoCoreError):
        return []


def check_instance_type(config: ActionConfig, clients: aws.Clients) -> list[InputProblem]:
    """Against the instance types SageMaker's API model lists for production variants (and, when that
    fails, whatever the resource checks find too)."""
    problems = _instance_type_problems(config, clients)
    return problems + _also_wrong(config, clients, instance_type=False) if problems else []


def _instance_type_problems(config: ActionConfig, clients: aws.Clients) -> list[InputProblem]:
    shape = clients.sagemaker.meta.service_model.shape_for("ProductionVariantInstanceType")
    allowed = set(getattr(shape, "enum", None) or ())
    instance_type = config.given(INSTANCE_TYPE)
    if allowed and instance_type not in allowed:
        return [
            InputProblem(
                "instance-type",
                f"'{safe(instance_type)}' is not an instance type SageMaker hosts endpoints on; "
                "expected e.g. ml.g4dn.xlarge or ml.m5.large",
            )
        ]
    return []


def check_resources(config: ActionConfig, clients: aws.Clients) -> list[InputProblem]:
    """What the inputs name must exist: alarms, topics, the model; the role in this account."""
    problems: list[InputProblem] = []
    if config.alarms:
        found = aws.describe_alarm_names(clients.cloudwatch, list(config.alarms))
        missing = [a for a in config.alarms if a not in found]
        if missing:
            problems.append(
                InputProblem(
                    "alarms",
                    f"no CloudWatch alarm named {', '.join(repr(safe(a)) for a in missing)} in {config.region}; "
                    "auto-rollback needs existing alarms",
                )
            )
    for field in (SUCCESS_TOPIC, ERROR_TOPIC):
        topic = config.given(field)
        if topic and not aws.topic_exists(clients.sns, topic):
            problems.append(InputProblem(field.input, f"SNS topic '{safe(topic)}' does not exist; create it first"))
    if config.model_name:
        model = aws.describe_model(clients.sagemaker, config.model_name)
        if model is None:
            problems.append(
                InputProblem("model-name", f"no SageMaker model named '{safe(config.model_name)}' in {config.region}")
            )
        else:
            container = aws.model_container(model)
            model_digest = image_digest(str(container.get("Image", "")))
            # An ECR tag that could not be resolved has no digest yet: that is reported as its own problem.
            if model_digest and config.image.digest and model_digest != config.image.digest:
                problems.append(
                    InputProblem(
                        "image",
                        f"model '{safe(config.model_name)}' runs {safe(container.get('Image'))}, not "
                        f"{safe(config.image.reference)}; pass the model's image or let the action create the model",
                    )
                )
    role_arn = config.given(EXECUTION_ROLE)
    role = ROLE_ARN_RE.match(role_arn) if role_arn else None
    if role:
        account = aws.caller_account(clients.sts)
        if role["account"] != account:
            problems.append(
                InputProblem(
                    "execution-role-arn",
                    f"the role is in account {role['account']} but the credentials are for {account}; "
                    "SageMaker needs an execution role of the endpoint's account",
                )
            )
    return problems
