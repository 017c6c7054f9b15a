"""SageMaker Runtime's InvokeEndpointAsync in the emulator, through plain boto3: the answer lands in S3 later, from
the fleet that takes the traffic at the moment of the request."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_emulator import Emulator
from tests.conftest import boto_client

from ._setup import IMAGE_V1, IMAGE_V2, ROLE, in_service_endpoint, second_config, wait_for


def _object(s3: Any, uri: str, timeout: float = 5.0) -> bytes | None:
    """The object at ``uri`` once it exists, None if it never does within ``timeout``."""
    bucket, _, key = uri[len("s3://") :].partition("/")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError:
            time.sleep(0.05)
    return None


@pytest.fixture
def clients(emulator: Emulator) -> tuple[Any, Any, Any]:
    s3 = boto_client(emulator, "s3")
    s3.create_bucket(Bucket="bucket")
    return boto_client(emulator, "sagemaker"), boto_client(emulator, "sagemaker-runtime"), s3


def test_inline_request_answers_in_the_output_path(clients: tuple[Any, Any, Any]) -> None:
    """An inline Body is queued: the call names the output object, which the serving model writes a moment later."""
    sm, runtime, s3 = clients
    in_service_endpoint(sm)
    answer = runtime.invoke_endpoint_async(EndpointName="ep", Body=b'{"x": 1}', ContentType="application/json")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert answer["OutputLocation"].startswith("s3://bucket/out/")
    assert answer["InferenceId"] in answer["OutputLocation"]
    assert "FailureLocation" not in answer  # the config has no S3FailurePath
    body = _object(s3, answer["OutputLocation"])
    assert body is not None
    assert json.loads(body)["image"] == IMAGE_V1


def test_input_location_is_taken_instead_of_a_body(clients: tuple[Any, Any, Any]) -> None:
    """An InputLocation alone is a request too; neither a body nor a location is refused."""
    sm, runtime, s3 = clients
    in_service_endpoint(sm)
    answer = runtime.invoke_endpoint_async(EndpointName="ep", InputLocation="s3://bucket/requests/1.json")
    assert _object(s3, answer["OutputLocation"]) is not None
    with pytest.raises(ClientError) as refused:
        runtime.invoke_endpoint_async(EndpointName="ep")
    assert refused.value.response["Error"]["Code"] == "ValidationError"


def test_missing_endpoint_is_refused_in_the_runtimes_words(clients: tuple[Any, Any, Any]) -> None:
    """An endpoint that does not exist answers ValidationError "Endpoint <name> of account <id> not found."."""
    _, runtime, _ = clients
    with pytest.raises(ClientError) as refused:
        runtime.invoke_endpoint_async(EndpointName="nope", Body=b"{}")
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["Error"]["Message"] == "Endpoint nope of account 123456789012 not found."


def test_failure_answer_lands_in_the_failure_path(emulator: Emulator, clients: tuple[Any, Any, Any]) -> None:
    """async_answers("failure") makes the model of that image write its failure text to S3FailurePath, no output."""
    sm, runtime, s3 = clients
    emulator.faults.async_answers("failure", image=IMAGE_V1, body="ModelError: boom")
    sm.create_model(ModelName="model-1", PrimaryContainer={"Image": IMAGE_V1}, ExecutionRoleArn=ROLE)
    sm.create_endpoint_config(
        EndpointConfigName="config-1",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "model-1",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://bucket/out", "S3FailurePath": "s3://bucket/bad/"}},
    )
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1")
    wait_for(sm, "ep", "InService")
    answer = runtime.invoke_endpoint_async(EndpointName="ep", Body=b"{}")
    assert answer["FailureLocation"].startswith("s3://bucket/bad/")
    assert _object(s3, answer["FailureLocation"]) == b"ModelError: boom"
    assert _object(s3, answer["OutputLocation"], timeout=0.5) is None


def test_never_answering_model_writes_nothing(emulator: Emulator, clients: tuple[Any, Any, Any]) -> None:
    """async_answers("never") leaves both locations empty."""
    sm, runtime, s3 = clients
    emulator.faults.async_answers("never")
    in_service_endpoint(sm)
    answer = runtime.invoke_endpoint_async(EndpointName="ep", Body=b"{}")
    assert _object(s3, answer["OutputLocation"], timeout=1.0) is None


def test_the_old_fleet_answers_until_the_new_one_takes_all_the_traffic(
    emulator: Emulator, clients: tuple[Any, Any, Any]
) -> None:
    """During a blue/green update the old model answers while the new fleet launches; the new one once it takes
    all the traffic, and after the update."""
    sm, runtime, s3 = clients
    in_service_endpoint(sm)
    second_config(sm)
    emulator.faults.hold_next_update("ep")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")

    def image_answering() -> str:
        answer = runtime.invoke_endpoint_async(EndpointName="ep", Body=b"{}")
        body = _object(s3, answer["OutputLocation"])
        assert body is not None
        return str(json.loads(body)["image"])

    assert image_answering() == IMAGE_V1  # launching: the new fleet takes no traffic yet
    while emulator.faults.step("ep"):
        pending = sm.describe_endpoint(EndpointName="ep").get("PendingDeploymentSummary")
        if pending and pending["ProductionVariants"][0]["VariantStatus"][-1]["Status"] == "ActivatingTraffic":
            break
    assert image_answering() == IMAGE_V2
    emulator.faults.release("ep")
    wait_for(sm, "ep", "InService")
    assert image_answering() == IMAGE_V2
