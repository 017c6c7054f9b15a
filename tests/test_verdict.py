"""Rollout's verdict, its adoption of an earlier run's rollout and its refusal of endpoints SageMaker will not
update, in process against the emulator: each branch with its exact outcome (result, message, what serves, what
was deleted and what was kept) and each refusal with its exact text.

The action-level tests (tests/action) tell the same stories through the real action; these are their fast twins.
One emulator serves the module, each test on endpoints of its own, seeded together at the start. The verdict is
reached by a real run where the emulator can bring the endpoint there, and otherwise by handing the Rollout the
description a settled endpoint gives, parsed from JSON as SageMaker's answers are.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_async_deploy import aws, builders
from sagemaker_async_deploy.config import ActionConfig
from sagemaker_async_deploy.errors import DeployError
from sagemaker_async_deploy.log import Log
from sagemaker_async_deploy.outcome import RolloutOutcome, SmokeResult, Transition
from sagemaker_async_deploy.planner import Plan
from sagemaker_async_deploy.rollout import Rollout
from sagemaker_async_deploy.smoke import SmokeTester

from .conftest import ACCOUNT_ID, REGION, started_emulator
from .factories import REPO, ROLE, action_config, image
from .lab import EmulatorLab, Run
from .seed import seed_handmade_config

if TYPE_CHECKING:
    pass

ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}"
# Endpoints the module's tests start from: InService on image 1, one per test that changes what serves.
SEEDED = ("updated", "rolledback", "cases", "settled", "adopted", "orphaned", "smoked", "maintained")
BROKEN = "broken"  # its creation fails: Failed, with this reason
BROKEN_REASON = "CannotStartContainerError: the container exited with code 1"
TERRAFORM_MODEL = "terraform-whisper"  # a model made outside the action, for model-name
EXISTING_MODEL = {"model_name": TERRAFORM_MODEL, "image": image(7), "execution_role_arn": ""}


def config(name: str, **inputs: str) -> ActionConfig:
    """A deploy of image 1 (unless ``inputs`` say otherwise) to endpoint ``name``, polling every 0.05 s."""
    return action_config(
        endpoint_name=name,
        poll_interval_seconds="0.05",
        deployment_timeout_minutes="1",
        **{"execution_role_arn": ROLE, **inputs},
    )


def fresh(value: Any) -> Any:
    """``value`` as a parsed answer carries it: its strings are new objects, not this module's constants, so
    that an identity test (``is``) where the code means equality shows."""
    return json.loads(json.dumps(value, default=str))


SMOKE_INPUT = "s3://bucket/requests/hello.json"


def smoked(run: Run, *, passed: bool) -> SmokeResult:
    """The smoke test of ``run`` as already sent during the bake, passed or failed: its result, as the rollout
    holds it."""
    smoke = run.rollout.config.smoke_test
    assert smoke is not None
    tester = SmokeTester(run.rollout.clients, run.rollout.log, smoke, run.rollout.config.endpoint_name)
    tester.result = SmokeResult(
        passed=passed,
        reason="" if passed else "the failure object landed: CUDA error",
        inference_id="inf-1",
        request_id="req-1",
        output_location="s3://bucket/out/inf-1.out",
        failure_location="s3://bucket/failed/inf-1-error.out",
        seconds=3.0,
        excerpt="" if passed else "CUDA error",
        answered="output" if passed else "failure",
    )
    run.rollout.smoke_tester = tester
    return tester.result


def seen(*statuses: tuple[str, str]) -> list[Transition]:
    """The statuses a wait noted, (EndpointStatus, variant statuses) each, as the waiter records them."""
    return [Transition(float(at), *fresh(list(pair))) for at, pair in enumerate(statuses)]


def told(outcome: RolloutOutcome) -> dict[str, Any]:
    """What an outcome tells the report: the verdict, what serves, what was deleted and kept."""
    return {
        "result": outcome.result,
        "message": outcome.message,
        "failure_reason": outcome.failure_reason,
        "endpoint_arn": outcome.endpoint_arn,
        "serving_config": outcome.serving_config,
        "serving_model": outcome.serving_model,
        "serving_image": outcome.serving_image,
        "cleaned_up": outcome.cleaned_up,
        "kept": outcome.kept,
    }


class Lab(EmulatorLab):
    """The module's emulator, the clients the action uses, and the steps the tests share."""

    def start(self, name: str, **inputs: str) -> Run:
        stream = io.StringIO()
        return Run(Rollout(config(name, **inputs), self.clients, Log(stream)), stream)

    def seed(self) -> None:
        """Every endpoint the tests start from, created side by side as a first deploy creates it."""
        self.sm.create_model(ModelName=TERRAFORM_MODEL, PrimaryContainer={"Image": image(7)}, ExecutionRoleArn=ROLE)
        self.emu.faults.fail_next_create(BROKEN_REASON, endpoint_name=BROKEN)
        for name in (*SEEDED, BROKEN):
            desired = self.planned(self.start(name), create=True).desired
            self.sm.create_endpoint(
                **builders.create_endpoint_request(
                    desired.endpoint_name, desired.config_name, desired.deployment_config, desired.tags
                )
            )
        for name in (*SEEDED, BROKEN):
            self.settle(name)

    def described(self, name: str, **overrides: Any) -> aws.Json:
        """DescribeEndpoint's answer for ``name`` with ``overrides``, parsed as an answer is."""
        endpoint = aws.describe_endpoint(self.sm, name)
        assert endpoint is not None
        return dict(fresh({**endpoint, **overrides}))

    def someone_elses(self, name: str, served: str) -> None:
        """A model and an async config made by hand (no derived name, no tag of the action's)."""
        seed_handmade_config(self.sm, name, served, ROLE, "s3://bucket/out/")

    def deletions(self) -> list[str]:
        """What was deleted since the request log was last cleared ("endpoint config X", "model Y")."""
        kinds = {
            "DeleteEndpointConfig": ("endpoint config", "EndpointConfigName"),
            "DeleteModel": ("model", "ModelName"),
        }
        return [
            f"{kinds[r.operation][0]} {r.params[kinds[r.operation][1]]}"
            for r in self.emu.requests
            if r.operation in kinds and r.status == 200
        ]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with started_emulator(environ=True) as emu:
        the_lab = Lab(emu)
        the_lab.seed()
        yield the_lab


