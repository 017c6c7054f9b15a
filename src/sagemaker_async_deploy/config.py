"""Inputs, read once from the runner and checked into one frozen ActionConfig.

Everything downstream receives the config; nothing else reads the environment. The managed settings are
parsed by their rows in ``fields``; the rest (names, mode, timeouts, tags, …) here. The checks need no AWS
call; the ones that do (alarms exist, ECR tag → digest, …) live in ``preflight``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal, TypeVar, cast

from . import _checks as checks
from ._checks import ImageRef, PackageRef, Pairs, Problems
from .context import GitHubContext
from .errors import InputError
from .fields import (
    ALARMS,
    BAKE,
    CREATED_MODEL_ONLY,
    ENVIRONMENT,
    FIELDS,
    IMAGE,
    MODEL_DATA_URL,
    MODEL_PACKAGE,
    REMOVE,
    STEP_SIZE,
    STRATEGY,
    Field,
)
from .log import safe
from .strategy import percent_problem

T = TypeVar("T")

MAX_TAGS = 50
MANAGED_BY_KEY = "managed-by"
MANAGED_BY_VALUE = "sagemaker-async-deploy"
# On each model the action creates with model-data-url: what the artifact was then (see ``artifacts``).
ARTIFACT_KEY = "sagemaker-async-deploy:artifact"
# Tags under which an instance-type change records the variant's autoscaling on the endpoint (see autoscaling.py).
AUTOSCALING_RECORD_PREFIX = "sagemaker-async-deploy:autoscaling:"
TAG_VALUE_MAX = 256  # SageMaker's Tag.Value (botocore model)

# Every input that is not a managed setting, with the default the contract gives it (the runner passes
# defaults from action.yml too, but a run outside the runner — the demo, a person by hand — must behave the
# same). The managed settings' defaults are in their rows.
_OTHER_DEFAULTS: dict[str, str] = {
    "endpoint-name": "",
    "model-name": "",
    "variant-name": "AllTraffic",
    "tags": "",
    "mode": "apply",
    "deployment-timeout-minutes": "60",
    "delete-previous": "true",
    "aws-region": "",
    "github-token": "",
    "comment": "true",
    "poll-interval-seconds": "5",
    "force-redeploy": "false",
    "smoke-test-input": "",
    "smoke-test-content-type": "application/json",
    "smoke-test-timeout-seconds": "600",
    "smoke-test-expect": "",
}
INPUT_DEFAULTS: dict[str, str] = {**_OTHER_DEFAULTS, **{f.input: f.default for f in FIELDS}}
REQUIRED_INPUTS = ("endpoint-name", *(f.input for f in FIELDS if f.required))

Mode = Literal["apply", "plan"]

# InvokeEndpointAsync takes its request inline up to this size (botocore's sagemaker-runtime model: Body is a
# blob of at most 128,000 bytes, exclusive with InputLocation); anything larger goes through S3.
INLINE_BODY_MAX = 128_000
# ContentType of InvokeEndpointAsync (botocore's model: at most 1024 characters of ASCII).
CONTENT_TYPE_MAX = 1024
# The longest a smoke test may wait for its answer: InvokeEndpointAsync's RequestTTLSeconds tops out at six
# hours (botocore's model: 60-21600), after which SageMaker drops the request unanswered.
SMOKE_TIMEOUT_MAX = 21_600


@dataclass(frozen=True)
class SmokeTest:
    """One request sent to the new model once it takes all the traffic, and what its answer must show."""

    given: str  # the smoke-test-input as written: an S3 URI or a path in the workspace
    input_location: str  # the S3 URI sent as InputLocation ("" for an inline body)
    body: bytes = field(repr=False)  # the file's bytes sent inline as Body (b"" with an InputLocation)
    content_type: str
    timeout_seconds: float
    expect: re.Pattern[str] | None  # the response body must match it (search); None: any output passes


@dataclass(frozen=True)
class ActionConfig:
    endpoint_name: str
    variant_name: str
    model_name: str  # deploy this existing model; "" → the action creates one
    # The managed settings the inputs give, by input name; an empty input is absent here.
    settings: Mapping[str, Any]
    tags: Pairs
    mode: Mode
    deployment_timeout_seconds: float
    delete_previous: bool
    region: str
    github_token: str = field(repr=False)
    comment: bool
    poll_interval_seconds: float
    github: GitHubContext
    # Inputs given as ``none``: remove the serving value (absent from ``settings``, where empty means keep).
    removed: frozenset[str] = frozenset()
    # Roll the endpoint onto a new config of the same settings even when nothing changed (see ``redeploy``).
    force_redeploy: bool = False
    smoke_test: SmokeTest | None = None  # None: no smoke test

    def given(self, setting: Field[T]) -> T | None:
        """The setting's value as the inputs give it, or None when its input is empty or ``none``."""
        return cast("T | None", self.settings.get(setting.input))

    def removes(self, setting: Field[Any]) -> bool:
        """True when the input asks to remove the serving value (``none``)."""
        return setting.input in self.removed

    @property
    def image(self) -> ImageRef:
        image = self.given(IMAGE)
        # Required unless model-package is given, whose image ``packages.resolve`` sets before anyone asks.
        assert image is not None, "image asked for before the model package was resolved"
        return image

    @property
    def package(self) -> PackageRef | None:
        """The model-package input (resolved to a version by ``packages.resolve``), or None."""
        return self.given(MODEL_PACKAGE)

    @property
    def alarms(self) -> tuple[str, ...]:
        return self.given(ALARMS) or ()

    @property
    def bake_seconds(self) -> int:
        # With no alarm to watch there is nothing to bake against: traffic shifts at once.
        return (self.given(BAKE) or 0) if self.alarms else 0

    @property
    def creates_model(self) -> bool:
        """True unless the user named an existing model to deploy."""
        return not self.model_name

    def with_image(self, image: ImageRef) -> ActionConfig:
        return replace(self, settings=MappingProxyType({**self.settings, IMAGE.input: image}))

    def with_package(self, package: PackageRef, image: ImageRef) -> ActionConfig:
        """The model-package input resolved: the version to deploy, and the image it runs."""
        return replace(
            self, settings=MappingProxyType({**self.settings, MODEL_PACKAGE.input: package, IMAGE.input: image})
        )


