"""Inputs into the frozen ActionConfig: defaults, parsing and the local checks, without AWS."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sagemaker_async_deploy._checks import ImageRef, image_digest
from sagemaker_async_deploy.config import INPUT_DEFAULTS, ActionConfig, parse_config, read_inputs
from sagemaker_async_deploy.errors import InputError
from sagemaker_async_deploy.fields import ENVIRONMENT, FIELDS, INSTANCE_COUNT, MAX_CONCURRENT, STEP_SIZE

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/whisper@sha256:" + "1" * 64
ENV = {"AWS_REGION": "us-east-1"}
REQUIRED = {
    "endpoint-name": "whisper",
    "image": IMAGE,
    "instance-type": "ml.g4dn.xlarge",
    "output-path": "s3://bucket/out/",
}


def parse(environ: dict[str, str] | None = None, **inputs: str) -> ActionConfig:
    """parse_config on the contract defaults, the required inputs and ``inputs`` (underscores for hyphens)."""
    raw = {**INPUT_DEFAULTS, **REQUIRED, **{k.replace("_", "-"): v for k, v in inputs.items()}}
    return parse_config(raw, ENV if environ is None else environ)


def problems(environ: dict[str, str] | None = None, **inputs: str) -> dict[str, list[str]]:
    """The problems parse_config reports, by input name."""
    with pytest.raises(InputError) as caught:
        parse(environ, **inputs)
    found: dict[str, list[str]] = {}
    for problem in caught.value.problems:
        found.setdefault(problem.input, []).append(problem.message)
    return found


# --- defaults -------------------------------------------------------------------------------------------


def test_defaults_follow_the_contract() -> None:
    """With only the required inputs, every optional one takes the contract's default."""
    config = parse()
    assert config.bake_seconds == 0  # 300 by default, but no alarms: nothing to bake against
    # Empty "keep" inputs are absent: the serving value stays (the planner fills in the create value).
    assert config.given(INSTANCE_COUNT) is None and config.given(MAX_CONCURRENT) is None
    assert set(config.settings) == {"image", "instance-type", "output-path", "bake-seconds", "deployment-strategy"}
    assert config.variant_name == "AllTraffic"
    assert config.mode == "apply"
    assert config.deployment_timeout_seconds == 3600
    assert config.delete_previous is True and config.comment is True
    assert config.alarms == () and config.given(ENVIRONMENT) is None and config.tags == ()
    assert config.model_name == "" and config.creates_model
    assert config.poll_interval_seconds == 5


def test_read_inputs_applies_defaults_for_empty_inputs() -> None:
    """An input the runner passes empty (or blank) gets the contract default; a given one is kept, trimmed."""
    environ = {"INPUT_ENDPOINT-NAME": " whisper\n", "INPUT_BAKE-SECONDS": "", "INPUT_ALARMS": "  "}
    raw = read_inputs(environ)
    assert raw["endpoint-name"] == "whisper"
    assert raw["bake-seconds"] == "300"
    assert raw["alarms"] == INPUT_DEFAULTS["alarms"]
    assert raw["delete-previous"] == "true"
    assert set(raw) == set(INPUT_DEFAULTS)


def test_read_inputs_reads_the_variables_the_runner_sets() -> None:
    """INPUT_ and the name upper-cased, hyphens kept: the names of the runner, not the lower-case or underscored
    ones."""
    environ = {
        "INPUT_EXECUTION-ROLE-ARN": "arn:aws:iam::123456789012:role/sm",
        "INPUT_EXECUTION_ROLE_ARN": "underscored",
        "input_image": "lower-case",
    }
    raw = read_inputs(environ)
    assert raw["execution-role-arn"] == "arn:aws:iam::123456789012:role/sm"
    assert raw["image"] == INPUT_DEFAULTS["image"]


def test_config_is_frozen() -> None:
    """Nothing downstream can change the config once parsed."""
    config = parse()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.endpoint_name = "other"  # type: ignore[misc]


def test_github_token_is_not_in_the_repr() -> None:
    """Printing the config (a traceback, a debug line) never shows the token."""
    assert "ghs_secret" not in repr(parse(github_token="ghs_secret"))


# --- region ---------------------------------------------------------------------------------------------


