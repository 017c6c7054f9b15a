"""The pure planner on plain values: no emulator, no fakes, one behaviour per test."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from sagemaker_async_deploy.config import MODEL_NAME_RE, NAME_MAX, ActionConfig, ImageRef
from sagemaker_async_deploy.context import GitHubContext
from sagemaker_async_deploy.planner import (
    DesiredConfig,
    Plan,
    PlanError,
    ServingState,
    derived_name,
    desired_from,
    is_derived_name,
    plan,
)

REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/whisper"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
OTHER_ROLE = "arn:aws:iam::123456789012:role/other"
TOPIC = "arn:aws:sns:us-east-1:123456789012:done"


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def image(n: int, repo: str = REPO) -> str:
    return f"{repo}@{digest(n)}"


def config(**overrides: Any) -> ActionConfig:
    """An ActionConfig as parse_config would build it from the usual inputs, with ``overrides`` applied."""
    values: dict[str, Any] = {
        "endpoint_name": "whisper",
        "image": ImageRef(given=image(2), repository=REPO, digest=digest(2)),
        "instance_type": "ml.g4dn.xlarge",
        "output_path": "s3://bucket/out/",
        "failure_path": "",
        "success_topic": "",
        "error_topic": "",
        "alarms": (),
        "bake_seconds": 0,
        "model_name": "",
        "execution_role_arn": "",
        "model_data_url": "",
        "environment": (),
        "initial_instance_count": 1,
        "max_concurrent_invocations": 1,
        "variant_name": "AllTraffic",
        "tags": (),
        "mode": "apply",
        "deployment_timeout_seconds": 3600.0,
        "delete_previous": True,
        "region": "us-east-1",
        "github_token": "",
        "comment": False,
        "poll_interval_seconds": 5.0,
        "github": GitHubContext.from_environ({}),
    }
    values.update(overrides)
    return ActionConfig(**values)


def serving(**overrides: Any) -> ServingState:
    """An InService async endpoint that serves exactly what ``desired()`` asks for, with ``overrides``."""
    values: dict[str, Any] = {
        "endpoint_name": "whisper",
        "endpoint_arn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/whisper",
        "status": "InService",
        "failure_reason": "",
        "config_name": "whisper-aaaaaaaaaaaa",
        "variant_names": ("AllTraffic",),
        "variant_name": "AllTraffic",
        "model_name": "whisper-bbbbbbbbbbbb",
        "image": image(1),
        "instance_type": "ml.g4dn.xlarge",
        "initial_instance_count": 1,
        "current_instance_count": 1,
        "has_async_config": True,
        "output_path": "s3://bucket/out/",
        "failure_path": "",
        "success_topic": "",
        "error_topic": "",
        "max_concurrent_invocations": 1,
        "model_role": ROLE,
        "model_data_url": "",
        "model_environment": (),
        "alarms": None,
        "bake_seconds": None,
    }
    values.update(overrides)
    return ServingState(**values)


def desired(**overrides: Any) -> DesiredConfig:
    """What the inputs ask for: by default exactly what ``serving()`` serves."""
    values: dict[str, Any] = {
        "endpoint_name": "whisper",
        "variant_name": "AllTraffic",
        "image": image(1),
        "instance_type": "ml.g4dn.xlarge",
        "initial_instance_count": 1,
        "output_path": "s3://bucket/out/",
        "failure_path": "",
        "success_topic": "",
        "error_topic": "",
        "max_concurrent_invocations": 1,
        "existing_model": "",
        "role": ROLE,
        "model_data_url": "",
        "environment": (),
        "alarms": (),
        "bake_seconds": 0,
        "tags": (),
    }
    values.update(overrides)
    return DesiredConfig(**values)


def fields(the_plan: Plan) -> list[str]:
    return [c.field for c in the_plan.changes]


# --- create / unchanged ---------------------------------------------------------------------------------


def test_no_endpoint_plans_a_create_listing_what_it_will_serve() -> None:
    """With nothing serving, the plan is create and lists the image and the other set fields as new."""
    the_plan = plan(None, desired())
    assert the_plan.action == "create"
    assert the_plan.current is None
    changes = {c.field: (c.before, c.after) for c in the_plan.changes}
    assert changes["image"] == ("", image(1))
    assert changes["instance-type"] == ("", "ml.g4dn.xlarge")
    assert changes["execution-role-arn"] == ("", ROLE)
    # Empty optional inputs are not shown as changes "∅ → ∅".
    assert "failure-path" not in changes and "success-topic" not in changes


def test_identical_endpoint_is_unchanged_with_no_changes() -> None:
    """What serves equals what is asked: unchanged, with an empty change list."""
    the_plan = plan(serving(), desired())
    assert the_plan.action == "unchanged"
    assert the_plan.changes == ()


# --- each field -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "current", "wanted", "before", "after"),
    [
        ("image", {"image": image(1)}, {"image": image(2)}, image(1), image(2)),
        (
            "instance-type",
            {"instance_type": "ml.g4dn.xlarge"},
            {"instance_type": "ml.g5.xlarge"},
            "ml.g4dn.xlarge",
            "ml.g5.xlarge",
        ),
        ("initial-instance-count", {"initial_instance_count": 1}, {"initial_instance_count": 3}, "1", "3"),
        (
            "output-path",
            {"output_path": "s3://bucket/out/"},
            {"output_path": "s3://bucket/new/"},
            "s3://bucket/out/",
            "s3://bucket/new/",
        ),
        ("failure-path", {"failure_path": ""}, {"failure_path": "s3://bucket/fail/"}, "", "s3://bucket/fail/"),
        ("success-topic", {"success_topic": TOPIC}, {"success_topic": ""}, TOPIC, ""),
        ("error-topic", {"error_topic": ""}, {"error_topic": TOPIC}, "", TOPIC),
        ("max-concurrent-invocations", {"max_concurrent_invocations": 1}, {"max_concurrent_invocations": 4}, "1", "4"),
        ("execution-role-arn", {"model_role": ROLE}, {"role": OTHER_ROLE}, ROLE, OTHER_ROLE),
        (
            "model-data-url",
            {"model_data_url": ""},
            {"model_data_url": "s3://bucket/model.tar.gz"},
            "",
            "s3://bucket/model.tar.gz",
        ),
    ],
)
def test_each_field_that_differs_is_one_update_change(
    field: str, current: dict[str, Any], wanted: dict[str, Any], before: str, after: str
) -> None:
    """A difference in exactly one field plans an update with exactly that change, from → to."""
    the_plan = plan(serving(**current), desired(**wanted))
    assert the_plan.action == "update"
    assert [c.as_dict() for c in the_plan.changes] == [{"field": field, "from": before, "to": after}]


def test_model_name_change_is_compared_when_model_name_is_given() -> None:
    """With model-name given, the serving model's name is compared with it (and the created-model fields are not)."""
    the_plan = plan(serving(model_name="terraform-model-1"), desired(existing_model="terraform-model-2", role=""))
    assert the_plan.action == "update"
    assert [c.as_dict() for c in the_plan.changes] == [
        {"field": "model-name", "from": "terraform-model-1", "to": "terraform-model-2"}
    ]


