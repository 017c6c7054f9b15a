"""Waiting for an endpoint to settle, in process against the emulator: what counts as settled (and as this run's
own update having settled), what each poll logs and records, the deadline and its three messages; and the
progress line on plain values.

The emulator holds each endpoint in the state a test needs (Updating, a lagging read) for as long as it looks."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_async_deploy import aws, waiting
from sagemaker_async_deploy.errors import DeployError
from sagemaker_async_deploy.log import Log
from sagemaker_async_deploy.outcome import RolloutOutcome
from sagemaker_async_deploy.waiting import Since, Waiter, bake_left, progress, shows, variant_statuses
from sagemaker_emulator import Emulator

from .conftest import module_clients, started_emulator
from .factories import ROLE, image
from .seed import seed_model_and_two_configs


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """An emulator with a model and two configs any endpoint of the module can serve."""
    with started_emulator(environ=True) as started:
        seed_model_and_two_configs(module_clients().sagemaker, image(1), ROLE)
        yield started


class Polls:
    """A watcher that keeps what each poll saw."""

    def __init__(self) -> None:
        self.seen: list[str | None] = []

    def on_poll(self, endpoint: aws.Json | None, now: float) -> None:
        assert now <= time.time()
        self.seen.append(None if endpoint is None else str(endpoint.get("EndpointStatus")))


def waiter(timeout: float = 30.0, poll: float = 0.02) -> tuple[Waiter, io.StringIO]:
    stream = io.StringIO()
    outcome = RolloutOutcome(result="failed")
    return (
        Waiter(
            module_clients().sagemaker,
            Log(stream),
            outcome,
            deadline=time.time() + timeout,
            timeout_seconds=timeout,
            poll_interval=poll,
        ),
        stream,
    )


def in_service(name: str) -> aws.Json:
    sm = module_clients().sagemaker
    if aws.describe_endpoint(sm, name) is None:
        sm.create_endpoint(EndpointName=name, EndpointConfigName="c1")
        sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 400})
    endpoint = aws.describe_endpoint(sm, name)
    assert endpoint is not None and endpoint["EndpointStatus"] == "InService"
    return endpoint


# --- the loop on scripted answers and a clock that moves only when the wait sleeps ----------------------------

START = 1_700_000_000.0  # the scripted clock's epoch seconds when a wait starts


class Clock:
    """The waiting module's clock: its sleeps are kept and move it on at once, so a wait of minutes takes none."""

    def __init__(self) -> None:
        self.now = START
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Described:
    """A SageMaker client whose DescribeEndpoint gives the scripted answers in turn, the last one again and again
    (None: SageMaker's "Could not find endpoint"); each answer parsed afresh, as boto3's are, so that no string
    in it is one of the module's literals. Each call takes ``seconds`` of the clock."""

    def __init__(self, clock: Clock, answers: tuple[aws.Json | None, ...], seconds: float) -> None:
        self.clock, self.answers, self.seconds = clock, answers, seconds
        self.calls = 0

    def describe_endpoint(self, EndpointName: str) -> aws.Json:
        self.calls += 1
        self.clock.now += self.seconds
        assert self.calls <= 100, "the wait went on polling where it should have ended"
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        if answer is None:
            error = {"Code": "ValidationException", "Message": f'Could not find endpoint "{EndpointName}".'}
            raise ClientError({"Error": error}, "DescribeEndpoint")
        parsed: aws.Json = json.loads(json.dumps(answer, default=_epoch), object_hook=_datetime)
        return parsed


def _epoch(value: datetime) -> dict[str, float]:
    return {"epoch": value.timestamp()}


def _datetime(value: dict[str, Any]) -> Any:
    """boto3 gives a timestamp as a datetime."""
    return datetime.fromtimestamp(value["epoch"], UTC) if set(value) == {"epoch"} else value


def described(status: str, config: str = "c1", pending: str = "", modified: int = 5, **more: Any) -> aws.Json:
    """A DescribeEndpoint answer: the status, the serving config, the pending one, LastModifiedTime."""
    answer: aws.Json = {"EndpointStatus": status, "EndpointConfigName": config, "LastModifiedTime": modified}
    if pending:
        answer["PendingDeploymentSummary"] = {"EndpointConfigName": pending, "ProductionVariants": []}
    return answer | more


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(waiting, "time", clock)
    return clock


