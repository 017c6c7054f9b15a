"""Reading what an endpoint serves now: DescribeEndpoint, then its config and model."""

from __future__ import annotations

from typing import Any

from . import aws
from .planner import ServingState

TRANSITIONAL = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


def serving_state(sm: Any, endpoint: aws.Json, variant_name: str, *, need_model: bool) -> ServingState:
    """What the endpoint serves, from DescribeEndpoint and its (serving) config, and the model if needed.

    The model is read only when DeployedImages does not name the image (an async endpoint scaled to zero)
    or when the planner needs the model's role, artifact or environment: every call here is on the
    no-change path.
    """
    config_name = str(endpoint.get("EndpointConfigName", ""))
    config = aws.describe_endpoint_config(sm, config_name) or {}
    config_variants = config.get("ProductionVariants", [])
    variant = next((v for v in config_variants if v.get("VariantName") == variant_name), None)
    if variant is None and len(config_variants) == 1:
        variant = config_variants[0]
    variant = variant or {}
    live: aws.Json = next(
        (v for v in endpoint.get("ProductionVariants", []) if v.get("VariantName") == variant.get("VariantName")),
        {},
    )
    image = aws.deployed_image(live)

    model_name = str(variant.get("ModelName", ""))
    model: aws.Json = {}
    if model_name and (need_model or not image):
        model = aws.describe_model(sm, model_name) or {}
    container = aws.model_container(model)
    if not image:
        image = str(container.get("Image", ""))

    async_config = config.get("AsyncInferenceConfig")
    output = (async_config or {}).get("OutputConfig", {})
    notification = output.get("NotificationConfig", {})
    client_config = (async_config or {}).get("ClientConfig", {})

    alarms: tuple[str, ...] | None = None
    bake: int | None = None
    deployment = endpoint.get("LastDeploymentConfig")
    if deployment:
        rollback = deployment.get("AutoRollbackConfiguration", {})
        alarms = tuple(a["AlarmName"] for a in rollback.get("Alarms", []))
        bake = int(
            deployment.get("BlueGreenUpdatePolicy", {})
            .get("TrafficRoutingConfiguration", {})
            .get("WaitIntervalInSeconds", 0)
        )

    pending = endpoint.get("PendingDeploymentSummary") or {}
    return ServingState(
        endpoint_name=str(endpoint["EndpointName"]),
        endpoint_arn=str(endpoint.get("EndpointArn", "")),
        status=str(endpoint.get("EndpointStatus", "")),
        failure_reason=str(endpoint.get("FailureReason", "")),
        config_name=config_name,
        variant_names=tuple(str(v.get("VariantName", "")) for v in config_variants),
        variant_name=str(variant.get("VariantName", "")),
        model_name=model_name,
        image=image,
        instance_type=str(variant.get("InstanceType", "")),
        initial_instance_count=int(variant.get("InitialInstanceCount", 0)),
        current_instance_count=live.get("CurrentInstanceCount"),
        has_async_config=async_config is not None,
        output_path=str(output.get("S3OutputPath", "")),
        failure_path=str(output.get("S3FailurePath", "")),
        success_topic=str(notification.get("SuccessTopic", "")),
        error_topic=str(notification.get("ErrorTopic", "")),
        max_concurrent_invocations=client_config.get("MaxConcurrentInvocationsPerInstance"),
        model_role=str(model.get("ExecutionRoleArn", "")),
        model_data_url=str(container.get("ModelDataUrl", "")),
        model_environment=tuple(sorted((container.get("Environment") or {}).items())),
        alarms=alarms,
        bake_seconds=bake,
        pending_config_name=str(pending.get("EndpointConfigName", "")),
    )
