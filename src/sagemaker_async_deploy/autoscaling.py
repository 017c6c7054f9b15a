"""Application Auto Scaling around an instance-type change, kept whole and kept where the next run finds it.

SageMaker refuses to change the instance type of a variant that is a scalable target, and deregistering the target
deletes its scaling policies and scheduled actions (DeregisterScalableTarget API reference). So before the update
everything is read — the target (limits, SuspendedState, tags), its policies (step, target tracking, and predictive
ones should AWS offer them for SageMaker), its scheduled actions, and the CloudWatch alarms whose actions name one
of its policies — and recorded on the endpoint itself, as tags, before the target is deregistered.

Afterwards everything is put back. A policy put back is a new policy with a new ARN: an alarm that named the old
ARN would trigger nothing, and the endpoint would never scale out from zero again. Each such alarm is put again
with the new ARN where the old one was and every other member as it is now. Target tracking policies make their
own alarms; those are not touched.

The record outlives the process: a run that is killed or cancelled before the restore leaves it on the endpoint,
and the next run of the endpoint, whatever its inputs, restores what is missing and removes the record. A restore
puts back only what is missing (by name), so it can be repeated until it completes.

The record: the settings as compact JSON, zlib-compressed, base64 (whose alphabet is within what SageMaker tag
values allow), cut into tag values of at most 256 characters under the keys
``sagemaker-async-deploy:autoscaling:<i>/<n>``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import json
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from botocore.model import ServiceModel, StructureShape

from . import aws, cancel
from .builders import project
from .config import AUTOSCALING_RECORD_PREFIX, TAG_VALUE_MAX
from .errors import DeployError
from .log import Log, safe
from .outcome import RolloutOutcome
from .state import TRANSITIONAL

Json = aws.Json
T = TypeVar("T")
# A target registered a moment ago may not be visible yet to the calls that name it: RegisterScalableTarget's API
# reference says a new target "might take a brief delay to reach eventual consistency" and asks callers to retry.
# Those calls are retried on exactly the refusal that says so, this long between tries, then the error stands.
NEW_TARGET_WAITS = (0.5, 1.0, 2.0, 4.0)
NOT_REGISTERED_YET = ("ObjectNotFoundException", "ResourceNotFoundException")
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
RECORD_PREFIX = AUTOSCALING_RECORD_PREFIX
RECORD_VERSION = 1
MAX_TAGS = 50  # per resource (botocore model: TagList max 50; AWS's tagging limits); aws: tags do not count
ACTION_MEMBERS = ("AlarmActions", "OKActions", "InsufficientDataActions")


def resource_id(endpoint_name: str, variant_name: str) -> str:
    return f"endpoint/{endpoint_name}/variant/{variant_name}"


# --- what is saved ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmLink:
    """An alarm's action naming a policy: which alarm, which policy, in which action list and where in it."""

    alarm: str
    policy: str  # the policy's name, which survives its re-creation
    member: str  # one of ACTION_MEMBERS
    index: int


@dataclass(frozen=True)
class SavedScaling:
    """Everything needed to put a variant's autoscaling back, as requests."""

    resource_id: str
    target: Json  # RegisterScalableTarget
    tags: dict[str, str]  # the target's own tags (TagResource)
    policies: tuple[Json, ...]  # PutScalingPolicy
    policy_arns: dict[str, str]  # policy name -> its ARN when saved
    scheduled_actions: tuple[Json, ...] = ()  # PutScheduledAction
    alarms: tuple[AlarmLink, ...] = ()

    def summary(self) -> str:
        limits = f"{self.target.get('MinCapacity')}–{self.target.get('MaxCapacity')} instances"
        return (
            f"{limits}, {_count(len(self.policies), 'scaling policy', 'scaling policies')}, "
            f"{_count(len(self.scheduled_actions), 'scheduled action', 'scheduled actions')}, "
            f"{_count(len({a.alarm for a in self.alarms}), 'alarm naming a policy', 'alarms naming a policy')}"
        )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@dataclass(frozen=True)
