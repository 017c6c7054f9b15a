"""Seeding the emulator's other AWS services (moto) with what the action's inputs name: alarms, topics, ECR
images. Shared by the tests so each names only what differs."""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

from sagemaker_emulator import Emulator

from .conftest import ACCOUNT_ID, REGION, boto_client

ECR_REGISTRY = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com"


def seed_alarm(
    emu: Emulator, name: str, *, endpoint: str = "", metric: str = "Invocation5XXErrors", **settings: Any
) -> None:
    """A CloudWatch metric alarm on an endpoint metric, as an auto-rollback alarm would be; with ``endpoint``,
    on that endpoint's AllTraffic variant. ``settings`` override PutMetricAlarm's parameters."""
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": "AllTraffic"}]
    params: dict[str, Any] = {
        "AlarmName": name,
        "MetricName": metric,
        "Namespace": "AWS/SageMaker",
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        **({"Dimensions": dimensions} if endpoint else {}),
        **settings,
    }
    boto_client(emu, "cloudwatch").put_metric_alarm(**params)


def seed_topic(emu: Emulator, name: str) -> str:
    """An SNS topic; returns its ARN."""
    return str(boto_client(emu, "sns").create_topic(Name=name)["TopicArn"])


def seed_ecr_image(emu: Emulator, repository: str, tag: str, *, region: str = REGION) -> str:
    """An image pushed to ECR (of ``region``) under ``repository:tag``; returns its digest.

    moto derives a digest from the manifest's layers, so each tag gets a layer of its own: images pushed with
    no layers would all share one digest and look unchanged.
    """
    ecr = boto_client(emu, "ecr", region=region)
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repository)
    layer = "sha256:" + hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": layer},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1, "digest": layer}],
    }
    ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)
    described = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    return str(described["imageDetails"][0]["imageDigest"])


def seed_handmade_config(sm: Any, name: str, image: str, role: str, output_path: str) -> None:
    """A model and an async config made by hand, as someone else would (no derived name, no tag of the
    action's), both called ``name``: one g4dn.xlarge instance serving ``image``."""
    sm.create_model(ModelName=name, PrimaryContainer={"Image": image}, ExecutionRoleArn=role)
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InstanceType": "ml.g4dn.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": output_path}},
    )


def seed_model_package(emu: Emulator, group: str, image: str, *, status: str = "Approved") -> str:
    """A new version of the Model Registry group ``group`` (made if missing) running ``image``; its ARN."""
    sm = boto_client(emu, "sagemaker")
    with contextlib.suppress(sm.exceptions.ClientError):
        sm.create_model_package_group(ModelPackageGroupName=group)
    arn = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": image}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    return str(arn)


def seed_model_and_two_configs(sm: Any, image: str, role: str) -> None:
    """Model "m" running ``image`` and async configs "c1" and "c2" of it, which any endpoint can serve."""
    sm.create_model(ModelName="m", PrimaryContainer={"Image": image}, ExecutionRoleArn=role)
    for name in ("c1", "c2"):
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "m",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
            AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://bucket/out/"}},
        )


def seed_step_policy(autoscaling: Any, name: str, resource: str = "endpoint/whisper/variant/AllTraffic") -> str:
    """A step scaling policy adding one instance per alarm on the variant's scalable target; its PolicyARN."""
    return str(
        autoscaling.put_scaling_policy(
            PolicyName=name,
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension="sagemaker:variant:DesiredInstanceCount",
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity",
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
            },
        )["PolicyARN"]
    )
