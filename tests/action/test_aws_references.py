"""What AWS's references say where the action and the emulator once agreed on something else: an update's rollback
seen as Updating, a new scalable target not visible at once, guardrails that fall back, autoscaling blocked
during an update — each through the real action against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagemaker_emulator import Behaviour, Emulator, Timings

from ..action_runner import digest_image
from ..conftest import ACCOUNT_ID
from ..seed import seed_alarm
from .test_scenarios import Deployer

# Phases long enough that a poll every 0.1 s sees the traffic move and the bake.
SLOW_ENOUGH = Timings(create=0.3, update=1.0, rollback=0.5, delete=0.2)


@pytest.mark.parametrize("status", ["Updating", "RollingBack"])
def test_an_alarm_rollback_is_told_the_same_whether_or_not_sagemaker_shows_rolling_back(
    tmp_path: Path, status: str
) -> None:
    """DescribeEndpoint's reference gives RollingBack to weight and capacity changes only: an update rolled back
    by its alarm is 'rolled-back' with the same message whether the rollback shows Updating or RollingBack."""
    behaviour = Behaviour(status_during_update_rollback=status, failure_reason_after_alarm_rollback="set")  # type: ignore[arg-type]
    with Emulator(timings=SLOW_ENOUGH, account_id=ACCOUNT_ID, behaviour=behaviour) as emu:
        deployer = Deployer(emu, tmp_path)
        seed_alarm(emu, "whisper-5xx", endpoint="whisper")
        inputs = {"alarms": "whisper-5xx", "bake-seconds": "60"}
        assert deployer.run(inputs).result == "created"
        previous = deployer.endpoint()["EndpointConfigName"]
        emu.faults.rollback_next_update(alarm="whisper-5xx")
        run = deployer.run({**inputs, "image": digest_image(2)})
        assert run.result == "rolled-back", run.stdout + run.stderr
        assert any(
            line.startswith("::error")
            and "SageMaker rolled the update back after traffic had moved to the new fleet; "
            f"{previous} still serves {digest_image(1)}"
            in line
            for line in run.lines
        ), run.errors()
        assert deployer.endpoint()["EndpointConfigName"] == previous


INF1 = {"instance-type": "ml.inf1.xlarge", "initial-instance-count": "2"}


def test_a_rolling_update_on_inf1_is_warned_that_it_runs_all_at_once_in_plan_mode(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Inf1 endpoints fall back to blue/green all at once with no bake (deployment guardrails exclusions): a plan
    for a rolling update without alarms already says that the strategy and step size are ignored."""
    deployer = Deployer(emulator, tmp_path)
    assert deployer.run(INF1).result == "created"
    run = deployer.run(
        {**INF1, "image": digest_image(2), "deployment-strategy": "rolling", "step-size": "1", "mode": "plan"}
    )
    assert run.result == "would-update", run.stdout + run.stderr
    warnings = [line for line in run.lines if line.startswith("::warning")]
    assert [
        w
        for w in warnings
        if "no deployment guardrails for ml.inf1.xlarge (an Inf1 instance)" in w
        and "deployment-strategy (rolling), step-size (1) are ignored" in w
        and "a second fleet of 2 instance(s)" in w
    ], warnings


def test_a_quota_refusal_on_inf1_advises_what_fits_the_fallback(emulator: Emulator, tmp_path: Path) -> None:
    """A rolling update on Inf1 that SageMaker refuses for capacity is told it needs a second fleet all the same,
    not that a smaller step-size would need less."""
    deployer = Deployer(emulator, tmp_path)
    assert deployer.run(INF1).result == "created"
    emulator.faults.quota_next_update()
    run = deployer.run({**INF1, "image": digest_image(2), "deployment-strategy": "rolling", "step-size": "1"})
    assert run.result == "failed"
    [error] = run.errors()
    assert "every update runs blue/green all at once, a second fleet of 2 ml.inf1.xlarge instance(s)" in error
    assert "Neither rolling nor a smaller step-size needs less on it" in error
    assert "A smaller step-size needs less" not in error
