"""The pure planner on plain values: no emulator, no fakes, one behaviour per test."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from sagemaker_async_deploy._checks import MODEL_NAME_RE, NAME_MAX, ImageRef
from sagemaker_async_deploy.artifacts import Identity
from sagemaker_async_deploy.builders import derived_name, is_derived_name
from sagemaker_async_deploy.config import ActionConfig
from sagemaker_async_deploy.errors import PlanError
from sagemaker_async_deploy.fields import IMAGE, STEP_SIZE
from sagemaker_async_deploy.planner import (
    Change,
    Desired,
    Plan,
    _starts_rollout,
    desired_from,
    plan,
    refuse_unsupported,
)
from sagemaker_async_deploy.state import ServingState

from .factories import OTHER_ROLE, REPO, ROLE, SHAPES, TOPIC, action_config, digest, image, serving_state


def desired(current: ServingState | None = None, **inputs: str) -> Desired:
    config = action_config(**inputs)
    return desired_from(config, current, SHAPES)


def plan_for(current: ServingState | None, **inputs: str) -> Plan:
    return plan(current, desired(current, **inputs))


def fields(the_plan: Plan) -> list[str]:
    return [c.field for c in the_plan.changes]


def described(text: str) -> str:
    """``text`` as a description parsed from JSON holds it: equal to an input's text, never the same object."""
    value: str = json.loads(json.dumps(text))
    return value


def created(**inputs: str) -> Desired:
    """What a first deploy asks for (a role is needed then)."""
    return desired(None, **{"execution_role_arn": ROLE, **inputs})


# --- create / unchanged ---------------------------------------------------------------------------------


def test_no_endpoint_plans_a_create_listing_what_it_will_serve() -> None:
    """With nothing serving, the plan is create and lists the image and the other set settings as new."""
    the_plan = plan(None, created())
    assert the_plan.action == "create"
    assert the_plan.current is None
    changes = {c.field: (c.before, c.after) for c in the_plan.changes}
    assert changes["image"] == ("", image(1))
    assert changes["instance-type"] == ("", "ml.g4dn.xlarge")
    assert changes["execution-role-arn"] == ("", ROLE)
    assert changes["initial-instance-count"] == ("", "1")  # the create value of an empty "keep" input
    assert changes["max-concurrent-invocations"] == ("", "1")
    # Empty optional inputs are not shown as changes "∅ → ∅"; how rollouts are watched is not a setting.
    assert not {"failure-path", "success-topic", "container-startup-timeout-seconds", "bake-seconds"} & set(changes)


def test_identical_endpoint_is_unchanged_with_no_changes() -> None:
    """What serves equals what is asked: unchanged, with an empty change list."""
    the_plan = plan_for(serving_state())
    assert the_plan.action == "unchanged"
    assert the_plan.changes == ()


# --- each setting ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "current", "inputs", "before", "after"),
    [
        ("image", {}, {"image": image(2)}, image(1), image(2)),
        ("instance-type", {}, {"instance_type": "ml.g5.xlarge"}, "ml.g4dn.xlarge", "ml.g5.xlarge"),
        ("initial-instance-count", {}, {"initial_instance_count": "3"}, "1", "3"),
        ("output-path", {}, {"output_path": "s3://bucket/new/"}, "s3://bucket/out/", "s3://bucket/new/"),
        ("failure-path", {}, {"failure_path": "s3://bucket/fail/"}, "", "s3://bucket/fail/"),
        ("failure-path", {"failure_path": "s3://bucket/fail/"}, {"failure_path": "none"}, "s3://bucket/fail/", ""),
        ("success-topic", {"success_topic": TOPIC}, {"success_topic": "none"}, TOPIC, ""),
        ("error-topic", {"error_topic": TOPIC}, {"error_topic": "none"}, TOPIC, ""),
        ("error-topic", {}, {"error_topic": TOPIC}, "", TOPIC),
        ("max-concurrent-invocations", {}, {"max_concurrent_invocations": "4"}, "1", "4"),
        ("container-startup-timeout-seconds", {}, {"container_startup_timeout_seconds": "600"}, "", "600 s"),
        (
            "model-download-timeout-seconds",
            {"variant_extra": {"ModelDataDownloadTimeoutInSeconds": 1200}},
            {"model_download_timeout_seconds": "900"},
            "1200 s",
            "900 s",
        ),
        ("execution-role-arn", {}, {"execution_role_arn": OTHER_ROLE}, ROLE, OTHER_ROLE),
        ("model-data-url", {}, {"model_data_url": "s3://bucket/model.tar.gz"}, "", "s3://bucket/model.tar.gz"),
    ],
)
def test_each_setting_that_differs_is_one_update_change(
    field: str, current: dict[str, Any], inputs: dict[str, str], before: str, after: str
) -> None:
    """A difference in exactly one setting plans an update with exactly that change, from → to."""
    the_plan = plan_for(serving_state(**current), **inputs)
    assert the_plan.action == "update"
    assert [c.as_dict() for c in the_plan.changes] == [{"field": field, "from": before, "to": after}]


def test_empty_keep_inputs_keep_what_serves() -> None:
    """Empty instance count, concurrency and timeouts keep the serving values: no change, nothing scaled to 1."""
    current = serving_state(
        initial_instance_count=2,
        current_instance_count=2,
        max_concurrent_invocations=4,
        variant_extra={"ContainerStartupHealthCheckTimeoutInSeconds": 1800, "ModelDataDownloadTimeoutInSeconds": 1200},
    )
    assert plan_for(current).action == "unchanged"
    the_plan = plan_for(current, image=image(2))
    assert fields(the_plan) == ["image"]
    variant = the_plan.desired.config_content["ProductionVariants"][0]
    assert variant["InitialInstanceCount"] == 2
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 1800
    assert variant["ModelDataDownloadTimeoutInSeconds"] == 1200
    assert the_plan.desired.config_content["AsyncInferenceConfig"]["ClientConfig"] == {
        "MaxConcurrentInvocationsPerInstance": 4
    }


def test_empty_failure_path_and_topics_keep_what_serves() -> None:
    """Empty failure-path, success-topic and error-topic keep the serving ones: an image update changes nothing else."""
    error_topic = TOPIC.replace(":done", ":failed")
    current = serving_state(failure_path="s3://bucket/fail/", success_topic=TOPIC, error_topic=error_topic)
    assert plan_for(current).action == "unchanged"
    the_plan = plan_for(current, image=image(2))
    assert fields(the_plan) == ["image"]
    output = the_plan.desired.config_content["AsyncInferenceConfig"]["OutputConfig"]
    assert output["S3FailurePath"] == "s3://bucket/fail/"
    assert output["NotificationConfig"]["SuccessTopic"] == TOPIC
    assert output["NotificationConfig"]["ErrorTopic"] == error_topic
    # The plan shows them among what the update keeps, as it does for the other kept inputs.
    kept = {k.label: k.value for k in the_plan.kept}
    assert kept["Failure path"] == "s3://bucket/fail/"
    assert kept["Success topic"] == TOPIC


