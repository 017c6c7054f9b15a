"""Cleanup against the emulator, in process: what each verdict deletes, what it must keep (what serves, what is not
ours, what belongs to another endpoint), refusals, a failed read, a cancel, by the exact log lines, the exact
requests and the exact resources left afterwards."""

from __future__ import annotations

import io
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from sagemaker_async_deploy import cancel
from sagemaker_async_deploy.builders import tags
from sagemaker_async_deploy.cleanup import Cleanup
from sagemaker_async_deploy.log import Log
from sagemaker_async_deploy.outcome import RolloutOutcome
from sagemaker_emulator import Emulator

from .conftest import ACCOUNT_ID, REGION, boto_client, started_emulator
from .factories import ROLE, image

ENDPOINT = "whisper"
# Names the action derives for "whisper" (<endpoint>-<12 hex>). EARLIER sorts before SERVING and LATER after it,
# so each comparison of a replaced name with the serving one is tried both ways.
SERVING, SERVING_MODEL = "whisper-bbbbbbbbbbbb", "whisper-bbbbbbbbbb00"
EARLIER, EARLIER_MODEL = "whisper-aaaaaaaaaaaa", "whisper-aaaaaaaaaa00"
LATER, LATER_MODEL = "whisper-cccccccccccc", "whisper-cccccccccc00"
LEFTOVER, LEFTOVER_MODEL = "whisper-dddddddddddd", "whisper-dddddddddd00"
# What someone else's update put on the endpoint after the verdict (derived and tagged: a concurrent run's).
OTHERS, OTHERS_MODEL = "whisper-eeeeeeeeeeee", "whisper-eeeeeeeeee00"
# Never ours to delete: a tagged name we do not derive, a derived name without our tag, another tool's tag, and
# another endpoint's config and model (derived for "whisper-canary", which NameContains "whisper" also lists).
HOTFIX = "whisper-hotfix"
UNTAGGED = "whisper-ffffffffffff"
TERRAFORM = "whisper-999999999999"
CANARY_ENDPOINT, CANARY = "whisper-canary", "whisper-canary-abcdefabcdef"
STRANGERS = [HOTFIX, UNTAGGED, TERRAFORM, CANARY]
CANCELLED = "(the job was cancelled before its cleanup)"


def denied(operation: str, kind: str, name: str) -> str:
    """The emulator's AccessDeniedException message (IAM's wording) for ``operation`` on one resource."""
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:{kind}/{name}"
    return (
        f"User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/deploy/github-actions is not authorized to perform: "
        f"sagemaker:{operation} on resource: {arn} because no identity-based policy allows the sagemaker:{operation} "
        "action"
    )


# --- the scene -------------------------------------------------------------------------------------------------


def make_model(sm: Any, name: str, tag: dict[str, str] | None = None) -> None:
    """A model; ``tag`` None gives it the action's own tag, {} none at all."""
    given = tags(()) if tag is None else [{"Key": k, "Value": v} for k, v in tag.items()]
    sm.create_model(
        ModelName=name,
        PrimaryContainer={"Image": image(1)},
        ExecutionRoleArn=ROLE,
        **({"Tags": given} if given else {}),
    )


def make_config(sm: Any, name: str, model: str, tag: dict[str, str] | None = None) -> None:
    """An endpoint config serving ``model``; ``tag`` as for make_model."""
    given = tags(()) if tag is None else [{"Key": k, "Value": v} for k, v in tag.items()]
    variant = {"VariantName": "AllTraffic", "ModelName": model, "InstanceType": "ml.g4dn.xlarge"}
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{**variant, "InitialInstanceCount": 1}],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://bucket/out/"}},
        **({"Tags": given} if given else {}),
    )


def make_pair(sm: Any, config: str, model: str, tag: dict[str, str] | None = None) -> None:
    make_model(sm, model, tag)
    make_config(sm, config, model, tag)


def serve(emu: Emulator, sm: Any, config: str, endpoint: str = ENDPOINT) -> None:
    """``endpoint`` InService on ``config``, without waiting out the create."""
    emu.faults.hold_next_create(endpoint)
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    assert emu.faults.step(endpoint)
    emu.faults.release(endpoint)


def strangers(emu: Emulator, sm: Any) -> None:
    """What the sweep must never delete although NameContains lists it (see STRANGERS)."""
    make_pair(sm, HOTFIX, HOTFIX)
    make_pair(sm, UNTAGGED, UNTAGGED, {})
    make_pair(sm, TERRAFORM, TERRAFORM, {"managed-by": "terraform"})
    make_pair(sm, CANARY, CANARY)
    serve(emu, sm, CANARY, CANARY_ENDPOINT)


def updated(emu: Emulator, sm: Any, previous: str, previous_model: str) -> None:
    """The endpoint after a verified update from ``previous``: SERVING serves, the replaced pair is still there."""
    make_pair(sm, previous, previous_model)
    make_pair(sm, SERVING, SERVING_MODEL)
    serve(emu, sm, SERVING)


@dataclass
class Run:
    """One Cleanup on a fresh outcome, its log captured, the emulator's request log cleared when it is made."""

    emu: Emulator
    sm: Any
    cleanup: Cleanup
    stream: io.StringIO

    @property
    def outcome(self) -> RolloutOutcome:
        return self.cleanup.outcome

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def calls(self) -> list[str]:
        """The requests since the run was made, as "Operation name" ("-> 400" when refused)."""
        found = []
        for r in self.emu.requests:
            named = [
                str(r.params[k])
                for k in ("EndpointName", "EndpointConfigName", "ModelName", "NameContains")
                if k in r.params
            ]
            if "ResourceArn" in r.params:
                named.append(str(r.params["ResourceArn"]).rsplit(":", 1)[1])
            found.append(" ".join([r.operation, *named]) + ("" if r.status == 200 else f" -> {r.status}"))
        return found

    def remaining(self) -> tuple[list[str], list[str]]:
        """(endpoint configs, models) in the emulator, sorted."""
        configs = self.sm.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]
        models = self.sm.list_models(MaxResults=100)["Models"]
        return sorted(c["EndpointConfigName"] for c in configs), sorted(m["ModelName"] for m in models)


