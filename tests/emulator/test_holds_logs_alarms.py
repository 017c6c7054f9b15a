"""Holding an endpoint still, its fleets' container logs, an unhealthy fleet, and alarms as CloudWatch keeps them."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_emulator import Behaviour, Emulator, Timings
from tests.conftest import FAST_TIMINGS, boto_client

from ..seed import seed_alarm
from ._setup import config, in_service_endpoint, model, second_config, wait_for, wait_rolling_back

GROUP = "/aws/sagemaker/Endpoints/ep"
TRACEBACK = ["Traceback (most recent call last):", '  File "/opt/ml/code/serve.py", line 3', "RuntimeError: CUDA OOM"]


def all_streams(emulator: Emulator) -> list[str]:
    logs = boto_client(emulator, "logs")
    return sorted(s["logStreamName"] for s in logs.describe_log_streams(logGroupName=GROUP)["logStreams"])


def streams(emulator: Emulator) -> list[str]:
    """The containers' streams, without the async platform's data-log streams beside them."""
    return [s for s in all_streams(emulator) if not s.endswith("/data-log")]


def messages(emulator: Emulator, stream: str) -> list[str]:
    events = boto_client(emulator, "logs").get_log_events(logGroupName=GROUP, logStreamName=stream)["events"]
    return [e["message"] for e in events]


def control(emulator: Emulator, payload: Any) -> None:
    request = urllib.request.Request(
        f"{emulator.url}/_emulator/faults", data=json.dumps(payload).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read()) == {"ok": True}


def test_a_held_update_stays_updating_until_released(emulator: Emulator) -> None:
    """hold_next_update: Updating (new fleet Creating) for as long as it is held, however long that is; released,
    every phase keeps its length, so the update ends one update-time after the release."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    control(emulator, {"fault": "hold_next_update", "endpoint_name": "ep"})
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    time.sleep(FAST_TIMINGS.update * 2)
    held = sm.describe_endpoint(EndpointName="ep")
    assert held["EndpointStatus"] == "Updating"
    assert held["PendingDeploymentSummary"]["ProductionVariants"][0]["VariantStatus"][0]["Status"] == "Creating"
    released = time.time()
    control(emulator, {"fault": "release", "endpoint_name": "ep"})
    done = wait_for(sm, "ep", "InService")
    assert done["EndpointConfigName"] == "config-2"
    assert done["LastModifiedTime"].timestamp() >= released + FAST_TIMINGS.update - 0.05


def test_a_held_create_stays_creating_until_released(emulator: Emulator) -> None:
    """hold_next_create: Creating for as long as it is held; released, it ends one create-time later."""
    sm = boto_client(emulator, "sagemaker")
    model(sm, "model-1")
    config(sm, "config-1", "model-1")
    control(emulator, {"fault": "hold_next_create", "endpoint_name": "ep"})
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1")
    time.sleep(FAST_TIMINGS.create * 2)
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Creating"
    released = time.time()
    control(emulator, {"fault": "release", "endpoint_name": "ep"})
    done = wait_for(sm, "ep", "InService")
    assert done["LastModifiedTime"].timestamp() >= released + FAST_TIMINGS.create - 0.05


def test_hold_freezes_any_endpoint_and_step_moves_it_on(emulator: Emulator) -> None:
    """hold works on a Creating endpoint too; step applies the next phase now and keeps it held."""
    emulator.stop()
    # A create long enough that the hold surely lands while it is Creating, however slow the machine.
    with Emulator(timings=Timings(create=60, update=0.3, rollback=0.3, delete=0.2)) as emu:
        sm = boto_client(emu, "sagemaker")
        model(sm, "model-1")
        config(sm, "config-1", "model-1")
        sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1")
        emu.faults.hold("ep")
        assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Creating"
        assert emu.faults.step("ep") is True
        assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "InService"
        assert emu.faults.step("ep") is False
        emu.faults.release("ep")


