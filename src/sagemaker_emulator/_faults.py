"""Faults a test (or a person, through the control API) arms before the action runs.

A plain store: arming a fault records it, and the backend consults the store (``take_*``) when a request it could
change arrives. The store knows nothing of the backend; the few faults that act on an endpoint at once (``busy``,
``system_update``, ``scale_to_zero``, ``hold``, ``release``) go through the small ``EndpointControl`` protocol the
backend implements.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, TypeVar

from ._invocations import AsyncAnswer, AsyncAnswers

UpdateFaultKind = Literal["rollback", "fail", "rollback_failed", "unhealthy", "crash_loop"]
FailedUpdateEnd = Literal["InService", "Failed"]
QuotaCall = Literal["update", "create"]
HeldCall = Literal["create", "update", "delete"]
RejectedCode = Literal["UnrecognizedClientException", "InvalidClientTokenId"]


class EndpointControl(Protocol):
    """What the faults that act on an existing endpoint at once need from the backend."""

    def make_busy(self, name: str, seconds: float, region: str | None, held: bool) -> None: ...

    def system_update(self, name: str, seconds: float, region: str | None, held: bool) -> None: ...

    def scale_to_zero(self, name: str, region: str | None) -> None: ...

    def hold(self, name: str, region: str | None) -> None: ...

    def release(self, name: str, region: str | None) -> None: ...

    def step(self, name: str, region: str | None) -> bool: ...


@dataclass(frozen=True)
class UpdateFault:
    kind: UpdateFaultKind
    endpoint_name: str | None
    reason: str = ""
    # Only for kind "fail": where the endpoint ends up (see Faults.fail_next_update).
    end_status: FailedUpdateEnd = "InService"
    # Only for kind "rollback": the alarm that goes to ALARM, and the traffic step or rolling batch (1-based).
    alarm: str | None = None
    at_step: int = 1
    # Only for kinds "unhealthy" and "crash_loop": what the new fleet's container writes before failing its health
    # check (crash_loop: each time it crashes, ``restarts`` times while SageMaker waits out the start-up timeout).
    log_lines: tuple[str, ...] = ()
    restarts: int = 0


@dataclass(frozen=True)
class CreateFault:
    endpoint_name: str | None
    reason: str


@dataclass(frozen=True)
class QuotaFault:
    call: QuotaCall
    endpoint_name: str | None
    message: str | None


@dataclass(frozen=True)
class LagFault:
    endpoint_name: str | None
    seconds: float


@dataclass(frozen=True)
class Invisibility:
    """Models and endpoint configs created while this is armed stay invisible to ``requests`` requests that name
    them; with ``endpoint_name``, only to CreateEndpoint / UpdateEndpoint of that endpoint."""

    requests: int
    endpoint_name: str | None


@dataclass(frozen=True)
class FollowingUpdate:
    """Someone else's UpdateEndpoint to ``config_name``, arriving the moment the next update settles."""

    endpoint_name: str | None
    config_name: str


@dataclass(frozen=True)
class LostRace:
    """Someone else's update of the same config that lands right before one UpdateEndpoint, for ``seconds``."""

    endpoint_name: str | None
    seconds: float


@dataclass(frozen=True)
class ServerError:
    """A 5xx answer to the next ``times`` requests of ``operation`` (any service on a JSON protocol)."""

    operation: str
    times: int
    status: int
    code: str
    after_acting: bool = False


@dataclass
class _Store:
    updates: list[UpdateFault] = field(default_factory=list)
    creates: list[CreateFault] = field(default_factory=list)
    quotas: list[QuotaFault] = field(default_factory=list)
    lags: list[LagFault] = field(default_factory=list)
    # (the call whose answer starts the hold, the endpoint it is for or None for any)
    holds_next: list[tuple[HeldCall, str | None]] = field(default_factory=list)
    invisibility: Invisibility | None = None
    extra_members: dict[str, dict[str, Any]] = field(default_factory=dict)
    following: list[FollowingUpdate] = field(default_factory=list)
    lost_races: list[LostRace] = field(default_factory=list)
    denied: set[str] = field(default_factory=set)
    throttle: int = 0
    expire_after: int | None = None
    reject_after: int | None = None
    rejected_code: RejectedCode = "UnrecognizedClientException"
    server_errors: list[ServerError] = field(default_factory=list)
    # operation -> (the answer's list, member, value): items of moto's answers carry a member AWS added later
    item_members: dict[str, tuple[str, str, Any]] = field(default_factory=dict)
    answers: list[AsyncAnswers] = field(default_factory=list)


