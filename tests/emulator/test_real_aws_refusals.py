"""What real AWS does that a naive client does not expect: lagging reads, quotas, read-after-create, a deleted
serving config, failed endpoints, deletes while busy."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_emulator import Behaviour, Emulator
from tests.conftest import FAST_TIMINGS, boto_client

from ._setup import config, in_service_endpoint, model, second_config, wait_for

ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def error_of(call: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    error: dict[str, str] = caught.value.response["Error"]
    return error


def without_metadata(described: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in described.items() if k != "ResponseMetadata"}


def test_lagging_reads_show_the_endpoint_as_it_was_before_the_update(emulator: Emulator) -> None:
    """lag_reads: for the given seconds after UpdateEndpoint, DescribeEndpoint answers the pre-update description
    (InService, old config, old LastModifiedTime); then the update shows."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    before = without_metadata(sm.describe_endpoint(EndpointName="ep"))
    emulator.faults.lag_reads(2.0, "ep")  # long enough that the read right after falls inside it, loaded or not
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    assert without_metadata(sm.describe_endpoint(EndpointName="ep")) == before
    time.sleep(2.05)
    after = sm.describe_endpoint(EndpointName="ep")
    assert (
        after["EndpointConfigName"] == "config-2"
        or after["PendingDeploymentSummary"]["EndpointConfigName"] == "config-2"
    )
    assert after["LastModifiedTime"] > before["LastModifiedTime"]


def test_lagging_reads_after_create_do_not_find_the_endpoint(emulator: Emulator) -> None:
    """lag_reads before CreateEndpoint: the new endpoint is "not found" for a moment, then Creating."""
    sm = boto_client(emulator, "sagemaker")
    model(sm, "model-1")
    config(sm, "config-1", "model-1")
    # A lag long enough that the read right after the create falls inside it on a loaded machine too.
    emulator.faults.lag_reads(2.0)
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1")
    assert (
        error_of(sm.describe_endpoint, EndpointName="ep")["Message"] == f'Could not find endpoint "{ARN}:endpoint/ep".'
    )
    time.sleep(2.05)
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] in ("Creating", "InService")


def test_quota_refuses_the_update_with_aws_wording(emulator: Emulator) -> None:
    """quota_next_update: ResourceLimitExceeded naming the instance type, the usage, and the second fleet's size;
    nothing changes, and the next update goes through."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm, count=2, instance_type="ml.g5.xlarge")
    second_config(sm, count=2, instance_type="ml.g5.xlarge")
    emulator.faults.quota_next_update(endpoint_name="ep")
    error = error_of(
        sm.update_endpoint, EndpointName="ep", EndpointConfigName="config-2", RetainAllVariantProperties=True
    )
    assert error == {
        "Code": "ResourceLimitExceeded",
        "Message": "The account-level service limit 'ml.g5.xlarge for endpoint usage' is 2 Instances, with current "
        "utilization of 2 Instances and a request delta of 2 Instances. Please use AWS Service Quotas to request an "
        "increase for this quota. If AWS Service Quotas is not available, contact AWS support to request an increase "
        "for this quota.",
    }
    described = sm.describe_endpoint(EndpointName="ep")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "config-1")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    assert wait_for(sm, "ep", "InService")["EndpointConfigName"] == "config-2"


def test_quota_on_a_rolling_update_asks_for_one_batch(emulator: Emulator) -> None:
    """A rolling update needs one batch more, not a second fleet: the request delta is the batch."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm, count=4, instance_type="ml.g5.xlarge")
    second_config(sm, count=4, instance_type="ml.g5.xlarge")
    emulator.faults.quota_next_update()
    rolling = {
        "RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1}, "WaitIntervalInSeconds": 60}
    }
    message = error_of(sm.update_endpoint, EndpointName="ep", EndpointConfigName="config-2", DeploymentConfig=rolling)[
        "Message"
    ]
    assert "is 4 Instances, with current utilization of 4 Instances and a request delta of 1 Instances." in message


