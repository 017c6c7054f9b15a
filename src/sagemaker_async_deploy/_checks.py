"""The local checks of input values: SageMaker's and AWS's formats, ranges, and messages that say what a
valid value looks like. Shared by the table of managed fields (``fields``) and the other inputs (``config``).

Each check reports through a :class:`Check`, which knows which input it is checking, so the messages never
restate the input's name and every problem of a run is collected before anything is refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import InputProblem
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
MAX_ENVIRONMENT = 100
TRUE_VALUES = ("true", "True", "TRUE")
FALSE_VALUES = ("false", "False", "FALSE")

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ImageRef:
    """The image input: either pinned by digest already, or an ECR tag that preflight resolves."""

    given: str
    repository: str  # registry/repo, no tag or digest
    digest: str  # "sha256:…" ("" for an unresolved ECR tag, or an image a serving model names by tag)
    tag: str = ""  # ECR tag to resolve ("" when pinned)
    ecr_region: str = ""
    ecr_account: str = ""
    ecr_repository: str = ""  # repository name inside ECR

    @property
    def reference(self) -> str:
        """``registry/repo@sha256:…`` once the digest is known; the image as written otherwise."""
        return f"{self.repository}@{self.digest}" if self.digest else self.given

    def resolved(self, digest: str) -> ImageRef:
        return ImageRef(given=self.given, repository=self.repository, digest=digest)

    def same_image(self, other: ImageRef) -> bool:
        """The same digest is the same image, whatever registry name it was pushed under."""
        if self.digest and other.digest:
            return self.digest == other.digest
        return self.reference == other.reference

    @classmethod
    def serving(cls, reference: str) -> ImageRef:
        """An image as a serving model or variant names it (pinned or not; never resolved)."""
        repository, sep, digest = reference.partition("@")
        return cls(given=reference, repository=repository, digest=digest if sep else "")


@dataclass(frozen=True)
class StepSize:
    """A canary size, linear step or rolling batch: a share of the variant's capacity, or a number of instances."""

    value: int
    percent: bool

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)

    def as_capacity(self) -> dict[str, object]:
        """SageMaker's CapacitySize."""
        return {"Type": "CAPACITY_PERCENT" if self.percent else "INSTANCE_COUNT", "Value": self.value}

    @classmethod
    def of_capacity(cls, capacity: Any) -> StepSize:
        return cls(int(capacity.get("Value", 0)), capacity.get("Type") == "CAPACITY_PERCENT")

    def share(self, fleet: int) -> float:
        """The part of a fleet of ``fleet`` instances one step moves (1.0: all of it)."""
        return self.value / 100 if self.percent else self.value / max(fleet, 1)

    def instances(self, fleet: int) -> int:
        """The instances one step moves on a fleet of ``fleet``: a percentage rounds up to whole instances, at
        least one, as SageMaker rounds it (its rolling deployment example: "33% * 3 = 1 instance")."""
        if not self.percent:
            return max(self.value, 1)
        return max(math.ceil(fleet * self.value / 100), 1)

    def steps(self, fleet: int) -> int:
        """How many steps move the whole fleet, counted in whole instances (25 % of 2 is 1 instance: 2 steps)."""
        if fleet <= 0 or self.value <= 0:
            return 1
        return math.ceil(fleet / self.instances(fleet))


def image_digest(image: str) -> str:
    """``sha256:…`` of an image reference pinned by digest, "" for a tag reference."""
    _, sep, digest = image.partition("@")
    return digest if sep and digest.startswith("sha256:") else ""


@dataclass
class Problems:
    """Every problem found while reading the inputs, in the order found."""

    region: str = ""  # the endpoint's region, for checks that compare against it
    found: list[InputProblem] = field(default_factory=list)

    def of(self, name: str) -> Check:
        return Check(name, self)


@dataclass(frozen=True)
class Check:
    """Reports problems of one input."""

    input: str
    problems: Problems

    @property
    def region(self) -> str:
        return self.problems.region

    def bad(self, message: str) -> None:
        self.problems.found.append(InputProblem(self.input, message))


def name(check: Check, value: str, pattern: re.Pattern[str] = ENDPOINT_NAME_RE) -> str:
    if len(value) > NAME_MAX:
        check.bad(f"'{safe(value)}' is {len(value)} characters; SageMaker allows at most {NAME_MAX}")
    elif not pattern.match(value):
        check.bad(
            f"'{safe(value)}' is not a SageMaker name; use letters, digits and hyphens, "
            "starting and ending with a letter or digit (e.g. whisper-large)"
        )
    return value


def model_name(check: Check, value: str) -> str:
    return name(check, value, MODEL_NAME_RE)