def test_region_input_wins_over_the_environment() -> None:
    """aws-region overrides AWS_REGION and AWS_DEFAULT_REGION."""
    env = {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-central-1"}
    assert parse(env, aws_region="ap-south-1").region == "ap-south-1"


def test_aws_region_wins_over_aws_default_region() -> None:
    """Without the input, AWS_REGION comes before AWS_DEFAULT_REGION (botocore itself reads only the latter)."""
    assert parse({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-central-1"}).region == "eu-west-1"


def test_aws_default_region_is_the_last_resort() -> None:
    """With only AWS_DEFAULT_REGION set, that is the region."""
    assert parse({"AWS_DEFAULT_REGION": "eu-central-1"}).region == "eu-central-1"


def test_no_region_anywhere_is_a_problem_of_aws_region() -> None:
    """No input and no variable: the aws-region input is named as the fix."""
    assert "aws-region" in problems({})


def test_malformed_region_is_refused() -> None:
    """A region that is not of AWS's form is refused before any client is made."""
    assert "aws-region" in problems(aws_region="US East")


# --- alarms and bake ------------------------------------------------------------------------------------


def test_alarms_split_on_commas_and_newlines_and_trimmed() -> None:
    """Alarm names may be comma- or newline-separated, with blanks around them and empty items ignored."""
    config = parse(alarms="p99-latency, errors\n  5xx-rate ,\n\n,disk")
    assert config.alarms == ("p99-latency", "errors", "5xx-rate", "disk")


def test_bake_is_kept_with_alarms() -> None:
    """With alarms, bake-seconds is what the input says."""
    assert parse(alarms="errors", bake_seconds="120").bake_seconds == 120


def test_bake_is_forced_to_zero_without_alarms() -> None:
    """Without alarms there is nothing to watch, so traffic shifts at once whatever bake-seconds says."""
    assert parse(bake_seconds="600").bake_seconds == 0


def test_more_than_ten_alarms_is_refused() -> None:
    """SageMaker's AutoRollbackConfiguration takes at most ten alarms."""
    assert "alarms" in problems(alarms=",".join(f"a{i}" for i in range(11)))


def test_duplicate_alarm_is_refused() -> None:
    """The same alarm named twice is a mistake SageMaker would refuse later."""
    assert "alarms" in problems(alarms="errors,errors")


# --- booleans -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False), ("FALSE", False)],
)
def test_yaml_core_booleans_are_accepted(text: str, value: bool) -> None:
    """The YAML 1.2 core forms (what actions/toolkit's getBooleanInput accepts) parse."""
    config = parse(delete_previous=text, comment=text, force_redeploy=text)
    assert config.delete_previous is value and config.comment is value and config.force_redeploy is value


@pytest.mark.parametrize("text", ["yes", "no", "on", "off", "1", "0", "tRue", "y"])
def test_other_boolean_spellings_are_refused(text: str) -> None:
    """YAML 1.1 spellings like yes/on/1 are refused rather than guessed."""
    found = problems(delete_previous=text, comment=text, force_redeploy=text)
    assert set(found) == {"delete-previous", "comment", "force-redeploy"}


# --- numbers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("bake-seconds", "3601"),
        ("bake-seconds", "-1"),
        ("initial-instance-count", "0"),
        ("max-concurrent-invocations", "0"),
        ("max-concurrent-invocations", "1001"),
        ("deployment-timeout-minutes", "0"),
        ("deployment-timeout-minutes", "nan"),
        ("deployment-timeout-minutes", "inf"),
        ("poll-interval-seconds", "0"),
        ("initial-instance-count", "two"),
        ("initial-instance-count", "1.5"),
        ("container-startup-timeout-seconds", "59"),
        ("container-startup-timeout-seconds", "3601"),
        ("model-download-timeout-seconds", "59"),
        ("model-download-timeout-seconds", "3601"),
        ("model-download-timeout-seconds", "20m"),
    ],
)
def test_numbers_out_of_range_or_malformed_are_refused(name: str, value: str) -> None:
    """Each numeric input is checked against its range and form."""
    assert name in problems(**{name.replace("-", "_"): value})


def test_fractional_timeout_is_allowed_in_seconds() -> None:
    """deployment-timeout-minutes may be fractional and is kept in seconds."""
    assert parse(deployment_timeout_minutes="1.5").deployment_timeout_seconds == 90