def scripted(
    clock: Clock,
    *answers: aws.Json | None,
    timeout: float = 3600.0,
    poll: float = 10.0,
    heartbeat: float = 60.0,
    answer_seconds: float = 0.0,
) -> tuple[Waiter, io.StringIO]:
    """A waiter on the scripted answers, its deadline ``timeout`` seconds after the scripted clock's start."""
    stream = io.StringIO()
    sm: Any = Described(clock, answers, answer_seconds)
    wait = Waiter(sm, Log(stream), RolloutOutcome(result="failed"), START + timeout, timeout, poll, heartbeat=heartbeat)
    return wait, stream


def logged(stream: io.StringIO) -> list[str]:
    """The wait's lines, without the group around them."""
    lines = stream.getvalue().splitlines()
    assert (lines[0].startswith("::group::"), lines[-1]) == (True, "::endgroup::")
    return lines[1:-1]


def test_a_settled_endpoint_is_one_line_without_a_pending_config(clock: Clock) -> None:
    """Someone else's update or none: a settled status ends the wait at the first poll, said in one line."""
    wait, stream = scripted(clock, described("InService"))
    polls = Polls()
    final = wait.wait("ep", "Waiting", watchers=[polls])
    assert final == described("InService")
    assert (polls.seen, clock.sleeps) == (["InService"], [])
    assert logged(stream) == ["       0s  InService        config: c1"]


@pytest.mark.parametrize("since", [None, Since("c2", 5)], ids=["someone-elses", "this-runs-update"])
def test_an_endpoint_deleted_ends_the_wait_at_once(clock: Clock, since: Since | None) -> None:
    """An endpoint that exists no more (deleted while an update was waited for) is gone: None, at the first
    poll."""
    wait, stream = scripted(clock, None)
    assert wait.wait("ep", "Waiting", since=since) is None
    assert logged(stream) == ["       0s  endpoint gone"]


def test_a_new_endpoint_seen_and_then_missing_is_gone(clock: Clock) -> None:
    """After this run's CreateEndpoint, not found is SageMaker's lag only until the endpoint was seen: once it
    was Creating, not found means it was deleted."""
    wait, stream = scripted(clock, None, described("Creating"), None)
    assert wait.wait("ep", "Waiting", since=Since("c1")) is None
    assert logged(stream) == [
        "       0s  the new endpoint is not visible yet (SageMaker's reads lag behind)",
        "      10s  Creating         config: c1",
        "      20s  endpoint gone",
    ]


def test_a_settled_status_after_a_transitional_one_ends_the_wait_on_this_runs_update(clock: Clock) -> None:
    """Once this run's update was seen Updating, the next settled status is its end, even one that shows neither
    the new config nor a later change (an update SageMaker rolled back)."""
    wait, _ = scripted(clock, described("Updating", pending="c2"), described("InService"))
    final = wait.wait("ep", "Waiting", since=Since("c2", 5))
    assert final == described("InService")
    assert clock.sleeps == [10.0]


def test_a_settled_read_counts_for_this_runs_update_once_it_shows_the_new_config(clock: Clock) -> None:
    """Right after this run's UpdateEndpoint, reads that show the old config settled are SageMaker's lag (said
    once); the first that shows the new config serving ends the wait."""
    lagging = described("InService", "c1", modified=5)
    wait, stream = scripted(clock, lagging, lagging, described("InService", "c2", modified=5))
    final = wait.wait("ep", "Waiting", since=Since("c2", 5))
    assert final == described("InService", "c2", modified=5)
    assert stream.getvalue().count("SageMaker does not show this update yet") == 1


