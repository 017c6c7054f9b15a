"""The deployment settings an update keeps from the endpoint's LastDeploymentConfig: every member of botocore's
DeploymentConfig that no input names, under the update policy the new deployment uses, listed as kept."""

from __future__ import annotations

from typing import Any

from botocore.model import Shape, StructureShape

from sagemaker_async_deploy import builders
from sagemaker_async_deploy._checks import StepSize
from sagemaker_async_deploy.planner import desired_from, plan

from .factories import SHAPES, action_config, image, serving_state
from .shape_values import value_for

# What Terraform's deployment_config, the console or the CLI may have set: the blue/green policy's own timeouts.
BLUE_GREEN = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "WaitIntervalInSeconds": 900,
            "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
        },
        "TerminationWaitInSeconds": 600,
        "MaximumExecutionTimeoutInSeconds": 7200,
    },
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "old-alarm"}]},
}


def _leaves(shape: Shape, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every path to a member of ``shape`` that holds a value rather than other members."""
    if isinstance(shape, StructureShape):
        return {leaf for name, member in shape.members.items() for leaf in _leaves(member, (*path, name))}
    return {path}


def _paths(value: Any, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    if isinstance(value, dict):
        return {leaf for name, member in value.items() for leaf in _paths(member, (*path, name))}
    return {path}


def test_an_all_at_once_update_keeps_the_blue_green_timeouts_and_takes_the_rest_from_the_inputs() -> None:
    """TerminationWaitInSeconds and MaximumExecutionTimeoutInSeconds stay; strategy, bake and alarms are the inputs'."""
    carried = builders.carried_deployment(BLUE_GREEN, SHAPES.deployment_config)
    assert carried == {
        "BlueGreenUpdatePolicy": {"TerminationWaitInSeconds": 600, "MaximumExecutionTimeoutInSeconds": 7200}
    }
    values = {"alarms": None, "bake-seconds": 300, "deployment-strategy": "all-at-once"}
    assert builders.deployment_config(values, timeout_seconds=3600, carried=carried) == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300},
            "TerminationWaitInSeconds": 600,
            "MaximumExecutionTimeoutInSeconds": 7200,
        }
    }


def test_a_rolling_update_carries_no_blue_green_setting() -> None:
    """The two update policies are exclusive: a blue/green policy's timeouts mean nothing to a rolling update."""
    carried = builders.carried_deployment(BLUE_GREEN, SHAPES.deployment_config)
    values = {"alarms": None, "bake-seconds": 60, "deployment-strategy": "rolling", "step-size": StepSize(25, True)}
    deployment = builders.deployment_config(values, timeout_seconds=3600, carried=carried)
    assert list(deployment) == ["RollingUpdatePolicy"]


def test_every_member_of_botocores_deployment_config_is_either_an_inputs_or_carried() -> None:
    """Enumerated from botocore's model: a serving config holding every member keeps each one no input decides."""
    serving = value_for(SHAPES.deployment_config)
    carried = builders.carried_deployment(serving, SHAPES.deployment_config)
    managed = builders.deployment_managed_paths()
    undecided = {leaf for leaf in _leaves(SHAPES.deployment_config) if not any(leaf[: len(m)] == m for m in managed)}
    assert _paths(carried) == undecided
    assert ("BlueGreenUpdatePolicy", "TerminationWaitInSeconds") in _paths(carried)
    assert ("BlueGreenUpdatePolicy", "MaximumExecutionTimeoutInSeconds") in _paths(carried)


def test_the_plan_lists_the_kept_deployment_settings_and_the_strategy_change() -> None:
    """A reviewer sees the carried timeouts among the kept settings, and the change of strategy and bake."""
    current = serving_state(deployment=BLUE_GREEN)
    config = action_config(image=image(2), bake_seconds="300", alarms="whisper-5xx")
    the_plan = plan(current, desired_from(config, current, SHAPES))
    assert the_plan.action == "update"
    kept = {k.label: k.value for k in the_plan.kept}
    assert kept["Old fleet kept after"] == "600 s"
    assert kept["Blue/green timeout"] == "7200 s"
    changes = {c.field: (c.before, c.after) for c in the_plan.changes}
    assert changes["deployment-strategy"][1] == "all-at-once"
    assert changes["bake-seconds"] == ("900", "300")
    request = the_plan.desired.deployment_config
    assert request["BlueGreenUpdatePolicy"]["TerminationWaitInSeconds"] == 600


def test_a_create_carries_nothing() -> None:
    """A first deploy has no LastDeploymentConfig to keep from."""
    config = action_config(execution_role_arn="arn:aws:iam::123456789012:role/sagemaker-execution")
    the_plan = plan(None, desired_from(config, None, SHAPES))
    assert the_plan.desired.carried_deployment == {}
    assert "TerminationWaitInSeconds" not in str(the_plan.desired.deployment_config)
