"""The Autoscaling class's calls, path by path, in process against the emulator: what is recorded on the
endpoint's tags, deregistered, put back and re-pointed, and what the log and the report say happened."""

from __future__ import annotations

import hashlib
import io
import json
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from sagemaker_async_deploy import autoscaling as autoscaling_module
from sagemaker_async_deploy import aws, cancel
from sagemaker_async_deploy.autoscaling import RECORD_PREFIX, Autoscaling, SavedScaling, as_json, encode_record
from sagemaker_async_deploy.errors import DeployError
from sagemaker_async_deploy.log import Log
from sagemaker_async_deploy.outcome import RolloutOutcome
from sagemaker_emulator import Emulator

from .conftest import REGION, boto_client
from .seed import seed_alarm
from .test_autoscaling_suspend import ONE_ATTEMPT, RESOURCE, _autoscaled


def _scaling() -> tuple[Autoscaling, RolloutOutcome, io.StringIO]:
    outcome = RolloutOutcome(result="failed")
    out = io.StringIO()
    return Autoscaling(aws.Clients(REGION, ONE_ATTEMPT), Log(out), outcome), outcome, out


def _saved(pieces: int) -> SavedScaling:
    """Settings whose record takes ``pieces`` tags (the target's tags are digests: they do not compress)."""
    tags: dict[str, str] = {}
    saved = SavedScaling(RESOURCE, {"ResourceId": RESOURCE, "MinCapacity": 0, "MaxCapacity": 4}, tags, (), {})
    n = 0
    while len(encode_record(saved)) < pieces:
        tags[f"t{n}"] = hashlib.sha256(str(n).encode()).hexdigest()
        n += 1
    assert len(encode_record(saved)) == pieces
    return saved


def _tag(sm: Any, arn: str, tags: dict[str, str]) -> None:
    for start in range(0, len(tags), 20):
        chunk = list(tags.items())[start : start + 20]
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in chunk])


def _record(sm: Any, arn: str) -> dict[str, str]:
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn, MaxResults=100)["Tags"]}
    return {k: v for k, v in tags.items() if k.startswith(RECORD_PREFIX)}


def test_a_record_that_just_fits_the_endpoints_tags_is_written(emulator: Emulator, aws_env: Any) -> None:
    """An endpoint with room for exactly the record's pieces, an older record's pieces among its tags: the older
    pieces make room, and the new record replaces them."""
    arn, _, sm = _autoscaled(emulator)
    present = len(sm.list_tags(ResourceArn=arn)["Tags"])
    stale = encode_record(_saved(2))
    _tag(sm, arn, stale)
    saved = _saved(3)
    _tag(sm, arn, {f"user{i}": "x" for i in range(50 - present - 3)})
    scaling, outcome, _ = _scaling()
    scaling._write_record(arn, "whisper", saved)
    assert _record(sm, arn) == encode_record(saved)
    assert outcome.writes == ["autoscaling record on endpoint whisper (3 tags)"]


def test_a_record_one_tag_too_many_is_refused_with_the_count(emulator: Emulator, aws_env: Any) -> None:
    """An endpoint one tag short of room for the record, an older record's pieces among its tags: refused
    before anything is written, counting the tags the endpoint keeps and the ones the record needs."""
    arn, _, sm = _autoscaled(emulator)
    present = len(sm.list_tags(ResourceArn=arn)["Tags"])
    stale = encode_record(_saved(1))
    _tag(sm, arn, stale)
    _tag(sm, arn, {f"user{i}": "x" for i in range(50 - present - 1)})
    scaling, outcome, _ = _scaling()
    with pytest.raises(DeployError) as refused:
        scaling._write_record(arn, "whisper", _saved(2))
    assert str(refused.value).startswith(
        "endpoint-name: whisper carries 49 tags and its autoscaling settings need 2 more to be recorded on it (50 per "
        "resource); without the record"
    )
    assert _record(sm, arn) == stale
    assert outcome.writes == []


