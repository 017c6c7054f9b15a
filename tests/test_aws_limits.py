"""The numbers and names in the action that are AWS's rules, each stated here as AWS states it and, where botocore's
service model carries it, checked against that model.

cosmic-ray does not mutate module constants, so a limit off by one at AWS's documented bound (a step of 10 % or
50 %, a timeout of 600 or 3600 s, the 50th tag) would pass every mutation run: these tests are what notices. A
test failing here after a botocore upgrade means AWS changed a rule: read the new one before changing a number.
"""

from __future__ import annotations

import re
from typing import Any

import botocore.session
import pytest

from sagemaker_async_deploy import (
    _checks,
    artifacts,
    autoscaling,
    cancel,
    config,
    fleetlog,
    packages,
    smoke,
    state,
    strategy,
    winddown,
)
from sagemaker_async_deploy._checks import Problems, StepSize
from sagemaker_async_deploy.errors import PlanError
from sagemaker_async_deploy.fields import BAKE, DOWNLOAD_TIMEOUT, INSTANCE_COUNT, MAX_CONCURRENT, STARTUP_TIMEOUT
from sagemaker_emulator import _sagemaker, _server

SESSION = botocore.session.get_session()
SAGEMAKER = SESSION.get_service_model("sagemaker")


def limits(shape: str, member: str) -> dict[str, Any]:
    """min / max / pattern of ``shape.member`` in botocore's SageMaker model."""
    return dict(SAGEMAKER.shape_for(shape).members[member].metadata)


def documentation(shape: str, member: str) -> str:
    """The model's documentation of ``shape.member``, tags removed."""
    return re.sub(r"<[^>]+>", "", SAGEMAKER.shape_for(shape).members[member].documentation)


@pytest.mark.parametrize(
    ("setting", "shape", "member", "aws"),
    [
        # ProductionVariant: "The timeout value, in seconds, for your inference container to pass health check";
        # ProductionVariantContainerStartupHealthCheckTimeoutInSeconds min 60, max 3600.
        (STARTUP_TIMEOUT, "ProductionVariant", "ContainerStartupHealthCheckTimeoutInSeconds", (60, 3600)),
        # ProductionVariantModelDataDownloadTimeoutInSeconds min 60, max 3600.
        (DOWNLOAD_TIMEOUT, "ProductionVariant", "ModelDataDownloadTimeoutInSeconds", (60, 3600)),
        # TrafficRoutingConfig / RollingUpdatePolicy WaitIntervalInSeconds min 0, max 3600: the bake.
        (BAKE, "TrafficRoutingConfig", "WaitIntervalInSeconds", (0, 3600)),
        (BAKE, "RollingUpdatePolicy", "WaitIntervalInSeconds", (0, 3600)),
        # AsyncInferenceClientConfig.MaxConcurrentInvocationsPerInstance min 1, max 1000.
        (MAX_CONCURRENT, "AsyncInferenceClientConfig", "MaxConcurrentInvocationsPerInstance", (1, 1000)),
    ],
    ids=["startup-timeout", "download-timeout", "bake", "rolling-bake", "max-concurrent"],
)
def test_number_inputs_take_exactly_aws_range(setting: Any, shape: str, member: str, aws: tuple[int, int]) -> None:
    """Each number input accepts AWS's bounds and refuses one past each, as the service model has them."""
    model = limits(shape, member)
    assert (model["min"], model["max"]) == aws
    low, high = aws
    for text, accepted in ((low, True), (high, True), (low - 1, False), (high + 1, False)):
        problems = Problems()
        setting.parse(problems.of(setting.input), str(text))
        assert (problems.found == []) is accepted, (setting.input, text, problems.found)


def test_the_instance_count_starts_at_aws_minimum() -> None:
    """InitialInstanceCount's shape (InitialTaskCount) has min 1 and no max: 1 is accepted, 0 refused; the upper
    bound of 10,000 is the action's own guard against a typo, not AWS's."""
    assert limits("ProductionVariant", "InitialInstanceCount") == {"min": 1}
    assert (INSTANCE_COUNT.parse.low, INSTANCE_COUNT.parse.high) == (1, 10_000)


def test_step_limits_are_aws_shares_of_the_variant() -> None:
    """CanarySize "less than or equal to 50%", LinearStepSize "10-50%", rolling MaximumBatchSize "between 5% to
    50%" of the variant's total instance count (the service model's documentation of each member)."""
    assert "less than or equal to 50% of the variant's total instance count" in documentation(
        "TrafficRoutingConfig", "CanarySize"
    )
    assert "must be 10-50% of the variant's total instance count" in documentation(
        "TrafficRoutingConfig", "LinearStepSize"
    )
    assert "between 5% to 50% of the variant's total instance count" in documentation(
        "RollingUpdatePolicy", "MaximumBatchSize"
    )
    assert strategy.LIMITS == {"canary": (0.0, 0.5), "linear": (0.1, 0.5), "rolling": (0.05, 0.5)}


