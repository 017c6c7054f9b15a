"""Every answer the emulator gives, over whole lifecycles with faults, checked against botocore's output shapes."""

from __future__ import annotations

import time
from typing import Any

from sagemaker_emulator import Emulator
from tests.conftest import boto_client

from ..seed import seed_alarm
from ._responses import MODEL, Recorder, problems
from ._setup import ROLE

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:{tag}"
KMS = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC = "arn:aws:sns:us-east-1:123456789012:deploys"


def full_model(sm: Any, name: str, tag: str) -> None:
    """A model with every member a Terraform-made one carries."""
    sm.create_model(
        ModelName=name,
        PrimaryContainer={
            "Image": IMAGE.format(tag=tag),
            "ModelDataUrl": "s3://bucket/model.tar.gz",
            "Environment": {"MODEL_NAME": "whisper"},
            "ImageConfig": {"RepositoryAccessMode": "Platform"},
            "Mode": "SingleModel",
        },
        ExecutionRoleArn=ROLE,
        VpcConfig={"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]},
        EnableNetworkIsolation=True,
        Tags=[{"Key": "team", "Value": "ml"}],
    )


def async_config(sm: Any, name: str, model: str, count: int = 4) -> None:
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InitialInstanceCount": count,
                "InstanceType": "ml.g5.xlarge",
                "InitialVariantWeight": 1.0,
                "VolumeSizeInGB": 100,
                "ModelDataDownloadTimeoutInSeconds": 1200,
                "ContainerStartupHealthCheckTimeoutInSeconds": 1800,
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
                "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 1, "MaxInstanceCount": 8},
            }
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 20,
            "DestinationS3Uri": "s3://bucket/capture",
            "KmsKeyId": KMS,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
        },
        KmsKeyId=KMS,
        AsyncInferenceConfig={
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
            "OutputConfig": {
                "S3OutputPath": "s3://bucket/out",
                "S3FailurePath": "s3://bucket/failed",
                "KmsKeyId": KMS,
                "NotificationConfig": {
                    "SuccessTopic": TOPIC,
                    "ErrorTopic": TOPIC,
                    "IncludeInferenceResponseIn": ["SUCCESS_NOTIFICATION_TOPIC", "ERROR_NOTIFICATION_TOPIC"],
                },
            },
        },
        Tags=[{"Key": "team", "Value": "ml"}],
    )


def realtime_config(sm: Any, name: str, model: str) -> None:
    """A real-time config with what an async one cannot have: shadow variants, instance pools, metrics."""
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InitialInstanceCount": 2,
                "InstancePools": [
                    {"InstanceType": "ml.m5.large", "Priority": 1},
                    {"InstanceType": "ml.c5.large", "Priority": 2},
                ],
                "CapacityReservationConfig": {"CapacityReservationPreference": "capacity-reservations-only"},
            }
        ],
        ShadowProductionVariants=[
            {"VariantName": "Shadow", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
        MetricsConfig={"EnableEnhancedMetrics": True},
        ExplainerConfig={"ClarifyExplainerConfig": {"ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": "1,2"}}}},
        CrossRegionTrafficConfig={"MaxInvocationsPerSecondPerInstance": 10, "MaxCrossRegionPercentPerEndpoint": 50},
        ExecutionRoleArn=ROLE,
    )


def settle(sm: Any, endpoint: str, timeout: float = 20.0) -> dict[str, Any]:
    """Poll DescribeEndpoint often (every phase's answer is recorded) until the endpoint settles."""
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sm.describe_endpoint(EndpointName=endpoint)
        if described["EndpointStatus"] not in ("Creating", "Updating", "RollingBack", "Deleting"):
            return described
        assert time.monotonic() < deadline, f"{endpoint} never settled"
        time.sleep(0.01)


def canary(alarm: str) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
                "WaitIntervalInSeconds": 600,
            },
            "TerminationWaitInSeconds": 0,
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm}]},
    }


LINEAR = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {
            "Type": "LINEAR",
            "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
            "WaitIntervalInSeconds": 60,
        }
    }
}
ROLLING = {
    "RollingUpdatePolicy": {
        "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 60,
        "RollbackMaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
    }
}


