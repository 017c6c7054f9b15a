"""The real action against what AWS does and a hand-written emulator would not: lagging reads, a serving
config deleted behind the endpoint's back, failed endpoints, quotas, resources not visible a moment after
their creation, and a sweep that meets someone else's update."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagemaker_async_deploy import aws
from sagemaker_async_deploy.cleanup import Cleanup
from sagemaker_async_deploy.log import Log
from sagemaker_async_deploy.outcome import RolloutOutcome
from sagemaker_emulator import Behaviour, Emulator

from ..action_runner import digest_image
from ..conftest import FAST_TIMINGS, boto_client
from .test_scenarios import Deployer


@pytest.fixture
def deployer(emulator: Emulator, tmp_path: Path) -> Deployer:
    return Deployer(emulator, tmp_path)


def deletes(deployer: Deployer) -> list[str]:
    return [op for op in deployer.writes() if op.startswith("Delete")]


def test_a_read_lagging_behind_the_update_is_not_taken_for_a_rollback(deployer: Deployer) -> None:
    """DescribeEndpoint still shows InService on the old config after UpdateEndpoint: the action waits for
    the update to show, reports updated, and the new config serves (it was never deleted)."""
    deployer.run()
    deployer.emu.faults.lag_reads(2.0)
    run = deployer.run({"image": digest_image(2)})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "updated"
    assert "DescribeEndpoint may lag behind an update" in run.stdout
    serving = deployer.endpoint()["EndpointConfigName"]
    assert serving == run.outputs["endpoint-config-name"]
    assert serving in deployer.configs()


def test_a_create_not_visible_yet_is_waited_for(deployer: Deployer) -> None:
    """After CreateEndpoint, "Could not find endpoint" for a moment is SageMaker catching up, not a deletion."""
    deployer.emu.faults.lag_reads(1.5)
    run = deployer.run()
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "created"
    assert "not visible yet" in run.stdout


def test_an_update_that_never_shows_times_out_deleting_nothing(deployer: Deployer) -> None:
    """If the update never appears within deployment-timeout-minutes, nothing is judged and nothing deleted."""
    deployer.run()
    deployer.emu.faults.lag_reads(30.0)
    run = deployer.run({"image": digest_image(2), "deployment-timeout-minutes": "0.05"})
    assert run.exit_code != 0
    assert any("never showed it" in line and "Nothing was deleted" in line for line in run.errors()), run.errors()
    assert deletes(deployer) == []


# --- a serving config deleted behind the endpoint's back ------------------------------------------------


def _delete_serving_config(deployer: Deployer) -> dict[str, object]:
    """What Terraform's create_before_destroy does: the config in use is deleted; returns what it held."""
    name = deployer.endpoint()["EndpointConfigName"]
    described = dict(deployer.sm.describe_endpoint_config(EndpointConfigName=name))
    deployer.sm.delete_endpoint_config(EndpointConfigName=name)
    deployer.emu.clear_requests()
    return described


def test_a_deleted_serving_config_is_named_before_any_write(deployer: Deployer) -> None:
    """The action names the missing config, who usually deletes it and what to do, and writes nothing."""
    deployer.run()
    gone = str(_delete_serving_config(deployer)["EndpointConfigName"])
    run = deployer.run({"image": digest_image(2)})
    assert run.exit_code != 0
    assert run.result == "failed"
    message = " ".join(run.errors())
    assert gone in message and "create_before_destroy" in message and "same name" in message
    assert deployer.emu.write_calls() == []
    assert deployer.endpoint()["EndpointStatus"] == "InService"


@pytest.mark.parametrize("accepted", [True, False], ids=["recreated-accepted", "recreated-refused"])
def test_a_config_recreated_under_its_old_name(tmp_path: Path, accepted: bool) -> None:
    """Whether SageMaker accepts a recreated config is not documented: with the switch either way, the action
    updates (accepted), or says so and leaves nothing it made behind (refused); it never deletes the endpoint."""
    with Emulator(timings=FAST_TIMINGS, behaviour=Behaviour(recreated_config_accepted=accepted)) as emu:
        deployer = Deployer(emu, tmp_path)
        deployer.run()
        described = _delete_serving_config(deployer)
        recreate = {
            k: v for k, v in described.items() if k not in ("EndpointConfigArn", "CreationTime", "ResponseMetadata")
        }
        recreate.pop("EnableNetworkIsolation", None)
        deployer.sm.create_endpoint_config(**recreate)
        before = (deployer.configs(), deployer.models())
        run = deployer.run({"image": digest_image(2)})
        assert "DeleteEndpoint" not in deployer.writes()
        if accepted:
            assert run.result == "updated", run.stdout + run.stderr
            return
        assert run.exit_code != 0
        assert any("recreated under a deleted one's name" in line for line in run.errors()), run.errors()
        assert (deployer.configs(), deployer.models()) == before


# --- endpoints SageMaker will not update -----------------------------------------------------------------