def ecr_tag_image(value: str) -> ImageRef | None:
    """An ECR ``:tag`` reference, to be resolved to its digest through ECR; None for any other form."""
    ecr = ECR_TAG_IMAGE_RE.match(value)
    if not ecr:
        return None
    return ImageRef(
        given=value,
        repository=f"{ecr['registry']}/{ecr['repository']}",
        digest="",
        tag=ecr["tag"],
        ecr_region=ecr["region"],
        ecr_account=ecr["account"],
        ecr_repository=ecr["repository"],
    )


def image(check: Check, value: str) -> ImageRef:
    digest = DIGEST_IMAGE_RE.match(value)
    if digest:
        return ImageRef(given=value, repository=digest["repository"], digest=digest["digest"])
    ecr = ecr_tag_image(value)
    if ecr is not None:
        return ecr
    check.bad(
        f"'{safe(value)}' is not pinned by digest; expected <registry>/<repo>@sha256:<64 hex> "
        "(or an ECR <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>, which is resolved to its digest). "
        "A tag elsewhere cannot tell whether the image changed"
    )
    return ImageRef(given=value, repository=value, digest="")


def instance_type(check: Check, value: str) -> str:
    if not INSTANCE_TYPE_RE.match(value):
        check.bad(f"'{safe(value)}' is not a SageMaker instance type; expected e.g. ml.g4dn.xlarge")
    return value


def s3_uri(check: Check, value: str) -> str:
    if not S3_URI_RE.match(value):
        check.bad(f"'{safe(value)}' is not an S3 URI; expected s3://<bucket>/<prefix>")
    return value


def topic(check: Check, value: str) -> str:
    match = SNS_TOPIC_RE.match(value)
    if not match:
        check.bad(f"'{safe(value)}' is not an SNS topic ARN; expected arn:aws:sns:<region>:<account>:<topic>")
    elif check.region and match["region"] != check.region:
        check.bad(
            f"topic is in {safe(match['region'])} but the endpoint is in {safe(check.region)}; "
            "async inference notifies topics in the endpoint's region"
        )
    return value


def role_arn(check: Check, value: str) -> str:
    if not ROLE_ARN_RE.match(value):
        check.bad(f"'{safe(value)}' is not an IAM role ARN; expected arn:aws:iam::<account>:role/<name>")
    return value


def whole_number(low: int, high: int) -> _WholeNumber:
    return _WholeNumber(low, high)


