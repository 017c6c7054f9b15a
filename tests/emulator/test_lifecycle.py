"""The endpoint lifecycle in wall-clock time, driven with plain boto3."""

from __future__ import annotations

import hashlib
import time

from sagemaker_emulator import Behaviour, Emulator
from tests.conftest import FAST_TIMINGS, boto_client

from ..seed import seed_ecr_image
from ._setup import IMAGE_V1, config, in_service_endpoint, model, second_config, wait_for
from .test_response_shapes import KMS, async_config, full_model

BLUE_GREEN = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300},
        "TerminationWaitInSeconds": 0,
    },
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "errors"}]},
}


def test_create_goes_creating_then_in_service(emulator: Emulator) -> None:
    """CreateEndpoint answers Creating at once and InService after Timings.create."""
    sm = boto_client(emulator, "sagemaker")
    model(sm, "model-1")
    config(sm, "config-1", "model-1", count=2)
    emulator.faults.hold_next_create("ep")  # Creating for as long as the test looks, however slow the machine
    arn = sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1")["EndpointArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Creating"
    emulator.faults.release("ep")
    described = wait_for(sm, "ep", "InService")
    variant = described["ProductionVariants"][0]
    assert described["EndpointConfigName"] == "config-1"
    assert described["AsyncInferenceConfig"] == {"OutputConfig": {"S3OutputPath": "s3://bucket/out"}}
    assert variant["CurrentInstanceCount"] == variant["DesiredInstanceCount"] == 2
    assert variant["CurrentWeight"] == variant["DesiredWeight"] == 1.0
    assert variant["DeployedImages"][0]["SpecifiedImage"] == IMAGE_V1
    assert "PendingDeploymentSummary" not in described
    assert "FailureReason" not in described
    assert described["LastModifiedTime"] >= described["CreationTime"]


def test_update_shows_old_config_and_pending_summary_then_switches(emulator: Emulator) -> None:
    """While Updating, EndpointConfigName is the OLD config and PendingDeploymentSummary names the new one."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    emulator.faults.hold_next_update("ep")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2", DeploymentConfig=BLUE_GREEN)
    updating = sm.describe_endpoint(EndpointName="ep")
    assert updating["EndpointStatus"] == "Updating"
    assert updating["EndpointConfigName"] == "config-1"
    assert updating["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"].endswith(":v1")
    pending = updating["PendingDeploymentSummary"]
    assert pending["EndpointConfigName"] == "config-2"
    assert pending["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    assert pending["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"].endswith(":v2")
    assert "StartTime" in pending
    emulator.faults.release("ep")
    done = wait_for(sm, "ep", "InService")
    assert done["EndpointConfigName"] == "config-2"
    assert done["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"].endswith(":v2")
    assert "PendingDeploymentSummary" not in done
    assert done["LastDeploymentConfig"] == BLUE_GREEN


def test_blue_green_wait_interval_is_not_waited_in_real_time(emulator: Emulator) -> None:
    """A 300 s WaitIntervalInSeconds bake still finishes within Timings.update."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    started = time.monotonic()
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2", DeploymentConfig=BLUE_GREEN)
    wait_for(sm, "ep", "InService")
    assert time.monotonic() - started < 3


def test_retain_all_variant_properties_keeps_instance_count(emulator: Emulator) -> None:
    """RetainAllVariantProperties keeps the serving DesiredInstanceCount instead of the config's initial count."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm, count=3)
    second_config(sm, count=1)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2", RetainAllVariantProperties=True)
    variant = wait_for(sm, "ep", "InService")["ProductionVariants"][0]
    assert variant["CurrentInstanceCount"] == variant["DesiredInstanceCount"] == 3


def test_excluding_desired_instance_count_takes_the_config_count(emulator: Emulator) -> None:
    """ExcludeRetainedVariantProperties=DesiredInstanceCount lets the new config's count apply."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm, count=3)
    second_config(sm, count=1)
    sm.update_endpoint(
        EndpointName="ep",
        EndpointConfigName="config-2",
        RetainAllVariantProperties=True,
        ExcludeRetainedVariantProperties=[{"VariantPropertyType": "DesiredInstanceCount"}],
    )
    assert wait_for(sm, "ep", "InService")["ProductionVariants"][0]["CurrentInstanceCount"] == 1


