"""Thin AWS adapters: one function per API call, nothing clever inside.

Clients take credentials from the standard AWS_* environment (what configure-aws-credentials exports) and
the endpoint URL the way boto3 itself honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>. The region is
passed explicitly: botocore ignores AWS_REGION, which the contract promises to honour.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.parsers import ResponseParserError, RpcV2CBORParser

from . import __version__

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sts import STSClient

Json = dict[str, Any]
# Descriptions whose members are carried into the next model and config: what botocore cannot parse of them
# would be dropped without a word, so it is looked for in the raw answer (see _note_unknown_members).
_CARRIED_DESCRIPTIONS = ("DescribeModel", "DescribeEndpointConfig")
# Descriptions whose items an instance-type change sends back whole (PutMetricAlarm "completely overwrites" an
# alarm; a scaling policy or scheduled action deleted with its target is put again): each item that carries a
# member botocore does not know is marked with them under ITEM_UNKNOWN (see _note_unknown_item_members).
_RESENT_ITEMS = {
    "cloudwatch": {"DescribeAlarms": "MetricAlarms"},
    "application-autoscaling": {
        "DescribeScalingPolicies": "ScalingPolicies",
        "DescribeScheduledActions": "ScheduledActions",
        "DescribeScalableTargets": "ScalableTargets",
    },
}
ITEM_UNKNOWN = "UnknownMembers"

# Throttling, 5xx and dropped connections are retried by botocore's standard mode with backoff.
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 8},
    user_agent_extra=f"sagemaker-async-deploy/{__version__}",
    connect_timeout=10,
    read_timeout=60,
)
# A cancelled job has seconds before the runner kills it (SIGKILL 10 s after SIGINT): one attempt per call, and
# short timeouts, so that a slow answer costs a sentence in the report instead of the report. botocore's
# max_attempts counts the retries after the first attempt; total_max_attempts counts every attempt.
_HURRIED_CONFIG = _CLIENT_CONFIG.merge(
    Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1.5, read_timeout=2)
)


class Clients:
    """Clients are made on first use: the no-change path needs SageMaker alone."""

    def __init__(self, region: str, config: Config = _CLIENT_CONFIG) -> None:
        self.region = region
        self._config = config
        self._session: boto3.session.Session | None = None
        self._clients: dict[str, Any] = {}

    def hurried(self) -> Clients:
        """Clients of the same session for the last seconds of a cancelled job: one attempt, short timeouts."""
        other = Clients(self.region, _HURRIED_CONFIG)
        other._session = self._session
        return other

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            if self._session is None:
                self._session = boto3.session.Session(region_name=self.region)
            client = self._session.client(service, config=self._config)  # type: ignore[call-overload]
            if service == "sagemaker":
                for operation in _CARRIED_DESCRIPTIONS:
                    client.meta.events.register(f"after-call.sagemaker.{operation}", _note_unknown_members)
            event_prefix = f"after-call.{client.meta.service_model.service_id.hyphenize()}"
            for operation, items in _RESENT_ITEMS.get(service, {}).items():
                hook = functools.partial(_note_unknown_item_members, items=items)
                client.meta.events.register(f"{event_prefix}.{operation}", hook)
            self._clients[service] = client
        return self._clients[service]

    @property
    def sagemaker(self) -> SageMakerClient:
        client: SageMakerClient = self._client("sagemaker")
        return client

    @property
    def cloudwatch(self) -> CloudWatchClient:
        client: CloudWatchClient = self._client("cloudwatch")
        return client

    @property
    def sns(self) -> SNSClient:
        client: SNSClient = self._client("sns")
        return client

    @property
    def ecr(self) -> ECRClient:
        client: ECRClient = self._client("ecr")
        return client

    @property
    def sts(self) -> STSClient:
        client: STSClient = self._client("sts")
        return client

    @property
    def autoscaling(self) -> ApplicationAutoScalingClient:
        client: ApplicationAutoScalingClient = self._client("application-autoscaling")
        return client

    @property
    def logs(self) -> CloudWatchLogsClient:
        client: CloudWatchLogsClient = self._client("logs")
        return client

    @property
    def sagemaker_runtime(self) -> SageMakerRuntimeClient:
        client: SageMakerRuntimeClient = self._client("sagemaker-runtime")
        return client

    @property
    def s3(self) -> S3Client:
        client: S3Client = self._client("s3")
        return client


def _note_unknown_members(http_response: Any, parsed: Json, model: OperationModel, **_: Any) -> None:
    """Record in ResponseMetadata the members of a description that botocore's model does not know.

    botocore drops what its service model does not name while parsing, so a setting AWS added after the
    installed botocore would vanish from the next model or config without a trace. The raw answer still
    has it.
    """
    if getattr(http_response, "status_code", 0) != 200 or model.output_shape is None:
        return
    try:
        raw = json.loads(http_response.content or b"{}")
    except ValueError:
        return
    unknown = _unknown_paths(raw, model.output_shape, "")
    if unknown:
        parsed.setdefault("ResponseMetadata", {})["UnknownMembers"] = unknown


def _raw_document(http_response: Any) -> Any:
    """The answer as sent: JSON, or CBOR (smithy-rpc-v2-cbor, CloudWatch's protocol in botocore 1.44)."""
    content = http_response.content or b"{}"
    if content.lstrip()[:1] in (b"{", b"["):
        return json.loads(content)
    parser = RpcV2CBORParser()
    return parser.parse_data_item(parser.get_peekable_stream_from_bytes(content))


def _note_unknown_item_members(http_response: Any, parsed: Json, model: OperationModel, items: str, **_: Any) -> None:
    """Mark each item of ``items`` with the members of it that botocore's model does not know (ITEM_UNKNOWN)."""
    output = model.output_shape
    if getattr(http_response, "status_code", 0) != 200 or not isinstance(output, StructureShape):
        return
    shape = output.members.get(items)
    try:
        raw = _raw_document(http_response)
    except (ValueError, ResponseParserError):  # botocore parsed it, this reading cannot: nothing to mark
        return
    if not isinstance(shape, ListShape) or not isinstance(raw, dict):
        return
    for item, raw_item in zip(parsed.get(items) or [], raw.get(items) or [], strict=False):
        unknown = _unknown_paths(raw_item, shape.member, "")
        if unknown and isinstance(item, dict):
            item[ITEM_UNKNOWN] = unknown


def item_unknown_members(item: Json) -> tuple[str, ...]:
    """The members of a described item that the installed botocore could not parse (_note_unknown_item_members)."""
    return tuple(item.get(ITEM_UNKNOWN) or ())


def _unknown_paths(value: Any, shape: Shape, path: str) -> list[str]:
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        found: list[str] = []
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            member = shape.members.get(key)
            found += [where] if member is None else _unknown_paths(item, member, where)
        return found
    if isinstance(shape, ListShape) and isinstance(value, list):
        return sorted({p for item in value for p in _unknown_paths(item, shape.member, f"{path}[]")})
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return sorted({p for item in value.values() for p in _unknown_paths(item, shape.value, f"{path}.*")})
    return []


def unknown_members(description: Json | None) -> tuple[str, ...]:
    """The members of a description that the installed botocore could not parse (see _note_unknown_members)."""
    if not description:
        return ()
    return tuple(description.get("ResponseMetadata", {}).get("UnknownMembers", ()))


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


def is_server_error(error: ClientError) -> bool:
    """A 5xx: the service failed to answer, which says nothing about whether it acted on the request."""
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0) >= 500


