"""Applying a plan: model, endpoint config, create or blue/green update, the wait, the verdict, cleanup.

Success is only ``InService`` **on the new config**. ``InService`` on the old config after an update is an
alarm rollback (AWS leaves FailureReason empty then). Nothing that serves is ever deleted: cleanup runs
after the verdict and touches only what the verdict proves unused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from . import aws
from .autoscaling import restore_scaling, suspend_scaling
from .config import MANAGED_BY_KEY, MANAGED_BY_VALUE, ActionConfig
from .errors import DeployError
from .log import Log, safe
from .planner import DesiredConfig, Plan, ServingState, desired_from, is_derived_name, name_prefix, plan
from .state import TRANSITIONAL, serving_state

EXPIRED_CREDENTIALS = ("ExpiredToken", "ExpiredTokenException", "RequestExpired")
REJECTED_CREDENTIALS = ("InvalidClientTokenId", "UnrecognizedClientException", "InvalidSignatureException")
IN_PROGRESS = "Cannot update in-progress endpoint"
MAX_REPLANS = 5  # someone else's update racing ours, each time waited out


@dataclass(frozen=True)
class Transition:
    at: float  # epoch seconds
    status: str
    variant_status: str


@dataclass
class RolloutOutcome:
    """Everything the report needs: the verdict, what served before and after, and what happened."""

    result: str  # created, updated, unchanged, rolled-back, failed; plan mode: would-create, would-update
    plan: Plan | None = None
    before: ServingState | None = None
    endpoint_arn: str = ""
    serving_config: str = ""
    serving_model: str = ""
    serving_image: str = ""
    failure_reason: str = ""
    message: str = ""
    timed_out: bool = False
    transitions: list[Transition] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)  # what this run changed in AWS, in order
    cleaned_up: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    update_started: float = 0.0  # when CreateEndpoint/UpdateEndpoint was called: the new fleet is younger
    finished: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.result in ("created", "updated", "unchanged", "would-create", "would-update")

    @property
    def duration(self) -> float:
        return (self.finished or time.time()) - self.started


class Rollout:
    """One run against one endpoint. ``run()`` returns the outcome; it raises DeployError for a run that
    cannot go on (bad state, expired credentials), after recording what it knows in ``outcome``."""

    def __init__(
        self,
        config: ActionConfig,
        clients: aws.Clients,
        log: Log,
        *,
        preflight: Callable[[], None] = lambda: None,
    ) -> None:
        # Read-only checks of what the inputs name (alarms, topics, …): run before the first write, and in
        # plan mode, but not on the no-change path, which must cost one DescribeEndpoint and little more.
        self.preflight = preflight
        self.config = config
        self.clients = clients
        self.sm = clients.sagemaker
        self.log = log
        self.outcome = RolloutOutcome(result="failed", started=time.time())
        self.deadline = self.outcome.started + config.deployment_timeout_seconds

    # --- the run ------------------------------------------------------------------------------------------

    def run(self) -> RolloutOutcome:
        try:
            self._run()
        except ClientError as error:
            code = aws.error_code(error)
            if code in REJECTED_CREDENTIALS:
                raise DeployError(
                    f"AWS rejected the credentials ({safe(code)}): check the aws-actions/configure-aws-credentials "
                    "step before this one (role, region, account) and that no stale AWS_* variable overrides it.",
                    kind="credentials-rejected",
                ) from error
            if code in EXPIRED_CREDENTIALS and not self.outcome.writes:
                raise DeployError(
                    f"AWS credentials had expired before the action changed anything ({safe(code)}). "
                    "Run aws-actions/configure-aws-credentials in this job, right before this step.",
                    kind="credentials-stale",
                ) from error
            if code in EXPIRED_CREDENTIALS:
                raise DeployError(
                    f"AWS credentials expired while the action was working ({safe(code)}). The endpoint may "
                    "still be updating; nothing was deleted. Give the role session more time "
                    "(role-duration-seconds in aws-actions/configure-aws-credentials) than "
                    "deployment-timeout-minutes.",
                    kind="credentials-expired",
                ) from error
            raise
        finally:
            self.outcome.finished = time.time()
        return self.outcome

    def _run(self) -> None:
        cfg = self.config
        preflight_done = False  # a replan after someone else's update must not check (and cost) twice
        for _ in range(MAX_REPLANS):
            endpoint = aws.describe_endpoint(self.sm, cfg.endpoint_name)
            adopted_from, before_wait = "", endpoint
            if endpoint is not None and endpoint.get("EndpointStatus") in TRANSITIONAL:
                adopted_from = str(endpoint.get("EndpointConfigName", ""))
                pending = str((endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName", ""))
                self.log.info(
                    f"Endpoint {cfg.endpoint_name} is {safe(endpoint.get('EndpointStatus'))}"
                    + (f" (rolling out {safe(pending)})" if pending else "")
                    + ": waiting for it to settle before planning."
                )
                endpoint = self._wait(
                    endpoint_name=cfg.endpoint_name, title="Waiting for the endpoint to settle", settling=True
                )
                if not is_derived_name(cfg.endpoint_name, pending):
                    adopted_from = ""
            current = self._current(endpoint)
            the_plan = plan(current, desired_from(cfg, current))
            self.outcome.plan, self.outcome.before = the_plan, current
            if current is not None:
                self._record_serving(current)
            self._log_plan(the_plan)

            if (cfg.mode == "plan" or the_plan.action != "unchanged") and not preflight_done:
                self.preflight()
                preflight_done = True
            if cfg.mode == "plan":
                self.outcome.result = {"create": "would-create", "update": "would-update"}.get(
                    the_plan.action, "unchanged"
                )
                self.outcome.serving_image = the_plan.desired.image  # the contract: desired in plan mode
                return
            if the_plan.action == "unchanged":
                if adopted_from and the_plan.current and adopted_from != the_plan.current.config_name:
                    # An earlier run (cancelled or crashed mid-wait) started this very rollout; it finished
                    # while we waited. Finish its work: clean up what it replaced.
                    self.log.info(f"Completed the rollout an earlier run started from {safe(adopted_from)}.")
                    previous = self._current(before_wait)  # what served when this run started
                    self.outcome.before = previous
                    self.outcome.result = "updated"
                    self.outcome.message = "completed the rollout an earlier run started"
                    previous_model = previous.model_name if previous else ""
                    # What serves is what the endpoint references now, whatever this run would have named it.
                    current = the_plan.current
                    self._cleanup_after_success(adopted_from, previous_model, current.config_name, current.model_name)
                    return
                self.outcome.result = "unchanged"
                return
            try:
                self._apply(the_plan)
                return
            except ClientError as error:
                if IN_PROGRESS not in aws.error_message(error):
                    raise
                self.log.info("Someone else started an update in the meantime: waiting, then planning again.")
        raise DeployError(
            f"endpoint-name: {self.config.endpoint_name} kept being updated by someone else; "
            f"gave up after {MAX_REPLANS} attempts. Use a concurrency group per endpoint.",
            kind="busy",
        )

    def _current(self, endpoint: aws.Json | None) -> ServingState | None:
        if endpoint is None:
            return None
        status = str(endpoint.get("EndpointStatus", ""))
        if status in ("Failed", "UpdateRollbackFailed", "OutOfService") and not endpoint.get("ProductionVariants"):
            reason = safe(endpoint.get("FailureReason", ""))
            raise DeployError(
                f"endpoint-name: {self.config.endpoint_name} is {status} and serves nothing ({reason}). "
                f"Delete it (aws sagemaker delete-endpoint --endpoint-name {self.config.endpoint_name}) "
                "and run again to create it anew."
            )
        state = serving_state(self.sm, endpoint, self.config.variant_name, need_model=self.config.creates_model)
        self.log.mask_values(value for _, value in state.model_environment)  # the serving model's may be secrets
        return state

    def _record_serving(self, state: ServingState) -> None:
        self.outcome.endpoint_arn = state.endpoint_arn
        self.outcome.serving_config = state.config_name
        self.outcome.serving_model = state.model_name
        self.outcome.serving_image = state.image

    def _log_plan(self, the_plan: Plan) -> None:
        with self.log.group(f"Plan: {the_plan.action}"):
            if the_plan.current is None:
                self.log.info(f"Endpoint {self.config.endpoint_name} does not exist: it will be created.")
            else:
                self.log.info(
                    f"Serving: config {safe(the_plan.current.config_name)}, image {safe(the_plan.current.image)}"
                )
            for change in the_plan.changes:
                self.log.info(f"  {change.field}: {safe(change.before) or '∅'} → {safe(change.after) or '∅'}")
            if not the_plan.changes:
                self.log.info("Nothing to change.")

    # --- apply --------------------------------------------------------------------------------------------

    def _apply(self, the_plan: Plan) -> None:
        desired = the_plan.desired
        new_model = desired.model_name
        new_config = desired.config_name
        if not desired.existing_model:
            self._ensure_model(desired)
        self._ensure_config(desired)
        request: aws.Json
        saved_scaling = None
        if the_plan.action == "create":
            request = {
                "EndpointName": desired.endpoint_name,
                "EndpointConfigName": new_config,
                "Tags": self._tags(desired),
            }
            self.log.info(f"Creating endpoint {desired.endpoint_name} with config {new_config}.")
            self.outcome.update_started = time.time()
            self.outcome.endpoint_arn = aws.create_endpoint(self.sm, request)
            self.outcome.writes.append(f"endpoint {desired.endpoint_name}")
        else:
            assert the_plan.current is not None
            if the_plan.instance_type_changes:
                saved_scaling = suspend_scaling(self.clients, self.log, desired.endpoint_name, desired.variant_name)
            request = {
                "EndpointName": desired.endpoint_name,
                "EndpointConfigName": new_config,
                "RetainAllVariantProperties": True,
                "DeploymentConfig": self._deployment_config(desired),
            }
            if not the_plan.retain_instance_count:
                # The user asked for a new instance count: take it from the config, keep the rest.
                request["ExcludeRetainedVariantProperties"] = [{"VariantPropertyType": "DesiredInstanceCount"}]
            self.log.info(
                f"Updating endpoint {desired.endpoint_name}: {safe(the_plan.current.config_name)} → {new_config} "
                f"(blue/green, all at once, bake {desired.bake_seconds}s"
                + (f", rollback on {len(desired.alarms)} alarm(s))" if desired.alarms else ", no alarms)")
            )
            try:
                self.outcome.update_started = time.time()
                self.outcome.endpoint_arn = aws.update_endpoint(self.sm, request)
                self.outcome.writes.append(f"update of endpoint {desired.endpoint_name}")
            except ClientError:
                if saved_scaling is not None:
                    restore_scaling(self.clients, self.log, saved_scaling)
                raise

        rollout_start = len(self.outcome.transitions)  # earlier ones were someone else's update, waited out
        try:
            final = self._wait(endpoint_name=desired.endpoint_name, title="Waiting for the rollout")
        finally:
            if saved_scaling is not None:
                restore_scaling(self.clients, self.log, saved_scaling)
        if final is None:
            raise DeployError(
                f"endpoint-name: {desired.endpoint_name} was deleted during the rollout, by someone else. Nothing of "
                "it serves any more; run again to create it anew, and find who deletes it.",
                kind="busy",
            )
        self._verdict(the_plan, final, new_config, new_model, self.outcome.transitions[rollout_start:])

    def _tags(self, desired: DesiredConfig) -> list[dict[str, str]]:
        tags = [{"Key": MANAGED_BY_KEY, "Value": MANAGED_BY_VALUE}]
        return tags + [{"Key": k, "Value": v} for k, v in desired.tags]

    def _ensure_model(self, desired: DesiredConfig) -> None:
        name = desired.model_name
        if aws.describe_model(self.sm, name) is not None:
            self.log.info(f"Model {name} exists already (an earlier run made it): reusing it.")
            return
        container: aws.Json = {"Image": desired.image}
        if desired.model_data_url:
            container["ModelDataUrl"] = desired.model_data_url
        if desired.environment:
            container["Environment"] = dict(desired.environment)
        request = {
            "ModelName": name,
            "PrimaryContainer": container,
            "ExecutionRoleArn": desired.role,
            "Tags": self._tags(desired),
        }
        self.log.info(f"Creating model {name} for {safe(desired.image)}.")
        try:
            aws.create_model(self.sm, request)
        except ClientError as error:
            if not aws.is_already_existing(error):
                raise
        self.outcome.writes.append(f"model {name}")

    def _ensure_config(self, desired: DesiredConfig) -> None:
        name = desired.config_name
        if aws.describe_endpoint_config(self.sm, name) is not None:
            self.log.info(f"Endpoint config {name} exists already (an earlier run made it): reusing it.")
            return
        output: aws.Json = {"S3OutputPath": desired.output_path}
        if desired.failure_path:
            output["S3FailurePath"] = desired.failure_path
        notification: aws.Json = {}
        if desired.success_topic:
            notification["SuccessTopic"] = desired.success_topic
        if desired.error_topic:
            notification["ErrorTopic"] = desired.error_topic
        if notification:
            notification["IncludeInferenceResponseIn"] = ["SUCCESS_NOTIFICATION_TOPIC"]
            output["NotificationConfig"] = notification
        request = {
            "EndpointConfigName": name,
            "ProductionVariants": [
                {
                    "VariantName": desired.variant_name,
                    "ModelName": desired.model_name,
                    "InstanceType": desired.instance_type,
                    "InitialInstanceCount": desired.initial_instance_count,
                }
            ],
            "AsyncInferenceConfig": {
                "OutputConfig": output,
                "ClientConfig": {"MaxConcurrentInvocationsPerInstance": desired.max_concurrent_invocations},
            },
            "Tags": self._tags(desired),
        }
        self.log.info(f"Creating endpoint config {name}.")
        try:
            aws.create_endpoint_config(self.sm, request)
        except ClientError as error:
            if not aws.is_already_existing(error):
                raise
        self.outcome.writes.append(f"endpoint config {name}")

    def _deployment_config(self, desired: DesiredConfig) -> aws.Json:
        deployment: aws.Json = {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "ALL_AT_ONCE",
                    "WaitIntervalInSeconds": desired.bake_seconds,
                }
            }
        }
        if desired.alarms:
            deployment["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in desired.alarms]}
        return deployment

    # --- waiting ------------------------------------------------------------------------------------------

    def _wait(self, *, endpoint_name: str, title: str, settling: bool = False) -> aws.Json | None:
        """Poll DescribeEndpoint until the endpoint settles; one progress line per poll, inside a group."""
        started = time.time()
        with self.log.group(title):
            while True:
                endpoint = aws.describe_endpoint(self.sm, endpoint_name)
                now = time.time()
                if endpoint is None:
                    self.log.info(f"  {now - started:6.0f}s  endpoint gone")
                    return None
                status = str(endpoint.get("EndpointStatus", ""))
                variant_status = _variant_status(endpoint)
                self._note_transition(now, status, variant_status)
                pending = (endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName", "")
                self.log.info(
                    f"  {now - started:6.0f}s  {safe(status):<16} variant: {safe(variant_status) or '-':<24} "
                    f"config: {safe(endpoint.get('EndpointConfigName', ''))}"
                    + (f" → {safe(pending)}" if pending else "")
                )
                if status not in TRANSITIONAL:
                    return endpoint
                if now >= self.deadline:
                    self.outcome.timed_out = True
                    minutes = f"{self.config.deployment_timeout_seconds / 60:g} minutes (deployment-timeout-minutes)"
                    if settling:
                        raise DeployError(
                            f"Timed out after {minutes} waiting for an update this run did not start; the endpoint "
                            f"is still {safe(status)} and this run changed nothing. Let one run per endpoint go at "
                            "a time (a concurrency group), or find who else updates it.",
                            kind="timeout",
                        )
                    raise DeployError(
                        f"Timed out after {minutes} with the endpoint {safe(status)}. The rollout goes on in "
                        "SageMaker; nothing was deleted. Rerun the action to wait for it and finish the job.",
                        kind="timeout",
                    )
                time.sleep(min(self.config.poll_interval_seconds, max(self.deadline - now, 0.0)))

    def _note_transition(self, now: float, status: str, variant_status: str) -> None:
        last = self.outcome.transitions[-1] if self.outcome.transitions else None
        if last is None or (last.status, last.variant_status) != (status, variant_status):
            self.outcome.transitions.append(Transition(now, status, variant_status))

    # --- verdict and cleanup ------------------------------------------------------------------------------

    def _verdict(
        self, the_plan: Plan, final: aws.Json, new_config: str, new_model: str, seen: list[Transition]
    ) -> None:
        status = str(final.get("EndpointStatus", ""))
        serving = str(final.get("EndpointConfigName", ""))
        reason = str(final.get("FailureReason", "") or "")
        outcome = self.outcome
        outcome.endpoint_arn = str(final.get("EndpointArn", outcome.endpoint_arn))
        outcome.failure_reason = reason
        previous = the_plan.current
        desired = the_plan.desired

        if status == "InService" and serving == new_config:
            outcome.result = "created" if previous is None else "updated"
            outcome.serving_config, outcome.serving_model = new_config, new_model
            live = final.get("ProductionVariants") or [{}]
            outcome.serving_image = aws.deployed_image(live[0]) or desired.image
            self.log.info(f"Endpoint {desired.endpoint_name} is InService on {new_config}.")
            if previous is not None:
                self._cleanup_after_success(previous.config_name, previous.model_name, new_config, new_model)
            return

        if status == "InService" and previous is not None and serving == previous.config_name:
            # Back on the old config. An alarm rollback passes through RollingBack and may leave FailureReason
            # empty; a deployment that failed before traffic moved leaves the reason and never rolls back.
            rolled_back = not reason or any(t.status == "RollingBack" for t in seen)
            outcome.result = "rolled-back" if rolled_back else "failed"
            outcome.message = (
                ("SageMaker rolled the update back" if rolled_back else "the new fleet failed before taking traffic")
                + (" (an auto-rollback alarm fired)" if rolled_back and not reason and desired.alarms else "")
                + f"; {previous.config_name} still serves {previous.image}"
            )
            self._record_serving(previous)
            self._cleanup_unused_new(previous, new_config, new_model)
            return

        outcome.result = "failed"
        if status == "InService":
            outcome.message = f"the endpoint is InService on an unexpected config ({serving})"
        else:
            outcome.message = f"the endpoint is {status}"
        outcome.serving_config = serving
        # Failed / UpdateRollbackFailed: what serves is uncertain; keep everything for the investigation.
        outcome.kept += [f"endpoint config {new_config}"] + (
            [f"model {new_model}"] if not desired.existing_model else []
        )

    def _cleanup_after_success(
        self, previous_config: str, previous_model: str, serving_config: str, serving_model: str
    ) -> None:
        """After a verified success: remove what was replaced, never what the endpoint now references."""
        try:
            self._remove_replaced(previous_config, previous_model, serving_config, serving_model)
        except ClientError as error:
            self._cleanup_failed(error)

    def _cleanup_failed(self, error: ClientError) -> None:
        """The verdict stands; what could not be removed is only left over, and the next deploy sweeps it."""
        self.log.warning(
            f"Cleanup stopped: {safe(aws.error_code(error))}: {safe(aws.error_message(error))}. "
            "Nothing that serves was touched; the next deploy removes what is left over."
        )
        self.outcome.kept.append("left over after a failed cleanup: see the warning")

    def _remove_replaced(
        self, previous_config: str, previous_model: str, serving_config: str, serving_model: str
    ) -> None:
        if not self.config.delete_previous:
            self.outcome.kept.append(f"endpoint config {previous_config} (delete-previous: false)")
            return
        if previous_config and previous_config != serving_config:
            self._delete_config(previous_config)
        if previous_model and previous_model != serving_model and self._created_by_us(previous_model):
            self._delete_model(previous_model)
        self._sweep(keep_configs={serving_config}, keep_models={serving_model})

    def _cleanup_unused_new(self, previous: ServingState, new_config: str, new_model: str) -> None:
        """After a rollback: the new config and model serve nothing; the old ones serve and are kept."""
        try:
            self._remove_unused_new(previous, new_config, new_model)
        except ClientError as error:
            self._cleanup_failed(error)

    def _remove_unused_new(self, previous: ServingState, new_config: str, new_model: str) -> None:
        if new_config != previous.config_name:
            self._delete_config(new_config)
        if new_model != previous.model_name and not self.config.model_name and self._created_by_us(new_model):
            self._delete_model(new_model)
        self.outcome.kept.append(f"endpoint config {previous.config_name} (serving)")

    def _sweep(self, keep_configs: set[str], keep_models: set[str]) -> None:
        """Remove what earlier crashed or cancelled runs of this endpoint left unused (names we derive)."""
        endpoint = self.config.endpoint_name
        prefix = name_prefix(endpoint)
        for name in aws.list_endpoint_config_names(self.sm, prefix):
            if name not in keep_configs and is_derived_name(endpoint, name) and self._config_created_by_us(name):
                self._delete_config(name)
        if self.config.model_name:
            return
        for name in aws.list_model_names(self.sm, prefix):
            if name not in keep_models and is_derived_name(endpoint, name) and self._created_by_us(name):
                self._delete_model(name)

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

    def _delete_config(self, name: str) -> None:
        try:
            aws.delete_endpoint_config(self.sm, name)
            self.outcome.cleaned_up.append(f"endpoint config {name}")
            self.log.info(f"Deleted endpoint config {name}.")
        except ClientError as error:
            if not aws.is_not_found(error):
                self.log.warning(f"Could not delete endpoint config {name}: {aws.error_message(error)}")
                self.outcome.kept.append(f"endpoint config {name}")

    def _delete_model(self, name: str) -> None:
        try:
            aws.delete_model(self.sm, name)
            self.outcome.cleaned_up.append(f"model {name}")
            self.log.info(f"Deleted model {name}.")
        except ClientError as error:
            if not aws.is_not_found(error):
                self.log.warning(f"Could not delete model {name}: {aws.error_message(error)}")
                self.outcome.kept.append(f"model {name}")


def _variant_status(endpoint: aws.Json) -> str:
    statuses: list[str] = []
    for variant in endpoint.get("ProductionVariants", []) + (
        (endpoint.get("PendingDeploymentSummary") or {}).get("ProductionVariants", [])
    ):
        statuses += [str(s.get("Status", "")) for s in variant.get("VariantStatus", [])]
    return ", ".join(s for s in statuses if s)
