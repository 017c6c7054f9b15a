"""Plain values for the pure modules' tests: a config as parse_config makes it, and what an endpoint serves as
SageMaker describes it. Each test names only what differs from these."""

from __future__ import annotations

import copy
from typing import Any

import botocore.session

from sagemaker_async_deploy.builders import Shapes
from sagemaker_async_deploy.config import INPUT_DEFAULTS, ActionConfig, parse_config
from sagemaker_async_deploy.state import ServingState

ACCOUNT = "123456789012"
REGION = "us-east-1"
REPO = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/whisper"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/other"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:done"
SERVICE_MODEL = botocore.session.get_session().get_service_model("sagemaker")
SHAPES = Shapes.of(SERVICE_MODEL)


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def image(n: int, repo: str = REPO) -> str:
    return f"{repo}@{digest(n)}"


def action_config(environ: dict[str, str] | None = None, **inputs: str) -> ActionConfig:
    """parse_config on the contract's defaults, the usual required inputs and ``inputs`` (underscores for
    hyphens); the region is us-east-1 unless ``environ`` says otherwise."""
    raw = {
        **INPUT_DEFAULTS,
        "endpoint-name": "whisper",
        "image": image(1),
        "instance-type": "ml.g4dn.xlarge",
        "output-path": "s3://bucket/out/",
        **{k.replace("_", "-"): v for k, v in inputs.items()},
    }
    return parse_config(raw, {"AWS_REGION": REGION} if environ is None else environ)


def serving_state(
    *,
    endpoint_name: str = "whisper",
    status: str = "InService",
    failure_reason: str = "",
    config_name: str = "whisper-aaaaaaaaaaaa",
    model_name: str = "whisper-bbbbbbbbbbbb",
    variant_name: str = "AllTraffic",
    image: str = image(1),
    deployed: bool = True,
    instance_type: str = "ml.g4dn.xlarge",
    initial_instance_count: int = 1,
    current_instance_count: int = 1,
    output_path: str = "s3://bucket/out/",
    failure_path: str = "",
    success_topic: str = "",
    error_topic: str = "",
    max_concurrent_invocations: int | None = 1,
    model_role: str = ROLE,
    model_data_url: str = "",
    model_environment: dict[str, str] | None = None,
    alarms: tuple[str, ...] | None = None,
    bake_seconds: int | None = None,
    deployment: dict[str, Any] | None = None,
    pending_config_name: str = "",
    has_async_config: bool = True,
    extra_variants: tuple[str, ...] = (),
    model_extra: dict[str, Any] | None = None,
    container_extra: dict[str, Any] | None = None,
    config_extra: dict[str, Any] | None = None,
    variant_extra: dict[str, Any] | None = None,
    async_extra: dict[str, Any] | None = None,
    unknown_members: tuple[str, ...] = (),
    read_model: bool = True,
    region: str = REGION,
) -> ServingState:
    """An InService async endpoint as DescribeEndpoint, DescribeEndpointConfig and DescribeModel describe it;
    by default it serves exactly what ``action_config()`` asks for (with the role ROLE)."""
    arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}"
    live: dict[str, Any] = {
        "VariantName": variant_name,
        "CurrentWeight": 1.0,
        "DesiredWeight": 1.0,
        "CurrentInstanceCount": current_instance_count,
        "DesiredInstanceCount": current_instance_count,
    }
    if deployed and current_instance_count:
        live["DeployedImages"] = [{"SpecifiedImage": image, "ResolvedImage": image}]
    endpoint: dict[str, Any] = {
        "EndpointName": endpoint_name,
        "EndpointArn": f"{arn}:endpoint/{endpoint_name}",
        "EndpointConfigName": config_name,
        "EndpointStatus": status,
        "ProductionVariants": [live],
    }
    if failure_reason:
        endpoint["FailureReason"] = failure_reason
    if alarms is not None or bake_seconds is not None:
        blue_green: dict[str, Any] = {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": bake_seconds or 0}
            }
        }
        if alarms:
            blue_green["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms]}
        endpoint["LastDeploymentConfig"] = blue_green
    if deployment is not None:
        endpoint["LastDeploymentConfig"] = deployment
    if pending_config_name:
        endpoint["PendingDeploymentSummary"] = {"EndpointConfigName": pending_config_name}

    variant: dict[str, Any] = {
        "VariantName": variant_name,
        "ModelName": model_name,
        "InstanceType": instance_type,
        "InitialInstanceCount": initial_instance_count,
        **(variant_extra or {}),
    }
    output: dict[str, Any] = {"S3OutputPath": output_path}
    if failure_path:
        output["S3FailurePath"] = failure_path
    notification = {k: v for k, v in (("SuccessTopic", success_topic), ("ErrorTopic", error_topic)) if v}
    if notification:
        output["NotificationConfig"] = notification
    async_config: dict[str, Any] = {"OutputConfig": output, **copy.deepcopy(async_extra or {})}
    if max_concurrent_invocations is not None:
        async_config["ClientConfig"] = {"MaxConcurrentInvocationsPerInstance": max_concurrent_invocations}
    config: dict[str, Any] = {
        "EndpointConfigName": config_name,
        "EndpointConfigArn": f"{arn}:endpoint-config/{config_name}",
        "ProductionVariants": [variant] + [{**variant, "VariantName": name} for name in extra_variants],
        "CreationTime": "2026-11-01T00:00:00Z",
        **(config_extra or {}),
    }
    if has_async_config:
        config["AsyncInferenceConfig"] = async_config

    container: dict[str, Any] = {"Image": image, **(container_extra or {})}
    if model_data_url:
        container["ModelDataUrl"] = model_data_url
    if model_environment:
        container["Environment"] = dict(model_environment)
    model: dict[str, Any] = {
        "ModelName": model_name,
        "ModelArn": f"{arn}:model/{model_name}",
        "CreationTime": "2026-11-01T00:00:00Z",
        "PrimaryContainer": container,
        "ExecutionRoleArn": model_role,
        **(model_extra or {}),
    }
    # An override of None removes a member, as a description that lacks it would.
    model = {k: v for k, v in model.items() if v is not None}
    config = {k: v for k, v in config.items() if v is not None}
    return ServingState(
        endpoint=endpoint,
        config=config,
        model=model if read_model else None,
        variant_name=variant_name,
        unknown_members=unknown_members,
    )