@pytest.mark.parametrize(
    ("answer", "line"),
    [
        (described("Updating", "c2", pending="c1"), "Updating         config: c2 → c1"),
        (described("Updating", "c1", pending="c1"), "Updating         config: c1"),
    ],
    ids=["back-to-an-earlier-config", "someone-elses-update-of-the-same-config"],
)
def test_the_pending_config_is_shown_when_it_is_another_one(clock: Clock, answer: aws.Json, line: str) -> None:
    """The poll's line names the pending config after an arrow whenever it is not the serving one, whichever
    sorts first; an update of the serving config itself shows no arrow."""
    wait, stream = scripted(clock, answer, described("InService"))
    wait.wait("ep", "Waiting", settling=True)
    assert logged(stream)[0] == f"       0s  {line}"


@pytest.mark.parametrize(
    ("poll", "heartbeat", "beats"),
    [(10.0, 60.0, [60, 120, 180]), (10.0, 25.0, [30, 60, 90, 120, 150, 180])],
    ids=["on-a-poll", "between-polls"],
)
def test_a_heartbeat_says_how_long_nothing_changed_and_how_long_the_bake_has_left(
    clock: Clock, poll: float, heartbeat: float, beats: list[int]
) -> None:
    """An unchanged poll is not logged again; once ``heartbeat`` seconds passed since the last line, the first poll
    after says "still …" with the seconds since the status last changed and the bake's time left; a change is
    logged at once, whatever it sorts after."""
    bake = {
        "Status": "Baking",
        "StatusMessage": "Baking for 300 seconds (TerminationWaitInSeconds).",
        "StartTime": datetime.fromtimestamp(START, UTC),
    }
    baking = described("Updating", pending="c2") | {
        "PendingDeploymentSummary": {"EndpointConfigName": "c2", "ProductionVariants": [{"VariantStatus": [bake]}]}
    }
    wait, stream = scripted(clock, *[baking] * 20, described("InService", "c2"), poll=poll, heartbeat=heartbeat)
    final = wait.wait("ep", "Waiting", settling=True)
    assert final == described("InService", "c2")
    assert logged(stream) == [
        "       0s  Updating         config: c1 → c2  new fleet: Baking "
        "(Baking for 300 seconds (TerminationWaitInSeconds).)",
        *(f"{beat:>8}s  still Updating, no change for {beat}s, bake: about {300 - beat}s left" for beat in beats),
        "     200s  InService        config: c2",
    ]


@pytest.mark.parametrize(
    ("answer_seconds", "sleeps"),
    [(0.0, [30.0, 30.0, 30.0, 0.5]), (0.25, [30.0, 30.0, 29.75])],
    ids=["instant-answers", "answers-that-take-time"],
)
def test_the_wait_sleeps_its_poll_interval_and_the_last_sleep_ends_at_the_deadline(
    clock: Clock, answer_seconds: float, sleeps: list[float]
) -> None:
    """Each poll is followed by a sleep of the poll interval, the last only until the deadline, fractions
    included; the poll at or past the deadline ends the wait, timed out."""
    wait, _ = scripted(
        clock, described("Updating", pending="c2"), timeout=90.5, poll=30.0, answer_seconds=answer_seconds
    )
    with pytest.raises(DeployError) as timed_out:
        wait.wait("ep", "Waiting", settling=True)
    assert clock.sleeps == sleeps
    assert (timed_out.value.kind, wait.outcome.timed_out) == ("timeout", True)
    assert "is still Updating and this run changed nothing" in str(timed_out.value)


# --- in process against the emulator -------------------------------------------------------------------------


def test_an_update_is_waited_out_and_each_status_recorded_once(emu: Emulator) -> None:
    """Polls go on through Updating (held until the third poll) to InService, which is returned; the outcome
    notes each status once, the watcher sees every poll, and the log shows the status, both configs and the
    new fleet."""
    before = in_service("rolling")
    emu.faults.hold_next_update("rolling")
    module_clients().sagemaker.update_endpoint(EndpointName="rolling", EndpointConfigName="c2")
    wait, stream = waiter()
    polls = Polls()

    class Release:
        def on_poll(self, endpoint: aws.Json | None, now: float) -> None:
            if len(polls.seen) == 3:
                emu.faults.release("rolling")

    final = wait.wait(
        "rolling", "Waiting for the rollout", since=Since("c2", before["LastModifiedTime"]), watchers=[polls, Release()]
    )
    assert final is not None
    assert (final["EndpointStatus"], final["EndpointConfigName"]) == ("InService", "c2")
    assert polls.seen[:3] == ["Updating"] * 3 and polls.seen[-1] == "InService"
    statuses = [t.status for t in wait.outcome.transitions]
    assert statuses[0] == "Updating" and statuses[-1] == "InService"
    assert not wait.outcome.timed_out
    lines = stream.getvalue().splitlines()
    assert lines[0] == "::group::Waiting for the rollout"
    assert lines[-1] == "::endgroup::"
    assert "Updating         config: c1 → c2  new fleet: Creating" in lines[1]
    assert lines[1].startswith("       0s  ")