def read_inputs(environ: Mapping[str, str]) -> dict[str, str]:
    """Every input by its contract name (trimmed, defaults applied).

    The runner hands a container action its inputs as environment variables: ``INPUT_<NAME>``, the name
    upper-cased with spaces replaced by ``_`` (GitHub's metadata syntax reference, ``inputs``); hyphens stay, so
    ``endpoint-name`` is ``INPUT_ENDPOINT-NAME``. actions/toolkit's ``getInput`` reads them the same way and trims
    the value. Read here rather than through a library: the Python port's reader loads ``requests`` with it, a
    third of a run's own start-up on an endpoint with nothing to change."""
    raw = {}
    for name, default in INPUT_DEFAULTS.items():
        value = environ.get(f"INPUT_{name.replace(' ', '_').upper()}", "").strip()
        raw[name] = value if value != "" else default
    return raw


def parse_config(raw: Mapping[str, str], environ: Mapping[str, str]) -> ActionConfig:
    """Check every input and build the config; raise InputError listing all problems at once."""

    def value(name: str) -> str:
        # read_inputs has applied the defaults already; a caller with fewer inputs gets them here.
        return raw.get(name) or INPUT_DEFAULTS[name]

    problems = Problems()
    for name in REQUIRED_INPUTS:
        if not raw.get(name, ""):
            problems.of(name).bad("is required and was not given")

    region = value("aws-region") or environ.get("AWS_REGION", "") or environ.get("AWS_DEFAULT_REGION", "")
    if not region:
        problems.of("aws-region").bad(
            "no region: set the aws-region input or AWS_REGION (aws-actions/configure-aws-credentials exports it)"
        )
    elif not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        problems.of("aws-region").bad(f"'{safe(region)}' is not an AWS region; expected e.g. us-east-1")
    else:
        problems.region = region

    endpoint_name = value("endpoint-name")
    if endpoint_name:
        checks.name(problems.of("endpoint-name"), endpoint_name)
    variant_name = checks.name(problems.of("variant-name"), value("variant-name"))
    model_name = value("model-name")
    if model_name:
        checks.model_name(problems.of("model-name"), model_name)

    settings: dict[str, Any] = {}
    removed: set[str] = set()
    for setting in FIELDS:
        text = value(setting.input)
        if setting.none_removes and text.lower() == REMOVE:
            removed.add(setting.input)
        elif text:
            settings[setting.input] = setting.parse(problems.of(setting.input), text)
    if model_name:
        for setting in CREATED_MODEL_ONLY:
            if setting.input in settings:
                problems.of(setting.input).bad(
                    "applies to the model the action creates; leave it empty when model-name is given"
                )

    _package_pairs(problems, settings, raw)
    if str(settings.get(MODEL_DATA_URL.input, "")).endswith("/"):
        problems.of(MODEL_DATA_URL.input).bad(
            "ends in '/', a prefix; it becomes the model's ModelDataUrl, which is one .tar.gz object, e.g. "
            "s3://<bucket>/<path>/model.tar.gz (uncompressed model data in a prefix, ModelDataSource, is kept "
            "from the serving model while model-data-url is empty)"
        )

    strategy, step = settings.get(STRATEGY.input, STRATEGY.default), settings.get(STEP_SIZE.input)
    if step is not None and strategy == "all-at-once":
        problems.of(STEP_SIZE.input).bad(
            "applies to canary, linear and rolling; with deployment-strategy all-at-once leave it empty"
        )
    elif step is not None and percent_problem(strategy, step):
        problems.of(STEP_SIZE.input).bad(percent_problem(strategy, step))

    tags = _tags(problems, value("tags"))
    timeout_minutes = checks.positive_number(
        problems.of("deployment-timeout-minutes"), value("deployment-timeout-minutes"), 24 * 60
    )
    poll_interval = checks.positive_number(problems.of("poll-interval-seconds"), value("poll-interval-seconds"), 300)
    mode = value("mode")
    if mode not in ("apply", "plan"):
        problems.of("mode").bad(f"'{safe(mode)}' is not a mode; expected apply or plan")
    delete_previous = checks.boolean(problems.of("delete-previous"), value("delete-previous"))
    comment = checks.boolean(problems.of("comment"), value("comment"))
    force_redeploy = checks.boolean(problems.of("force-redeploy"), value("force-redeploy"))
    smoke_test = _smoke_test(problems, value, environ.get("GITHUB_WORKSPACE", "") or os.getcwd())

    if problems.found:
        raise InputError(problems.found)
    return ActionConfig(
        endpoint_name=endpoint_name,
        variant_name=variant_name,
        model_name=model_name,
        settings=MappingProxyType(settings),
        tags=tags,
        mode="plan" if mode == "plan" else "apply",
        deployment_timeout_seconds=timeout_minutes * 60,
        delete_previous=delete_previous,
        region=region,
        github_token=value("github-token"),
        comment=comment,
        poll_interval_seconds=poll_interval,
        github=GitHubContext.from_environ(environ),
        removed=frozenset(removed),
        force_redeploy=force_redeploy,
        smoke_test=smoke_test,
    )