# --- environment and tags -------------------------------------------------------------------------------


def test_environment_lines_parse_into_sorted_pairs() -> None:
    """KEY=VALUE lines become pairs; blank and # lines are skipped; values may hold '='."""
    config = parse(environment="# model settings\nZ_LAST=1\n\nA_FIRST = x=y \n")
    assert config.given(ENVIRONMENT) == (("A_FIRST", "x=y"), ("Z_LAST", "1"))


@pytest.mark.parametrize(
    "text",
    ["NO_EQUALS_SIGN", "=value", "1BAD=x", "BAD-KEY=x", "A=1\nA=2", "LONG=" + "v" * 1025],
)
def test_bad_environment_lines_are_refused(text: str) -> None:
    """A line without '=', a bad key, a duplicate key or an over-long value is refused."""
    assert "environment" in problems(environment=text)


@pytest.mark.parametrize(("line", "shown"), [("API_KEY: sk-live-4242", "API_KEY"), ("sk-live-4242", "")])
def test_bad_environment_line_never_echoes_what_may_be_a_value(line: str, shown: str) -> None:
    """A line that is not KEY=VALUE is reported by number (and key), never with what may be a secret value."""
    message = problems(environment=f"MODE=fast\n{line}")["environment"][0]
    assert "line 2" in message
    assert "sk-live-4242" not in message
    assert shown in message


def test_bad_tag_line_is_echoed() -> None:
    """Tags are not secret: a malformed tag line is shown so the user finds it."""
    assert "team ml" in problems(tags="team ml")["tags"][0]


def test_tags_parse_into_pairs() -> None:
    """tags are KEY=VALUE lines like environment, with SageMaker's tag characters."""
    assert parse(tags="team=ml\ncost-center = 42").tags == (("cost-center", "42"), ("team", "ml"))


@pytest.mark.parametrize(
    "text",
    [
        "aws:x=1",
        "AWS:created=1",
        "managed-by=me",
        "k" * 129 + "=1",
        "k=" + "v" * 257,
        "k=semi;colon",
        "\n".join(f"k{i}=v" for i in range(50)),
    ],
)
def test_bad_tags_are_refused(text: str) -> None:
    """Reserved aws: keys, the action's own key, over-long keys/values, bad characters and > 49 tags are refused."""
    assert "tags" in problems(tags=text)


def test_forty_nine_tags_fit_beside_the_actions_own() -> None:
    """49 user tags plus managed-by make SageMaker's limit of 50."""
    assert len(parse(tags="\n".join(f"k{i}=v" for i in range(49))).tags) == 49


def test_environment_with_model_name_is_refused() -> None:
    """environment applies to a model the action creates; with model-name it would be silently ignored."""
    assert "environment" in problems(model_name="terraform-model", environment="A=1")


# --- names, image, ARNs, URIs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("endpoint-name", "my_endpoint"),
        ("endpoint-name", "e" * 64),
        ("endpoint-name", "-leading"),
        ("variant-name", "All Traffic"),
        ("model-name", "model.v1"),
        ("model-name", "trailing-"),
    ],
)
def test_names_outside_sagemakers_pattern_are_refused(name: str, value: str) -> None:
    """endpoint-name, variant-name and model-name follow SageMaker's pattern and 63-character limit."""
    assert name in problems(**{name.replace("-", "_"): value})


def test_sixty_three_character_endpoint_name_is_accepted() -> None:
    """63 characters is SageMaker's limit, inclusive."""
    assert parse(endpoint_name="e" * 63).endpoint_name == "e" * 63


def test_digest_image_is_pinned_as_given() -> None:
    """A digest reference needs no lookup: repository and digest are split out."""
    image = parse().image
    assert image.digest == "sha256:" + "1" * 64
    assert image.reference == IMAGE


