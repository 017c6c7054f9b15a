"""The real service's rules: request validation against the service model, names, references, update limits."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_emulator import Emulator
from tests.conftest import boto_client

from ._setup import ROLE, config, in_service_endpoint, model, second_config, wait_for

ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def error_of(call: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    error: dict[str, str] = caught.value.response["Error"]
    return error


def test_endpoint_name_pattern_is_enforced(emulator: Emulator) -> None:
    """A name with an underscore fails the endpoint-name pattern with AWS's wording."""
    sm = boto_client(emulator, "sagemaker")
    error = error_of(sm.describe_endpoint, EndpointName="my_endpoint")
    assert error == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value 'my_endpoint' at 'endpointName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
    }


def test_model_name_max_length_is_enforced(emulator: Emulator) -> None:
    """A 64-character model name is refused for its length (botocore checks only minimums)."""
    sm = boto_client(emulator, "sagemaker")
    error = error_of(sm.create_model, ModelName="m" * 64, PrimaryContainer={"Image": "x"}, ExecutionRoleArn=ROLE)
    assert (
        "at 'modelName' failed to satisfy constraint: Member must have length less than or equal to 63"
        in (error["Message"])
    )


def test_model_name_may_not_end_with_a_hyphen(emulator: Emulator) -> None:
    """Model names follow their own pattern, which forbids a trailing hyphen."""
    sm = boto_client(emulator, "sagemaker")
    error = error_of(sm.create_model, ModelName="model-", PrimaryContainer={"Image": "x"}, ExecutionRoleArn=ROLE)
    assert "^[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?" in error["Message"]


def test_nested_enum_and_range_are_enforced_and_counted(emulator: Emulator) -> None:
    """Errors in nested members are named by their path and counted in the first sentence."""
    sm = boto_client(emulator, "sagemaker", parameter_validation=False)
    model(sm, "model-1")
    error = error_of(
        sm.create_endpoint_config,
        EndpointConfigName="config-1",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "model-1", "InstanceType": "ml.nope", "InitialVariantWeight": -1}
        ],
    )
    message = error["Message"]
    assert message.startswith("2 validation errors detected: ")
    assert "Value 'ml.nope' at 'productionVariants.1.member.instanceType' failed to satisfy constraint: " in message
    assert "Member must satisfy enum value set: [" in message
    assert "at 'productionVariants.1.member.initialVariantWeight'" in message
    assert "Member must have value greater than or equal to 0" in message


