"""Thin AWS adapters: one function per API call, nothing clever inside.

Clients take credentials from the standard AWS_* environment (what configure-aws-credentials exports) and
the endpoint URL the way boto3 itself honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>. The region is
passed explicitly: botocore ignores AWS_REGION, which the contract promises to honour.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from . import __version__

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_logs import CloudWatchLogsClient

Json = dict[str, Any]

# Throttling, 5xx and dropped connections are retried by botocore's standard mode with backoff.
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 8},
    user_agent_extra=f"sagemaker-async-deploy/{__version__}",
    connect_timeout=10,
    read_timeout=60,
)


class Clients:
    """Clients are made on first use: the no-change path needs SageMaker alone."""

    def __init__(self, region: str) -> None:
        self.region = region
        self._session: boto3.session.Session | None = None
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            if self._session is None:
                self._session = boto3.session.Session(region_name=self.region)
            self._clients[service] = self._session.client(service, config=_CLIENT_CONFIG)  # type: ignore[call-overload]
        return self._clients[service]

    @property
    def sagemaker(self) -> Any:
        return self.client("sagemaker")


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def is_not_found(error: ClientError) -> bool:
    """SageMaker answers a missing model/config/endpoint with a ValidationException 'Could not find …'."""
    return error_code(error) in (
        "ValidationException",
        "ResourceNotFound",
    ) and "Could not find" in error_message(error)


def is_already_existing(error: ClientError) -> bool:
    return "already existing" in error_message(error) or "already exists" in error_message(error)


# --- SageMaker ------------------------------------------------------------------------------------------


def _or_none(call: Any, **params: Any) -> Json | None:
    """A Describe call's answer, or None where SageMaker says the resource does not exist."""
    try:
        return dict(call(**params))
    except ClientError as error:
        if is_not_found(error):
            return None
        raise


def describe_endpoint(sm: Any, name: str) -> Json | None:
    return _or_none(sm.describe_endpoint, EndpointName=name)


def describe_endpoint_config(sm: Any, name: str) -> Json | None:
    return _or_none(sm.describe_endpoint_config, EndpointConfigName=name)


def describe_model(sm: Any, name: str) -> Json | None:
    return _or_none(sm.describe_model, ModelName=name)


def _all_items(client: Any, operation: str, key: str, **params: Any) -> list[Json]:
    """Every item under ``key`` across the pages of a paginated call."""
    items: list[Json] = []
    for page in client.get_paginator(operation).paginate(**params):
        items += page.get(key, [])
    return items


def list_tags(sm: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in _all_items(sm, "list_tags", "Tags", ResourceArn=arn)}


def list_endpoint_config_names(sm: Any, name_contains: str) -> list[str]:
    configs = _all_items(sm, "list_endpoint_configs", "EndpointConfigs", NameContains=name_contains)
    return [c["EndpointConfigName"] for c in configs]


def list_model_names(sm: Any, name_contains: str) -> list[str]:
    return [m["ModelName"] for m in _all_items(sm, "list_models", "Models", NameContains=name_contains)]


def create_model(sm: Any, request: Json) -> None:
    sm.create_model(**request)


def create_endpoint_config(sm: Any, request: Json) -> None:
    sm.create_endpoint_config(**request)


def create_endpoint(sm: Any, request: Json) -> str:
    return str(sm.create_endpoint(**request)["EndpointArn"])


def update_endpoint(sm: Any, request: Json) -> str:
    return str(sm.update_endpoint(**request)["EndpointArn"])


def delete_endpoint_config(sm: Any, name: str) -> None:
    sm.delete_endpoint_config(EndpointConfigName=name)


def delete_model(sm: Any, name: str) -> None:
    sm.delete_model(ModelName=name)


# --- CloudWatch, SNS, ECR, STS, Application Auto Scaling --------------------------------------------------


def describe_alarm_names(cloudwatch: Any, names: list[str]) -> set[str]:
    found: set[str] = set()
    for page in cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    ):
        found |= {a["AlarmName"] for a in page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])}
    return found