@pytest.mark.parametrize(
    ("chosen", "step", "fleet", "fits"),
    [
        # The bounds themselves are allowed; one instance past them is not.
        ("canary", StepSize(5, False), 10, True),  # 50 %
        ("canary", StepSize(6, False), 10, False),  # 60 %
        ("linear", StepSize(1, False), 10, True),  # 10 %
        ("linear", StepSize(1, False), 11, False),  # 9 %
        ("linear", StepSize(5, False), 10, True),  # 50 %
        ("linear", StepSize(6, False), 10, False),
        ("rolling", StepSize(1, False), 20, True),  # 5 %
        ("rolling", StepSize(1, False), 21, False),  # 4.8 %
        ("rolling", StepSize(10, False), 20, True),  # 50 %
        ("rolling", StepSize(11, False), 20, False),
        ("linear", StepSize(10, True), 10, True),
        ("linear", StepSize(50, True), 10, True),
        ("rolling", StepSize(5, True), 20, True),
    ],
)
def test_a_step_at_aws_bound_fits_and_one_past_it_is_refused(
    chosen: str, step: StepSize, fleet: int, fits: bool
) -> None:
    """fit() accepts a step of exactly AWS's smallest and largest share and refuses the next instance beyond."""
    if fits:
        assert strategy.fit(chosen, step, fleet) == strategy.Fitted(chosen, step)
    else:
        with pytest.raises(PlanError):
            strategy.fit(chosen, step, fleet)


@pytest.mark.parametrize(
    ("chosen", "step", "problem"),
    [
        ("linear", StepSize(10, True), False),
        ("linear", StepSize(9, True), True),
        ("linear", StepSize(50, True), False),
        ("linear", StepSize(51, True), True),
        ("rolling", StepSize(5, True), False),
        ("rolling", StepSize(4, True), True),
        ("canary", StepSize(50, True), False),
        ("canary", StepSize(51, True), True),
    ],
)
def test_a_percent_step_is_checked_against_aws_bounds_before_the_fleet_is_known(
    chosen: str, step: StepSize, problem: bool
) -> None:
    """percent_problem() says nothing at AWS's bounds and names the strategy's range one percent past them."""
    found = strategy.percent_problem(chosen, step)
    assert bool(found) is problem, found
    if problem:
        assert f"outside {chosen}'s" in found


def test_rolling_timeout_range_is_the_service_model() -> None:
    """RollingUpdatePolicy.MaximumExecutionTimeoutInSeconds: min 600, max 28800 (8 hours)."""
    model = limits("RollingUpdatePolicy", "MaximumExecutionTimeoutInSeconds")
    assert (model["min"], model["max"]) == (600, 28800)
    assert strategy.ROLLING_TIMEOUT_RANGE == (600, 28800)


def test_transitional_statuses_are_aws_in_progress_ones() -> None:
    """Of DescribeEndpoint's EndpointStatus values, Creating, Updating, SystemUpdating ("undergoing maintenance
    and cannot be updated or deleted or re-scaled until it has completed"), RollingBack and Deleting are work in
    progress; OutOfService, InService, Failed and UpdateRollbackFailed are where an endpoint rests. The action
    and the emulator agree on the split."""
    statuses = set(SAGEMAKER.shape_for("EndpointStatus").enum)
    in_progress = {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}
    assert statuses - in_progress == {"OutOfService", "InService", "Failed", "UpdateRollbackFailed"}
    assert set(state.TRANSITIONAL) == in_progress
    assert len(state.TRANSITIONAL) == len(in_progress)
    assert in_progress == _sagemaker._IN_PROGRESS


def test_tag_limits_are_sagemakers() -> None:
    """TagList max 50 per resource, TagKey 1-128 and TagValue 0-256 characters (service model); the action
    counts its own managed-by tag among the 50."""
    assert limits("CreateEndpointInput", "Tags")["max"] == 50
    assert config.MAX_TAGS == autoscaling.MAX_TAGS == 50
    key, value = (
        SAGEMAKER.shape_for("Tag").members["Key"].metadata,
        SAGEMAKER.shape_for("Tag").members["Value"].metadata,
    )
    assert (key["min"], key["max"], value["min"], value["max"]) == (1, 128, 0, 256)
    assert autoscaling.TAG_VALUE_MAX == 256
    assert _checks.TAG_KEY_RE.match("k" * 128) and not _checks.TAG_KEY_RE.match("k" * 129)
    assert not _checks.TAG_KEY_RE.match("")
    assert _checks.TAG_VALUE_RE.match("v" * 256) and not _checks.TAG_VALUE_RE.match("v" * 257)
    assert _checks.TAG_VALUE_RE.match("")


def test_name_alarm_and_environment_limits_are_sagemakers() -> None:
    """EndpointName max 63; AutoRollbackConfig.Alarms max 10, AlarmName max 255; EnvironmentMap max 100 entries,
    keys up to 1024 characters (service model)."""
    assert limits("CreateEndpointInput", "EndpointName")["max"] == 63 == _checks.NAME_MAX
    assert limits("AutoRollbackConfig", "Alarms")["max"] == 10 == _checks.MAX_ALARMS
    assert limits("Alarm", "AlarmName")["max"] == 255 == _checks.ALARM_NAME_MAX
    environment = SAGEMAKER.shape_for("ContainerDefinition").members["Environment"]
    assert environment.metadata["max"] == 100 == _checks.MAX_ENVIRONMENT
    assert environment.key.metadata["max"] == 1024
    assert _checks.ENV_KEY_RE.match("K" * 1024) and not _checks.ENV_KEY_RE.match("K" * 1025)


