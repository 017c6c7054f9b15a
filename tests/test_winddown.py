"""The last seconds of a cancelled job, in process against the emulator: what the outcome says the run had done
and what SageMaker is doing now, each in its exact words, and when the autoscaling record is looked at.

Each test's endpoint is held by the emulator in the state that matters (Creating, Updating) for as long as the
test looks at it."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from sagemaker_async_deploy import aws, cancel
from sagemaker_async_deploy.autoscaling import SavedScaling, encode_record
from sagemaker_async_deploy.log import Log
from sagemaker_async_deploy.outcome import RolloutOutcome
from sagemaker_async_deploy.winddown import RESTORE_NEEDS, wind_down
from sagemaker_emulator import Emulator

from .conftest import module_clients, started_emulator
from .factories import ROLE, action_config, image
from .seed import seed_model_and_two_configs

RESOURCE = "endpoint/{name}/variant/AllTraffic"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """An emulator with a model and two configs any endpoint of the module can serve."""
    with started_emulator(environ=True) as started:
        seed_model_and_two_configs(module_clients().sagemaker, image(1), ROLE)
        yield started


@pytest.fixture(autouse=True)
def signalled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A SIGINT seen (wound_down sets when); the module's state put back after the test."""
    monkeypatch.setattr(cancel._State, "signal_name", "SIGINT")
    monkeypatch.setattr(cancel._State, "at", time.time())
    yield


def in_service(emu: Emulator, name: str, config: str = "c1") -> str:
    """An InService endpoint ``name`` on ``config`` (made unless it exists); its ARN."""
    sm = module_clients().sagemaker
    existing = aws.describe_endpoint(sm, name)
    if existing is not None:
        return str(existing["EndpointArn"])
    arn = str(sm.create_endpoint(EndpointName=name, EndpointConfigName=config)["EndpointArn"])
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 400})
    return arn


def recorded(arn: str, name: str) -> None:
    """The endpoint carries the autoscaling record an interrupted run leaves."""
    resource = RESOURCE.format(name=name)
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource,
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "MinCapacity": 0,
        "MaxCapacity": 4,
    }
    saved = SavedScaling(resource, target, {}, (), {})
    tags = [{"Key": k, "Value": v} for k, v in encode_record(saved).items()]
    module_clients().sagemaker.add_tags(ResourceArn=arn, Tags=tags)  # type: ignore[arg-type]


def wound_down(
    emu: Emulator, name: str, writes: list[str], mode: str = "apply", left: float = cancel.BUDGET_SECONDS
) -> tuple[RolloutOutcome, str, list[str]]:
    """wind_down of a run on ``name`` that had made ``writes``, the signal come so long ago that ``left`` seconds
    of the budget remain; the outcome, the log and the calls it made."""
    outcome = RolloutOutcome(result="updated", writes=list(writes))
    stream = io.StringIO()
    emu.clear_requests()
    cancel._State.at = time.time() - (cancel.BUDGET_SECONDS - left)
    wind_down(action_config(endpoint_name=name, mode=mode), module_clients(), Log(stream), outcome)
    return outcome, stream.getvalue(), [r.operation for r in emu.requests]


def test_a_run_cancelled_before_any_write_says_so_and_is_failed(emu: Emulator) -> None:
    """Nothing written, the endpoint settled: failed and cancelled, the signal named, nothing in progress."""
    in_service(emu, "quiet")
    outcome, log, calls = wound_down(emu, "quiet", [])
    assert (outcome.result, outcome.cancelled) == ("failed", True)
    assert outcome.message == (
        "The job was cancelled (SIGINT) before it changed anything. The endpoint is InService on c1; nothing is in "
        "progress, and nothing was deleted."
    )
    assert log.splitlines()[0] == (
        "::warning title=SageMaker endpoint quiet::Cancelled (SIGINT): stopping. Nothing is deleted after the signal."
    )
    assert calls == ["DescribeEndpoint", "ListTags"]  # the record looked for, none found
    assert outcome.autoscaling == []