def test_none_removes_failure_path_and_topics() -> None:
    """``none`` removes the serving failure path and both topics, each listed as a change to nothing."""
    current = serving_state(
        failure_path="s3://bucket/fail/", success_topic=TOPIC, error_topic=TOPIC.replace(":done", ":failed")
    )
    the_plan = plan_for(current, failure_path="none", success_topic="None", error_topic="NONE")
    assert the_plan.action == "update"
    assert [(c.field, c.after) for c in the_plan.changes] == [
        ("failure-path", ""),
        ("success-topic", ""),
        ("error-topic", ""),
    ]
    output = the_plan.desired.config_content["AsyncInferenceConfig"]["OutputConfig"]
    assert "S3FailurePath" not in output
    assert "NotificationConfig" not in output
    assert not {k.label for k in the_plan.kept} & {"Failure path", "Success topic", "Error topic"}


def test_none_on_a_serving_config_without_them_is_unchanged() -> None:
    """``none`` where nothing of the kind serves is no change: removing nothing does not start a rollout."""
    assert plan_for(serving_state(), failure_path="none", success_topic="none").action == "unchanged"


@pytest.mark.parametrize("text", ["", "none"])
def test_a_create_has_no_failure_path_or_topics_when_empty_or_none(text: str) -> None:
    """On a first deploy empty and ``none`` both mean none: nothing serves to keep."""
    the_plan = plan(None, created(failure_path=text, success_topic=text, error_topic=text))
    assert the_plan.action == "create"
    assert not {"failure-path", "success-topic", "error-topic"} & set(fields(the_plan))
    output = the_plan.desired.config_content["AsyncInferenceConfig"]["OutputConfig"]
    assert set(output) == {"S3OutputPath"}


def test_serving_config_without_client_config_keeps_none() -> None:
    """A config Terraform made without ClientConfig keeps SageMaker's default: no concurrency is invented."""
    the_plan = plan_for(serving_state(max_concurrent_invocations=None), image=image(2))
    assert fields(the_plan) == ["image"]
    assert "ClientConfig" not in the_plan.desired.config_content["AsyncInferenceConfig"]


def test_model_name_change_is_compared_when_model_name_is_given() -> None:
    """With model-name given, the serving model's name is compared with it (and the created-model settings are
    not)."""
    the_plan = plan_for(serving_state(model_name="terraform-model-1"), model_name="terraform-model-2")
    assert the_plan.action == "update"
    assert [c.as_dict() for c in the_plan.changes] == [
        {"field": "model-name", "from": "terraform-model-1", "to": "terraform-model-2"}
    ]
    assert the_plan.desired.model_content is None
    assert the_plan.desired.config_content["ProductionVariants"][0]["ModelName"] == "terraform-model-2"


def test_same_model_name_given_is_unchanged() -> None:
    """model-name naming the model that serves, with the same image, is unchanged (role is not compared)."""
    current = serving_state(model_name="terraform-model", model_role=OTHER_ROLE)
    assert plan_for(current, model_name="terraform-model").action == "unchanged"


def test_model_name_is_compared_by_its_text() -> None:
    """The serving model's name, read from a description, equal to model-name is no change."""
    the_plan = plan_for(serving_state(model_name=described("terraform-model")), model_name="terraform-model")
    assert (the_plan.action, the_plan.changes) == ("unchanged", ())


def test_a_model_name_change_is_listed_after_the_image() -> None:
    """A new model-name follows the image change, ahead of the settings after it, and alarms are still compared."""
    the_plan = plan_for(
        serving_state(model_name="terraform-model-1"), model_name="terraform-model-2", image=image(2), alarms="p99"
    )
    assert the_plan.action == "update"
    assert [c.as_dict() for c in the_plan.changes] == [
        {"field": "image", "from": image(1), "to": image(2)},
        {"field": "model-name", "from": "terraform-model-1", "to": "terraform-model-2"},
        {"field": "alarms", "from": "", "to": "p99"},
        {"field": "bake-seconds", "from": "0", "to": "300"},
    ]


def test_settings_after_the_created_model_ones_are_compared_with_model_name() -> None:
    """With model-name the created model's settings are skipped, and the rollout settings listed after them are
    still compared."""
    the_plan = plan_for(
        serving_state(model_name="terraform-model-1", alarms=("old-alarm",), bake_seconds=300),
        model_name="terraform-model-2",
        alarms="new-alarm",
        bake_seconds="60",
    )
    assert the_plan.action == "update"
    assert [c.as_dict() for c in the_plan.changes] == [
        {"field": "model-name", "from": "terraform-model-1", "to": "terraform-model-2"},
        {"field": "alarms", "from": "old-alarm", "to": "new-alarm"},
        {"field": "bake-seconds", "from": "300", "to": "60"},
    ]


def test_without_an_image_change_model_name_comes_first() -> None:
    """model-name takes the image's place at the head of the list when the image is the same."""
    the_plan = plan_for(
        serving_state(model_name="terraform-model-1"), model_name="terraform-model-2", instance_type="ml.g5.xlarge"
    )
    assert [c.as_dict() for c in the_plan.changes] == [
        {"field": "model-name", "from": "terraform-model-1", "to": "terraform-model-2"},
        {"field": "instance-type", "from": "ml.g4dn.xlarge", "to": "ml.g5.xlarge"},
    ]


@pytest.mark.parametrize(
    ("field", "starts"),
    [("model-name", True), ("image", True), ("environment", True), ("alarms", False), ("step-size", False)],
)
def test_a_change_starts_a_rollout_by_its_field_name(field: str, starts: bool) -> None:
    """Whether a change starts a rollout follows from its field's name, whichever string carries it."""
    assert _starts_rollout(Change(described(field), "a", "b")) is starts


def test_environment_change_is_an_update_without_the_values() -> None:
    """A changed environment is an update; the change names the variables but never shows their values."""
    the_plan = plan_for(
        serving_state(model_environment={"API_KEY": "old-secret-value"}),
        environment="API_KEY=new-secret-value\nMODE=fast",
    )
    assert the_plan.action == "update"
    assert fields(the_plan) == ["environment"]
    shown = json.dumps([c.as_dict() for c in the_plan.changes])
    for secret in ("old-secret-value", "new-secret-value", "fast"):
        assert secret not in shown
    assert (the_plan.changes[0].before, the_plan.changes[0].after) == ("API_KEY", "API_KEY (new value), MODE")


def test_environment_values_are_never_shown_on_create() -> None:
    """The create plan lists environment variables by name only: even a hash of a short secret can be reversed."""
    the_plan = plan(None, created(environment="TOKEN=hunter2"))
    change = next(c for c in the_plan.changes if c.field == "environment")
    assert change.after == "TOKEN"


def test_alarms_added_on_an_endpoint_never_updated_are_listed() -> None:
    """An endpoint with no LastDeploymentConfig had no alarms and no bake: new ones show beside a real change."""
    the_plan = plan_for(serving_state(), image=image(2), alarms="p99", bake_seconds="300")
    assert fields(the_plan) == ["image", "alarms", "bake-seconds"]
    assert the_plan.changes[1].as_dict() == {"field": "alarms", "from": "", "to": "p99"}
    assert the_plan.changes[2].as_dict() == {"field": "bake-seconds", "from": "0", "to": "300"}