def _rich(emulator: Emulator) -> tuple[str, Any, Any, str]:
    """An autoscaled endpoint whose target carries a tag and a scheduled action, and whose step policy an alarm
    names in its AlarmActions after an SNS topic; its ARN, the two clients and the policy's ARN."""
    arn, autoscaling, sm = _autoscaled(emulator)
    policy_arn = str(
        autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=RESOURCE)["ScalingPolicies"][0][
            "PolicyARN"
        ]
    )
    target = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RESOURCE])
    autoscaling.tag_resource(ResourceARN=target["ScalableTargets"][0]["ScalableTargetARN"], Tags={"team": "ml"})
    autoscaling.put_scheduled_action(
        ServiceNamespace="sagemaker",
        ScheduledActionName="night",
        ResourceId=RESOURCE,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        Schedule="cron(0 22 * * ? *)",
        ScalableTargetAction={"MinCapacity": 0, "MaxCapacity": 1},
    )
    topic = "arn:aws:sns:us-east-1:123456789012:pager"
    seed_alarm(emulator, "backlog-high", AlarmActions=[topic, policy_arn])
    seed_alarm(emulator, "backlog-gone", OKActions=[policy_arn])
    return arn, autoscaling, sm, policy_arn


def _described(autoscaling: Any, cloudwatch: Any) -> tuple[Any, ...]:
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[RESOURCE])
    arns = [t["ScalableTargetARN"] for t in targets["ScalableTargets"]]
    tags = autoscaling.list_tags_for_resource(ResourceARN=arns[0])["Tags"] if arns else {}
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=RESOURCE)
    scheduled = autoscaling.describe_scheduled_actions(ServiceNamespace="sagemaker", ResourceId=RESOURCE)
    alarms = cloudwatch.describe_alarms(AlarmNames=["backlog-gone", "backlog-high"])["MetricAlarms"]
    return (
        [(t["MinCapacity"], t["MaxCapacity"]) for t in targets["ScalableTargets"]],
        tags,
        {p["PolicyName"]: p["PolicyARN"] for p in policies["ScalingPolicies"]},
        [a["ScheduledActionName"] for a in scheduled["ScheduledActions"]],
        {a["AlarmName"]: (a["AlarmActions"], a["OKActions"]) for a in alarms},
    )


def test_suspended_autoscaling_is_restored_whole_and_the_alarm_repointed(emulator: Emulator, aws_env: Any) -> None:
    """Suspend records everything and deregisters the target; once the endpoint settled, after_rollout puts back
    the target, its tag, its policy and scheduled action, re-points the alarm at the policy's new ARN (in place
    of the old one, beside the topic), removes the record, and the report says each."""
    arn, autoscaling, sm, policy_arn = _rich(emulator)
    cloudwatch = boto_client(emulator, "cloudwatch")
    scaling, outcome, out = _scaling()
    saved = scaling.suspend(arn, "whisper", "AllTraffic")
    assert saved is not None
    # The log keeps what the record holds, readable: the requests that put it back by hand if all else fails.
    logged = out.getvalue().split("::group::Autoscaling settings to restore (JSON)\n")[1].split("::endgroup::")[0]
    assert json.loads(logged) == json.loads(as_json(saved))
    assert _record(sm, arn) == encode_record(saved)
    assert outcome.writes == [
        f"autoscaling record on endpoint whisper ({len(encode_record(saved))} tags)",
        f"deregistered scalable target {RESOURCE}",
    ]
    assert _described(autoscaling, cloudwatch)[0] == []
    scaling.after_rollout(arn, saved, {"EndpointStatus": "InService"})
    targets, tags, policies, scheduled, actions = _described(autoscaling, cloudwatch)
    assert (targets, tags, list(policies), scheduled) == ([(0, 4)], {"team": "ml"}, ["step"], ["night"])
    assert policies["step"] != policy_arn
    assert actions == {
        "backlog-gone": ([], [policies["step"]]),
        "backlog-high": (["arn:aws:sns:us-east-1:123456789012:pager", policies["step"]], []),
    }
    assert _record(sm, arn) == {}
    assert outcome.autoscaling == [
        "Alarm backlog-gone now names the re-created scaling policy step (its new ARN) in OKActions.",
        "Alarm backlog-high now names the re-created scaling policy step (its new ARN) in AlarmActions.",
        f"Autoscaling of {RESOURCE} restored: target 0–4 instances, 1 tag, 1 scaling policy, 1 scheduled action, "
        "2 alarms re-pointed.",
    ]