def in_service(name: str, config_name: str, variants: list[aws.Json]) -> aws.Json:
    """A settled description of an endpoint that no emulator holds (a create's verdict needs no AWS call)."""
    return dict(
        fresh(
            {
                "EndpointName": name,
                "EndpointArn": f"{ARN}:endpoint/{name}",
                "EndpointConfigName": config_name,
                "EndpointStatus": "InService",
                "ProductionVariants": variants,
            }
        )
    )


# --- success: InService on the new config -----------------------------------------------------------------------


def test_a_create_that_ends_in_service_on_its_config_is_created(lab: Lab) -> None:
    """A first deploy that settles InService on its config is 'created', names what serves and deletes nothing."""
    run = lab.start("created")
    outcome = run.rollout.run()
    assert outcome.plan is not None
    desired = outcome.plan.desired
    assert told(outcome) == {
        "result": "created",
        "message": "",
        "failure_reason": "",
        "endpoint_arn": f"{ARN}:endpoint/created",
        "serving_config": desired.config_name,
        "serving_model": desired.model_name,
        "serving_image": image(1),
        "cleaned_up": [],
        "kept": [],
    }
    assert outcome.before is None
    assert f"Endpoint created is InService on {desired.config_name}." in run.lines
    assert lab.serving("created").config_name == desired.config_name


def test_an_update_that_ends_in_service_on_its_config_is_updated_and_removes_what_it_replaced(lab: Lab) -> None:
    """An update that settles InService on its config is 'updated', names the new config, model and image, and
    deletes exactly the replaced config and model."""
    old = lab.serving("updated")
    run = lab.start("updated", image=image(2))
    outcome = run.rollout.run()
    assert outcome.plan is not None
    desired = outcome.plan.desired
    assert told(outcome) == {
        "result": "updated",
        "message": "",
        "failure_reason": "",
        "endpoint_arn": f"{ARN}:endpoint/updated",
        "serving_config": desired.config_name,
        "serving_model": desired.model_name,
        "serving_image": image(2),
        "cleaned_up": [f"endpoint config {old.config_name}", f"model {old.model_name}"],
        "kept": [],
    }
    assert f"Endpoint updated is InService on {desired.config_name}." in run.lines
    assert lab.configs("updated") == {desired.config_name}
    assert lab.models("updated") == {desired.model_name}