def test_each_fleet_logs_to_new_streams(emulator: Emulator) -> None:
    """Create and update each bring up instances of their own: streams <variant>/<instance-id>, start-up lines at
    the fleet's start; meanwhile only the fleet that serves logs health checks."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm, count=2)
    created = sm.describe_endpoint(EndpointName="ep")["CreationTime"].timestamp()
    first = streams(emulator)
    assert len(first) == 2
    assert all(s.startswith("AllTraffic/i-0") and len(s.split("/", 1)[1]) == 19 for s in first)
    assert messages(emulator, first[0])[0] == "Starting the inference server with 1 workers."
    events = boto_client(emulator, "logs").get_log_events(logGroupName=GROUP, logStreamName=first[0])["events"]
    assert abs(events[0]["timestamp"] / 1000 - created) < 0.01
    # An async endpoint's instance has its platform stream beside the container's, with none of its lines.
    assert all_streams(emulator) == sorted([*first, *(f"{s}/data-log" for s in first)])
    platform = messages(emulator, f"{first[0]}/data-log")
    assert platform and not set(platform) & set(messages(emulator, first[0]))
    second_config(sm, count=2)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    wait_for(sm, "ep", "InService")
    both = streams(emulator)
    assert len(both) == 4 and set(first) < set(both)
    second = sorted(set(both) - set(first))
    # The serving fleet answered health checks while the new one started; the new fleet has not served yet.
    pings = {s: sum("GET /ping" in m for m in messages(emulator, s)) for s in both}
    assert all(pings[s] > 0 for s in first) and not any(pings[s] for s in second)
    config(sm, "config-3", "model-2", count=2)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-3")
    wait_for(sm, "ep", "InService")
    # Now the second fleet serves: it is the one that logs during the third fleet's start.
    after = {s: sum("GET /ping" in m for m in messages(emulator, s)) for s in both}
    assert all(after[s] == pings[s] for s in first) and all(after[s] > 0 for s in second)


def test_an_unhealthy_fleet_logs_its_traceback_and_the_old_fleet_keeps_serving(emulator: Emulator) -> None:
    """unhealthy_next_update: the new fleet's streams end with the given lines, the old fleet's do not; the update
    ends InService on the old config with SageMaker's health-check FailureReason."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    old = streams(emulator)
    second_config(sm)
    emulator.faults.unhealthy_next_update(TRACEBACK, "ep")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    done = wait_for(sm, "ep", "InService")
    assert done["EndpointConfigName"] == "config-1"
    assert done["FailureReason"] == (
        "The primary container for production variant AllTraffic did not pass the ping health check. "
        "Please check CloudWatch logs for this endpoint."
    )
    (new,) = set(streams(emulator)) - set(old)
    assert messages(emulator, new)[-3:] == TRACEBACK
    assert not set(TRACEBACK) & set(messages(emulator, old[0]))


def test_an_unhealthy_fleet_may_leave_no_reason(emulator: Emulator) -> None:
    """failure_reason_after_failed_update="empty": back on the old config with no FailureReason at all."""
    emulator.stop()
    with Emulator(timings=FAST_TIMINGS, behaviour=Behaviour(failure_reason_after_failed_update="empty")) as emu:
        sm = boto_client(emu, "sagemaker")
        in_service_endpoint(sm)
        second_config(sm)
        emu.faults.unhealthy_next_update(TRACEBACK)
        sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
        done = wait_for(sm, "ep", "InService")
        assert done["EndpointConfigName"] == "config-1" and "FailureReason" not in done


def test_updating_an_alarm_keeps_its_state_and_history(emulator: Emulator) -> None:
    """PutMetricAlarm on an existing alarm leaves its state unchanged (PutMetricAlarm reference); SetAlarmState is
    recorded in DescribeAlarmHistory, newest first."""
    cloudwatch = boto_client(emulator, "cloudwatch")
    seed_alarm(emulator, "errors")
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="first")
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="OK", StateReason="second")
    seed_alarm(emulator, "errors")
    alarm = cloudwatch.describe_alarms(AlarmNames=["errors"])["MetricAlarms"][0]
    assert (alarm["StateValue"], alarm["StateReason"]) == ("OK", "second")
    history = cloudwatch.describe_alarm_history(AlarmName="errors", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in history] == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
    ]
    data = json.loads(history[0]["HistoryData"])
    assert data["oldState"] == {"stateValue": "ALARM", "stateReason": "first"}
    assert data["newState"] == {"stateValue": "OK", "stateReason": "second"}


