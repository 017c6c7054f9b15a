"""The pure parts of keeping autoscaling: descriptions into requests, alarms re-pointed, and the record on the
endpoint's tags, by exact payloads."""

from __future__ import annotations

import base64
import json
import re
import zlib
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.model import ListShape, MapShape, Shape, StructureShape

from sagemaker_async_deploy.autoscaling import (
    RECORD_PREFIX,
    AlarmLink,
    RecordError,
    SavedScaling,
    Shapes,
    alarm_links,
    counted_tags,
    decode_record,
    encode_record,
    repointed_alarm,
    saved_scaling,
)

_SESSION = botocore.session.get_session()
SHAPES = Shapes.of(_SESSION.get_service_model("application-autoscaling"), _SESSION.get_service_model("cloudwatch"))
RESOURCE = "endpoint/whisper/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
POLICY_ARN = (
    "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:11111111-2222-3333-4444-555555555555:"
    f"resource/sagemaker/{RESOURCE}:policyName/scale-out-from-zero"
)
NEW_ARN = POLICY_ARN.replace("11111111", "99999999")
TOPIC = "arn:aws:sns:us-east-1:123456789012:pager"
# SageMaker's Tag.Value pattern ([\p{L}\p{Z}\p{N}_.:/=+\-@]*), in its ASCII part.
TAG_VALUE = re.compile(r"[A-Za-z0-9 _.:/=+\-@]*")

TARGET = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": RESOURCE,
    "ScalableDimension": DIMENSION,
    "MinCapacity": 0,
    "MaxCapacity": 30,
    "PredictedCapacity": 2,
    "RoleARN": "arn:aws:iam::123456789012:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/x",
    "CreationTime": datetime(2026, 11, 1, tzinfo=UTC),
    "SuspendedState": {
        "DynamicScalingInSuspended": True,
        "DynamicScalingOutSuspended": False,
        "ScheduledScalingSuspended": False,
    },
    "ScalableTargetARN": "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0123abcd",
}
STEP_POLICY = {
    "PolicyARN": POLICY_ARN,
    "PolicyName": "scale-out-from-zero",
    "ServiceNamespace": "sagemaker",
    "ResourceId": RESOURCE,
    "ScalableDimension": DIMENSION,
    "PolicyType": "StepScaling",
    "StepScalingPolicyConfiguration": {
        "AdjustmentType": "ChangeInCapacity",
        "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
        "Cooldown": 300,
        "MetricAggregationType": "Average",
    },
    "Alarms": [{"AlarmName": "HasBacklogWithoutCapacity", "AlarmARN": "arn:aws:cloudwatch:us-east-1:1:alarm:x"}],
    "CreationTime": datetime(2026, 11, 1, tzinfo=UTC),
}
PREDICTIVE_POLICY = {
    "PolicyARN": POLICY_ARN.replace("scale-out-from-zero", "forecast"),
    "PolicyName": "forecast",
    "ServiceNamespace": "sagemaker",
    "ResourceId": RESOURCE,
    "ScalableDimension": DIMENSION,
    "PolicyType": "PredictiveScaling",
    "PredictiveScalingPolicyConfiguration": {
        "MetricSpecifications": [
            {"TargetValue": 40.0, "PredefinedMetricPairSpecification": {"PredefinedMetricType": "X"}}
        ],
        "Mode": "ForecastOnly",
        "SchedulingBufferTime": 300,
    },
    "Alarms": [],
    "CreationTime": datetime(2026, 11, 1, tzinfo=UTC),
}
SCHEDULED = {
    "ScheduledActionName": "nightly-zero",
    "ScheduledActionARN": "arn:aws:autoscaling:us-east-1:123456789012:scheduledAction:x",
    "ServiceNamespace": "sagemaker",
    "Schedule": "cron(0 22 * * ? *)",
    "Timezone": "Europe/Berlin",
    "ResourceId": RESOURCE,
    "ScalableDimension": DIMENSION,
    "StartTime": datetime(2026, 12, 1, 22, 0, tzinfo=UTC),
    "ScalableTargetAction": {"MinCapacity": 0, "MaxCapacity": 0},
    "CreationTime": datetime(2026, 11, 1, tzinfo=UTC),
}
ALARM = {
    "AlarmName": "HasBacklogWithoutCapacity",
    "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:HasBacklogWithoutCapacity",
    "AlarmConfigurationUpdatedTimestamp": datetime(2026, 11, 1, tzinfo=UTC),
    "ActionsEnabled": True,
    "OKActions": [],
    "AlarmActions": [TOPIC, POLICY_ARN],
    "InsufficientDataActions": [],
    "StateValue": "OK",
    "StateReason": "Threshold Crossed",
    "StateUpdatedTimestamp": datetime(2026, 11, 1, tzinfo=UTC),
    "MetricName": "HasBacklogWithoutCapacity",
    "Namespace": "AWS/SageMaker",
    "Statistic": "Average",
    "Dimensions": [{"Name": "EndpointName", "Value": "whisper"}],
    "Period": 60,
    "EvaluationPeriods": 2,
    "DatapointsToAlarm": 2,
    "Threshold": 1.0,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    "TreatMissingData": "missing",
}


