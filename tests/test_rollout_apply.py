"""Rollout's run loop and its apply, in process against the emulator: create or update, what an interrupted run
left reused, an endpoint still changing waited out (and an earlier run's rollout adopted), plan mode writing
nothing, someone else's update met on the way, and each refusal SageMaker gives on CreateEndpoint, UpdateEndpoint
and CreateEndpointConfig with its exact text and exactly what of this run's making it removes.

The action-level tests (tests/action) tell these stories through the real action; these are their fast twins, run
against every mutant of ``Rollout._run``, ``_apply`` and ``_refused`` (mutate/scope.toml). One emulator with short
timings serves the module; each test works on endpoints of its own, seeded together at the start.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sagemaker_async_deploy import aws, builders, redeploy, rollout
from sagemaker_async_deploy.autoscaling import RECORD_PREFIX, Autoscaling
from sagemaker_async_deploy.config import ActionConfig
from sagemaker_async_deploy.errors import DeployError
from sagemaker_async_deploy.fleetlog import FleetLog
from sagemaker_async_deploy.log import Log
from sagemaker_async_deploy.outcome import RolloutOutcome
from sagemaker_async_deploy.planner import Desired, desired_from
from sagemaker_async_deploy.rollout import Rollout
from sagemaker_async_deploy.state import ServingState, read_serving
from sagemaker_emulator import Behaviour, Emulator, Timings

from . import lab
from .conftest import ACCOUNT_ID, REGION, started_emulator
from .factories import ROLE, action_config, image
from .lab import EmulatorLab, each_test_fresh
from .seed import seed_alarm, seed_step_policy

if TYPE_CHECKING:
    pass

ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}"
# Shorter than the suite's FAST_TIMINGS: every mutant runs this module, and no test here watches a status.
TIMINGS = Timings(create=0.1, update=0.1, rollback=0.1, delete=0.05)
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
# Endpoints the module's tests start from, InService on image 1 (one instance of ml.g4dn.xlarge unless told).
SEEDED: dict[str, dict[str, str]] = {
    name: {}
    for name in (
        "updated",
        "counted",
        "alarmed",
        "startup",
        "forced",
        "halfmade",
        "bluegreen",
        "denied",
        "recreated",
        "fivexx",
        "raced",
        "besieged",
        "noconfig",
        "planned",
        "steady",
        "maintained",
        "handmade",
        "adopted",
        "landed-up",
        "landed-down",
        "busy",
        "busy-forced",
        "stuck",
        "recorded",
        "scaled",
        "scaled-refused",
    )
}
SEEDED["rolling"] = {"initial_instance_count": "2"}
SEEDED["inf1"] = {"instance_type": "ml.inf1.xlarge"}


def quota_message(quota: str, limit: int, used: int, delta: int) -> str:
    """ResourceLimitExceeded in AWS's wording (the emulator's _QUOTA)."""
    return (
        f"The account-level service limit '{quota}' is {limit} Instances, with current utilization of {used} "
        f"Instances and a request delta of {delta} Instances. Please use AWS Service Quotas to request an increase "
        "for this quota. If AWS Service Quotas is not available, contact AWS support to request an increase for "
        "this quota."
    )


def config(name: str, **inputs: str) -> ActionConfig:
    """A deploy of image 1 (unless ``inputs`` say otherwise) to endpoint ``name``, polling every 0.02 s."""
    return action_config(
        endpoint_name=name,
        poll_interval_seconds="0.02",
        deployment_timeout_minutes="1",
        **{"execution_role_arn": ROLE, **inputs},
    )


@dataclass
class Run(lab.Run):
    """A Rollout as main() builds it, its log kept in a buffer and its preflight counted."""

    preflights: list[float] = field(default_factory=list)

    def refused(self) -> DeployError:
        with pytest.raises(DeployError) as refused:
            self.rollout.run()
        return refused.value


class Lab(EmulatorLab):
    """The module's emulator, the clients the action uses, and the steps the tests share."""

    def __init__(self, emu: Emulator) -> None:
        super().__init__(emu)
        self.autoscaling: Any = self.clients.autoscaling

    def start(self, name: str, clients: aws.Clients | None = None, **inputs: str) -> Run:
        stream = io.StringIO()
        preflights: list[float] = []
        run = Rollout(
            config(name, **inputs),
            clients or self.clients,
            Log(stream),
            preflight=lambda: preflights.append(time.time()),
        )
        return Run(run, stream, preflights)

    def desired(self, name: str, **inputs: str) -> Desired:
        """What a run with ``inputs`` would roll out onto ``name`` as it serves now (nothing made)."""
        cfg = config(name, **inputs)
        endpoint = aws.describe_endpoint(self.sm, name)
        current = None if endpoint is None else read_serving(self.sm, endpoint, "AllTraffic", need_model=True)
        return desired_from(cfg, current, self.shapes)

    def make(self, desired: Desired, *, model: bool = True, endpoint_config: bool = True) -> None:
        """The model and endpoint config a run makes for ``desired``, as an interrupted run left them."""
        if model and desired.model_request is not None:
            self.sm.create_model(**desired.model_request)
        if endpoint_config:
            self.sm.create_endpoint_config(**desired.config_request)

    def seed(self) -> None:
        """Every endpoint the tests start from, created side by side as a first deploy creates it."""
        for name, inputs in SEEDED.items():
            desired = self.desired(name, **inputs)
            self.make(desired)
            self.sm.create_endpoint(
                **builders.create_endpoint_request(
                    desired.endpoint_name, desired.config_name, desired.deployment_config, desired.tags
                )
            )
        for name in SEEDED:
            self.settle(name)

    def sagemaker_writes(self) -> list[str]:
        """SageMaker's write calls since the log was cleared: "CreateModel m", "UpdateEndpoint e" (a refused one
        with its status: "UpdateEndpoint e 400")."""
        names = ("EndpointName", "EndpointConfigName", "ModelName", "ResourceArn")
        return [
            f"{r.operation} {next(r.params[n] for n in names if n in r.params)}"
            + ("" if r.status == 200 else f" {r.status}")
            for r in self.emu.write_calls("sagemaker")
        ]

    def requests(self, operation: str) -> list[dict[str, Any]]:
        return [r.params for r in self.emu.requests if r.operation == operation]

    def scaling_calls(self) -> list[str]:
        return self.emu.operations("application-autoscaling")

    def register(self, name: str) -> None:
        """The variant of ``name`` as a scalable target with a step policy."""
        resource = f"endpoint/{name}/variant/AllTraffic"
        self.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=DIMENSION, MinCapacity=1, MaxCapacity=4
        )
        seed_step_policy(self.autoscaling, "step", resource)

    def scaling(self, name: str) -> tuple[list[str], list[str], list[str]]:
        """The variant's scalable targets, their policies and the autoscaling record on the endpoint's tags."""
        resource = f"endpoint/{name}/variant/AllTraffic"
        targets = self.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])
        policies = self.autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)
        tags = self.sm.list_tags(ResourceArn=f"{ARN}:endpoint/{name}")["Tags"]
        return (
            [t["ResourceId"] for t in targets["ScalableTargets"]],
            [p["PolicyName"] for p in policies["ScalingPolicies"]],
            [t["Key"] for t in tags if t["Key"].startswith(RECORD_PREFIX)],
        )


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    # SageMaker refuses an update whose current config was deleted and made again under its name (the behaviour
    # terraform-provider-aws #48997 reports), for the test of that refusal; no other test recreates a config.
    with started_emulator(environ=True, timings=TIMINGS, behaviour=Behaviour(recreated_config_accepted=False)) as emu:
        the_lab = Lab(emu)
        the_lab.seed()
        yield the_lab


