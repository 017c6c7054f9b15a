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
from .diagnosis import AlarmWarning
from .errors import InputError, InputProblem
from .fields import ERROR_TOPIC, EXECUTION_ROLE, INSTANCE_TYPE, STEP_SIZE, STRATEGY, SUCCESS_TOPIC
from .log import safe
from .strategy import fallback_warning


def resolve_image(config: ActionConfig, clients: aws.Clients) -> ActionConfig:
    """An ECR ``:tag`` image becomes ``repo@sha256:…`` through ECR; a digest reference stays as it is."""
    image = config.image
    if image.digest:
        return config
    # ECR answers for its own region: a repository elsewhere is asked there.
    # equivalent mutant core/ReplaceComparisonOperator_Eq_Is: where `is` is false for two equal region strings,
    # the endpoint's own region gets new Clients of that region, built from the same environment as the given
    # ones: the same ECR, the same answer.
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


# equivalent mutant core/ReplaceBinaryOperator_Mul_Div: every caller passes instance_type by keyword and the
# rest by position, which a "/" marker accepts as "*" does.
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


# --- Alarms that cannot guard the rollout: warnings, never errors ----------------------------------------------

# The developer guide's page "async-inference-monitor" calls its list exhaustive: in AWS/SageMaker, any other
# metric (Invocations, InvocationsPerInstance, OverheadLatency, …) is not published for an asynchronous endpoint.
# HasBacklogWithoutCapacity is published for async endpoints too ("async-inference-autoscale", the policy that
# scales from zero). The page spells one name "InvocationsProcesssed"; both spellings are accepted.
ASYNC_METRICS = frozenset(
    {
        "Invocation4XXErrors",
        "Invocation5XXErrors",
        "ModelLatency",
        "ApproximateBacklogSize",
        "ApproximateBacklogSizePerInstance",
        "ApproximateAgeOfOldestRequest",
        "HasBacklogWithoutCapacity",
        "RequestDownloadFailures",
        "ResponseUploadFailures",
        "NotificationFailures",
        "RequestDownloadLatency",
        "ResponseUploadLatency",
        "ExpiredRequests",
        "InvocationFailures",
        "InvocationsProcessed",
        "InvocationsProcesssed",
        "TimeInBacklog",
        "TotalProcessingTime",
    }
)
# Published every minute whether or not requests arrive (queue gauges, and the instances' own metrics in
# /aws/sagemaker/Endpoints); every other endpoint metric has a data point only when a request was handled.
_ALWAYS_PUBLISHED = frozenset(
    {"ApproximateBacklogSize", "ApproximateBacklogSizePerInstance", "ApproximateAgeOfOldestRequest"}
)
_SAGEMAKER = "AWS/SageMaker"
_INSTANCE_METRICS = "/aws/sagemaker/Endpoints"


def alarm_warnings(config: ActionConfig, clients: aws.Clients) -> list[AlarmWarning]:
    """What keeps the ``alarms`` from guarding this rollout, read from CloudWatch (and the given model: a
    Marketplace model's updates ignore the strategy too)."""
    strategy_asked = (config.given(STRATEGY) or "all-at-once") != "all-at-once"
    if not config.alarms and not (config.model_name and strategy_asked):
        return []
    try:
        alarms = aws.describe_alarms(clients.cloudwatch, list(config.alarms)) if config.alarms else []
        model = aws.describe_model(clients.sagemaker, config.model_name) if config.model_name else None
    except (ClientError, BotoCoreError):
        return []  # a warning is never worth a failed run; check_resources reported what it could not read
    return guard_warnings(config, alarms, model)


def guard_warnings(config: ActionConfig, alarms: list[aws.Json], model: aws.Json | None) -> list[AlarmWarning]:
    """The warnings for what DescribeAlarms (and DescribeModel) said; pure."""
    warnings: list[AlarmWarning] = []
    # An Inf1 instance type is warned of by the planner, which knows it without a call.
    if model is not None and _marketplace_package(model):
        ignored = fallback_warning(
            f"{config.model_name}, a model package of another account as AWS Marketplace models are",
            config.given(STRATEGY) or "all-at-once",
            config.given(STEP_SIZE),
            config.bake_seconds,
            config.alarms,
            None,
        )
        warnings += [AlarmWarning("", ignored)] if ignored else []
    for alarm in alarms:
        name = str(alarm.get("AlarmName", ""))
        warnings += [AlarmWarning(name, message) for message in _alarm_problems(config, alarm)]
    return warnings


def _marketplace_package(model: aws.Json) -> bool:
    """The model runs a model package of another account: what a subscribed AWS Marketplace model is (its
    seller's package, e.g. arn:aws:sagemaker:us-east-1:865070037744:model-package/…)."""
    package = str(aws.model_container(model).get("ModelPackageName", ""))
    own = str(model.get("ModelArn", "")).split(":")
    theirs = package.split(":")
    return len(theirs) > 4 and len(own) > 4 and package.startswith("arn:") and theirs[4] != own[4]


