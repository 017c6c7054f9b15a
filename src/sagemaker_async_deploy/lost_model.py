"""A serving config whose model no longer exists: where a rollback would land, and what that costs.

With ``model-name`` the action deploys a model someone else made and never reads the serving one. When that
someone is Terraform replacing its model for a new image, the old model (the one the endpoint serves) is
destroyed before the rollout. The endpoint keeps answering on its running instances, but an instance of a
deleted model cannot be launched again: SageMaker launches instances from the config's model, whether for
autoscaling, a scale-out from zero or the replacement of an unhealthy instance, and an update fails the same
way ("Could not find model", as UpdateEndpoint answers for a config whose model is gone). A rollback returns to
exactly that config. Nobody would be told; this module finds it before the update and words the warning and
the verdict's note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import aws
from .log import safe

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

    from .planner import Plan


@dataclass(frozen=True)
class LostModel:
    """The serving config, and the model it names that no longer exists."""

    config_name: str
    model_name: str

    def plan_warning(self) -> str:
        """Before the update: where a rollback would land."""
        return (
            f"The serving config {safe(self.config_name)} names model {safe(self.model_name)}, which no longer "
            "exists (Terraform replaces its model that way for a new image). If this update rolls back, the "
            "endpoint returns to that config: it keeps answering, but SageMaker cannot launch another instance "
            "of it: no scale-out, no scale from zero, no replacement of a failed instance"
        )

    def verdict_note(self) -> str:
        """After a rollback or failure that left that config serving: what it means and the way out."""
        return (
            f"The endpoint serves config {safe(self.config_name)}, whose model {safe(self.model_name)} no longer "
            "exists: it answers on the instances it runs, but SageMaker cannot launch another instance of it "
            "(no scale-out, no scale from zero, no replacement of a failed instance). Roll forward: fix the new "
            f"model and run again; or create the model again under the name {safe(self.model_name)} with its "
            "former image, role and artifact, as your Terraform state or code has them"
        )

    def serves_after(self, serving_config: str) -> bool:
        """Whether the config that names the lost model is what the endpoint serves after the run."""
        return serving_config == self.config_name


def find(sm: SageMakerClient, the_plan: Plan) -> LostModel | None:
    """The serving config's lost model, for an update that deploys a given model (None when it exists).

    One DescribeModel, only on the path that updates: the no-change path never reads the serving model. An
    update that creates its model never gets here with a lost one: the planner refuses it, as it cannot carry
    the lost model's settings over.
    """
    current = the_plan.current
    # equivalent mutants core/ReplaceComparisonOperator_NotEq_Lt, core/ReplaceComparisonOperator_NotEq_IsNot,
    # core/ReplaceOrWithAnd: a plan's action is one of the planner's literals "create", "unchanged", "update" (the
    # same interned objects, and the other two sort before "update"); and an update that creates its model never
    # comes with a serving model unread (the planner refuses it), so with no model-name the next line returns None.
    if the_plan.action != "update" or not the_plan.desired.existing_model or current is None:
        return None
    name = current.model_name
    if not name or current.model is not None or aws.describe_model(sm, name) is not None:
        return None
    return LostModel(current.config_name, name)
