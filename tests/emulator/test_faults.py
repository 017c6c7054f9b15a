"""Every fault the emulator can arm, observed through plain boto3."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError, WaiterError

from sagemaker_emulator import Emulator
from tests.conftest import boto_client

from ._setup import config, in_service_endpoint, model, second_config, wait_for, wait_rolling_back

NASTY = "capacity: ml.m5.large\n::set-output name=result::success\n%0Aend"


def test_rollback_returns_to_old_config_through_rolling_back(either_rollback_status: Emulator) -> None:
    """rollback_next_update: Updating -> rolling back (Updating, or RollingBack by the switch) -> InService on the
    old config, no FailureReason."""
    emulator = either_rollback_status
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    emulator.faults.rollback_next_update("ep")
    emulator.faults.hold_next_update("ep")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Updating"
    emulator.faults.release("ep")
    rolling = wait_rolling_back(sm, "ep", emulator.behaviour.status_during_update_rollback)
    assert rolling["EndpointConfigName"] == "config-1"
    done = wait_for(sm, "ep", "InService")
    assert done["EndpointConfigName"] == "config-1"
    assert done["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"].endswith(":v1")
    assert not done.get("FailureReason")
    assert "PendingDeploymentSummary" not in done


def test_rollback_fault_for_another_endpoint_does_not_fire(emulator: Emulator) -> None:
    """A fault armed for a named endpoint leaves updates of other endpoints alone."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    emulator.faults.rollback_next_update("someone-else")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    assert wait_for(sm, "ep", "InService")["EndpointConfigName"] == "config-2"


def test_failed_create_ends_failed_with_the_reason(emulator: Emulator) -> None:
    """fail_next_create: Creating -> Failed with exactly the FailureReason given."""
    sm = boto_client(emulator, "sagemaker")
    model(sm, "model-1")
    config(sm, "config-1", "model-1")
    emulator.faults.fail_next_create(NASTY)
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1")
    failed = wait_for(sm, "ep", "Failed")
    assert failed["FailureReason"] == NASTY
    with pytest.raises(WaiterError, match="Failed"):
        sm.get_waiter("endpoint_in_service").wait(EndpointName="ep", WaiterConfig={"Delay": 0.1})


def test_failed_update_by_default_keeps_old_fleet_in_service(emulator: Emulator) -> None:
    """fail_next_update (default): InService on the OLD config with the FailureReason set."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    emulator.faults.fail_next_update(NASTY)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    done = wait_for(sm, "ep", "InService")
    assert done["EndpointConfigName"] == "config-1"
    assert done["FailureReason"] == NASTY
    assert "PendingDeploymentSummary" not in done


def test_failed_update_can_end_failed(emulator: Emulator) -> None:
    """fail_next_update(end_status="Failed"): the endpoint ends Failed with the FailureReason."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    emulator.faults.fail_next_update("boom", end_status="Failed")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    failed = wait_for(sm, "ep", "Failed")
    assert failed["FailureReason"] == "boom"
    assert failed["EndpointConfigName"] == "config-1"


def test_update_rollback_failed(either_rollback_status: Emulator) -> None:
    """update_rollback_failed_next: Updating -> rolling back -> UpdateRollbackFailed with the reason."""
    emulator = either_rollback_status
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    emulator.faults.update_rollback_failed_next("rollback broke")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    wait_rolling_back(sm, "ep", emulator.behaviour.status_during_update_rollback)
    done = wait_for(sm, "ep", "UpdateRollbackFailed")
    assert done["FailureReason"] == "rollback broke"


