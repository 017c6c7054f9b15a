"""Applying a plan: model, endpoint config, create or blue/green update, the wait, the verdict, cleanup.

Success is only ``InService`` **on the new config**. ``InService`` on the old config after an update is a
rollback when traffic moved (or no FailureReason says otherwise), a new fleet that failed before taking traffic
when a FailureReason says why and none moved. Nothing that serves is ever deleted: cleanup runs after the verdict
and touches only what the verdict proves unused.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import ClientError

from . import artifacts, aws, builders, cancel, lost_model, packages, redeploy, smoke
from .builders import Shapes, is_derived_name
from .config import AUTOSCALING_RECORD_PREFIX, ActionConfig
from .errors import DeployError, InputError
from .fields import INSTANCE_COUNT, MODEL_DATA_URL, MODEL_PACKAGE, STRATEGY, Part
from .fleetlog import FleetLog
from .log import Log, safe
from .outcome import RolloutOutcome, SmokeResult, Transition
from .planner import Plan, desired_from, plan
from .report import short_image
from .smoke import SmokeTester
from .state import TRANSITIONAL, ServingState, read_serving
from .waiting import PollWatcher, Since, Waiter

if TYPE_CHECKING:
    from .autoscaling import Autoscaling
    from .cleanup import Cleanup

T = TypeVar("T")
EXPIRED_CREDENTIALS = ("ExpiredToken", "ExpiredTokenException", "RequestExpired")
REJECTED_CREDENTIALS = ("InvalidClientTokenId", "UnrecognizedClientException", "InvalidSignatureException")
IN_PROGRESS = "Cannot update in-progress endpoint"
MAX_REPLANS = 5  # someone else's update racing ours, each time waited out
# A model or config created a moment ago may not be visible yet to the call that names it (CreateEndpoint's
# API reference: "retry logic is recommended"). Retried on exactly that refusal, naming exactly that resource.
READ_AFTER_CREATE_WAITS = (1.0, 2.0, 4.0, 8.0)
CAPACITY_REFUSALS = ("ResourceLimitExceeded", "ResourceInUse", "InsufficientCapacityException")
QUOTA_RE = re.compile(
    r"service limit '(?P<quota>[^']+)' is (?P<limit>\d+) Instances?, with current utilization of (?P<used>\d+) "
    r"Instances? and a request delta of (?P<delta>\d+)"
)

__all__ = ["Rollout", "RolloutOutcome", "Transition"]


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
        self.artifact: artifacts.Identity | None = None  # the created model's artifact now (see _artifact)
        self.waiter = Waiter(
            self.sm,
            log,
            self.outcome,
            deadline=self.outcome.started + config.deployment_timeout_seconds,
            timeout_seconds=config.deployment_timeout_seconds,
            poll_interval=config.poll_interval_seconds,
        )
        self.smoke_tester: SmokeTester | None = None  # this run's smoke test, once an update or create needs one

    # Autoscaling and cleanup are loaded when a run uses them: a run that changes nothing needs neither.
    @cached_property
    def scaling(self) -> Autoscaling:
        from .autoscaling import Autoscaling

        return Autoscaling(self.clients, self.log, self.outcome)

    @cached_property
    def cleanup(self) -> Cleanup:
        from .cleanup import Cleanup

        return Cleanup(
            self.sm,
            self.log,
            self.outcome,
            endpoint_name=self.config.endpoint_name,
            existing_model=not self.config.creates_model,
            delete_previous=self.config.delete_previous,
        )

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
        shapes = Shapes.of(self.sm.meta.service_model)
        preflight_done = False  # a replan after someone else's update must not check (and cost) twice
        scaling_checked = False
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
                endpoint = self.waiter.wait(cfg.endpoint_name, "Waiting for the endpoint to settle", settling=True)
                if not is_derived_name(cfg.endpoint_name, pending):
                    adopted_from = ""
            current = self._current(endpoint)  # an endpoint SageMaker will not update is refused before any write
            if endpoint is not None and not scaling_checked:
                # An interrupted run may have left the variant's autoscaling deregistered and recorded on the endpoint.
                if self._autoscaling_recorded(endpoint):
                    # equivalent mutants core/ReplaceComparisonOperator_Eq_LtE, core/ReplaceComparisonOperator_Eq_Is:
                    # mode is config's own literal "apply" or "plan" (interned, as this one is), and "plan" sorts
                    # after "apply".
                    self.scaling.recover(endpoint, apply=cfg.mode == "apply")
                scaling_checked = True
            # An earlier run's rollout that landed while this run waited is this run's redeploy: not forced again.
            landed = bool(adopted_from) and current is not None and current.config_name != adopted_from
            wanted = replace(cfg, force_redeploy=False) if landed else cfg
            self.artifact = self._artifact(current)
            the_plan = plan(current, desired_from(wanted, current, shapes, artifact=self.artifact))
            self.outcome.plan, self.outcome.before = the_plan, current
            serving_package = current.value(MODEL_PACKAGE) if current is not None else None
            # equivalent mutants core/ReplaceComparisonOperator_NotEq_Gt, core/ReplaceComparisonOperator_NotEq_GtE,
            # core/ReplaceComparisonOperator_NotEq_IsNot: a serving package is read only with the model the run
            # creates, and then no package input is itself a change (fields.MODEL_PACKAGE), so the action here is
            # always "update", which sorts after "unchanged"
            if serving_package is not None and cfg.package is None and the_plan.action != "unchanged":
                # An endpoint serving a package, given an image: the report names the version it replaces (read
                # for the report only, so never on the no-change path).
                self.outcome.replaced_package = packages.describe_serving(self.sm, serving_package)
            if the_plan.forced:
                self.outcome.message = redeploy.REASON
            if current is not None:
                self.outcome.record_serving(current)
            self._log_plan(the_plan)
            self.outcome.lost_model = lost_model.find(self.sm, the_plan)
            if self.outcome.lost_model is not None:
                self.log.warning(self.outcome.lost_model.plan_warning(), title="A rollback would not scale")

            # equivalent mutants core/ReplaceComparisonOperator_Eq_GtE, core/ReplaceComparisonOperator_Eq_Is,
            # core/ReplaceComparisonOperator_NotEq_IsNot: mode and action are config's and the planner's own literals
            # (interned, as these are), and "apply" sorts before "plan".
            if (cfg.mode == "plan" or the_plan.action != "unchanged") and not preflight_done:
                self.preflight()
                preflight_done = True
                # equivalent mutants core/ReplaceComparisonOperator_Eq_GtE, core/ReplaceComparisonOperator_Eq_Is: the
                # action is the planner's own literal (interned, as this one is), and neither "create" nor "unchanged"
                # sorts after "update".
                if the_plan.action == "update":
                    desired = the_plan.desired
                    self.scaling.warn_if_blocked(
                        cfg.endpoint_name, cfg.variant_name, desired.bakes, desired.bake_seconds, desired.fleet
                    )
            # equivalent mutants core/ReplaceComparisonOperator_Eq_GtE, core/ReplaceComparisonOperator_Eq_Is: mode is
            # config's own literal "apply" or "plan" (interned, as this one is), and "apply" sorts before "plan".
            if cfg.mode == "plan":
                self.outcome.result = {"create": "would-create", "update": "would-update"}.get(
                    the_plan.action, "unchanged"
                )
                self.outcome.serving_image = the_plan.desired.image  # the contract: desired in plan mode
                return
            # equivalent mutant core/ReplaceComparisonOperator_Eq_Is: the action is the planner's own literal, interned
            # as this one is.
            if the_plan.action == "unchanged":
                if adopted_from and the_plan.current and adopted_from != the_plan.current.config_name:
                    self._adopt(adopted_from, before_wait, the_plan.current)
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

    def _artifact(self, current: ServingState | None) -> artifacts.Identity | None:
        """What the created model's artifact holds now: model-data-url's, or the serving model's it keeps.

        A given model-data-url that names nothing is bad input. A kept artifact is looked at on the way: when S3
        denies it (a role granted no s3:GetObject before this was read) or it is gone, it is compared by URL as
        before, with a note, and the run goes on.
        """
        url = self.config.given(MODEL_DATA_URL)
        if not self.config.creates_model or self.config.package is not None:
            return None
        if url:
            found = artifacts.identity(self.clients.s3, url)
        else:
            kept = artifacts.location(current.part(Part.CONTAINER) or {}) if current is not None else ""
            if not kept.startswith("s3://"):
                return None
            try:
                found = artifacts.identity(self.clients.s3, kept)
            except (ClientError, InputError) as error:
                reason = aws.error_code(error) if isinstance(error, ClientError) else "nothing stored there"
                self.log.info(f"The model artifact {safe(kept)} could not be read ({safe(reason)}): compared by URL.")
                return None
        self.log.info(f"Model artifact {safe(found.url)}: {safe(found.shown)}.")
        return found

    def _autoscaling_recorded(self, endpoint: aws.Json) -> bool:
        """Whether the endpoint carries an autoscaling record (its tags), read without loading the autoscaling code."""
        arn = str(endpoint.get("EndpointArn", ""))
        return bool(arn) and any(k.startswith(AUTOSCALING_RECORD_PREFIX) for k in aws.list_tags(self.sm, arn))

    def _adopt(self, adopted_from: str, before_wait: aws.Json | None, current: ServingState) -> None:
        """An earlier run (cancelled or crashed mid-wait) started this very rollout; it finished while we
        waited. Finish its work: clean up what it replaced."""
        self.log.info(f"Completed the rollout an earlier run started from {safe(adopted_from)}.")
        previous = self._current(before_wait, check=False)  # what served when this run started
        self.outcome.before = previous
        self.outcome.result = "updated"
        self.outcome.message = "completed the rollout an earlier run started"
        previous_model = previous.model_name if previous else ""
        # That run may have stopped before its smoke test: nothing it replaced goes before one passed.
        if (
            previous is not None
            # equivalent mutants core/ReplaceComparisonOperator_Eq_LtE, core/ReplaceComparisonOperator_Eq_GtE,
            # core/ReplaceComparisonOperator_Eq_Is: previous is read from before_wait, whose EndpointConfigName is
            # adopted_from (the same string object) in the one call, so the two never differ
            and previous.config_name == adopted_from
            and not self._smoke_test(previous, current.config_name, current.model_name, current.endpoint)
        ):
            return
        # What serves is what the endpoint references now, whatever this run would have named it.
        self.cleanup.after_success(adopted_from, previous_model, current.config_name, current.model_name)

    # equivalent mutant core/ReplaceBinaryOperator_Mul_Div: '/' for '*' only lets check be passed by position too;
    # every call passes the endpoint by position and names check (or leaves it out)
    def _current(self, endpoint: aws.Json | None, *, check: bool = True) -> ServingState | None:
        """What serves; with ``check``, refused before any write when the endpoint cannot be updated."""
        if endpoint is None:
            return None
        if check:
            self._refuse_state(endpoint)
        state = read_serving(
            self.sm,
            endpoint,
            self.config.variant_name,
            need_model=self.config.creates_model,
            need_artifact=self.config.creates_model,
        )
        if state.model is not None:
            # The serving model's environment may hold secrets, and AWS validation errors echo values back.
            container = aws.model_container(state.model)
            self.log.mask_values(str(v) for v in (container.get("Environment") or {}).values())
        if check and state.config is None and state.config_name:
            raise self._missing_config(state.config_name, exists_again=False)
        return state

    def _refuse_state(self, endpoint: aws.Json) -> None:
        """Endpoints SageMaker will not update, refused before this run creates anything for them."""
        name = self.config.endpoint_name
        status = str(endpoint.get("EndpointStatus", ""))
        reason = safe(endpoint.get("FailureReason", "") or "no FailureReason")
        delete = f"aws sagemaker delete-endpoint --endpoint-name {name}"
        if status == "Failed":
            # DescribeEndpoint's API reference: "DeleteEndpoint is the only operation that can be performed on
            # a failed endpoint."
            raise DeployError(
                f"endpoint-name: {name} is Failed ({reason}). SageMaker allows nothing on a failed endpoint but "
                f"deleting it: delete it ({delete}) and run again to create it anew. This action never deletes an "
                "endpoint itself.",
                kind="endpoint-state",
            )
        if status == "UpdateRollbackFailed":
            raise DeployError(
                f"endpoint-name: {name} is UpdateRollbackFailed ({reason}): an earlier update and its rollback "
                "both failed, and the endpoint serves a mix of the old and new endpoint configs (SageMaker's "
                "words). The action does not deploy onto a mixed fleet: bring it back to one config yourself "
                f"(update it to the config you want, or delete and recreate it: {delete}), then rerun.",
                kind="endpoint-state",
            )
        if status == "OutOfService":
            raise DeployError(
                f"endpoint-name: {name} is OutOfService ({reason}): it takes no requests and SageMaker does not "
                "update it. Look at it in the SageMaker console; if it does not come back, delete it "
                f"({delete}) and run again to create it anew.",
                kind="endpoint-state",
            )

    def _missing_config(self, config_name: str, *, exists_again: bool, note: str = "") -> DeployError:
        name = safe(config_name)
        if exists_again:
            return DeployError(
                f"endpoint-name: SageMaker refused the update because it cannot find the endpoint's current config "
                f"'{name}' (\"Could not find endpoint configuration\"), although a config of that name exists now: "
                "it does not take a config recreated under a deleted one's name as the endpoint's own. The "
                "endpoint keeps serving; to update it again, delete and recreate the endpoint (with downtime) or "
                f"ask AWS support. This action never deletes an endpoint.{note}",
                kind="missing-config",
            )
        return DeployError(
            f"endpoint-name: the endpoint serves endpoint config '{name}', which no longer exists: it was "
            "deleted while still in use (Terraform's create_before_destroy does this after an update it took "
            "for a success, terraform-provider-aws #48997). SageMaker refuses every update of the endpoint "
            'until a config of that name exists again ("Could not find endpoint configuration"). Create it '
            "again under the same name with the settings it had (from your Terraform code or state), then "
            "rerun; deleting and recreating the endpoint also works, with downtime. Nothing was changed.",
            kind="missing-config",
        )

    def _log_plan(self, the_plan: Plan) -> None:
        with self.log.group(f"Plan: {the_plan.action}"):
            if the_plan.current is None:
                self.log.info(f"Endpoint {self.config.endpoint_name} does not exist: it will be created.")
            else:
                # The full reference once: in the image's change line when it changes, else here.
                image = the_plan.current.image
                changes_image = image != the_plan.desired.image
                self.log.info(
                    f"Serving: config {safe(the_plan.current.config_name)}, image "
                    + safe(short_image(image) if changes_image else image)
                )
            for change in the_plan.changes:
                self.log.info(f"  {change.field}: {safe(change.before) or '∅'} → {safe(change.after) or '∅'}")
            if not the_plan.changes:
                self.log.info("Nothing to change.")
            if the_plan.forced:
                self.log.info(f"{redeploy.REASON}.")
            for note in the_plan.notes:
                self.log.info(f"Note: {safe(note)}.")
            smoke_test = self.config.smoke_test
            if smoke_test is not None and the_plan.action != "unchanged":
                desired = the_plan.desired
                when = (
                    "during the final bake (SageMaker rolls back on a failure)"
                    if the_plan.action == "update"
                    and smoke.during_bake(desired.value(STRATEGY), desired.bake_seconds, desired.alarms)
                    else "once the endpoint is InService on the new config"
                )
                self.log.info(
                    f"Smoke test: one request ({safe(smoke_test.given)}, {safe(smoke_test.content_type)}) {when}, "
                    f"answered within {smoke_test.timeout_seconds:g} s."
                )
            if the_plan.action != "unchanged":
                for warning in the_plan.desired.warnings:
                    self.log.warning(warning, title="Deployment strategy")
            if the_plan.kept and the_plan.action == "update":
                self.log.info("Kept from the serving endpoint:")
                for kept in the_plan.kept:
                    self.log.info(f"  {safe(kept.label)}: {safe(kept.value)}")

    # --- apply --------------------------------------------------------------------------------------------

    def _apply(self, the_plan: Plan) -> None:
        cancel.check()  # a job cancelled while planning changes nothing
        desired = the_plan.desired
        created: list[str] = []  # what this run created for this update ("model X", "endpoint config Y")
        model_request = desired.model_request
        # A forced redeploy of the same content names the serving model again: it exists, nothing to make.
        serving_model = the_plan.current.model_name if the_plan.current else ""
        if model_request is not None and desired.model_name != serving_model:
            self._ensure_model(model_request, desired.image, created)
        self._ensure_config(desired.config_request, desired.model_name, created)
        deployment, watchers = self._smoke_route(the_plan)
        saved_scaling, endpoint_arn = None, ""
        since: Since
        try:
            # equivalent mutants core/ReplaceComparisonOperator_Eq_LtE, core/ReplaceComparisonOperator_Eq_Is: an applied
            # plan is the planner's literal "create" or "update" (interned, as this one is), and "update" sorts after
            # "create".
            if the_plan.action == "create":
                request = builders.create_endpoint_request(
                    desired.endpoint_name, desired.config_name, desired.deployment_config, desired.tags
                )
                self.log.info(f"Creating endpoint {desired.endpoint_name} with config {desired.config_name}.")
                since = Since(desired.config_name)
                cancel.check()
                self.outcome.update_started = time.time()
                arn = self._after_create(desired.config_name, lambda: aws.create_endpoint(self.sm, request))
                self.outcome.endpoint_arn = arn
                self.outcome.writes.append(f"endpoint {desired.endpoint_name}")
            else:
                current = the_plan.current
                assert current is not None
                endpoint_arn = current.endpoint_arn
                if the_plan.instance_type_changes:
                    saved_scaling = self.scaling.suspend(endpoint_arn, desired.endpoint_name, desired.variant_name)
                request = builders.update_endpoint_request(
                    desired.endpoint_name,
                    desired.config_name,
                    deployment,
                    new_instance_count=not the_plan.retain_instance_count,
                )
                self.log.info(
                    f"Updating endpoint {desired.endpoint_name}: {safe(current.config_name)} → "
                    f"{desired.config_name} ({desired.strategy}, bake {desired.bake_seconds}s"
                    + (f", rollback on {len(desired.alarms)} alarm(s))" if desired.alarms else ", no alarms)")
                )
                since = Since(desired.config_name, current.endpoint.get("LastModifiedTime"))
                cancel.check()  # cancelled before the update: the wind-down puts deregistered autoscaling back
                try:
                    self.outcome.update_started = time.time()
                    arn = self._after_create(desired.config_name, lambda: aws.update_endpoint(self.sm, request))
                    self.outcome.endpoint_arn = arn
                    self.outcome.writes.append(f"update of endpoint {desired.endpoint_name}")
                except ClientError:
                    if saved_scaling is not None:
                        self.scaling.restore(endpoint_arn, saved_scaling)
                    raise
        except ClientError as error:
            if IN_PROGRESS in aws.error_message(error):
                raise  # someone else's update: the run plans again and reuses what it made
            raise self._refused(error, the_plan, created) from error

        rollout_start = len(self.outcome.transitions)  # earlier ones were someone else's update, waited out
        final = None
        # equivalent mutant core/NumberReplacer: [-1] is [0]; the config this run rolls out has one variant (the
        # action manages single-variant endpoints only).
        variant = (desired.config_request.get("ProductionVariants") or [{}])[0]
        fleet_log = FleetLog(
            self.clients.logs,
            self.log,
            desired.endpoint_name,
            desired.variant_name,
            since=self.outcome.update_started,
            startup_timeout=variant.get("ContainerStartupHealthCheckTimeoutInSeconds"),
        )
        try:
            final = self.waiter.wait(
                desired.endpoint_name, "Waiting for the rollout", since=since, watchers=[fleet_log, *watchers]
            )
        finally:
            if saved_scaling is not None:
                self.scaling.after_rollout(endpoint_arn, saved_scaling, final)
        if final is None:
            raise DeployError(
                f"endpoint-name: {desired.endpoint_name} was deleted during the rollout, by someone else. Nothing of "
                "it serves any more; run again to create it anew, and find who deletes it.",
                kind="busy",
            )
        self._verdict(the_plan, final, self.outcome.transitions[rollout_start:])

    def _after_create(self, name: str, call: Callable[[], T]) -> T:
        """``call``, retried while SageMaker answers that ``name``, made a moment ago, does not exist yet."""
        for wait in (*READ_AFTER_CREATE_WAITS, None):
            try:
                return call()
            except ClientError as error:
                if wait is None or not _not_found_yet(error, name):
                    raise
                self.log.info(
                    f"SageMaker does not see {name} yet (it was created a moment ago): retrying in {wait:g}s."
                )
                with cancel.interruptible():  # a cancelled job does not retry the write
                    time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _refused(self, error: ClientError, the_plan: Plan, created: list[str]) -> DeployError:
        """SageMaker refused CreateEndpoint / UpdateEndpoint: nothing was rolled out, so what this run created
        for it serves nothing and is removed; the error says why, and what to do. A server error is no refusal
        and removes nothing."""
        code, message = aws.error_code(error), aws.error_message(error)
        if aws.is_server_error(error):
            # A server error, after botocore's retries, is no proof of a refusal: SageMaker may have taken the
            # request. What this run made may be rolling out, so nothing is deleted; the next run adopts it.
            return DeployError(
                f"SageMaker answered {safe(error.operation_name)} with {safe(code)}: {_sentence(safe(message))} "
                "Whether it started is unknown, so nothing was deleted; run again: the next run waits for any "
                "update it started and cleans up what nothing uses.",
            )
        # equivalent mutants core/ReplaceComparisonOperator_NotEq_Gt, core/ReplaceComparisonOperator_NotEq_IsNot,
        # core/ReplaceComparisonOperator_NotEq_Lt: a string is > "" exactly when it is != "", and CPython has one
        # empty string; < "" is never true, which differs only for a given model-name, when the run made no model.
        removed = self.cleanup.created_for_refused(created, the_plan.desired.existing_model != "")
        note = f" Removed what this run created for it: {', '.join(removed)}." if removed else ""
        current = the_plan.current
        if current is not None and _not_found_yet(error, current.config_name):
            # Read a moment ago, the config exists; SageMaker does not take it as the endpoint's own (a config
            # recreated under a deleted one's name may not be: no public account of either answer).
            return self._missing_config(current.config_name, exists_again=True, note=note)
        if code not in CAPACITY_REFUSALS:
            return DeployError(
                f"SageMaker refused {safe(error.operation_name)}: {safe(code)}: {_sentence(safe(message))}{note}",
                kind="refused" if code in ("ValidationException", "ValidationError") else "",
            )
        quota = QUOTA_RE.search(message)
        desired = the_plan.desired
        # equivalent mutant core/NumberReplacer: the count is read on a create only (an update's fleet is never
        # None), where initial-instance-count is at least 1 and 1 when empty, so the "or 1" never applies.
        fleet = desired.fleet if desired.fleet is not None else desired.value(INSTANCE_COUNT) or 1
        what = (
            f"the quota '{safe(quota['quota'])}' ({quota['limit']} instances, {quota['used']} in use)"
            if quota
            else ("a quota or the capacity of the instance type")
        )
        if current is None:
            needs = f"The new endpoint needs {fleet} {safe(desired.instance_type)} instance(s)."
            way_out = "Nothing was created; the endpoint does not exist yet."
        elif desired.no_guardrails:
            # SageMaker ignores the strategy here (strategy.no_guardrails_for): rolling or smaller steps change nothing.
            needs = (
                f"SageMaker has no deployment guardrails for {safe(desired.no_guardrails)}: every update runs "
                f"blue/green all at once, a second fleet of {fleet} {safe(desired.instance_type)} instance(s) beside "
                "the serving one, whatever deployment-strategy and step-size say."
            )
            way_out = (
                "Neither rolling nor a smaller step-size needs less on it. Nothing was rolled out; the endpoint "
                "serves as before."
            )
        # equivalent mutant core/ReplaceComparisonOperator_Eq_GtE: no strategy name sorts after rolling.
        elif desired.value(STRATEGY) == "rolling":
            needs = "A rolling update needs capacity for one batch beside the serving fleet."
            way_out = "A smaller step-size needs less. Nothing was rolled out; the endpoint serves as before."
        else:
            needs = (
                f"A blue/green update ({desired.strategy}) runs a second fleet of {fleet} "
                f"{safe(desired.instance_type)} instance(s) beside the serving one until it finishes."
            )
            way_out = (
                "deployment-strategy: rolling replaces the fleet in batches and needs no second fleet. Nothing was "
                "rolled out; the endpoint serves as before."
            )
        ask = (
            "Ask for more in Service Quotas: aws service-quotas list-service-quotas --service-code sagemaker "
            f"--query \"Quotas[?QuotaName=='{safe(quota['quota'])}']\" gives its quota code, then "
            "aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code <code> "
            "--desired-value <n>."
            if quota
            else "Check the account's SageMaker quotas in Service Quotas."
        )
        return DeployError(
            f"SageMaker refused {safe(error.operation_name)} for lack of capacity: {what}. {needs} {ask} "
            f"{way_out}{note} SageMaker's words: {safe(message)}",
            kind="capacity",
        )

    def _ensure_model(self, request: aws.Json, image: str, created: list[str]) -> None:
        name = str(request["ModelName"])
        if aws.describe_model(self.sm, name) is not None:
            self.log.info(f"Model {name} exists already (an earlier run made it): reusing it.")
            return
        self.log.info(f"Creating model {name} for {safe(short_image(image))}.")
        try:
            aws.create_model(self.sm, request)
            created.append(f"model {name}")
        except ClientError as error:
            if not aws.is_already_existing(error):
                raise
        self.outcome.writes.append(f"model {name}")

    def _ensure_config(self, request: aws.Json, model_name: str, created: list[str]) -> None:
        name = str(request["EndpointConfigName"])
        if aws.describe_endpoint_config(self.sm, name) is not None:
            self.log.info(f"Endpoint config {name} exists already (an earlier run made it): reusing it.")
            return
        self.log.info(f"Creating endpoint config {name}.")
        try:
            self._after_create(model_name, lambda: aws.create_endpoint_config(self.sm, request))
            created.append(f"endpoint config {name}")
        except ClientError as error:
            if not aws.is_already_existing(error):
                raise
        self.outcome.writes.append(f"endpoint config {name}")

    # --- the verdict --------------------------------------------------------------------------------------

    def _verdict(self, the_plan: Plan, final: aws.Json, seen: list[Transition]) -> None:
        status = str(final.get("EndpointStatus", ""))
        serving = str(final.get("EndpointConfigName", ""))
        reason = str(final.get("FailureReason", "") or "")
        outcome = self.outcome
        outcome.endpoint_arn = str(final.get("EndpointArn", outcome.endpoint_arn))
        outcome.failure_reason = reason
        previous = the_plan.current
        desired = the_plan.desired
        new_config, new_model = desired.config_name, desired.model_name

        if status == "InService" and serving == new_config:
            outcome.result = "created" if previous is None else "updated"
            outcome.serving_config, outcome.serving_model = new_config, new_model
            live = final.get("ProductionVariants") or [{}]
            # equivalent mutant core/NumberReplacer: live[-1] is live[0]; the config this run rolled out has one
            # variant (the action manages single-variant endpoints only), so the endpoint settled on it lists one.
            outcome.serving_image = aws.deployed_image(live[0]) or desired.image
            outcome.serving_package = desired.package_arn
            self.log.info(f"Endpoint {desired.endpoint_name} is InService on {new_config}.")
            # Nothing of the previous config is deleted before the new model answered a real request.
            if not self._smoke_test(previous, new_config, new_model, final):
                return
            if previous is not None:
                self.cleanup.after_success(previous.config_name, previous.model_name, new_config, new_model)
            return

        if status == "InService" and previous is not None and serving == previous.config_name:
            # Back on the old config (the wait made sure it is this update that settled). What was seen tells
            # a rollback from a failure: traffic that moved to the new fleet (ActivatingTraffic, Baking) or a
            # RollingBack status is a rollback; a FailureReason with neither is a new fleet that failed before
            # it took traffic. Without a reason, the cause is not known from the endpoint. RollingBack is documented
            # for UpdateEndpointWeightsAndCapacities only (DescribeEndpoint's API reference): an update's rollback may
            # show Updating throughout, so the traffic seen moving is what tells it, RollingBack only confirms it.
            moved = any(re.search(r"\b(ActivatingTraffic|Baking)\b", t.variant_status) for t in seen)
            rolled_back = moved or any(t.status == "RollingBack" for t in seen) or not reason
            outcome.result = "rolled-back" if rolled_back else "failed"
            if rolled_back:
                outcome.message = "SageMaker rolled the update back" + (
                    " after traffic had moved to the new fleet" if moved else ""
                )
                if not reason:
                    outcome.message += " and gave no FailureReason (cause unknown from the endpoint)"
            else:
                outcome.message = "the new fleet failed before taking traffic"
            tested = self.smoke_tester.result if self.smoke_tester is not None else None
            if tested is not None:
                outcome.smoke = tested
            if tested is not None and not tested.passed and rolled_back:
                outcome.smoke_rolled_back_by = "sagemaker"
                outcome.message = (
                    f"SageMaker rolled the update back on the action's smoke-test alarm: the smoke test failed "
                    f"during the bake ({tested.reason})"
                )
            outcome.message += f"; {previous.config_name} still serves {previous.image}"
            outcome.record_serving(previous)
            self.cleanup.after_rollback(previous.config_name, previous.model_name, new_config, new_model)
            self._lost_model_serves()
            return

        # equivalent mutant core/ReplaceComparisonOperator_Eq_GtE: of SageMaker's endpoint statuses only Updating
        # sorts after UpdateRollbackFailed, and the wait returns no transitional status.
        if status == "UpdateRollbackFailed":
            images = sorted(
                {
                    str(image.get("ResolvedImage") or image.get("SpecifiedImage", ""))
                    for variant in final.get("ProductionVariants", [])
                    for image in variant.get("DeployedImages", [])
                }
                - {""}
            )
            outcome.result = "failed"
            outcome.message = (
                "both the update and its rollback failed (UpdateRollbackFailed): the endpoint serves a mix of the "
                f"old and new fleets ({', '.join(images) or 'images unknown'})"
            )
            outcome.serving_config = serving
            outcome.kept += [f"endpoint config {new_config}"] + (
                [f"model {new_model}"] if not desired.existing_model else []
            )
            return

        outcome.result = "failed"
        outcome.serving_config = serving
        if status == "InService":
            outcome.message = f"the endpoint is InService on an unexpected config ({serving})"
            # Someone else's config serves (an update of theirs landed after ours): the outputs name what it
            # runs, not what served before this run.
            now_serving = self._current(final, check=False)
            if now_serving is not None:
                outcome.record_serving(now_serving)
        else:
            outcome.message = f"the endpoint is {status}"
        # Failed / UpdateRollbackFailed: what serves is uncertain; keep everything for the investigation.
        outcome.kept += [f"endpoint config {new_config}"] + (
            [f"model {new_model}"] if not desired.existing_model else []
        )
        self._lost_model_serves()

    def _lost_model_serves(self) -> None:
        """After a rollback or failure: the config left serving may name a model that no longer exists."""
        lost = self.outcome.lost_model
        if lost is not None and lost.serves_after(self.outcome.serving_config):
            self.log.warning(lost.verdict_note(), title="The endpoint cannot scale")

    # --- the smoke test -----------------------------------------------------------------------------------

    def _smoke_test(self, previous: ServingState | None, new_config: str, new_model: str, final: aws.Json) -> bool:
        """With smoke-test-input, one request to the new model, which now takes all the traffic. True when it
        passed (or none was asked for); otherwise the outcome says what the failure did: a create ends failed
        with the endpoint kept, an update is rolled back to the config that served before."""
        smoke = self.config.smoke_test
        if smoke is None:
            return True
        endpoint_name = self.config.endpoint_name
        outcome = self.outcome
        # Sent during the bake already, or not: it runs (or finishes) now that the new model takes all traffic.
        tester = self.smoke_tester or SmokeTester(self.clients, self.log, smoke, endpoint_name)
        result = tester.result or tester.run()
        outcome.smoke = result
        if result.passed:
            return True
        ours = [f"endpoint config {new_config}"] + ([f"model {new_model}"] if self.config.creates_model else [])
        if previous is None:
            # Nothing to go back to: the endpoint stays, serving the model that failed, for the investigation.
            outcome.result = "failed"
            outcome.message = (
                f"the smoke test failed ({result.reason}); the endpoint was created and is kept, serving the new "
                "model: there is no earlier config to go back to"
            )
            outcome.kept += [f"{item} (serving)" for item in ours]
            return False
        try:
            self._roll_back_to(previous.config_name, result.reason)
        except ClientError as error:
            if aws.is_server_error(error) or aws.error_code(error) in (*EXPIRED_CREDENTIALS, *REJECTED_CREDENTIALS):
                raise
            # Refused (an instance-type change back under re-registered autoscaling, a quota): the new model
            # serves; both configs are kept, and the report says how to go back by hand.
            outcome.result = "failed"
            outcome.message = (
                f"the smoke test failed ({result.reason}) and SageMaker refused the rollback to "
                f"{previous.config_name} ({aws.error_code(error)}: {aws.error_message(error)}); the new model "
                f"serves. Go back by hand: aws sagemaker update-endpoint --endpoint-name {endpoint_name} "
                f"--endpoint-config-name {previous.config_name}"
            )
            outcome.kept += [*ours, f"endpoint config {previous.config_name}"]
            return False
        settled = self._waiter_for_rollback().wait(
            endpoint_name,
            "Rolling back after the failed smoke test",
            since=Since(previous.config_name, final.get("LastModifiedTime")),
        )
        status = str((settled or {}).get("EndpointStatus", "gone"))
        serving = str((settled or {}).get("EndpointConfigName", ""))
        if status == "InService" and serving == previous.config_name:
            outcome.result = "rolled-back"
            outcome.smoke_rolled_back_by = "action"
            outcome.message = (
                f"the smoke test failed ({result.reason}), so the action rolled the endpoint back; "
                f"{previous.config_name} still serves {previous.image}"
            )
            outcome.record_serving(previous)
            self.cleanup.after_rollback(previous.config_name, previous.model_name, new_config, new_model)
            return False
        outcome.result = "failed"
        outcome.serving_config = serving
        outcome.message = (
            f"the smoke test failed ({result.reason}) and the rollback to {previous.config_name} did not finish: "
            f"the endpoint is {status}" + (f" on {serving}" if serving else "")
        )
        outcome.kept += [*ours, f"endpoint config {previous.config_name}"]
        return False

    def _smoke_route(self, the_plan: Plan) -> tuple[aws.Json, list[PollWatcher]]:
        """The update's DeploymentConfig and what watches its wait. With a smoke test during a bake, the
        action's alarm joins the auto-rollback alarms (made or updated, and reset to OK first: an alarm in ALARM
        when the update starts rolls it back), and a watcher sends the smoke test in the final bake."""
        desired = the_plan.desired
        deployment = desired.deployment_config
        smoke_test = self.config.smoke_test
        self.smoke_tester = None
        # equivalent mutants core/ReplaceComparisonOperator_NotEq_Lt, core/ReplaceComparisonOperator_NotEq_IsNot: an
        # applied plan is the planner's literal "create" or "update" (interned, as this one is), and "create" sorts
        # before "update".
        if smoke_test is None or the_plan.action != "update":
            return deployment, []
        tester = SmokeTester(self.clients, self.log, smoke_test, desired.endpoint_name)
        self.smoke_tester = tester
        if not smoke.during_bake(desired.value(STRATEGY), desired.bake_seconds, desired.alarms):
            return deployment, []
        cloudwatch = self.clients.cloudwatch
        name = smoke.alarm_name(desired.endpoint_name)
        cancel.check()
        self.log.info(f"Smoke test during the final bake: alarm {name} joins the auto-rollback alarms.")
        aws.put_metric_alarm(cloudwatch, smoke.alarm_request(desired.endpoint_name, builders.tags(self.config.tags)))
        aws.set_alarm_state(cloudwatch, name, "OK", "Reset by sagemaker-async-deploy before an update it smoke-tests.")
        self.outcome.writes.append(f"alarm {name}")

        def tripped(result: SmokeResult) -> None:
            try:
                aws.put_metric_data(cloudwatch, smoke.metric_request(desired.endpoint_name))
                self.log.info(f"Published the failed smoke test to alarm {name}: SageMaker rolls the update back.")
            except ClientError as error:
                # The wait goes on; if SageMaker finishes the update, the action rolls it back itself.
                self.log.warning(
                    f"Could not publish the failed smoke test ({safe(aws.error_code(error))}: "
                    f"{safe(aws.error_message(error))}); the action rolls back itself once the update ends."
                )

        return smoke.with_alarm(deployment, name), [smoke.SmokeWatcher(tester, tripped)]

    def _roll_back_to(self, config_name: str, reason: str) -> None:
        """UpdateEndpoint back to ``config_name``: SageMaker's own rollback is over once the update finished."""
        name = self.config.endpoint_name
        self.log.info(f"The smoke test failed ({safe(reason)}): rolling {name} back to {safe(config_name)}.")
        cancel.check()
        aws.update_endpoint(self.sm, builders.rollback_request(name, config_name))
        self.outcome.writes.append(f"rollback of endpoint {name} to {config_name}")

    def _waiter_for_rollback(self) -> Waiter:
        """A rollback is waited for like any update, with a deadline of its own: it starts when the update
        has used up part of deployment-timeout-minutes."""
        return replace(self.waiter, deadline=time.time() + self.config.deployment_timeout_seconds)


def _sentence(text: str) -> str:
    """AWS's message as a sentence of ours: a full stop added unless it ends one already."""
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _not_found_yet(error: ClientError, name: str) -> bool:
    """SageMaker's "Could not find model/endpoint configuration "<arn>"" for exactly ``name`` (ARNs carry
    names in lower case)."""
    message = aws.error_message(error)
    return aws.is_not_found(error) and bool(name) and f'/{name.lower()}"' in message.lower()
