"""The pure request builders: exact payloads, and every member of botocore's input shapes carried over."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.model import StructureShape

from sagemaker_async_deploy import builders
from sagemaker_async_deploy._checks import StepSize
from sagemaker_async_deploy.fields import FIELDS, Part
from sagemaker_async_deploy.planner import desired_from, plan
from sagemaker_async_deploy.state import ServingState

from .factories import ROLE, SERVICE_MODEL, SHAPES, TOPIC, action_config, image, serving_state
from .shape_values import value_for

ERROR_TOPIC = TOPIC.replace(":done", ":failed")
SUCCESS, ERROR = "SUCCESS_NOTIFICATION_TOPIC", "ERROR_NOTIFICATION_TOPIC"


def update_of(current: ServingState, **inputs: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(config content, model content) of an update of ``current`` to a new image and ``inputs``."""
    wanted = desired_from(action_config(**{"image": image(2), **inputs}), current, SHAPES)
    return wanted.config_content, wanted.model_content


def variant(model_name: str, count: int, **members: Any) -> dict[str, Any]:
    """The production variant a request holds for the default instance type, plus ``members``."""
    return {
        "VariantName": "AllTraffic",
        "ModelName": model_name,
        "InstanceType": "ml.g4dn.xlarge",
        "InitialInstanceCount": count,
        **members,
    }


# --- exact payloads --------------------------------------------------------------------------------------


def test_create_model_request_is_exactly_the_inputs_and_the_tags() -> None:
    """A first model holds the image, the role, the artifact and environment given, and the action's tag."""
    content = builders.model_content(
        {"image": action_config().image, "execution-role-arn": ROLE, "model-data-url": "s3://b/m.tar.gz",
         "environment": (("MODE", "fast"),)},
        None,
        SHAPES,
    )  # fmt: skip
    assert builders.model_request("whisper-0123456789ab", content, (("team", "ml"),)) == {
        "ModelName": "whisper-0123456789ab",
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {"Image": image(1), "ModelDataUrl": "s3://b/m.tar.gz", "Environment": {"MODE": "fast"}},
        "Tags": [{"Key": "managed-by", "Value": "sagemaker-async-deploy"}, {"Key": "team", "Value": "ml"}],
    }


def test_create_config_includes_the_response_in_every_topic_it_notifies() -> None:
    """On create, both topics given means the inference response goes to both, as the usual deploy script does."""
    wanted = desired_from(
        action_config(execution_role_arn=ROLE, success_topic=TOPIC, error_topic=ERROR_TOPIC,
                      failure_path="s3://bucket/failed/"),
        None,
        SHAPES,
    )  # fmt: skip
    assert wanted.config_request == {
        "EndpointConfigName": wanted.config_name,
        "ProductionVariants": [variant(wanted.model_name, 1)],
        "AsyncInferenceConfig": {
            "OutputConfig": {
                "S3OutputPath": "s3://bucket/out/",
                "S3FailurePath": "s3://bucket/failed/",
                "NotificationConfig": {
                    "SuccessTopic": TOPIC,
                    "ErrorTopic": ERROR_TOPIC,
                    "IncludeInferenceResponseIn": ["SUCCESS_NOTIFICATION_TOPIC", "ERROR_NOTIFICATION_TOPIC"],
                },
            },
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1},
        },
        "Tags": [{"Key": "managed-by", "Value": "sagemaker-async-deploy"}],
    }


def test_create_config_with_timeouts_sets_them_on_the_variant() -> None:
    """The two timeouts land on the production variant; left empty on create, SageMaker's defaults apply."""
    given = desired_from(
        action_config(execution_role_arn=ROLE, container_startup_timeout_seconds="1800",
                      model_download_timeout_seconds="1200"),
        None,
        SHAPES,
    )  # fmt: skip
    variant = given.config_content["ProductionVariants"][0]
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 1800
    assert variant["ModelDataDownloadTimeoutInSeconds"] == 1200
    empty = desired_from(action_config(execution_role_arn=ROLE), None, SHAPES).config_content
    assert set(empty["ProductionVariants"][0]) == {"VariantName", "ModelName", "InstanceType", "InitialInstanceCount"}