class Faults:
    """Armed misbehaviour. One-shot faults are consumed by the first request they match."""

    def __init__(self, control: EndpointControl) -> None:
        self._control = control
        self._lock = threading.Lock()
        self._store = _Store()

    def clear(self) -> None:
        with self._lock:
            self._store = _Store()

    # Update outcomes

    def rollback_next_update(
        self,
        endpoint_name: str | None = None,
        *,
        alarm: str | None = None,
        reason: str | None = None,
        at_step: int = 1,
    ) -> None:
        """The next UpdateEndpoint is rolled back by SageMaker at traffic step / rolling batch ``at_step``:
        Updating -> (rolling back: Updating, or RollingBack with Behaviour.status_during_update_rollback) ->
        InService on the OLD config, no PendingDeploymentSummary.

        With ``alarm``, that CloudWatch alarm goes to ALARM (StateReason ``reason``) during that step's bake, before
        SageMaker rolls back, so DescribeAlarms and DescribeAlarmHistory show it."""
        if at_step < 1:
            raise ValueError("at_step counts traffic steps from 1")
        with self._lock:
            self._store.updates.append(
                UpdateFault("rollback", endpoint_name, reason or "", alarm=alarm, at_step=int(at_step))
            )

    def fail_next_update(
        self, reason: str, endpoint_name: str | None = None, end_status: FailedUpdateEnd = "InService"
    ) -> None:
        """The next UpdateEndpoint fails with ``reason``.

        ``end_status="InService"`` (default): the blue/green deployment failed before traffic moved, so the
        old fleet keeps serving: InService, old EndpointConfigName, FailureReason set.
        ``end_status="Failed"``: the endpoint ends Failed (old EndpointConfigName, FailureReason set).
        """
        if end_status not in ("InService", "Failed"):
            raise ValueError(f"end_status must be InService or Failed, not {end_status!r}")
        with self._lock:
            self._store.updates.append(UpdateFault("fail", endpoint_name, reason, end_status))

    def update_rollback_failed_next(self, reason: str, endpoint_name: str | None = None) -> None:
        """The next UpdateEndpoint goes Updating -> rolling back (see Behaviour.status_during_update_rollback) ->
        UpdateRollbackFailed with ``reason``."""
        with self._lock:
            self._store.updates.append(UpdateFault("rollback_failed", endpoint_name, reason))

    def unhealthy_next_update(self, log_lines: list[str] | tuple[str, ...], endpoint_name: str | None = None) -> None:
        """The next UpdateEndpoint's new fleet writes ``log_lines`` to its CloudWatch Logs streams and fails its
        ping health check; the update ends as SageMaker ends it (see the backend)."""
        if isinstance(log_lines, str):
            raise TypeError("log_lines is a list of lines, not one string")
        with self._lock:
            self._store.updates.append(UpdateFault("unhealthy", endpoint_name, log_lines=tuple(log_lines)))

    def crash_loop_next_update(
        self, log_lines: list[str] | tuple[str, ...], endpoint_name: str | None = None, *, restarts: int = 3
    ) -> None:
        """The next UpdateEndpoint's new fleet starts, then crashes ``restarts`` times while it launches, each time
        writing ``log_lines`` (a traceback) to its streams and starting again; at the launch's end it has not passed
        the ping health check, and the update ends as for ``unhealthy_next_update``."""
        if isinstance(log_lines, str):
            raise TypeError("log_lines is a list of lines, not one string")
        if restarts < 1:
            raise ValueError("restarts counts the crashes, at least 1")
        with self._lock:
            self._store.updates.append(
                UpdateFault("crash_loop", endpoint_name, log_lines=tuple(log_lines), restarts=int(restarts))
            )

    def fail_next_create(self, reason: str, endpoint_name: str | None = None) -> None:
        """The next CreateEndpoint goes Creating -> Failed with ``reason``."""
        with self._lock:
            self._store.creates.append(CreateFault(endpoint_name, reason))

    # Refusals and reads

    def quota_next_update(self, message: str | None = None, endpoint_name: str | None = None) -> None:
        """The next UpdateEndpoint answers ResourceLimitExceeded (``message``, or AWS's wording for the new fleet)."""
        with self._lock:
            self._store.quotas.append(QuotaFault("update", endpoint_name, message))

    def quota_next_create(self, message: str | None = None, endpoint_name: str | None = None) -> None:
        """The next CreateEndpoint answers ResourceLimitExceeded (``message``, or AWS's wording for the fleet)."""
        with self._lock:
            self._store.quotas.append(QuotaFault("create", endpoint_name, message))

    def lag_reads(self, seconds: float, endpoint_name: str | None = None) -> None:
        """After the next UpdateEndpoint or CreateEndpoint (of ``endpoint_name``), DescribeEndpoint keeps answering
        what it answered before that call for ``seconds``."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        with self._lock:
            self._store.lags.append(LagFault(endpoint_name, float(seconds)))

    def invisible_after_create(self, requests: int, endpoint_name: str | None = None) -> None:
        """Every model and endpoint config created from now on is invisible ("Could not find …") to the next
        ``requests`` requests that name it; with ``endpoint_name``, only to CreateEndpoint / UpdateEndpoint of
        that endpoint."""
        if requests < 0:
            raise ValueError("requests must not be negative")
        with self._lock:
            self._store.invisibility = Invisibility(int(requests), endpoint_name)

    def extra_member(self, operation: str, member: str, value: Any) -> None:
        """Answers of ``operation`` carry the top-level ``member`` (one the installed botocore may not know)."""
        with self._lock:
            self._store.extra_members.setdefault(operation, {})[member] = value

    def extra_item_member(self, operation: str, items: str, member: str, value: Any) -> None:
        """Each item of the list ``items`` in answers of ``operation`` (a service moto answers in JSON, e.g.
        DescribeAlarms' MetricAlarms or DescribeScalingPolicies' ScalingPolicies) carries ``member``: a setting AWS
        added after the installed botocore, which botocore's parser drops."""
        with self._lock:
            self._store.item_members[operation] = (items, member, value)

    def throttle(self, n: int) -> None:
        """The next ``n`` SageMaker requests answer HTTP 400 ThrottlingException "Rate exceeded"."""
        if n < 0:
            raise ValueError("n must not be negative")
        with self._lock:
            self._store.throttle = n

    def expire_credentials(self, after_requests: int = 0) -> None:
        """After ``after_requests`` more SageMaker requests the caller's session token has expired: every
        further request answers HTTP 400 ExpiredTokenException, as an OIDC session does after an hour."""
        if after_requests < 0:
            raise ValueError("after_requests must not be negative")
        with self._lock:
            self._store.expire_after = after_requests

    def reject_credentials(self, after_requests: int = 0, code: RejectedCode = "UnrecognizedClientException") -> None:
        """After ``after_requests`` more SageMaker requests every request answers that the caller's credentials are
        not AWS's: ``UnrecognizedClientException`` (HTTP 400, "The security token included in the request is
        invalid.", SageMaker's JSON protocol: aws/amazon-sagemaker-operator-for-k8s #99) or ``InvalidClientTokenId``
        (HTTP 403, "The X.509 certificate or AWS access key ID provided does not exist in our records.", the
        SageMaker API reference's Common Errors), as a deleted access key or a role in another account gets."""
        if after_requests < 0:
            raise ValueError("after_requests must not be negative")
        if code not in ("UnrecognizedClientException", "InvalidClientTokenId"):
            raise ValueError(f"code is UnrecognizedClientException or InvalidClientTokenId, not {code!r}")
        with self._lock:
            self._store.reject_after = after_requests
            self._store.rejected_code = code

    def server_error(
        self,
        operation: str,
        times: int = 1,
        status: int = 500,
        code: str = "InternalServiceException",
        after_acting: bool = False,
    ) -> None:
        """The next ``times`` requests of ``operation`` answer HTTP ``status`` with error ``code`` ("The service
        encountered an internal error.", Application Auto Scaling's InternalServiceException in botocore's model),
        for SageMaker and the services moto answers on a JSON protocol (X-Amz-Target), e.g. Application Auto
        Scaling; SageMaker's model declares no 5xx error, so give it AWS's common ``InternalFailure``. botocore
        retries a 5xx: arm as many as the caller's attempts. With ``after_acting`` the request is carried out first
        and only its answer is lost, as a 5xx does not prove that nothing happened."""
        if times < 1 or not 500 <= status <= 599:
            raise ValueError("times is at least 1 and status a 5xx")
        with self._lock:
            self._store.server_errors.append(ServerError(operation, int(times), int(status), code, after_acting))

    def deny(self, operation: str) -> None:
        """Every later SageMaker ``operation`` request answers AccessDeniedException, as for a role whose policy
        does not allow that action (until ``clear``)."""
        with self._lock:
            self._store.denied.add(operation)

    def update_when_settled(self, config_name: str, endpoint_name: str | None = None) -> None:
        """The moment the next UpdateEndpoint (of ``endpoint_name``) settles, someone else's UpdateEndpoint to
        ``config_name`` arrives and is accepted: the endpoint goes Updating again, then InService on that config.
        A caller polling DescribeEndpoint sees the second update, never the moment between the two."""
        with self._lock:
            self._store.following.append(FollowingUpdate(endpoint_name, config_name))

    def lose_update_races(self, times: int, seconds: float = 0.2, endpoint_name: str | None = None) -> None:
        """Each of the next ``times`` UpdateEndpoint calls (of ``endpoint_name``) on an InService endpoint arrives
        right after someone else's update of the same config: the endpoint is Updating for ``seconds`` and the
        call is refused 'Cannot update in-progress endpoint'."""
        if times < 0 or seconds <= 0:
            raise ValueError("times must not be negative and seconds must be positive")
        with self._lock:
            self._store.lost_races += [LostRace(endpoint_name, float(seconds))] * int(times)

    # What a model answers asynchronous requests

    def async_answers(self, answer: AsyncAnswer, image: str | None = None, body: str = "") -> None:
        """From now on (until ``clear``) the model whose container image is ``image`` (any model: None) answers
        InvokeEndpointAsync with ``answer``: ``failure`` writes a failure object holding ``body`` to the config's
        S3FailurePath, ``never`` writes nothing, ``output`` writes ``body`` as the output object."""
        if answer not in ("output", "failure", "never"):
            raise ValueError(f"answer is output, failure or never, not {answer!r}")
        with self._lock:
            self._store.answers.insert(0, AsyncAnswers(image, answer, body))

    def answers_for(self, image: str) -> AsyncAnswers | None:
        """The latest armed answer for ``image`` (or for any image), None: the model is healthy."""
        with self._lock:
            return next((a for a in self._store.answers if a.image in (None, image)), None)

    # Faults that act on an existing endpoint at once

    def busy(self, endpoint_name: str, seconds: float, region: str | None = None, held: bool = False) -> None:
        """The endpoint is Updating for ``seconds`` because of someone else's update of the same config.

        With ``held``, it is held at once (as ``hold`` does), in the same step: it stays Updating until
        ``release`` and then takes ``seconds`` more, so a test can make that update outlast anything (an action's
        start-up on a loaded machine) without guessing a length."""
        self._control.make_busy(endpoint_name, seconds, region, held)

    def system_update(self, endpoint_name: str, seconds: float, region: str | None = None, held: bool = False) -> None:
        """AWS maintains the endpoint for ``seconds``: SystemUpdating, then InService on the same config.

        DescribeEndpoint's API reference: "SystemUpdating: Endpoint is undergoing maintenance and cannot be updated
        or deleted or re-scaled until it has completed. This maintenance operation does not change any
        customer-specified values such as VPC config, KMS encryption, model, instance type, or instance count." So
        no PendingDeploymentSummary (no new config rolls out) and UpdateEndpoint / DeleteEndpoint meanwhile are
        refused as for any endpoint in progress. With ``held``, as for ``busy``: SystemUpdating until ``release``,
        then ``seconds`` more."""
        self._control.system_update(endpoint_name, seconds, region, held)

    def scale_to_zero(self, endpoint_name: str, region: str | None = None) -> None:
        """The endpoint's variants run 0 instances (async endpoint at min 0)."""
        self._control.scale_to_zero(endpoint_name, region)

    def hold(self, endpoint_name: str, region: str | None = None) -> None:
        """Freeze the endpoint's lifecycle in its current state until ``release``; its scheduled steps shift by
        the time it was held."""
        self._control.hold(endpoint_name, region)

    def release(self, endpoint_name: str, region: str | None = None) -> None:
        """Let a held endpoint's lifecycle go on where it stopped."""
        self._control.release(endpoint_name, region)

    def step(self, endpoint_name: str, region: str | None = None) -> bool:
        """Move a held endpoint on to its next lifecycle phase now; it stays held. False when nothing is left."""
        return self._control.step(endpoint_name, region)

    def hold_next_update(self, endpoint_name: str | None = None) -> None:
        """Hold the endpoint right after the next UpdateEndpoint (of ``endpoint_name``) returns: it stays Updating
        until ``release``."""
        self._hold_next("update", endpoint_name)

    def hold_next_create(self, endpoint_name: str | None = None) -> None:
        """Hold the endpoint from the moment the next CreateEndpoint (of ``endpoint_name``) returns: it stays
        Creating until ``release`` (or ``step``), however slow the test that watches it."""
        self._hold_next("create", endpoint_name)

    def hold_next_delete(self, endpoint_name: str | None = None) -> None:
        """Hold the endpoint from the moment the next DeleteEndpoint (of ``endpoint_name``) returns: it stays
        Deleting until ``release`` (or ``step``)."""
        self._hold_next("delete", endpoint_name)

    def _hold_next(self, call: HeldCall, endpoint_name: str | None) -> None:
        with self._lock:
            self._store.holds_next.append((call, endpoint_name))

    # Consumption, used by the backend and the server.

    def take_expired(self) -> bool:
        with self._lock:
            if self._store.expire_after is None:
                return False
            if self._store.expire_after > 0:
                self._store.expire_after -= 1
                return False
            return True

    def take_rejected(self) -> RejectedCode | None:
        with self._lock:
            if self._store.reject_after is None:
                return None
            if self._store.reject_after > 0:
                self._store.reject_after -= 1
                return None
            return self._store.rejected_code

    def take_server_error(self, operation: str) -> ServerError | None:
        with self._lock:
            for armed in self._store.server_errors:
                if armed.operation == operation:
                    self._store.server_errors.remove(armed)
                    if armed.times > 1:
                        self._store.server_errors.append(replace(armed, times=armed.times - 1))
                    return armed
            return None

    def is_denied(self, operation: str) -> bool:
        with self._lock:
            return operation in self._store.denied

    def take_following_update(self, endpoint_name: str) -> FollowingUpdate | None:
        with self._lock:
            return _take(self._store.following, endpoint_name)

    def take_lost_race(self, endpoint_name: str) -> LostRace | None:
        with self._lock:
            return _take(self._store.lost_races, endpoint_name)

    def take_throttle(self) -> bool:
        with self._lock:
            if self._store.throttle > 0:
                self._store.throttle -= 1
                return True
            return False

    def take_update_fault(self, endpoint_name: str) -> UpdateFault | None:
        with self._lock:
            return _take(self._store.updates, endpoint_name)

    def take_create_fault(self, endpoint_name: str) -> CreateFault | None:
        with self._lock:
            return _take(self._store.creates, endpoint_name)

    def take_quota(self, call: QuotaCall, endpoint_name: str) -> QuotaFault | None:
        with self._lock:
            for fault in self._store.quotas:
                if fault.call == call and fault.endpoint_name in (None, endpoint_name):
                    self._store.quotas.remove(fault)
                    return fault
            return None

    def take_lag(self, endpoint_name: str) -> LagFault | None:
        with self._lock:
            return _take(self._store.lags, endpoint_name)

    def take_hold_next(self, call: HeldCall, endpoint_name: str) -> bool:
        """Whether a hold_next_<call> was armed for this endpoint (or any); consumed if so."""
        with self._lock:
            for armed in self._store.holds_next:
                if armed[0] == call and armed[1] in (None, endpoint_name):
                    self._store.holds_next.remove(armed)
                    return True
            return False

    def invisibility(self) -> Invisibility | None:
        with self._lock:
            return self._store.invisibility

    def item_member(self, operation: str) -> tuple[str, str, Any] | None:
        with self._lock:
            return self._store.item_members.get(operation)

    def extra_members(self, operation: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._store.extra_members.get(operation, {}))