def test_quota_on_create_and_with_a_message_of_ones_own(emulator: Emulator) -> None:
    """quota_next_create: CreateEndpoint refused, nothing created; a given message is answered as it is."""
    sm = boto_client(emulator, "sagemaker")
    model(sm, "model-1")
    config(sm, "config-1", "model-1", instance_type="ml.g5.xlarge")
    emulator.faults.quota_next_create()
    message = error_of(sm.create_endpoint, EndpointName="ep", EndpointConfigName="config-1")["Message"]
    assert message.startswith("The account-level service limit 'ml.g5.xlarge for endpoint usage' is 0 Instances, with ")
    assert "request delta of 1 Instances." in message
    assert sm.list_endpoints()["Endpoints"] == []
    emulator.faults.quota_next_create("no capacity, sorry")
    assert error_of(sm.create_endpoint, EndpointName="ep", EndpointConfigName="config-1") == {
        "Code": "ResourceLimitExceeded",
        "Message": "no capacity, sorry",
    }


def test_created_resources_can_be_invisible_for_a_few_requests(emulator: Emulator) -> None:
    """invisible_after_create(2): a new model is "not found" by the next two requests naming it, then found; so is a
    new config; resources made before arming are not affected."""
    sm = boto_client(emulator, "sagemaker")
    model(sm, "old")
    emulator.faults.invisible_after_create(2)
    model(sm, "model-1")
    sm.describe_model(ModelName="old")
    for _ in range(2):
        assert (
            error_of(sm.describe_model, ModelName="model-1")["Message"]
            == f'Could not find model "{ARN}:model/model-1".'
        )
    sm.describe_model(ModelName="model-1")
    config(sm, "config-1", "model-1")
    assert error_of(sm.create_endpoint, EndpointName="ep", EndpointConfigName="config-1")["Message"] == (
        f'Could not find endpoint configuration "{ARN}:endpoint-config/config-1".'
    )
    assert error_of(sm.describe_endpoint_config, EndpointConfigName="config-1")["Code"] == "ValidationException"
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1")


def test_invisibility_for_one_endpoint_only_hides_from_its_create_and_update(emulator: Emulator) -> None:
    """invisible_after_create(1, endpoint_name): Describe* see the config; the endpoint's CreateEndpoint does not,
    once."""
    sm = boto_client(emulator, "sagemaker")
    emulator.faults.invisible_after_create(1, endpoint_name="ep")
    model(sm, "model-1")
    config(sm, "config-1", "model-1")
    sm.describe_endpoint_config(EndpointConfigName="config-1")
    sm.describe_model(ModelName="model-1")
    assert (
        "Could not find endpoint configuration"
        in error_of(sm.create_endpoint, EndpointName="ep", EndpointConfigName="config-1")["Message"]
    )
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1")


def test_update_is_refused_when_the_serving_config_was_deleted(emulator: Emulator) -> None:
    """Deleting the serving config (Terraform's create_before_destroy) makes every later UpdateEndpoint fail with
    the OLD config's ARN (terraform-provider-aws #40048, #48997)."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    sm.delete_endpoint_config(EndpointConfigName="config-1")
    assert error_of(sm.update_endpoint, EndpointName="ep", EndpointConfigName="config-2") == {
        "Code": "ValidationException",
        "Message": f'Could not find endpoint configuration "{ARN}:endpoint-config/config-1".',
    }
    described = sm.describe_endpoint(EndpointName="ep")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "config-1")


def test_a_config_recreated_under_the_old_name_heals_by_default(emulator: Emulator) -> None:
    """Behaviour recreated_config_accepted (default True): a config of the deleted one's name lets updates through."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    sm.delete_endpoint_config(EndpointConfigName="config-1")
    config(sm, "config-1", "model-1")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    assert wait_for(sm, "ep", "InService")["EndpointConfigName"] == "config-2"


def test_a_recreated_config_can_be_refused(emulator: Emulator) -> None:
    """recreated_config_accepted=False: the recreated config does not count; the update is refused as before."""
    emulator.stop()
    with Emulator(timings=FAST_TIMINGS, behaviour=Behaviour(recreated_config_accepted=False)) as emu:
        sm = boto_client(emu, "sagemaker")
        in_service_endpoint(sm)
        second_config(sm)
        sm.delete_endpoint_config(EndpointConfigName="config-1")
        config(sm, "config-1", "model-1")
        message = error_of(sm.update_endpoint, EndpointName="ep", EndpointConfigName="config-2")["Message"]
        assert message == f'Could not find endpoint configuration "{ARN}:endpoint-config/config-1".'