# --- image identity -------------------------------------------------------------------------------------


def test_same_digest_under_another_registry_name_is_unchanged() -> None:
    """The digest identifies the image: the same sha256 pushed to another repository is not a change."""
    mirror = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/whisper"
    assert plan_for(serving_state(image=image(1, mirror))).action == "unchanged"


def test_tag_image_in_serving_model_against_a_digest_is_an_update() -> None:
    """A serving model written with a tag cannot prove it runs the digest asked for: update."""
    the_plan = plan_for(serving_state(image=f"{REPO}:v1", deployed=False))
    assert the_plan.action == "update"
    assert [c.as_dict() for c in the_plan.changes] == [{"field": "image", "from": f"{REPO}:v1", "to": image(1)}]


@pytest.mark.parametrize(
    ("before", "after", "same"),
    [
        (image(1), image(1, "registry.example/mirror"), True),
        (image(1), image(2), False),
        (image(2), image(1), False),
        (f"{REPO}:v1", f"{REPO}:v1", True),
        (f"{REPO}:v1", f"{REPO}:v2", False),
        (f"{REPO}:v2", f"{REPO}:v1", False),
        (image(1), f"{REPO}:v1", False),
    ],
)
def test_images_are_the_same_by_digest_else_by_reference(before: str, after: str, same: bool) -> None:
    """Two digests decide alone; without both, the references as written are compared for equality."""
    serving, asked = ImageRef.serving(described(before)), ImageRef.serving(described(after))
    assert serving.same_image(asked) is same
    assert IMAGE.differs(serving, asked) is not same


def test_an_image_without_a_known_digest_is_compared_as_written() -> None:
    """A reference whose digest was not split out matches the identical reference, even against one that was."""
    text = f"{REPO}@sha256:abc"  # too short to be a digest check.image accepts: it keeps the text whole
    unsplit = ImageRef(given=text, repository=text, digest="")
    assert ImageRef.serving(described(text)).same_image(unsplit)
    assert unsplit.same_image(ImageRef.serving(described(text)))


def test_an_image_on_one_side_only_differs() -> None:
    """No image on one side and one on the other is a difference, in either direction."""
    assert IMAGE.differs(None, ImageRef.serving(image(1)))
    assert IMAGE.differs(ImageRef.serving(image(1)), None)
    assert not IMAGE.differs(None, None)


def test_scaled_to_zero_reads_the_image_from_the_model() -> None:
    """At zero instances DeployedImages is empty; the model's image stands for what serves."""
    current = serving_state(current_instance_count=0, image=image(1))
    assert not current.live_variant.get("DeployedImages")
    assert plan_for(current).action == "unchanged"
    assert fields(plan_for(current, image=image(2))) == ["image"]


# --- alarms and bake ------------------------------------------------------------------------------------


def test_alarms_and_bake_alone_do_not_start_a_rollout() -> None:
    """Different alarms or bake-seconds with everything else equal is unchanged: they only govern a rollout."""
    the_plan = plan_for(serving_state(alarms=("old-alarm",), bake_seconds=300), alarms="new-alarm", bake_seconds="60")
    assert the_plan.action == "unchanged"
    assert the_plan.changes == ()


def test_alarms_and_bake_are_listed_alongside_a_real_change() -> None:
    """When a rollout happens anyway, changed alarms and bake-seconds are shown with it."""
    the_plan = plan_for(
        serving_state(alarms=("old-alarm",), bake_seconds=300),
        image=image(2),
        alarms="new-alarm, p99",
        bake_seconds="60",
    )
    assert the_plan.action == "update"
    changes = {c.field: (c.before, c.after) for c in the_plan.changes}
    assert changes["alarms"] == ("old-alarm", "new-alarm, p99")
    assert changes["bake-seconds"] == ("300", "60")


# --- desired_from: inheritance and the role -------------------------------------------------------------


def test_empty_model_inputs_inherit_role_data_url_and_environment_from_the_serving_model() -> None:
    """Empty execution-role-arn / model-data-url / environment reuse what the serving model has."""
    current = serving_state(
        model_role=OTHER_ROLE, model_data_url="s3://bucket/model.tar.gz", model_environment={"A": "1"}
    )
    wanted = desired(current, image=image(2))
    assert wanted.model_content == {
        "ExecutionRoleArn": OTHER_ROLE,
        "PrimaryContainer": {"Image": image(2), "ModelDataUrl": "s3://bucket/model.tar.gz", "Environment": {"A": "1"}},
    }
    # Inherited settings are not changes: only the image differs.
    assert fields(plan(current, wanted)) == ["image"]


def test_given_model_inputs_win_over_the_serving_model() -> None:
    """Given execution-role-arn / model-data-url / environment replace what the serving model has."""
    current = serving_state(
        model_role=OTHER_ROLE, model_data_url="s3://bucket/old.tar.gz", model_environment={"A": "1"}
    )
    wanted = desired(current, execution_role_arn=ROLE, model_data_url="s3://bucket/new.tar.gz", environment="B=2")
    assert wanted.model_content == {
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {"Image": image(1), "ModelDataUrl": "s3://bucket/new.tar.gz", "Environment": {"B": "2"}},
    }


def test_first_deploy_without_role_is_a_plan_error_naming_execution_role_arn() -> None:
    """Creating the first model needs a role and there is no serving model to take it from."""
    with pytest.raises(PlanError, match=r"^execution-role-arn"):
        desired(None)


def test_first_deploy_with_existing_model_needs_no_role() -> None:
    """With model-name given the action creates no model, so no role is needed."""
    wanted = desired(None, model_name="terraform-model")
    assert wanted.model_content is None and wanted.model_name == "terraform-model"


def test_desired_takes_the_resolved_digest_reference() -> None:
    """The desired image is the config's digest reference, not the tag the user typed."""
    config: ActionConfig = action_config(image=f"{REPO}:v7", execution_role_arn=ROLE).with_image(
        ImageRef(given=f"{REPO}:v7", repository=REPO, digest=digest(7))
    )
    wanted = desired_from(config, None, SHAPES)
    assert wanted.image == image(7)
    assert wanted.model_content == {"ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": image(7)}}


# --- endpoints this action cannot manage ----------------------------------------------------------------


SERVING_MODEL = "whisper-bbbbbbbbbbbb"