def test_an_endpoint_aws_is_maintaining_is_waited_for_then_updated(lab: Lab) -> None:
    """SystemUpdating (AWS's maintenance, DescribeEndpoint's status list) is transitional: the run waits, sending no
    UpdateEndpoint that SageMaker would refuse, then plans and updates what still serves."""
    old = lab.serving("maintained")
    lab.emu.faults.system_update("maintained", 0.01, held=True)  # in maintenance until released below
    lab.emu.clear_requests()
    run = lab.start("maintained", image=image(2))
    waiting = "Endpoint maintained is SystemUpdating: waiting for it to settle before planning."

    def release_once_waiting() -> None:
        deadline = time.time() + 30
        while waiting not in run.lines and time.time() < deadline:
            time.sleep(0.01)
        lab.emu.faults.release("maintained")

    releaser = threading.Thread(target=release_once_waiting)
    releaser.start()
    try:
        outcome = run.rollout.run()
    finally:
        releaser.join()
    assert waiting in run.lines
    assert outcome.transitions[0].status == "SystemUpdating"
    assert outcome.result == "updated", outcome.message
    assert outcome.before is not None and outcome.before.config_name == old.config_name
    updates = [r for r in lab.emu.requests if r.operation == "UpdateEndpoint"]
    assert [r.status for r in updates] == [200]
    assert lab.serving("maintained").image == image(2)


@pytest.mark.parametrize(
    ("variants", "expected"),
    [
        # SageMaker resolves the tag a config names to the digest it runs: the outputs name what runs.
        (
            [
                {
                    "VariantName": "AllTraffic",
                    "DeployedImages": [{"SpecifiedImage": f"{REPO}:v1", "ResolvedImage": image(1)}],
                }
            ],
            image(1),
        ),
        # Scaled to zero, an async endpoint runs no instance and names no image: the image asked for serves.
        ([{"VariantName": "AllTraffic", "CurrentInstanceCount": 0}], f"{REPO}:v1"),
        ([], f"{REPO}:v1"),
    ],
    ids=["resolved", "no-instance", "no-variant"],
)
def test_a_created_endpoint_names_the_image_its_variant_runs(lab: Lab, variants: list[aws.Json], expected: str) -> None:
    """The image a created endpoint serves is the one its variant runs (DeployedImages' resolved digest), and the
    image asked for when the variant runs none."""
    run = lab.start("never", image=f"{REPO}:v1")
    the_plan = lab.planned(run, create=True)
    desired = the_plan.desired
    lab.emu.clear_requests()
    run.rollout._verdict(the_plan, in_service("never", desired.config_name, variants), seen())
    assert told(run.outcome) == {
        "result": "created",
        "message": "",
        "failure_reason": "",
        "endpoint_arn": f"{ARN}:endpoint/never",
        "serving_config": desired.config_name,
        "serving_model": desired.model_name,
        "serving_image": expected,
        "cleaned_up": [],
        "kept": [],
    }
    assert run.lines == [f"Endpoint never is InService on {desired.config_name}."]
    assert lab.emu.requests == []  # nothing served before: nothing to clean up, not even a read


# --- back on the old config: rolled back, or failed before taking traffic -------------------------------------


def test_an_alarm_rollback_is_rolled_back_keeps_the_old_config_and_removes_the_new(lab: Lab) -> None:
    """SageMaker rolling an update back after its traffic moved (no FailureReason, as for an alarm) is
    'rolled-back': the old config, model and image serve, the new config and model are deleted."""
    old = lab.serving("rolledback")
    lab.emu.faults.rollback_next_update(endpoint_name="rolledback")
    run = lab.start("rolledback", image=image(2))
    outcome = run.rollout.run()
    assert outcome.plan is not None
    desired = outcome.plan.desired
    assert told(outcome) == {
        "result": "rolled-back",
        "message": "SageMaker rolled the update back after traffic had moved to the new fleet and gave no "
        f"FailureReason (cause unknown from the endpoint); {old.config_name} still serves {image(1)}",
        "failure_reason": "",
        "endpoint_arn": f"{ARN}:endpoint/rolledback",
        "serving_config": old.config_name,
        "serving_model": old.model_name,
        "serving_image": image(1),
        "cleaned_up": [f"endpoint config {desired.config_name}", f"model {desired.model_name}"],
        "kept": [f"endpoint config {old.config_name} (serving)"],
    }
    assert lab.configs("rolledback") == {old.config_name}
    assert lab.models("rolledback") == {old.model_name}