class _Named(Protocol):
    @property
    def endpoint_name(self) -> str | None: ...


_T = TypeVar("_T", bound=_Named)


def _take(faults: list[_T], endpoint_name: str) -> _T | None:
    for fault in faults:
        if fault.endpoint_name in (None, endpoint_name):
            faults.remove(fault)
            return fault
    return None


# The names the control API and the CLI accept: every public arming method above.
FAULT_NAMES = (
    "rollback_next_update",
    "fail_next_update",
    "update_rollback_failed_next",
    "unhealthy_next_update",
    "crash_loop_next_update",
    "fail_next_create",
    "quota_next_update",
    "quota_next_create",
    "lag_reads",
    "invisible_after_create",
    "extra_member",
    "extra_item_member",
    "throttle",
    "expire_credentials",
    "reject_credentials",
    "deny",
    "server_error",
    "update_when_settled",
    "lose_update_races",
    "busy",
    "system_update",
    "scale_to_zero",
    "hold",
    "release",
    "step",
    "hold_next_update",
    "hold_next_create",
    "hold_next_delete",
    "async_answers",
)


def apply_fault(faults: Faults, spec: Any) -> None:
    """Arm one fault from ``{"fault": "<method name>", <its keyword arguments>}``."""
    if not isinstance(spec, dict) or spec.get("fault") not in FAULT_NAMES:
        raise ValueError(f'a fault is {{"fault": one of {", ".join(FAULT_NAMES)}, ...arguments}}, not {spec!r}')
    kwargs = {k: v for k, v in spec.items() if k != "fault"}
    getattr(faults, spec["fault"])(**kwargs)