def test_ecr_tag_image_is_kept_for_resolution() -> None:
    """An ECR tag reference parses into account, region, repository and tag for preflight to resolve."""
    image = parse(image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/whisper:v7").image
    assert (image.digest, image.tag) == ("", "v7")
    assert (image.ecr_account, image.ecr_region, image.ecr_repository) == ("123456789012", "eu-west-1", "team/whisper")


REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/whisper"
DIGEST = "sha256:" + "1" * 64


@pytest.mark.parametrize(
    ("reference", "digest"),
    [
        (IMAGE, DIGEST),
        (f"{REPOSITORY}:v7", ""),
        (f"{REPOSITORY}@md5:abc", ""),
        (DIGEST, ""),
    ],
)
def test_image_digest_is_the_sha256_after_the_at(reference: str, digest: str) -> None:
    """Only a reference pinned by @sha256: has a digest: a tag, another algorithm or a bare digest has none."""
    assert image_digest(reference) == digest


def test_a_serving_image_pinned_by_digest_splits_at_the_at() -> None:
    """An image a serving model names by digest is its repository and that digest, shown as registry/repo@sha256."""
    served = ImageRef.serving(IMAGE)
    assert served == ImageRef(given=IMAGE, repository=REPOSITORY, digest=DIGEST)
    assert served.reference == IMAGE


def test_a_serving_image_named_by_tag_has_no_digest_and_shows_as_written() -> None:
    """A tag reference from a serving model is never resolved: no digest, and it is shown as it was written."""
    served = ImageRef.serving(f"{REPOSITORY}:v7")
    assert served == ImageRef(given=f"{REPOSITORY}:v7", repository=f"{REPOSITORY}:v7", digest="")
    assert served.reference == f"{REPOSITORY}:v7"


def test_a_resolved_tag_is_referenced_by_its_digest() -> None:
    """Once preflight knows the digest, the reference is registry/repo@sha256 rather than the tag typed."""
    tagged = parse(image=f"{REPOSITORY}:v7").image
    assert tagged.reference == f"{REPOSITORY}:v7"
    assert tagged.resolved(DIGEST).reference == IMAGE


@pytest.mark.parametrize(
    "value",
    [
        "nginx:latest",
        "nginx",
        "ghcr.io/acme/whisper:v1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/whisper",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/whisper@sha256:abc",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/whisper@sha256:" + "A" * 64,
    ],
)
def test_images_neither_pinned_nor_ecr_tags_are_refused(value: str) -> None:
    """A tag outside ECR, no tag at all or a malformed digest cannot say whether the image changed."""
    assert "image" in problems(image=value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("output-path", "https://bucket.s3.amazonaws.com/out"),
        ("output-path", "s3://Bucket/out"),
        ("failure-path", "s3:/bucket"),
        ("model-data-url", "bucket/model.tar.gz"),
        ("success-topic", "arn:aws:sqs:us-east-1:123456789012:queue"),
        ("error-topic", "arn:aws:sns:eu-west-1:123456789012:errors"),
        ("execution-role-arn", "arn:aws:iam::123456789012:user/alice"),
        ("instance-type", "g4dn.xlarge"),
        ("mode", "deploy"),
    ],
)
def test_malformed_uris_arns_and_enums_are_refused(name: str, value: str) -> None:
    """S3 URIs, topic and role ARNs (topics in the endpoint's region), instance types and mode are checked."""
    assert name in problems(**{name.replace("-", "_"): value})


def test_missing_required_inputs_are_each_reported() -> None:
    """Every required input left empty is named."""
    found = problems(endpoint_name="", image="", instance_type="", output_path="")
    assert {"endpoint-name", "image", "instance-type", "output-path"} <= set(found)


def test_several_problems_are_reported_at_once() -> None:
    """All bad inputs come back in one InputError, so one run shows everything to fix."""
    found = problems(
        endpoint_name="bad_name",
        image="nginx:latest",
        bake_seconds="3601",
        mode="deploy",
        delete_previous="yes",
        tags="aws:x=1",
    )
    assert {"endpoint-name", "image", "bake-seconds", "mode", "delete-previous", "tags"} <= set(found)


def test_problem_messages_show_the_bad_value_escaped() -> None:
    """A bad value is echoed so the user sees it, but cannot start a workflow command."""
    found = problems(mode="::set-output name=result::pwned\nx")
    message = found["mode"][0]
    assert "\n" not in message
    assert "::set-output" not in message