class Shapes:
    """The input shapes whose members a saved setting may carry (botocore's service models), so that a member AWS
    adds is carried as soon as the installed botocore knows it."""

    register_target: StructureShape
    put_policy: StructureShape
    put_scheduled_action: StructureShape
    put_metric_alarm: StructureShape

    @classmethod
    def of(cls, autoscaling: ServiceModel, cloudwatch: ServiceModel) -> Shapes:
        shapes = [
            autoscaling.operation_model("RegisterScalableTarget").input_shape,
            autoscaling.operation_model("PutScalingPolicy").input_shape,
            autoscaling.operation_model("PutScheduledAction").input_shape,
            cloudwatch.operation_model("PutMetricAlarm").input_shape,
        ]
        assert all(isinstance(s, StructureShape) for s in shapes)
        return cls(*shapes)  # type: ignore[arg-type]


def saved_scaling(
    target: Json,
    target_tags: Mapping[str, str],
    policies: list[Json],
    scheduled_actions: list[Json],
    alarms: list[Json],
    shapes: Shapes,
) -> SavedScaling:
    """What DescribeScalableTargets / DescribeScalingPolicies / DescribeScheduledActions / DescribeAlarms return,
    as the requests that put it back."""
    register = project(target, shapes.register_target)
    # SageMaker variants use Application Auto Scaling's service-linked role; naming it would need iam:PassRole.
    register.pop("RoleARN", None)
    register.pop("Tags", None)  # put with TagResource: RegisterScalableTarget refuses Tags on a target that exists
    arns = {str(p["PolicyName"]): str(p["PolicyARN"]) for p in policies if p.get("PolicyARN")}
    return SavedScaling(
        resource_id=str(target["ResourceId"]),
        target=register,
        tags=dict(target_tags),
        policies=tuple(project(p, shapes.put_policy) for p in policies),
        policy_arns=arns,
        scheduled_actions=tuple(project(a, shapes.put_scheduled_action) for a in scheduled_actions),
        alarms=alarm_links(alarms, arns),
    )


def alarm_links(alarms: list[Json], policy_arns: Mapping[str, str]) -> tuple[AlarmLink, ...]:
    """Each place where an alarm's actions name one of the policies, by exact ARN.

    Target tracking alarms name ``<policy ARN>:createdBy/<id>``: they belong to their policy and are not linked.
    """
    by_arn = {arn: name for name, arn in policy_arns.items()}
    links: list[AlarmLink] = []
    for alarm in alarms:
        for member in ACTION_MEMBERS:
            for index, action in enumerate(alarm.get(member) or []):
                if action in by_arn:
                    links.append(AlarmLink(str(alarm["AlarmName"]), by_arn[action], member, index))
    return tuple(links)


def repointed_alarm(
    alarm: Json, links: list[AlarmLink], old_arns: Mapping[str, str], new_arns: Mapping[str, str], shape: StructureShape
) -> Json | None:
    """PutMetricAlarm for ``alarm`` (as described now) naming each linked policy's new ARN; None: nothing to do.

    Where the old ARN still stands it is replaced in place; where AWS removed it with the policy, the new ARN goes
    back where the old one was. PutMetricAlarm "completely overwrites the previous configuration of the alarm"
    (API reference), so every member of the description that the request takes is carried; Tags are ignored on
    an update and are left out.
    """
    request: Json = project(alarm, shape)
    request.pop("Tags", None)
    changed = False
    for member in ACTION_MEMBERS:
        actions: list[str] = list(request.get(member) or [])
        for link in sorted((x for x in links if x.member == member), key=lambda x: x.index):
            old, new = old_arns.get(link.policy, ""), new_arns.get(link.policy, "")
            if not new or new in actions:
                continue
            if old in actions:
                actions[actions.index(old)] = new
            else:
                actions.insert(min(link.index, len(actions)), new)
            changed = True
        request[member] = actions
    if not changed:
        return None
    # moto describes a non-math alarm with "Metrics": []; empty lists and nulls mean the same as absent.
    return {k: v for k, v in request.items() if k in ACTION_MEMBERS or (v is not None and v != [])}