def test_an_alarm_rollback_without_a_reason_uses_cloudwatch_wording(emulator: Emulator) -> None:
    """rollback_next_update(alarm=...) with no reason: CloudWatch's "Threshold Crossed" wording for that alarm."""
    sm = boto_client(emulator, "sagemaker")
    seed_alarm(emulator, "errors")
    in_service_endpoint(sm)
    second_config(sm)
    emulator.faults.rollback_next_update(alarm="errors")
    sm.update_endpoint(
        EndpointName="ep",
        EndpointConfigName="config-2",
        DeploymentConfig={
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 60}
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "errors"}]},
        },
    )
    wait_rolling_back(sm, "ep", emulator.behaviour.status_during_update_rollback)
    reason = boto_client(emulator, "cloudwatch").describe_alarms(AlarmNames=["errors"])["MetricAlarms"][0][
        "StateReason"
    ]
    assert reason.startswith("Threshold Crossed: 1 out of the last 1 datapoints [2.0 (")
    assert reason.endswith(
        ")] was greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )


def test_streams_listed_by_latest_event_newest_first(emulator: Emulator) -> None:
    """DescribeLogStreams orderBy=LastEventTime, descending: the stream with the latest event first; with a
    logStreamNamePrefix that order is refused, as the API reference says."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    logs = boto_client(emulator, "logs")
    logs.create_log_stream(logGroupName=GROUP, logStreamName="AllTraffic/i-0000")
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName="AllTraffic/i-0000",
        logEvents=[{"timestamp": int(time.time() * 1000) - 86_400_000, "message": "yesterday"}],
    )
    listed = logs.describe_log_streams(logGroupName=GROUP, orderBy="LastEventTime", descending=True)["logStreams"]
    assert listed[-1]["logStreamName"] == "AllTraffic/i-0000"
    stamps = [s["lastEventTimestamp"] for s in listed]
    assert stamps == sorted(stamps, reverse=True)
    with pytest.raises(ClientError, match="InvalidParameterException"):
        logs.describe_log_streams(logGroupName=GROUP, orderBy="LastEventTime", logStreamNamePrefix="AllTraffic/")


def test_an_empty_first_page_leads_on_to_the_events() -> None:
    """log_events_first_page="empty": a read from the head gets no events and a token; that token gives the events,
    and at the stream's end the token passed in comes back."""
    with Emulator(timings=FAST_TIMINGS, behaviour=Behaviour(log_events_first_page="empty")) as emu:
        in_service_endpoint(boto_client(emu, "sagemaker"))
        logs = boto_client(emu, "logs")
        (stream,) = streams(emu)
        first = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=True)
        assert first["events"] == []
        second = logs.get_log_events(
            logGroupName=GROUP, logStreamName=stream, startFromHead=True, nextToken=first["nextForwardToken"]
        )
        assert second["events"][0]["message"] == "Starting the inference server with 1 workers."
        end = logs.get_log_events(
            logGroupName=GROUP, logStreamName=stream, startFromHead=True, nextToken=second["nextForwardToken"]
        )
        assert end["events"] == [] and end["nextForwardToken"] == second["nextForwardToken"]


def test_a_crash_looping_fleet_logs_each_crash_while_it_launches(emulator: Emulator) -> None:
    """crash_loop_next_update: the new fleet's stream gets the traceback once per crash, later than its start, a
    new start between crashes and the last crash at its end; the update ends as an unhealthy one does."""
    emulator.stop()
    with Emulator(timings=Timings(create=0.3, update=3.0, rollback=0.3, delete=0.2)) as emu:
        crash_loop(emu)


def crash_loop(emulator: Emulator) -> None:
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    old = streams(emulator)
    second_config(sm)
    emulator.faults.crash_loop_next_update(TRACEBACK, "ep", restarts=3)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    done = wait_for(sm, "ep", "InService")
    assert done["EndpointConfigName"] == "config-1" and "did not pass the ping health check" in done["FailureReason"]
    (new,) = set(streams(emulator)) - set(old)
    events = boto_client(emulator, "logs").get_log_events(logGroupName=GROUP, logStreamName=new)["events"]
    said = [e["message"] for e in events]
    assert said.count(TRACEBACK[-1]) == 3 and said[-3:] == TRACEBACK
    assert said.count("Starting the inference server with 1 workers.") == 3
    crashes = [e["timestamp"] for e in events if e["message"] == TRACEBACK[-1]]
    assert events[0]["timestamp"] < crashes[0] < crashes[1] < crashes[2]