def test_the_autoscaling_dimension_is_application_auto_scaling_own() -> None:
    """The variant's scalable dimension is one of Application Auto Scaling's ScalableDimension values."""
    model = SESSION.get_service_model("application-autoscaling")
    assert autoscaling.DIMENSION in model.shape_for("ScalableDimension").enum
    assert autoscaling.DIMENSION == "sagemaker:variant:DesiredInstanceCount"


def test_the_cancel_budget_ends_before_the_runner_kills_the_step() -> None:
    """GitHub's runner sends SIGINT, SIGTERM 7.5 s later and kills the process tree 2.5 s after that (Workflow
    cancellation reference): the action's 5 s budget ends before SIGTERM, and the autoscaling restore starts only
    with 3 s of it left."""
    sigterm_after, sigkill_after = 7.5, 7.5 + 2.5
    assert cancel.BUDGET_SECONDS == 5.0
    assert cancel.BUDGET_SECONDS < sigterm_after < sigkill_after
    assert winddown.RESTORE_NEEDS == 3.0 < cancel.BUDGET_SECONDS


def test_the_smoke_tests_request_takes_exactly_aws_limits() -> None:
    """InvokeEndpointAsync (botocore's sagemaker-runtime model): Body a blob of at most 128,000 bytes, ContentType at
    most 1024 characters, RequestTTLSeconds 60-21600. The inline limit, the content type's, the longest smoke test
    and the TTL's clamp are those numbers, and the emulator refuses a larger body as SageMaker does."""
    runtime = SESSION.get_service_model("sagemaker-runtime").operation_model("InvokeEndpointAsync").input_shape
    assert runtime.members["Body"].metadata["max"] == 128_000 == config.INLINE_BODY_MAX == _server._INLINE_BODY_MAX
    assert runtime.members["ContentType"].metadata["max"] == 1024 == config.CONTENT_TYPE_MAX
    ttl = runtime.members["RequestTTLSeconds"].metadata
    assert (ttl["min"], ttl["max"]) == (60, 21_600) == (smoke.TTL_MIN, smoke.TTL_MAX)
    assert config.SMOKE_TIMEOUT_MAX == 21_600


def test_the_smoke_test_alarm_period_is_a_high_resolution_one() -> None:
    """PutMetricAlarm's Period: "Valid values are 10, 20, 30, and any multiple of 60", 10 only for a metric stored
    with a StorageResolution of 1, which the failure's datapoint has."""
    period = SESSION.get_service_model("cloudwatch").operation_model("PutMetricAlarm").input_shape.members["Period"]
    assert "Valid values are 10, 20, 30, and any multiple of 60" in re.sub(r"<[^>]+>", "", period.documentation)
    assert smoke.ALARM_PERIOD == 10
    assert smoke.metric_request("ep")["MetricData"][0]["StorageResolution"] == 1


def test_the_model_registry_status_deployed_is_aws_approved() -> None:
    """ModelApprovalStatus is Approved, Rejected or PendingManualApproval; only Approved is deployed."""
    assert packages.APPROVED in SAGEMAKER.shape_for("ModelApprovalStatus").enum
    assert packages.APPROVED == "Approved"


def test_an_artifacts_identity_fits_one_page_and_one_tag() -> None:
    """ListObjectsV2 "returns up to 1,000 key names" (MaxKeys): a prefix is identified by one page of them; the
    identity is a tag value of SageMaker's (at most 256 characters), whatever the count."""
    max_keys = SESSION.get_service_model("s3").operation_model("ListObjectsV2").input_shape.members["MaxKeys"]
    assert "returns up to 1,000 key names" in max_keys.documentation
    assert artifacts.MAX_PREFIX_OBJECTS == 1000
    widest = f"listing={'f' * 32} objects={artifacts.MAX_PREFIX_OBJECTS}"
    assert len(widest) <= limits("Tag", "Value")["max"] == 256


def test_the_live_log_reads_within_cloudwatch_logs_limits() -> None:
    """DescribeLogStreams' limit is 1-50 (one page), GetLogEvents' 1-10000; the live log reads while the endpoint
    is in one of DescribeEndpoint's statuses of a fleet starting."""
    logs = SESSION.get_service_model("logs")
    listed = logs.operation_model("DescribeLogStreams").input_shape.members["limit"].metadata
    read = logs.operation_model("GetLogEvents").input_shape.members["limit"].metadata
    assert (listed["min"], listed["max"]) == (1, 50) and fleetlog.STREAMS_LISTED == 50
    assert read["min"] <= fleetlog.PAGE_LINES <= read["max"] == 10_000
    assert fleetlog.WATCHED == ("Creating", "Updating")
    assert set(fleetlog.WATCHED) <= set(SAGEMAKER.shape_for("EndpointStatus").enum)