@pytest.mark.parametrize(
    ("current", "inputs", "message"),
    [
        (
            {"variant_name": "Primary"},
            {},
            "variant-name: the endpoint's variant is 'Primary', not 'AllTraffic'; set variant-name: Primary "
            "(blue/green guardrails need the same variant name)",
        ),
        (
            {},
            {"variant_name": "Primary"},
            "variant-name: the endpoint's variant is 'AllTraffic', not 'Primary'; set variant-name: AllTraffic "
            "(blue/green guardrails need the same variant name)",
        ),
        (
            {"extra_variants": ("Shadow",)},
            {},
            "endpoint-name: the endpoint serves 2 production variants (AllTraffic, Shadow); "
            "this action manages single-variant endpoints",
        ),
        (
            {"has_async_config": False},
            {},
            "endpoint-name: the endpoint is a real-time endpoint (its config has no AsyncInferenceConfig); "
            "SageMaker cannot turn it into an asynchronous one by an update",
        ),
        (
            {"variant_extra": {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1}}},
            {},
            "endpoint-name: the endpoint is a serverless endpoint; asynchronous inference runs on instances: "
            "deploy to a new endpoint name",
        ),
        (
            {
                "variant_extra": {
                    "InstancePools": [
                        {"InstanceType": "ml.g5.xlarge", "Priority": 1},
                        {"InstanceType": "ml.g6.xlarge", "Priority": 2},
                    ]
                }
            },
            {},
            "endpoint-name: the endpoint's variant runs on instance pools (ml.g5.xlarge, ml.g6.xlarge); this action "
            "manages one instance-type per variant: change the pools where they were made (Terraform, the console) "
            "or deploy to a new endpoint name",
        ),
        (
            {"config_extra": {"ShadowProductionVariants": [{"VariantName": "s"}]}},
            {},
            "endpoint-name: the endpoint config has shadow variants (a shadow test); this action manages "
            "single-variant endpoints: end the shadow test first",
        ),
        (
            {"model_extra": {"PrimaryContainer": None, "Containers": [{"Image": "a"}, {"Image": "b"}]}},
            {},
            f"model-name: the serving model '{SERVING_MODEL}' is an inference pipeline of 2 containers; the action "
            "replaces the image of a single-container model. Build the pipeline model yourself and deploy it "
            "with model-name",
        ),
        (
            {"container_extra": json.loads('{"Mode": "MultiModel"}')},
            {},
            f"model-name: the serving model '{SERVING_MODEL}' is a multi-model endpoint's model (Mode: MultiModel); "
            "new models are added to its S3 prefix, not rolled out. Deploy a model of your own with model-name",
        ),
    ],
)
def test_what_cannot_be_carried_is_refused_with_the_way_out(
    current: dict[str, Any], inputs: dict[str, str], message: str
) -> None:
    """Endpoints an update cannot carry safely are refused by the planner, before anything is written."""
    with pytest.raises(PlanError) as refused:
        desired(serving_state(**current), **inputs)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    "current",
    [
        dataclasses.replace(serving_state(), config=None),
        serving_state(variant_name=described("AllTraffic")),
        serving_state(model_extra={"PrimaryContainer": None, "Containers": [{"Image": image(1)}]}),
        serving_state(model_extra={"PrimaryContainer": None}),
    ],
    ids=["config-gone", "same-variant-name", "one-of-containers", "no-container"],
)
def test_what_an_update_can_carry_is_not_refused(current: ServingState) -> None:
    """A gone config, the same variant name, or a model of at most one container leaves nothing to refuse."""
    assert refuse_unsupported(current, variant_name="AllTraffic", creates_model=True) is None


def test_settings_the_sdk_does_not_know_block_an_update_only() -> None:
    """An update would drop what botocore could not parse; with nothing to change, nothing is lost."""
    current = serving_state(unknown_members=("ProductionVariants[].FutureSetting",))
    assert plan_for(current).action == "unchanged"
    with pytest.raises(PlanError, match=r"^endpoint-name: .*FutureSetting.*newer release"):
        plan_for(current, image=image(2))


def test_an_update_refused_for_unknown_settings_names_the_first_five() -> None:
    """The refusal names the first five settings the SDK does not know, so the message stays short."""
    current = serving_state(unknown_members=tuple(f"ProductionVariants[].Future{n}" for n in range(1, 7)))
    with pytest.raises(PlanError) as refused:
        plan_for(current, image=image(2))
    shown = ", ".join(f"ProductionVariants[].Future{n}" for n in range(1, 6))
    assert str(refused.value) == (
        "endpoint-name: the serving endpoint holds settings the AWS SDK in this version of the action does not "
        f"know ({shown}); an update would drop them. Use a newer release of the action"
    )


def test_a_pipeline_model_is_no_obstacle_to_deploying_a_model_of_ones_own() -> None:
    """With model-name the serving model is not carried, so its shape does not matter."""
    current = serving_state(model_extra={"PrimaryContainer": None, "Containers": [{"Image": "a"}, {"Image": "b"}]})
    assert plan_for(current, model_name="terraform-model").action == "update"


# --- derived names --------------------------------------------------------------------------------------


def test_a_known_derived_name_is_pinned() -> None:
    """The name hash is part of the contract with earlier runs' resources: a change to it is deliberate."""
    wanted = created()
    assert (wanted.model_name, wanted.config_name) == ("whisper-4b7aac43332c", "whisper-c787edbe83cc")


@pytest.mark.parametrize("endpoint", ["a", "whisper", "x" * 50, "y" * 51, "z" * 63, "a-" * 31 + "b"])
def test_derived_names_fit_sagemaker_limits(endpoint: str) -> None:
    """Model and config names are at most 63 characters and match SageMaker's name pattern."""
    wanted = created(endpoint_name=endpoint)
    for name in (wanted.model_name, wanted.config_name):
        assert len(name) <= NAME_MAX
        assert MODEL_NAME_RE.match(name), name
        assert is_derived_name(endpoint, name)


def test_derived_names_are_stable_for_the_same_content() -> None:
    """Two runs asking for the same thing derive the same names, so a rerun reuses what exists."""
    assert created().model_name == created().model_name
    assert created().config_name == created().config_name
    # Alarms, bake and tags are not part of the model or config: they must not rename them.
    assert created(alarms="a", bake_seconds="60", tags="team=ml").config_name == created().config_name


@pytest.mark.parametrize(
    "change",
    [
        {"image": image(9)},
        {"execution_role_arn": OTHER_ROLE},
        {"model_data_url": "s3://bucket/m.tar.gz"},
        {"environment": "A=1"},
    ],
)
def test_model_name_differs_for_different_model_content(change: dict[str, str]) -> None:
    """Anything the created model holds changes its derived name (and so the config's)."""
    assert created(**change).model_name != created().model_name
    assert created(**change).config_name != created().config_name


@pytest.mark.parametrize(
    "change",
    [
        {"instance_type": "ml.g5.xlarge"},
        {"initial_instance_count": "2"},
        {"output_path": "s3://bucket/o2/"},
        {"failure_path": "s3://bucket/f/"},
        {"success_topic": TOPIC},
        {"error_topic": TOPIC},
        {"max_concurrent_invocations": "8"},
        {"variant_name": "Blue"},
        {"container_startup_timeout_seconds": "600"},
        {"model_download_timeout_seconds": "600"},
    ],
)
def test_config_name_differs_for_different_config_content(change: dict[str, str]) -> None:
    """Anything the endpoint config holds changes its derived name, but not the model's."""
    assert created(**change).config_name != created().config_name
    assert created(**change).model_name == created().model_name