def test_retain_deployment_config_keeps_the_previous_one(emulator: Emulator) -> None:
    """RetainDeploymentConfig=True leaves LastDeploymentConfig as the previous update set it."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2", DeploymentConfig=BLUE_GREEN)
    wait_for(sm, "ep", "InService")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-1", RetainDeploymentConfig=True)
    assert wait_for(sm, "ep", "InService")["LastDeploymentConfig"] == BLUE_GREEN


def test_delete_goes_deleting_then_gone(emulator: Emulator) -> None:
    """DeleteEndpoint answers Deleting, then the endpoint no longer exists."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    emulator.faults.hold_next_delete("ep")
    sm.delete_endpoint(EndpointName="ep")
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Deleting"
    emulator.faults.release("ep")
    sm.get_waiter("endpoint_deleted").wait(EndpointName="ep", WaiterConfig={"Delay": 0.1})
    assert sm.list_endpoints()["Endpoints"] == []


def test_ecr_tag_resolves_to_the_digest_moto_holds(emulator: Emulator) -> None:
    """A tag of an image pushed to moto's ECR resolves to that image's digest."""
    digest = seed_ecr_image(emulator, "model", "v1")
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    deployed = sm.describe_endpoint(EndpointName="ep")["ProductionVariants"][0]["DeployedImages"][0]
    assert deployed["ResolvedImage"] == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/model@{digest}"
    assert "ResolutionTime" in deployed


def test_digest_reference_keeps_its_digest(emulator: Emulator) -> None:
    """An image given by digest resolves to that same digest."""
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model@sha256:" + "c" * 64
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm, image=image)
    deployed = sm.describe_endpoint(EndpointName="ep")["ProductionVariants"][0]["DeployedImages"][0]
    assert deployed["ResolvedImage"] == image


def test_unknown_image_resolves_to_a_stable_digest(emulator: Emulator) -> None:
    """An image moto's ECR does not hold resolves to repo@sha256 of the reference, the same every time."""
    image = "registry.example:5000/team/model:v9"
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm, image=image)
    deployed = sm.describe_endpoint(EndpointName="ep")["ProductionVariants"][0]["DeployedImages"][0]
    expected = "registry.example:5000/team/model@sha256:" + hashlib.sha256(image.encode()).hexdigest()
    assert deployed["ResolvedImage"] == expected