def test_a_settled_endpoint_returns_at_the_first_poll(emu: Emulator) -> None:
    """Without ``since`` (someone else's update, or none), a settled status ends the wait at once."""
    in_service("settled")
    wait, _ = waiter()
    polls = Polls()
    final = wait.wait("settled", "Waiting for the endpoint to settle", settling=True, watchers=[polls])
    assert final is not None and final["EndpointStatus"] == "InService"
    assert polls.seen == ["InService"]


def test_an_endpoint_that_is_gone_ends_the_wait_with_none(emu: Emulator) -> None:
    """No endpoint of that name: "endpoint gone", and None."""
    wait, stream = waiter()
    assert wait.wait("missing", "Waiting") is None
    assert stream.getvalue().splitlines()[1].endswith("s  endpoint gone")


def test_a_new_endpoint_not_visible_yet_is_waited_for(emu: Emulator) -> None:
    """Right after this run's CreateEndpoint, "Could not find endpoint" is SageMaker's lag, not a deletion: the
    wait goes on until the endpoint shows and settles."""
    wait, stream = waiter()  # its client made first: the lag below must outlast no client's start-up
    emu.faults.lag_reads(1.0, endpoint_name="fresh")
    wait.sm.create_endpoint(EndpointName="fresh", EndpointConfigName="c1")
    polls = Polls()
    final = wait.wait("fresh", "Waiting for the rollout", since=Since("c1"), watchers=[polls])
    assert final is not None and final["EndpointStatus"] == "InService"
    assert polls.seen[0] is None
    assert "the new endpoint is not visible yet (SageMaker's reads lag behind)" in stream.getvalue()


def test_a_settled_read_that_does_not_show_this_update_is_not_believed(emu: Emulator) -> None:
    """Right after this run's UpdateEndpoint, a read that still shows the old InService endpoint (no transitional
    status, not the new config, no later LastModifiedTime) is SageMaker's lag: said once, and waited out."""
    before = in_service("lagging")
    wait, stream = waiter()
    emu.faults.lag_reads(1.0, endpoint_name="lagging")
    wait.sm.update_endpoint(EndpointName="lagging", EndpointConfigName="c2")
    final = wait.wait("lagging", "Waiting for the rollout", since=Since("c2", before["LastModifiedTime"]))
    assert final is not None and (final["EndpointStatus"], final["EndpointConfigName"]) == ("InService", "c2")
    text = stream.getvalue()
    assert text.count("SageMaker does not show this update yet") == 1


def test_the_deadline_of_someone_elses_update_says_this_run_changed_nothing(emu: Emulator) -> None:
    """Timed out while settling someone else's update: the status, and that this run changed nothing."""
    in_service("busy")
    emu.faults.busy("busy", 0.01, held=True)
    wait, _ = waiter(timeout=0.0)
    try:
        with pytest.raises(DeployError) as timed_out:
            wait.wait("busy", "Waiting", settling=True)
    finally:
        emu.faults.release("busy")
    assert str(timed_out.value) == (
        "Timed out after 0 minutes (deployment-timeout-minutes) waiting for an update this run did not start; the "
        "endpoint is still Updating and this run changed nothing. Let one run per endpoint go at a time (a "
        "concurrency group), or find who else updates it."
    )
    assert (timed_out.value.kind, wait.outcome.timed_out) == ("timeout", True)