@pytest.fixture(autouse=True)
def fresh_log(lab: Lab) -> Iterator[None]:
    yield from each_test_fresh(lab.emu)


def released_when_waiting(lab: Lab, run: Run, name: str, line: str) -> Callable[[], Any]:
    """Run ``run`` while ``name`` is held, releasing it once the run logged ``line``; the outcome or error."""

    def release() -> None:
        deadline = time.time() + 5  # a run that never says it waits fails its test; it need not hang for long
        while line not in run.lines and time.time() < deadline:
            time.sleep(0.005)
        lab.emu.faults.release(name)

    def go() -> Any:
        releaser = threading.Thread(target=release)
        releaser.start()
        try:
            return run.rollout.run()
        finally:
            releaser.join()

    return go


def image_where(lab: Lab, name: str, sorts: Callable[[Desired, ServingState], bool], **inputs: str) -> int:
    """The first image number from 2 whose update of ``name`` gives names that ``sorts`` against what serves."""
    serving = lab.serving(name)
    for n in range(2, 60):
        if sorts(lab.desired(name, image=image(n), **inputs), serving):
            return n
    raise AssertionError("no such image")


# --- create ----------------------------------------------------------------------------------------------------


def test_a_first_deploy_creates_the_model_the_config_and_the_endpoint(lab: Lab) -> None:
    """No endpoint: the run makes the model, the config naming it and the endpoint on it, in that order, checks
    the inputs once first, and reports 'created' with what it wrote."""
    desired = lab.desired("fresh", initial_instance_count="2")
    run = lab.start("fresh", initial_instance_count="2")
    outcome = run.rollout.run()
    assert outcome.result == "created", outcome.message
    assert outcome.message == ""
    assert len(run.preflights) == 1
    assert lab.sagemaker_writes() == [
        f"CreateModel {desired.model_name}",
        f"CreateEndpointConfig {desired.config_name}",
        "CreateEndpoint fresh",
    ]
    assert lab.requests("CreateEndpoint") == [
        builders.create_endpoint_request("fresh", desired.config_name, desired.deployment_config, desired.tags)
    ]
    assert outcome.writes == [f"model {desired.model_name}", f"endpoint config {desired.config_name}", "endpoint fresh"]
    assert outcome.endpoint_arn == f"{ARN}:endpoint/fresh"
    assert outcome.before is None
    assert (outcome.serving_config, outcome.serving_model) == (desired.config_name, desired.model_name)
    assert f"Creating endpoint fresh with config {desired.config_name}." in run.lines
    assert not any("waiting for it to settle" in line for line in run.lines)
    assert lab.scaling_calls() == []
    assert lab.serving("fresh").config_name == desired.config_name


def test_a_first_deploy_reuses_the_model_and_config_an_interrupted_run_made(lab: Lab) -> None:
    """A model and config an earlier run made before it stopped are reused as they are: the run creates the
    endpoint only, and its writes name only that."""
    desired = lab.desired("resumed")
    lab.make(desired)
    lab.emu.clear_requests()
    run = lab.start("resumed")
    outcome = run.rollout.run()
    assert outcome.result == "created", outcome.message
    assert lab.sagemaker_writes() == ["CreateEndpoint resumed"]
    assert outcome.writes == ["endpoint resumed"]
    assert f"Model {desired.model_name} exists already (an earlier run made it): reusing it." in run.lines
    assert f"Endpoint config {desired.config_name} exists already (an earlier run made it): reusing it." in run.lines