def test_restoring_what_stands_puts_nothing_and_says_so(emulator: Emulator, aws_env: Any) -> None:
    """Restoring again what was restored (the target, its tag, policy, scheduled action, the re-pointed alarm all
    standing): only reads are made, and the report says nothing was missing."""
    arn, _, _, _ = _rich(emulator)
    scaling, outcome, _ = _scaling()
    saved = scaling.suspend(arn, "whisper", "AllTraffic")
    assert saved is not None
    assert scaling.restore(arn, saved) is True
    emulator.clear_requests()
    assert scaling.restore(arn, saved) is True
    assert outcome.autoscaling[-1] == f"Autoscaling of {RESOURCE} restored: nothing was missing."
    assert [r.operation for r in emulator.write_calls()] == []


def _suspended(emulator: Emulator) -> tuple[str, Any, Any, SavedScaling]:
    """The rich endpoint with its autoscaling suspended: recorded on the endpoint, the target deregistered."""
    arn, autoscaling, sm, _ = _rich(emulator)
    saved = _scaling()[0].suspend(arn, "whisper", "AllTraffic")
    assert saved is not None
    return arn, autoscaling, sm, saved


def test_a_rollout_that_did_not_settle_leaves_the_record_and_warns(emulator: Emulator, aws_env: Any) -> None:
    """No final description, or an endpoint still Updating: nothing is put back, the record stays, a warning says
    the next run restores it."""
    arn, _, sm, saved = _suspended(emulator)
    scaling, outcome, out = _scaling()
    emulator.clear_requests()
    scaling.after_rollout(arn, saved, None)
    scaling.after_rollout(arn, saved, {"EndpointStatus": "Updating"})
    assert emulator.requests == []
    assert _record(sm, arn) == encode_record(saved)
    note = (
        f"Autoscaling of {RESOURCE} is not restored yet: the endpoint did not settle during this run, and SageMaker "
        "blocks autoscaling during an update. Its settings are recorded on the endpoint; the next run of this endpoint "
        "restores them once the update ends."
    )
    assert outcome.autoscaling == [note, note]
    assert "::warning title=Autoscaling::" in out.getvalue()