REASON = "CannotStartContainerError: the container exited with code 1"
ROLLBACKS = [
    pytest.param(
        seen(("Updating", "Creating"), ("Updating", "Baking"), ("InService", "")),
        REASON,
        "rolled-back",
        "SageMaker rolled the update back after traffic had moved to the new fleet",
        id="baked-then-back",
    ),
    pytest.param(
        seen(
            ("Updating", "Creating"),
            ("Updating", "Creating, ActivatingTraffic"),
            ("RollingBack", ""),
            ("InService", ""),
        ),
        REASON,
        "rolled-back",
        "SageMaker rolled the update back after traffic had moved to the new fleet",
        id="traffic-then-rolling-back",
    ),
    pytest.param(
        seen(("Updating", "Creating"), ("RollingBack", ""), ("InService", "")),
        REASON,
        "rolled-back",
        "SageMaker rolled the update back",
        id="rolling-back-only",
    ),
    pytest.param(
        seen(("Updating", "Creating"), ("InService", "")),
        "",
        "rolled-back",
        "SageMaker rolled the update back and gave no FailureReason (cause unknown from the endpoint)",
        id="no-reason",
    ),
    pytest.param(
        seen(("Updating", "Creating"), ("InService", "")),
        REASON,
        "failed",
        "the new fleet failed before taking traffic",
        id="failed-before-traffic",
    ),
]


@pytest.mark.parametrize(("transitions", "reason", "result", "message"), ROLLBACKS)
def test_back_on_the_old_config_what_was_seen_tells_a_rollback_from_a_failure(
    lab: Lab, transitions: list[Transition], reason: str, result: str, message: str
) -> None:
    """InService on the old config again is 'rolled-back' when traffic had moved, SageMaker was seen rolling back
    or it gave no reason, and 'failed' for a reason with neither; either way the old config serves and the new
    config and model are deleted."""
    old = lab.serving("cases")
    run = lab.start("cases", image=image(2))
    the_plan = lab.planned(run)
    desired = the_plan.desired
    final = lab.described("cases", **({"FailureReason": reason} if reason else {}))
    lab.emu.clear_requests()
    run.rollout._verdict(the_plan, final, transitions)
    assert told(run.outcome) == {
        "result": result,
        "message": f"{message}; {old.config_name} still serves {image(1)}",
        "failure_reason": reason,
        "endpoint_arn": f"{ARN}:endpoint/cases",
        "serving_config": old.config_name,
        "serving_model": old.model_name,
        "serving_image": image(1),
        "cleaned_up": [f"endpoint config {desired.config_name}", f"model {desired.model_name}"],
        "kept": [f"endpoint config {old.config_name} (serving)"],
    }
    assert lab.deletions() == [f"endpoint config {desired.config_name}", f"model {desired.model_name}"]
    assert lab.configs("cases") == {old.config_name}


@pytest.mark.parametrize(
    ("passed", "by", "message"),
    [
        (
            False,
            "sagemaker",
            "SageMaker rolled the update back on the action's smoke-test alarm: the smoke test failed during the bake "
            "(the failure object landed: CUDA error)",
        ),
        (True, "", "SageMaker rolled the update back after traffic had moved to the new fleet"),
    ],
    ids=["smoke-test-failed", "smoke-test-passed"],
)
def test_a_rollback_after_a_smoke_test_in_the_bake_keeps_its_result_and_names_it_when_it_failed(
    lab: Lab, passed: bool, by: str, message: str
) -> None:
    """Back on the old config after the smoke test ran in the bake: the outcome keeps the smoke test's result,
    and a failed one is named as the cause (its alarm rolled the update back), a passed one not."""
    old = lab.serving("cases")
    run = lab.start("cases", image=image(2), smoke_test_input=SMOKE_INPUT)
    the_plan = lab.planned(run)
    tested = smoked(run, passed=passed)
    final = lab.described("cases", FailureReason=REASON)
    run.rollout._verdict(the_plan, final, seen(("Updating", "Baking"), ("InService", "")))
    outcome = run.outcome
    assert (outcome.result, outcome.message) == ("rolled-back", f"{message}; {old.config_name} still serves {image(1)}")
    assert (outcome.smoke, outcome.smoke_rolled_back_by) == (tested, by)


# --- settled elsewhere: nothing is deleted ------------------------------------------------------------------------