def blocked_warning(target: Json, bakes: int, bake_seconds: int, fleet: int | None) -> str:
    """What an update costs a variant that autoscales: SageMaker blocks autoscaling "while the update operation is
    in progress" (developer guide, "Update endpoints that use auto scaling", which advises raising the instance
    count first when traffic may grow). How long: the bakes the planner counted, plus launching the new fleet."""
    limits = f"{target.get('MinCapacity')}–{target.get('MaxCapacity')} instances"
    count = f" at {fleet} instance{'s' if fleet != 1 else ''}" if fleet is not None else ""
    baking = bakes * bake_seconds
    length = (
        f"for {bakes} bake{'s' if bakes != 1 else ''} of {bake_seconds} s (about {baking / 60:.0f} min) plus the time "
        "to launch the new fleet"
        if baking
        else "until the new fleet is launched and takes the traffic"
    )
    return (
        f"The variant scales with Application Auto Scaling ({limits}), and SageMaker blocks autoscaling while an "
        f"update is in progress: this rollout holds the variant{count} {length}. If traffic or the backlog may grow "
        "meanwhile, raise the instance count first, as AWS advises (initial-instance-count, or the scalable "
        "target's MinCapacity)."
    )


# --- the record on the endpoint --------------------------------------------------------------------------------


class RecordError(ValueError):
    """The record on the endpoint is incomplete or unreadable."""


def record_keys(tags: Mapping[str, str]) -> list[str]:
    return sorted(k for k in tags if k.startswith(RECORD_PREFIX))


def encode_record(saved: SavedScaling) -> dict[str, str]:
    """The record as tags: ``<prefix><i>/<n>`` → a piece of base64(zlib(JSON)) of at most 256 characters."""
    document = {
        "Version": RECORD_VERSION,
        "ResourceId": saved.resource_id,
        "ScalableTarget": saved.target,
        "Tags": saved.tags,
        "ScalingPolicies": list(saved.policies),
        "PolicyARNs": saved.policy_arns,
        "ScheduledActions": list(saved.scheduled_actions),
        "Alarms": [[a.alarm, a.policy, a.member, a.index] for a in saved.alarms],
    }
    raw = json.dumps(document, separators=(",", ":"), sort_keys=True, default=_json_default).encode()
    # equivalent mutant core/NumberReplacer: any compression level decodes to the same record; 9 only makes it
    # smallest
    packed = base64.b64encode(zlib.compress(raw, 9)).decode("ascii")
    pieces = [packed[i : i + TAG_VALUE_MAX] for i in range(0, len(packed), TAG_VALUE_MAX)]
    return {f"{RECORD_PREFIX}{i}/{len(pieces)}": piece for i, piece in enumerate(pieces, start=1)}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):  # scheduled actions' StartTime / EndTime; botocore takes ISO 8601 back
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def decode_record(tags: Mapping[str, str]) -> SavedScaling | None:
    """The record in ``tags`` (None: there is none); RecordError when pieces are missing or it does not parse."""
    keys = record_keys(tags)
    if not keys:
        return None
    pieces: dict[int, str] = {}
    totals: set[int] = set()
    for key in keys:
        position, _, total = key[len(RECORD_PREFIX) :].partition("/")
        if not (position.isdigit() and total.isdigit()):
            raise RecordError(f"tag {key} is not a piece of the record")
        pieces[int(position)] = tags[key]
        totals.add(int(total))
    # equivalent mutant core/ReplaceComparisonOperator_NotEq_Gt: there is a key, so at least one total
    if len(totals) != 1 or sorted(pieces) != list(range(1, next(iter(totals)) + 1)):
        raise RecordError(f"the record's pieces do not add up: {', '.join(keys)}")
    try:
        document = json.loads(zlib.decompress(base64.b64decode("".join(pieces[i] for i in sorted(pieces)))))
        # equivalent mutant core/ReplaceComparisonOperator_NotEq_IsNot: versions are small ints, one object each
        if document.get("Version") != RECORD_VERSION:
            raise RecordError(f"record version {document.get('Version')!r}, this action reads {RECORD_VERSION}")
        return SavedScaling(
            resource_id=str(document["ResourceId"]),
            target=dict(document["ScalableTarget"]),
            tags=dict(document.get("Tags") or {}),
            policies=tuple(document.get("ScalingPolicies") or ()),
            policy_arns=dict(document.get("PolicyARNs") or {}),
            scheduled_actions=tuple(document.get("ScheduledActions") or ()),
            alarms=tuple(AlarmLink(str(a), str(p), str(m), int(i)) for a, p, m, i in document.get("Alarms") or ()),
        )
    except (binascii.Error, zlib.error, ValueError, KeyError, TypeError, AttributeError) as error:
        if isinstance(error, RecordError):
            raise
        raise RecordError(f"the record does not parse ({type(error).__name__})") from error