def _saved() -> SavedScaling:
    return saved_scaling(TARGET, {"team": "speech"}, [STEP_POLICY, PREDICTIVE_POLICY], [SCHEDULED], [ALARM], SHAPES)


def test_descriptions_become_the_requests_that_put_them_back() -> None:
    """Read-only members (ARNs, times, alarms, predicted capacity) and the service-linked role drop out;
    SuspendedState, a predictive configuration and a scheduled action's times stay."""
    saved = _saved()
    assert saved.target == {
        "ServiceNamespace": "sagemaker",
        "ResourceId": RESOURCE,
        "ScalableDimension": DIMENSION,
        "MinCapacity": 0,
        "MaxCapacity": 30,
        "SuspendedState": TARGET["SuspendedState"],
    }
    assert saved.tags == {"team": "speech"}
    assert saved.policies == (
        {k: v for k, v in STEP_POLICY.items() if k not in ("PolicyARN", "Alarms", "CreationTime")},
        {k: v for k, v in PREDICTIVE_POLICY.items() if k not in ("PolicyARN", "Alarms", "CreationTime")},
    )
    assert saved.scheduled_actions == (
        {k: v for k, v in SCHEDULED.items() if k not in ("ScheduledActionARN", "CreationTime")},
    )
    assert saved.policy_arns == {"scale-out-from-zero": POLICY_ARN, "forecast": PREDICTIVE_POLICY["PolicyARN"]}
    assert saved.alarms == (AlarmLink("HasBacklogWithoutCapacity", "scale-out-from-zero", "AlarmActions", 1),)


def test_only_exact_policy_arns_link_an_alarm() -> None:
    """A target tracking alarm's '<policy ARN>:createdBy/<id>' action belongs to its policy and is not linked;
    OKActions and InsufficientDataActions are looked at as well."""
    alarms = [
        {"AlarmName": "TargetTracking-x-AlarmHigh", "AlarmActions": [f"{POLICY_ARN}:createdBy/abc"]},
        {"AlarmName": "ok", "OKActions": [TOPIC, POLICY_ARN], "InsufficientDataActions": [POLICY_ARN]},
    ]
    assert alarm_links(alarms, {"p": POLICY_ARN}) == (
        AlarmLink("ok", "p", "OKActions", 1),
        AlarmLink("ok", "p", "InsufficientDataActions", 0),
    )


def _links() -> list[AlarmLink]:
    return [AlarmLink("HasBacklogWithoutCapacity", "scale-out-from-zero", "AlarmActions", 1)]


def test_an_alarm_still_naming_the_old_arn_gets_the_new_one_in_its_place() -> None:
    """Where the deleted policy's ARN still stands, the new ARN replaces it; every other member is carried."""
    request = repointed_alarm(
        ALARM, _links(), {"scale-out-from-zero": POLICY_ARN}, {"scale-out-from-zero": NEW_ARN}, SHAPES.put_metric_alarm
    )
    expected = {
        k: v
        for k, v in ALARM.items()
        if k
        not in ("AlarmArn", "AlarmConfigurationUpdatedTimestamp", "StateValue", "StateReason", "StateUpdatedTimestamp")
    }
    assert request == {**expected, "AlarmActions": [TOPIC, NEW_ARN]}