def test_a_create_refused_for_a_quota_removes_what_it_made_and_says_what_to_ask_for(lab: Lab) -> None:
    """CreateEndpoint refused with AWS's quota wording: a capacity refusal naming the quota, its limit and use,
    what the new endpoint needs and how to ask for more; the model and config the run made are deleted."""
    desired = lab.desired("starved", initial_instance_count="2")
    words = quota_message("ml.g4dn.xlarge for endpoint usage", 4, 3, 2)
    lab.emu.faults.quota_next_create(words, endpoint_name="starved")
    run = lab.start("starved", initial_instance_count="2")
    refusal = run.refused()
    assert str(refusal) == (
        "SageMaker refused CreateEndpoint for lack of capacity: the quota 'ml.g4dn.xlarge for endpoint usage' "
        "(4 instances, 3 in use). The new endpoint needs 2 ml.g4dn.xlarge instance(s). Ask for more in Service "
        "Quotas: aws service-quotas list-service-quotas --service-code sagemaker --query "
        "\"Quotas[?QuotaName=='ml.g4dn.xlarge for endpoint usage']\" gives its quota code, then aws service-quotas "
        "request-service-quota-increase --service-code sagemaker --quota-code <code> --desired-value <n>. Nothing "
        "was created; the endpoint does not exist yet. Removed what this run created for it: model "
        f"{desired.model_name}, endpoint config {desired.config_name}. SageMaker's words: {words}"
    )
    assert refusal.kind == "capacity"
    assert lab.sagemaker_writes() == [
        f"CreateModel {desired.model_name}",
        f"CreateEndpointConfig {desired.config_name}",
        "CreateEndpoint starved 400",
        f"DeleteModel {desired.model_name}",
        f"DeleteEndpointConfig {desired.config_name}",
    ]
    assert (lab.models("starved"), lab.configs("starved")) == (set(), set())
    assert aws.describe_endpoint(lab.sm, "starved") is None


def test_a_refused_create_keeps_what_an_earlier_run_made(lab: Lab) -> None:
    """CreateEndpoint refused (a quota message without AWS's numbers) after reusing an earlier run's model and
    config: the refusal says to check the quotas, and nothing is removed, since this run made nothing."""
    desired = lab.desired("reused")
    lab.make(desired)
    lab.emu.clear_requests()
    lab.emu.faults.quota_next_create("Instance limit reached.", endpoint_name="reused")
    refusal = lab.start("reused").refused()
    assert str(refusal) == (
        "SageMaker refused CreateEndpoint for lack of capacity: a quota or the capacity of the instance type. The new "
        "endpoint needs 1 ml.g4dn.xlarge instance(s). Check the account's SageMaker quotas in Service Quotas. Nothing "
        "was created; the endpoint does not exist yet. SageMaker's words: Instance limit reached."
    )
    assert lab.sagemaker_writes() == ["CreateEndpoint reused 400"]
    assert (lab.models("reused"), lab.configs("reused")) == ({desired.model_name}, {desired.config_name})