def counted_tags(tags: Mapping[str, str]) -> int:
    """Tags that count against the 50 of a resource: those AWS itself sets (aws:…) do not."""
    return sum(not k.lower().startswith("aws:") for k in tags)


# --- the calls -------------------------------------------------------------------------------------------------


@dataclass
class Autoscaling:
    """Saving, recording and restoring one endpoint's autoscaling; what it did goes to the log and the outcome."""

    clients: aws.Clients
    log: Log
    outcome: RolloutOutcome
    _shapes: Shapes | None = field(default=None, init=False)

    @property
    def shapes(self) -> Shapes:
        if self._shapes is None:
            self._shapes = Shapes.of(
                self.clients.autoscaling.meta.service_model, self.clients.cloudwatch.meta.service_model
            )
        return self._shapes

    def warn_if_blocked(
        self, endpoint_name: str, variant_name: str, bakes: int, bake_seconds: int, fleet: int | None
    ) -> None:
        """Before an update of a variant that autoscales: a warning of how long scaling is blocked. A target that
        cannot be read (no permission where no instance-type change needs it) is no reason to stop the run."""
        try:
            target = aws.describe_scalable_target(self.clients.autoscaling, resource_id(endpoint_name, variant_name))
        except (ClientError, BotoCoreError):
            return
        if target is not None:
            self._note(blocked_warning(target, bakes, bake_seconds, fleet), warn=True)

    def suspend(self, endpoint_arn: str, endpoint_name: str, variant_name: str) -> SavedScaling | None:
        """Record the variant's autoscaling on the endpoint, then deregister its target (None: there is none).

        A refusal or a server error from Application Auto Scaling or CloudWatch here comes before any update: it
        is a DeployError naming the service that answered and saying what was changed (nothing, or the target
        deregistered and put back), not a SageMaker refusal of the update."""
        autoscaling = self.clients.autoscaling
        rid = resource_id(endpoint_name, variant_name)
        try:
            target = aws.describe_scalable_target(autoscaling, rid)
            if target is None:
                return None
            policies = aws.describe_scaling_policies(autoscaling, rid)
            scheduled = aws.describe_scheduled_actions(autoscaling, rid)
            target_arn = str(target.get("ScalableTargetARN", ""))
            tags = aws.list_target_tags(autoscaling, target_arn) if target_arn else {}
            # Every metric alarm of the region is read: which ones name a policy cannot be asked for in all three
            # action lists (DescribeAlarms' ActionPrefix filters "alarms that use a certain alarm action").
            alarms = aws.describe_metric_alarms(self.clients.cloudwatch) if policies else []
        except ClientError as error:
            raise _suspend_error(error, f"Nothing was changed: the autoscaling of {rid} was being read.") from error
        _refuse_unknown(rid, target, policies, scheduled)
        saved = saved_scaling(target, tags, policies, scheduled, alarms, self.shapes)
        with self.log.group("Autoscaling settings to restore (JSON)"):
            for line in as_json(saved).splitlines():
                self.log.info(safe(line))
        self._write_record(endpoint_arn, endpoint_name, saved)
        self.log.info(
            f"The variant is an Application Auto Scaling target ({safe(saved.summary())}): recorded on the endpoint, "
            "and deregistered for the instance-type change; it is restored afterwards."
        )
        cancel.check()  # cancelled before the target went: the record alone is left, and the wind-down removes it
        try:
            aws.deregister_scalable_target(autoscaling, rid)
        except ClientError as error:
            raise _suspend_error(error, self._undo_suspend(endpoint_arn, saved)) from error
        self.outcome.writes.append(f"deregistered scalable target {rid}")
        return saved

    def _undo_suspend(self, endpoint_arn: str, saved: SavedScaling) -> str:
        """After DeregisterScalableTarget failed (it may have acted all the same): put back what is missing, remove
        the record; what was changed, in a sentence."""
        rid = saved.resource_id
        unknown = False
        try:
            still_there = aws.describe_scalable_target(self.clients.autoscaling, rid) is not None
        except (ClientError, BotoCoreError):
            still_there, unknown = False, True  # restoring puts back only what is missing
        if not still_there:
            if self.restore(endpoint_arn, saved):
                if unknown:
                    return f"Whether {rid} was deregistered could not be read; whatever was missing has been put back."
                return f"The target {rid} was deregistered all the same and has been put back as it was."
            return (
                f"The target {rid} may have been deregistered and could not be put back now; its settings stay "
                "recorded on the endpoint and the next run of this endpoint restores them."
            )
        try:
            record = record_keys(aws.list_tags(self.clients.sagemaker, endpoint_arn))
            if record:
                aws.delete_tags(self.clients.sagemaker, endpoint_arn, record)
        except (ClientError, BotoCoreError):
            return (
                f"Nothing was deregistered: {rid} still autoscales. The record of its settings stays on the endpoint "
                "(tags sagemaker-async-deploy:autoscaling:*); the next run of this endpoint removes it."
            )
        return f"Nothing was changed: {rid} still autoscales, and the record of its settings was removed."

    def _write_record(self, endpoint_arn: str, endpoint_name: str, saved: SavedScaling) -> None:
        sm = self.clients.sagemaker
        present = aws.list_tags(sm, endpoint_arn)
        stale = record_keys(present)
        record = encode_record(saved)
        room = MAX_TAGS - (counted_tags(present) - len(stale))
        if len(record) > room:
            raise DeployError(
                f"endpoint-name: {endpoint_name} carries {counted_tags(present) - len(stale)} tags and its autoscaling "
                f"settings need {len(record)} more to be recorded on it ({MAX_TAGS} per resource); without the record "
                "a cancelled job would leave the variant without autoscaling, so nothing was deregistered and the "
                "endpoint was not updated. Remove tags from the endpoint (aws sagemaker delete-tags) and run again."
            )
        try:
            # An older record's pieces go first: two records side by side would not add up when read back.
            leftover = [k for k in stale if k not in record]
            if leftover:
                aws.delete_tags(sm, endpoint_arn, leftover)
            aws.add_tags(sm, endpoint_arn, record)
        except ClientError as error:
            code = aws.error_code(error)
            raise DeployError(
                f"Could not record the autoscaling settings on endpoint {endpoint_name} ({safe(code)}: "
                f"{safe(aws.error_message(error))}); nothing was deregistered and the endpoint was not updated. The "
                "role needs sagemaker:AddTags and sagemaker:DeleteTags on the endpoint (the action's "
                "docs/iam-policy.json and docs/iam-policy-autoscaling.json).",
                kind="access-denied" if "AccessDenied" in code else "",
            ) from error
        self.outcome.writes.append(f"autoscaling record on endpoint {endpoint_name} ({len(record)} tags)")

    def after_rollout(self, endpoint_arn: str, saved: SavedScaling, final: Json | None) -> None:
        """Put autoscaling back once the endpoint settled; while it still changes, the record waits for the next run."""
        if final is not None and final.get("EndpointStatus") not in TRANSITIONAL:
            self.restore(endpoint_arn, saved)
            return
        if cancel.requested():
            return  # the wind-down decides, with what SageMaker says by then
        self._note(
            f"Autoscaling of {saved.resource_id} is not restored yet: the endpoint did not settle during this run, and "
            "SageMaker blocks autoscaling during an update. Its settings are recorded on the endpoint; the next run "
            "of this endpoint restores them once the update ends.",
            warn=True,
        )

    def recover(self, endpoint: Json, *, apply: bool) -> None:
        """Start of a run: a record an interrupted run left on the endpoint is restored (apply) or announced (plan)."""
        arn = str(endpoint.get("EndpointArn", ""))
        tags = aws.list_tags(self.clients.sagemaker, arn) if arn else {}
        if not record_keys(tags):
            return
        try:
            saved = decode_record(tags)
        except RecordError as error:
            self._note(
                f"The endpoint carries an autoscaling record this action cannot read ({safe(error)}); it was left as "
                f"it is. Its tags are {', '.join(record_keys(tags))}; restore the variant's autoscaling by hand from "
                "the log of the run that deregistered it, then delete those tags.",
                warn=True,
            )
            return
        assert saved is not None
        if str(endpoint.get("EndpointStatus")) in TRANSITIONAL:
            self._note(
                f"The autoscaling of {saved.resource_id} ({saved.summary()}) is recorded on the endpoint and not "
                "restored while the endpoint changes; the next run of this endpoint restores it once it settled."
            )
            return
        if not apply:
            self._note(
                f"An earlier run was interrupted after deregistering {saved.resource_id} ({saved.summary()}); "
                "the next apply run restores it."
            )
            return
        self.log.info(f"An earlier run was interrupted after recording the autoscaling of {safe(saved.resource_id)}.")
        self.restore(arn, saved, recovered=True)

    def restore(self, endpoint_arn: str, saved: SavedScaling, *, recovered: bool = False) -> bool:
        """Put back what is missing of ``saved``, re-point the alarms, remove the record; False: something failed
        (a warning says what; the record stays for the next run)."""
        try:
            done = self._restore(saved)
            record = record_keys(aws.list_tags(self.clients.sagemaker, endpoint_arn))
            if record:
                aws.delete_tags(self.clients.sagemaker, endpoint_arn, record)
        except (ClientError, BotoCoreError) as error:
            detail = (
                f"{aws.error_code(error)}: {aws.error_message(error)}" if isinstance(error, ClientError) else str(error)
            )
            self._note(
                f"Could not finish restoring autoscaling on {saved.resource_id} ({safe(detail)}). What is missing is "
                "recorded on the endpoint (tags sagemaker-async-deploy:autoscaling:*); the next run of this endpoint "
                "puts it back, or restore it by hand from the group 'Autoscaling settings to restore' in the log.",
                warn=True,
            )
            return False
        if recovered:
            self._note(
                f"An earlier run was interrupted after deregistering {saved.resource_id}; restored from the record "
                f"on the endpoint: {done}."
            )
        else:
            self._note(f"Autoscaling of {saved.resource_id} restored: {done}.")
        return True

    def _restore(self, saved: SavedScaling) -> str:
        autoscaling = self.clients.autoscaling
        rid = saved.resource_id
        done: list[str] = []
        target = aws.describe_scalable_target(autoscaling, rid)
        new = target is None

        def settled(call: Callable[[], T], what: str) -> T:
            return self._after_register(call, what) if new else call()

        if target is None:
            target_arn = aws.register_scalable_target(autoscaling, saved.target)
            done.append(f"target {saved.target.get('MinCapacity')}–{saved.target.get('MaxCapacity')} instances")
            present_tags: dict[str, str] = {}
        else:
            target_arn = str(target.get("ScalableTargetARN", ""))
            present_tags = aws.list_target_tags(autoscaling, target_arn) if saved.tags and target_arn else {}
        missing_tags = {k: v for k, v in saved.tags.items() if k not in present_tags}
        if missing_tags and target_arn:
            settled(lambda: aws.tag_target(autoscaling, target_arn, missing_tags), "TagResource")
            done.append(_count(len(missing_tags), "tag", "tags"))
        current = {str(p["PolicyName"]): str(p["PolicyARN"]) for p in aws.describe_scaling_policies(autoscaling, rid)}
        put = 0
        for policy in saved.policies:
            name = str(policy["PolicyName"])
            if name not in current:
                put_policy = functools.partial(aws.put_scaling_policy, autoscaling, copy.deepcopy(policy))
                current[name] = settled(put_policy, "PutScalingPolicy")
                put += 1
        if put:
            done.append(_count(put, "scaling policy", "scaling policies"))
        present = {str(a["ScheduledActionName"]) for a in aws.describe_scheduled_actions(autoscaling, rid)}
        scheduled = [a for a in saved.scheduled_actions if a["ScheduledActionName"] not in present]
        for action in scheduled:
            settled(
                functools.partial(aws.put_scheduled_action, autoscaling, copy.deepcopy(action)), "PutScheduledAction"
            )
        if scheduled:
            done.append(_count(len(scheduled), "scheduled action", "scheduled actions"))
        repointed = self._repoint(saved, current)
        if repointed:
            done.append(_count(repointed, "alarm re-pointed", "alarms re-pointed"))
        return ", ".join(done) or "nothing was missing"

    def _after_register(self, call: Callable[[], T], what: str) -> T:
        """``call``, naming a target registered a moment ago, retried while Application Auto Scaling answers that
        the target is not registered / not found (NEW_TARGET_WAITS); any other answer, or the last, stands."""
        for wait in (*NEW_TARGET_WAITS, None):
            try:
                return call()
            except ClientError as error:
                if wait is None or aws.error_code(error) not in NOT_REGISTERED_YET:
                    raise
                self.log.info(
                    f"Application Auto Scaling does not see the target registered a moment ago yet ({what}: "
                    f"{safe(aws.error_code(error))}; RegisterScalableTarget is eventually consistent): retrying in "
                    f"{wait:g}s."
                )
                with cancel.interruptible():  # a cancelled job does not wait out the retries
                    time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _repoint(self, saved: SavedScaling, current: Mapping[str, str]) -> int:
        """Put again each alarm that named a re-created policy; how many were put."""
        names = sorted({link.alarm for link in saved.alarms})
        if not names:
            return 0
        cloudwatch = self.clients.cloudwatch
        found = {str(a["AlarmName"]): a for a in aws.describe_metric_alarms(cloudwatch, names)}
        done = 0
        for name in names:
            links = [link for link in saved.alarms if link.alarm == name]
            alarm = found.get(name)
            if alarm is None:
                self._note(
                    f"Alarm {name} named a scaling policy of {saved.resource_id} and no longer exists.", warn=True
                )
                continue
            request = repointed_alarm(alarm, links, saved.policy_arns, current, self.shapes.put_metric_alarm)
            if request is None:
                continue
            unknown = aws.item_unknown_members(alarm)
            if unknown:
                # PutMetricAlarm "completely overwrites the previous configuration of the alarm": what the pinned
                # botocore cannot carry would be lost. The alarm stays as it is; the user re-points it.
                self._note(
                    f"Alarm {name} carries settings the AWS SDK in this version of the action does not know "
                    f"({', '.join(unknown)}); PutMetricAlarm replaces an alarm whole and would drop them, so it was "
                    f"left as it is. Re-point it by hand: {_repoint_by_hand(alarm, links, saved.policy_arns, current)}",
                    warn=True,
                )
                continue
            aws.put_metric_alarm(cloudwatch, request)
            policies = ", ".join(sorted({link.policy for link in links}))
            members = " and ".join(sorted({link.member for link in links}))
            self._note(f"Alarm {name} now names the re-created scaling policy {policies} (its new ARN) in {members}.")
            done += 1
        return done

    def _note(self, text: str, *, warn: bool = False) -> None:
        """A line for the log and for the report (outcome.autoscaling)."""
        if warn:
            self.log.warning(safe(text), title="Autoscaling")
        else:
            self.log.info(safe(text))
        self.outcome.autoscaling.append(text)


