"""What an endpoint serves, as read: ServingState's view of DescribeEndpoint, its config and its model on plain
values, and read_serving against the emulator in process (which calls it makes, which variant it picks)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from sagemaker_async_deploy._checks import ImageRef
from sagemaker_async_deploy.config import ARTIFACT_KEY
from sagemaker_async_deploy.fields import IMAGE, INSTANCE_COUNT, OUTPUT_PATH, STRATEGY, Part
from sagemaker_async_deploy.state import ServingState, read_serving
from sagemaker_emulator import Emulator

from .conftest import module_clients, started_emulator
from .factories import ROLE, image, serving_state


def fresh(value: Any) -> Any:
    """``value`` as a parsed answer carries it: new string objects, so that an identity test (``is``) where the
    code means equality shows."""
    return json.loads(json.dumps(value))


# The managed variant AllTraffic comes after one whose name sorts after it and one whose name sorts before it.
ENDPOINT: dict[str, Any] = fresh(
    {
        "EndpointName": "whisper",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/whisper",
        "EndpointConfigName": "whisper-config",
        "EndpointStatus": "Updating",
        "FailureReason": "the last update failed",
        "PendingDeploymentSummary": {"EndpointConfigName": "whisper-next"},
        "LastDeploymentConfig": {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY"}}},
        "ProductionVariants": [
            {"VariantName": "Zebra", "CurrentInstanceCount": 7, "DesiredInstanceCount": 7},
            {"VariantName": "Aardvark", "CurrentInstanceCount": 9, "DesiredInstanceCount": 9},
            {
                "VariantName": "AllTraffic",
                "CurrentInstanceCount": 2,
                "DesiredInstanceCount": 3,
                "DeployedImages": [{"SpecifiedImage": "repo:v1", "ResolvedImage": image(1)}],
            },
        ],
    }
)
CONFIG: dict[str, Any] = fresh(
    {
        "EndpointConfigName": "whisper-config",
        "ProductionVariants": [
            {"VariantName": "Aardvark", "ModelName": "other-model", "InstanceType": "ml.m5.large"},
            {"VariantName": "AllTraffic", "ModelName": "whisper-model", "InstanceType": "ml.g4dn.xlarge"},
        ],
        "AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://bucket/out/"}},
    }
)
MODEL: dict[str, Any] = {"ModelName": "whisper-model", "PrimaryContainer": {"Image": "repo:v1"}}


def state(endpoint: dict[str, Any] | None = None, config: Any = CONFIG, model: Any = MODEL) -> ServingState:
    return ServingState(endpoint=endpoint or ENDPOINT, config=config, model=model, variant_name="AllTraffic")


def test_the_endpoint_is_read_as_described() -> None:
    """Name, ARN, status, reason, serving and pending config, each as DescribeEndpoint gives it."""
    serving = state()
    assert (serving.endpoint_name, serving.endpoint_arn, serving.status) == (
        "whisper",
        ENDPOINT["EndpointArn"],
        "Updating",
    )
    assert (serving.failure_reason, serving.config_name, serving.pending_config_name) == (
        "the last update failed",
        "whisper-config",
        "whisper-next",
    )


def test_absent_members_read_as_empty() -> None:
    """An endpoint that names nothing reads "" everywhere, and a FailureReason of null as ""."""
    serving = state({"FailureReason": None}, config=None, model=None)
    assert (serving.endpoint_name, serving.endpoint_arn, serving.status, serving.failure_reason) == ("", "", "", "")
    assert (serving.config_name, serving.pending_config_name, serving.model_name, serving.image) == ("", "", "", "")
    assert (serving.current_instance_count, serving.desired_instance_count) == (None, None)
    assert (serving.variants, serving.variant_names, serving.variant, serving.live_variant) == ([], (), {}, {})
    assert serving.instance_type == ""
    assert not serving.has_async_config


def test_the_managed_variant_is_the_one_of_its_name() -> None:
    """The live variant, its counts and the config's variant are the ones named AllTraffic, not the first."""
    serving = state()
    assert serving.live_variant["VariantName"] == "AllTraffic"
    assert (serving.current_instance_count, serving.desired_instance_count) == (2, 3)
    assert serving.variant_names == ("Aardvark", "AllTraffic")
    assert (serving.model_name, serving.instance_type) == ("whisper-model", "ml.g4dn.xlarge")
    assert serving.variants == CONFIG["ProductionVariants"]


def test_zero_instances_is_a_count_not_an_absence() -> None:
    """An async endpoint scaled to zero has counts of 0 (not None), and names no deployed image."""
    live = {"VariantName": "AllTraffic", "CurrentInstanceCount": 0, "DesiredInstanceCount": 0}
    serving = state({**ENDPOINT, "ProductionVariants": [live]})
    assert (serving.current_instance_count, serving.desired_instance_count) == (0, 0)
    assert serving.image == "repo:v1"  # the model's, as the variant names none