@dataclass(frozen=True)
class _WholeNumber:
    """A parser of whole numbers in ``low``–``high``, inclusive."""

    low: int
    high: int

    def __call__(self, check: Check, value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            check.bad(f"'{safe(value)}' is not a whole number; expected {self.low}–{self.high}")
            return self.low
        if not self.low <= number <= self.high:
            check.bad(f"{number} is out of range; expected {self.low}–{self.high}")
        return number


def positive_number(check: Check, value: str, high: float) -> float:
    """A number above 0 and at most ``high`` (fractions allowed)."""
    try:
        number = float(value)
    except ValueError:
        check.bad(f"'{safe(value)}' is not a number; expected more than 0 and at most {high:g}")
        return 1.0
    if number <= 0 or number > high or math.isnan(number):
        check.bad(f"{safe(value)} is out of range; expected more than 0 and at most {high:g}")
    return number


def boolean(check: Check, value: str) -> bool:
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    check.bad(f"'{safe(value)}' is not a boolean; expected true or false")
    return False


def step_size(check: Check, value: str) -> StepSize:
    match = re.fullmatch(r"(\d{1,5})\s*(%?)", value)
    if not match or int(match[1]) < 1 or (match[2] and int(match[1]) > 100):
        check.bad(
            f"'{safe(value)}' is not a step size; expected N% of the variant's capacity (e.g. 25%) "
            "or a number of instances (e.g. 1)"
        )
        return StepSize(1, False)
    return StepSize(int(match[1]), bool(match[2]))


def one_of(*choices: str) -> _OneOf:
    return _OneOf(choices)


@dataclass(frozen=True)
class _OneOf:
    """A parser of a value from a fixed list."""

    choices: tuple[str, ...]

    def __call__(self, check: Check, value: str) -> str:
        if value not in self.choices:
            check.bad(f"'{safe(value)}' is not one of {', '.join(self.choices)}")
        return value


def alarm_names(check: Check, value: str) -> tuple[str, ...]:
    alarms = tuple(a.strip() for a in re.split(r"[,\n]", value) if a.strip())
    if len(alarms) > MAX_ALARMS:
        check.bad(f"names {len(alarms)} alarms; SageMaker's auto-rollback takes at most {MAX_ALARMS}")
    for alarm in alarms:
        if len(alarm) > ALARM_NAME_MAX:
            check.bad(f"'{safe(alarm[:40])}…' is longer than {ALARM_NAME_MAX} characters")
    if len(set(alarms)) != len(alarms):
        check.bad("names an alarm more than once")
    return alarms


def environment(check: Check, value: str) -> Pairs:
    pairs = pairs_of(
        check,
        value,
        ENV_KEY_RE,
        None,
        1024,
        secret_values=True,
        rules="keys are letters, digits and _ not starting with a digit, values at most 1024 characters",
    )
    if len(pairs) > MAX_ENVIRONMENT:
        check.bad(f"has {len(pairs)} variables; SageMaker allows at most {MAX_ENVIRONMENT}")
    return pairs


def pairs_of(
    check: Check,
    value: str,
    key_re: re.Pattern[str],
    value_re: re.Pattern[str] | None,
    value_max: int,
    *,
    secret_values: bool = False,
    rules: str,
) -> Pairs:
    """KEY=VALUE lines (blank and # lines skipped) as sorted pairs."""
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
            check.bad(f"line {number}{shown} is not KEY=VALUE")
        elif not key_re.match(key):
            check.bad(f"line {number}: key '{safe(key[:60])}' is not allowed; {rules}")
        elif len(val) > value_max or (value_re is not None and not value_re.match(val)):
            check.bad(f"line {number}: the value of '{safe(key)}' is not allowed; {rules}")
        elif key in pairs:
            check.bad(f"line {number}: '{safe(key)}' is given twice")
        else:
            pairs[key] = val
    return tuple(sorted(pairs.items()))


# --- model packages (the Model Registry) ------------------------------------------------------------------

# A versioned package: model-package/<group>/<version>; a group: model-package-group/<group> (botocore's
# ModelPackageArn and ModelPackageGroupArn; names are EntityName: letters, digits, hyphens, at most 63).
_ENTITY = r"[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62}"
_SAGEMAKER_ARN = r"arn:(?P<partition>aws[a-z-]*):sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12})"
VERSIONED_PACKAGE_ARN_RE = re.compile(
    rf"^{_SAGEMAKER_ARN}:model-package/(?P<group>{_ENTITY})/(?P<version>[1-9]\d{{0,8}})$"
)
UNVERSIONED_PACKAGE_ARN_RE = re.compile(rf"^{_SAGEMAKER_ARN}:model-package/(?P<name>{_ENTITY})$")
PACKAGE_GROUP_ARN_RE = re.compile(rf"^{_SAGEMAKER_ARN}:model-package-group/(?P<group>{_ENTITY})$")
PACKAGE_GROUP_NAME_RE = re.compile(rf"^{_ENTITY}$")


@dataclass(frozen=True)
class PackageRef:
    """The model-package input: a versioned package, or a group whose latest Approved version ``packages``
    resolves; and a package a serving model names."""

    given: str  # as written (a versioned package ARN, a group name or a group ARN)
    arn: str = ""  # the version's ARN ("" for a group not resolved yet)
    group: str = ""  # the group's name (or ARN, for a group given by ARN)
    version: int = 0
    approval: str = ""  # ModelApprovalStatus, once described
    newer: str = ""  # a newer version of the group that is not Approved, in words ("" when none)

    @property
    def reference(self) -> str:
        return self.arn or self.given

    def same_package(self, other: PackageRef) -> bool:
        """The same version: ARNs carry names in lower case, so they compare without case."""
        return self.reference.lower() == other.reference.lower()

    @classmethod
    def serving(cls, name: Any) -> PackageRef:
        """The package a serving model's container names (ModelPackageName: an ARN, or a name)."""
        text = str(name)
        versioned = VERSIONED_PACKAGE_ARN_RE.match(text)
        if versioned:
            return cls(given=text, arn=text, group=versioned["group"], version=int(versioned["version"]))
        return cls(given=text, arn=text if text.startswith("arn:") else "")


def model_package(check: Check, value: str) -> PackageRef:
    versioned = VERSIONED_PACKAGE_ARN_RE.match(value)
    if versioned:
        return PackageRef(given=value, arn=value, group=versioned["group"], version=int(versioned["version"]))
    group_arn = PACKAGE_GROUP_ARN_RE.match(value)
    if group_arn:
        return PackageRef(given=value, group=value)
    if PACKAGE_GROUP_NAME_RE.match(value):
        return PackageRef(given=value, group=value)
    if UNVERSIONED_PACKAGE_ARN_RE.match(value):
        check.bad(
            f"'{safe(value)}' is an unversioned model package (as AWS Marketplace lists them), which has no "
            "approval to deploy by; create a model from it and deploy that with model-name"
        )
    else:
        check.bad(
            f"'{safe(value)}' is neither a versioned model package ARN "
            "(arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>) nor a model package group "
            "name (letters, digits and hyphens, e.g. whisper-models)"
        )
    return PackageRef(given=value)