def _repoint_by_hand(
    alarm: Json, links: list[AlarmLink], old_arns: Mapping[str, str], new_arns: Mapping[str, str]
) -> str:
    """What to change in an alarm by hand so that it names each linked policy's new ARN, in words."""
    steps: list[str] = []
    for link in sorted(links, key=lambda x: (x.member, x.index)):
        old, new = old_arns.get(link.policy, ""), new_arns.get(link.policy, "")
        if not new or new in (alarm.get(link.member) or []):
            continue
        if old in (alarm.get(link.member) or []):
            steps.append(f"in {link.member}, replace {old} with {new}")
        else:
            steps.append(f"add {new} to {link.member}")
    return "; ".join(steps) + "."


def _refuse_unknown(rid: str, target: Json, policies: list[Json], scheduled: list[Json]) -> None:
    """Deregistering deletes the policies and scheduled actions, and they are put back from what botocore parsed:
    a member it does not know would be lost. Refused before anything is written."""
    found = [("the scalable target", aws.item_unknown_members(target))]
    found += [(f"scaling policy {p.get('PolicyName')}", aws.item_unknown_members(p)) for p in policies]
    found += [(f"scheduled action {a.get('ScheduledActionName')}", aws.item_unknown_members(a)) for a in scheduled]
    unknown = [f"{what} ({', '.join(members)})" for what, members in found if members]
    if unknown:
        raise DeployError(
            f"instance-type: the autoscaling of {rid} holds settings the AWS SDK in this version of the action does "
            f"not know: {safe('; '.join(unknown))}. Changing the instance type deregisters the target, which deletes "
            "its policies and scheduled actions, and putting them back would drop those settings. Nothing was "
            "changed. Use a newer release of the action, or change the instance type by hand with the target "
            "deregistered.",
            kind="refused",
        )