@pytest.mark.parametrize(
    ("config", "expected"),
    [(CONFIG, True), ({"ProductionVariants": []}, False), (None, False)],
    ids=["async", "real-time", "config-gone"],
)
def test_an_async_config_is_one_with_async_inference_config(config: Any, expected: bool) -> None:
    """Only a config that exists and holds AsyncInferenceConfig is asynchronous."""
    assert state(config=config).has_async_config is expected


def test_the_image_is_what_the_variant_runs_else_what_the_model_names() -> None:
    """The deployed (resolved) image first; without one the model's container image; without a model, ""."""
    assert state().image == image(1)
    quiet = {**ENDPOINT, "ProductionVariants": [{"VariantName": "AllTraffic"}]}
    assert state(quiet).image == "repo:v1"
    assert state(quiet, model={"Containers": [{"Image": "repo:v2"}]}).image == "repo:v2"
    assert state(quiet, model=None).image == ""


def test_each_part_is_the_piece_of_the_descriptions_it_names() -> None:
    """The parts the field table reads: endpoint, model, its container, config, variant, async config, and the
    last deployment config."""
    serving = state()
    assert serving.part(Part.ENDPOINT) is ENDPOINT
    assert serving.part(Part.MODEL) is MODEL
    assert serving.part(Part.CONTAINER) == {"Image": "repo:v1"}
    assert serving.part(Part.CONFIG) is CONFIG
    assert serving.part(Part.VARIANT) == CONFIG["ProductionVariants"][1]
    assert serving.part(Part.ASYNC) == CONFIG["AsyncInferenceConfig"]
    assert serving.part(Part.DEPLOYMENT) == ENDPOINT["LastDeploymentConfig"]
    gone = state(config=None, model=None)
    assert (gone.part(Part.MODEL), gone.part(Part.CONTAINER), gone.part(Part.CONFIG)) == (None, None, None)
    assert (gone.part(Part.VARIANT), gone.part(Part.ASYNC)) == ({}, None)


def test_a_setting_is_read_through_its_field_and_the_image_through_what_runs() -> None:
    """value() reads each managed setting from its part; the image is the running one, decoded; none is None."""
    serving = state()
    assert serving.value(OUTPUT_PATH) == "s3://bucket/out/"
    assert serving.value(STRATEGY) == "canary"
    assert serving.value(INSTANCE_COUNT) is None
    assert serving.value(IMAGE) == ImageRef.serving(image(1))
    quiet = {**ENDPOINT, "ProductionVariants": [{"VariantName": "AllTraffic"}]}
    assert state(quiet, model=None).value(IMAGE) is None


def test_the_package_a_serving_model_is_made_from_is_named_by_its_arn() -> None:
    """A model made from a Model Registry version names it in its container; one made from an image names none."""
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/whisper-models/3"
    packaged = state(model={"ModelName": "whisper-model", "PrimaryContainer": {"ModelPackageName": arn}})
    assert (packaged.package_arn, state().package_arn) == (arn, "")