def _alarm_problems(config: ActionConfig, alarm: aws.Json) -> list[str]:
    problems: list[str] = []
    # equivalent mutant core/ReplaceComparisonOperator_Eq_LtE: StateValue is OK, ALARM or INSUFFICIENT_DATA, and
    # none sorts before ALARM
    if alarm.get("StateValue") == "ALARM":
        # Developer guide, "deployment-guardrails-configuration": an alarm that trips during the deployment,
        # on the old fleet too, ends it. Whether one in ALARM before the deployment counts is not written down
        # (AWS's pages read either way), so the warning says what to expect, not what will happen.
        problems.append(
            "it is in ALARM already. SageMaker rolls back a deployment when any of its alarms trips, whichever "
            "fleet tripped it, and an alarm that is in ALARM as the deployment starts is likely to count: expect "
            "this rollout to be rolled back unless the alarm returns to OK first."
        )
    stats = _metric_stats(alarm)
    for namespace, metric, _ in stats:
        if namespace == _SAGEMAKER and metric not in ASYNC_METRICS:
            problems.append(
                f"it watches {metric}, which SageMaker does not publish for asynchronous endpoints, so it never "
                "fires. Watch Invocation5XXErrors, InvocationFailures or ModelLatency instead."
            )
    for _, _, dimensions in stats:
        endpoint = dimensions.get("EndpointName")
        if endpoint is not None and endpoint.lower() != config.endpoint_name.lower():
            problems.append(
                f"its EndpointName dimension is '{endpoint}', not '{config.endpoint_name}': "
                "it watches another endpoint."
            )
        variant = dimensions.get("VariantName")
        if variant is not None and variant != config.variant_name:
            problems.append(
                f"its VariantName dimension is '{variant}', not '{config.variant_name}': it watches another variant."
            )
    traffic_driven = [m for ns, m, _ in stats if ns == _SAGEMAKER and m in ASYNC_METRICS and m not in _ALWAYS_PUBLISHED]
    missing = str(alarm.get("TreatMissingData") or "missing")
    # equivalent mutant core/ReplaceComparisonOperator_NotEq_Gt: TreatMissingData is breaching, notBreaching,
    # ignore or missing, and all but breaching sort after it
    if traffic_driven and missing != "breaching":
        # CloudWatch user guide, "Configuring how CloudWatch alarms treat missing data": notBreaching counts a
        # missing point as good, ignore keeps the state, missing leaves the alarm at INSUFFICIENT_DATA; only
        # ALARM makes SageMaker roll back.
        effect = {
            "notBreaching": "counts a period without data as good",
            "ignore": "keeps its state through periods without data",
        }.get(missing, "goes to INSUFFICIENT_DATA, not ALARM, without data")
        problems.append(
            f"{traffic_driven[0]} has data only when requests are handled, and the alarm {effect} "
            f"(TreatMissingData {missing}): a bake without traffic passes whatever the new model does. Send "
            "requests during the bake."
        )
    window = _evaluation_seconds(alarm, stats)
    if window and config.bake_seconds < window:
        problems.append(
            f"it needs {window}s of data (Period × EvaluationPeriods) to go to ALARM, longer than bake-seconds "
            f"({config.bake_seconds}): it cannot trip before the bake ends. Raise bake-seconds to {window} or more."
        )
    return problems


def _metric_stats(alarm: aws.Json) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, dimensions) of a metric alarm, or of each metric in a metric-math alarm."""

    def dims(items: object) -> dict[str, str]:
        return {str(d.get("Name")): str(d.get("Value")) for d in items or [] if isinstance(d, dict)}  # type: ignore[attr-defined]

    if alarm.get("MetricName"):
        return [(str(alarm.get("Namespace", "")), str(alarm["MetricName"]), dims(alarm.get("Dimensions")))]
    stats = []
    for query in alarm.get("Metrics") or []:
        metric = (query.get("MetricStat") or {}).get("Metric") or {}
        if metric.get("MetricName"):
            stats.append((str(metric.get("Namespace", "")), str(metric["MetricName"]), dims(metric.get("Dimensions"))))
    return stats


def _evaluation_seconds(alarm: aws.Json, stats: list[tuple[str, str, dict[str, str]]]) -> int:
    # equivalent mutant core/NumberReplacer: the -1 for a missing period loses to the queries' periods (0 at least)
    # in max(), and alone makes a negative window, which no bake (0 or more) is shorter than, as 0 is not either
    periods = [int(alarm.get("Period") or 0)]
    periods += [
        # equivalent mutant core/NumberReplacer: the -1 for a query without a period loses to the alarm's own (0 at
        # least) in max()
        int((q.get("MetricStat") or {}).get("Period") or q.get("Period") or 0)
        for q in alarm.get("Metrics") or []
    ]
    # equivalent mutant core/NumberReplacer: either -1 makes a negative window, which no bake (0 or more) is shorter
    # than, as 0 is not either
    return max(periods) * int(alarm.get("EvaluationPeriods") or 0) if stats else 0
