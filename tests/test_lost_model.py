"""A serving config whose model no longer exists, on plain values: when it is looked for, what is found, and when
the verdict's note applies."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from sagemaker_async_deploy import lost_model
from sagemaker_async_deploy.lost_model import LostModel
from sagemaker_async_deploy.planner import Plan, desired_from, plan
from sagemaker_async_deploy.state import ServingState

from .factories import SHAPES, action_config, image, serving_state

SERVING = serving_state(config_name="whisper-config-1", model_name="terraform-model-1", read_model=False)


class Models:
    """A SageMaker client that knows the models ``existing`` and answers DescribeModel as SageMaker does."""

    def __init__(self, *existing: str) -> None:
        self.existing = set(existing)
        self.described: list[str] = []

    def describe_model(self, ModelName: str) -> dict[str, Any]:
        self.described.append(ModelName)
        if ModelName not in self.existing:
            message = f'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/{ModelName}".'
            raise ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "DescribeModel")
        return {"ModelName": ModelName}


def planned(current: ServingState | None, **inputs: str) -> Plan:
    return plan(current, desired_from(action_config(**inputs), current, SHAPES))


def found(sm: Models, the_plan: Plan) -> LostModel | None:
    return lost_model.find(sm, the_plan)  # type: ignore[arg-type]


def test_an_update_to_a_given_model_finds_the_serving_model_gone() -> None:
    """model-name's update reads the serving model once; when SageMaker has none, the serving config and its model
    are named."""
    sm = Models("terraform-model-2")
    the_plan = planned(SERVING, model_name="terraform-model-2")
    assert the_plan.action == "update"
    assert found(sm, the_plan) == LostModel("whisper-config-1", "terraform-model-1")
    assert sm.described == ["terraform-model-1"]


def test_a_serving_model_that_exists_is_not_lost() -> None:
    """The serving model still there: nothing to warn about."""
    sm = Models("terraform-model-1", "terraform-model-2")
    assert found(sm, planned(SERVING, model_name="terraform-model-2")) is None
    assert sm.described == ["terraform-model-1"]


def test_nothing_is_read_off_the_update_of_a_given_model() -> None:
    """No DescribeModel for a plan that does not update, for an update that creates its model, nor when the serving
    model was read already or is not known: the no-change path stays as cheap as it was."""
    sm = Models()
    assert found(sm, planned(SERVING, model_name="terraform-model-1")) is None  # unchanged
    assert found(sm, planned(None, model_name="terraform-model-2")) is None  # create
    assert found(sm, planned(serving_state(), image=image(2))) is None  # the action makes the model
    read = serving_state(config_name="whisper-config-1", model_name="terraform-model-1")
    assert found(sm, planned(read, model_name="terraform-model-2")) is None  # described already: it exists
    nameless = serving_state(model_name="", read_model=False)
    assert found(sm, planned(nameless, model_name="terraform-model-2")) is None
    assert sm.described == []


def test_the_note_applies_only_while_that_config_serves() -> None:
    """After the run, the verdict's note is for the config that names the lost model, not for the new one."""
    lost = LostModel("whisper-config-1", "terraform-model-1")
    assert lost.serves_after("whisper-config-1")
    assert lost.serves_after(json.loads('"whisper-config-1"'))  # as DescribeEndpoint's answer holds it
    assert not lost.serves_after("whisper-config-2")
    assert not lost.serves_after("")
