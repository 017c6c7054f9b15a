"""What an update keeps from the serving endpoint, in words, on plain values: every carried member of the model, its
container, the config, the variant and the async config is listed once, managed settings never, each with its
exact label and value."""

from __future__ import annotations

from typing import Any

import pytest

from sagemaker_async_deploy.carried import VALUE_MAX, Kept, kept_settings
from sagemaker_async_deploy.planner import Desired


def desired(
    model: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    *,
    values: dict[str, Any] | None = None,
    kept_inputs: frozenset[str] = frozenset(),
) -> Desired:
    """What an apply would create: the model and config content as the builders make them."""
    return Desired(
        endpoint_name="whisper",
        variant_name="AllTraffic",
        existing_model="",
        values=values or {},
        model_content=model,
        config_content=config if config is not None else {},
        model_name="whisper-model",
        config_name="whisper-config",
        tags=(),
        kept_inputs=kept_inputs,
    )


def kept(model: dict[str, Any] | None = None, config: dict[str, Any] | None = None, **kwargs: Any) -> list[Kept]:
    return list(kept_settings(desired(model, config, **kwargs)))


def test_every_described_member_reads_in_words_in_part_order() -> None:
    """The model's, container's, config's, variant's and async config's members are listed in that order, each
    part's sorted by member, with the words this version has for each; managed members and structure are not."""
    model = {
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/sagemaker",  # managed: execution-role-arn
        "PrimaryContainer": {
            "Image": "repo@sha256:" + "a" * 64,  # managed
            "ModelDataUrl": "s3://bucket/model.tar.gz",  # managed
            "Environment": {"A": "1"},  # managed
            "ImageConfig": {
                "RepositoryAccessMode": "Vpc",
                "RepositoryAuthConfig": {"RepositoryCredentialsProviderArn": "x"},
            },
            "ModelDataSource": {
                "S3DataSource": {"S3Uri": "s3://b/m/", "S3DataType": "S3Prefix", "CompressionType": "None"}
            },
            "AdditionalModelDataSources": [{"ChannelName": "a"}, {"ChannelName": "b"}],
            "ContainerHostname": "main",
            "Mode": "SingleModel",
        },
        "VpcConfig": {"Subnets": ["subnet-a"], "SecurityGroupIds": ["sg-1", "sg-2"]},
        "EnableNetworkIsolation": True,
        "InferenceExecutionConfig": {"Mode": "Direct"},
    }
    config = {
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": "whisper-model",
                "InstanceType": "ml.g4dn.xlarge",  # managed
                "InitialInstanceCount": 2,  # managed
                "VolumeSizeInGB": 100,
                "InferenceAmiVersion": "al2-ami-sagemaker-inference-gpu-2",
                "EnableSSMAccess": True,
                "InitialVariantWeight": 1.0,
                "AcceleratorType": "ml.eia2.medium",
                "CoreDumpConfig": {"DestinationS3Uri": "s3://dumps/"},
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
                "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 1, "MaxInstanceCount": 4},
                "VariantInstanceProvisionTimeoutInSeconds": 1200,
            }
        ],
        "KmsKeyId": "alias/volume",
        "DataCaptureConfig": {
            "EnableCapture": True,
            "InitialSamplingPercentage": 20,
            "DestinationS3Uri": "s3://capture/",
            "KmsKeyId": "alias/capture",
        },
        "ExplainerConfig": {"ClarifyExplainerConfig": {}},
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/config",
        "VpcConfig": {"Subnets": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-1"]},
        "EnableNetworkIsolation": True,
        "AsyncInferenceConfig": {
            "OutputConfig": {
                "S3OutputPath": "s3://bucket/out/",  # managed
                "KmsKeyId": "alias/output",
                "NotificationConfig": {
                    "SuccessTopic": "arn:aws:sns:us-east-1:123456789012:done",  # managed
                    "IncludeInferenceResponseIn": ["SUCCESS_NOTIFICATION_TOPIC", "ERROR_NOTIFICATION_TOPIC", "OTHER"],
                },
            },
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},  # managed
        },
    }
    assert kept(model, config) == [
        # The model.
        Kept("Network isolation", "on"),
        Kept("Inference execution mode", "Direct"),
        Kept("VPC", "1 subnet (subnet-a), 2 security groups"),
        # Its container.
        Kept("Additional model data", "2 sources"),
        Kept("Container hostname", "main"),
        Kept("Image registry access", "Vpc (registry credentials from a Lambda function)"),
        Kept("Container mode", "SingleModel"),
        Kept("Model data source", "s3://b/m/ (S3Prefix, None)"),
        # The config.
        Kept("Data capture", "20 % to s3://capture/, KMS key alias/capture"),
        Kept("Endpoint config network isolation", "on"),
        Kept("Endpoint config execution role", "arn:aws:iam::123456789012:role/config"),
        Kept("Explainer", "SageMaker Clarify"),
        Kept("Volume KMS key", "alias/volume"),
        Kept("Endpoint config VPC", "2 subnets (subnet-a, subnet-b), 1 security group"),
        # The variant.
        Kept("Elastic Inference accelerator", "ml.eia2.medium"),
        Kept("Core dumps", "s3://dumps/"),
        Kept("SSM access", "on"),
        Kept("Inference AMI version", "al2-ami-sagemaker-inference-gpu-2"),
        Kept("Variant weight", "1.0"),
        Kept("Managed instance scaling", "ENABLED 1–4 instances"),
        Kept("Routing strategy", "LEAST_OUTSTANDING_REQUESTS"),
        Kept("Instance provisioning timeout", "1200 s"),
        Kept("Volume size", "100 GB"),
        # The async config, one and two levels down.
        Kept("Output KMS key", "alias/output"),
        Kept("Inference response in notifications", "success topic, error topic, OTHER"),
    ]


