"""Inputs, read once from the runner and checked into one frozen ActionConfig.

Everything downstream receives the config; nothing else reads the environment. The checks here need no
AWS call; the ones that do (alarms exist, ECR tag → digest, …) live in ``preflight``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from .context import GitHubContext
from .errors import InputError, InputProblem
from .log import safe

# SageMaker's own patterns (botocore's service model: EndpointName, VariantName, ModelName).
ENDPOINT_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
MODEL_NAME_RE = re.compile(r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$")
NAME_MAX = 63

DIGEST_IMAGE_RE = re.compile(r"^(?P<repository>[a-z0-9][^@\s:]*(?::\d+)?/[^@\s]+)@(?P<digest>sha256:[0-9a-f]{64})$")
ECR_TAG_IMAGE_RE = re.compile(
    r"^(?P<registry>(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?)"
    r"/(?P<repository>[a-z0-9][a-z0-9._/-]*)"
    r":(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$"
)
INSTANCE_TYPE_RE = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")
SNS_TOPIC_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sns:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):[A-Za-z0-9_-]{1,256}(\.fifo)?$"
)
ROLE_ARN_RE = re.compile(r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/[\w+=,.@/-]{1,512}$")
S3_URI_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\S*)?$")
ENV_KEY_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,1023}$")
TAG_KEY_RE = re.compile(r"^[\w\s.:/=+\-@]{1,128}$")
TAG_VALUE_RE = re.compile(r"^[\w\s.:/=+\-@]{0,256}$")
ALARM_NAME_MAX = 255
MAX_ALARMS = 10  # AutoRollbackConfiguration.Alarms holds at most 10
MAX_TAGS = 50
MAX_ENVIRONMENT = 100
TRUE_VALUES = ("true", "True", "TRUE")
FALSE_VALUES = ("false", "False", "FALSE")

MANAGED_BY_KEY = "managed-by"
MANAGED_BY_VALUE = "sagemaker-async-deploy"

# Every input, with the default the contract gives it (the runner passes defaults from action.yml too,
# but a run outside the runner — the demo, a person by hand — must behave the same).
INPUT_DEFAULTS: dict[str, str] = {
    "endpoint-name": "",
    "image": "",
    "instance-type": "",
    "output-path": "",
    "failure-path": "",
    "success-topic": "",
    "error-topic": "",
    "alarms": "",
    "bake-seconds": "300",
    "model-name": "",
    "execution-role-arn": "",
    "model-data-url": "",
    "environment": "",
    "initial-instance-count": "1",
    "max-concurrent-invocations": "1",
    "variant-name": "AllTraffic",
    "tags": "",
    "mode": "apply",
    "deployment-timeout-minutes": "60",
    "delete-previous": "true",
    "aws-region": "",
    "github-token": "",
    "comment": "true",
    "poll-interval-seconds": "5",
}
REQUIRED_INPUTS = ("endpoint-name", "image", "instance-type", "output-path")

Mode = Literal["apply", "plan"]


@dataclass(frozen=True)
class ImageRef:
    """The image input: either pinned by digest already, or an ECR tag that preflight resolves."""

    given: str
    repository: str  # registry/repo, no tag or digest
    digest: str  # "sha256:…" ("" for an unresolved ECR tag)
    tag: str = ""  # ECR tag to resolve ("" when pinned)
    ecr_region: str = ""
    ecr_account: str = ""
    ecr_repository: str = ""  # repository name inside ECR

    @property
    def reference(self) -> str:
        """``registry/repo@sha256:…``: what CreateModel is given once the digest is known."""
        return f"{self.repository}@{self.digest}"

    def resolved(self, digest: str) -> ImageRef:
        return ImageRef(given=self.given, repository=self.repository, digest=digest)


@dataclass(frozen=True)
class ActionConfig:
    endpoint_name: str
    image: ImageRef
    instance_type: str
    output_path: str
    failure_path: str
    success_topic: str
    error_topic: str
    alarms: tuple[str, ...]
    bake_seconds: int
    model_name: str
    execution_role_arn: str
    model_data_url: str
    environment: tuple[tuple[str, str], ...]
    initial_instance_count: int
    max_concurrent_invocations: int
    variant_name: str
    tags: tuple[tuple[str, str], ...]
    mode: Mode
    deployment_timeout_seconds: float
    delete_previous: bool
    region: str
    github_token: str = field(repr=False)
    comment: bool
    poll_interval_seconds: float
    github: GitHubContext

    @property
    def creates_model(self) -> bool:
        """True unless the user named an existing model to deploy."""
        return not self.model_name

    def with_image(self, image: ImageRef) -> ActionConfig:
        return replace(self, image=image)


def read_inputs(get_input: Callable[[str], str]) -> dict[str, str]:
    """Every input by its contract name, through actions-toolkit's reader (trimmed, defaults applied)."""
    raw = {}
    for name, default in INPUT_DEFAULTS.items():
        value = get_input(name)
        raw[name] = value if value != "" else default
    return raw