def test_an_alarm_whose_action_aws_removed_gets_the_new_arn_where_the_old_one_was() -> None:
    """Deleting a step policy removes its ARN from the alarm; the new one goes back to the recorded position."""
    alarm = {**ALARM, "AlarmActions": [TOPIC]}
    request = repointed_alarm(
        alarm, _links(), {"scale-out-from-zero": POLICY_ARN}, {"scale-out-from-zero": NEW_ARN}, SHAPES.put_metric_alarm
    )
    assert request is not None and request["AlarmActions"] == [TOPIC, NEW_ARN]
    alarm = {**ALARM, "AlarmActions": []}
    request = repointed_alarm(
        alarm, _links(), {"scale-out-from-zero": POLICY_ARN}, {"scale-out-from-zero": NEW_ARN}, SHAPES.put_metric_alarm
    )
    assert request is not None and request["AlarmActions"] == [NEW_ARN]


def test_an_alarm_already_naming_the_current_arn_is_left_alone() -> None:
    """A restore repeated after it completed (or a policy never re-created) puts no alarm."""
    assert (
        repointed_alarm(
            ALARM,
            _links(),
            {"scale-out-from-zero": POLICY_ARN},
            {"scale-out-from-zero": POLICY_ARN},
            SHAPES.put_metric_alarm,
        )
        is None
    )


def _value(shape: Shape, depth: int = 0) -> Any:
    """Some value of ``shape`` (patterns ignored: nothing here validates)."""
    if isinstance(shape, StructureShape):
        return {name: _value(member, depth + 1) for name, member in shape.members.items() if depth < 6}
    if isinstance(shape, ListShape):
        return [_value(shape.member, depth + 1)]
    if isinstance(shape, MapShape):
        return {"k": _value(shape.value, depth + 1)}
    return {"integer": 1, "long": 1, "float": 1.5, "double": 1.5, "boolean": False, "timestamp": "2026-11-01"}.get(
        shape.type_name, "x"
    )


def test_every_member_putmetricalarm_takes_is_carried() -> None:
    """Whatever botocore's PutMetricAlarm input names (new members included) and the description holds goes
    back, Tags excepted (ignored on an update)."""
    described = _SESSION.get_service_model("cloudwatch").shape_for("MetricAlarm")
    alarm = {**_value(described), "AlarmName": "a", "AlarmActions": [POLICY_ARN]}
    request = repointed_alarm(
        alarm, [AlarmLink("a", "p", "AlarmActions", 0)], {"p": POLICY_ARN}, {"p": NEW_ARN}, SHAPES.put_metric_alarm
    )
    assert request is not None
    takes = set(SHAPES.put_metric_alarm.members) - {"Tags"}
    assert set(request) == takes & set(described.members)
    assert {"EvaluationWindow", "ThresholdMetricId", "Metrics"} <= set(request)  # members beyond the classic ones


def test_the_record_round_trips_through_tag_values_sagemaker_accepts() -> None:
    """Encoded, the record is pieces of at most 256 tag-value characters under numbered keys; decoded, it is
    the same settings (times as ISO 8601, which botocore takes back)."""
    saved = _saved()
    tags = encode_record(saved)
    assert all(re.fullmatch(rf"{re.escape(RECORD_PREFIX)}\d+/{len(tags)}", key) for key in tags)
    assert all(len(value) <= 256 and TAG_VALUE.fullmatch(value) for value in tags.values())
    decoded = decode_record({**tags, "managed-by": "sagemaker-async-deploy"})
    assert decoded is not None
    assert decoded.policies == saved.policies
    assert decoded.target == saved.target and decoded.tags == saved.tags and decoded.alarms == saved.alarms
    assert decoded.scheduled_actions[0]["StartTime"] == "2026-12-01T22:00:00+00:00"
    assert decode_record({"managed-by": "sagemaker-async-deploy"}) is None