# --- SageMaker ------------------------------------------------------------------------------------------


def _or_none(call: Any, **params: Any) -> Json | None:
    """A Describe call's answer, or None where SageMaker says the resource does not exist."""
    try:
        return dict(call(**params))
    except ClientError as error:
        if is_not_found(error):
            return None
        raise


def describe_endpoint(sm: SageMakerClient, name: str) -> Json | None:
    return _or_none(sm.describe_endpoint, EndpointName=name)


def describe_endpoint_config(sm: SageMakerClient, name: str) -> Json | None:
    return _or_none(sm.describe_endpoint_config, EndpointConfigName=name)


def describe_model(sm: SageMakerClient, name: str) -> Json | None:
    return _or_none(sm.describe_model, ModelName=name)


def describe_model_package(sm: SageMakerClient, arn: str) -> Json | None:
    """A model package version, or None where SageMaker says there is none."""
    try:
        return dict(sm.describe_model_package(ModelPackageName=arn))
    except ClientError as error:
        # The not-found wording for packages is not documented; any ValidationException for a well-formed ARN
        # (config checks its form) says the package is not there.
        if error_code(error) == "ValidationException":
            return None
        raise


def newest_model_package(sm: SageMakerClient, group: str, approval: str | None) -> Json | None:
    """The group's newest version by creation time (of that ModelApprovalStatus when given), or None.

    ListModelPackages sorts ascending unless told (its API reference): asked for descending, the first item
    of the first page that has one is the newest; a page may come back empty with a NextToken, so pages are
    followed until one has an item.
    """
    params: dict[str, Any] = {"ModelPackageGroupName": group, "SortBy": "CreationTime", "SortOrder": "Descending"}
    if approval is not None:
        params["ModelApprovalStatus"] = approval
    for page in sm.get_paginator("list_model_packages").paginate(**params):
        for summary in page.get("ModelPackageSummaryList", []):
            return dict(summary)
    return None


