"""force-redeploy: the real action rolls an unchanged endpoint onto a new config of the same settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagemaker_emulator import Emulator

from ..action_runner import action_env, kill_when, start_action
from .test_safety import plain
from .test_scenarios import Deployer

FORCED = [{"field": "force-redeploy", "from": "", "to": "true"}]


@pytest.fixture
def deployer(emulator: Emulator, tmp_path: Path) -> Deployer:
    return Deployer(emulator, tmp_path)


def test_forced_redeploy_updates_an_unchanged_endpoint_and_cleans_up(deployer: Deployer) -> None:
    """An unchanged endpoint is updated onto a new config with the same content; the replaced config is deleted,
    the model (still serving) is kept, and the outputs and summary say it was forced."""
    first = deployer.run()
    old_config, model = first.outputs["endpoint-config-name"], first.outputs["model-name"]
    run = deployer.run({"force-redeploy": "true"})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "updated"
    assert run.changes == FORCED
    new_config = run.outputs["endpoint-config-name"]
    assert new_config != old_config
    assert run.outputs["previous-endpoint-config-name"] == old_config
    assert run.outputs["model-name"] == model
    assert deployer.endpoint()["EndpointConfigName"] == new_config
    assert deployer.writes() == ["CreateEndpointConfig", "UpdateEndpoint", "DeleteEndpointConfig"]
    assert deployer.configs() == {new_config}
    assert deployer.models() == {model}
    created = next(r for r in deployer.emu.requests if r.operation == "CreateEndpointConfig").params
    assert created["ProductionVariants"][0]["ModelName"] == model
    assert "force-redeploy rolls the endpoint onto a new endpoint config of the same settings" in plain(run.summary)
    assert "force-redeploy rolls the endpoint onto a new endpoint config" in run.stdout


def test_two_forced_redeploys_in_a_row_each_replace_the_serving_config(deployer: Deployer) -> None:
    """A second forced redeploy rolls onto yet another name (never the one serving) and deletes the first."""
    first = deployer.run()
    forced = deployer.run({"force-redeploy": "true"})
    again = deployer.run({"force-redeploy": "true"})
    assert again.result == "updated", again.stdout
    names = [first.outputs["endpoint-config-name"], forced.outputs["endpoint-config-name"]]
    assert again.outputs["endpoint-config-name"] not in names[1:]
    assert deployer.configs() == {again.outputs["endpoint-config-name"]}


def test_forced_redeploy_then_a_plain_run_is_unchanged(deployer: Deployer) -> None:
    """After a forced redeploy the same inputs without it find nothing to change and write nothing."""
    deployer.run()
    deployer.run({"force-redeploy": "true"})
    run = deployer.run()
    assert run.result == "unchanged", run.stdout
    assert deployer.emu.write_calls() == []


def test_forced_redeploy_in_plan_mode_writes_nothing_and_reports_it(deployer: Deployer) -> None:
    """In plan mode force-redeploy only shows: would-update with the forced entry, zero writes."""
    deployer.run()
    run = deployer.run({"force-redeploy": "true", "mode": "plan"})
    assert run.exit_code == 0, run.stdout
    assert run.result == "would-update"
    assert run.changes == FORCED
    assert deployer.emu.write_calls() == []
    assert "force-redeploy rolls the endpoint onto a new endpoint config" in plain(run.summary)


def test_forced_redeploy_with_a_bad_value_is_refused_before_any_call(deployer: Deployer) -> None:
    """A value other than a YAML boolean is an input error naming force-redeploy, and nothing is called."""
    run = deployer.run({"force-redeploy": "yes"})
    assert run.exit_code != 0
    assert any("force-redeploy" in line and "expected true or false" in line for line in run.errors())
    assert deployer.emu.requests == []


@pytest.mark.parametrize("crash_after", ["CreateEndpointConfig", "UpdateEndpoint"])
def test_rerun_of_a_crashed_forced_redeploy_redeploys_once(
    emulator: Emulator, tmp_path: Path, crash_after: str
) -> None:
    """A forced run killed after its config or its update is finished by the forced rerun: one UpdateEndpoint in
    all (an update that landed while the rerun waited is adopted, not forced again), nothing left unused."""
    deployer = Deployer(emulator, tmp_path)
    first = deployer.run()
    emulator.clear_requests()
    emulator.faults.hold_next_update("whisper")
    kill_when(
        start_action(action_env(emulator, tmp_path / "crashed", {"force-redeploy": "true"})), emulator, crash_after
    )
    updates = emulator.operations("sagemaker").count("UpdateEndpoint")
    rerun = deployer.run_after_crash({"force-redeploy": "true"})
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    assert rerun.result == "updated"
    assert updates + emulator.operations("sagemaker").count("UpdateEndpoint") == 1
    serving = deployer.endpoint()["EndpointConfigName"]
    assert serving != first.outputs["endpoint-config-name"]
    assert deployer.configs() == {serving}
    assert deployer.models() == {first.outputs["model-name"]}