def test_a_failed_update_can_leave_a_failed_endpoint_that_lists_its_variants(emulator: Emulator) -> None:
    """fail_next_update(end_status="Failed"): Failed with the old fleet still listed; UpdateEndpoint is refused
    ("DeleteEndpoint is the only operation that can be performed on a failed endpoint"); DeleteEndpoint works."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm, count=2)
    second_config(sm)
    emulator.faults.fail_next_update("InternalFailure", end_status="Failed")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    failed = wait_for(sm, "ep", "Failed")
    assert failed["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert error_of(sm.update_endpoint, EndpointName="ep", EndpointConfigName="config-2")["Message"] == (
        f'Cannot update failed endpoint "{ARN}:endpoint/ep".'
    )
    emulator.faults.hold_next_delete("ep")
    sm.delete_endpoint(EndpointName="ep")
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Deleting"
    emulator.faults.release("ep")


def test_a_failed_create_lists_no_variants(emulator: Emulator) -> None:
    """An endpoint whose creation failed serves nothing: no ProductionVariants, no PendingDeploymentSummary."""
    sm = boto_client(emulator, "sagemaker")
    model(sm, "model-1")
    config(sm, "config-1", "model-1")
    emulator.faults.fail_next_create("CannotStartContainerError")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1")
    failed = wait_for(sm, "ep", "Failed")
    assert "ProductionVariants" not in failed and "PendingDeploymentSummary" not in failed


def test_delete_while_in_progress_is_refused_by_default(emulator: Emulator) -> None:
    """DeleteEndpoint during Creating answers "Cannot update in-progress endpoint"; once InService it deletes."""
    sm = boto_client(emulator, "sagemaker")
    model(sm, "model-1")
    config(sm, "config-1", "model-1")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1")
    assert (
        error_of(sm.delete_endpoint, EndpointName="ep")["Message"]
        == f'Cannot update in-progress endpoint "{ARN}:endpoint/ep".'
    )
    wait_for(sm, "ep", "InService")
    sm.delete_endpoint(EndpointName="ep")


def test_delete_while_in_progress_can_be_allowed(emulator: Emulator) -> None:
    """delete_in_progress="allow": DeleteEndpoint during an update goes Deleting at once."""
    emulator.stop()
    with Emulator(timings=FAST_TIMINGS, behaviour=Behaviour(delete_in_progress="allow")) as emu:
        sm = boto_client(emu, "sagemaker")
        in_service_endpoint(sm)
        second_config(sm)
        emu.faults.hold_next_update("ep")  # still Updating when the delete arrives, however slow the machine
        emu.faults.hold_next_delete("ep")
        sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
        sm.delete_endpoint(EndpointName="ep")
        described = sm.describe_endpoint(EndpointName="ep")
        assert described["EndpointStatus"] == "Deleting" and "PendingDeploymentSummary" not in described
        emu.faults.release("ep")


def test_retained_count_is_the_desired_one(emulator: Emulator) -> None:
    """RetainAllVariantProperties keeps DesiredInstanceCount: after a rolling rollback failed with three instances
    running of two desired, the next update brings up two."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm, count=2)
    second_config(sm, count=2)
    emulator.faults.update_rollback_failed_next("stuck")
    rolling = {
        "RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1}, "WaitIntervalInSeconds": 0}
    }
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2", DeploymentConfig=rolling)
    mixed = wait_for(sm, "ep", "UpdateRollbackFailed")["ProductionVariants"][0]
    assert (mixed["CurrentInstanceCount"], mixed["DesiredInstanceCount"]) == (3, 2)
    model(sm, "model-3")
    config(sm, "config-3", "model-3", count=5)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-3", RetainAllVariantProperties=True)
    variant = wait_for(sm, "ep", "InService")["ProductionVariants"][0]
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (2, 2)