def _all_items(client: Any, operation: str, key: str, **params: Any) -> list[Json]:
    """Every item under ``key`` across the pages of a paginated call."""
    items: list[Json] = []
    for page in client.get_paginator(operation).paginate(**params):
        items += page.get(key, [])
    return items


def list_tags(sm: SageMakerClient, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in _all_items(sm, "list_tags", "Tags", ResourceArn=arn)}


def list_endpoint_config_names(sm: SageMakerClient, name_contains: str) -> list[str]:
    configs = _all_items(sm, "list_endpoint_configs", "EndpointConfigs", NameContains=name_contains)
    return [c["EndpointConfigName"] for c in configs]


def list_model_names(sm: SageMakerClient, name_contains: str) -> list[str]:
    return [m["ModelName"] for m in _all_items(sm, "list_models", "Models", NameContains=name_contains)]


def create_model(sm: SageMakerClient, request: Json) -> None:
    sm.create_model(**request)


def create_endpoint_config(sm: SageMakerClient, request: Json) -> None:
    sm.create_endpoint_config(**request)


def create_endpoint(sm: SageMakerClient, request: Json) -> str:
    return str(sm.create_endpoint(**request)["EndpointArn"])


def update_endpoint(sm: SageMakerClient, request: Json) -> str:
    return str(sm.update_endpoint(**request)["EndpointArn"])


def delete_endpoint_config(sm: SageMakerClient, name: str) -> None:
    sm.delete_endpoint_config(EndpointConfigName=name)


def delete_model(sm: SageMakerClient, name: str) -> None:
    sm.delete_model(ModelName=name)


# --- S3: a model artifact's identity, a smoke test's answer -------------------------------------------------


def head_object(s3: S3Client, bucket: str, key: str) -> Json | None:
    """The object's metadata (ETag, VersionId where the bucket is versioned), or None while it does not exist;
    needs s3:GetObject. S3 answers a missing key with a bare 404 only to a caller allowed s3:ListBucket on the
    bucket, with 403 otherwise (HeadObject API reference, "Permissions")."""
    try:
        return dict(s3.head_object(Bucket=bucket, Key=key))
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def list_objects(s3: S3Client, bucket: str, prefix: str, max_keys: int) -> list[Json]:
    """The first ``max_keys`` objects under ``prefix`` (one page, in key order); needs s3:ListBucket."""
    return [dict(o) for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=max_keys).get("Contents", [])]


# --- CloudWatch, SNS, ECR, STS, Application Auto Scaling --------------------------------------------------