# --- read_serving against the emulator ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """An emulator holding three models and four configs: one variant named AllTraffic, one named Primary, two
    variants of which none is AllTraffic, and one AllTraffic whose model has an artifact."""
    with started_emulator(environ=True) as started:
        sm = module_clients().sagemaker
        for name, img in (("whisper-model", image(1)), ("other-model", image(2))):
            sm.create_model(ModelName=name, PrimaryContainer={"Image": img}, ExecutionRoleArn=ROLE)
        sm.create_model(
            ModelName="weights-model",
            PrimaryContainer={"Image": image(1), "ModelDataUrl": "s3://models/whisper/model.tar.gz"},
            ExecutionRoleArn=ROLE,
            Tags=[{"Key": ARTIFACT_KEY, "Value": "etag=abc"}],
        )
        for config, variants in (
            ("named", [("AllTraffic", "whisper-model")]),
            ("weights", [("AllTraffic", "weights-model")]),
            ("single", [("Primary", "whisper-model")]),
            ("pair", [("Blue", "whisper-model"), ("Green", "other-model")]),
        ):
            sm.create_endpoint_config(
                EndpointConfigName=config,
                ProductionVariants=[
                    {"VariantName": v, "ModelName": m, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
                    for v, m in variants
                ],
                AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://bucket/out/"}},
            )
        yield started


def read(
    emu: Emulator, config: str, *, deployed: bool, need_model: bool, need_artifact: bool = False
) -> tuple[ServingState, list[str]]:
    """read_serving of an endpoint serving ``config`` (running image 1 when ``deployed``), and the calls made."""
    live: dict[str, Any] = {"VariantName": "AllTraffic", "CurrentInstanceCount": 1 if deployed else 0}
    if deployed:
        live["DeployedImages"] = [{"SpecifiedImage": image(1), "ResolvedImage": image(1)}]
    endpoint = {"EndpointName": "whisper", "EndpointConfigName": config, "ProductionVariants": [live]}
    emu.clear_requests()
    serving = read_serving(
        module_clients().sagemaker, endpoint, "AllTraffic", need_model=need_model, need_artifact=need_artifact
    )
    return serving, [r.operation for r in emu.requests]


def test_the_model_is_read_only_when_needed(emu: Emulator) -> None:
    """The no-change path reads the config alone when the variant names its image; the model too when the
    planner needs it or no image is deployed (scaled to zero)."""
    serving, calls = read(emu, "named", deployed=True, need_model=False)
    assert (calls, serving.model) == (["DescribeEndpointConfig"], None)
    serving, calls = read(emu, "named", deployed=True, need_model=True)
    assert calls == ["DescribeEndpointConfig", "DescribeModel"]
    assert serving.model is not None and serving.model["ModelName"] == "whisper-model"
    serving, calls = read(emu, "named", deployed=False, need_model=False)
    assert calls == ["DescribeEndpointConfig", "DescribeModel"]
    assert serving.image == image(1)


def test_the_artifact_tag_is_read_only_when_asked_of_a_model_with_an_artifact(emu: Emulator) -> None:
    """The model's tags (what its artifact was when it was made) are read when the run creates a model from it and
    the model has an artifact; not on the no-change path, not unless asked, and not for a model without one."""
    serving, calls = read(emu, "weights", deployed=True, need_model=True, need_artifact=True)
    assert (calls, serving.artifact_tag) == (["DescribeEndpointConfig", "DescribeModel", "ListTags"], "etag=abc")
    serving, calls = read(emu, "weights", deployed=True, need_model=True)
    assert (calls, serving.artifact_tag) == (["DescribeEndpointConfig", "DescribeModel"], None)
    serving, calls = read(emu, "named", deployed=True, need_model=True, need_artifact=True)
    assert (calls, serving.artifact_tag) == (["DescribeEndpointConfig", "DescribeModel"], None)
    serving, calls = read(emu, "weights", deployed=True, need_model=False, need_artifact=True)
    assert (calls, serving.artifact_tag) == (["DescribeEndpointConfig"], None)
    emu.clear_requests()
    endpoint = {"EndpointName": "whisper", "EndpointConfigName": "weights", "ProductionVariants": []}
    unasked = read_serving(module_clients().sagemaker, endpoint, "AllTraffic", need_model=True)
    assert (emu.operations(), unasked.artifact_tag) == (["DescribeEndpointConfig", "DescribeModel"], None)


def test_a_single_variant_under_another_name_is_the_one_read(emu: Emulator) -> None:
    """One variant named otherwise is read under its own name (the planner then says which name it has); of
    several, none named as asked, the asked name stays and no variant is read."""
    serving, _ = read(emu, "single", deployed=True, need_model=True)
    assert (serving.variant_name, serving.model_name) == ("Primary", "whisper-model")
    serving, calls = read(emu, "pair", deployed=True, need_model=True)
    assert (serving.variant_name, serving.variant, serving.model) == ("AllTraffic", {}, None)
    assert calls == ["DescribeEndpointConfig"]


def test_an_endpoint_whose_config_is_gone_reads_no_config_and_no_model(emu: Emulator) -> None:
    """A config deleted behind the endpoint's back reads as None, and no model is looked for; an endpoint that
    names no config reads nothing at all."""
    serving, calls = read(emu, "deleted", deployed=False, need_model=True)
    assert (serving.config, serving.model, serving.config_name) == (None, None, "deleted")
    assert calls == ["DescribeEndpointConfig"]
    emu.clear_requests()
    nothing = read_serving(module_clients().sagemaker, {"EndpointName": "whisper"}, "AllTraffic", need_model=True)
    assert (nothing.config, nothing.model, [r.operation for r in emu.requests]) == (None, None, [])


def test_members_botocore_does_not_know_are_kept_from_config_and_model(emu: Emulator) -> None:
    """Unknown members of the config and of the model are both reported, config first."""
    emu.faults.extra_member("DescribeEndpointConfig", "FutureConfigMember", {"x": 1})
    emu.faults.extra_member("DescribeModel", "FutureModelMember", True)
    try:
        serving, _ = read(emu, "named", deployed=True, need_model=True)
    finally:
        emu.faults.clear()
    assert serving.unknown_members == ("FutureConfigMember", "FutureModelMember")


def test_the_factory_state_is_the_shape_read_serving_gives() -> None:
    """The plain-value endpoint the planner tests use reads like a real one: its image, counts and async config."""
    serving = serving_state(current_instance_count=2)
    assert (serving.image, serving.current_instance_count, serving.has_async_config) == (image(1), 2, True)