def topic_exists(sns: Any, arn: str) -> bool:
    try:
        sns.get_topic_attributes(TopicArn=arn)
        return True
    except ClientError as error:
        if error_code(error) in ("NotFound", "NotFoundException", "InvalidParameter"):
            return False
        raise


def model_container(model: Json) -> Json:
    """The model's (first) container: PrimaryContainer, or the first of Containers for a pipeline model."""
    return dict(model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0])


def deployed_image(variant: Json) -> str:
    """The digest reference a live variant runs (ResolvedImage), "" when it runs no instance."""
    for image in variant.get("DeployedImages", []):
        return str(image.get("ResolvedImage") or image.get("SpecifiedImage", ""))
    return ""


def ecr_image_digest(ecr: Any, registry_id: str, repository: str, tag: str) -> str | None:
    try:
        response = ecr.describe_images(registryId=registry_id, repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ClientError as error:
        if error_code(error) in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return None
        raise
    details = response.get("imageDetails", [])
    return str(details[0]["imageDigest"]) if details else None


def caller_account(sts: Any) -> str:
    return str(sts.get_caller_identity()["Account"])


def describe_scalable_target(autoscaling: Any, resource_id: str) -> Json | None:
    response = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource_id])
    targets = [
        t
        for t in response.get("ScalableTargets", [])
        if t.get("ScalableDimension") == "sagemaker:variant:DesiredInstanceCount"
    ]
    return dict(targets[0]) if targets else None


def describe_scaling_policies(autoscaling: Any, resource_id: str) -> list[Json]:
    return _all_items(
        autoscaling,
        "describe_scaling_policies",
        "ScalingPolicies",
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
    )


def describe_scheduled_actions(autoscaling: Any, resource_id: str) -> list[Json]:
    return _all_items(
        autoscaling,
        "describe_scheduled_actions",
        "ScheduledActions",
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
    )


def put_scheduled_action(autoscaling: Any, request: Json) -> None:
    autoscaling.put_scheduled_action(**request)


def deregister_scalable_target(autoscaling: Any, resource_id: str) -> None:
    autoscaling.deregister_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
    )


def register_scalable_target(autoscaling: Any, request: Json) -> None:
    autoscaling.register_scalable_target(**request)


def put_scaling_policy(autoscaling: Any, request: Json) -> None:
    autoscaling.put_scaling_policy(**request)


# --- What the report reads: alarms in full, their history, the container log (read-only) ------------------


def describe_alarms(cloudwatch: CloudWatchClient, names: list[str]) -> list[Json]:
    """The named metric and composite alarms as DescribeAlarms returns them (metric alarms first)."""
    alarms: list[Json] = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    ):
        alarms += [dict(a) for a in page.get("MetricAlarms", [])]
        alarms += [dict(a) for a in page.get("CompositeAlarms", [])]
    return alarms


def describe_alarm_history(cloudwatch: CloudWatchClient, name: str, start: datetime, end: datetime) -> list[Json]:
    """The alarm's state changes between ``start`` and ``end``, oldest first (at most 100: one page)."""
    response = cloudwatch.describe_alarm_history(
        AlarmName=name,
        HistoryItemType="StateUpdate",
        StartDate=start,
        EndDate=end,
        MaxRecords=100,
        ScanBy="TimestampAscending",
    )
    return [dict(item) for item in response.get("AlarmHistoryItems", [])]


def describe_log_streams(logs: CloudWatchLogsClient, group: str, prefix: str, max_items: int) -> list[Json]:
    """Streams of ``group`` whose names start with ``prefix``, at most ``max_items`` of them."""
    pages = logs.get_paginator("describe_log_streams").paginate(
        logGroupName=group, logStreamNamePrefix=prefix, PaginationConfig={"MaxItems": max_items}
    )
    return [dict(stream) for page in pages for stream in page.get("logStreams", [])]


def get_log_events(logs: CloudWatchLogsClient, group: str, stream: str, start_ms: int, limit: int) -> list[Json]:
    """The stream's last ``limit`` events at or after ``start_ms`` (epoch milliseconds), oldest first."""
    response = logs.get_log_events(
        logGroupName=group, logStreamName=stream, startTime=start_ms, limit=limit, startFromHead=False
    )
    return [dict(event) for event in response.get("events", [])]