def describe_alarm_names(cloudwatch: CloudWatchClient, names: list[str]) -> set[str]:
    found: set[str] = set()
    for page in cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    ):
        found |= {a["AlarmName"] for a in page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])}
    return found


def topic_exists(sns: SNSClient, arn: str) -> bool:
    try:
        sns.get_topic_attributes(TopicArn=arn)
        return True
    except ClientError as error:
        if error_code(error) in ("NotFound", "NotFoundException", "InvalidParameter"):
            return False
        raise


def model_container(model: Json) -> Json:
    """The model's (first) container: PrimaryContainer, or the first of Containers for a pipeline model."""
    container: Json = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    return container


def deployed_image(variant: Json) -> str:
    """The digest reference a live variant runs (ResolvedImage), "" when it runs no instance."""
    for image in variant.get("DeployedImages", []):
        return str(image.get("ResolvedImage") or image.get("SpecifiedImage", ""))
    return ""


def ecr_image_digest(ecr: ECRClient, registry_id: str, repository: str, tag: str) -> str | None:
    try:
        response = ecr.describe_images(registryId=registry_id, repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ClientError as error:
        if error_code(error) in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return None
        raise
    details = response.get("imageDetails", [])
    return str(details[0]["imageDigest"]) if details else None


def caller_account(sts: STSClient) -> str:
    return str(sts.get_caller_identity()["Account"])


def describe_scalable_target(autoscaling: ApplicationAutoScalingClient, resource_id: str) -> Json | None:
    response = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource_id])
    targets = [
        t
        for t in response.get("ScalableTargets", [])
        if t.get("ScalableDimension") == "sagemaker:variant:DesiredInstanceCount"
    ]
    return dict(targets[0]) if targets else None


def describe_scaling_policies(autoscaling: ApplicationAutoScalingClient, resource_id: str) -> list[Json]:
    return _all_items(
        autoscaling,
        "describe_scaling_policies",
        "ScalingPolicies",
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
    )


def describe_scheduled_actions(autoscaling: ApplicationAutoScalingClient, resource_id: str) -> list[Json]:
    return _all_items(
        autoscaling,
        "describe_scheduled_actions",
        "ScheduledActions",
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
    )


def put_scheduled_action(autoscaling: ApplicationAutoScalingClient, request: Json) -> None:
    autoscaling.put_scheduled_action(**request)


def deregister_scalable_target(autoscaling: ApplicationAutoScalingClient, resource_id: str) -> None:
    autoscaling.deregister_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource_id,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
    )


def register_scalable_target(autoscaling: ApplicationAutoScalingClient, request: Json) -> str:
    """Registers the target; returns its ARN (a new one for a target registered anew)."""
    return str(autoscaling.register_scalable_target(**request).get("ScalableTargetARN", ""))


def put_scaling_policy(autoscaling: ApplicationAutoScalingClient, request: Json) -> str:
    """Creates or updates the policy; returns its ARN, which a policy created anew gets new."""
    return str(autoscaling.put_scaling_policy(**request)["PolicyARN"])


# --- what an instance-type change keeps of autoscaling: target tags, alarms, the record on the endpoint ------


def list_target_tags(autoscaling: ApplicationAutoScalingClient, target_arn: str) -> dict[str, str]:
    return dict(autoscaling.list_tags_for_resource(ResourceARN=target_arn).get("Tags", {}))


def tag_target(autoscaling: ApplicationAutoScalingClient, target_arn: str, tags: dict[str, str]) -> None:
    autoscaling.tag_resource(ResourceARN=target_arn, Tags=tags)


def describe_metric_alarms(cloudwatch: CloudWatchClient, names: list[str] | None = None) -> list[Json]:
    """The region's metric alarms (all of them when ``names`` is None), every page."""
    if names is None:
        return _all_items(cloudwatch, "describe_alarms", "MetricAlarms", AlarmTypes=["MetricAlarm"])
    alarms: list[Json] = []
    for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
        alarms += _all_items(
            cloudwatch,
            "describe_alarms",
            "MetricAlarms",
            AlarmTypes=["MetricAlarm"],
            AlarmNames=names[start : start + 100],
        )
    return alarms