def test_carried_settings_are_part_of_the_names() -> None:
    """A rerun never reuses a model or config whose carried settings differ from what serves now."""
    plain = desired(serving_state(), image=image(2))
    with_vpc = desired(
        serving_state(model_extra={"VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}}),
        image=image(2),
    )
    with_kms = desired(serving_state(config_extra={"KmsKeyId": "alias/inference"}), image=image(2))
    assert with_vpc.model_name != plain.model_name
    assert with_kms.config_name != plain.config_name and with_kms.model_name == plain.model_name


def test_long_endpoint_names_sharing_a_prefix_get_different_names() -> None:
    """Two endpoints whose names differ only after the truncation point never share derived names."""
    first = "inference-" * 5 + "model-first"
    second = "inference-" * 5 + "model-second"
    assert first[:50] == second[:50] and len(second) <= 63
    assert created(endpoint_name=first).model_name != created(endpoint_name=second).model_name
    assert created(endpoint_name=first).config_name != created(endpoint_name=second).config_name
    assert not is_derived_name(second, created(endpoint_name=first).config_name)


def test_derived_name_is_keyed_by_the_endpoint() -> None:
    """The same content for two endpoints gives two names: cleanup of one never touches the other's."""
    assert derived_name("whisper", {"a": 1}) != derived_name("whisper-2", {"a": 1})
    assert not is_derived_name("whisper", derived_name("whisper-2", {"a": 1}))


# --- instance count -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "retain"),
    [
        ({"image": image(2)}, True),
        ({"instance_type": "ml.g5.xlarge"}, True),
        ({"max_concurrent_invocations": "3"}, True),
        ({"initial_instance_count": "2"}, False),
        ({"initial_instance_count": "2", "image": image(2)}, False),
    ],
)
def test_live_instance_count_is_retained_unless_initial_instance_count_changes(
    inputs: dict[str, str], retain: bool
) -> None:
    """An update keeps the autoscaled instance count, except when initial-instance-count itself changes."""
    the_plan = plan_for(serving_state(current_instance_count=5), **inputs)
    assert the_plan.action == "update"
    assert the_plan.retain_instance_count is retain


def test_instance_type_changes_flag_follows_the_change_list() -> None:
    """instance_type_changes is true only when the instance type is among the changes."""
    assert plan_for(serving_state(), instance_type="ml.g5.xlarge").instance_type_changes
    assert not plan_for(serving_state(), image=image(3)).instance_type_changes


def test_plan_keeps_the_inputs_it_compared() -> None:
    """The plan carries what serves and what is desired, for the rollout and the report."""
    current = serving_state()
    wanted = desired(current, image=image(2))
    the_plan = plan(current, wanted)
    assert the_plan.current is current and the_plan.desired is wanted


# --- what an update keeps, for the reviewer --------------------------------------------------------------


def test_the_plan_lists_what_the_update_keeps_in_words() -> None:
    """A Terraform-made endpoint's VPC, keys, data capture and timeouts are listed as kept, not as changes."""
    current = serving_state(
        initial_instance_count=2,
        current_instance_count=2,
        max_concurrent_invocations=4,
        model_extra={
            "VpcConfig": {"Subnets": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-1"]},
            "EnableNetworkIsolation": True,
        },
        config_extra={
            "KmsKeyId": "alias/volume",
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": 20,
                "DestinationS3Uri": "s3://capture/whisper",
                "CaptureOptions": [{"CaptureMode": "Input"}],
            },
        },
        variant_extra={"ContainerStartupHealthCheckTimeoutInSeconds": 1800, "VolumeSizeInGB": 100},
        async_extra={"OutputConfig": {"S3OutputPath": "s3://bucket/out/", "KmsKeyId": "alias/output"}},
    )
    the_plan = plan_for(current, image=image(2))
    assert fields(the_plan) == ["image"]
    kept = {k.label: k.value for k in the_plan.kept}
    assert kept["VPC"] == "2 subnets (subnet-a, subnet-b), 1 security group"
    assert kept["Network isolation"] == "on"
    assert kept["Volume KMS key"] == "alias/volume"
    assert kept["Output KMS key"] == "alias/output"
    assert kept["Data capture"] == "20 % to s3://capture/whisper"
    assert kept["Container start-up health check timeout"] == "1800 s"
    assert kept["Volume size"] == "100 GB"
    assert kept["Instance count"] == "2"
    assert kept["Max concurrent invocations per instance"] == "4"
    assert kept["Execution role"] == ROLE
    # A create keeps nothing.
    assert plan(None, created()).kept == ()


def test_a_carried_member_without_a_description_is_listed_by_its_path() -> None:
    """Every carried setting shows, even one this version has no words for."""
    current = serving_state(
        variant_extra={"CapacityReservationConfig": {"CapacityReservationPreference": "capacity-reservations-only"}}
    )
    kept = {k.label: k.value for k in plan_for(current, image=image(2)).kept}
    assert kept["CapacityReservationConfig"] == '{"CapacityReservationPreference": "capacity-reservations-only"}'


# --- deployment strategies ------------------------------------------------------------------------------

ROLLING = {
    "RollingUpdatePolicy": {
        "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
        "WaitIntervalInSeconds": 300,
        "MaximumExecutionTimeoutInSeconds": 3600,
    },
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "p99"}]},
}


def test_a_strategy_alone_never_starts_a_rollout() -> None:
    """Like alarms and bake, the strategy governs how a rollout runs, not what serves."""
    assert plan_for(serving_state(current_instance_count=4), deployment_strategy="linear").action == "unchanged"


def test_a_strategy_change_is_listed_with_a_real_change() -> None:
    """An endpoint last updated all at once, now asked for a canary: both settings show beside the image."""
    the_plan = plan_for(
        serving_state(current_instance_count=4, alarms=("p99",), bake_seconds=300),
        image=image(2),
        alarms="p99",
        deployment_strategy="canary",
    )
    changes = {c.field: (c.before, c.after) for c in the_plan.changes}
    assert changes["deployment-strategy"] == ("all-at-once", "canary")
    assert changes["step-size"] == ("", "1")  # canary's default: one instance


def test_the_serving_strategy_is_read_from_either_policy() -> None:
    """A rolling LastDeploymentConfig is the rolling strategy with its batch: asking the same is no change."""
    current = serving_state(current_instance_count=4, deployment=ROLLING)
    the_plan = plan_for(
        current, image=image(2), alarms="p99", bake_seconds="300", deployment_strategy="rolling", step_size="25%"
    )
    assert fields(the_plan) == ["image"]
    back = plan_for(current, image=image(2), alarms="p99", bake_seconds="300")
    changes = {c.field: (c.before, c.after) for c in back.changes}
    assert changes["deployment-strategy"] == ("rolling", "all-at-once")
    assert changes["step-size"] == ("25%", "")


def test_the_deployment_config_follows_the_strategy() -> None:
    """The planned DeploymentConfig has the one policy the strategy names."""
    wanted = desired(serving_state(current_instance_count=4), image=image(2), deployment_strategy="rolling")
    assert set(wanted.deployment_config) == {"RollingUpdatePolicy"}
    assert wanted.deployment_config["RollingUpdatePolicy"]["MaximumBatchSize"] == {
        "Type": "CAPACITY_PERCENT",
        "Value": 25,
    }


