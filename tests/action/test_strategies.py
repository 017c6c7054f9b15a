"""Deployment strategies through the real action: the DeploymentConfig sent, success, a rollback at the first
and at a later step, the refusals, and progress lines that say which step the rollout is in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagemaker_emulator import Emulator, Timings

from ..action_runner import ActionRun, digest_image
from ..seed import seed_alarm
from .test_bad_inputs import assert_refused
from .test_scenarios import Deployer

ALARM = "whisper-5xx"
FLEET = {"initial-instance-count": "4", "alarms": ALARM, "bake-seconds": "600"}
POLICIES = {
    "canary": {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 600,
                "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
            }
        }
    },
    "linear": {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "LINEAR",
                "WaitIntervalInSeconds": 600,
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            }
        }
    },
    "rolling": {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            "WaitIntervalInSeconds": 600,
            "MaximumExecutionTimeoutInSeconds": 600,  # deployment-timeout-minutes 2, raised to AWS's minimum
            "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
        }
    },
}


@pytest.fixture
def fleet(emulator: Emulator, tmp_path: Path) -> Deployer:
    """An endpoint of four instances, created by the action, with a rollback alarm."""
    deployer = Deployer(emulator, tmp_path)
    seed_alarm(emulator, ALARM)
    assert deployer.run(FLEET).result == "created"
    return deployer


def sent(deployer: Deployer, operation: str = "UpdateEndpoint") -> dict[str, Any]:
    request = next(r for r in deployer.emu.requests if r.operation == operation)
    return dict(request.params["DeploymentConfig"])


def progress(run: ActionRun) -> str:
    return run.stdout.split("::group::Waiting for the rollout", 1)[1].split("::endgroup::", 1)[0]


@pytest.mark.parametrize("strategy", ["canary", "linear", "rolling"])
def test_each_strategy_sends_its_policy_and_succeeds(fleet: Deployer, strategy: str) -> None:
    """The update sends exactly the strategy's policy with the alarms, and ends updated on the new config."""
    run = fleet.run({**FLEET, "image": digest_image(2), "deployment-strategy": strategy})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "updated"
    assert sent(fleet) == {**POLICIES[strategy], "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": ALARM}]}}
    assert fleet.endpoint()["EndpointConfigName"] == run.outputs["endpoint-config-name"]
    changes = {c["field"]: c["to"] for c in run.changes}
    assert changes["deployment-strategy"] == strategy


def test_create_carries_the_strategy_for_later_updates(emulator: Emulator, tmp_path: Path) -> None:
    """CreateEndpoint stores the same DeploymentConfig, so an update with RetainDeploymentConfig keeps it."""
    deployer = Deployer(emulator, tmp_path)
    seed_alarm(emulator, ALARM)
    run = deployer.run({**FLEET, "deployment-strategy": "linear"})
    assert run.result == "created", run.stdout + run.stderr
    assert sent(deployer, "CreateEndpoint") == {
        **POLICIES["linear"],
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": ALARM}]},
    }
    assert (
        deployer.endpoint()["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"]
        == "LINEAR"
    )


@pytest.fixture
def slow_fleet(tmp_path: Path) -> Iterator[Deployer]:
    """Like ``fleet``, with phases long enough that a poll every 0.1 s sees every step."""
    with Emulator(timings=Timings(create=0.3, update=1.6, rollback=0.3, delete=0.1)) as emu:
        deployer = Deployer(emu, tmp_path)
        seed_alarm(emu, ALARM)
        assert deployer.run(FLEET).result == "created"
        yield deployer


def test_progress_lines_name_the_canary_step(slow_fleet: Deployer) -> None:
    """While a canary bakes, the log says so in SageMaker's words, with the new fleet's instances."""
    run = slow_fleet.run({**FLEET, "image": digest_image(2), "deployment-strategy": "canary"})
    lines = progress(run)
    assert "new fleet: Baking, 1 of 4 instances" in lines, lines
    assert "canary capacity of 1 instance(s)" in lines


