"""Suspending a variant's autoscaling for an instance-type change, when Application Auto Scaling fails to answer:
the error names the service that answered and says what was changed — in process, against the emulator."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sagemaker_async_deploy import aws
from sagemaker_async_deploy.autoscaling import RECORD_PREFIX, Autoscaling, _suspend_error
from sagemaker_async_deploy.errors import DeployError
from sagemaker_async_deploy.log import Log
from sagemaker_async_deploy.outcome import RolloutOutcome
from sagemaker_emulator import Emulator

from .action_runner import ROLE, digest_image
from .conftest import REGION, boto_client
from .emulator._setup import wait_for
from .seed import seed_handmade_config, seed_step_policy

ROOT = Path(__file__).resolve().parents[1]
RESOURCE = "endpoint/whisper/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=10)


def _autoscaled(emulator: Emulator) -> tuple[str, Any, Any]:
    """An InService endpoint, made by hand (these tests call the Autoscaling class, not the action), whose variant
    is a scalable target with a step policy; its ARN, the Application Auto Scaling and SageMaker clients."""
    sm = boto_client(emulator, "sagemaker")
    seed_handmade_config(sm, "whisper-1", digest_image(1), ROLE, "s3://inference-bucket/whisper/out/")
    arn = str(sm.create_endpoint(EndpointName="whisper", EndpointConfigName="whisper-1")["EndpointArn"])
    wait_for(sm, "whisper", "InService")
    autoscaling = boto_client(emulator, "application-autoscaling")
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=RESOURCE, ScalableDimension=DIMENSION, MinCapacity=0, MaxCapacity=4
    )
    seed_step_policy(autoscaling, "step")
    return arn, autoscaling, sm


def _suspend(arn: str) -> tuple[DeployError, RolloutOutcome]:
    outcome = RolloutOutcome(result="failed")
    scaling = Autoscaling(aws.Clients(REGION, ONE_ATTEMPT), Log(io.StringIO()), outcome)
    with pytest.raises(DeployError) as failed:
        scaling.suspend(arn, "whisper", "AllTraffic")
    return failed.value, outcome


def _state(autoscaling: Any, sm: Any, arn: str) -> tuple[list[str], list[str], list[str]]:
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RESOURCE])
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=RESOURCE)
    record = [t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"] if t["Key"].startswith(RECORD_PREFIX)]
    return (
        [t["ResourceId"] for t in targets["ScalableTargets"]],
        [p["PolicyName"] for p in policies["ScalingPolicies"]],
        record,
    )


def test_a_server_error_while_reading_changes_nothing_and_names_the_service(emulator: Emulator, aws_env: Any) -> None:
    """A 5xx from DescribeScalingPolicies: the error names Application Auto Scaling, says nothing was changed,
    and nothing was."""
    arn, autoscaling, sm = _autoscaled(emulator)
    emulator.faults.server_error("DescribeScalingPolicies")
    error, outcome = _suspend(arn)
    assert str(error).startswith(
        "Application Auto Scaling answered DescribeScalingPolicies with InternalServiceException: The service "
        "encountered an internal error., while the action suspended autoscaling for the instance-type change. The "
        f"endpoint was not updated. Nothing was changed: the autoscaling of {RESOURCE} was being read. Application "
        "Auto Scaling failed to answer (a server error, after retries); run again."
    )
    assert "SageMaker" not in str(error) and "unknown" not in str(error)
    assert _state(autoscaling, sm, arn) == ([RESOURCE], ["step"], [])
    assert outcome.writes == []


def test_a_server_error_on_deregistering_removes_the_record_and_says_nothing_changed(
    emulator: Emulator, aws_env: Any
) -> None:
    """A 5xx from DeregisterScalableTarget that did nothing: the target still autoscales, the record written
    before is removed, and the error says so."""
    arn, autoscaling, sm = _autoscaled(emulator)
    emulator.faults.server_error("DeregisterScalableTarget")
    error, _ = _suspend(arn)
    assert str(error).startswith(
        "Application Auto Scaling answered DeregisterScalableTarget with InternalServiceException"
    )
    assert f"Nothing was changed: {RESOURCE} still autoscales, and the record of its settings was removed." in str(
        error
    )
    assert _state(autoscaling, sm, arn) == ([RESOURCE], ["step"], [])


def test_a_server_error_after_deregistering_puts_the_target_back_and_says_so(emulator: Emulator, aws_env: Any) -> None:
    """A 5xx from a DeregisterScalableTarget that acted all the same (its policy deleted with it): the target and
    its policy are put back, the record removed, and the error says what was deregistered and put back."""
    arn, autoscaling, sm = _autoscaled(emulator)
    emulator.faults.server_error("DeregisterScalableTarget", after_acting=True)
    error, outcome = _suspend(arn)
    assert f"The target {RESOURCE} was deregistered all the same and has been put back as it was." in str(error)
    assert _state(autoscaling, sm, arn) == ([RESOURCE], ["step"], [])
    assert any("restored" in note for note in outcome.autoscaling), outcome.autoscaling


def test_an_unknown_member_is_found_in_a_cbor_answer_too() -> None:
    """CloudWatch answers botocore 1.44 in CBOR (smithy-rpc-v2-cbor): an alarm's member the model does not know
    is found in that answer as in a JSON one, and marks that alarm only."""
    from types import SimpleNamespace

    import botocore.session

    from sagemaker_async_deploy.aws import _note_unknown_item_members, item_unknown_members

    def text(value: str) -> bytes:
        return bytes([0x60 + len(value)]) + value.encode()

    # {"MetricAlarms": [{"AlarmName": "a", "FutureSetting": 1}, {"AlarmName": "b"}]}
    cbor = (
        b"\xa1" + text("MetricAlarms") + b"\x82"
        + b"\xa2" + text("AlarmName") + text("a") + text("FutureSetting") + b"\x01"
        + b"\xa1" + text("AlarmName") + text("b")
    )  # fmt: skip
    model = botocore.session.get_session().get_service_model("cloudwatch").operation_model("DescribeAlarms")
    parsed: dict[str, Any] = {"MetricAlarms": [{"AlarmName": "a"}, {"AlarmName": "b"}]}
    _note_unknown_item_members(SimpleNamespace(status_code=200, content=cbor), parsed, model, items="MetricAlarms")
    assert [item_unknown_members(a) for a in parsed["MetricAlarms"]] == [("FutureSetting",), ()]


def test_a_refused_call_while_suspending_names_the_statement_that_grants_it(emulator: Emulator, aws_env: Any) -> None:
    """For each Application Auto Scaling and CloudWatch call a suspension makes, an AccessDenied names a statement
    that exists in the policy file it names and grants exactly that action, so the advice can be followed."""
    arn, _, _ = _autoscaled(emulator)
    emulator.clear_requests()
    scaling = Autoscaling(aws.Clients(REGION, ONE_ATTEMPT), Log(io.StringIO()), RolloutOutcome(result="failed"))
    assert scaling.suspend(arn, "whisper", "AllTraffic") is not None
    # The IAM prefix of each service, by the name the emulator records it under (its SigV4 signing name).
    prefix = {
        "application-autoscaling": "application-autoscaling",
        "monitoring": "cloudwatch",
        "cloudwatch": "cloudwatch",
    }
    calls = sorted({f"{prefix[r.service]}:{r.operation}" for r in emulator.requests if r.service in prefix})
    assert {"cloudwatch:DescribeAlarms", "application-autoscaling:DeregisterScalableTarget"} <= set(calls)
    for call in calls:
        operation = call.split(":")[1]
        denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, operation)
        message = str(_suspend_error(denied, "Nothing was changed."))
        advice = re.search(r"Grant the role (\S+) \(statement (\w+) of the action's (docs/[\w.-]+)\)\.$", message)
        assert advice is not None, message
        assert advice[1] == call, message
        statements = json.loads((ROOT / advice[3]).read_text())["Statement"]
        assert call in next(s["Action"] for s in statements if s["Sid"] == advice[2]), message