# Which service answers the calls that suspend autoscaling: CloudWatch for the alarms, else Application Auto Scaling.
_SERVICE_OF = {"DescribeAlarms": "CloudWatch"}
# The statement, and the policy file, that grant each call of the suspension: two are reads every deploy may make
# (docs/iam-policy.json), the others those only an instance-type change of an autoscaled variant needs
# (docs/iam-policy-autoscaling.json). Checked against the files by the tests, as the policies are.
_STATEMENT = {
    "DescribeScalableTargets": ("ReadWhetherTheVariantAutoscales", "docs/iam-policy.json"),
    "DescribeAlarms": ("PreflightChecks", "docs/iam-policy.json"),
}
_AUTOSCALING_STATEMENT = ("OptionalKeepAutoscalingAcrossInstanceTypeChanges", "docs/iam-policy-autoscaling.json")


def _suspend_error(error: ClientError, changed: str) -> DeployError:
    """A failed call while suspending autoscaling, before any update: who answered what, and what was changed."""
    code, operation = aws.error_code(error), error.operation_name
    service = _SERVICE_OF.get(operation, "Application Auto Scaling")
    if aws.is_server_error(error):
        advice = f"{service} failed to answer (a server error, after retries); run again."
    elif "AccessDenied" in code:
        statement, policy = _STATEMENT.get(operation, _AUTOSCALING_STATEMENT)
        advice = (
            f"Grant the role {'cloudwatch' if service == 'CloudWatch' else 'application-autoscaling'}:{operation} "
            f"(statement {statement} of the action's {policy})."
        )
    else:
        advice = "Run again; if it persists, change the instance type by hand with the scalable target deregistered."
    return DeployError(
        f"{service} answered {safe(operation)} with {safe(code)}: {safe(aws.error_message(error))}, while the action "
        f"suspended autoscaling for the instance-type change. The endpoint was not updated. {safe(changed)} {advice}",
        kind="access-denied" if "AccessDenied" in code else "",
    )


def as_json(saved: SavedScaling) -> str:
    """The settings as readable JSON: the requests that put them back, for the log."""
    document = {
        "ScalableTarget": saved.target,
        "ScalableTargetTags": saved.tags,
        "ScalingPolicies": list(saved.policies),
        "ScheduledActions": list(saved.scheduled_actions),
        "AlarmsNamingPolicies": [
            {
                "AlarmName": a.alarm,
                "PolicyName": a.policy,
                "In": a.member,
                "PolicyARNWhenSaved": saved.policy_arns.get(a.policy),
            }
            for a in saved.alarms
        ],
    }
    return json.dumps(document, indent=2, default=_json_default)