def _package_pairs(problems: Problems, settings: Mapping[str, Any], raw: Mapping[str, str]) -> None:
    """model-package names the image and the artifact: it stands instead of image, and without model-data-url.
    (With model-name it is refused like every setting of the model the action creates.)"""
    if MODEL_PACKAGE.input in settings or raw.get(MODEL_PACKAGE.input):
        if raw.get(IMAGE.input):
            problems.of(MODEL_PACKAGE.input).bad(
                "give either image or model-package, not both: the package version names its own image"
            )
        if raw.get(MODEL_DATA_URL.input):
            problems.of(MODEL_DATA_URL.input).bad(
                "the model package version names its own model artifact; leave model-data-url empty with model-package"
            )
    elif not raw.get(IMAGE.input):
        problems.of(IMAGE.input).bad(
            "is required unless model-package is given; expected <registry>/<repo>@sha256:<64 hex> or an ECR "
            "<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>"
        )


def secret_values(config: ActionConfig) -> list[str]:
    """Values the log must mask: the container environment may hold secrets."""
    return [value for _, value in config.given(ENVIRONMENT) or ()]


def _tags(problems: Problems, text: str) -> Pairs:
    check = problems.of("tags")
    tags = checks.pairs_of(
        check,
        text,
        checks.TAG_KEY_RE,
        checks.TAG_VALUE_RE,
        256,
        rules="keys 1-128 and values 0-256 characters of letters, digits, spaces and _ . : / = + - @",
    )
    for key, _ in tags:
        if key.lower().startswith("aws:"):
            check.bad(f"key '{safe(key)}' uses the reserved prefix aws:")
        if key in (MANAGED_BY_KEY, ARTIFACT_KEY):
            check.bad(f"key '{safe(key)}' is set by the action itself; choose another key")
    if len(tags) + 1 > MAX_TAGS:
        check.bad(f"has {len(tags)} tags; SageMaker allows {MAX_TAGS} per resource, one of them the action's own")
    return tags