@pytest.mark.parametrize(("strategy", "count"), [("canary", 1), ("linear", 1), ("canary", 0), ("rolling", 0)])
def test_a_fleet_that_cannot_be_split_shifts_all_at_once_with_a_warning(strategy: str, count: int) -> None:
    """One instance (canary, linear) or none: all at once needs no more capacity, and a warning says so."""
    wanted = desired(serving_state(current_instance_count=count), image=image(2), deployment_strategy=strategy)
    assert wanted.values["deployment-strategy"] == "all-at-once"
    assert wanted.value(STEP_SIZE) is None
    assert len(wanted.warnings) == 1 and "all at once" in wanted.warnings[0]


def test_rolling_on_one_instance_is_refused() -> None:
    """Rolling was chosen to avoid a second fleet; on one instance it cannot run, and all at once needs one."""
    with pytest.raises(PlanError, match=r"^deployment-strategy: rolling .* initial-instance-count: 2"):
        desired(serving_state(current_instance_count=1), image=image(2), deployment_strategy="rolling")


@pytest.mark.parametrize(
    ("strategy", "step", "count", "suggest"),
    [("canary", "3", 4, "step-size 1 to 2"), ("rolling", "3", 4, "step-size 1 to 2"), ("linear", "1", 20, "2 to 10")],
)
def test_an_instance_step_outside_the_limits_of_the_fleet_is_refused(
    strategy: str, step: str, count: int, suggest: str
) -> None:
    """Instances are judged against the count the update will have, with sizes that would fit."""
    with pytest.raises(PlanError, match=rf"^step-size: .*{suggest}"):
        desired(
            serving_state(current_instance_count=count), image=image(2), deployment_strategy=strategy, step_size=step
        )


@pytest.mark.parametrize(
    ("strategy", "step", "suggest"),
    [("canary", "3", "step-size 1 to 2"), ("linear", "3", "step-size 1 to 2"), ("rolling", "3", "step-size 1 to 2")],
)
def test_a_first_deploy_refuses_a_step_outside_the_limits_of_its_initial_count(
    strategy: str, step: str, suggest: str
) -> None:
    """On create the fleet is initial-instance-count: 3 of 4 is refused now, not at the first update."""
    with pytest.raises(PlanError, match=rf"^step-size: 3 instance\(s\) of 4 instances is 75%; .*{suggest}"):
        desired(None, deployment_strategy=strategy, step_size=step, initial_instance_count="4")


@pytest.mark.parametrize("strategy", ["canary", "linear", "rolling"])
def test_a_first_deploy_on_one_instance_stores_the_strategy_as_asked(strategy: str) -> None:
    """One instance cannot be split; the strategy is kept for later updates, fitted to the fleet they find."""
    wanted = desired(None, deployment_strategy=strategy, step_size="1", execution_role_arn=ROLE)
    assert wanted.values["deployment-strategy"] == strategy
    assert wanted.warnings == ()


def test_the_fleet_is_the_retained_count_or_the_new_initial_count() -> None:
    """Autoscaled to 4: a canary of 2 fits; a new initial count of 2 is what the update has, and 2 of 2 does not."""
    current = serving_state(current_instance_count=4)
    assert desired(current, image=image(2), deployment_strategy="canary", step_size="2").fleet == 4
    with pytest.raises(PlanError, match=r"^step-size: 2 instance\(s\) of 2 instances is 100%"):
        desired(current, initial_instance_count="2", deployment_strategy="canary", step_size="2")


@pytest.mark.parametrize(
    ("strategy", "says"),
    [
        ("linear", "the action will stop waiting before SageMaker finishes"),
        # Rolling carries the timeout to SageMaker (MaximumExecutionTimeoutInSeconds): there it means a rollback.
        ("rolling", "SageMaker stops the rolling update at that timeout and rolls it back"),
    ],
)
def test_bakes_longer_than_the_timeout_are_warned_about(strategy: str, says: str) -> None:
    """Four steps of 25% with a 20-minute bake outlast a 60-minute timeout; the warning says what happens then,
    the strategy read from the inputs as a new string."""
    wanted = desired(
        serving_state(current_instance_count=4),
        image=image(2),
        alarms="p99",
        bake_seconds="1200",
        deployment_strategy="".join(list(strategy)),
        step_size="1",
    )
    assert wanted.warnings == (
        "The update bakes 4 time(s) 1200 s (bake-seconds), longer than deployment-timeout-minutes (60): "
        f"{says}. Raise deployment-timeout-minutes or lower bake-seconds",
    )


def test_a_first_deploy_of_two_instances_is_checked_against_two() -> None:
    """A first deploy starting with two instances has its step checked against two: a canary of two is all of it."""
    with pytest.raises(PlanError, match=r"^step-size: 2 instance\(s\) of 2 instances is 100%"):
        created(initial_instance_count="2", deployment_strategy="canary", step_size="2")


def test_a_first_deploys_bakes_are_counted_on_its_one_instance() -> None:
    """A first deploy of one instance stores a linear step of one instance: one bake of 30 minutes fits 45."""
    assert (
        created(
            deployment_strategy="linear", step_size="1", bake_seconds="1800", deployment_timeout_minutes="45"
        ).warnings
        == ()
    )


def test_an_update_without_live_counts_is_fitted_to_the_configs_count() -> None:
    """Without DesiredInstanceCount the update's fleet is the config's InitialInstanceCount; without either, 0
    (nothing serves: all at once)."""
    current = serving_state(initial_instance_count=3, current_instance_count=3)
    counted = dataclasses.replace(
        current, endpoint={**current.endpoint, "ProductionVariants": [{"VariantName": "AllTraffic"}]}
    )
    assert desired(counted, image=image(2)).fleet == 3
    bare = serving_state(current_instance_count=3, variant_extra={})
    variant = {k: v for k, v in bare.config["ProductionVariants"][0].items() if k != "InitialInstanceCount"}  # type: ignore[index]
    uncounted = dataclasses.replace(
        bare,
        endpoint={**bare.endpoint, "ProductionVariants": [{"VariantName": "AllTraffic"}]},
        config={**bare.config, "ProductionVariants": [variant]},  # type: ignore[dict-item]
    )
    wanted = desired(uncounted, image=image(2), deployment_strategy="linear")
    assert (wanted.fleet, wanted.values["deployment-strategy"]) == (0, "all-at-once")


def test_a_timeout_in_fractions_of_a_minute_is_named_as_given() -> None:
    """deployment-timeout-minutes of 1.5 is named 1.5 in the warning, not rounded."""
    wanted = desired(
        serving_state(), image=image(2), alarms="p99", bake_seconds="120", deployment_timeout_minutes="1.5"
    )
    assert wanted.warnings == (
        "The update bakes 1 time(s) 120 s (bake-seconds), longer than deployment-timeout-minutes (1.5): the action "
        "will stop waiting before SageMaker finishes. Raise deployment-timeout-minutes or lower bake-seconds",
    )


def test_bakes_that_take_exactly_the_timeout_are_not_warned_about() -> None:
    """Four bakes of 15 minutes in a 60-minute timeout: they fit, no warning."""
    wanted = desired(
        serving_state(current_instance_count=4),
        image=image(2),
        alarms="p99",
        bake_seconds="900",
        deployment_strategy="linear",
        step_size="1",
    )
    assert wanted.warnings == ()