def test_a_large_setup_still_fits_a_few_tags() -> None:
    """Ten step policies and twenty scheduled actions take far fewer tags than the 50 a resource has."""
    policies = [{**STEP_POLICY, "PolicyName": f"p{i}", "PolicyARN": f"{POLICY_ARN}{i}"} for i in range(10)]
    scheduled = [{**SCHEDULED, "ScheduledActionName": f"s{i}"} for i in range(20)]
    tags = encode_record(saved_scaling(TARGET, {}, policies, scheduled, [ALARM], SHAPES))
    assert len(tags) <= 10


@pytest.mark.parametrize(
    "damage",
    ["drop the last piece", "foreign key", "garbage", "wrong version"],
)
def test_a_damaged_record_is_refused_not_guessed(damage: str) -> None:
    """Missing pieces, a stray key, bytes that do not decompress or a record of another version raise."""
    saved = SavedScaling(
        RESOURCE, {"ResourceId": RESOURCE}, {}, tuple({"PolicyName": f"p{i}" * 40} for i in range(9)), {}
    )
    tags = encode_record(saved)
    assert len(tags) > 1
    if damage == "drop the last piece":
        tags.pop(max(tags))
    elif damage == "foreign key":
        tags[f"{RECORD_PREFIX}notes"] = "x"
    elif damage == "garbage":
        tags = {f"{RECORD_PREFIX}1/1": "bm90IHpsaWI="}
    else:
        tags = {f"{RECORD_PREFIX}1/1": base64.b64encode(zlib.compress(b'{"Version": 99}')).decode()}
    with pytest.raises(RecordError):
        decode_record(tags)


def test_tags_aws_sets_do_not_count_against_the_limit() -> None:
    """Tags with the reserved aws: prefix are outside the 50 a resource may carry."""
    assert counted_tags({"aws:cloudformation:stack-name": "s", "team": "t", "AWS:x": "y"}) == 1


def test_the_summary_counts_in_words() -> None:
    """One of a kind reads singular, none and several plural; alarms are counted once however many links."""
    links = (
        AlarmLink("a", "p", "AlarmActions", 0),
        AlarmLink("a", "p", "OKActions", 0),
        AlarmLink("b", "p", "OKActions", 0),
    )
    one = SavedScaling(RESOURCE, {"MinCapacity": 1, "MaxCapacity": 4}, {}, ({"PolicyName": "p"},), {}, (), links[:1])
    assert one.summary() == "1–4 instances, 1 scaling policy, 0 scheduled actions, 1 alarm naming a policy"
    two = SavedScaling(RESOURCE, {"MinCapacity": 0, "MaxCapacity": 2}, {}, ({}, {}), {}, ({}, {}), links)
    assert two.summary() == "0–2 instances, 2 scaling policies, 2 scheduled actions, 2 alarms naming a policy"


def _fresh_links(*links: AlarmLink) -> list[AlarmLink]:
    """Links as a decoded record holds them: their strings parsed from JSON, new objects."""
    return [AlarmLink(*json.loads(json.dumps([x.alarm, x.policy, x.member, x.index]))) for x in links]


def test_each_link_is_repointed_only_in_its_own_action_list() -> None:
    """A link in OKActions changes OKActions alone, however the member names sort, and links read back from a
    record (new strings) work as well."""
    alarm = {**ALARM, "AlarmActions": [TOPIC], "OKActions": [POLICY_ARN]}
    links = _fresh_links(AlarmLink("HasBacklogWithoutCapacity", "scale-out-from-zero", "OKActions", 0))
    request = repointed_alarm(
        alarm, links, {"scale-out-from-zero": POLICY_ARN}, {"scale-out-from-zero": NEW_ARN}, SHAPES.put_metric_alarm
    )
    assert request is not None
    assert (request["AlarmActions"], request["OKActions"]) == ([TOPIC], [NEW_ARN])