def make_run(emu: Emulator, sm: Any, *, existing_model: bool = False, delete_previous: bool = True) -> Run:
    stream = io.StringIO()
    cleanup = Cleanup(
        sm,
        Log(stream),
        RolloutOutcome(result="updated"),
        endpoint_name=ENDPOINT,
        existing_model=existing_model,
        delete_previous=delete_previous,
    )
    emu.clear_requests()
    return Run(emu, sm, cleanup, stream)


def fresh(text: str) -> str:
    """``text`` as another object: names read from SageMaker are never the caller's own string objects."""
    return "".join(list(text))


def checked(kind: str, name: str) -> list[str]:
    """The two reads that tell whether a config ("endpoint-config") or a model ("model") carries our tag."""
    describe = "DescribeEndpointConfig" if kind == "endpoint-config" else "DescribeModel"
    return [f"{describe} {name}", f"ListTags {kind}/{name}"]


@pytest.fixture(scope="module")
def started() -> Iterator[Emulator]:
    """One emulator for the module: these tests run once per mutant, and a start and stop per test is most of
    their time. Each test gets it reset (resources, faults, the request log)."""
    with started_emulator() as emu:
        yield emu


@pytest.fixture
def emulator(started: Emulator) -> Emulator:
    started.reset()
    return started


@pytest.fixture(scope="module")
def sm(started: Emulator) -> Any:
    return boto_client(started, "sagemaker")


