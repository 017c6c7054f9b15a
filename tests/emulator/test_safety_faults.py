"""The faults behind the action's safety tests, observed through plain boto3: rejected credentials, a denied
action, someone else's update landing the moment ours settles, and updates that keep losing the race."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from sagemaker_emulator import Emulator
from tests.conftest import boto_client

from ._setup import config, in_service_endpoint, model, second_config, wait_for

ENDPOINT_ARN = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        ("UnrecognizedClientException", 400, "The security token included in the request is invalid."),
        (
            "InvalidClientTokenId",
            403,
            "The X.509 certificate or AWS access key ID provided does not exist in our records.",
        ),
    ],
)
def test_rejected_credentials_refuse_every_later_request(
    emulator: Emulator, code: str, status: int, message: str
) -> None:
    """reject_credentials(n, code): after n more requests every SageMaker call answers code, with AWS's status."""
    sm = boto_client(emulator, "sagemaker", retries={"total_max_attempts": 1, "mode": "standard"})
    emulator.faults.reject_credentials(after_requests=1, code=code)
    assert sm.list_endpoints()["Endpoints"] == []
    for _ in range(2):
        with pytest.raises(ClientError) as caught:
            sm.list_endpoints()
        assert caught.value.response["Error"] == {"Code": code, "Message": message}
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_a_denied_action_is_refused_and_changes_nothing(emulator: Emulator) -> None:
    """deny(operation): every such call answers AccessDeniedException naming the action and the resource."""
    sm = boto_client(emulator, "sagemaker")
    model(sm, "model-1")
    config(sm, "config-1", "model-1")
    emulator.faults.deny("DeleteEndpointConfig")
    for _ in range(2):
        with pytest.raises(ClientError) as caught:
            sm.delete_endpoint_config(EndpointConfigName="config-1")
        error = caught.value.response["Error"]
        assert error["Code"] == "AccessDeniedException"
        assert error["Message"] == (
            "User: arn:aws:sts::123456789012:assumed-role/deploy/github-actions is not authorized to perform: "
            "sagemaker:DeleteEndpointConfig on resource: "
            "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/config-1 because no identity-based policy "
            "allows the sagemaker:DeleteEndpointConfig action"
        )
    assert [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]] == ["config-1"]
    sm.delete_model(ModelName="model-1")  # other actions stay allowed
    emulator.faults.clear()
    sm.delete_endpoint_config(EndpointConfigName="config-1")


def test_someone_elses_update_lands_the_moment_ours_settles(emulator: Emulator) -> None:
    """update_when_settled: once our update settles the endpoint shows the other update, never InService on ours."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    model(sm, "model-3")
    config(sm, "config-3", "model-3")
    emulator.faults.update_when_settled("config-3", "ep")
    emulator.faults.hold_next_update("ep")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    seen = []
    while emulator.faults.step("ep"):
        described = sm.describe_endpoint(EndpointName="ep")
        seen.append((described["EndpointStatus"], described["EndpointConfigName"]))
    assert ("InService", "config-2") not in seen
    assert ("Updating", "config-2") in seen  # the other update starts from ours
    assert seen[-1] == ("InService", "config-3")
    done = sm.describe_endpoint(EndpointName="ep")
    assert done["EndpointConfigName"] == "config-3"
    assert "PendingDeploymentSummary" not in done


def test_lost_races_refuse_each_update_then_let_one_through(emulator: Emulator) -> None:
    """lose_update_races(n): n UpdateEndpoint calls find someone else's update in progress; the next one goes."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    emulator.faults.lose_update_races(2, seconds=1.0, endpoint_name="ep")  # outlasts the describe that follows
    for _ in range(2):
        with pytest.raises(ClientError) as caught:
            sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
        assert caught.value.response["Error"]["Message"] == f'Cannot update in-progress endpoint "{ENDPOINT_ARN}".'
        busy = sm.describe_endpoint(EndpointName="ep")
        assert busy["EndpointStatus"] == "Updating"
        assert busy["PendingDeploymentSummary"]["EndpointConfigName"] == "config-1"  # the same config again
        assert wait_for(sm, "ep", "InService")["EndpointConfigName"] == "config-1"
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    assert wait_for(sm, "ep", "InService")["EndpointConfigName"] == "config-2"