def test_an_option_that_is_off_is_not_listed_and_data_capture_off_says_off() -> None:
    """False on/off options are left out (not worth a line); data capture with EnableCapture false reads "off",
    not as a destination; one that does not say reads as on."""
    model = {"EnableNetworkIsolation": False, "InferenceExecutionConfig": {"Mode": "Serial"}, "PrimaryContainer": {}}
    config = {
        "EnableNetworkIsolation": False,
        "DataCaptureConfig": {"EnableCapture": False, "InitialSamplingPercentage": 20, "DestinationS3Uri": "s3://c/"},
        "ProductionVariants": [{"EnableSSMAccess": False, "VolumeSizeInGB": 30}],
    }
    # What follows an option that is off is still listed.
    assert kept(model, config) == [
        Kept("Inference execution mode", "Serial"),
        Kept("Data capture", "off"),
        Kept("Volume size", "30 GB"),
    ]
    config["DataCaptureConfig"] = {"DestinationS3Uri": "s3://c/"}
    assert kept({}, config) == [Kept("Data capture", "? % to s3://c/"), Kept("Volume size", "30 GB")]


def test_members_without_words_are_listed_by_path_as_json() -> None:
    """A member this version has no words for shows by its path with its value as JSON (strings as they are), so
    every carried setting is seen; inside the async config, by its full path."""
    config = {
        "ProductionVariants": [
            {"CapacityReservationConfig": {"MlReservationArn": "arn:x", "CapacityReservationPreference": "only"}}
        ],
        "AsyncInferenceConfig": {
            "ClientConfig": {"NewMember": "value"},
            "OutputConfig": {"NotificationConfig": {"Retries": 3}},
            "Other": [1, 2],
        },
        "ShadowProductionVariants": [],
    }
    assert kept(None, config) == [
        Kept("ShadowProductionVariants", "[]"),
        Kept(
            "CapacityReservationConfig",
            '{"CapacityReservationPreference": "only", "MlReservationArn": "arn:x"}',
        ),
        Kept("ClientConfig.NewMember", "value"),
        Kept("Other", "[1, 2]"),
        Kept("OutputConfig.NotificationConfig.Retries", "3"),
    ]


def test_a_model_of_containers_is_read_from_its_first_one() -> None:
    """A model without PrimaryContainer is read through Containers[0]; with neither, its container keeps
    nothing."""
    assert kept({"Containers": [{"ContainerHostname": "first"}, {"ContainerHostname": "second"}]}) == [
        Kept("Container hostname", "first")
    ]
    assert kept({"PrimaryContainer": {"ContainerHostname": "primary"}, "Containers": [{"Mode": "x"}]}) == [
        Kept("Container hostname", "primary")
    ]
    assert kept({"VpcConfig": {}}) == [Kept("VPC", "0 subnets (), 0 security groups")]


def test_a_long_value_is_cut_to_the_limit_with_an_ellipsis() -> None:
    """A value longer than VALUE_MAX characters is cut to VALUE_MAX, the last one an ellipsis; one of exactly
    VALUE_MAX is whole."""
    whole = "k" * VALUE_MAX
    assert kept(None, {"KmsKeyId": whole}) == [Kept("Volume KMS key", whole)]
    assert kept(None, {"KmsKeyId": whole + "x"}) == [Kept("Volume KMS key", "k" * (VALUE_MAX - 1) + "…")]


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ({"S3DataSource": {"S3Uri": "s3://b/m/"}}, "s3://b/m/"),
        ({"S3DataSource": {"S3Uri": "s3://b/m/", "S3DataType": "S3Object"}}, "s3://b/m/ (S3Object)"),
        ({"HubAccessConfig": {"HubContentArn": "arn:h"}}, '{"HubAccessConfig": {"HubContentArn": "arn:h"}}'),
        ({"Zeta": 1, "Alpha": {"B": 2, "A": 1}}, '{"Alpha": {"A": 1, "B": 2}, "Zeta": 1}'),  # keys sorted
    ],
)
def test_a_model_data_source_names_its_uri_and_kind(source: dict[str, Any], words: str) -> None:
    """The S3 URI with its data type and compression when given; a source of another kind as JSON."""
    assert kept({"PrimaryContainer": {"ModelDataSource": source}}) == [Kept("Model data source", words)]


def test_kept_inputs_are_listed_with_their_shown_value_before_the_members() -> None:
    """An empty keep-input whose serving value is kept is listed under its field's label, in the field table's
    order; one kept with no value, or not kept, is not."""
    values = {"initial-instance-count": 3, "max-concurrent-invocations": 4, "container-startup-timeout-seconds": None}
    inputs = frozenset({"max-concurrent-invocations", "initial-instance-count", "container-startup-timeout-seconds"})
    assert kept(None, {"KmsKeyId": "k"}, values=values, kept_inputs=inputs) == [
        Kept("Instance count", "3"),
        Kept("Max concurrent invocations per instance", "4"),
        Kept("Volume KMS key", "k"),
    ]
    assert kept(None, {}, values=values, kept_inputs=frozenset()) == []


def test_a_create_keeps_nothing() -> None:
    """Nothing serves on create: no model or config content to carry, nothing listed."""
    assert kept(None, {}) == []