def parse_config(raw: Mapping[str, str], environ: Mapping[str, str]) -> ActionConfig:
    """Check every input and build the config; raise InputError listing all problems at once."""
    problems: list[InputProblem] = []

    def bad(name: str, message: str) -> None:
        problems.append(InputProblem(name, message))

    def value(name: str) -> str:
        # read_inputs has applied the defaults already; a caller with fewer inputs gets them here.
        return raw.get(name) or INPUT_DEFAULTS[name]

    for name in REQUIRED_INPUTS:
        if not raw.get(name, ""):
            bad(name, "is required and was not given")

    region = value("aws-region") or environ.get("AWS_REGION", "") or environ.get("AWS_DEFAULT_REGION", "")
    if not region:
        bad(
            "aws-region",
            "no region: set the aws-region input or AWS_REGION (aws-actions/configure-aws-credentials exports it)",
        )
    elif not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        bad("aws-region", f"'{safe(region)}' is not an AWS region; expected e.g. us-east-1")

    endpoint_name = value("endpoint-name")
    if endpoint_name:
        _check_name(bad, "endpoint-name", endpoint_name, ENDPOINT_NAME_RE)
    variant_name = value("variant-name")
    _check_name(bad, "variant-name", variant_name, ENDPOINT_NAME_RE)
    model_name = value("model-name")
    if model_name:
        _check_name(bad, "model-name", model_name, MODEL_NAME_RE)

    image = _parse_image(bad, value("image"))

    instance_type = value("instance-type")
    if instance_type and not INSTANCE_TYPE_RE.match(instance_type):
        bad(
            "instance-type",
            f"'{safe(instance_type)}' is not a SageMaker instance type; expected e.g. ml.g4dn.xlarge",
        )

    output_path = value("output-path")
    if output_path:
        _check_s3(bad, "output-path", output_path)
    failure_path = value("failure-path")
    if failure_path:
        _check_s3(bad, "failure-path", failure_path)

    success_topic = value("success-topic")
    error_topic = value("error-topic")
    for name, topic in (("success-topic", success_topic), ("error-topic", error_topic)):
        if topic:
            _check_topic(bad, name, topic, region)

    role = value("execution-role-arn")
    if role and not ROLE_ARN_RE.match(role):
        bad(
            "execution-role-arn",
            f"'{safe(role)}' is not an IAM role ARN; expected arn:aws:iam::<account>:role/<name>",
        )
    if role and model_name:
        bad(
            "execution-role-arn",
            "applies to the model the action creates; leave it empty when model-name is given",
        )

    model_data_url = value("model-data-url")
    if model_data_url:
        _check_s3(bad, "model-data-url", model_data_url)
        if model_name:
            bad(
                "model-data-url",
                "applies to the model the action creates; leave it empty when model-name is given",
            )

    environment = _parse_pairs(
        bad,
        "environment",
        value("environment"),
        ENV_KEY_RE,
        None,
        1024,
        secret_values=True,
        rules="keys are letters, digits and _ not starting with a digit, values at most 1024 characters",
    )
    if len(environment) > MAX_ENVIRONMENT:
        bad("environment", f"has {len(environment)} variables; SageMaker allows at most {MAX_ENVIRONMENT}")
    if environment and model_name:
        bad("environment", "applies to the model the action creates; leave it empty when model-name is given")

    tags = _parse_pairs(
        bad,
        "tags",
        value("tags"),
        TAG_KEY_RE,
        TAG_VALUE_RE,
        256,
        rules="keys 1-128 and values 0-256 characters of letters, digits, spaces and _ . : / = + - @",
    )
    for key, _ in tags:
        if key.lower().startswith("aws:"):
            bad("tags", f"key '{safe(key)}' uses the reserved prefix aws:")
        if key == MANAGED_BY_KEY:
            bad("tags", f"key '{MANAGED_BY_KEY}' is set by the action itself; choose another key")
    if len(tags) + 1 > MAX_TAGS:
        bad(
            "tags",
            f"has {len(tags)} tags; SageMaker allows {MAX_TAGS} per resource, one of them the action's own",
        )

    alarms = tuple(a.strip() for a in re.split(r"[,\n]", value("alarms")) if a.strip())
    if len(alarms) > MAX_ALARMS:
        bad("alarms", f"names {len(alarms)} alarms; SageMaker's auto-rollback takes at most {MAX_ALARMS}")
    for alarm in alarms:
        if len(alarm) > ALARM_NAME_MAX:
            bad("alarms", f"'{safe(alarm[:40])}…' is longer than {ALARM_NAME_MAX} characters")
    if len(set(alarms)) != len(alarms):
        bad("alarms", "names an alarm more than once")

    bake_seconds = _parse_int(bad, "bake-seconds", value("bake-seconds"), 0, 3600)
    initial_count = _parse_int(bad, "initial-instance-count", value("initial-instance-count"), 1, 10_000)
    max_concurrent = _parse_int(bad, "max-concurrent-invocations", value("max-concurrent-invocations"), 1, 1000)
    timeout_minutes = _parse_number(
        bad,
        "deployment-timeout-minutes",
        value("deployment-timeout-minutes"),
        0,
        24 * 60,
        exclusive_min=True,
    )
    poll_interval = _parse_number(
        bad, "poll-interval-seconds", value("poll-interval-seconds"), 0, 300, exclusive_min=True
    )

    mode = value("mode")
    if mode not in ("apply", "plan"):
        bad("mode", f"'{safe(mode)}' is not a mode; expected apply or plan")

    delete_previous = _parse_bool(bad, "delete-previous", value("delete-previous"))
    comment = _parse_bool(bad, "comment", value("comment"))

    if problems:
        raise InputError(problems)
    assert image is not None  # a missing or malformed image is a problem above
    return ActionConfig(
        endpoint_name=endpoint_name,
        image=image,
        instance_type=instance_type,
        output_path=output_path,
        failure_path=failure_path,
        success_topic=success_topic,
        error_topic=error_topic,
        alarms=alarms,
        # With no alarm to watch there is nothing to bake against: shift at once.
        bake_seconds=bake_seconds if alarms else 0,
        model_name=model_name,
        execution_role_arn=role,
        model_data_url=model_data_url,
        environment=environment,
        initial_instance_count=initial_count,
        max_concurrent_invocations=max_concurrent,
        variant_name=variant_name,
        tags=tags,
        mode="plan" if mode == "plan" else "apply",
        deployment_timeout_seconds=timeout_minutes * 60,
        delete_previous=delete_previous,
        region=region,
        github_token=value("github-token"),
        comment=comment,
        poll_interval_seconds=poll_interval,
        github=GitHubContext.from_environ(environ),
    )