def test_progress_lines_count_linear_steps(slow_fleet: Deployer) -> None:
    """Four linear steps of 25 % show as 1, 2, 3 of 4 instances before the last."""
    run = slow_fleet.run({**FLEET, "image": digest_image(2), "deployment-strategy": "linear"})
    lines = progress(run)
    for count in (1, 2, 3):
        assert f"new fleet: Baking, {count} of 4 instances" in lines, lines


@pytest.mark.parametrize("strategy", ["canary", "linear", "rolling"])
@pytest.mark.parametrize("step", [1, 2])
def test_an_alarm_at_any_step_rolls_back(fleet: Deployer, strategy: str, step: int) -> None:
    """The alarm fires at the first step or a later one: rolled-back, the old config serves, the new is removed."""
    old = fleet.endpoint()["EndpointConfigName"]
    fleet.emu.faults.rollback_next_update(alarm=ALARM, at_step=step)
    run = fleet.run({**FLEET, "image": digest_image(2), "deployment-strategy": strategy})
    assert run.exit_code != 0
    assert run.result == "rolled-back", run.stdout
    assert fleet.endpoint()["EndpointConfigName"] == old
    assert fleet.configs() == {old}
    assert run.outputs["image"] == digest_image(1)


def test_a_rolling_rollback_that_fails_leaves_a_mix_reported_as_failed(fleet: Deployer) -> None:
    """UpdateRollbackFailed after a rolling update: failed, saying both images serve; nothing deleted."""
    fleet.emu.faults.update_rollback_failed_next("rollback could not restore the old instances")
    run = fleet.run({**FLEET, "image": digest_image(2), "deployment-strategy": "rolling"})
    assert run.result == "failed"
    message = " ".join(run.errors())
    assert "mix of the old and new fleets" in message
    assert digest_image(1) in message and digest_image(2) in message
    assert not [op for op in fleet.writes() if op.startswith("Delete")]


@pytest.mark.parametrize(
    ("inputs", "names"),
    [
        ({"deployment-strategy": "canary", "step-size": "3"}, "step-size"),  # 3 of 4 is over 50 %
        ({"deployment-strategy": "rolling", "step-size": "60%"}, "step-size"),
        ({"deployment-strategy": "linear", "step-size": "1%"}, "step-size"),
        ({"deployment-strategy": "all-at-once", "step-size": "1"}, "step-size"),
        ({"deployment-strategy": "blue-green"}, "deployment-strategy"),
    ],
)
def test_steps_outside_aws_limits_are_refused_before_any_write(
    fleet: Deployer, inputs: dict[str, str], names: str
) -> None:
    """Every limit is checked against the count the update will have, naming the input, before any write."""
    fleet.emu.clear_requests()
    run = fleet.run({**FLEET, "image": digest_image(2), **inputs})
    assert_refused(run, fleet.emu, names)


def test_a_first_deploy_with_a_step_outside_aws_limits_is_refused_before_any_write(
    emulator: Emulator, tmp_path: Path
) -> None:
    """On create the step is judged against initial-instance-count: nothing is created for a canary of 3 of 4."""
    run = Deployer(emulator, tmp_path).run({**FLEET, "deployment-strategy": "canary", "step-size": "3"})
    assert_refused(run, emulator, "step-size")


def test_rolling_on_one_instance_is_refused_and_canary_falls_back(emulator: Emulator, tmp_path: Path) -> None:
    """One instance: rolling is refused (it would need what all at once needs); canary shifts all at once,
    warned, with the same capacity."""
    deployer = Deployer(emulator, tmp_path)
    assert deployer.run().result == "created"
    emulator.clear_requests()
    refused = deployer.run({"image": digest_image(2), "deployment-strategy": "rolling"})
    assert_refused(refused, emulator, "deployment-strategy")
    canary = deployer.run({"image": digest_image(2), "deployment-strategy": "canary"})
    assert canary.result == "updated", canary.stdout + canary.stderr
    assert any(line.startswith("::warning") and "cannot be split" in line for line in canary.lines)
    routing = sent(deployer)["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "ALL_AT_ONCE"