def test_an_update_config_request_is_the_serving_config_with_only_the_model_replaced() -> None:
    """A Terraform-made config (KMS, data capture, volume, timeouts, 2 instances, concurrency 4, the response in
    the error topic only) updated to a new image: the request is that config, the new model and the tag."""
    kms = "arn:aws:kms:us-east-1:123456789012:key/1111"
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": "s3://capture/whisper/",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }
    notification = {"SuccessTopic": TOPIC, "ErrorTopic": ERROR_TOPIC, "IncludeInferenceResponseIn": [ERROR]}
    current = serving_state(
        initial_instance_count=2,
        current_instance_count=2,
        max_concurrent_invocations=4,
        success_topic=TOPIC,
        error_topic=ERROR_TOPIC,
        config_extra={"KmsKeyId": kms, "DataCaptureConfig": capture},
        variant_extra={
            "VolumeSizeInGB": 200,
            "ContainerStartupHealthCheckTimeoutInSeconds": 1800,
            "ModelDataDownloadTimeoutInSeconds": 1200,
        },
        async_extra={
            "OutputConfig": {"S3OutputPath": "s3://bucket/out/", "KmsKeyId": kms, "NotificationConfig": notification},
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
        },
    )
    wanted = desired_from(action_config(image=image(2), success_topic=TOPIC, error_topic=ERROR_TOPIC), current, SHAPES)
    assert wanted.model_name != "whisper-bbbbbbbbbbbb"
    assert wanted.config_request == {
        "EndpointConfigName": wanted.config_name,
        "ProductionVariants": [
            variant(
                wanted.model_name,
                2,
                VolumeSizeInGB=200,
                ContainerStartupHealthCheckTimeoutInSeconds=1800,
                ModelDataDownloadTimeoutInSeconds=1200,
            )
        ],
        "DataCaptureConfig": capture,
        "KmsKeyId": kms,
        "AsyncInferenceConfig": {
            "OutputConfig": {"S3OutputPath": "s3://bucket/out/", "KmsKeyId": kms, "NotificationConfig": notification},
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
        },
        "Tags": [{"Key": "managed-by", "Value": "sagemaker-async-deploy"}],
    }


@pytest.mark.parametrize(
    ("serving", "inputs", "included"),
    [
        # As it serves, for the topics that remain.
        ([SUCCESS, ERROR], {"success_topic": TOPIC, "error_topic": "none"}, [SUCCESS]),
        # An empty topic input keeps the serving topic, and with it the topic's place in the list.
        ([SUCCESS, ERROR], {"success_topic": TOPIC}, [SUCCESS, ERROR]),
        ([ERROR], {"success_topic": TOPIC, "error_topic": ERROR_TOPIC}, [ERROR]),
        # Notifications that never carried the response keep not carrying it.
        (None, {"success_topic": TOPIC, "error_topic": ERROR_TOPIC}, None),
    ],
)  # fmt: skip
def test_include_inference_response_in_is_inherited(
    serving: list[str] | None, inputs: dict[str, str], included: list[str] | None
) -> None:
    """IncludeInferenceResponseIn keeps the serving choice; a topic removed is removed from it too."""
    notification: dict[str, Any] = {"SuccessTopic": TOPIC, "ErrorTopic": ERROR_TOPIC}
    if serving is not None:
        notification["IncludeInferenceResponseIn"] = serving
    current = serving_state(
        success_topic=TOPIC,
        error_topic=ERROR_TOPIC,
        async_extra={"OutputConfig": {"S3OutputPath": "s3://bucket/out/", "NotificationConfig": notification}},
    )
    config, _ = update_of(current, **inputs)
    got = config["AsyncInferenceConfig"]["OutputConfig"]["NotificationConfig"]
    assert got.get("IncludeInferenceResponseIn") == included


def test_topics_added_by_an_update_carry_the_response_like_a_create() -> None:
    """A config that had no notifications gets them as a first deploy would set them."""
    config, _ = update_of(serving_state(), success_topic=TOPIC)
    assert config["AsyncInferenceConfig"]["OutputConfig"]["NotificationConfig"] == {
        "SuccessTopic": TOPIC,
        "IncludeInferenceResponseIn": ["SUCCESS_NOTIFICATION_TOPIC"],
    }


def test_removing_every_topic_removes_the_notification_config() -> None:
    """With no topic left there is nothing to notify: the whole NotificationConfig goes."""
    config, _ = update_of(serving_state(success_topic=TOPIC), success_topic="none")
    assert config["AsyncInferenceConfig"]["OutputConfig"] == {"S3OutputPath": "s3://bucket/out/"}


def test_a_given_model_data_url_replaces_a_model_data_source() -> None:
    """ModelDataUrl and ModelDataSource are one setting in two forms: the input replaces both."""
    source = {"S3DataSource": {"S3Uri": "s3://b/model/", "S3DataType": "S3Prefix", "CompressionType": "None"}}
    current = serving_state(container_extra={"ModelDataSource": source})
    _, kept = update_of(current)
    assert kept is not None and kept["PrimaryContainer"]["ModelDataSource"] == source
    _, replaced = update_of(current, model_data_url="s3://bucket/new.tar.gz")
    assert replaced is not None
    assert replaced["PrimaryContainer"] == {"Image": image(2), "ModelDataUrl": "s3://bucket/new.tar.gz"}