@pytest.mark.parametrize("other", ["aaa-hotfix", "zzz-hotfix"])
def test_in_service_on_someone_elses_config_fails_names_what_serves_and_deletes_nothing(lab: Lab, other: str) -> None:
    """InService on a config that is neither the new nor the old one (sorting before or after both) is 'failed';
    the outputs name that config, its model and image, and the new config and model are kept."""
    lab.someone_elses(other, image(8))
    run = lab.start("settled", image=image(2))
    the_plan = lab.planned(run)
    desired = the_plan.desired
    variants = [
        {"VariantName": "AllTraffic", "DeployedImages": [{"SpecifiedImage": image(8), "ResolvedImage": image(8)}]}
    ]
    final = lab.described("settled", EndpointConfigName=other, ProductionVariants=variants)
    lab.emu.clear_requests()
    run.rollout._verdict(the_plan, final, seen(("Updating", "Creating"), ("InService", "")))
    assert told(run.outcome) == {
        "result": "failed",
        "message": f"the endpoint is InService on an unexpected config ({other})",
        "failure_reason": "",
        "endpoint_arn": f"{ARN}:endpoint/settled",
        "serving_config": other,
        "serving_model": other,
        "serving_image": image(8),
        "cleaned_up": [],
        "kept": [f"endpoint config {desired.config_name}", f"model {desired.model_name}"],
    }
    assert lab.emu.write_calls() == []


def test_in_service_on_a_config_that_is_gone_still_names_it(lab: Lab) -> None:
    """InService on someone else's config that no longer exists is 'failed' with that config named and no model;
    the verdict does not stop at the missing config."""
    run = lab.start("settled", image=image(2))
    the_plan = lab.planned(run)
    desired = the_plan.desired
    variants = [
        {"VariantName": "AllTraffic", "DeployedImages": [{"SpecifiedImage": image(8), "ResolvedImage": image(8)}]}
    ]
    final = lab.described("settled", EndpointConfigName="gone-hotfix", ProductionVariants=variants)
    lab.emu.clear_requests()
    run.rollout._verdict(the_plan, final, seen(("Updating", "Creating"), ("InService", "")))
    assert told(run.outcome) == {
        "result": "failed",
        "message": "the endpoint is InService on an unexpected config (gone-hotfix)",
        "failure_reason": "",
        "endpoint_arn": f"{ARN}:endpoint/settled",
        "serving_config": "gone-hotfix",
        "serving_model": "",
        "serving_image": image(8),
        "cleaned_up": [],
        "kept": [f"endpoint config {desired.config_name}", f"model {desired.model_name}"],
    }
    assert lab.emu.write_calls() == []


@pytest.mark.parametrize(
    ("status", "on_new", "inputs", "model_kept"),
    [
        ("Failed", False, {}, True),
        ("Failed", False, EXISTING_MODEL, False),
        ("OutOfService", True, {}, True),
    ],
    ids=["failed", "failed-existing-model", "out-of-service-on-the-new-config"],
)
def test_an_update_that_ends_failed_or_out_of_service_keeps_everything(
    lab: Lab, status: str, on_new: bool, inputs: dict[str, str], model_kept: bool
) -> None:
    """An update that ends Failed or OutOfService (on either config) is 'failed' with the status named; nothing is
    deleted and the new config (and the model, when the action made it) is kept for the investigation."""
    run = lab.start("settled", **{"image": image(2), **inputs})
    the_plan = lab.planned(run)
    desired = the_plan.desired
    serving = desired.config_name if on_new else lab.serving("settled").config_name
    final = lab.described("settled", EndpointStatus=status, EndpointConfigName=serving, FailureReason="InternalFailure")
    lab.emu.clear_requests()
    run.rollout._verdict(the_plan, final, seen(("Updating", "Creating"), (status, "")))
    assert told(run.outcome) == {
        "result": "failed",
        "message": f"the endpoint is {status}",
        "failure_reason": "InternalFailure",
        "endpoint_arn": f"{ARN}:endpoint/settled",
        "serving_config": serving,
        "serving_model": "",
        "serving_image": "",
        "cleaned_up": [],
        "kept": [f"endpoint config {desired.config_name}"] + ([f"model {desired.model_name}"] if model_kept else []),
    }
    assert lab.emu.write_calls() == []