def test_a_run_cancelled_after_creating_resources_before_the_update_says_so(emu: Emulator) -> None:
    """A model and a config made, no update started: "before starting it"."""
    in_service(emu, "prepared")
    outcome, _, _ = wound_down(emu, "prepared", ["model m2", "endpoint config c2"])
    assert outcome.message.startswith(
        "The job was cancelled (SIGINT) after it created resources for a rollout, before starting it. "
    )


def test_a_cancelled_create_is_a_rollout_under_way(emu: Emulator) -> None:
    """A create started (held Creating) is a rollout under way, not "before starting it": SageMaker goes on with
    it and the next run adopts it."""
    emu.faults.hold_next_create("born")
    module_clients().sagemaker.create_endpoint(EndpointName="born", EndpointConfigName="c1")
    try:
        outcome, _, _ = wound_down(emu, "born", ["model m", "endpoint config c1", "endpoint born"])
    finally:
        emu.faults.release("born")
    assert outcome.message.startswith(
        "The job was cancelled (SIGINT) while the rollout it started was under way. The endpoint is still Creating "
    )
    assert outcome.message.endswith(
        " in SageMaker, which goes on without this job. The next run of this endpoint waits for it to settle and "
        "adopts it (verdict, cleanup); nothing was deleted."
    )


def test_a_cancelled_update_names_the_configs_it_moves_between(emu: Emulator) -> None:
    """An update started (held Updating): the story names the serving and the pending config."""
    in_service(emu, "moving")
    emu.faults.hold_next_update("moving")
    module_clients().sagemaker.update_endpoint(EndpointName="moving", EndpointConfigName="c2")
    try:
        outcome, _, _ = wound_down(emu, "moving", ["model m", "update of endpoint moving"])
    finally:
        emu.faults.release("moving")
    assert outcome.message == (
        "The job was cancelled (SIGINT) while the rollout it started was under way. The endpoint is still Updating "
        "from c1 to c2 in SageMaker, which goes on without this job. The next run of this endpoint waits for it to "
        "settle and adopts it (verdict, cleanup); nothing was deleted."
    )


def test_an_endpoint_that_is_gone_is_said_gone_and_nothing_more_is_read(emu: Emulator) -> None:
    """No endpoint of that name: said so, and no autoscaling record is looked for."""
    outcome, _, calls = wound_down(emu, "never", [])
    assert (
        outcome.message
        == "The job was cancelled (SIGINT) before it changed anything. Endpoint never does not exist now."
    )
    assert calls == ["DescribeEndpoint"]


def test_an_endpoint_that_cannot_be_read_leaves_sagemaker_to_the_next_run(emu: Emulator) -> None:
    """DescribeEndpoint refused: a warning with AWS's words, and a story that promises nothing about the
    endpoint."""
    emu.faults.deny("DescribeEndpoint")
    try:
        outcome, log, calls = wound_down(emu, "quiet", ["endpoint quiet"])
    finally:
        emu.faults.clear()
    assert outcome.message == (
        "The job was cancelled (SIGINT) while the rollout it started was under way. The endpoint could not be read "
        "after the cancel; whatever SageMaker is doing goes on. The next run of this endpoint waits for any update "
        "in progress and adopts it."
    )
    assert "::warning::Could not read endpoint quiet after the cancel: " in log
    assert "AccessDeniedException" in log
    assert calls == ["DescribeEndpoint"]


def test_a_record_on_a_settled_endpoint_is_only_announced_in_plan_mode(emu: Emulator) -> None:
    """Plan mode never writes, even in its last seconds: the record is announced for the next apply run."""
    arn = in_service(emu, "planned")
    recorded(arn, "planned")
    outcome, _, calls = wound_down(emu, "planned", [], mode="plan")
    assert outcome.autoscaling == [
        "An earlier run was interrupted after deregistering endpoint/planned/variant/AllTraffic (0–4 instances, 0 "
        "scaling policies, 0 scheduled actions, 0 alarms naming a policy); the next apply run restores it."
    ]
    assert "RegisterScalableTarget" not in calls