def test_throttle_answers_throttling_exception(emulator: Emulator) -> None:
    """throttle(n): the next n SageMaker requests answer 400 ThrottlingException "Rate exceeded"."""
    sm = boto_client(emulator, "sagemaker", retries={"total_max_attempts": 1, "mode": "standard"})
    emulator.faults.throttle(2)
    for _ in range(2):
        with pytest.raises(ClientError) as caught:
            sm.list_endpoints()
        assert caught.value.response["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sm.list_endpoints()["Endpoints"] == []


def test_throttle_is_retried_by_standard_mode(emulator: Emulator) -> None:
    """boto3's standard retry mode gets through a short throttle on its own."""
    sm = boto_client(emulator, "sagemaker")
    emulator.faults.throttle(1)
    response = sm.list_endpoints()
    assert response["ResponseMetadata"]["RetryAttempts"] == 1


def test_expired_credentials_refuse_every_later_request(emulator: Emulator) -> None:
    """expire_credentials(n): after n more requests every SageMaker call answers ExpiredTokenException."""
    sm = boto_client(emulator, "sagemaker")
    emulator.faults.expire_credentials(after_requests=1)
    assert sm.list_endpoints()["Endpoints"] == []
    for _ in range(2):
        with pytest.raises(ClientError) as caught:
            sm.list_endpoints()
        assert caught.value.response["Error"]["Code"] == "ExpiredTokenException"


def test_busy_endpoint_rejects_updates_then_recovers_on_same_config(emulator: Emulator) -> None:
    """busy(): Updating for N seconds (same config afterwards); UpdateEndpoint meanwhile is refused."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    emulator.faults.busy("ep", 0.5)
    busy = sm.describe_endpoint(EndpointName="ep")
    assert busy["EndpointStatus"] == "Updating"
    with pytest.raises(ClientError) as caught:
        sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert caught.value.response["Error"]["Message"] == (
        'Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep".'
    )
    assert wait_for(sm, "ep", "InService")["EndpointConfigName"] == "config-1"


def test_held_busy_endpoint_stays_updating_until_released(emulator: Emulator) -> None:
    """busy(held=True): Updating from the start however long it is held, until step or release; then InService on
    the same config."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    emulator.faults.busy("ep", 0.01, held=True)
    time.sleep(0.05)  # five times the busy length: only the hold keeps it Updating
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Updating"
    assert emulator.faults.step("ep") is True
    described = sm.describe_endpoint(EndpointName="ep")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "config-1")
    assert emulator.faults.step("ep") is False
    emulator.faults.release("ep")


def test_system_update_is_maintenance_that_refuses_updates_and_deletes_then_ends_as_it_began(
    emulator: Emulator,
) -> None:
    """system_update(held=True): SystemUpdating with nothing pending, the same config and fleet; UpdateEndpoint and
    DeleteEndpoint are refused as in progress; released, InService on the same config."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    before = sm.describe_endpoint(EndpointName="ep")
    emulator.faults.system_update("ep", 0.01, held=True)
    time.sleep(0.05)  # five times its length: only the hold keeps it in maintenance
    during = sm.describe_endpoint(EndpointName="ep")
    assert during["EndpointStatus"] == "SystemUpdating"
    assert during["EndpointConfigName"] == "config-1"
    assert "PendingDeploymentSummary" not in during
    assert during["ProductionVariants"] == before["ProductionVariants"]
    refusal = 'Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep".'
    for call in (
        lambda: sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2"),
        lambda: sm.delete_endpoint(EndpointName="ep"),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"] == {"Code": "ValidationException", "Message": refusal}
    emulator.faults.release("ep")
    after = wait_for(sm, "ep", "InService")
    assert after["EndpointConfigName"] == "config-1"
    assert after["ProductionVariants"] == before["ProductionVariants"]


def test_system_update_from_the_control_api(emulator: Emulator) -> None:
    """The fault is armed by name through the control API like every other one, and only on an InService
    endpoint."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    payload = {"fault": "system_update", "endpoint_name": "ep", "seconds": 0.2}
    request = urllib.request.Request(f"{emulator.url}/_emulator/faults", data=json.dumps(payload).encode())
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read()) == {"ok": True}
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "SystemUpdating"
    with pytest.raises(ValueError, match="is SystemUpdating, not InService"):
        emulator.faults.system_update("ep", 1)
    assert wait_for(sm, "ep", "InService")["EndpointConfigName"] == "config-1"


def test_scale_to_zero_then_update_brings_config_count(emulator: Emulator) -> None:
    """scale_to_zero: 0 instances, no DeployedImages; an update takes the new config's count back."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm, count=2)
    emulator.faults.scale_to_zero("ep")
    variant = sm.describe_endpoint(EndpointName="ep")["ProductionVariants"][0]
    assert variant["CurrentInstanceCount"] == 0
    assert variant["DeployedImages"] == []
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    variant = wait_for(sm, "ep", "InService")["ProductionVariants"][0]
    assert variant["CurrentInstanceCount"] == 2
    assert variant["DeployedImages"][0]["SpecifiedImage"].endswith(":v2")


def test_scale_to_zero_with_retained_properties_stays_at_zero(emulator: Emulator) -> None:
    """At zero instances, RetainAllVariantProperties keeps the count at 0 and DeployedImages empty."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm, count=2)
    emulator.faults.scale_to_zero("ep")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2", RetainAllVariantProperties=True)
    described = wait_for(sm, "ep", "InService")
    assert described["EndpointConfigName"] == "config-2"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 0
    assert described["ProductionVariants"][0]["DeployedImages"] == []


def test_busy_on_a_missing_endpoint_is_a_programming_error(emulator: Emulator) -> None:
    """Arming busy() for an endpoint that does not exist raises at once rather than silently doing nothing."""
    with pytest.raises(KeyError):
        emulator.faults.busy("nope", 1)