@pytest.fixture
def cancelling(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """The action's SIGINT/SIGTERM handlers installed for the test; calling the result signals this process."""
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(cancel._State, "signal_name", "")
    monkeypatch.setattr(cancel._State, "at", 0.0)
    cancel.install()
    try:
        yield lambda: signal.raise_signal(signal.SIGINT)
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


# --- after a verified success -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("previous", "previous_model"), [(EARLIER, EARLIER_MODEL), (LATER, LATER_MODEL)])
def test_after_success_deletes_the_replaced_pair_then_the_leftovers_and_keeps_the_rest(
    emulator: Emulator, sm: Any, previous: str, previous_model: str
) -> None:
    """After an update the endpoint is read again, the replaced config and model go, then this endpoint's tagged,
    derived, unused leftovers (newest first); what serves, what is not ours and another endpoint's resources stay."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    strangers(emulator, sm)
    updated(emulator, sm, previous, previous_model)
    run = make_run(emulator, sm)
    run.cleanup.after_success(previous, previous_model, SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == [
        f"endpoint config {previous}",
        f"model {previous_model}",
        f"endpoint config {LEFTOVER}",
        f"model {LEFTOVER_MODEL}",
    ]
    assert run.outcome.kept == []
    assert run.lines() == [
        f"Deleted endpoint config {previous}.",
        f"Deleted model {previous_model}.",
        f"Deleted endpoint config {LEFTOVER}.",
        f"Deleted model {LEFTOVER_MODEL}.",
    ]
    # Listed newest first: SERVING, then the strangers (CANARY is not ours by name, so it costs no read), LEFTOVER.
    assert run.calls() == [
        f"DescribeEndpoint {ENDPOINT}",
        f"DescribeEndpointConfig {SERVING}",
        f"DeleteEndpointConfig {previous}",
        *checked("model", previous_model),
        f"DeleteModel {previous_model}",
        f"ListEndpointConfigs {ENDPOINT}",
        *checked("endpoint-config", TERRAFORM),
        *checked("endpoint-config", UNTAGGED),
        *checked("endpoint-config", LEFTOVER),
        f"DeleteEndpointConfig {LEFTOVER}",
        f"ListModels {ENDPOINT}",
        *checked("model", TERRAFORM),
        *checked("model", UNTAGGED),
        *checked("model", LEFTOVER_MODEL),
        f"DeleteModel {LEFTOVER_MODEL}",
    ]
    assert run.remaining() == (sorted([SERVING, *STRANGERS]), sorted([SERVING_MODEL, *STRANGERS]))


def test_a_replaced_name_that_is_the_serving_one_is_never_deleted(emulator: Emulator, sm: Any) -> None:
    """A "replaced" config and model that are the serving ones (the same names) stay; only leftovers go."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    make_pair(sm, SERVING, SERVING_MODEL)
    serve(emulator, sm, SERVING)
    run = make_run(emulator, sm)
    run.cleanup.after_success(fresh(SERVING), fresh(SERVING_MODEL), SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == [f"endpoint config {LEFTOVER}", f"model {LEFTOVER_MODEL}"]
    assert run.outcome.kept == []
    assert run.calls() == [
        f"DescribeEndpoint {ENDPOINT}",
        f"DescribeEndpointConfig {SERVING}",
        f"ListEndpointConfigs {ENDPOINT}",
        *checked("endpoint-config", LEFTOVER),
        f"DeleteEndpointConfig {LEFTOVER}",
        f"ListModels {ENDPOINT}",
        *checked("model", LEFTOVER_MODEL),
        f"DeleteModel {LEFTOVER_MODEL}",
    ]
    assert run.remaining() == ([SERVING], [SERVING_MODEL])


def test_nothing_replaced_means_only_the_sweep(emulator: Emulator, sm: Any) -> None:
    """With no replaced config or model (empty names, as after adopting a create) nothing is asked of an empty
    name: the sweep alone runs."""
    make_pair(sm, SERVING, SERVING_MODEL)
    serve(emulator, sm, SERVING)
    run = make_run(emulator, sm)
    run.cleanup.after_success("", "", SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == []
    assert run.outcome.kept == []
    assert run.lines() == []
    assert run.calls() == [
        f"DescribeEndpoint {ENDPOINT}",
        f"DescribeEndpointConfig {SERVING}",
        f"ListEndpointConfigs {ENDPOINT}",
        f"ListModels {ENDPOINT}",
    ]
    assert run.remaining() == ([SERVING], [SERVING_MODEL])


def test_the_replaced_config_goes_whoever_made_it_but_a_model_only_with_our_tag(emulator: Emulator, sm: Any) -> None:
    """A replaced config made by hand (Terraform, a person) is deleted as documented; its untagged model is not,
    and neither is a model tagged by another tool."""
    make_pair(sm, "whisper-by-hand", "whisper-by-hand", {})
    make_pair(sm, EARLIER, TERRAFORM, {"managed-by": "terraform"})
    make_pair(sm, SERVING, SERVING_MODEL)
    serve(emulator, sm, SERVING)
    run = make_run(emulator, sm)
    run.cleanup.after_success("whisper-by-hand", "whisper-by-hand", SERVING, SERVING_MODEL)
    run.cleanup.after_success(EARLIER, TERRAFORM, SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == ["endpoint config whisper-by-hand", f"endpoint config {EARLIER}"]
    assert run.outcome.kept == []
    assert run.lines() == ["Deleted endpoint config whisper-by-hand.", f"Deleted endpoint config {EARLIER}."]
    assert run.remaining() == ([SERVING], sorted([SERVING_MODEL, TERRAFORM, "whisper-by-hand"]))


def test_what_is_gone_already_is_fine(emulator: Emulator, sm: Any) -> None:
    """A replaced config or model someone already deleted is no error: one attempt for the config, a read for
    the model, no warning, nothing reported as deleted or kept."""
    make_pair(sm, SERVING, SERVING_MODEL)
    serve(emulator, sm, SERVING)
    run = make_run(emulator, sm)
    run.cleanup.after_success(EARLIER, EARLIER_MODEL, SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == []
    assert run.outcome.kept == []
    assert run.lines() == []
    assert run.calls() == [
        f"DescribeEndpoint {ENDPOINT}",
        f"DescribeEndpointConfig {SERVING}",
        f"DeleteEndpointConfig {EARLIER} -> 400",
        f"DescribeModel {EARLIER_MODEL} -> 400",
        f"ListEndpointConfigs {ENDPOINT}",
        f"ListModels {ENDPOINT}",
    ]


def test_delete_previous_false_deletes_and_reads_nothing(emulator: Emulator, sm: Any) -> None:
    """delete-previous: false keeps the replaced pair and every leftover, asks SageMaker nothing, and says why."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    updated(emulator, sm, EARLIER, EARLIER_MODEL)
    run = make_run(emulator, sm, delete_previous=False)
    run.cleanup.after_success(EARLIER, EARLIER_MODEL, SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == []
    assert run.outcome.kept == [f"endpoint config {EARLIER} (delete-previous: false)"]
    assert run.lines() == []
    assert run.calls() == []
    assert run.remaining() == (
        sorted([EARLIER, SERVING, LEFTOVER]),
        sorted([EARLIER_MODEL, SERVING_MODEL, LEFTOVER_MODEL]),
    )


def test_with_model_name_given_the_sweep_leaves_every_model(emulator: Emulator, sm: Any) -> None:
    """With model-name given the sweep deletes leftover configs only, and lists no model; the replaced model
    still goes when it carries our tag (an earlier run made it)."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    updated(emulator, sm, EARLIER, EARLIER_MODEL)
    run = make_run(emulator, sm, existing_model=True)
    run.cleanup.after_success(EARLIER, EARLIER_MODEL, SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == [
        f"endpoint config {EARLIER}",
        f"model {EARLIER_MODEL}",
        f"endpoint config {LEFTOVER}",
    ]
    assert run.calls()[-3:] == [*checked("endpoint-config", LEFTOVER), f"DeleteEndpointConfig {LEFTOVER}"]
    assert run.remaining() == ([SERVING], sorted([SERVING_MODEL, LEFTOVER_MODEL]))


# --- the sweep reads the endpoint again -------------------------------------------------------------------------


def test_the_sweep_keeps_what_someone_else_put_on_the_endpoint_after_the_verdict(emulator: Emulator, sm: Any) -> None:
    """When another update landed after the verdict, both the verdict's serving pair and what serves now stay."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    make_pair(sm, OTHERS, OTHERS_MODEL)
    make_pair(sm, SERVING, SERVING_MODEL)
    serve(emulator, sm, OTHERS)
    run = make_run(emulator, sm)
    run.cleanup.after_success("", "", SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == [f"endpoint config {LEFTOVER}", f"model {LEFTOVER_MODEL}"]
    assert run.remaining() == (sorted([SERVING, OTHERS]), sorted([SERVING_MODEL, OTHERS_MODEL]))


def test_an_endpoint_gone_since_the_verdict_leaves_the_leftovers(emulator: Emulator, sm: Any) -> None:
    """An endpoint deleted since the verdict references nothing: the replaced pair goes, the leftovers wait for
    the next run, and the log says so."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    make_pair(sm, EARLIER, EARLIER_MODEL)
    make_pair(sm, SERVING, SERVING_MODEL)
    run = make_run(emulator, sm)
    run.cleanup.after_success(EARLIER, EARLIER_MODEL, SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == [f"endpoint config {EARLIER}", f"model {EARLIER_MODEL}"]
    assert run.outcome.kept == []
    assert run.lines() == [
        f"Deleted endpoint config {EARLIER}.",
        f"Deleted model {EARLIER_MODEL}.",
        "Leftovers of earlier runs not swept: the endpoint is gone; the next run sweeps.",
    ]
    assert run.calls() == [
        f"DescribeEndpoint {ENDPOINT} -> 400",
        f"DeleteEndpointConfig {EARLIER}",
        *checked("model", EARLIER_MODEL),
        f"DeleteModel {EARLIER_MODEL}",
    ]
    assert run.remaining() == (sorted([SERVING, LEFTOVER]), sorted([SERVING_MODEL, LEFTOVER_MODEL]))


@pytest.mark.parametrize(
    ("status", "arrange"),
    [
        ("Updating", lambda emu, sm: emu.faults.busy(ENDPOINT, 60, held=True)),
        (
            "Deleting",
            lambda emu, sm: (emu.faults.hold_next_delete(ENDPOINT), sm.delete_endpoint(EndpointName=ENDPOINT)),
        ),
    ],
)
def test_an_endpoint_not_settled_since_the_verdict_is_not_swept(
    emulator: Emulator, sm: Any, status: str, arrange: Callable[[Emulator, Any], object]
) -> None:
    """An endpoint in a transitional status since the verdict (with a pending deployment of its own config, or
    without one): the replaced pair, which it does not reference, goes; leftovers wait, and the log says why."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    updated(emulator, sm, EARLIER, EARLIER_MODEL)
    arrange(emulator, sm)
    run = make_run(emulator, sm)
    run.cleanup.after_success(EARLIER, EARLIER_MODEL, SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == [f"endpoint config {EARLIER}", f"model {EARLIER_MODEL}"]
    assert run.outcome.kept == []
    assert run.lines()[2:] == [f"Leftovers of earlier runs not swept: the endpoint is {status}; the next run sweeps."]
    assert run.calls()[:2] == [f"DescribeEndpoint {ENDPOINT}", f"DescribeEndpointConfig {SERVING}"]
    assert run.calls()[-1] == f"DeleteModel {EARLIER_MODEL}"
    assert run.remaining() == (sorted([SERVING, LEFTOVER]), sorted([SERVING_MODEL, LEFTOVER_MODEL]))


def test_an_endpoint_created_again_since_the_verdict_is_not_swept(emulator: Emulator, sm: Any) -> None:
    """An endpoint Creating since the verdict, with nothing replaced: nothing is deleted, and the log says why."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    make_pair(sm, SERVING, SERVING_MODEL)
    emulator.faults.hold_next_create(ENDPOINT)
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=SERVING)
    run = make_run(emulator, sm)
    run.cleanup.after_success("", "", SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == []
    assert run.outcome.kept == []
    assert run.lines() == ["Leftovers of earlier runs not swept: the endpoint is Creating; the next run sweeps."]
    assert run.calls() == [f"DescribeEndpoint {ENDPOINT}", f"DescribeEndpointConfig {SERVING}"]


def test_whatever_serves_now_is_kept_even_the_replaced_pair(emulator: Emulator, sm: Any) -> None:
    """When the replaced config serves again by the time of the cleanup (someone else's update back to it has
    finished), neither it nor its model is deleted."""
    updated(emulator, sm, EARLIER, EARLIER_MODEL)
    emulator.faults.hold_next_update(ENDPOINT)
    sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=EARLIER)
    while emulator.faults.step(ENDPOINT):  # through every phase of that update, now
        pass
    emulator.faults.release(ENDPOINT)
    assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"] == "InService"
    run = make_run(emulator, sm)
    run.cleanup.after_success(EARLIER, EARLIER_MODEL, SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == []
    assert run.outcome.kept == []
    assert run.lines() == []
    assert run.remaining() == (sorted([SERVING, EARLIER]), sorted([SERVING_MODEL, EARLIER_MODEL]))


def test_a_model_a_shadow_variant_of_the_serving_config_names_is_kept(emulator: Emulator, sm: Any) -> None:
    """Every model the serving config names is kept, a shadow variant's too, although it is ours and unused by
    the production variant."""
    make_model(sm, LEFTOVER_MODEL)
    make_model(sm, SERVING_MODEL)
    variant = {"ModelName": SERVING_MODEL, "InstanceType": "ml.g4dn.xlarge", "InitialInstanceCount": 1}
    sm.create_endpoint_config(
        EndpointConfigName=SERVING,
        ProductionVariants=[{**variant, "VariantName": "AllTraffic"}],
        ShadowProductionVariants=[{**variant, "VariantName": "Shadow", "ModelName": LEFTOVER_MODEL}],
        Tags=tags(()),
    )
    serve(emulator, sm, SERVING)
    run = make_run(emulator, sm)
    run.cleanup.after_success("", "", SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == []
    assert run.remaining() == ([SERVING], sorted([SERVING_MODEL, LEFTOVER_MODEL]))


# --- after a rollback -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("new", "new_model"), [(EARLIER, EARLIER_MODEL), (LATER, LATER_MODEL)])
def test_after_a_rollback_the_new_pair_goes_and_the_serving_one_is_kept(
    emulator: Emulator, sm: Any, new: str, new_model: str
) -> None:
    """After a rollback the new config and (tagged) model, which never served, are deleted; the old config is
    reported kept as serving, and nothing is swept."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    make_pair(sm, new, new_model)
    make_pair(sm, SERVING, SERVING_MODEL)
    serve(emulator, sm, SERVING)
    run = make_run(emulator, sm)
    run.cleanup.after_rollback(SERVING, SERVING_MODEL, new, new_model)
    assert run.outcome.cleaned_up == [f"endpoint config {new}", f"model {new_model}"]
    assert run.outcome.kept == [f"endpoint config {SERVING} (serving)"]
    assert run.lines() == [f"Deleted endpoint config {new}.", f"Deleted model {new_model}."]
    assert run.calls() == [f"DeleteEndpointConfig {new}", *checked("model", new_model), f"DeleteModel {new_model}"]
    assert run.remaining() == (sorted([SERVING, LEFTOVER]), sorted([SERVING_MODEL, LEFTOVER_MODEL]))


def test_after_a_rollback_to_the_same_names_nothing_is_deleted(emulator: Emulator, sm: Any) -> None:
    """A "new" config and model that are the serving ones (the same names) are not deleted after a rollback."""
    make_pair(sm, SERVING, SERVING_MODEL)
    serve(emulator, sm, SERVING)
    run = make_run(emulator, sm)
    run.cleanup.after_rollback(SERVING, SERVING_MODEL, fresh(SERVING), fresh(SERVING_MODEL))
    assert run.outcome.cleaned_up == []
    assert run.outcome.kept == [f"endpoint config {SERVING} (serving)"]
    assert run.calls() == []
    assert run.remaining() == ([SERVING], [SERVING_MODEL])


@pytest.mark.parametrize(
    ("existing_model", "tag", "reads"),
    [
        (False, {}, checked("model", UNTAGGED)),
        (False, {"managed-by": "terraform"}, checked("model", UNTAGGED)),
        (True, None, []),
    ],
    ids=["untagged", "another tool's tag", "model-name given"],
)
def test_after_a_rollback_a_model_not_ours_stays(
    emulator: Emulator, sm: Any, existing_model: bool, tag: dict[str, str] | None, reads: list[str]
) -> None:
    """After a rollback a new model without our tag, or the one model-name names (even tagged), is kept; with
    model-name given its tag is not even read."""
    make_model(sm, UNTAGGED, tag)
    make_config(sm, EARLIER, UNTAGGED)
    make_pair(sm, SERVING, SERVING_MODEL)
    run = make_run(emulator, sm, existing_model=existing_model)
    run.cleanup.after_rollback(SERVING, SERVING_MODEL, EARLIER, UNTAGGED)
    assert run.outcome.cleaned_up == [f"endpoint config {EARLIER}"]
    assert run.outcome.kept == [f"endpoint config {SERVING} (serving)"]
    assert run.calls() == [f"DeleteEndpointConfig {EARLIER}", *reads]
    assert run.remaining() == ([SERVING], sorted([SERVING_MODEL, UNTAGGED]))


def test_after_a_rollback_a_new_model_already_gone_is_fine(emulator: Emulator, sm: Any) -> None:
    """A new model that no longer exists is not an error after a rollback: no warning, the serving config kept."""
    make_pair(sm, SERVING, SERVING_MODEL)
    run = make_run(emulator, sm)
    run.cleanup.after_rollback(SERVING, SERVING_MODEL, EARLIER, EARLIER_MODEL)
    assert run.outcome.cleaned_up == []
    assert run.outcome.kept == [f"endpoint config {SERVING} (serving)"]
    assert run.lines() == []
    assert run.calls() == [f"DeleteEndpointConfig {EARLIER} -> 400", f"DescribeModel {EARLIER_MODEL} -> 400"]


# --- after SageMaker refused the create or update ---------------------------------------------------------------


def test_what_was_created_for_a_refused_update_is_removed(emulator: Emulator, sm: Any) -> None:
    """The config and model this run created for a refused update are deleted (without a tag check: this run
    made them) and returned, in the order given."""
    make_pair(sm, EARLIER, EARLIER_MODEL, {})
    make_pair(sm, SERVING, SERVING_MODEL)
    run = make_run(emulator, sm)
    removed = run.cleanup.created_for_refused([f"model {EARLIER_MODEL}", f"endpoint config {EARLIER}"], False)
    assert removed == [f"model {EARLIER_MODEL}", f"endpoint config {EARLIER}"]
    assert run.outcome.cleaned_up == removed
    assert run.outcome.kept == []
    assert run.lines() == [f"Deleted model {EARLIER_MODEL}.", f"Deleted endpoint config {EARLIER}."]
    assert run.calls() == [f"DeleteModel {EARLIER_MODEL}", f"DeleteEndpointConfig {EARLIER}"]
    assert run.remaining() == ([SERVING], [SERVING_MODEL])


def test_a_refused_update_with_model_name_given_keeps_the_model(emulator: Emulator, sm: Any) -> None:
    """With model-name given no model is deleted for a refused update, and none is reported removed."""
    make_pair(sm, EARLIER, EARLIER_MODEL)
    run = make_run(emulator, sm, existing_model=True)
    removed = run.cleanup.created_for_refused([f"endpoint config {EARLIER}", f"model {EARLIER_MODEL}"], True)
    assert removed == [f"endpoint config {EARLIER}"]
    assert run.outcome.cleaned_up == [f"endpoint config {EARLIER}"]
    assert run.calls() == [f"DeleteEndpointConfig {EARLIER}"]
    assert run.remaining() == ([], [EARLIER_MODEL])


def test_a_refused_deletion_for_a_refused_update_is_not_reported_removed(emulator: Emulator, sm: Any) -> None:
    """A config SageMaker refuses to delete after a refused update is warned about, kept and not among what is
    reported removed; the model still goes."""
    make_pair(sm, EARLIER, EARLIER_MODEL)
    emulator.faults.deny("DeleteEndpointConfig")
    run = make_run(emulator, sm)
    removed = run.cleanup.created_for_refused([f"model {EARLIER_MODEL}", f"endpoint config {EARLIER}"], False)
    assert removed == [f"model {EARLIER_MODEL}"]
    assert run.outcome.cleaned_up == [f"model {EARLIER_MODEL}"]
    assert run.outcome.kept == [f"endpoint config {EARLIER}"]
    assert run.lines() == [
        f"Deleted model {EARLIER_MODEL}.",
        f"::warning::Could not delete endpoint config {EARLIER}: "
        f"{denied('DeleteEndpointConfig', 'endpoint-config', EARLIER)}. It serves nothing; the next deploy removes "
        f"it if it may, or delete it yourself: aws sagemaker delete-endpoint-config --endpoint-config-name {EARLIER}",
    ]
    assert run.remaining() == ([EARLIER], [])


def test_what_a_refused_update_created_and_someone_deleted_counts_as_removed(emulator: Emulator, sm: Any) -> None:
    """A created config or model that is gone already when the refusal is handled is removed all the same."""
    run = make_run(emulator, sm)
    removed = run.cleanup.created_for_refused([f"endpoint config {EARLIER}", f"model {EARLIER_MODEL}"], False)
    assert removed == [f"endpoint config {EARLIER}", f"model {EARLIER_MODEL}"]
    assert run.outcome.cleaned_up == []
    assert run.outcome.kept == []
    assert run.lines() == []


def test_an_item_neither_a_config_nor_a_model_is_left_alone_for_a_refused_update(emulator: Emulator, sm: Any) -> None:
    """Only an item whose kind is exactly "endpoint config" or "model" is deleted for a refused update: any other
    kind (sorting before, between or after those two) deletes nothing and is not reported removed."""
    make_pair(sm, EARLIER, EARLIER_MODEL)
    run = make_run(emulator, sm)
    created = [f"endpoint {EARLIER}", f"image {EARLIER_MODEL}", f"model package {EARLIER_MODEL}"]
    removed = run.cleanup.created_for_refused(created, False)
    assert removed == []
    assert run.outcome.cleaned_up == []
    assert run.outcome.kept == []
    assert run.lines() == []
    assert run.calls() == []
    assert run.remaining() == ([EARLIER], [EARLIER_MODEL])


# --- refusals and failed reads ----------------------------------------------------------------------------------


def test_a_refused_config_deletion_is_asked_once_and_warned_once(emulator: Emulator, sm: Any) -> None:
    """A role without sagemaker:DeleteEndpointConfig: each config is asked for once (the sweep does not ask again
    for the replaced one), each refusal is one warning with the command to run, the models still go."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    updated(emulator, sm, EARLIER, EARLIER_MODEL)
    emulator.faults.deny("DeleteEndpointConfig")
    run = make_run(emulator, sm)
    run.cleanup.after_success(EARLIER, EARLIER_MODEL, SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == [f"model {EARLIER_MODEL}", f"model {LEFTOVER_MODEL}"]
    assert run.outcome.kept == [f"endpoint config {EARLIER}", f"endpoint config {LEFTOVER}"]
    assert run.cleanup.refused == {f"endpoint config {EARLIER}", f"endpoint config {LEFTOVER}"}
    assert run.lines() == [
        f"::warning::Could not delete endpoint config {EARLIER}: "
        f"{denied('DeleteEndpointConfig', 'endpoint-config', EARLIER)}. It serves nothing; the next deploy removes "
        f"it if it may, or delete it yourself: aws sagemaker delete-endpoint-config --endpoint-config-name {EARLIER}",
        f"Deleted model {EARLIER_MODEL}.",
        f"::warning::Could not delete endpoint config {LEFTOVER}: "
        f"{denied('DeleteEndpointConfig', 'endpoint-config', LEFTOVER)}. It serves nothing; the next deploy removes "
        f"it if it may, or delete it yourself: aws sagemaker delete-endpoint-config --endpoint-config-name {LEFTOVER}",
        f"Deleted model {LEFTOVER_MODEL}.",
    ]
    assert [c for c in run.calls() if c.startswith("Delete")] == [
        f"DeleteEndpointConfig {EARLIER} -> 400",
        f"DeleteModel {EARLIER_MODEL}",
        f"DeleteEndpointConfig {LEFTOVER} -> 400",
        f"DeleteModel {LEFTOVER_MODEL}",
    ]
    assert run.remaining() == (sorted([SERVING, EARLIER, LEFTOVER]), [SERVING_MODEL])


def test_a_refused_model_deletion_is_asked_once_and_warned_once(emulator: Emulator, sm: Any) -> None:
    """A role without sagemaker:DeleteModel: the configs go, each model is asked for once and warned about once."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    updated(emulator, sm, EARLIER, EARLIER_MODEL)
    emulator.faults.deny("DeleteModel")
    run = make_run(emulator, sm)
    run.cleanup.after_success(EARLIER, EARLIER_MODEL, SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == [f"endpoint config {EARLIER}", f"endpoint config {LEFTOVER}"]
    assert run.outcome.kept == [f"model {EARLIER_MODEL}", f"model {LEFTOVER_MODEL}"]
    assert run.lines() == [
        f"Deleted endpoint config {EARLIER}.",
        f"::warning::Could not delete model {EARLIER_MODEL}: {denied('DeleteModel', 'model', EARLIER_MODEL)}. It "
        "serves nothing; the next deploy removes it if it may, or delete it yourself: aws sagemaker delete-model "
        f"--model-name {EARLIER_MODEL}",
        f"Deleted endpoint config {LEFTOVER}.",
        f"::warning::Could not delete model {LEFTOVER_MODEL}: {denied('DeleteModel', 'model', LEFTOVER_MODEL)}. It "
        "serves nothing; the next deploy removes it if it may, or delete it yourself: aws sagemaker delete-model "
        f"--model-name {LEFTOVER_MODEL}",
    ]
    assert [c for c in run.calls() if c.startswith("Delete")] == [
        f"DeleteEndpointConfig {EARLIER}",
        f"DeleteModel {EARLIER_MODEL} -> 400",
        f"DeleteEndpointConfig {LEFTOVER}",
        f"DeleteModel {LEFTOVER_MODEL} -> 400",
    ]
    assert run.remaining() == ([SERVING], sorted([SERVING_MODEL, EARLIER_MODEL, LEFTOVER_MODEL]))


def test_a_failed_read_stops_the_cleanup_with_one_warning(emulator: Emulator, sm: Any) -> None:
    """A read SageMaker refuses (ListEndpointConfigs, for the sweep) stops the cleanup: what was deleted stays
    deleted, the leftovers stay, one warning says so, and the report lists a leftover."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    updated(emulator, sm, EARLIER, EARLIER_MODEL)
    emulator.faults.deny("ListEndpointConfigs")
    run = make_run(emulator, sm)
    run.cleanup.after_success(EARLIER, EARLIER_MODEL, SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == [f"endpoint config {EARLIER}", f"model {EARLIER_MODEL}"]
    assert run.outcome.kept == ["left over after a failed cleanup: see the warning"]
    refusal = denied("ListEndpointConfigs", "endpoint-config", "x").replace(
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:endpoint-config/x", "*"
    )
    assert run.lines() == [
        f"Deleted endpoint config {EARLIER}.",
        f"Deleted model {EARLIER_MODEL}.",
        f"::warning::Cleanup stopped: AccessDeniedException: {refusal}. "
        "Nothing that serves was touched; the next deploy removes what is left over.",
    ]
    assert run.calls()[-1] == f"ListEndpointConfigs {ENDPOINT} -> 400"
    emulator.faults.clear()
    assert run.remaining() == (sorted([SERVING, LEFTOVER]), sorted([SERVING_MODEL, LEFTOVER_MODEL]))


def test_a_refused_read_of_the_endpoint_deletes_nothing(emulator: Emulator, sm: Any) -> None:
    """A refused DescribeEndpoint, the read before the first deletion, stops the cleanup before it deletes
    anything, with one warning."""
    updated(emulator, sm, EARLIER, EARLIER_MODEL)
    emulator.faults.deny("DescribeEndpoint")
    run = make_run(emulator, sm)
    run.cleanup.after_success(EARLIER, EARLIER_MODEL, SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == []
    assert run.outcome.kept == ["left over after a failed cleanup: see the warning"]
    assert run.lines() == [
        f"::warning::Cleanup stopped: AccessDeniedException: {denied('DescribeEndpoint', 'endpoint', ENDPOINT)}. "
        "Nothing that serves was touched; the next deploy removes what is left over."
    ]
    assert run.calls() == [f"DescribeEndpoint {ENDPOINT} -> 400"]
    assert run.remaining() == (sorted([SERVING, EARLIER]), sorted([SERVING_MODEL, EARLIER_MODEL]))


def test_a_refused_tag_read_stops_a_rollback_cleanup(emulator: Emulator, sm: Any) -> None:
    """After a rollback, a refused ListTags stops the cleanup: the new config is deleted, the new model kept,
    one warning, and the report lists a leftover instead of the serving config."""
    make_pair(sm, EARLIER, EARLIER_MODEL)
    make_pair(sm, SERVING, SERVING_MODEL)
    emulator.faults.deny("ListTags")
    run = make_run(emulator, sm)
    run.cleanup.after_rollback(SERVING, SERVING_MODEL, EARLIER, EARLIER_MODEL)
    assert run.outcome.cleaned_up == [f"endpoint config {EARLIER}"]
    assert run.outcome.kept == ["left over after a failed cleanup: see the warning"]
    assert run.lines() == [
        f"Deleted endpoint config {EARLIER}.",
        f"::warning::Cleanup stopped: AccessDeniedException: {denied('ListTags', 'model', EARLIER_MODEL)}. "
        "Nothing that serves was touched; the next deploy removes what is left over.",
    ]
    assert run.calls() == [
        f"DeleteEndpointConfig {EARLIER}",
        f"DescribeModel {EARLIER_MODEL}",
        f"ListTags model/{EARLIER_MODEL} -> 400",
    ]
    assert run.remaining() == ([SERVING], sorted([SERVING_MODEL, EARLIER_MODEL]))


def test_a_leftover_deleted_by_someone_else_meanwhile_is_skipped(emulator: Emulator, sm: Any) -> None:
    """A leftover another run deletes while the sweep reads it (before its tags are read, or before it is
    described) is skipped without a warning and without a deletion request."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    make_pair(sm, SERVING, SERVING_MODEL)
    serve(emulator, sm, SERVING)
    run = make_run(emulator, boto_client(emulator, "sagemaker"))

    def described(parsed: dict[str, Any], **_: Any) -> None:
        if parsed.get("EndpointConfigName") == LEFTOVER:
            sm.delete_endpoint_config(EndpointConfigName=LEFTOVER)

    def listed(**_: Any) -> None:
        run.sm.meta.events.unregister("after-call.sagemaker.ListModels", listed)
        sm.delete_model(ModelName=LEFTOVER_MODEL)

    run.sm.meta.events.register("after-call.sagemaker.DescribeEndpointConfig", described)
    run.sm.meta.events.register("after-call.sagemaker.ListModels", listed)
    run.cleanup.after_success("", "", SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == []
    assert run.outcome.kept == []
    assert run.lines() == []
    assert run.calls() == [
        f"DescribeEndpoint {ENDPOINT}",
        f"DescribeEndpointConfig {SERVING}",
        f"ListEndpointConfigs {ENDPOINT}",
        f"DescribeEndpointConfig {LEFTOVER}",
        f"DeleteEndpointConfig {LEFTOVER}",  # the other run's
        f"ListTags endpoint-config/{LEFTOVER} -> 400",
        f"ListModels {ENDPOINT}",
        f"DeleteModel {LEFTOVER_MODEL}",  # the other run's
        f"DescribeModel {LEFTOVER_MODEL} -> 400",
    ]
    assert run.remaining() == ([SERVING], [SERVING_MODEL])


# --- a cancelled job --------------------------------------------------------------------------------------------


def test_a_cancel_before_the_cleanup_deletes_nothing_and_lists_what_it_would_have(
    emulator: Emulator, sm: Any, cancelling: Callable[[], None]
) -> None:
    """Once the job is cancelled nothing is deleted: each thing the cleanup would have deleted is reported kept,
    as cancelled, and the verdict's reads still happen (they tell what is left)."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    updated(emulator, sm, EARLIER, EARLIER_MODEL)
    run = make_run(emulator, sm)
    cancelling()
    run.cleanup.after_success(EARLIER, EARLIER_MODEL, SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == []
    assert run.outcome.kept == [
        f"endpoint config {EARLIER} {CANCELLED}",
        f"model {EARLIER_MODEL} {CANCELLED}",
        f"endpoint config {LEFTOVER} {CANCELLED}",
        f"model {LEFTOVER_MODEL} {CANCELLED}",
    ]
    assert run.lines() == []
    assert not [c for c in run.calls() if c.startswith("Delete")]
    assert run.remaining() == (
        sorted([SERVING, EARLIER, LEFTOVER]),
        sorted([SERVING_MODEL, EARLIER_MODEL, LEFTOVER_MODEL]),
    )


def test_a_cancel_mid_cleanup_stops_at_the_next_deletion(
    emulator: Emulator, sm: Any, cancelling: Callable[[], None]
) -> None:
    """A signal right after the first deletion: that one stands, every later one is reported kept as cancelled."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    updated(emulator, sm, EARLIER, EARLIER_MODEL)
    run = make_run(emulator, boto_client(emulator, "sagemaker"))  # its own client: the hook must not outlive the test
    run.sm.meta.events.register("after-call.sagemaker.DeleteEndpointConfig", lambda **_: cancelling())
    run.cleanup.after_success(EARLIER, EARLIER_MODEL, SERVING, SERVING_MODEL)
    assert cancel.signal_name() == "SIGINT"
    assert run.outcome.cleaned_up == [f"endpoint config {EARLIER}"]
    assert run.outcome.kept == [
        f"model {EARLIER_MODEL} {CANCELLED}",
        f"endpoint config {LEFTOVER} {CANCELLED}",
        f"model {LEFTOVER_MODEL} {CANCELLED}",
    ]
    assert run.lines() == [f"Deleted endpoint config {EARLIER}."]
    assert [c for c in run.calls() if c.startswith("Delete")] == [f"DeleteEndpointConfig {EARLIER}"]
    assert run.remaining() == (sorted([SERVING, LEFTOVER]), sorted([SERVING_MODEL, EARLIER_MODEL, LEFTOVER_MODEL]))


def test_a_cancel_keeps_what_a_rollback_or_a_refused_update_left(
    emulator: Emulator, sm: Any, cancelling: Callable[[], None]
) -> None:
    """After a cancel, neither a rollback's new pair nor what a refused update created is deleted; none of it is
    reported removed, all of it kept as cancelled."""
    make_pair(sm, EARLIER, EARLIER_MODEL)
    make_pair(sm, LATER, LATER_MODEL)
    make_pair(sm, SERVING, SERVING_MODEL)
    run = make_run(emulator, sm)
    cancelling()
    run.cleanup.after_rollback(SERVING, SERVING_MODEL, EARLIER, EARLIER_MODEL)
    removed = run.cleanup.created_for_refused([f"model {LATER_MODEL}", f"endpoint config {LATER}"], False)
    assert removed == []
    assert run.outcome.cleaned_up == []
    assert run.outcome.kept == [
        f"endpoint config {EARLIER} {CANCELLED}",
        f"model {EARLIER_MODEL} {CANCELLED}",
        f"endpoint config {SERVING} (serving)",
        f"model {LATER_MODEL} {CANCELLED}",
        f"endpoint config {LATER} {CANCELLED}",
    ]
    assert run.lines() == []
    assert run.calls() == checked("model", EARLIER_MODEL)
    assert run.remaining() == (sorted([SERVING, EARLIER, LATER]), sorted([SERVING_MODEL, EARLIER_MODEL, LATER_MODEL]))


def test_an_update_back_to_the_replaced_config_after_the_verdict_keeps_it(emulator: Emulator, sm: Any) -> None:
    """Someone else's update to the replaced config, started after the verdict and still rolling out: neither
    the config it rolls out nor its model is deleted, nor is anything swept."""
    make_pair(sm, LEFTOVER, LEFTOVER_MODEL)
    updated(emulator, sm, EARLIER, EARLIER_MODEL)
    emulator.faults.hold_next_update(ENDPOINT)
    sm.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=EARLIER)
    run = make_run(emulator, sm)
    run.cleanup.after_success(EARLIER, EARLIER_MODEL, SERVING, SERVING_MODEL)
    assert run.outcome.cleaned_up == []
    assert run.outcome.kept == []
    assert run.lines() == ["Leftovers of earlier runs not swept: the endpoint is Updating; the next run sweeps."]
    # Both configs the endpoint references are read for their models, in name order.
    assert run.calls() == [
        f"DescribeEndpoint {ENDPOINT}",
        f"DescribeEndpointConfig {EARLIER}",
        f"DescribeEndpointConfig {SERVING}",
    ]
    assert run.remaining() == (
        sorted([SERVING, EARLIER, LEFTOVER]),
        sorted([SERVING_MODEL, EARLIER_MODEL, LEFTOVER_MODEL]),
    )