def put_metric_alarm(cloudwatch: CloudWatchClient, request: Json) -> None:
    cloudwatch.put_metric_alarm(**request)


def set_alarm_state(cloudwatch: CloudWatchClient, name: str, state: str, reason: str) -> None:
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)  # type: ignore[arg-type]


def put_metric_data(cloudwatch: CloudWatchClient, request: Json) -> None:
    cloudwatch.put_metric_data(**request)


def add_tags(sm: SageMakerClient, arn: str, tags: dict[str, str]) -> None:
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def delete_tags(sm: SageMakerClient, arn: str, keys: list[str]) -> None:
    sm.delete_tags(ResourceArn=arn, TagKeys=keys)


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
    """The alarm's state changes between ``start`` and ``end``, oldest first (at most 100: one page).

    Both alarm types are asked for: without AlarmTypes "only metric alarms are returned" (DescribeAlarmHistory
    API reference), and a composite rollback alarm's history would look empty."""
    response = cloudwatch.describe_alarm_history(
        AlarmName=name,
        AlarmTypes=["MetricAlarm", "CompositeAlarm"],
        HistoryItemType="StateUpdate",
        StartDate=start,
        EndDate=end,
        MaxRecords=100,
        ScanBy="TimestampAscending",
    )
    return [dict(item) for item in response.get("AlarmHistoryItems", [])]


def describe_log_streams(logs: CloudWatchLogsClient, group: str, max_items: int, prefix: str = "") -> list[Json]:
    """The group's streams, the one with the latest event first, at most ``max_items`` (50 a page); with
    ``prefix``, those whose names start with it, in name order.

    By latest event because endpoint log groups never expire by default: a scale-to-zero endpoint collects hundreds
    of streams, and in name order the new fleet's may come after any page read. CloudWatch Logs takes no
    logStreamNamePrefix with that order (DescribeLogStreams API reference), so callers filter by name.
    """
    order: dict[str, Any] = (
        {"logStreamNamePrefix": prefix} if prefix else {"orderBy": "LastEventTime", "descending": True}
    )
    pages = logs.get_paginator("describe_log_streams").paginate(
        logGroupName=group, **order, PaginationConfig={"MaxItems": max_items, "PageSize": min(max_items, 50)}
    )
    return [dict(stream) for page in pages for stream in page.get("logStreams", [])]


def get_log_events(
    logs: CloudWatchLogsClient, group: str, stream: str, start_ms: int, token: str = "", limit: int = 0
) -> tuple[list[Json], str]:
    """One page of the stream's events at or after ``start_ms`` (epoch milliseconds), oldest first, read forward
    from ``token`` (or from the start), at most ``limit`` of them (0: CloudWatch's page, up to 10,000); and the
    token for the next page, the same one at the stream's end."""
    params: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startTime": start_ms}
    if token:
        params["nextToken"] = token
    if limit:
        params["limit"] = limit
    response = logs.get_log_events(**params, startFromHead=True)
    return [dict(event) for event in response.get("events", [])], str(response.get("nextForwardToken", ""))


# --- The smoke test: one asynchronous request, and the objects its answer lands in ---------------------------


def invoke_endpoint_async(runtime: SageMakerRuntimeClient, request: Json) -> Json:
    """Queues one request; the answer names InferenceId, OutputLocation and FailureLocation (S3 URIs where
    the response or the failure lands later)."""
    response = runtime.invoke_endpoint_async(**request)
    answer: Json = dict(response)
    answer["RequestId"] = str(response["ResponseMetadata"].get("RequestId", ""))
    return answer


def get_object_start(s3: S3Client, bucket: str, key: str, size: int) -> bytes:
    """The object's first ``size`` bytes (a Range read: a model's answer may be large, the report needs little)."""
    response = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{size - 1}")
    return bytes(response["Body"].read(size))