def test_required_member_is_enforced_server_side(emulator: Emulator) -> None:
    """A request missing a required member (sent without client-side validation) names the null member."""
    sm = boto_client(emulator, "sagemaker", parameter_validation=False)
    error = error_of(sm.update_endpoint, EndpointName="ep")
    assert error["Message"] == (
        "1 validation error detected: Value null at 'endpointConfigName' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_duplicate_names_are_refused(emulator: Emulator) -> None:
    """Creating an existing model, config or endpoint fails with "Cannot create already existing ..."."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    assert (
        error_of(sm.create_model, ModelName="model-1", PrimaryContainer={"Image": "x"}, ExecutionRoleArn=ROLE)[
            "Message"
        ]
        == f'Cannot create already existing model "{ARN}:model/model-1".'
    )
    with pytest.raises(ClientError, match=f'Cannot create already existing endpoint configuration "{ARN}'):
        config(sm, "config-1", "model-1")
    assert error_of(sm.create_endpoint, EndpointName="ep", EndpointConfigName="config-1")["Message"] == (
        f'Cannot create already existing endpoint "{ARN}:endpoint/ep".'
    )


def test_missing_references_are_refused(emulator: Emulator) -> None:
    """A config naming a missing model, or an endpoint naming a missing config, is refused."""
    sm = boto_client(emulator, "sagemaker")
    with pytest.raises(ClientError, match=f'Could not find model "{ARN}:model/ghost".'):
        config(sm, "config-1", "ghost")
    error = error_of(sm.create_endpoint, EndpointName="ep", EndpointConfigName="ghost")
    assert error["Message"] == f'Could not find endpoint configuration "{ARN}:endpoint-config/ghost".'
    assert error_of(sm.describe_model, ModelName="ghost")["Code"] == "ValidationException"
    assert error_of(sm.describe_endpoint, EndpointName="ghost")["Message"] == (
        f'Could not find endpoint "{ARN}:endpoint/ghost".'
    )


def test_update_while_updating_is_refused_with_exact_message(emulator: Emulator) -> None:
    """UpdateEndpoint on an endpoint that is not InService answers the in-progress message with the ARN."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    error = error_of(sm.update_endpoint, EndpointName="ep", EndpointConfigName="config-1")
    assert error == {
        "Code": "ValidationException",
        "Message": f'Cannot update in-progress endpoint "{ARN}:endpoint/ep".',
    }


def test_deleting_a_config_in_use_is_allowed(emulator: Emulator) -> None:
    """DeleteEndpointConfig succeeds while an endpoint serves it; the endpoint keeps describing it."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    sm.delete_endpoint_config(EndpointConfigName="config-1")
    described = sm.describe_endpoint(EndpointName="ep")
    assert described["EndpointConfigName"] == "config-1"
    assert described["EndpointStatus"] == "InService"
    assert error_of(sm.describe_endpoint_config, EndpointConfigName="config-1")["Code"] == "ValidationException"


def test_update_cannot_drop_async_inference_config(emulator: Emulator) -> None:
    """An async endpoint cannot be updated to a config without AsyncInferenceConfig."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm, asynchronous=False)
    error = error_of(sm.update_endpoint, EndpointName="ep", EndpointConfigName="config-2")
    assert "AsyncInferenceConfig cannot be removed" in error["Message"]
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "InService"


def test_instance_type_change_refused_while_autoscaling_registered(emulator: Emulator) -> None:
    """Changing a registered variant's instance type is refused; after deregistering it goes through."""
    sm = boto_client(emulator, "sagemaker")
    autoscaling = boto_client(emulator, "application-autoscaling")
    in_service_endpoint(sm)
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/ep/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    }
    autoscaling.register_scalable_target(**target, MinCapacity=0, MaxCapacity=2)
    second_config(sm, instance_type="ml.c5.xlarge")
    error = error_of(sm.update_endpoint, EndpointName="ep", EndpointConfigName="config-2")
    assert "Application Auto Scaling" in error["Message"]
    assert "[AllTraffic]" in error["Message"]
    autoscaling.deregister_scalable_target(**target)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    assert wait_for(sm, "ep", "InService")["EndpointConfigName"] == "config-2"


def test_model_only_change_allowed_while_autoscaling_registered(emulator: Emulator) -> None:
    """Changing only the model of a registered variant is allowed."""
    sm = boto_client(emulator, "sagemaker")
    autoscaling = boto_client(emulator, "application-autoscaling")
    in_service_endpoint(sm)
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="endpoint/ep/variant/AllTraffic",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=0,
        MaxCapacity=2,
    )
    second_config(sm)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    assert wait_for(sm, "ep", "InService")["EndpointConfigName"] == "config-2"


def test_unknown_operation_is_refused(emulator: Emulator) -> None:
    """An operation the emulator does not implement answers UnknownOperationException."""
    sm = boto_client(emulator, "sagemaker")
    assert error_of(sm.list_training_jobs)["Code"] == "UnknownOperationException"


def test_names_differing_in_case_collide(emulator: Emulator) -> None:
    """ARNs carry lower-cased names, so "Ep" and "ep" are the same endpoint."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm, name="Ep")
    described = sm.describe_endpoint(EndpointName="ep")
    assert described["EndpointName"] == "Ep"
    assert described["EndpointArn"] == f"{ARN}:endpoint/ep"