def test_a_failed_endpoint_that_lists_variants_is_refused_with_the_delete_command(deployer: Deployer) -> None:
    """A Failed endpoint can only be deleted: the action says how, before it creates anything."""
    deployer.run()
    deployer.emu.faults.fail_next_update("InternalFailure: the fleet could not be replaced", end_status="Failed")
    assert deployer.run({"image": digest_image(2)}).result == "failed"
    assert deployer.endpoint()["EndpointStatus"] == "Failed"
    assert deployer.endpoint().get("ProductionVariants"), "the emulator keeps a failed endpoint's variants"
    run = deployer.run({"image": digest_image(3)})
    assert run.exit_code != 0
    assert any("aws sagemaker delete-endpoint --endpoint-name whisper" in line for line in run.errors())
    assert any("InternalFailure" in line for line in run.errors())
    assert deployer.emu.write_calls() == []


# --- quotas -------------------------------------------------------------------------------------------------


def test_a_quota_refusal_names_the_quota_and_leaves_nothing_behind(deployer: Deployer) -> None:
    """ResourceLimitExceeded: the quota, the second fleet, Service Quotas and rolling are named; the config
    and model this run made for the refused update are removed; what serves is untouched."""
    deployer.run()
    before = (deployer.configs(), deployer.models())
    deployer.emu.faults.quota_next_update()
    run = deployer.run({"image": digest_image(2)})
    assert run.exit_code != 0
    assert run.result == "failed"
    message = " ".join(run.errors())
    for words in (
        "ml.g4dn.xlarge for endpoint usage",
        "second fleet",
        "service-quotas",
        "deployment-strategy: rolling",
    ):
        assert words in message, message
    assert (deployer.configs(), deployer.models()) == before
    assert deployer.endpoint()["EndpointConfigName"] in before[0]


def test_a_quota_refusal_of_a_first_deploy_says_so_and_leaves_nothing_behind(deployer: Deployer) -> None:
    """ResourceLimitExceeded on CreateEndpoint: no second fleet, no serving endpoint, no rolling advice; the
    config and model made for it are removed."""
    deployer.emu.faults.quota_next_create()
    run = deployer.run()
    assert run.exit_code != 0
    assert run.result == "failed"
    message = " ".join(run.errors())
    assert "SageMaker refused CreateEndpoint for lack of capacity" in message, message
    assert "The new endpoint needs 1 ml.g4dn.xlarge instance(s)." in message, message
    assert "the endpoint does not exist yet" in message, message
    for wrong in ("second fleet", "serves as before", "deployment-strategy: rolling"):
        assert wrong not in message, message
    assert deployer.configs() == set()
    assert deployer.models() == set()


def test_a_quota_refusal_of_a_rolling_update_does_not_advise_rolling(deployer: Deployer) -> None:
    """A rolling update refused for capacity needs room for one batch: the advice is a smaller step, not rolling."""
    deployer.run({"initial-instance-count": "2"})
    deployer.emu.faults.quota_next_update()
    run = deployer.run({"image": digest_image(2), "deployment-strategy": "rolling", "step-size": "1"})
    assert run.result == "failed", run.stdout + run.stderr
    message = " ".join(run.errors())
    assert "A rolling update needs capacity for one batch" in message, message
    assert "A smaller step-size needs less." in message, message
    assert "deployment-strategy: rolling" not in message, message


# --- read after create ----------------------------------------------------------------------------------------


def test_a_config_invisible_for_a_moment_after_its_creation_is_retried(deployer: Deployer) -> None:
    """UpdateEndpoint answering "Could not find endpoint configuration" for the config just made is retried."""
    deployer.run()
    deployer.emu.faults.invisible_after_create(2, endpoint_name="whisper")
    run = deployer.run({"image": digest_image(2)})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "updated"
    assert "does not see" in run.stdout
    assert deployer.writes().count("UpdateEndpoint") == 3


def test_a_model_invisible_for_a_moment_is_retried_by_the_config_that_names_it(deployer: Deployer) -> None:
    """CreateEndpointConfig answering "Could not find model" for the model just made is retried too."""
    deployer.run()
    deployer.emu.faults.invisible_after_create(1)
    run = deployer.run({"image": digest_image(2)})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "updated"


# --- the sweep and someone else's update -------------------------------------------------------------------


def test_the_sweep_deletes_nothing_while_someone_elses_update_is_in_flight(emulator: Emulator, tmp_path: Path) -> None:
    """Leftovers are not swept while the endpoint is updating: the config it rolls out may be one of them."""
    deployer = Deployer(emulator, tmp_path)
    first = deployer.run()
    second = deployer.run({"image": digest_image(2), "delete-previous": "false"})
    assert second.result == "updated"
    # Another run now updates the endpoint back to the first config, and is held in the middle of it.
    emulator.faults.hold_next_update("whisper")
    deployer.sm.update_endpoint(EndpointName="whisper", EndpointConfigName=first.outputs["endpoint-config-name"])
    configs, models = deployer.configs(), deployer.models()
    outcome = RolloutOutcome(result="updated")
    sm = boto_client(emulator, "sagemaker")
    cleanup = Cleanup(sm, Log(), outcome, endpoint_name="whisper", existing_model=False, delete_previous=True)
    cleanup.after_success("", "", second.outputs["endpoint-config-name"], second.outputs["model-name"])
    assert (deployer.configs(), deployer.models()) == (configs, models)
    emulator.faults.release("whisper")
    assert aws.describe_endpoint(sm, "whisper") is not None