def test_a_record_on_a_settled_endpoint_is_restored_in_apply_mode(emu: Emulator) -> None:
    """An apply run puts recorded autoscaling back in its last seconds when the endpoint no longer changes (the
    mode read from the inputs, compared by value)."""
    arn = in_service(emu, "restored")
    recorded(arn, "restored")
    outcome, _, calls = wound_down(emu, "restored", [], mode="".join(["ap", "ply"]))
    assert "RegisterScalableTarget" in calls
    assert outcome.autoscaling == [
        "An earlier run was interrupted after deregistering endpoint/restored/variant/AllTraffic; restored from the "
        "record on the endpoint: target 0–4 instances."
    ]


def test_maintenance_without_a_pending_config_names_no_move(emu: Emulator) -> None:
    """SystemUpdating (AWS's maintenance, no config pending): still in progress, with no "from … to …"."""
    in_service(emu, "patched")
    emu.faults.system_update("patched", 0.01, held=True)
    try:
        outcome, _, _ = wound_down(emu, "patched", [])
    finally:
        emu.faults.release("patched")
    assert outcome.message == (
        "The job was cancelled (SIGINT) before it changed anything. The endpoint is still SystemUpdating in "
        "SageMaker, which goes on without this job. The next run of this endpoint waits for it to settle and adopts "
        "it (verdict, cleanup); nothing was deleted."
    )


@pytest.mark.parametrize(
    ("writes", "told"),
    [
        (
            ["deregistered scalable target endpoint/late/variant/AllTraffic"],
            [
                "Autoscaling was not put back in the seconds a cancelled job has; it is recorded on the endpoint and "
                "the next run of this endpoint restores it."
            ],
        ),
        ([], []),
    ],
    ids=["deregistered", "nothing-deregistered"],
)
def test_too_little_budget_left_skips_the_restore(emu: Emulator, writes: list[str], told: list[str]) -> None:
    """With less than RESTORE_NEEDS seconds left nothing more is called; a run that deregistered autoscaling says
    it stays recorded for the next run."""
    in_service(emu, "late")
    outcome, _, calls = wound_down(emu, "late", writes, left=RESTORE_NEEDS - 0.5)
    assert calls == ["DescribeEndpoint"]
    assert outcome.autoscaling == told


def test_enough_budget_still_restores(emu: Emulator) -> None:
    """With more than RESTORE_NEEDS seconds left once the endpoint has been read, the record is looked for."""
    in_service(emu, "late")
    _, _, calls = wound_down(emu, "late", [], left=RESTORE_NEEDS + 1.5)
    assert calls == ["DescribeEndpoint", "ListTags"]


def test_a_refused_record_read_is_left_to_the_next_run(emu: Emulator) -> None:
    """ListTags refused after the cancel: the outcome says the next run checks the record."""
    in_service(emu, "tagless")
    emu.faults.deny("ListTags")
    try:
        outcome, _, _ = wound_down(emu, "tagless", [])
    finally:
        emu.faults.clear()
    [note] = outcome.autoscaling
    assert note.startswith("Could not check the endpoint's autoscaling record after the cancel (")
    assert note.endswith("); the next run of this endpoint does.")


def test_hurried_clients_make_one_attempt_per_call(emu: Emulator) -> None:
    """A cancelled job's last calls are tried once: a 5xx is not retried into the runner's SIGKILL. (botocore's
    ``max_attempts`` counts retries after the first attempt; ``total_max_attempts`` counts them all.)"""
    emu.faults.server_error("DescribeEndpoint", times=2, code="InternalFailure")
    emu.clear_requests()
    with pytest.raises(ClientError) as failed:
        aws.describe_endpoint(module_clients().hurried().sagemaker, "hurried")
    assert aws.error_code(failed.value) == "InternalFailure"
    assert [(r.operation, r.status) for r in emu.requests] == [("DescribeEndpoint", 500)]
    emu.faults.clear()