@pytest.mark.parametrize(("status", "code"), [(500, "InternalFailure"), (503, "ServiceUnavailable")])
def test_a_server_error_on_the_update_deletes_nothing_it_may_be_rolling_out(lab: Lab, status: int, code: str) -> None:
    """A 5xx left after botocore's retries is no refusal: the update may have started, so the config and model
    made for it stay, and the error says so instead of reporting them removed."""
    run = lab.start("settled", image=image(2))
    the_plan = lab.planned(run)
    desired = the_plan.desired
    created = [f"endpoint config {desired.config_name}", f"model {desired.model_name}"]
    error = ClientError(
        {"Error": {"Code": code, "Message": "We encountered an internal error."},
         "ResponseMetadata": {"HTTPStatusCode": status}},
        "UpdateEndpoint",
    )  # fmt: skip
    lab.emu.clear_requests()
    refusal = run.rollout._refused(error, the_plan, created)
    assert lab.emu.write_calls() == []
    assert desired.config_name in lab.configs("settled")
    assert desired.model_name in lab.models("settled")
    assert f"SageMaker answered UpdateEndpoint with {code}" in str(refusal)
    assert "nothing was deleted" in str(refusal)
    assert "Removed" not in str(refusal)
    lab.sm.delete_endpoint_config(EndpointConfigName=desired.config_name)
    lab.sm.delete_model(ModelName=desired.model_name)


def test_a_create_that_ends_failed_is_failed_and_keeps_what_it_made(lab: Lab) -> None:
    """A first deploy whose endpoint ends Failed on its config is 'failed' with SageMaker's reason; its config and
    model are kept."""
    run = lab.start(BROKEN)
    the_plan = lab.planned(run, create=True)
    desired = the_plan.desired
    final = lab.described(BROKEN)
    assert final["EndpointConfigName"] == desired.config_name
    lab.emu.clear_requests()
    run.rollout._verdict(the_plan, final, seen(("Creating", "Creating"), ("Failed", "")))
    assert told(run.outcome) == {
        "result": "failed",
        "message": "the endpoint is Failed",
        "failure_reason": BROKEN_REASON,
        "endpoint_arn": f"{ARN}:endpoint/{BROKEN}",
        "serving_config": desired.config_name,
        "serving_model": "",
        "serving_image": "",
        "cleaned_up": [],
        "kept": [f"endpoint config {desired.config_name}", f"model {desired.model_name}"],
    }
    assert lab.emu.write_calls() == []


MIXED = [
    {
        "VariantName": "AllTraffic",
        "DeployedImages": [
            {"SpecifiedImage": f"{REPO}:v2", "ResolvedImage": image(2)},
            {"SpecifiedImage": image(1)},
        ],
    }
]


@pytest.mark.parametrize(
    ("variants", "inputs", "images", "model_kept"),
    [
        (MIXED, {}, f"{image(1)}, {image(2)}", True),
        (MIXED, EXISTING_MODEL, f"{image(1)}, {image(2)}", False),
        ([{"VariantName": "AllTraffic", "DeployedImages": [{}]}, {"VariantName": "Other"}], {}, "images unknown", True),
    ],
    ids=["mixed", "mixed-existing-model", "no-images"],
)
def test_update_rollback_failed_names_the_mix_and_keeps_everything(
    lab: Lab, variants: list[aws.Json], inputs: dict[str, str], images: str, model_kept: bool
) -> None:
    """An update whose rollback failed too is 'failed', naming the images of the mixed fleet (resolved digests,
    sorted, once each) and the config it is on; nothing is deleted, the new config (and model) is kept."""
    run = lab.start("settled", **{"image": image(2), **inputs})
    the_plan = lab.planned(run)
    desired = the_plan.desired
    old = lab.serving("settled").config_name
    final = lab.described(
        "settled", EndpointStatus="UpdateRollbackFailed", FailureReason="rollback failed", ProductionVariants=variants
    )
    lab.emu.clear_requests()
    run.rollout._verdict(
        the_plan, final, seen(("Updating", "Creating"), ("RollingBack", ""), ("UpdateRollbackFailed", ""))
    )
    assert told(run.outcome) == {
        "result": "failed",
        "message": "both the update and its rollback failed (UpdateRollbackFailed): the endpoint serves a mix of the "
        f"old and new fleets ({images})",
        "failure_reason": "rollback failed",
        "endpoint_arn": f"{ARN}:endpoint/settled",
        "serving_config": old,
        "serving_model": "",
        "serving_image": "",
        "cleaned_up": [],
        "kept": [f"endpoint config {desired.config_name}"] + ([f"model {desired.model_name}"] if model_kept else []),
    }
    assert lab.emu.write_calls() == []


