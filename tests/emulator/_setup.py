"""Small builders shared by the emulator tests: they seed SageMaker resources the way the seed scripts do."""

from __future__ import annotations

import time
from typing import Any

ROLE = "arn:aws:iam::123456789012:role/sagemaker"
IMAGE_V1 = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:v1"
IMAGE_V2 = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:v2"
ASYNC = {"OutputConfig": {"S3OutputPath": "s3://bucket/out"}}


def model(sm: Any, name: str, image: str = IMAGE_V1) -> None:
    sm.create_model(ModelName=name, PrimaryContainer={"Image": image}, ExecutionRoleArn=ROLE)


def config(
    sm: Any,
    name: str,
    model_name: str,
    *,
    instance_type: str = "ml.m5.large",
    count: int = 1,
    asynchronous: bool = True,
    variant: str = "AllTraffic",
) -> None:
    extra: dict[str, Any] = {"AsyncInferenceConfig": ASYNC} if asynchronous else {}
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": variant,
                "ModelName": model_name,
                "InstanceType": instance_type,
                "InitialInstanceCount": count,
            }
        ],
        **extra,
    )


def wait_for(sm: Any, endpoint: str, *statuses: str, timeout: float = 10.0) -> dict[str, Any]:
    """Poll DescribeEndpoint until the status is one of ``statuses``; return that description."""
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sm.describe_endpoint(EndpointName=endpoint)
        if described["EndpointStatus"] in statuses:
            return described
        if time.monotonic() > deadline:
            raise AssertionError(f"{endpoint} stuck in {described['EndpointStatus']}, wanted {statuses}")
        time.sleep(0.05)


def in_service_endpoint(sm: Any, name: str = "ep", image: str = IMAGE_V1, **config_args: Any) -> None:
    """model-1 / config-1 / ``name``, InService."""
    model(sm, "model-1", image)
    config(sm, "config-1", "model-1", **config_args)
    sm.create_endpoint(EndpointName=name, EndpointConfigName="config-1")
    wait_for(sm, name, "InService")


def second_config(sm: Any, image: str = IMAGE_V2, **config_args: Any) -> None:
    """model-2 / config-2 for an update."""
    model(sm, "model-2", image)
    config(sm, "config-2", "model-2", **config_args)


def rolling_back(described: dict[str, Any], status: str) -> bool:
    """Whether a description shows SageMaker rolling an update back: ``status`` (Updating or RollingBack, see
    Behaviour.status_during_update_rollback) on the old config with no deployment pending."""
    return described["EndpointStatus"] == status and "PendingDeploymentSummary" not in described


def wait_rolling_back(sm: Any, endpoint: str, status: str, timeout: float = 10.0) -> dict[str, Any]:
    """Poll DescribeEndpoint until it shows the rollback (see ``rolling_back``); return that description."""
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sm.describe_endpoint(EndpointName=endpoint)
        if rolling_back(described, status):
            return described
        if time.monotonic() > deadline:
            raise AssertionError(f"{endpoint} never seen rolling back ({described['EndpointStatus']})")
        time.sleep(0.01)