def test_every_managed_setting_is_read_by_its_row() -> None:
    """Each row of the table parses its own input: a value given reaches the config under the input's name."""
    given = {
        "failure-path": "s3://bucket/failed/",
        "initial-instance-count": "2",
        "max-concurrent-invocations": "4",
        "container-startup-timeout-seconds": "1800",
        "model-download-timeout-seconds": "1200",
        "model-data-url": "s3://bucket/model.tar.gz",
        "execution-role-arn": "arn:aws:iam::123456789012:role/sm",
    }
    config = parse(**{k.replace("-", "_"): v for k, v in given.items()})
    parsed = {f.input: config.given(f) for f in FIELDS if f.input in given}
    assert parsed == {
        "failure-path": "s3://bucket/failed/",
        "initial-instance-count": 2,
        "max-concurrent-invocations": 4,
        "container-startup-timeout-seconds": 1800,
        "model-download-timeout-seconds": 1200,
        "model-data-url": "s3://bucket/model.tar.gz",
        "execution-role-arn": "arn:aws:iam::123456789012:role/sm",
    }


@pytest.mark.parametrize(
    ("strategy", "step", "says"),
    [
        ("all-at-once", "1", "with deployment-strategy all-at-once leave it empty"),
        ("canary", "60%", "at most 50%"),
        ("linear", "5%", "10%–50%"),
        ("linear", "60%", "10%–50%"),
        ("rolling", "4%", "5%–50%"),
        ("rolling", "0", "not a step size"),
        ("canary", "150%", "not a step size"),
        ("canary", "one", "not a step size"),
    ],
)
def test_step_sizes_outside_the_strategys_limits_are_refused(strategy: str, step: str, says: str) -> None:
    """A step in percent is checked against AWS's limits for the strategy before anything is read."""
    assert any(says in m for m in problems(deployment_strategy=strategy, step_size=step)["step-size"])


def test_an_unknown_strategy_is_refused_with_the_choices() -> None:
    """deployment-strategy names one of the four strategies."""
    assert (
        "all-at-once, canary, linear, rolling" in problems(deployment_strategy="blue-green")["deployment-strategy"][0]
    )


@pytest.mark.parametrize(("text", "shown"), [("25%", "25%"), ("2", "2"), ("10 %", "10%")])
def test_step_sizes_parse_as_percent_or_instances(text: str, shown: str) -> None:
    """N% is a share of the variant's capacity, N a number of instances."""
    config = parse(deployment_strategy="rolling", step_size=text)
    assert str(config.given(STEP_SIZE)) == shown


@pytest.mark.parametrize("name", ["failure-path", "success-topic", "error-topic"])
def test_none_asks_to_remove_and_empty_asks_nothing(name: str) -> None:
    """``none`` for a failure path or topic is a removal, not a value; empty is neither a value nor a removal."""
    setting = next(f for f in FIELDS if f.input == name)
    removing = parse(**{name.replace("-", "_"): "none"})
    assert removing.removes(setting) and removing.given(setting) is None
    keeping = parse()
    assert not keeping.removes(setting) and keeping.given(setting) is None


@pytest.mark.parametrize("name", ["output-path", "model-data-url", "execution-role-arn"])
def test_none_is_no_removal_where_the_setting_cannot_go(name: str) -> None:
    """Only the failure path and the topics can be removed: ``none`` elsewhere is a bad value, named as such."""
    assert "none" in problems(**{name.replace("-", "_"): "none"})[name][0]


# --- the smoke test's request -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "said"),
    [
        ({}, "no file 'smoke.json'"),
        ({"smoke.json": b""}, "'smoke.json' is empty"),
        ({"smoke.json": b"x" * 128_001}, "'smoke.json' is larger than"),
    ],
    ids=["missing", "empty", "too-large"],
)
def test_a_smoke_test_file_refused_names_the_inline_limit_and_the_s3_way(
    tmp_path: Path, files: dict[str, bytes], said: str
) -> None:
    """A file that is missing, empty or too large is refused with the 128,000 bytes InvokeEndpointAsync takes inline
    and the S3 URI to give instead, so that either fix is in the message."""
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    [message] = problems({**ENV, "GITHUB_WORKSPACE": str(tmp_path)}, smoke_test_input="smoke.json")["smoke-test-input"]
    assert said in message
    assert "128,000 bytes" in message
    assert "s3://<bucket>/<key> URI instead (sent as InputLocation)" in message