# --- adopting an earlier run's rollout -----------------------------------------------------------------------------


def earlier_run(lab: Lab, name: str) -> tuple[aws.Json, Plan]:
    """An earlier run's update of ``name`` to image 2, seen Updating by the next run's first read, then finished
    (the earlier run was cancelled or crashed while it waited): that read, and the earlier run's plan."""
    the_plan = lab.planned(lab.start(name, image=image(2)))
    desired = the_plan.desired
    lab.emu.faults.hold_next_update(name)
    lab.sm.update_endpoint(
        **builders.update_endpoint_request(
            name, desired.config_name, desired.deployment_config, new_instance_count=not the_plan.retain_instance_count
        )
    )
    first_read = lab.described(name)
    assert first_read["EndpointStatus"] == "Updating"
    lab.emu.faults.release(name)
    lab.settle(name)
    return first_read, the_plan


def test_adopting_an_earlier_runs_rollout_reports_it_updated_and_removes_what_it_replaced(lab: Lab) -> None:
    """A run that finds an earlier run's update of what it asks for, and waits it out, reports 'updated' with
    what served when it started as 'before', and deletes exactly the config and model that update replaced, even
    when someone else's update has started since (so no leftover of earlier runs is swept)."""
    old = lab.serving("adopted")
    first_read, earlier = earlier_run(lab, "adopted")
    now = lab.serving("adopted")
    run = lab.start("adopted", image=image(2))
    lab.emu.faults.busy("adopted", 0.3, held=True)
    try:
        run.rollout._adopt(old.config_name, first_read, now)
    finally:
        lab.emu.faults.release("adopted")
    outcome = run.outcome
    assert run.lines[0] == f"Completed the rollout an earlier run started from {old.config_name}."
    assert outcome.result == "updated"
    assert outcome.message == "completed the rollout an earlier run started"
    assert outcome.before is not None
    assert (outcome.before.config_name, outcome.before.model_name, outcome.before.image) == (
        old.config_name,
        old.model_name,
        image(1),
    )
    assert outcome.before.status == "Updating"
    assert outcome.cleaned_up == [f"endpoint config {old.config_name}", f"model {old.model_name}"]
    assert outcome.kept == []
    assert "Leftovers of earlier runs not swept: the endpoint is Updating; the next run sweeps." in run.lines
    assert lab.configs("adopted") == {earlier.desired.config_name}
    assert lab.models("adopted") == {earlier.desired.model_name}


def test_adopting_when_the_replaced_config_is_gone_still_finishes(lab: Lab) -> None:
    """Adopting a rollout whose replaced config someone deleted meanwhile does not stop at the missing config:
    'updated', 'before' names that config without a model, and the replaced model goes as a leftover."""
    old = lab.serving("orphaned")
    first_read, earlier = earlier_run(lab, "orphaned")
    lab.sm.delete_endpoint_config(EndpointConfigName=old.config_name)
    now = lab.serving("orphaned")
    run = lab.start("orphaned", image=image(2))
    run.rollout._adopt(old.config_name, first_read, now)
    outcome = run.outcome
    assert outcome.result == "updated"
    assert outcome.message == "completed the rollout an earlier run started"
    assert outcome.before is not None
    assert (outcome.before.config_name, outcome.before.config, outcome.before.model_name) == (old.config_name, None, "")
    assert outcome.cleaned_up == [f"model {old.model_name}"]
    assert lab.configs("orphaned") == {earlier.desired.config_name}
    assert lab.models("orphaned") == {earlier.desired.model_name}


def test_adopting_a_rollout_whose_smoke_test_failed_rolls_it_back_and_keeps_what_it_replaced(lab: Lab) -> None:
    """An earlier run may have stopped before its smoke test: a run that adopts its rollout judges the smoke test
    before deleting anything, and when it failed rolls back to the config that served, which is kept, and
    deletes the rollout's config and model instead."""
    old = lab.serving("smoked")
    first_read, earlier = earlier_run(lab, "smoked")
    now = lab.serving("smoked")
    run = lab.start("smoked", image=image(2), smoke_test_input=SMOKE_INPUT)
    smoked(run, passed=False)
    # As run() calls it: adopted from the config the first read names.
    run.rollout._adopt(first_read["EndpointConfigName"], first_read, now)
    outcome = run.outcome
    assert (outcome.result, outcome.smoke_rolled_back_by) == ("rolled-back", "action")
    assert outcome.message == (
        "the smoke test failed (the failure object landed: CUDA error), so the action rolled the endpoint back; "
        f"{old.config_name} still serves {image(1)}"
    )
    assert outcome.cleaned_up == [
        f"endpoint config {earlier.desired.config_name}",
        f"model {earlier.desired.model_name}",
    ]
    assert lab.serving("smoked").config_name == old.config_name
    assert (lab.configs("smoked"), lab.models("smoked")) == ({old.config_name}, {old.model_name})