def _smoke_test(problems: Problems, value: Callable[[str], str], workspace: str) -> SmokeTest | None:
    """The smoke-test-* inputs; None when smoke-test-input is empty (the others then change nothing)."""
    given = value("smoke-test-input")
    content_type = value("smoke-test-content-type")
    if len(content_type) > CONTENT_TYPE_MAX or not content_type.isascii() or not content_type.isprintable():
        problems.of("smoke-test-content-type").bad(
            f"'{safe(content_type[:100])}' is not a content type SageMaker takes; expected at most "
            f"{CONTENT_TYPE_MAX} printable ASCII characters, e.g. application/json"
        )
    timeout = checks.positive_number(
        problems.of("smoke-test-timeout-seconds"), value("smoke-test-timeout-seconds"), SMOKE_TIMEOUT_MAX
    )
    expect_text = value("smoke-test-expect")
    expect = None
    if expect_text:
        try:
            expect = re.compile(expect_text)
        except re.error as error:
            problems.of("smoke-test-expect").bad(
                f"'{safe(expect_text)}' is not a regular expression ({safe(error)}); expected a Python regular "
                'expression the response body must contain a match of, e.g. "label":\\s*"cat"'
            )
    if not given:
        return None
    check = problems.of("smoke-test-input")
    if given.startswith("s3://"):
        # InputLocation is an S3 URI of an object, so a bucket alone is no request (botocore's model:
        # InputLocation, "the Amazon S3 URI where the inference request payload is stored").
        if not checks.S3_URI_RE.match(given) or given.rstrip("/").count("/") < 3 or given.endswith("/"):
            check.bad(f"'{safe(given)}' is not the S3 URI of an object; expected s3://<bucket>/<key>")
        body = b""
    else:
        body = _inline_body(check, given, workspace)
    return SmokeTest(
        given=given,
        input_location=given if given.startswith("s3://") else "",
        body=body,
        content_type=content_type,
        timeout_seconds=timeout,
        expect=expect,
    )


def _inline_body(check: checks.Check, given: str, workspace: str) -> bytes:
    """The bytes of a file in the workspace, sent inline: at most INLINE_BODY_MAX of them."""
    root = os.path.realpath(workspace)
    path = os.path.realpath(os.path.join(root, given))
    s3_way = "put it in S3 and give its s3://<bucket>/<key> URI instead (sent as InputLocation)"
    # Every refusal of the file names the inline limit and the S3 way around it: the fix may be either.
    inline = f"a file of 1 to {INLINE_BODY_MAX:,} bytes, sent inline as Body; for a larger request, {s3_way}"
    if os.path.commonpath([root, path]) != root:
        check.bad(f"'{safe(given)}' is outside the workspace; expected a path relative to the repository checkout")
        return b""
    try:
        with open(path, "rb") as handle:
            body = handle.read(INLINE_BODY_MAX + 1)
    except FileNotFoundError:
        check.bad(
            f"no file '{safe(given)}' in the workspace; expected a path relative to the repository checkout (is "
            f"actions/checkout run before this step?) to {inline}"
        )
        return b""
    except OSError as error:
        check.bad(f"cannot read '{safe(given)}' ({safe(error.strerror or error)}); expected a readable file")
        return b""
    if not body:
        check.bad(f"'{safe(given)}' is empty; expected the request the model should answer, {inline}")
    elif len(body) > INLINE_BODY_MAX:
        check.bad(
            f"'{safe(given)}' is larger than the {INLINE_BODY_MAX:,} bytes InvokeEndpointAsync takes inline; {s3_way}"
        )
    return body