def test_bakes_that_fit_the_timeout_are_not_warned_about() -> None:
    """A canary's two bakes of 300 s fit a 15-minute timeout: no warning."""
    wanted = desired(
        serving_state(current_instance_count=4),
        image=image(2),
        alarms="p99",
        bake_seconds="300",
        deployment_strategy="canary",
        deployment_timeout_minutes="15",
    )
    assert wanted.warnings == ()


def test_only_an_instance_type_change_is_an_instance_type_change() -> None:
    """A plan that changes settings whose names sort after instance-type changes no instance type, and keeps the
    live instance count."""
    the_plan = plan_for(serving_state(), output_path="s3://bucket/elsewhere/", max_concurrent_invocations="2")
    assert [c.field for c in the_plan.changes] == ["output-path", "max-concurrent-invocations"]
    assert (the_plan.instance_type_changes, the_plan.retain_instance_count) == (False, True)
    typed = plan_for(serving_state(), instance_type="ml.g5.xlarge")
    assert (typed.instance_type_changes, typed.retain_instance_count) == (True, True)


def test_a_serving_model_that_is_gone_is_refused_even_with_a_role() -> None:
    """A model deleted behind the endpoint's back cannot be carried over: a role alone would make a bare model
    that lacks the serving one's artifact, environment and network settings."""
    with pytest.raises(PlanError) as refused:
        desired(serving_state(read_model=False), image=image(2), execution_role_arn=ROLE)
    assert str(refused.value) == (
        "model-name: the serving model 'whisper-bbbbbbbbbbbb' no longer exists (it was deleted while the endpoint "
        "uses it); the action makes the next model from the serving one's role, artifact, environment and network "
        "settings, and cannot read them. Create the model again under that name, or deploy a model of your own "
        "with model-name"
    )


# --- force-redeploy ---------------------------------------------------------------------------------------


def test_forced_redeploy_of_an_unchanged_endpoint_plans_an_update_under_a_new_config_name() -> None:
    """With nothing changed, force-redeploy plans an update whose one change says it was forced, and whose
    config name differs from the serving one although the content is the same."""
    current = serving_state()
    unforced = plan_for(current)
    the_plan = plan_for(current, force_redeploy="true")
    assert unforced.action == "unchanged"
    assert the_plan.action == "update"
    assert the_plan.forced
    assert [c.as_dict() for c in the_plan.changes] == [{"field": "force-redeploy", "from": "", "to": "true"}]
    assert the_plan.desired.config_content == unforced.desired.config_content
    assert the_plan.desired.config_name not in (unforced.desired.config_name, current.config_name)
    assert is_derived_name("whisper", the_plan.desired.config_name)
    assert the_plan.desired.model_name == unforced.desired.model_name  # the model is not made anew


def test_forced_redeploy_name_depends_on_the_config_it_replaces() -> None:
    """A rerun against the same serving config derives the same forced name; after it landed, the next forced
    redeploy derives another."""
    first = plan_for(serving_state(), force_redeploy="true").desired.config_name
    again = plan_for(serving_state(), force_redeploy="true").desired.config_name
    after = plan_for(serving_state(config_name=first), force_redeploy="true").desired.config_name
    assert first == again
    assert after not in (first, "whisper-aaaaaaaaaaaa")


def test_forced_redeploy_with_a_real_change_lists_only_that_change() -> None:
    """When a setting differs anyway, the update is planned for it and named by its content as usual."""
    the_plan = plan_for(serving_state(), force_redeploy="true", image=image(2))
    unforced = plan_for(serving_state(), image=image(2))
    assert fields(the_plan) == ["image"]
    assert not the_plan.forced
    assert the_plan.desired.config_name == unforced.desired.config_name


def test_forced_redeploy_on_a_missing_endpoint_is_a_plain_create() -> None:
    """A first deploy is a create whatever force-redeploy says; no forced entry is listed."""
    the_plan = plan(None, created(force_redeploy="true"))
    assert the_plan.action == "create"
    assert "force-redeploy" not in fields(the_plan)


def test_forced_change_starts_a_rollout() -> None:
    """The forced entry counts as a change that starts a rollout."""
    assert _starts_rollout(Change("force-redeploy", "", "true"))


# --- artifact identity ------------------------------------------------------------------------------------

ARTIFACT_URL = "s3://models/whisper/model.tar.gz"
OLD_ARTIFACT = "etag=" + "a1" * 16
NEW_ARTIFACT = "etag=" + "c3" * 16


def with_artifact(tag: str | None) -> ServingState:
    """A serving model made from ARTIFACT_URL, with its record of the artifact (None: none)."""
    return dataclasses.replace(serving_state(model_data_url=ARTIFACT_URL), artifact_tag=tag)


def artifact_plan(current: ServingState, artifact: str, **inputs: str) -> Plan:
    config = action_config(model_data_url=ARTIFACT_URL, **inputs)
    return plan(current, desired_from(config, current, SHAPES, artifact=Identity(artifact, ARTIFACT_URL)))


def test_the_same_artifact_is_no_change() -> None:
    """The artifact's identity equal to the serving model's record: unchanged, nothing noted."""
    the_plan = artifact_plan(with_artifact(OLD_ARTIFACT), OLD_ARTIFACT)
    assert the_plan.action == "unchanged"
    assert the_plan.notes == ()


def test_an_artifact_replaced_at_the_same_url_is_a_change_shown_as_such() -> None:
    """Another identity at the same URL is an update, shown with both ETags shortened."""
    the_plan = artifact_plan(with_artifact(OLD_ARTIFACT), NEW_ARTIFACT)
    assert the_plan.action == "update"
    assert [c.as_dict() for c in the_plan.changes] == [
        {
            "field": "model-data-url",
            "from": "model.tar.gz: ETag a1a1a1a1…",
            "to": "model.tar.gz replaced in S3: ETag c3c3c3c3…",
        }
    ]


def test_a_serving_model_without_a_record_is_compared_by_url_and_noted() -> None:
    """No record on the serving model: unchanged by URL, with one note saying so."""
    the_plan = artifact_plan(with_artifact(None), NEW_ARTIFACT)
    assert the_plan.action == "unchanged"
    assert len(the_plan.notes) == 1 and "compared by its URL only" in the_plan.notes[0]


def test_a_new_url_is_one_change_whatever_the_identity() -> None:
    """A different model-data-url is the URL's change alone, not a second one for the identity."""
    current = dataclasses.replace(serving_state(model_data_url="s3://models/old.tar.gz"), artifact_tag=OLD_ARTIFACT)
    the_plan = artifact_plan(current, NEW_ARTIFACT)
    assert [c.as_dict() for c in the_plan.changes] == [
        {"field": "model-data-url", "from": "s3://models/old.tar.gz", "to": ARTIFACT_URL}
    ]


def test_the_identity_is_tagged_on_the_created_model_and_names_it() -> None:
    """The created model carries the identity as a tag, and another identity gives another model name."""
    first = artifact_plan(with_artifact(OLD_ARTIFACT), NEW_ARTIFACT).desired
    other = artifact_plan(with_artifact(OLD_ARTIFACT), OLD_ARTIFACT).desired
    request = first.model_request
    assert request is not None
    assert {"Key": "sagemaker-async-deploy:artifact", "Value": NEW_ARTIFACT} in request["Tags"]
    assert first.model_name != other.model_name
    assert first.model_content == other.model_content