def test_a_link_with_nothing_to_do_does_not_stop_the_next_one() -> None:
    """A policy not re-created (no new ARN) is passed over; the next link in the same list is still repointed."""
    other = POLICY_ARN.replace("scale-out-from-zero", "scale-in")
    alarm = {**ALARM, "AlarmActions": [other, POLICY_ARN]}
    links = [
        AlarmLink("HasBacklogWithoutCapacity", "scale-in", "AlarmActions", 0),
        AlarmLink("HasBacklogWithoutCapacity", "scale-out-from-zero", "AlarmActions", 1),
    ]
    old = {"scale-in": other, "scale-out-from-zero": POLICY_ARN}
    request = repointed_alarm(alarm, links, old, {"scale-out-from-zero": NEW_ARN}, SHAPES.put_metric_alarm)
    assert request is not None and request["AlarmActions"] == [other, NEW_ARN]


def test_empty_and_null_members_are_left_out_of_the_alarm_request() -> None:
    """moto's "Metrics": [] and a null member mean absent: neither is sent; the action lists always are."""
    alarm = {**ALARM, "Metrics": [], "ExtendedStatistic": None, "OKActions": []}
    request = repointed_alarm(
        alarm, _links(), {"scale-out-from-zero": POLICY_ARN}, {"scale-out-from-zero": NEW_ARN}, SHAPES.put_metric_alarm
    )
    assert request is not None
    assert "Metrics" not in request and "ExtendedStatistic" not in request
    assert request["OKActions"] == []


def _tags_of(document: dict[str, Any], pieces: int = 1) -> dict[str, str]:
    """``document`` as a record of ``pieces`` tags, cut by hand."""
    packed = base64.b64encode(zlib.compress(json.dumps(document).encode())).decode()
    size = -(-len(packed) // pieces)
    parts = [packed[i : i + size] for i in range(0, len(packed), size)]
    assert len(parts) == pieces
    return {f"{RECORD_PREFIX}{i}/{pieces}": part for i, part in enumerate(parts, start=1)}


RECORD = {
    "Version": 1,
    "ResourceId": RESOURCE,
    "ScalableTarget": {"ResourceId": RESOURCE},
    "PolicyARNs": {"p": POLICY_ARN},
}


def test_a_record_of_three_pieces_decodes() -> None:
    """The pieces 1 to n of n, whatever n, put back together in order; the policy ARNs come back too."""
    decoded = decode_record(_tags_of(RECORD, pieces=3))
    assert decoded is not None
    assert (decoded.resource_id, decoded.policy_arns) == (RESOURCE, {"p": POLICY_ARN})


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (["1/2", "2/3"], "do not add up"),  # two totals
        (["1/3", "2/3"], "do not add up"),  # the last missing
        (["1/3", "3/3"], "do not add up"),  # one in the middle missing
        (["1/x"], "is not a piece of the record"),
        (["x/1"], "is not a piece of the record"),
    ],
)
def test_pieces_that_do_not_make_a_record_are_refused(keys: list[str], message: str) -> None:
    """Pieces of two totals, missing ones and keys that are not "<i>/<n>" are refused with what is wrong."""
    with pytest.raises(RecordError, match=message):
        decode_record({f"{RECORD_PREFIX}{key}": "eA==" for key in keys})


@pytest.mark.parametrize("version", [0, 2])
def test_a_record_of_another_version_is_refused(version: int) -> None:
    """An older or a newer record version is not guessed at."""
    with pytest.raises(RecordError, match=f"record version {version}, this action reads 1"):
        decode_record(_tags_of({**RECORD, "Version": version}))


def test_the_same_settings_make_the_same_record() -> None:
    """Members in another order make the same tags: a rerun records what is there without a change."""
    one = SavedScaling(RESOURCE, {"MinCapacity": 0, "MaxCapacity": 4}, {"a": "1", "b": "2"}, (), {})
    other = SavedScaling(RESOURCE, {"MaxCapacity": 4, "MinCapacity": 0}, {"b": "2", "a": "1"}, (), {})
    assert encode_record(one) == encode_record(other)
