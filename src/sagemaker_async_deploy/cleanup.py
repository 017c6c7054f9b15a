"""Cleanup after a verdict: only what the verdict proves unused, and only what this action made.

A model is deleted only when it carries the action's tag; leftovers of earlier crashed or cancelled runs are
swept by their derived names and the tag. Nothing the endpoint references is ever deleted, and a cleanup that
fails never overturns the verdict: what is left over is swept by the next deploy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from . import aws, cancel
from .builders import is_derived_name, name_prefix
from .config import MANAGED_BY_KEY, MANAGED_BY_VALUE
from .log import Log, safe
from .outcome import RolloutOutcome
from .state import TRANSITIONAL

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_sagemaker import SageMakerClient


@dataclass
class Cleanup:
    sm: SageMakerClient
    log: Log
    outcome: RolloutOutcome
    endpoint_name: str
    existing_model: bool  # model-name given: no model is ever ours to delete
    delete_previous: bool
    # What SageMaker refused to delete in this run ("endpoint config X"): the sweep does not ask again, so a role
    # without the permission gets one warning per leftover, and the report lists it once.
    refused: set[str] = field(default_factory=set)

    def after_success(self, previous_config: str, previous_model: str, serving_config: str, serving_model: str) -> None:
        """After a verified success: remove what was replaced, never what the endpoint now references."""
        try:
            self._remove_replaced(previous_config, previous_model, serving_config, serving_model)
        except ClientError as error:
            self._failed(error)

    def after_rollback(self, serving_config: str, serving_model: str, new_config: str, new_model: str) -> None:
        """After a rollback: the new config and model serve nothing; the old ones serve and are kept."""
        try:
            if new_config != serving_config:
                self._delete_config(new_config)
            if new_model != serving_model and not self.existing_model and self._created_by_us(new_model):
                self._delete_model(new_model)
            self.outcome.kept.append(f"endpoint config {serving_config} (serving)")
        except ClientError as error:
            self._failed(error)

    def created_for_refused(self, created: list[str], existing_model: bool) -> list[str]:
        """After SageMaker refused the create or update they were made for: this run's new config and model
        serve nothing (the refusal rolled nothing out). What was reused from an earlier run stays for it.
        Returns what is gone: what SageMaker refused to delete, or a cancel kept, is reported kept instead."""
        removed: list[str] = []
        for item in created:
            kind, _, name = item.rpartition(" ")
            if kind == "endpoint config":
                gone = self._delete_config(name)
            else:
                gone = kind == "model" and not existing_model and self._delete_model(name)
            if gone:
                removed.append(item)
        return removed

    def _failed(self, error: ClientError) -> None:
        """The verdict stands; what could not be removed is only left over, and the next deploy sweeps it."""
        self.log.warning(
            f"Cleanup stopped: {safe(aws.error_code(error))}: {safe(aws.error_message(error))}. "
            "Nothing that serves was touched; the next deploy removes what is left over."
        )
        self.outcome.kept.append("left over after a failed cleanup: see the warning")

    def _remove_replaced(
        self, previous_config: str, previous_model: str, serving_config: str, serving_model: str
    ) -> None:
        if not self.delete_previous:
            self.outcome.kept.append(f"endpoint config {previous_config} (delete-previous: false)")
            return
        # Read again right before the first deletion: since the verdict someone may have put another config on the
        # endpoint or started rolling one out, the replaced one even. Whatever it references then is kept.
        now = aws.describe_endpoint(self.sm, self.endpoint_name)
        keep_configs, keep_models = self._in_use(now, serving_config, serving_model)
        if previous_config and previous_config not in keep_configs:
            self._delete_config(previous_config)
        if previous_model and previous_model not in keep_models and self._created_by_us(previous_model):
            self._delete_model(previous_model)
        # Leftovers wait for a settled endpoint: an update in flight may still roll back, to what it replaced.
        if now is None or now.get("EndpointStatus") in TRANSITIONAL or now.get("PendingDeploymentSummary"):
            status = (now or {}).get("EndpointStatus", "gone")
            self.log.info(f"Leftovers of earlier runs not swept: the endpoint is {safe(status)}; the next run sweeps.")
            return
        self._sweep(keep_configs, keep_models)

    def _in_use(self, now: aws.Json | None, serving_config: str, serving_model: str) -> tuple[set[str], set[str]]:
        """What is kept: the verdict's serving pair, and whatever the endpoint references now, even if another run
        put it there after this run's verdict: its config, the one an update rolls out, every model they name."""
        endpoint = now or {}
        pending = endpoint.get("PendingDeploymentSummary") or {}
        names = {str(endpoint.get("EndpointConfigName", "")), str(pending.get("EndpointConfigName", ""))} - {""}
        keep_models = {serving_model}
        for name in sorted(names):
            config = aws.describe_endpoint_config(self.sm, name) or {}
            for variant in [*config.get("ProductionVariants", []), *config.get("ShadowProductionVariants", [])]:
                keep_models.add(str(variant.get("ModelName", "")))
        return {serving_config} | names, keep_models

    def _sweep(self, keep_configs: set[str], keep_models: set[str]) -> None:
        """Remove what earlier crashed or cancelled runs of this endpoint left unused (names we derive)."""
        endpoint = self.endpoint_name
        prefix = name_prefix(endpoint)
        for name in aws.list_endpoint_config_names(self.sm, prefix):
            if name not in keep_configs and is_derived_name(endpoint, name) and self._config_created_by_us(name):
                self._delete_config(name)
        if self.existing_model:
            return
        for name in aws.list_model_names(self.sm, prefix):
            if name not in keep_models and is_derived_name(endpoint, name) and self._created_by_us(name):
                self._delete_model(name)

    def _cancelled(self, what: str) -> bool:
        """Nothing is deleted once the job was cancelled: the verdict stands, the next deploy sweeps what is left."""
        if cancel.requested():
            kept = f"{what} (the job was cancelled before its cleanup)"
            if kept not in self.outcome.kept:  # the sweep meets the replaced config and model again
                self.outcome.kept.append(kept)
            return True
        return False

    def _created_by_us(self, model_name: str) -> bool:
        model = aws.describe_model(self.sm, model_name)
        return model is not None and self._tagged_ours(str(model["ModelArn"]))

    def _config_created_by_us(self, config_name: str) -> bool:
        config = aws.describe_endpoint_config(self.sm, config_name)
        return config is not None and self._tagged_ours(str(config["EndpointConfigArn"]))

    def _tagged_ours(self, arn: str) -> bool:
        try:
            return aws.list_tags(self.sm, arn).get(MANAGED_BY_KEY) == MANAGED_BY_VALUE
        except ClientError as error:
            if aws.is_not_found(error):  # deleted in the meantime (a concurrent run's cleanup)
                return False
            raise

    def _delete_config(self, name: str) -> bool:
        return self._delete(
            f"endpoint config {name}",
            lambda: aws.delete_endpoint_config(self.sm, name),
            f"aws sagemaker delete-endpoint-config --endpoint-config-name {name}",
        )

    def _delete_model(self, name: str) -> bool:
        return self._delete(
            f"model {name}", lambda: aws.delete_model(self.sm, name), f"aws sagemaker delete-model --model-name {name}"
        )

    def _delete(self, what: str, delete: Callable[[], object], command: str) -> bool:
        """One deletion: not asked again once refused in this run, nor after a cancel; gone already is fine.
        True when it is gone, False when it is still there (refused, or kept after a cancel)."""
        if what in self.refused or self._cancelled(what):
            return False
        try:
            delete()
        except ClientError as error:
            if aws.is_not_found(error):
                return True
            self._refused(what, error, command)
            return False
        self.outcome.cleaned_up.append(what)
        self.log.info(f"Deleted {what}.")
        return True

    def _refused(self, what: str, error: ClientError, command: str) -> None:
        """SageMaker refused one deletion (a role without the permission, say): it serves nothing and is left."""
        self.refused.add(what)
        self.log.warning(
            f"Could not delete {what}: {safe(aws.error_message(error))}. It serves nothing; the next deploy "
            f"removes it if it may, or delete it yourself: {command}"
        )
        self.outcome.kept.append(what)