def test_same_model_name_given_is_unchanged() -> None:
    """model-name naming the model that serves, with the same image, is unchanged (role is not compared)."""
    the_plan = plan(serving(model_name="terraform-model"), desired(existing_model="terraform-model", role=""))
    assert the_plan.action == "unchanged"


def test_environment_change_is_an_update_without_the_values() -> None:
    """A changed environment is an update; the change names the variables but never shows their values."""
    the_plan = plan(
        serving(model_environment=(("API_KEY", "old-secret-value"),)),
        desired(environment=(("API_KEY", "new-secret-value"), ("MODE", "fast"))),
    )
    assert the_plan.action == "update"
    assert fields(the_plan) == ["environment"]
    shown = json.dumps([c.as_dict() for c in the_plan.changes])
    for secret in ("old-secret-value", "new-secret-value", "fast"):
        assert secret not in shown
    change = the_plan.changes[0]
    assert change.before == "API_KEY"
    assert change.after == "API_KEY (new value), MODE"


def test_environment_values_are_never_shown_on_create() -> None:
    """The create plan lists environment variables by name only: even a hash of a short secret can be reversed."""
    the_plan = plan(None, desired(environment=(("TOKEN", "hunter2"),)))
    change = next(c for c in the_plan.changes if c.field == "environment")
    assert change.after == "TOKEN"


def test_alarms_added_on_an_endpoint_never_updated_are_listed() -> None:
    """An endpoint with no LastDeploymentConfig had no alarms: new ones are shown beside a real change."""
    the_plan = plan(serving(alarms=None, bake_seconds=None), desired(image=image(2), alarms=("p99",), bake_seconds=300))
    assert fields(the_plan) == ["image", "alarms", "bake-seconds"]
    assert the_plan.changes[1].as_dict() == {"field": "alarms", "from": "", "to": "p99"}
    assert the_plan.changes[2].as_dict() == {"field": "bake-seconds", "from": "0", "to": "300"}


# --- image identity -------------------------------------------------------------------------------------


def test_same_digest_under_another_registry_name_is_unchanged() -> None:
    """The digest identifies the image: the same sha256 pushed to another repository is not a change."""
    the_plan = plan(
        serving(image=image(1, "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/whisper")),
        desired(image=image(1)),
    )
    assert the_plan.action == "unchanged"