# --- endpoints SageMaker will not update ---------------------------------------------------------------------------


def delete_command(name: str) -> str:
    return f"aws sagemaker delete-endpoint --endpoint-name {name}"


REFUSALS = {
    "Failed": (
        "endpoint-name: whisper is Failed ({reason}). SageMaker allows nothing on a failed endpoint but deleting it: "
        f"delete it ({delete_command('whisper')}) and run again to create it anew. This action never deletes an "
        "endpoint itself."
    ),
    "UpdateRollbackFailed": (
        "endpoint-name: whisper is UpdateRollbackFailed ({reason}): an earlier update and its rollback both failed, "
        "and the endpoint serves a mix of the old and new endpoint configs (SageMaker's words). The action does not "
        "deploy onto a mixed fleet: bring it back to one config yourself (update it to the config you want, or "
        f"delete and recreate it: {delete_command('whisper')}), then rerun."
    ),
    "OutOfService": (
        "endpoint-name: whisper is OutOfService ({reason}): it takes no requests and SageMaker does not update it. "
        "Look at it in the SageMaker console; if it does not come back, delete it "
        f"({delete_command('whisper')}) and run again to create it anew."
    ),
}


@pytest.mark.parametrize("reason", ["InternalFailure", ""], ids=["with-reason", "without-reason"])
@pytest.mark.parametrize("status", list(REFUSALS))
def test_endpoints_sagemaker_will_not_update_are_refused_with_what_to_do(lab: Lab, status: str, reason: str) -> None:
    """A Failed, UpdateRollbackFailed or OutOfService endpoint is refused with its status, SageMaker's reason (or
    that it gave none) and the way out; the refusal is of kind endpoint-state."""
    run = lab.start("whisper")
    endpoint = fresh({"EndpointName": "whisper", "EndpointStatus": status, "FailureReason": reason})
    with pytest.raises(DeployError) as refused:
        run.rollout._refuse_state(endpoint)
    assert str(refused.value) == REFUSALS[status].format(reason=reason or "no FailureReason")
    assert refused.value.kind == "endpoint-state"


@pytest.mark.parametrize(
    "status", ["InService", "Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting", ""]
)
def test_endpoints_sagemaker_can_update_are_not_refused(lab: Lab, status: str) -> None:
    """Every other status (and none) passes the check: what serves is read as it is, with nothing written and
    nothing recorded, so that settled endpoints are planned and transitional ones waited for."""
    run = lab.start("settled")
    served = lab.serving("settled")
    lab.emu.clear_requests()
    described = lab.described("settled", EndpointStatus=status, FailureReason="x")
    if not status:
        del described["EndpointStatus"]
    current = run.rollout._current(described)
    assert current is not None
    assert (current.status, current.config_name, current.model_name, current.image) == (
        status,
        served.config_name,
        served.model_name,
        served.image,
    )
    assert lab.emu.write_calls() == []
    assert (run.outcome.writes, run.outcome.message, run.outcome.kept) == ([], "", [])


def test_a_failed_endpoint_is_refused_before_any_write(lab: Lab) -> None:
    """A run against an endpoint whose creation failed stops at its first read with the refusal, and writes
    nothing."""
    run = lab.start(BROKEN, image=image(2))
    lab.emu.clear_requests()
    with pytest.raises(DeployError) as refused:
        run.rollout.run()
    assert str(refused.value) == (
        f"endpoint-name: {BROKEN} is Failed ({BROKEN_REASON}). SageMaker allows nothing on a failed endpoint but "
        f"deleting it: delete it ({delete_command(BROKEN)}) and run again to create it anew. This action never "
        "deletes an endpoint itself."
    )
    assert lab.emu.write_calls() == []
    assert run.outcome.writes == []