def test_a_model_with_one_container_in_containers_keeps_that_form() -> None:
    """A single container described under Containers is replaced there, not doubled as a PrimaryContainer."""
    current = serving_state(
        model_extra={"PrimaryContainer": None, "Containers": [{"Image": image(1), "Environment": {"A": "1"}}]}
    )
    _, model = update_of(current)
    assert model == {"ExecutionRoleArn": ROLE, "Containers": [{"Image": image(2), "Environment": {"A": "1"}}]}


def test_read_only_members_of_a_description_are_not_carried() -> None:
    """ARNs, times and botocore's metadata are the description's, not the request's."""
    current = serving_state(model_extra={"DeploymentRecommendation": {"RecommendationStatus": "COMPLETED"}})
    model = dict(current.model or {})
    model["ResponseMetadata"] = {"RequestId": "r"}
    assert builders.project(model, SHAPES.create_model) == {
        "ModelName": "whisper-bbbbbbbbbbbb",
        "PrimaryContainer": {"Image": image(1)},
        "ExecutionRoleArn": ROLE,
    }


def test_deployment_requests_are_blue_green_with_the_alarms_and_the_bake() -> None:
    """CreateEndpoint carries the same DeploymentConfig as UpdateEndpoint, so later updates keep the guardrails."""
    values = {"alarms": ("whisper-5xx",), "bake-seconds": 600, "deployment-strategy": "all-at-once"}
    deployment = {
        "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600}},
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "whisper-5xx"}]},
    }
    assert builders.deployment_config(values, timeout_seconds=3600) == deployment
    assert builders.create_endpoint_request("whisper", "whisper-c", deployment, ()) == {
        "EndpointName": "whisper",
        "EndpointConfigName": "whisper-c",
        "DeploymentConfig": deployment,
        "Tags": [{"Key": "managed-by", "Value": "sagemaker-async-deploy"}],
    }
    assert builders.update_endpoint_request("whisper", "whisper-c", deployment, new_instance_count=False) == {
        "EndpointName": "whisper",
        "EndpointConfigName": "whisper-c",
        "RetainAllVariantProperties": True,
        "DeploymentConfig": deployment,
    }
    assert builders.update_endpoint_request("whisper", "whisper-c", deployment, new_instance_count=True) == {
        "EndpointName": "whisper",
        "EndpointConfigName": "whisper-c",
        "RetainAllVariantProperties": True,
        "ExcludeRetainedVariantProperties": [{"VariantPropertyType": "DesiredInstanceCount"}],
        "DeploymentConfig": deployment,
    }