def test_the_deadline_of_an_update_never_shown_says_nothing_was_deleted(emu: Emulator) -> None:
    """Timed out while reads never showed this run's update: rerun, nothing was deleted."""
    before = in_service("unseen")
    wait, _ = waiter(timeout=0.0)
    with pytest.raises(DeployError) as timed_out:
        wait.wait("unseen", "Waiting", since=Since("c2", before["LastModifiedTime"]))
    assert str(timed_out.value) == (
        "Timed out after 0 minutes (deployment-timeout-minutes): SageMaker accepted the update, but DescribeEndpoint "
        "never showed it (the endpoint is InService, with neither a transitional status nor the new config). Nothing "
        "was deleted. Rerun the action: it reads the endpoint again and finishes or retries the job."
    )
    wait, _ = waiter(timeout=0.0)
    with pytest.raises(DeployError) as invisible:
        wait.wait("nowhere", "Waiting", since=Since("c2"))
    assert "(the endpoint is not visible, with neither" in str(invisible.value)


def test_the_deadline_of_this_runs_rollout_says_it_goes_on(emu: Emulator) -> None:
    """Timed out during this run's own rollout: SageMaker goes on, nothing was deleted, rerun to finish."""
    before = in_service("slow")
    emu.faults.hold_next_update("slow")
    module_clients().sagemaker.update_endpoint(EndpointName="slow", EndpointConfigName="c2")
    wait, _ = waiter(timeout=90.0)
    wait.deadline = time.time()
    try:
        with pytest.raises(DeployError) as timed_out:
            wait.wait("slow", "Waiting", since=Since("c2", before["LastModifiedTime"]))
    finally:
        emu.faults.release("slow")
    assert str(timed_out.value) == (
        "Timed out after 1.5 minutes (deployment-timeout-minutes) with the endpoint Updating. The rollout goes on in "
        "SageMaker; nothing was deleted. Rerun the action to wait for it and finish the job."
    )


def test_the_last_sleep_ends_at_the_deadline(emu: Emulator) -> None:
    """A poll interval longer than the time left sleeps only until the deadline, then times out."""
    in_service("sleepy")
    emu.faults.busy("sleepy", 0.01, held=True)
    wait, _ = waiter(timeout=0.3, poll=30.0)
    started = time.monotonic()
    try:
        with pytest.raises(DeployError):
            wait.wait("sleepy", "Waiting", settling=True)
    finally:
        emu.faults.release("sleepy")
    assert time.monotonic() - started < 5


# --- on plain values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "since", "shown"),
    [
        ({"EndpointConfigName": "new"}, Since("new", 5), True),
        (
            {"EndpointConfigName": "old", "PendingDeploymentSummary": {"EndpointConfigName": "new"}},
            Since("new", 5),
            True,
        ),
        ({"EndpointConfigName": "old", "LastModifiedTime": 6}, Since("new", 5), True),
        ({"EndpointConfigName": "old", "LastModifiedTime": 5}, Since("new", 5), False),
        ({"EndpointConfigName": "old", "LastModifiedTime": 4}, Since("new", 5), False),
        ({"EndpointConfigName": "old", "LastModifiedTime": 6}, Since("new", None), False),
        ({"EndpointConfigName": "old"}, Since("new", 5), False),
        ({"EndpointConfigName": "old", "PendingDeploymentSummary": None}, Since("new", 5), False),
    ],
    ids=["serving", "pending", "later", "same-time", "earlier", "create", "no-time", "no-summary"],
)
def test_a_description_shows_this_update_by_config_or_a_later_change(
    endpoint: dict[str, Any], since: Since, shown: bool
) -> None:
    """The new config serving or pending, or a LastModifiedTime strictly later than before the call."""
    assert shows(endpoint, since) is shown


def test_variant_statuses_of_both_fleets_in_one_line() -> None:
    """The serving fleet's statuses, then the pending fleet's, empty ones left out."""
    endpoint = {
        "ProductionVariants": [{"VariantStatus": [{"Status": "Baking"}, {"Status": ""}]}],
        "PendingDeploymentSummary": {
            "ProductionVariants": [{"VariantStatus": [{"Status": "ActivatingTraffic"}]}, {"VariantStatus": []}]
        },
    }
    assert variant_statuses(endpoint) == "Baking, ActivatingTraffic"
    assert variant_statuses({}) == ""