def test_a_kept_artifact_replaced_in_s3_is_a_change_too() -> None:
    """With model-data-url empty, the artifact the next model keeps from the serving one is compared the same way."""
    current = with_artifact(OLD_ARTIFACT)
    config = action_config()
    the_plan = plan(current, desired_from(config, current, SHAPES, artifact=Identity(NEW_ARTIFACT, ARTIFACT_URL)))
    assert [c.field for c in the_plan.changes] == ["model-data-url"]
    assert the_plan.changes[0].after == "model.tar.gz replaced in S3: ETag c3c3c3c3…"


# --- model packages ---------------------------------------------------------------------------------------

PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/whisper-models/3"


def package_config(arn: str = PACKAGE_ARN, runs: str = image(1)) -> ActionConfig:
    """The inputs with model-package, resolved as ``packages.resolve`` leaves them."""
    config = action_config(image="", model_package=arn)
    assert config.package is not None
    resolved = dataclasses.replace(config.package, approval="Approved")
    return config.with_package(resolved, ImageRef.serving(runs))


def package_serving(arn: str = PACKAGE_ARN, *, deployed: bool = True) -> ServingState:
    """An endpoint whose model was made from the package ``arn`` (its container names only the package)."""
    return serving_state(model_extra={"PrimaryContainer": {"ModelPackageName": arn}}, deployed=deployed)


def test_the_same_package_version_is_unchanged_even_scaled_to_zero() -> None:
    """A package model scaled to zero shows no image; the same version is still no change."""
    for deployed in (True, False):
        current = package_serving(deployed=deployed)
        assert plan(current, desired_from(package_config(), current, SHAPES)).action == "unchanged"


def test_another_package_version_is_a_change_and_its_model_names_only_the_package() -> None:
    """A new version is a change of model-package (and image), and the created model's container names the version,
    without an Image or artifact of its own."""
    newer = PACKAGE_ARN.replace("/3", "/4")
    current = package_serving()
    the_plan = plan(current, desired_from(package_config(newer, image(2)), current, SHAPES))
    assert fields(the_plan) == ["image", "model-package"]
    assert the_plan.desired.model_content is not None
    assert the_plan.desired.model_content["PrimaryContainer"] == {"ModelPackageName": newer}


@pytest.mark.parametrize(
    ("fleet", "step_size", "bakes"),
    [(2, "25%", 2), (3, "33%", 3), (4, "25%", 4), (10, "25%", 4), (5, "2", 3), (2, "50%", 2)],
)
def test_steps_are_counted_in_whole_instances_as_sagemaker_takes_them(fleet: int, step_size: str, bakes: int) -> None:
    """A percentage step rounds up to whole instances (25 % of 2 is 1 instance), so the bakes are counted per
    instance step: the timeout warning names the number SageMaker will bake."""
    wanted = desired(
        serving_state(current_instance_count=fleet),
        image=image(2),
        alarms="p99",
        bake_seconds="1200",
        deployment_timeout_minutes="10",
        deployment_strategy="linear",
        step_size=step_size,
    )
    assert any(f"bakes {bakes} time(s) 1200 s" in w for w in wanted.warnings), wanted.warnings


def test_a_quarter_of_two_instances_fits_a_timeout_that_four_bakes_would_not() -> None:
    """25 % of 2 instances bakes twice: 2 × 20 minutes within a 50-minute timeout is not warned about."""
    wanted = desired(
        serving_state(current_instance_count=2),
        image=image(2),
        alarms="p99",
        bake_seconds="1200",
        deployment_timeout_minutes="50",
        deployment_strategy="rolling",
        step_size="25%",
    )
    assert not any("bakes" in w for w in wanted.warnings), wanted.warnings


def test_an_inf1_update_asking_only_for_what_sagemaker_does_is_not_warned() -> None:
    """All at once without alarms on Inf1 is what SageMaker's fallback does anyway: no guardrail warning, and no
    bake is counted against the timeout."""
    wanted = desired(serving_state(current_instance_count=2), image=image(2), instance_type="ml.inf1.xlarge")
    assert wanted.no_guardrails == "ml.inf1.xlarge (an Inf1 instance)"
    assert wanted.bakes == 0
    assert wanted.warnings == ()


def test_an_inf1_rolling_update_names_only_what_was_asked_as_ignored() -> None:
    """Rolling on Inf1 with the default step: the strategy is named as ignored, not a step size nobody gave."""
    wanted = desired(
        serving_state(current_instance_count=2),
        image=image(2),
        instance_type="ml.inf1.xlarge",
        deployment_strategy="rolling",
    )
    assert [w for w in wanted.warnings if "deployment-strategy (rolling) is ignored" in w], wanted.warnings
    assert not [w for w in wanted.warnings if "step-size" in w], wanted.warnings


def test_the_same_package_on_another_instance_type_is_that_change_alone() -> None:
    """The same package version is no image change, and leaves every other setting compared: a new instance type
    is still the one change."""
    current = package_serving()
    config = action_config(image="", model_package=PACKAGE_ARN, instance_type="ml.g5.2xlarge")
    assert config.package is not None
    resolved = config.with_package(dataclasses.replace(config.package, approval="Approved"), ImageRef.serving(image(1)))
    assert fields(plan(current, desired_from(resolved, current, SHAPES))) == ["instance-type"]


def test_a_forced_redeploy_comes_first_before_the_watch_settings_it_carries() -> None:
    """Forced with only alarms and bake changed (which never start a rollout), the forced entry leads the list."""
    the_plan = plan_for(
        serving_state(alarms=("old-alarm",), bake_seconds=300), force_redeploy="true", alarms="p99", bake_seconds="60"
    )
    assert fields(the_plan) == ["force-redeploy", "alarms", "bake-seconds"]


def test_empty_alarms_on_an_update_leave_the_rollout_unwatched() -> None:
    """An empty alarms input means no alarms (not the serving ones): a rollout that happens lists them removed."""
    the_plan = plan_for(serving_state(alarms=("old-alarm",), bake_seconds=300), image=image(2), bake_seconds="300")
    assert [c.as_dict() for c in the_plan.changes if c.field == "alarms"] == [
        {"field": "alarms", "from": "old-alarm", "to": ""}
    ]


def test_a_smoke_test_that_cannot_fit_its_bake_is_warned_on_an_update_only() -> None:
    """A smoke test longer than the final bake is warned of on an update; a create has no bake to fit it in, and a
    smoke test that fits is not warned of."""
    inputs = {
        "image": image(2),
        "alarms": "p99",
        "bake_seconds": "60",
        "smoke_test_input": "s3://inference-bucket/smoke/request.json",
        "smoke_test_timeout_seconds": "600",
    }
    assert any("does not fit in the final bake" in w for w in desired(serving_state(), **inputs).warnings)
    assert not any("smoke-test" in w for w in desired(None, **inputs, execution_role_arn=ROLE).warnings)
    fits = desired(serving_state(), **{**inputs, "smoke_test_timeout_seconds": "10"})
    assert not any("smoke-test" in w for w in fits.warnings)