def test_classic_script_sequence_works_unchanged(emulator: Emulator) -> None:
    """Create config, update retaining everything, wait with the stock waiter, delete the old config."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm, count=2)
    second_config(sm)
    sm.update_endpoint(
        EndpointName="ep",
        EndpointConfigName="config-2",
        RetainAllVariantProperties=True,
        RetainDeploymentConfig=True,
    )
    sm.get_waiter("endpoint_in_service").wait(EndpointName="ep", WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    sm.delete_endpoint_config(EndpointConfigName="config-1")
    described = sm.describe_endpoint(EndpointName="ep")
    assert described["EndpointConfigName"] == "config-2"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2


def test_waiter_reports_success_after_a_rollback(emulator: Emulator) -> None:
    """The stock waiter returns normally after an alarm rollback: the endpoint is InService on the OLD config."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    emulator.faults.rollback_next_update()
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2", DeploymentConfig=BLUE_GREEN)
    sm.get_waiter("endpoint_in_service").wait(EndpointName="ep", WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    described = sm.describe_endpoint(EndpointName="ep")
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "config-1"


def test_create_shows_a_pending_deployment_and_no_variants_yet(emulator: Emulator) -> None:
    """While Creating, PendingDeploymentSummary carries the new fleet (VariantStatus Creating, 0 of N instances)
    and ProductionVariants are absent: nothing is hosted yet."""
    sm = boto_client(emulator, "sagemaker")
    model(sm, "model-1")
    config(sm, "config-1", "model-1", count=2)
    emulator.faults.hold_next_create("ep")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1")
    creating = sm.describe_endpoint(EndpointName="ep")
    assert "ProductionVariants" not in creating
    (variant,) = creating["PendingDeploymentSummary"]["ProductionVariants"]
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (0, 2)
    assert variant["VariantStatus"][0]["Status"] == "Creating"
    assert variant["VariantStatus"][0]["StatusMessage"] == "Launching 2 instance(s)."
    assert creating["PendingDeploymentSummary"]["EndpointConfigName"] == "config-1"
    emulator.faults.release("ep")
    done = wait_for(sm, "ep", "InService")
    assert "PendingDeploymentSummary" not in done
    assert "VariantStatus" not in done["ProductionVariants"][0]


def test_variants_can_be_listed_while_creating(emulator: Emulator) -> None:
    """variants_while_creating="listed": the variant shows 0 instances, no images yet, VariantStatus Creating."""
    emulator.stop()
    with Emulator(timings=FAST_TIMINGS, behaviour=Behaviour(variants_while_creating="listed")) as emu:
        sm = boto_client(emu, "sagemaker")
        model(sm, "model-1")
        config(sm, "config-1", "model-1", count=2)
        emu.faults.hold_next_create("ep")
        sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1")
        (variant,) = sm.describe_endpoint(EndpointName="ep")["ProductionVariants"]
        assert (variant["CurrentInstanceCount"], variant["DeployedImages"]) == (0, [])
        assert variant["VariantStatus"][0]["Status"] == "Creating"


def test_every_member_given_is_described_back(emulator: Emulator) -> None:
    """DescribeModel and DescribeEndpointConfig return every member the Create request had (Tags aside), plus
    what AWS adds: the ARN, CreationTime, DeploymentRecommendation, EnableNetworkIsolation."""
    sm = boto_client(emulator, "sagemaker")
    calls: list[dict[str, object]] = []
    sm.meta.events.register("provide-client-params.sagemaker.*", lambda params, **_: calls.append(dict(params)))
    full_model(sm, "model-1", "v1")
    async_config(sm, "config-1", "model-1")
    model_request, config_request = ({k: v for k, v in c.items() if k != "Tags"} for c in calls)
    described_model = sm.describe_model(ModelName="model-1")
    assert {k: described_model[k] for k in model_request} == model_request
    assert described_model["DeploymentRecommendation"] == {"RecommendationStatus": "NOT_APPLICABLE"}
    described_config = sm.describe_endpoint_config(EndpointConfigName="config-1")
    assert {k: described_config[k] for k in config_request} == config_request
    assert described_config["EnableNetworkIsolation"] is False


def test_describe_endpoint_answers_summary_shapes(emulator: Emulator) -> None:
    """DataCaptureConfig is a DataCaptureConfigSummary; the variant carries the config's routing and scaling."""
    sm = boto_client(emulator, "sagemaker")
    full_model(sm, "model-1", "v1")
    async_config(sm, "config-1", "model-1", count=2)
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1")
    described = wait_for(sm, "ep", "InService")
    assert described["DataCaptureConfig"] == {
        "EnableCapture": True,
        "CaptureStatus": "Started",
        "CurrentSamplingPercentage": 20,
        "DestinationS3Uri": "s3://bucket/capture",
        "KmsKeyId": KMS,
    }
    variant = described["ProductionVariants"][0]
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    assert variant["ManagedInstanceScaling"] == {"Status": "ENABLED", "MinInstanceCount": 1, "MaxInstanceCount": 8}
    assert "InstanceType" not in variant  # only the pending summary has it
    assert described["AsyncInferenceConfig"]["ClientConfig"] == {"MaxConcurrentInvocationsPerInstance": 4}


def test_deployed_images_can_stay_listed_at_zero_instances(emulator: Emulator) -> None:
    """deployed_images_at_zero="kept": an endpoint scaled to zero still lists its images."""
    emulator.stop()
    with Emulator(timings=FAST_TIMINGS, behaviour=Behaviour(deployed_images_at_zero="kept")) as emu:
        sm = boto_client(emu, "sagemaker")
        in_service_endpoint(sm)
        emu.faults.scale_to_zero("ep")
        variant = sm.describe_endpoint(EndpointName="ep")["ProductionVariants"][0]
        assert variant["CurrentInstanceCount"] == 0
        assert variant["DeployedImages"][0]["SpecifiedImage"] == IMAGE_V1