Bad = Callable[[str, str], None]


def _check_name(bad: Bad, name: str, value: str, pattern: re.Pattern[str]) -> None:
    if len(value) > NAME_MAX:
        bad(name, f"'{safe(value)}' is {len(value)} characters; SageMaker allows at most {NAME_MAX}")
    elif not pattern.match(value):
        bad(
            name,
            f"'{safe(value)}' is not a SageMaker name; use letters, digits and hyphens, "
            "starting and ending with a letter or digit (e.g. whisper-large)",
        )


def _parse_image(bad: Bad, value: str) -> ImageRef | None:
    if not value:
        return None
    digest = DIGEST_IMAGE_RE.match(value)
    if digest:
        return ImageRef(given=value, repository=digest["repository"], digest=digest["digest"])
    ecr = ECR_TAG_IMAGE_RE.match(value)
    if ecr:
        return ImageRef(
            given=value,
            repository=f"{ecr['registry']}/{ecr['repository']}",
            digest="",
            tag=ecr["tag"],
            ecr_region=ecr["region"],
            ecr_account=ecr["account"],
            ecr_repository=ecr["repository"],
        )
    bad(
        "image",
        f"'{safe(value)}' is not pinned by digest; expected <registry>/<repo>@sha256:<64 hex> "
        "(or an ECR <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>, which is resolved to its digest). "
        "A tag elsewhere cannot tell whether the image changed",
    )
    return None