def test_progress_names_the_new_fleet_with_counts_and_the_old_fleet() -> None:
    """The new fleet's latest status with its instances against the count it aims for and SageMaker's message;
    the old fleet's status without counts; "; " between them."""
    endpoint = {
        "PendingDeploymentSummary": {
            "ProductionVariants": [
                {
                    "VariantStatus": [
                        {"Status": "Creating"},
                        {"Status": "Baking", "StatusMessage": "Waiting 300 s"},
                    ],
                    "CurrentInstanceCount": 1,
                    "DesiredInstanceCount": 3,
                }
            ]
        },
        "ProductionVariants": [
            {"VariantStatus": [{"Status": "Deleting"}], "CurrentInstanceCount": 2, "DesiredInstanceCount": 2},
            {"CurrentInstanceCount": 2},
        ],
    }
    assert progress(endpoint) == "new fleet: Baking, 1 of 3 instances (Waiting 300 s); old fleet: Deleting"


@pytest.mark.parametrize(
    ("variant", "words"),
    [
        (
            {"VariantStatus": [{"Status": "Creating"}], "CurrentInstanceCount": 0, "DesiredInstanceCount": 1},
            "new fleet: Creating, 0 of 1 instance",
        ),
        (
            {"VariantStatus": [{"Status": "Creating"}], "CurrentInstanceCount": 1, "DesiredInstanceCount": 0},
            "new fleet: Creating",
        ),
        ({"VariantStatus": [{"Status": "Creating"}], "DesiredInstanceCount": 2}, "new fleet: Creating"),
        ({"VariantStatus": [{"StatusMessage": "alone"}]}, ""),
        ({}, ""),
    ],
    ids=["one-instance", "aims-for-none", "no-current", "message-without-status", "nothing"],
)
def test_progress_of_one_new_fleet(variant: dict[str, Any], words: str) -> None:
    """Counts only with a current count and a non-zero aim; a message only after a status; nothing, nothing."""
    assert progress({"PendingDeploymentSummary": {"ProductionVariants": [variant]}}) == words


BAKE_STARTED = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def pending_fleet(*statuses: dict[str, Any]) -> aws.Json:
    """A description whose new fleet went through ``statuses``, parsed as boto3's are."""
    endpoint: aws.Json = {"PendingDeploymentSummary": {"ProductionVariants": [{"VariantStatus": list(statuses)}]}}
    parsed: aws.Json = json.loads(json.dumps(endpoint, default=_epoch), object_hook=_datetime)
    return parsed


BAKING = {
    "Status": "Baking",
    "StatusMessage": "Baking for 300 seconds (TerminationWaitInSeconds) with traffic enabled on 1 instance(s).",
    "StartTime": BAKE_STARTED,
}


@pytest.mark.parametrize(
    ("statuses", "seconds_in", "left"),
    [
        ([{"Status": "Creating"}, {"Status": "ActivatingTraffic"}, BAKING], 100, ", bake: about 200s left"),
        ([BAKING], 400, ", bake: about 0s left"),
        (
            [BAKING, {"Status": "Creating", "StatusMessage": "Launching 1 instance(s).", "StartTime": BAKE_STARTED}],
            100,
            "",
        ),
        ([BAKING | {"Status": "ActivatingTraffic"}], 100, ""),
        ([BAKING | {"StatusMessage": "Baking."}], 100, ""),
        ([{"Status": "Baking", "StatusMessage": BAKING["StatusMessage"]}], 100, ""),
        ([], 100, ""),
    ],
    ids=["latest-baking", "bake-over", "baked-then-creating", "not-baking", "no-length", "no-start", "no-status"],
)
def test_bake_left_from_the_latest_status_of_the_new_fleet(
    statuses: list[dict[str, Any]], seconds_in: int, left: str
) -> None:
    """The bake's length in SageMaker's message less the seconds since its status started, never below 0; only
    while the new fleet's latest status is Baking with both a length and a start."""
    assert bake_left(pending_fleet(*statuses), BAKE_STARTED.timestamp() + seconds_in) == left
    assert bake_left({}, BAKE_STARTED.timestamp()) == ""