def test_a_create_refused_as_invalid_is_a_refusal_and_removes_what_it_made(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CreateEndpoint refused with a ValidationException (here SageMaker still not seeing the new config after
    every retry): the refusal quotes SageMaker, is of kind 'refused', and the model and config go."""
    monkeypatch.setattr(rollout, "READ_AFTER_CREATE_WAITS", (0.0, 0.0, 0.0, 0.0))
    desired = lab.desired("unseen")
    lab.emu.faults.invisible_after_create(10, endpoint_name="unseen")
    run = lab.start("unseen")
    refusal = run.refused()
    assert str(refusal) == (
        "SageMaker refused CreateEndpoint: ValidationException: Could not find endpoint configuration "
        f'"{ARN}:endpoint-config/{desired.config_name}". Removed what this run created for it: model '
        f"{desired.model_name}, endpoint config {desired.config_name}."
    )
    assert refusal.kind == "refused"
    assert lab.sagemaker_writes()[-2:] == [
        f"DeleteModel {desired.model_name}",
        f"DeleteEndpointConfig {desired.config_name}",
    ]
    assert lab.sagemaker_writes().count("CreateEndpoint unseen 400") == 5
    assert (lab.models("unseen"), lab.configs("unseen")) == (set(), set())


# --- update ----------------------------------------------------------------------------------------------------


def test_an_update_makes_a_model_and_config_and_updates_the_endpoint_keeping_its_count(lab: Lab) -> None:
    """A new image: a new model and config, then UpdateEndpoint keeping the variant's live instance count; the
    inputs are checked once, the variant's autoscaling looked at once (none here), and 'updated'."""
    # A new model named before the serving one: a check of "a model to make" that ordered names would miss.
    n = image_where(lab, "updated", lambda d, s: d.model_name < s.model_name)
    old = lab.serving("updated")
    desired = lab.desired("updated", image=image(n))
    run = lab.start("updated", image=image(n))
    outcome = run.rollout.run()
    assert outcome.result == "updated", outcome.message
    assert outcome.message == ""
    assert len(run.preflights) == 1
    assert lab.sagemaker_writes()[:3] == [
        f"CreateModel {desired.model_name}",
        f"CreateEndpointConfig {desired.config_name}",
        "UpdateEndpoint updated",
    ]
    assert lab.requests("UpdateEndpoint") == [
        {
            "EndpointName": "updated",
            "EndpointConfigName": desired.config_name,
            "RetainAllVariantProperties": True,
            "DeploymentConfig": desired.deployment_config,
        }
    ]
    assert outcome.writes == [
        f"model {desired.model_name}",
        f"endpoint config {desired.config_name}",
        "update of endpoint updated",
    ]
    assert outcome.before is not None and outcome.before.config_name == old.config_name
    assert (
        f"Updating endpoint updated: {old.config_name} → {desired.config_name} (blue/green, all at once, bake 0s, "
        "no alarms)"
    ) in run.lines
    assert not any("waiting for it to settle" in line for line in run.lines)
    assert lab.scaling_calls() == ["DescribeScalableTargets"]
    assert lab.serving("updated").config_name == desired.config_name


def test_an_update_of_the_instance_count_sets_the_new_count(lab: Lab) -> None:
    """initial-instance-count changed: UpdateEndpoint excludes the instance count from what it retains."""
    desired = lab.desired("counted", initial_instance_count="2")
    outcome = lab.start("counted", initial_instance_count="2").rollout.run()
    assert outcome.result == "updated", outcome.message
    assert lab.requests("UpdateEndpoint") == [
        {
            "EndpointName": "counted",
            "EndpointConfigName": desired.config_name,
            "RetainAllVariantProperties": True,
            "DeploymentConfig": desired.deployment_config,
            "ExcludeRetainedVariantProperties": [{"VariantPropertyType": "DesiredInstanceCount"}],
        }
    ]


def test_an_update_with_alarms_says_it_rolls_back_on_them(lab: Lab) -> None:
    """With auto-rollback alarms the update's log line counts them."""
    seed_alarm(lab.emu, "alarmed-errors", endpoint="alarmed")
    old = lab.serving("alarmed")
    desired = lab.desired("alarmed", image=image(2), alarms="alarmed-errors", bake_seconds="1")
    run = lab.start("alarmed", image=image(2), alarms="alarmed-errors", bake_seconds="1")
    assert run.rollout.run().result == "updated", run.outcome.message
    assert (
        f"Updating endpoint alarmed: {old.config_name} → {desired.config_name} (blue/green, all at once, bake 1s, "
        "rollback on 1 alarm(s))"
    ) in run.lines


def test_the_fleet_log_is_told_the_start_up_timeout_of_the_config_rolled_out(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new fleet's log watcher gets the config's ContainerStartupHealthCheckTimeoutInSeconds, which its
    crash-loop sentence names."""
    told: list[int | None] = []

    def fleet_log(*args: Any, **kwargs: Any) -> FleetLog:
        told.append(kwargs.get("startup_timeout"))
        return FleetLog(*args, **kwargs)

    monkeypatch.setattr(rollout, "FleetLog", fleet_log)
    outcome = lab.start("startup", image=image(2), container_startup_timeout_seconds="900").rollout.run()
    assert outcome.result == "updated", outcome.message
    assert told == [900]


def test_a_forced_redeploy_makes_only_a_config_and_says_why(lab: Lab) -> None:
    """force-redeploy with nothing changed: the serving model is named again, so no model is made or looked for;
    a new config rolls out, and the outcome's message says it was forced."""
    old = lab.serving("forced")
    run = lab.start("forced", force_redeploy="true")
    outcome = run.rollout.run()
    assert outcome.result == "updated", outcome.message
    assert outcome.plan is not None
    desired = outcome.plan.desired
    assert desired.model_name == old.model_name
    assert outcome.message == redeploy.REASON
    assert lab.sagemaker_writes()[:2] == [f"CreateEndpointConfig {desired.config_name}", "UpdateEndpoint forced"]
    assert not any("exists already" in line for line in run.lines)
    assert outcome.writes == [f"endpoint config {desired.config_name}", "update of endpoint forced"]


def test_an_update_refused_for_capacity_removes_only_what_this_run_made(lab: Lab) -> None:
    """An earlier run made the model and stopped: this run reuses it, makes the config, and UpdateEndpoint is
    refused for capacity. The config it made is deleted, the model it reused stays, and the refusal says what a
    blue/green update needs and how rolling needs less."""
    desired = lab.desired("halfmade", image=image(2))
    lab.make(desired, endpoint_config=False)
    lab.emu.clear_requests()
    lab.emu.faults.quota_next_update("Instance limit reached.", endpoint_name="halfmade")
    run = lab.start("halfmade", image=image(2))
    refusal = run.refused()
    assert str(refusal) == (
        "SageMaker refused UpdateEndpoint for lack of capacity: a quota or the capacity of the instance type. A "
        "blue/green update (blue/green, all at once) runs a second fleet of 1 ml.g4dn.xlarge instance(s) beside the "
        "serving one until it finishes. Check the account's SageMaker quotas in Service Quotas. deployment-strategy: "
        "rolling replaces the fleet in batches and needs no second fleet. Nothing was rolled out; the endpoint serves "
        f"as before. Removed what this run created for it: endpoint config {desired.config_name}. SageMaker's words: "
        "Instance limit reached."
    )
    assert refusal.kind == "capacity"
    assert f"Model {desired.model_name} exists already (an earlier run made it): reusing it." in run.lines
    assert lab.sagemaker_writes() == [
        f"CreateEndpointConfig {desired.config_name}",
        "UpdateEndpoint halfmade 400",
        f"DeleteEndpointConfig {desired.config_name}",
    ]
    assert desired.model_name in lab.models("halfmade")
    assert lab.serving("halfmade").image == image(1)


def test_a_blue_green_update_refused_for_a_quota_names_it(lab: Lab) -> None:
    """UpdateEndpoint refused with AWS's quota wording: the quota, the second fleet the update needs, how to ask
    for more; the model and config this run made are deleted."""
    desired = lab.desired("bluegreen", image=image(2))
    words = quota_message("ml.g4dn.xlarge for endpoint usage", 2, 2, 1)
    lab.emu.faults.quota_next_update(words, endpoint_name="bluegreen")
    refusal = lab.start("bluegreen", image=image(2)).refused()
    assert str(refusal) == (
        "SageMaker refused UpdateEndpoint for lack of capacity: the quota 'ml.g4dn.xlarge for endpoint usage' "
        "(2 instances, 2 in use). A blue/green update (blue/green, all at once) runs a second fleet of 1 "
        "ml.g4dn.xlarge instance(s) beside the serving one until it finishes. Ask for more in Service Quotas: aws "
        "service-quotas list-service-quotas --service-code sagemaker --query "
        "\"Quotas[?QuotaName=='ml.g4dn.xlarge for endpoint usage']\" gives its quota code, then aws service-quotas "
        "request-service-quota-increase --service-code sagemaker --quota-code <code> --desired-value <n>. "
        "deployment-strategy: rolling replaces the fleet in batches and needs no second fleet. Nothing was rolled "
        "out; the endpoint serves as before. Removed what this run created for it: model "
        f"{desired.model_name}, endpoint config {desired.config_name}. SageMaker's words: {words}"
    )
    assert (lab.models("bluegreen"), lab.configs("bluegreen")) == (
        {lab.serving("bluegreen").model_name},
        {lab.serving("bluegreen").config_name},
    )


def test_a_rolling_update_refused_for_capacity_says_a_smaller_step_needs_less(lab: Lab) -> None:
    """A rolling update refused for capacity: it needs one batch beside the serving fleet, and a smaller
    step-size needs less."""
    # Built at run time, as an input read from the environment is: not the interned literal "rolling".
    rolling = "".join(["roll", "ing"])
    desired = lab.desired("rolling", image=image(2), deployment_strategy=rolling)
    lab.emu.faults.quota_next_update("Instance limit reached.", endpoint_name="rolling")
    refusal = lab.start("rolling", image=image(2), deployment_strategy=rolling).refused()
    assert str(refusal) == (
        "SageMaker refused UpdateEndpoint for lack of capacity: a quota or the capacity of the instance type. A "
        "rolling update needs capacity for one batch beside the serving fleet. Check the account's SageMaker quotas "
        "in Service Quotas. A smaller step-size needs less. Nothing was rolled out; the endpoint serves as before. "
        f"Removed what this run created for it: model {desired.model_name}, endpoint config {desired.config_name}. "
        "SageMaker's words: Instance limit reached."
    )


def test_an_update_without_guardrails_refused_for_capacity_says_no_strategy_helps(lab: Lab) -> None:
    """On Inf1, where SageMaker updates all at once whatever was asked, a capacity refusal says so and offers
    no strategy as a way out."""
    desired = lab.desired("inf1", image=image(2), instance_type="ml.inf1.xlarge")
    lab.emu.faults.quota_next_update("Instance limit reached.", endpoint_name="inf1")
    refusal = lab.start("inf1", image=image(2), instance_type="ml.inf1.xlarge").refused()
    assert str(refusal) == (
        "SageMaker refused UpdateEndpoint for lack of capacity: a quota or the capacity of the instance type. "
        "SageMaker has no deployment guardrails for ml.inf1.xlarge (an Inf1 instance): every update runs blue/green "
        "all at once, a second fleet of 1 ml.inf1.xlarge instance(s) beside the serving one, whatever "
        "deployment-strategy and step-size say. Check the account's SageMaker quotas in Service Quotas. Neither "
        "rolling nor a smaller step-size needs less on it. Nothing was rolled out; the endpoint serves as before. "
        f"Removed what this run created for it: model {desired.model_name}, endpoint config {desired.config_name}. "
        "SageMaker's words: Instance limit reached."
    )


def test_an_update_refused_otherwise_quotes_sagemaker_and_removes_what_it_made(lab: Lab) -> None:
    """UpdateEndpoint refused for no capacity or validation reason (no permission): SageMaker's code and words,
    no kind, and what this run made is deleted."""
    desired = lab.desired("denied", image=image(2))
    lab.emu.faults.deny("UpdateEndpoint")
    refusal = lab.start("denied", image=image(2)).refused()
    assert str(refusal) == (
        "SageMaker refused UpdateEndpoint: AccessDeniedException: User: "
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/deploy/github-actions is not authorized to perform: "
        f"sagemaker:UpdateEndpoint on resource: {ARN}:endpoint/denied because no identity-based policy allows the "
        "sagemaker:UpdateEndpoint action. Removed what this run created for it: model "
        f"{desired.model_name}, endpoint config {desired.config_name}."
    )
    assert refusal.kind == ""
    assert lab.serving("denied").image == image(1)
    assert lab.models("denied") == {lab.serving("denied").model_name}


def test_an_update_refused_for_a_recreated_config_says_sagemaker_does_not_take_it(lab: Lab) -> None:
    """The serving config deleted and made again under its name: SageMaker refuses the update as if it were
    missing; the refusal explains that, and what this run made is deleted."""
    old = lab.serving("recreated")
    request = lab.sm.describe_endpoint_config(EndpointConfigName=old.config_name)
    lab.sm.delete_endpoint_config(EndpointConfigName=old.config_name)
    lab.sm.create_endpoint_config(
        EndpointConfigName=old.config_name,
        ProductionVariants=request["ProductionVariants"],
        AsyncInferenceConfig=request["AsyncInferenceConfig"],
    )
    desired = lab.desired("recreated", image=image(2))
    lab.emu.clear_requests()
    refusal = lab.start("recreated", image=image(2)).refused()
    assert str(refusal) == (
        "endpoint-name: SageMaker refused the update because it cannot find the endpoint's current config "
        f"'{old.config_name}' (\"Could not find endpoint configuration\"), although a config of that name exists "
        "now: it does not take a config recreated under a deleted one's name as the endpoint's own. The endpoint "
        "keeps serving; to update it again, delete and recreate the endpoint (with downtime) or ask AWS support. "
        "This action never deletes an endpoint. Removed what this run created for it: model "
        f"{desired.model_name}, endpoint config {desired.config_name}."
    )
    assert refusal.kind == "missing-config"
    assert lab.sagemaker_writes()[-2:] == [
        f"DeleteModel {desired.model_name}",
        f"DeleteEndpointConfig {desired.config_name}",
    ]


def test_a_server_error_on_the_update_deletes_nothing(lab: Lab) -> None:
    """A 5xx on UpdateEndpoint, left after botocore's retries, proves no refusal: the update may have started,
    so the model and config stay, and the error says so. (Clients of one attempt: that 5xx is the last one.)"""
    desired = lab.desired("fivexx", image=image(2))
    lab.emu.faults.server_error("UpdateEndpoint", code="InternalFailure")
    one_attempt = aws.Clients(REGION, Config(retries={"mode": "standard", "total_max_attempts": 1}))
    refusal = lab.start("fivexx", clients=one_attempt, image=image(2)).refused()
    assert str(refusal) == (
        "SageMaker answered UpdateEndpoint with InternalFailure: The service encountered an internal error. "
        "Whether it started is unknown, so nothing was deleted; run again: the next run waits for any update it "
        "started and cleans up what nothing uses."
    )
    assert refusal.kind == ""
    assert lab.sagemaker_writes() == [
        f"CreateModel {desired.model_name}",
        f"CreateEndpointConfig {desired.config_name}",
        "UpdateEndpoint fivexx 500",
    ]


def test_a_refused_endpoint_config_stops_the_run_as_sagemaker_answered(lab: Lab) -> None:
    """CreateEndpointConfig refused: SageMaker's error ends the run as it is, without retrying or replanning,
    before any update; the model made for it stays for the next run to reuse."""
    desired = lab.desired("noconfig", image=image(2))
    lab.emu.faults.deny("CreateEndpointConfig")
    run = lab.start("noconfig", image=image(2))
    with pytest.raises(ClientError) as refused:
        run.rollout.run()
    assert aws.error_code(refused.value) == "AccessDeniedException"
    assert lab.sagemaker_writes() == [
        f"CreateModel {desired.model_name}",
        f"CreateEndpointConfig {desired.config_name} 400",
    ]
    assert run.outcome.writes == [f"model {desired.model_name}"]
    assert desired.model_name in lab.models("noconfig")


# --- someone else's update -------------------------------------------------------------------------------------


def test_an_update_that_loses_a_race_waits_plans_again_and_reuses_what_it_made(lab: Lab) -> None:
    """Someone else's update lands just before ours ("Cannot update in-progress endpoint"): the run waits for it,
    plans again, reuses the model and config it made, and updates; the inputs and the autoscaling record are
    checked once only."""
    old = lab.serving("raced")
    desired = lab.desired("raced", image=image(2))
    lab.emu.faults.lose_update_races(1, 0.05, endpoint_name="raced")
    run = lab.start("raced", image=image(2))
    outcome = run.rollout.run()
    assert outcome.result == "updated", outcome.message
    assert "Someone else started an update in the meantime: waiting, then planning again." in run.lines
    assert (
        f"Endpoint raced is Updating (rolling out {old.config_name}): waiting for it to settle before planning."
    ) in run.lines
    assert f"Model {desired.model_name} exists already (an earlier run made it): reusing it." in run.lines
    assert lab.sagemaker_writes()[:4] == [
        f"CreateModel {desired.model_name}",
        f"CreateEndpointConfig {desired.config_name}",
        "UpdateEndpoint raced 400",
        "UpdateEndpoint raced",
    ]
    assert len(run.preflights) == 1
    assert lab.requests("ListTags").count({"ResourceArn": f"{ARN}:endpoint/raced"}) == 1
    assert lab.serving("raced").config_name == desired.config_name


def test_an_update_that_keeps_losing_races_gives_up_and_says_why(lab: Lab) -> None:
    """Five updates in a row each beaten by someone else's: the run gives up, kind 'busy', deleting nothing."""
    desired = lab.desired("besieged", image=image(2))
    lab.emu.faults.lose_update_races(5, 0.02, endpoint_name="besieged")
    run = lab.start("besieged", image=image(2))
    refusal = run.refused()
    assert str(refusal) == (
        "endpoint-name: besieged kept being updated by someone else; gave up after 5 attempts. Use a concurrency "
        "group per endpoint."
    )
    assert refusal.kind == "busy"
    assert lab.sagemaker_writes().count("UpdateEndpoint besieged 400") == 5
    assert run.outcome.writes == [f"model {desired.model_name}", f"endpoint config {desired.config_name}"]
    assert (desired.model_name in lab.models("besieged"), desired.config_name in lab.configs("besieged")) == (
        True,
        True,
    )


def test_an_endpoint_aws_is_maintaining_is_waited_for_then_updated(lab: Lab) -> None:
    """SystemUpdating (no config rolling out): the run says it waits, waits, then plans and updates."""
    lab.emu.faults.system_update("maintained", 0.01, held=True)
    run = lab.start("maintained", image=image(2))
    waiting = "Endpoint maintained is SystemUpdating: waiting for it to settle before planning."
    outcome = released_when_waiting(lab, run, "maintained", waiting)()
    assert waiting in run.lines
    assert outcome.result == "updated", outcome.message
    assert outcome.message == ""


def test_someone_elses_config_rolled_out_meanwhile_is_not_adopted(lab: Lab) -> None:
    """Someone else rolls out a config of their own naming, with the very settings this run asks for: once it
    settles nothing is left to change ('unchanged'), and what it replaced is not this run's to delete."""
    old = lab.serving("handmade")
    request = lab.sm.describe_endpoint_config(EndpointConfigName=old.config_name)
    lab.sm.create_endpoint_config(
        EndpointConfigName="hotfix",
        ProductionVariants=request["ProductionVariants"],
        AsyncInferenceConfig=request["AsyncInferenceConfig"],
    )
    lab.emu.faults.hold_next_update("handmade")
    lab.sm.update_endpoint(EndpointName="handmade", EndpointConfigName="hotfix")
    lab.emu.clear_requests()
    run = lab.start("handmade")
    waiting = "Endpoint handmade is Updating (rolling out hotfix): waiting for it to settle before planning."
    outcome = released_when_waiting(lab, run, "handmade", waiting)()
    assert waiting in run.lines
    assert (outcome.result, outcome.message) == ("unchanged", "")
    assert lab.emu.write_calls("sagemaker") == []
    assert old.config_name in lab.configs("handmade")


def earlier_run(lab: Lab, name: str, n: int) -> tuple[ServingState, Desired]:
    """An earlier run's update of ``name`` to image ``n``, started and held (that run was cancelled or crashed
    while it waited): what served before it, and what it rolls out."""
    old = lab.serving(name)
    desired = lab.desired(name, image=image(n))
    lab.make(desired)
    lab.emu.faults.hold_next_update(name)
    lab.sm.update_endpoint(
        **builders.update_endpoint_request(
            name, desired.config_name, desired.deployment_config, new_instance_count=False
        )
    )
    lab.emu.clear_requests()
    return old, desired


def adopts(lab: Lab, name: str, n: int, **inputs: str) -> None:
    """A run asking for what an earlier run is rolling out onto ``name`` waits for it, then finishes its work:
    'updated', and the config and model it replaced are deleted."""
    old, desired = earlier_run(lab, name, n)
    run = lab.start(name, image=image(n), **inputs)
    waiting = (
        f"Endpoint {name} is Updating (rolling out {desired.config_name}): waiting for it to settle before planning."
    )
    outcome = released_when_waiting(lab, run, name, waiting)()
    assert waiting in run.lines
    assert (outcome.result, outcome.message) == ("updated", "completed the rollout an earlier run started")
    assert outcome.before is not None and outcome.before.config_name == old.config_name
    assert lab.requests("UpdateEndpoint") == []
    assert outcome.cleaned_up == [f"endpoint config {old.config_name}", f"model {old.model_name}"]
    assert (lab.configs(name), lab.models(name)) == ({desired.config_name}, {desired.model_name})


def test_an_earlier_runs_rollout_that_lands_meanwhile_is_adopted(lab: Lab) -> None:
    """An earlier run's update of what this run asks for, landing while this run waits: adopted, not redone."""
    adopts(lab, "adopted", 2)


@pytest.mark.parametrize("sorts", ["up", "down"])
def test_a_forced_redeploy_that_an_earlier_run_landed_is_not_forced_again(lab: Lab, sorts: str) -> None:
    """force-redeploy, and an earlier run's forced rollout lands while this run waits: that was the redeploy
    asked for, so it is adopted and not redone (whichever way the two configs' names sort)."""
    name = f"landed-{sorts}"
    n = image_where(lab, name, lambda d, s: (d.config_name > s.config_name) == (sorts == "up"))
    adopts(lab, name, n, force_redeploy="true")


@pytest.mark.parametrize(
    ("name", "inputs", "result"),
    [("busy", {}, "unchanged"), ("busy-forced", {"force_redeploy": "true"}, "updated")],
    ids=["unchanged", "forced"],
)
def test_someone_elses_update_of_the_same_config_is_waited_out_and_not_adopted(
    lab: Lab, name: str, inputs: dict[str, str], result: str
) -> None:
    """Someone else's update of the serving config itself: once it settles nothing was adopted; an unchanged
    endpoint is 'unchanged', and a forced redeploy still happens."""
    old = lab.serving(name)
    lab.emu.faults.busy(name, 0.01, held=True)
    run = lab.start(name, **inputs)
    waiting = f"Endpoint {name} is Updating (rolling out {old.config_name}): waiting for it to settle before planning."
    outcome = released_when_waiting(lab, run, name, waiting)()
    assert waiting in run.lines
    assert outcome.result == result, outcome.message
    assert outcome.message == ("" if result == "unchanged" else redeploy.REASON)
    assert len(lab.requests("UpdateEndpoint")) == (result == "updated")


def test_an_endpoint_that_never_settles_times_out_as_someone_elses_update(lab: Lab) -> None:
    """Someone else's update outlasting the run's deadline: a timeout that says this run did not start it and
    changed nothing."""
    lab.emu.faults.busy("stuck", 0.01, held=True)
    run = lab.start("stuck")
    run.rollout.waiter = replace(run.rollout.waiter, deadline=time.time() + 0.1)
    try:
        refusal = run.refused()
    finally:
        lab.emu.faults.release("stuck")
    assert str(refusal) == (
        "Timed out after 1 minutes (deployment-timeout-minutes) waiting for an update this run did not start; the "
        "endpoint is still Updating and this run changed nothing. Let one run per endpoint go at a time (a "
        "concurrency group), or find who else updates it."
    )
    assert lab.emu.write_calls("sagemaker") == []


# --- plan mode and nothing to change ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "n", "result", "scaling"),
    [
        ("planned", 2, "would-update", ["DescribeScalableTargets"]),
        ("planned", 1, "unchanged", []),
        ("planned-new", 1, "would-create", []),
    ],
    ids=["update", "unchanged", "create"],
)
def test_plan_mode_checks_the_inputs_and_writes_nothing(
    lab: Lab, name: str, n: int, result: str, scaling: list[str]
) -> None:
    """Plan mode: the result says what would happen, the image output is the one asked for, the inputs are
    checked (unchanged too), an update's autoscaling is looked at, and nothing is written."""
    run = lab.start(name, image=image(n), mode="plan")
    outcome = run.rollout.run()
    assert (outcome.result, outcome.serving_image, outcome.writes) == (result, image(n), [])
    assert len(run.preflights) == 1
    assert lab.emu.write_calls() == []
    assert lab.scaling_calls() == scaling


def test_an_unchanged_endpoint_is_left_alone_and_its_serving_reported(lab: Lab) -> None:
    """Nothing to change, in apply mode: 'unchanged', what serves reported, no input checked (the no-change path
    stays cheap) and nothing written."""
    served = lab.serving("steady")
    run = lab.start("steady")
    outcome = run.rollout.run()
    assert (outcome.result, outcome.message) == ("unchanged", "")
    assert (outcome.serving_config, outcome.serving_model, outcome.serving_image) == (
        served.config_name,
        served.model_name,
        image(1),
    )
    assert run.preflights == []
    assert lab.emu.write_calls() == []
    assert lab.scaling_calls() == []


# --- autoscaling -----------------------------------------------------------------------------------------------


def test_an_autoscaling_record_left_by_an_interrupted_run_is_announced_in_plan_mode_and_restored_in_apply(
    lab: Lab,
) -> None:
    """A run interrupted after deregistering the variant's autoscaling left its record on the endpoint: a plan
    run leaves it as it is, the next apply run puts the autoscaling back and removes the record."""
    lab.register("recorded")
    outcome = RolloutOutcome(result="failed")
    Autoscaling(lab.clients, Log(io.StringIO()), outcome).suspend(f"{ARN}:endpoint/recorded", "recorded", "AllTraffic")
    targets, policies, record = lab.scaling("recorded")
    assert (targets, policies) == ([], []) and record
    planned = lab.start("recorded", mode="plan").rollout.run()
    assert planned.result == "unchanged"
    assert lab.scaling("recorded") == ([], [], record)
    applied = lab.start("recorded").rollout.run()
    assert applied.result == "unchanged"
    assert lab.scaling("recorded") == (["endpoint/recorded/variant/AllTraffic"], ["step"], [])


def test_an_instance_type_change_suspends_autoscaling_for_the_update_and_restores_it(lab: Lab) -> None:
    """A new instance type for an autoscaled variant: its target is deregistered before UpdateEndpoint (which
    SageMaker refuses otherwise) and registered again with its policy once the update settled."""
    lab.register("scaled")
    lab.emu.clear_requests()
    run = lab.start("scaled", instance_type="ml.g5.xlarge")
    outcome = run.rollout.run()
    assert outcome.result == "updated", outcome.message
    calls = [r.operation for r in lab.emu.requests]
    assert (
        calls.index("DeregisterScalableTarget") < calls.index("UpdateEndpoint") < calls.index("RegisterScalableTarget")
    )
    assert lab.scaling("scaled") == (["endpoint/scaled/variant/AllTraffic"], ["step"], [])


def test_an_instance_type_change_refused_puts_autoscaling_back(lab: Lab) -> None:
    """The update of an autoscaled variant's instance type refused for capacity: the autoscaling deregistered for
    it is put back before the refusal is reported."""
    lab.register("scaled-refused")
    lab.emu.faults.quota_next_update("Instance limit reached.", endpoint_name="scaled-refused")
    refusal = lab.start("scaled-refused", instance_type="ml.g5.xlarge").refused()
    assert refusal.kind == "capacity"
    assert "a second fleet of 1 ml.g5.xlarge instance(s)" in str(refusal)
    assert lab.scaling("scaled-refused") == (["endpoint/scaled-refused/variant/AllTraffic"], ["step"], [])