def test_every_answer_fits_botocore_output_shapes(emulator: Emulator) -> None:
    """Over create, canary, linear, rolling, rollbacks, failures, scale to zero, lists, tags and deletes, no answer
    has a member AWS does not return, misses a required one, or has a wrong type or enum value."""
    recorder = Recorder()
    sm = recorder.attach(boto_client(emulator, "sagemaker"))
    seed_alarm(emulator, "errors")
    for tag in ("v1", "v2", "v3", "v4", "v5", "v6"):
        full_model(sm, f"model-{tag}", tag)
        async_config(sm, f"config-{tag}", f"model-{tag}")
    sm.describe_model(ModelName="model-v1")
    sm.describe_endpoint_config(EndpointConfigName="config-v1")

    sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-v1", DeploymentConfig=canary("errors"))
    settle(sm, "ep")
    sm.update_endpoint(
        EndpointName="ep", EndpointConfigName="config-v2", RetainAllVariantProperties=True, RetainDeploymentConfig=True
    )
    settle(sm, "ep")
    emulator.faults.rollback_next_update("ep", alarm="errors", at_step=2)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-v3", DeploymentConfig=LINEAR)
    settle(sm, "ep")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-v3", DeploymentConfig=ROLLING)
    settle(sm, "ep")
    emulator.faults.update_rollback_failed_next("the old fleet could not come back", "ep")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-v4", RetainDeploymentConfig=True)
    settle(sm, "ep")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-v5")
    settle(sm, "ep")
    emulator.faults.busy("ep", 0.1)
    settle(sm, "ep")
    emulator.faults.unhealthy_next_update(["Traceback (most recent call last):", "RuntimeError: CUDA"], "ep")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-v6")
    settle(sm, "ep")
    emulator.faults.scale_to_zero("ep")
    sm.describe_endpoint(EndpointName="ep")
    emulator.faults.fail_next_update("InternalFailure", "ep", end_status="Failed")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-v6")
    settle(sm, "ep")

    realtime_config(sm, "realtime", "model-v1")
    emulator.faults.fail_next_create("CannotStartContainerError", "broken")
    sm.create_endpoint(EndpointName="broken", EndpointConfigName="config-v1")
    sm.create_endpoint(EndpointName="rt", EndpointConfigName="realtime")
    settle(sm, "broken")
    realtime = settle(sm, "rt")
    # What only a real-time config has is described back in its DescribeEndpoint shape.
    assert {"MetricsConfig", "ExplainerConfig", "CrossRegionTrafficConfig", "ShadowProductionVariants"} <= set(realtime)
    assert realtime["ProductionVariants"][0]["InstancePools"] == [
        {"InstanceType": "ml.m5.large", "CurrentInstanceCount": 2},
        {"InstanceType": "ml.c5.large", "CurrentInstanceCount": 0},
    ]
    assert realtime["ProductionVariants"][0]["CapacityReservationConfig"] == {
        "CapacityReservationPreference": "capacity-reservations-only"
    }

    arn = sm.describe_endpoint(EndpointName="ep")["EndpointArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "commit", "Value": "abc"}])
    sm.list_tags(ResourceArn=arn)
    sm.delete_tags(ResourceArn=arn, TagKeys=["commit"])
    sm.list_models(MaxResults=2)
    sm.list_endpoint_configs(NameContains="config")
    sm.list_endpoints(StatusEquals="InService")
    sm.delete_endpoint(EndpointName="rt")
    sm.describe_endpoint(EndpointName="rt")
    sm.delete_endpoint_config(EndpointConfigName="realtime")
    sm.delete_model(ModelName="model-v6")

    # The Model Registry (its own lifecycle is tested in test_model_registry).
    sm.create_model_package_group(ModelPackageGroupName="whisper")
    sm.describe_model_package_group(ModelPackageGroupName="whisper")
    package = sm.create_model_package(
        ModelPackageGroupName="whisper",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE.format(tag="v1")}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    sm.describe_model_package(ModelPackageName=package)
    sm.list_model_packages(ModelPackageGroupName="whisper", ModelApprovalStatus="Approved")

    # extra_member is left out on purpose: it arms what a newer AWS would answer, which this check must refuse
    # (test_an_unknown_member_is_caught).
    assert recorder.problems() == []
    seen = {operation for operation, _ in recorder.successes()}
    assert seen == emulator.sagemaker_operations
    statuses = {
        s["Status"]
        for op, body in recorder.successes()
        if op == "DescribeEndpoint"
        for v in [
            *body.get("ProductionVariants", []),
            *body.get("PendingDeploymentSummary", {}).get("ProductionVariants", []),
        ]
        for s in v.get("VariantStatus", [])
    }
    assert statuses == {"Creating", "ActivatingTraffic", "Baking", "Deleting"}


def test_an_unknown_member_is_caught(emulator: Emulator) -> None:
    """The check itself fails on a member botocore's model does not know (here armed with extra_member, which the
    shape test above leaves out on purpose: it is what a newer AWS would answer)."""
    recorder = Recorder()
    sm = recorder.attach(boto_client(emulator, "sagemaker"))
    full_model(sm, "model-1", "v1")
    async_config(sm, "config-1", "model-1")
    emulator.faults.extra_member("DescribeEndpointConfig", "FutureMember", {"Enabled": True})
    described = sm.describe_endpoint_config(EndpointConfigName="config-1")
    assert "FutureMember" not in described  # botocore drops what it does not know
    assert recorder.successes()[-1][1]["FutureMember"] == {"Enabled": True}
    assert recorder.problems() == ["DescribeEndpointConfig: FutureMember: not a member of DescribeEndpointConfigOutput"]


def test_the_check_catches_types_enums_and_required_members() -> None:
    """A wrong enum, a string for a number and a missing required member are each reported with their path."""
    output = MODEL.operation_model("DescribeEndpoint").output_shape
    assert output is not None
    body = {
        "EndpointName": "ep",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep",
        "EndpointStatus": "Sleeping",
        "CreationTime": 1.0,
        "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentWeight": "1"}],
    }
    assert problems(output, body) == [
        "LastModifiedTime: required by DescribeEndpointOutput, missing",
        "ProductionVariants[0].CurrentWeight: '1' is not a number (VariantWeight)",
        "EndpointStatus: 'Sleeping' is not one of EndpointStatus's values",
    ]