def test_tag_image_in_serving_model_against_a_digest_is_an_update() -> None:
    """A serving model written with a tag cannot prove it runs the digest asked for: update."""
    the_plan = plan(serving(image=f"{REPO}:v1"), desired(image=image(1)))
    assert the_plan.action == "update"
    assert [c.as_dict() for c in the_plan.changes] == [{"field": "image", "from": f"{REPO}:v1", "to": image(1)}]


# --- alarms and bake ------------------------------------------------------------------------------------


def test_alarms_and_bake_alone_do_not_start_a_rollout() -> None:
    """Different alarms or bake-seconds with everything else equal is unchanged: they only govern a rollout."""
    the_plan = plan(serving(alarms=("old-alarm",), bake_seconds=300), desired(alarms=("new-alarm",), bake_seconds=60))
    assert the_plan.action == "unchanged"
    assert the_plan.changes == ()


def test_alarms_and_bake_are_listed_alongside_a_real_change() -> None:
    """When a rollout happens anyway, changed alarms and bake-seconds are shown with it."""
    the_plan = plan(
        serving(alarms=("old-alarm",), bake_seconds=300),
        desired(image=image(2), alarms=("new-alarm", "p99"), bake_seconds=60),
    )
    assert the_plan.action == "update"
    changes = {c.field: (c.before, c.after) for c in the_plan.changes}
    assert changes["alarms"] == ("old-alarm", "new-alarm, p99")
    assert changes["bake-seconds"] == ("300", "60")


# --- desired_from: inheritance and the role -------------------------------------------------------------


def test_empty_model_inputs_inherit_role_data_url_and_environment_from_the_serving_model() -> None:
    """Empty execution-role-arn / model-data-url / environment reuse what the serving model has."""
    current = serving(model_role=OTHER_ROLE, model_data_url="s3://bucket/model.tar.gz", model_environment=(("A", "1"),))
    wanted = desired_from(config(), current)
    assert (wanted.role, wanted.model_data_url, wanted.environment) == (
        OTHER_ROLE,
        "s3://bucket/model.tar.gz",
        (("A", "1"),),
    )
    # Inherited settings are not changes: only the image differs.
    assert fields(plan(current, wanted)) == ["image"]


def test_given_model_inputs_win_over_the_serving_model() -> None:
    """Given execution-role-arn / model-data-url / environment replace what the serving model has."""
    current = serving(model_role=OTHER_ROLE, model_data_url="s3://bucket/old.tar.gz", model_environment=(("A", "1"),))
    wanted = desired_from(
        config(execution_role_arn=ROLE, model_data_url="s3://bucket/new.tar.gz", environment=(("B", "2"),)), current
    )
    assert (wanted.role, wanted.model_data_url, wanted.environment) == (ROLE, "s3://bucket/new.tar.gz", (("B", "2"),))


def test_first_deploy_without_role_is_a_plan_error_naming_execution_role_arn() -> None:
    """Creating the first model needs a role and there is no serving model to take it from."""
    with pytest.raises(PlanError, match=r"^execution-role-arn"):
        desired_from(config(), None)


def test_first_deploy_with_existing_model_needs_no_role() -> None:
    """With model-name given the action creates no model, so no role is needed."""
    wanted = desired_from(config(model_name="terraform-model"), None)
    assert wanted.role == "" and wanted.model_name == "terraform-model"


def test_desired_takes_the_resolved_digest_reference() -> None:
    """The desired image is the config's digest reference, not the tag the user typed."""
    ref = ImageRef(given=f"{REPO}:v7", repository=REPO, digest=digest(7))
    wanted = desired_from(config(image=ref, execution_role_arn=ROLE), None)
    assert wanted.image == image(7)


# --- endpoints this action cannot manage ----------------------------------------------------------------


def test_variant_name_mismatch_is_a_plan_error_naming_variant_name() -> None:
    """The serving variant's name differs from variant-name: refuse, and say which name to use."""
    with pytest.raises(PlanError, match=r"^variant-name: .*set variant-name: Primary"):
        plan(serving(variant_name="Primary", variant_names=("Primary",)), desired())


def test_multi_variant_endpoint_is_a_plan_error_naming_endpoint_name() -> None:
    """An endpoint with two production variants is not one this action manages."""
    with pytest.raises(PlanError, match=r"^endpoint-name: .*2 production variants"):
        plan(serving(variant_names=("AllTraffic", "Shadow")), desired())


def test_real_time_endpoint_is_a_plan_error_naming_endpoint_name() -> None:
    """A real-time endpoint (no AsyncInferenceConfig) cannot be updated into an async one."""
    with pytest.raises(PlanError, match=r"^endpoint-name: .*real-time"):
        plan(serving(has_async_config=False), desired())