def test_a_cancelled_rollout_leaves_the_record_to_the_wind_down(
    emulator: Emulator, aws_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled before the endpoint settled: nothing is called and nothing said; the wind-down decides."""
    arn, _, sm, saved = _suspended(emulator)
    monkeypatch.setattr(cancel._State, "signal_name", "SIGINT")
    scaling, outcome, _ = _scaling()
    emulator.clear_requests()
    scaling.after_rollout(arn, saved, {"EndpointStatus": "Updating"})
    assert (emulator.requests, outcome.autoscaling) == ([], [])
    assert _record(sm, arn) == encode_record(saved)


def _endpoint(sm: Any, status: str = "") -> dict[str, Any]:
    described = dict(sm.describe_endpoint(EndpointName="whisper"))
    if status:
        described["EndpointStatus"] = status
    return described


def test_a_record_is_announced_in_plan_mode_and_while_the_endpoint_changes(emulator: Emulator, aws_env: Any) -> None:
    """A record left on the endpoint: a plan run and a run while the endpoint is Updating only say so."""
    arn, _, sm, saved = _suspended(emulator)
    scaling, outcome, _ = _scaling()
    emulator.clear_requests()
    scaling.recover(_endpoint(sm), apply=False)
    scaling.recover(_endpoint(sm, "Updating"), apply=True)
    assert emulator.write_calls() == []
    assert _record(sm, arn) == encode_record(saved)
    summary = "0–4 instances, 1 scaling policy, 1 scheduled action, 2 alarms naming a policy"
    assert outcome.autoscaling == [
        f"An earlier run was interrupted after deregistering {RESOURCE} ({summary}); the next apply run restores it.",
        f"The autoscaling of {RESOURCE} ({summary}) is recorded on the endpoint and not restored while the endpoint "
        "changes; the next run of this endpoint restores it once it settled.",
    ]


def test_an_apply_run_restores_a_record_left_by_an_interrupted_run(emulator: Emulator, aws_env: Any) -> None:
    """An apply run on a settled endpoint with a record: it is restored, the record removed, the log says so."""
    arn, autoscaling, sm, _ = _suspended(emulator)
    scaling, outcome, out = _scaling()
    scaling.recover(_endpoint(sm), apply=True)
    assert _record(sm, arn) == {}
    assert _described(autoscaling, boto_client(emulator, "cloudwatch"))[0] == [(0, 4)]
    assert f"An earlier run was interrupted after recording the autoscaling of {RESOURCE}." in out.getvalue()
    assert outcome.autoscaling[-1] == (
        f"An earlier run was interrupted after deregistering {RESOURCE}; restored from the record on the endpoint: "
        "target 0–4 instances, 1 tag, 1 scaling policy, 1 scheduled action, 2 alarms re-pointed."
    )


def test_an_unreadable_record_is_left_and_named(emulator: Emulator, aws_env: Any) -> None:
    """A record missing a piece: nothing is restored or removed, and a warning names its tags."""
    arn, _, sm = _autoscaled(emulator)
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": f"{RECORD_PREFIX}2/2", "Value": "abc"}])
    scaling, outcome, out = _scaling()
    emulator.clear_requests()
    scaling.recover(_endpoint(sm), apply=True)
    assert emulator.write_calls() == []
    assert outcome.autoscaling == [
        "The endpoint carries an autoscaling record this action cannot read (the record's pieces do not add up: "
        f"{RECORD_PREFIX}2/2); it was left as it is. Its tags are {RECORD_PREFIX}2/2; restore the variant's "
        "autoscaling by hand from the log of the run that deregistered it, then delete those tags."
    ]
    assert out.getvalue().startswith("::warning title=Autoscaling::The endpoint carries an autoscaling record")


def test_an_endpoint_without_a_record_is_left_alone(emulator: Emulator, aws_env: Any) -> None:
    """No record on the endpoint, or no ARN to look it up by: nothing but the tags is read, nothing said."""
    _, _, sm = _autoscaled(emulator)
    scaling, outcome, _ = _scaling()
    endpoint = _endpoint(sm)
    emulator.clear_requests()
    scaling.recover(endpoint, apply=True)
    assert emulator.operations() == ["ListTags"]
    emulator.clear_requests()
    scaling.recover({"EndpointStatus": "InService"}, apply=True)
    assert (emulator.operations(), outcome.autoscaling) == ([], [])


def test_a_failed_restore_keeps_the_record_and_warns(emulator: Emulator, aws_env: Any) -> None:
    """RegisterScalableTarget failing: restore answers False, the record stays, the warning names the error."""
    arn, _, sm, saved = _suspended(emulator)
    emulator.faults.server_error("RegisterScalableTarget")
    scaling, outcome, out = _scaling()
    assert scaling.restore(arn, saved) is False
    assert _record(sm, arn) == encode_record(saved)
    assert out.getvalue().startswith("::warning title=Autoscaling::Could not finish restoring autoscaling")
    assert outcome.autoscaling == [
        f"Could not finish restoring autoscaling on {RESOURCE} (InternalServiceException: The service encountered an "
        "internal error.). What is missing is recorded on the endpoint (tags sagemaker-async-deploy:autoscaling:*); "
        "the next run of this endpoint puts it back, or restore it by hand from the group 'Autoscaling settings to "
        "restore' in the log."
    ]


def test_an_alarm_deleted_meanwhile_is_named_and_the_rest_restored(emulator: Emulator, aws_env: Any) -> None:
    """One of the alarms that named the policy was deleted while autoscaling was suspended: a warning names it,
    and the alarm after it is re-pointed all the same."""
    arn, _, _, saved = _suspended(emulator)
    boto_client(emulator, "cloudwatch").delete_alarms(AlarmNames=["backlog-gone"])
    scaling, outcome, out = _scaling()
    assert scaling.restore(arn, saved) is True
    assert outcome.autoscaling == [
        f"Alarm backlog-gone named a scaling policy of {RESOURCE} and no longer exists.",
        "Alarm backlog-high now names the re-created scaling policy step (its new ARN) in AlarmActions.",
        f"Autoscaling of {RESOURCE} restored: target 0–4 instances, 1 tag, 1 scaling policy, 1 scheduled action, "
        "1 alarm re-pointed.",
    ]
    assert f"::warning title=Autoscaling::Alarm backlog-gone named a scaling policy of {RESOURCE}" in out.getvalue()


def test_an_alarm_the_sdk_cannot_carry_whole_is_left_and_the_next_one_too(emulator: Emulator, aws_env: Any) -> None:
    """Alarms carrying a member the installed botocore does not know: PutMetricAlarm would drop it, so each is
    left as it is with a warning saying what to change by hand, and none is counted as re-pointed."""
    arn, _, _, saved = _suspended(emulator)
    emulator.faults.extra_item_member("DescribeAlarms", "MetricAlarms", "FutureSetting", {"Mode": "new"})
    scaling, outcome, out = _scaling()
    emulator.clear_requests()
    assert scaling.restore(arn, saved) is True
    assert [note.split(" carries settings")[0] for note in outcome.autoscaling[:2]] == [
        "Alarm backlog-gone",
        "Alarm backlog-high",
    ]
    assert all("(FutureSetting); PutMetricAlarm replaces an alarm whole" in n for n in outcome.autoscaling[:2])
    assert outcome.autoscaling[2] == (
        f"Autoscaling of {RESOURCE} restored: target 0–4 instances, 1 tag, 1 scaling policy, 1 scheduled action."
    )
    assert out.getvalue().count("::warning title=Autoscaling::Alarm backlog-") == 2
    assert "PutMetricAlarm" not in emulator.operations("cloudwatch")


def test_an_alarm_already_repointed_is_left_and_the_next_one_repointed(emulator: Emulator, aws_env: Any) -> None:
    """A restore meeting one alarm that names the policy's new ARN already and one pointed back at the old ARN
    (by whoever owns it): the first is not put again, the second is re-pointed."""
    arn, _, _, saved = _suspended(emulator)
    scaling, outcome, _ = _scaling()
    assert scaling.restore(arn, saved) is True
    seed_alarm(
        emulator, "backlog-high", AlarmActions=["arn:aws:sns:us-east-1:123456789012:pager", *saved.policy_arns.values()]
    )
    emulator.clear_requests()
    assert scaling.restore(arn, saved) is True
    assert [r.params["AlarmName"] for r in emulator.requests if r.operation == "PutMetricAlarm"] == ["backlog-high"]
    assert outcome.autoscaling[-2:] == [
        "Alarm backlog-high now names the re-created scaling policy step (its new ARN) in AlarmActions.",
        f"Autoscaling of {RESOURCE} restored: 1 alarm re-pointed.",
    ]


def test_autoscaling_without_tags_or_alarms_is_restored_without_reading_either(
    emulator: Emulator, aws_env: Any
) -> None:
    """A target with a policy and no tag, no scheduled action and no alarm: restored as that, and a restore of
    what stands reads neither the target's tags nor the alarms."""
    arn, _, _ = _autoscaled(emulator)
    scaling, outcome, _ = _scaling()
    saved = scaling.suspend(arn, "whisper", "AllTraffic")
    assert saved is not None
    scaling.after_rollout(arn, saved, {"EndpointStatus": "InService"})
    assert outcome.autoscaling == [f"Autoscaling of {RESOURCE} restored: target 0–4 instances, 1 scaling policy."]
    emulator.clear_requests()
    assert scaling.restore(arn, saved) is True
    assert emulator.operations("application-autoscaling") == [
        "DescribeScalableTargets",
        "DescribeScalingPolicies",
        "DescribeScheduledActions",
    ]
    assert emulator.operations("cloudwatch") == []


def test_a_blocked_variant_is_warned_about_and_an_unreadable_target_is_not(emulator: Emulator, aws_env: Any) -> None:
    """An update of an autoscaled variant warns how long scaling is blocked; no target, or one that cannot be
    read, says nothing."""
    _autoscaled(emulator)
    scaling, outcome, out = _scaling()
    scaling.warn_if_blocked("other", "AllTraffic", 1, 60, 2)
    emulator.faults.server_error("DescribeScalableTargets")
    scaling.warn_if_blocked("whisper", "AllTraffic", 1, 60, 2)
    assert outcome.autoscaling == []
    scaling.warn_if_blocked("whisper", "AllTraffic", 1, 60, 2)
    assert len(outcome.autoscaling) == 1
    assert outcome.autoscaling[0].startswith("The variant scales with Application Auto Scaling (0–4 instances)")
    assert "holds the variant at 2 instances for 1 bake of 60 s" in outcome.autoscaling[0]
    assert out.getvalue().startswith("::warning title=Autoscaling::The variant scales with Application Auto Scaling")


def _flaky_tagging(monkeypatch: pytest.MonkeyPatch, codes: list[str]) -> list[float]:
    """TagResource answers each of ``codes`` in turn before it is carried out; the waits are recorded, not slept."""
    real = aws.tag_target
    waits: list[float] = []

    def tag_target(*args: Any) -> Any:
        if codes:
            code = codes.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": "not yet"}}, "TagResource")
        return real(*args)

    monkeypatch.setattr(aws, "tag_target", tag_target)
    monkeypatch.setattr(autoscaling_module, "time", SimpleNamespace(sleep=waits.append))
    return waits


def test_a_target_registered_a_moment_ago_is_tagged_once_application_auto_scaling_sees_it(
    emulator: Emulator, aws_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TagResource right after RegisterScalableTarget answering that the target is not found (eventual
    consistency): retried after 0.5 s and 1 s, the log says so, and the tag is put back."""
    arn, autoscaling, _, saved = _suspended(emulator)
    waits = _flaky_tagging(monkeypatch, ["ObjectNotFoundException", "ResourceNotFoundException"])
    scaling, outcome, out = _scaling()
    assert scaling.restore(arn, saved) is True
    assert waits == [0.5, 1.0]
    assert _described(autoscaling, boto_client(emulator, "cloudwatch"))[1] == {"team": "ml"}
    assert (
        "Application Auto Scaling does not see the target registered a moment ago yet (TagResource: "
        "ObjectNotFoundException; RegisterScalableTarget is eventually consistent): retrying in 0.5s."
    ) in out.getvalue()
    assert (
        "(TagResource: ResourceNotFoundException; RegisterScalableTarget is eventually consistent): retrying in 1s."
        in (out.getvalue())
    )
    assert outcome.autoscaling[-1].endswith(
        "restored: target 0–4 instances, 1 tag, 1 scaling policy, 1 scheduled action, 2 alarms re-pointed."
    )


def test_a_target_never_seen_or_another_refusal_is_not_waited_out(
    emulator: Emulator, aws_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not found after every wait (0.5, 1, 2, 4 s), or any other error at once: the restore fails with that
    error and the record stays."""
    arn, _, sm, saved = _suspended(emulator)
    waits = _flaky_tagging(monkeypatch, ["ObjectNotFoundException"] * 5)
    scaling, outcome, _ = _scaling()
    assert scaling.restore(arn, saved) is False
    assert waits == [0.5, 1.0, 2.0, 4.0]
    assert "(ObjectNotFoundException: not yet)" in outcome.autoscaling[-1]
    assert _record(sm, arn) == encode_record(saved)
    waits.clear()
    _flaky_tagging(monkeypatch, ["ValidationException"])
    assert scaling.restore(arn, saved) is False
    assert "(ValidationException: not yet)" in outcome.autoscaling[-1]


def test_a_target_that_stands_is_not_waited_for(
    emulator: Emulator, aws_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The target still registered (its tag removed): a not-found answer to TagResource is not retried."""
    arn, autoscaling, _, saved = _suspended(emulator)
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=RESOURCE,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=0,
        MaxCapacity=4,
    )
    waits = _flaky_tagging(monkeypatch, ["ObjectNotFoundException"])
    scaling, outcome, _ = _scaling()
    assert scaling.restore(arn, saved) is False
    assert waits == []
    assert "(ObjectNotFoundException: not yet)" in outcome.autoscaling[-1]


def test_a_failed_deregistration_that_cannot_be_undone_says_the_record_stays(emulator: Emulator, aws_env: Any) -> None:
    """DeregisterScalableTarget acting but answering 5xx, then RegisterScalableTarget failing: the error says the
    target may be gone and the record stays for the next run; it does."""
    arn, _, sm, _ = _rich(emulator)
    emulator.faults.server_error("DeregisterScalableTarget", after_acting=True)
    emulator.faults.server_error("RegisterScalableTarget")
    scaling, _, _ = _scaling()
    with pytest.raises(DeployError) as failed:
        scaling.suspend(arn, "whisper", "AllTraffic")
    assert (
        f"The target {RESOURCE} may have been deregistered and could not be put back now; its settings stay recorded "
        "on the endpoint and the next run of this endpoint restores them."
    ) in str(failed.value)
    assert _record(sm, arn) != {}


@pytest.mark.parametrize("failure", ["server error", "dropped connection"])
def test_a_failed_deregistration_whose_target_cannot_be_read_puts_back_what_is_missing(
    emulator: Emulator, aws_env: Any, failure: str
) -> None:
    """DeregisterScalableTarget acting but answering 5xx, then the look at whether the target is still there
    failing (a 5xx, or the connection dropped): whatever is missing is put back, and the error says that it could
    not be read whether the target was deregistered."""
    arn, autoscaling, sm, _ = _rich(emulator)
    emulator.faults.server_error("DeregisterScalableTarget", after_acting=True)
    scaling, _, _ = _scaling()
    looks = 0

    def second_look_fails(**_: Any) -> None:
        # Registered on the action's own client: its second DescribeScalableTargets is the look after the failed
        # deregistration. botocore raises a dropped connection as EndpointConnectionError before any answer.
        nonlocal looks
        looks += 1
        if looks == 2 and failure == "server error":
            emulator.faults.server_error("DescribeScalableTargets")
        elif looks == 2:
            raise EndpointConnectionError(endpoint_url=emulator.url)

    scaling.clients.autoscaling.meta.events.register(
        "before-send.application-auto-scaling.DescribeScalableTargets", second_look_fails
    )
    with pytest.raises(DeployError) as failed:
        scaling.suspend(arn, "whisper", "AllTraffic")
    assert (f"Whether {RESOURCE} was deregistered could not be read; whatever was missing has been put back.") in str(
        failed.value
    )
    targets, tags, policies, scheduled, _ = _described(autoscaling, boto_client(emulator, "cloudwatch"))
    assert (targets, tags, list(policies), scheduled) == ([(0, 4)], {"team": "ml"}, ["step"], ["night"])
    assert _record(sm, arn) == {}


def test_a_failed_deregistration_whose_record_cannot_be_removed_says_so(emulator: Emulator, aws_env: Any) -> None:
    """DeregisterScalableTarget failing without acting and DeleteTags denied: the error says nothing was
    deregistered and the record stays; it does."""
    arn, _, sm, _ = _rich(emulator)
    emulator.faults.server_error("DeregisterScalableTarget")
    emulator.faults.deny("DeleteTags")
    scaling, _, _ = _scaling()
    with pytest.raises(DeployError) as failed:
        scaling.suspend(arn, "whisper", "AllTraffic")
    assert (
        f"Nothing was deregistered: {RESOURCE} still autoscales. The record of its settings stays on the endpoint "
        "(tags sagemaker-async-deploy:autoscaling:*); the next run of this endpoint removes it."
    ) in str(failed.value)
    assert _record(sm, arn) != {}


def test_a_record_that_cannot_be_written_stops_before_anything_is_deregistered(
    emulator: Emulator, aws_env: Any
) -> None:
    """AddTags denied: an access-denied error naming the permissions; the target still autoscales."""
    arn, autoscaling, _, _ = _rich(emulator)
    emulator.faults.deny("AddTags")
    scaling, outcome, _ = _scaling()
    with pytest.raises(DeployError) as failed:
        scaling.suspend(arn, "whisper", "AllTraffic")
    assert str(failed.value).startswith("Could not record the autoscaling settings on endpoint whisper (AccessDenied")
    assert "nothing was deregistered and the endpoint was not updated" in str(failed.value)
    assert failed.value.kind == "access-denied"
    assert _described(autoscaling, boto_client(emulator, "cloudwatch"))[0] == [(0, 4)]
    assert outcome.writes == []


def test_what_restoring_is_told_is_told_by_name() -> None:
    """Whether a run applies and whether a restore recovers are keywords: a bare True is refused."""
    scaling = _scaling()[0]
    saved = _saved(1)
    with pytest.raises(TypeError, match="positional"):
        scaling.recover({}, True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        scaling.restore("arn", saved, True)  # type: ignore[call-arg]


def test_an_alarm_naming_a_policy_twice_is_repointed_in_both_places_from_the_record(
    emulator: Emulator, aws_env: Any
) -> None:
    """An alarm naming the policy in AlarmActions and OKActions, restored by the next run from the record read
    back from the endpoint's tags: both places name the new ARN."""
    arn, autoscaling, sm = _autoscaled(emulator)
    policy_arn = str(
        autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=RESOURCE)["ScalingPolicies"][0][
            "PolicyARN"
        ]
    )
    seed_alarm(emulator, "twice", AlarmActions=[policy_arn], OKActions=[policy_arn])
    assert _scaling()[0].suspend(arn, "whisper", "AllTraffic") is not None
    scaling, outcome, _ = _scaling()
    scaling.recover(_endpoint(sm), apply=True)
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=RESOURCE)
    new_arn = policies["ScalingPolicies"][0]["PolicyARN"]
    alarm = boto_client(emulator, "cloudwatch").describe_alarms(AlarmNames=["twice"])["MetricAlarms"][0]
    assert new_arn != policy_arn
    assert (alarm["AlarmActions"], alarm["OKActions"]) == ([new_arn], [new_arn])
    assert outcome.autoscaling[0] == (
        "Alarm twice now names the re-created scaling policy step (its new ARN) in AlarmActions and OKActions."
    )