def _check_s3(bad: Bad, name: str, value: str) -> None:
    if not S3_URI_RE.match(value):
        bad(name, f"'{safe(value)}' is not an S3 URI; expected s3://<bucket>/<prefix>")


def _check_topic(bad: Bad, name: str, value: str, region: str) -> None:
    match = SNS_TOPIC_RE.match(value)
    if not match:
        bad(name, f"'{safe(value)}' is not an SNS topic ARN; expected arn:aws:sns:<region>:<account>:<topic>")
    elif region and match["region"] != region:
        bad(
            name,
            f"topic is in {safe(match['region'])} but the endpoint is in {safe(region)}; "
            "async inference notifies topics in the endpoint's region",
        )


def _parse_pairs(
    bad: Bad,
    name: str,
    value: str,
    key_re: re.Pattern[str],
    value_re: re.Pattern[str] | None,
    value_max: int,
    *,
    secret_values: bool = False,
    rules: str,
) -> tuple[tuple[str, str], ...]:
    pairs: dict[str, str] = {}
    for number, line in enumerate(value.splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, sep, val = text.partition("=")
        key, val = key.strip(), val.strip()
        if not sep or not key:
            if secret_values:
                # Environment values may be secrets and a line like "API_KEY: sk-…" (a YAML habit) carries
                # one: show only a name that is followed by more, never a bare token that may be the value.
                start = re.match(r"([A-Za-z_][A-Za-z0-9_]{0,59})[\s:]", text)
                shown = f" (starting {start[1]})" if start else ""
            else:
                shown = f" '{safe(text[:60])}'"
            bad(name, f"line {number}{shown} is not KEY=VALUE")
        elif not key_re.match(key):
            bad(name, f"line {number}: key '{safe(key[:60])}' is not allowed; {rules}")
        elif len(val) > value_max or (value_re is not None and not value_re.match(val)):
            bad(name, f"line {number}: the value of '{safe(key)}' is not allowed; {rules}")
        elif key in pairs:
            bad(name, f"line {number}: '{safe(key)}' is given twice")
        else:
            pairs[key] = val
    return tuple(sorted(pairs.items()))


def _parse_int(bad: Bad, name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        bad(name, f"'{safe(value)}' is not a whole number; expected {low}–{high}")
        return low
    if not low <= number <= high:
        bad(name, f"{number} is out of range; expected {low}–{high}")
    return number


def _parse_number(bad: Bad, name: str, value: str, low: float, high: float, *, exclusive_min: bool) -> float:
    try:
        number = float(value)
    except ValueError:
        bad(name, f"'{safe(value)}' is not a number; expected more than {low:g} and at most {high:g}")
        return 1.0
    too_low = number <= low if exclusive_min else number < low
    if too_low or number > high or math.isnan(number):
        bad(name, f"{safe(value)} is out of range; expected more than {low:g} and at most {high:g}")
    return number


def _parse_bool(bad: Bad, name: str, value: str) -> bool:
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    bad(name, f"'{safe(value)}' is not a boolean; expected true or false")
    return False