# --- derived names --------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["a", "whisper", "x" * 50, "y" * 51, "z" * 63, "a-" * 31 + "b"])
def test_derived_names_fit_sagemaker_limits(endpoint: str) -> None:
    """Model and config names are at most 63 characters and match SageMaker's name pattern."""
    wanted = desired(endpoint_name=endpoint)
    for name in (wanted.model_name, wanted.config_name):
        assert len(name) <= NAME_MAX
        assert MODEL_NAME_RE.match(name), name
        assert is_derived_name(endpoint, name)


def test_derived_names_are_stable_for_the_same_content() -> None:
    """Two runs asking for the same thing derive the same names, so a rerun reuses what exists."""
    assert desired().model_name == desired().model_name
    assert desired().config_name == desired().config_name
    # Alarms, bake and tags are not part of the model or config: they must not rename them.
    assert desired(alarms=("a",), bake_seconds=60, tags=(("team", "ml"),)).config_name == desired().config_name


@pytest.mark.parametrize(
    "change",
    [
        {"image": image(9)},
        {"role": OTHER_ROLE},
        {"model_data_url": "s3://bucket/m.tar.gz"},
        {"environment": (("A", "1"),)},
    ],
)
def test_model_name_differs_for_different_model_content(change: dict[str, Any]) -> None:
    """Anything the created model holds changes its derived name (and so the config's)."""
    assert desired(**change).model_name != desired().model_name
    assert desired(**change).config_name != desired().config_name


@pytest.mark.parametrize(
    "change",
    [
        {"instance_type": "ml.g5.xlarge"},
        {"initial_instance_count": 2},
        {"output_path": "s3://bucket/o2/"},
        {"failure_path": "s3://bucket/f/"},
        {"success_topic": TOPIC},
        {"error_topic": TOPIC},
        {"max_concurrent_invocations": 8},
        {"variant_name": "Blue"},
    ],
)
def test_config_name_differs_for_different_config_content(change: dict[str, Any]) -> None:
    """Anything the endpoint config holds changes its derived name, but not the model's."""
    assert desired(**change).config_name != desired().config_name
    assert desired(**change).model_name == desired().model_name


def test_long_endpoint_names_sharing_a_prefix_get_different_names() -> None:
    """Two endpoints whose names differ only after the truncation point never share derived names."""
    first = "inference-" * 6 + "first"
    second = "inference-" * 6 + "second"
    assert first[:50] == second[:50]
    assert desired(endpoint_name=first).model_name != desired(endpoint_name=second).model_name
    assert desired(endpoint_name=first).config_name != desired(endpoint_name=second).config_name
    assert not is_derived_name(second, desired(endpoint_name=first).config_name)


def test_derived_name_is_keyed_by_the_endpoint() -> None:
    """The same content for two endpoints gives two names: cleanup of one never touches the other's."""
    assert derived_name("whisper", {"a": 1}) != derived_name("whisper-2", {"a": 1})
    assert not is_derived_name("whisper", derived_name("whisper-2", {"a": 1}))


def test_existing_model_name_is_used_as_is() -> None:
    """With model-name given, the plan deploys that name instead of deriving one."""
    assert desired(existing_model="terraform-model").model_name == "terraform-model"


# --- instance count -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "retain"),
    [
        ({"image": image(2)}, True),
        ({"instance_type": "ml.g5.xlarge"}, True),
        ({"max_concurrent_invocations": 3}, True),
        ({"initial_instance_count": 2}, False),
        ({"initial_instance_count": 2, "image": image(2)}, False),
    ],
)
def test_live_instance_count_is_retained_unless_initial_instance_count_changes(
    wanted: dict[str, Any], retain: bool
) -> None:
    """An update keeps the autoscaled instance count, except when initial-instance-count itself changes."""
    the_plan = plan(serving(current_instance_count=5), desired(**wanted))
    assert the_plan.action == "update"
    assert the_plan.retain_instance_count is retain


def test_instance_type_changes_flag_follows_the_change_list() -> None:
    """instance_type_changes is true only when the instance type is among the changes."""
    assert plan(serving(), desired(instance_type="ml.g5.xlarge")).instance_type_changes
    assert not plan(serving(), desired(image=image(3))).instance_type_changes


def test_plan_keeps_the_inputs_it_compared() -> None:
    """The plan carries what serves and what is desired, for the rollout and the report."""
    current, wanted = serving(), desired(image=image(2))
    the_plan = plan(current, wanted)
    assert the_plan.current is current and the_plan.desired is wanted
    assert replace(wanted, image=image(1)) == desired()