@pytest.mark.parametrize(
    ("strategy", "step", "timeout", "policy"),
    [
        (
            "canary",
            StepSize(1, False),
            3600,
            {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
                "Type": "CANARY", "WaitIntervalInSeconds": 300, "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1}}}},
        ),
        (
            "linear",
            StepSize(25, True),
            3600,
            {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {
                "Type": "LINEAR", "WaitIntervalInSeconds": 300,
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25}}}},
        ),
        (
            "rolling",
            StepSize(2, False),
            5400,
            {"RollingUpdatePolicy": {
                "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 2}, "WaitIntervalInSeconds": 300,
                "MaximumExecutionTimeoutInSeconds": 5400,
                "RollbackMaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 2}}},
        ),
        # SageMaker's range for a rolling update's own timeout is 600-28800 s.
        ("rolling", StepSize(25, True), 120, None),
        ("rolling", StepSize(25, True), 40_000, None),
    ],
)  # fmt: skip
def test_each_strategy_maps_to_one_update_policy(
    strategy: str, step: StepSize, timeout: float, policy: dict[str, Any] | None
) -> None:
    """Canary and linear are blue/green traffic routing; rolling is a RollingUpdatePolicy; never both."""
    values = {"deployment-strategy": strategy, "step-size": step, "bake-seconds": 300, "alarms": ("a",)}
    deployment = builders.deployment_config(values, timeout_seconds=timeout)
    assert deployment.pop("AutoRollbackConfiguration") == {"Alarms": [{"AlarmName": "a"}]}
    assert len(deployment) == 1
    if policy is not None:
        assert deployment == policy
    else:
        limit = deployment["RollingUpdatePolicy"]["MaximumExecutionTimeoutInSeconds"]
        assert limit == (600 if timeout < 600 else 28800)


# --- every member of botocore's input shapes ------------------------------------------------------------

# Members that are not carried but refused, with the reason; everything else of the input shapes must survive.
REFUSED = {
    ("model", "Containers"): "more than one container is an inference pipeline (refused by the planner)",
    ("container", "MultiModelConfig"): "multi-model endpoints are refused",
    ("config", "ShadowProductionVariants"): "a shadow test is a second variant (refused)",
    ("variant", "ServerlessConfig"): "async inference runs on instances (refused)",
    ("variant", "InstancePools"): "one instance type per variant; pools are refused",
}
IDENTITY = {("model", "ModelName"), ("model", "Tags"), ("config", "EndpointConfigName"), ("config", "Tags")}
IDENTITY |= {("model", "PrimaryContainer"), ("config", "ProductionVariants"), ("config", "AsyncInferenceConfig")}
IDENTITY |= {("variant", "VariantName"), ("variant", "ModelName")}


def _shape(name: str) -> StructureShape:
    shape = SERVICE_MODEL.shape_for(name)
    assert isinstance(shape, StructureShape)
    return shape


# The shapes an update carries, by the part of the model or config they describe.
PART_SHAPES = {
    "model": SHAPES.create_model,
    "container": _shape("ContainerDefinition"),
    "config": SHAPES.create_endpoint_config,
    "variant": _shape("ProductionVariant"),
    "async-output": _shape("AsyncInferenceOutputConfig"),
    "async-notification": _shape("AsyncInferenceNotificationConfig"),
    "async-client": _shape("AsyncInferenceClientConfig"),
}


def _members() -> list[tuple[str, str]]:
    """(part, member) for every member of the shapes an update carries, from botocore's model."""
    return [(part, member) for part, shape in PART_SHAPES.items() for member in shape.members]


def _where(setting_part: Part, path: tuple[str, ...]) -> str:
    if setting_part is not Part.ASYNC:
        return setting_part.value
    return (
        {"OutputConfig": "async-output", "ClientConfig": "async-client"}[path[0]]
        if len(path) == 2
        else ("async-notification")
    )


# The table's settings that an update sets from the inputs (required ones, or "none" when empty); the
# "keep" ones (failure path and topics included) survive an update with empty inputs like any carried member,
# and are tested with them.
MANAGED = {
    (_where(f.part, f.path), f.path[-1])
    for f in FIELDS
    if f.part is not Part.DEPLOYMENT and (f.required or f.empty == "none")
} | {("async-output", "NotificationConfig")}
CARRIED = [m for m in _members() if m not in IDENTITY and m not in REFUSED and m not in MANAGED]


def test_every_setting_of_the_table_is_a_member_of_the_input_shapes() -> None:
    """Each row of the model and config points at a member botocore's model has (a typo shows here)."""
    members = set(_members())
    for setting in FIELDS:
        if setting.part is not Part.DEPLOYMENT:
            assert (_where(setting.part, setting.path), setting.path[-1]) in members, setting.input


@pytest.mark.parametrize(("part", "member"), CARRIED, ids=[f"{p}.{m}" for p, m in CARRIED])
def test_every_carried_member_survives_an_update(part: str, member: str) -> None:
    """A valid value of any member no input names, on the serving resources, is in the new ones unchanged."""
    current, locate, inputs = _serving_with(part, member)
    the_plan = plan(current, desired_from(action_config(image=image(2), **inputs), current, SHAPES))
    assert [c.field for c in the_plan.changes] == ["image"]
    expected, got = (
        locate(current.model or {}, current.config or {}),
        locate(the_plan.desired.model_content or {}, the_plan.desired.config_content),
    )
    assert got == expected and got is not None


def _serving_with(part: str, member: str) -> tuple[ServingState, Any, dict[str, str]]:
    """A serving endpoint with ``member`` of ``part`` set, and a function finding it in (model, config)."""
    value = value_for(PART_SHAPES[part].members[member], f"{part}.{member}")
    if part == "model":
        return serving_state(model_extra={member: value}), lambda m, c: copy.deepcopy(m.get(member)), {}
    if part == "container":
        return serving_state(container_extra={member: value}), lambda m, c: m["PrimaryContainer"].get(member), {}
    if part == "config":
        return serving_state(config_extra={member: value}), lambda m, c: c.get(member), {}
    if part == "variant":
        return serving_state(variant_extra={member: value}), lambda m, c: c["ProductionVariants"][0].get(member), {}
    if part == "async-client":
        return (
            serving_state(async_extra={"ClientConfig": {member: value}}),
            lambda m, c: c["AsyncInferenceConfig"]["ClientConfig"].get(member),
            {},
        )
    notify = part == "async-notification"
    output: dict[str, Any] = {"S3OutputPath": "s3://bucket/out/"}
    if notify:
        # Notification settings exist only beside a topic, which the empty topic inputs keep.
        output["NotificationConfig"] = {"SuccessTopic": TOPIC, member: value}
    else:
        output[member] = value

    def find(m: dict[str, Any], c: dict[str, Any]) -> Any:
        found = c["AsyncInferenceConfig"]["OutputConfig"]
        return (found.get("NotificationConfig") or {}).get(member) if notify else found.get(member)

    return serving_state(async_extra={"OutputConfig": output}), find, {}
