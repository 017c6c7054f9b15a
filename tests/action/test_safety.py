"""The safety logic through the real action: the verdict on a config nobody asked for, delete-previous, the
log's escaping and digest identity, and the fatal paths, each asserted on the result, the exit status, what
serves afterwards and the exact deletions."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sagemaker_emulator import Behaviour, Emulator, RequestRecord

from ..action_runner import ROLE, ActionRun, action_env, digest_image, finish, kill_when, start_action
from ..conftest import ACCOUNT_ID, FAST_TIMINGS, boto_client
from ..seed import ECR_REGISTRY, seed_alarm, seed_handmade_config
from .test_injection import ALLOWED_COMMANDS
from .test_scenarios import Deployer

MIRROR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/whisper"


@pytest.fixture
def deployer(emulator: Emulator, tmp_path: Path) -> Deployer:
    return Deployer(emulator, tmp_path)


def deleted(emu: Emulator) -> list[str]:
    """What the emulator deleted since the log was last cleared, in order ("endpoint config X", "model Y")."""
    kinds = {"DeleteEndpointConfig": "endpoint config", "DeleteModel": "model", "DeleteEndpoint": "endpoint"}
    members = {
        "DeleteEndpointConfig": "EndpointConfigName",
        "DeleteModel": "ModelName",
        "DeleteEndpoint": "EndpointName",
    }
    return [
        f"{kinds[r.operation]} {r.params[members[r.operation]]}"
        for r in emu.requests
        if r.operation in kinds and r.status == 200
    ]


def plain(markdown: str) -> str:
    """The job summary's text with its Markdown escapes undone."""
    return re.sub(r"\\(.)", r"\1", markdown)


def serving(deployer: Deployer) -> tuple[str, str, str]:
    """(config, model, image) the endpoint serves once it has settled, read from SageMaker."""
    wait_until(deployer.emu, lambda _: deployer.endpoint()["EndpointStatus"] != "Updating", "the endpoint settle")
    endpoint = deployer.endpoint()
    assert endpoint["EndpointStatus"] == "InService", endpoint["EndpointStatus"]
    config = endpoint["EndpointConfigName"]
    model = deployer.sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]["ModelName"]
    image = endpoint["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"]
    return config, model, image


def wait_until(emu: Emulator, seen: Callable[[list[RequestRecord]], bool], what: str, timeout: float = 60) -> None:
    """Block until the emulator's request log shows ``seen`` (a state the test waits for, not a guess of time)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if seen(emu.requests):
            return
        time.sleep(0.01)
    raise AssertionError(f"never saw {what}")


def polled_after(operation: str) -> Callable[[list[RequestRecord]], bool]:
    """A DescribeEndpoint answered after ``operation``: the action has seen what that call started."""

    def seen(records: list[RequestRecord]) -> bool:
        names = [r.operation for r in records]
        return operation in names and "DescribeEndpoint" in names[names.index(operation) + 1 :]

    return seen


# --- the verdict ------------------------------------------------------------------------------------------------


def test_in_service_on_a_config_nobody_asked_for_fails_and_deletes_nothing(deployer: Deployer) -> None:
    """An update that ends InService on a third config (someone else's update landed the moment ours settled) is
    'failed', exits non-zero, deletes nothing and reports what serves."""
    first = deployer.run()
    old_config, old_model = first.outputs["endpoint-config-name"], first.outputs["model-name"]
    seed_handmade_config(deployer.sm, "whisper-hotfix", digest_image(9), ROLE, "s3://inference-bucket/whisper/out/")
    deployer.emu.faults.update_when_settled("whisper-hotfix", "whisper")
    run = deployer.run({"image": digest_image(2)})
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.result == "failed"
    assert any("InService on an unexpected config (whisper-hotfix)" in line for line in run.errors()), run.lines
    assert serving(deployer) == ("whisper-hotfix", "whisper-hotfix", digest_image(9))
    assert run.outputs["endpoint-config-name"] == "whisper-hotfix"
    assert run.outputs["model-name"] == "whisper-hotfix"
    assert run.outputs["image"] == digest_image(9)
    assert run.outputs["previous-image"] == digest_image(1)
    assert [r.params["EndpointConfigName"] for r in deployer.emu.requests if r.operation == "UpdateEndpoint"] == [
        next(c for c in deployer.configs() if c not in (old_config, "whisper-hotfix"))
    ]
    assert deleted(deployer.emu) == []
    assert len(deployer.configs()) == 3 and {old_config, "whisper-hotfix"} < deployer.configs()
    assert len(deployer.models()) == 3 and {old_model, "whisper-hotfix"} < deployer.models()


# --- delete-previous --------------------------------------------------------------------------------------------


def test_delete_previous_false_keeps_the_replaced_config_and_model(deployer: Deployer) -> None:
    """With delete-previous: false a successful update deletes nothing: the replaced config and model stay."""
    first = deployer.run()
    run = deployer.run({"image": digest_image(2), "delete-previous": "false"})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "updated"
    assert serving(deployer) == (run.outputs["endpoint-config-name"], run.outputs["model-name"], digest_image(2))
    assert deleted(deployer.emu) == []
    assert not [op for op in deployer.writes() if op.startswith("Delete")]
    assert deployer.configs() == {first.outputs["endpoint-config-name"], run.outputs["endpoint-config-name"]}
    assert deployer.models() == {first.outputs["model-name"], run.outputs["model-name"]}
    kept = f"**Kept:** endpoint config {first.outputs['endpoint-config-name']} (delete-previous: false)."
    assert kept in plain(run.summary)


# --- the log's escaping and digest identity ---------------------------------------------------------------------

# Outside text that, once our log splits it into lines (Python's splitlines also breaks at U+2028, U+0085, U+001E,
# form feed …), starts lines with blanks and then "::". The runner trims leading white space before it looks for
# "::" (actions/runner ActionCommand.TryParseV2: "message = message.TrimStart()").
LEADING_BLANKS = (
    "Threshold Crossed: 1 datapoint was >= 1.0"
    "\u2028  ::error::pwned-1"
    "\x85\t::warning::pwned-2"
    "\x1e\u3000::add-mask::pwned-3"
    "\x0c \u00a0::stop-commands::pwned-4"
    "\n   ::set-output name=result::pwned-5"
    "\r\n\t::error::pwned-6"
)


def runner_commands(run: ActionRun) -> list[str]:
    """The workflow commands the runner would read: it reads the output line by line (StreamReader.ReadLine:
    LF, CR or CRLF) and takes a line whose text, leading white space trimmed, starts with "::"."""
    found = []
    for line in re.split(r"\r\n|\r|\n", run.stdout + run.stderr):
        stripped = line.lstrip()  # str.isspace covers every character .NET's TrimStart trims
        if stripped.startswith("::"):
            found.append(stripped[2:].split("::", 1)[0].split(" ", 1)[0])
        assert "##[" not in line, line
    return found


def test_outside_text_with_leading_blanks_never_forms_a_command(deployer: Deployer) -> None:
    """CloudWatch's StateReason, printed after a rollback, cannot start a workflow command after any line break
    and leading blanks; the run still reports the rollback and keeps the old config serving."""
    seed_alarm(deployer.emu, "whisper-5xx", endpoint="whisper", TreatMissingData="breaching")
    first = deployer.run({"alarms": "whisper-5xx"})
    deployer.emu.faults.rollback_next_update(alarm="whisper-5xx", reason=LEADING_BLANKS)
    run = deployer.run({"alarms": "whisper-5xx", "image": digest_image(2)})
    assert run.exit_code == 1
    assert run.result == "rolled-back"
    assert any(line.startswith("Alarm whisper-5xx went to ALARM: Threshold Crossed") for line in run.lines), run.lines
    assert any("pwned-1" in line for line in run.lines)  # the text is shown, only defused
    assert set(runner_commands(run)) <= ALLOWED_COMMANDS, runner_commands(run)
    assert run.outputs["result"] == "rolled-back"
    assert serving(deployer)[0] == first.outputs["endpoint-config-name"]


@pytest.mark.parametrize("image", [digest_image(1, repo=MIRROR), f"{ECR_REGISTRY}/whisper:v2"])
def test_the_same_digest_under_another_repository_or_tag_is_unchanged(deployer: Deployer, image: str) -> None:
    """The same digest pushed under another repository, or another tag resolving to it, is the image that serves:
    unchanged, no write."""
    ecr = boto_client(deployer.emu, "ecr")
    ecr.create_repository(repositoryName="whisper")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"})
    ecr.put_image(repositoryName="whisper", imageManifest=manifest, imageTag="v1")
    ecr.put_image(repositoryName="whisper", imageManifest=manifest, imageTag="v2")  # a retag: same digest
    digest = ecr.describe_images(repositoryName="whisper", imageIds=[{"imageTag": "v2"}])["imageDetails"][0]
    pinned = f"{ECR_REGISTRY}/whisper@{digest['imageDigest']}"
    first = deployer.run({"image": f"{ECR_REGISTRY}/whisper:v1" if image.endswith(":v2") else digest_image(1)})
    assert first.result == "created", first.stdout + first.stderr
    run = deployer.run({"image": image})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "unchanged"
    assert run.changes == []
    assert deployer.emu.write_calls() == []
    expected = pinned if image.endswith(":v2") else digest_image(1)
    assert serving(deployer) == (first.outputs["endpoint-config-name"], first.outputs["model-name"], expected)


def test_a_different_digest_under_the_same_repository_is_an_update(deployer: Deployer) -> None:
    """Another digest is another image, whatever the repository: updated, and the new digest serves."""
    first = deployer.run()
    run = deployer.run({"image": digest_image(2, repo=MIRROR)})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "updated"
    assert run.changes == [{"field": "image", "from": digest_image(1), "to": digest_image(2, repo=MIRROR)}]
    assert serving(deployer) == (
        run.outputs["endpoint-config-name"],
        run.outputs["model-name"],
        digest_image(2, MIRROR),
    )
    assert deleted(deployer.emu) == [
        f"endpoint config {first.outputs['endpoint-config-name']}",
        f"model {first.outputs['model-name']}",
    ]


# --- fatal paths ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["UnrecognizedClientException", "InvalidClientTokenId"])
def test_rejected_credentials_fail_with_advice_and_change_nothing(deployer: Deployer, code: str) -> None:
    """Credentials AWS does not know fail the run at once with what to check, and nothing is written."""
    first = deployer.run()
    deployer.emu.faults.reject_credentials(code=code)
    run = deployer.run({"image": digest_image(2)})
    deployer.emu.faults.clear()
    assert run.exit_code == 1
    assert run.result == "failed"
    assert any(
        f"AWS rejected the credentials ({code})" in line and "configure-aws-credentials" in line
        for line in run.errors()
    ), run.lines
    assert deployer.emu.write_calls() == []
    assert serving(deployer) == (first.outputs["endpoint-config-name"], first.outputs["model-name"], digest_image(1))


def test_rejected_credentials_mid_wait_delete_nothing(deployer: Deployer) -> None:
    """Credentials rejected while the update rolls out fail the run; the update finishes and nothing is deleted."""
    deployer.run()
    deployer.emu.faults.hold_next_update("whisper")
    env = action_env(deployer.emu, deployer.tmp_path / "rejected", {"image": digest_image(2)})
    deployer.emu.clear_requests()
    process = start_action(env)
    wait_until(deployer.emu, polled_after("UpdateEndpoint"), "a poll after the update")
    deployer.emu.faults.reject_credentials()
    run = finish(process, env)
    deployer.emu.faults.clear()
    deployer.emu.faults.release("whisper")
    assert run.exit_code == 1
    assert run.result == "failed"
    assert any("AWS rejected the credentials (UnrecognizedClientException)" in line for line in run.errors())
    assert deleted(deployer.emu) == []
    assert len(deployer.configs()) == 2 and len(deployer.models()) == 2


def test_a_refused_cleanup_keeps_the_verdict_and_says_what_was_left(deployer: Deployer) -> None:
    """A role without sagemaker:DeleteEndpointConfig: the update is still 'updated', the new config serves, the
    old config is left with a warning naming it and how to delete it; the old model still goes."""
    first = deployer.run()
    old_config, old_model = first.outputs["endpoint-config-name"], first.outputs["model-name"]
    deployer.emu.faults.deny("DeleteEndpointConfig")
    run = deployer.run({"image": digest_image(2)})
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "updated"
    assert serving(deployer) == (run.outputs["endpoint-config-name"], run.outputs["model-name"], digest_image(2))
    assert deleted(deployer.emu) == [f"model {old_model}"]
    refused = [r.params["EndpointConfigName"] for r in deployer.emu.requests if r.operation == "DeleteEndpointConfig"]
    assert refused == [old_config]  # asked once: the sweep does not ask again for what was just refused
    assert deployer.configs() == {old_config, run.outputs["endpoint-config-name"]}
    assert deployer.models() == {run.outputs["model-name"]}
    warnings = [line for line in run.lines if line.startswith("::warning") and old_config in line]
    assert len(warnings) == 1, run.lines
    assert "AccessDeniedException" in warnings[0] or "not authorized" in warnings[0]
    assert f"aws sagemaker delete-endpoint-config --endpoint-config-name {old_config}" in warnings[0]
    assert f"**Kept:** endpoint config {old_config}." in plain(run.summary)


def test_giving_up_after_the_replan_limit(deployer: Deployer) -> None:
    """Someone else's update wins every race: after five attempts the run fails, names the cause, and deletes
    nothing; the old config serves on."""
    first = deployer.run()
    deployer.emu.faults.lose_update_races(10, seconds=0.2, endpoint_name="whisper")
    run = deployer.run({"image": digest_image(2)})
    deployer.emu.faults.clear()
    assert run.exit_code == 1
    assert run.result == "failed"
    assert any("kept being updated by someone else; gave up after 5 attempts" in line for line in run.errors())
    assert deployer.emu.operations("sagemaker").count("UpdateEndpoint") == 5
    assert deleted(deployer.emu) == []
    assert serving(deployer) == (first.outputs["endpoint-config-name"], first.outputs["model-name"], digest_image(1))
    # What it made for the update serves nothing and stays for the next run to reuse or sweep.
    assert len(deployer.configs()) == 2 and len(deployer.models()) == 2
    assert deployer.writes().count("CreateEndpointConfig") == 1  # made once, reused on every attempt


def test_the_endpoint_deleted_mid_rollout_fails_the_run(tmp_path: Path) -> None:
    """Someone deletes the endpoint while the action waits for its update: 'failed' with the cause, and the action
    itself deletes nothing."""
    with Emulator(timings=FAST_TIMINGS, account_id=ACCOUNT_ID, behaviour=Behaviour(delete_in_progress="allow")) as emu:
        deployer = Deployer(emu, tmp_path)
        first = deployer.run()
        emu.faults.hold_next_update("whisper")
        env = action_env(emu, tmp_path / "deleted", {"image": digest_image(2)})
        emu.clear_requests()
        process = start_action(env)
        wait_until(emu, polled_after("UpdateEndpoint"), "a poll after the update")
        deployer.sm.delete_endpoint(EndpointName="whisper")
        run = finish(process, env)
        assert run.exit_code == 1
        assert run.result == "failed"
        assert any("was deleted during the rollout, by someone else" in line for line in run.errors()), run.lines
        assert deleted(emu) == ["endpoint whisper"]  # the test's own call, nothing of the action's
        assert emu.operations("sagemaker").count("DeleteEndpoint") == 1
        assert not emu.requests[-1].operation.startswith("Delete")
        assert deployer.sm.list_endpoints()["Endpoints"] == []
        assert first.outputs["endpoint-config-name"] in deployer.configs()
        assert len(deployer.configs()) == 2 and len(deployer.models()) == 2


def test_a_timeout_waiting_for_someone_elses_update_changes_nothing(deployer: Deployer) -> None:
    """An endpoint busy with someone else's update past deployment-timeout-minutes: 'failed', no write at all."""
    first = deployer.run()
    deployer.emu.faults.busy("whisper", 600)
    run = deployer.run({"image": digest_image(2), "deployment-timeout-minutes": "0.02"})
    assert run.exit_code == 1
    assert run.result == "failed"
    assert any(
        "waiting for an update this run did not start" in line and "this run changed nothing" in line
        for line in run.errors()
    ), run.lines
    assert deployer.emu.write_calls() == []
    endpoint = deployer.endpoint()
    assert endpoint["EndpointStatus"] == "Updating"
    assert endpoint["EndpointConfigName"] == first.outputs["endpoint-config-name"]


def test_a_rerun_adopts_an_interrupted_rollout_and_finishes_its_cleanup(deployer: Deployer) -> None:
    """A run killed mid-wait leaves its update rolling; the rerun waits for it, reports 'updated' with the new
    image, starts no update of its own, and deletes exactly the replaced config and model."""
    first = deployer.run()
    old_config, old_model = first.outputs["endpoint-config-name"], first.outputs["model-name"]
    deployer.emu.faults.hold_next_update("whisper")
    crashed = action_env(deployer.emu, deployer.tmp_path / "crashed", {"image": digest_image(2)})
    kill_when(start_action(crashed), deployer.emu, "UpdateEndpoint")
    new_config = next(r for r in deployer.emu.requests if r.operation == "UpdateEndpoint").params["EndpointConfigName"]

    deployer.emu.clear_requests()
    env = action_env(deployer.emu, deployer.tmp_path / "rerun", {"image": digest_image(2)})
    process = start_action(env)
    wait_until(deployer.emu, lambda rs: any(r.operation == "DescribeEndpoint" for r in rs), "the rerun's first read")
    deployer.emu.faults.release("whisper")  # the rerun has seen the endpoint Updating: now the update may end
    run = finish(process, env)

    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "updated"
    assert any(f"Completed the rollout an earlier run started from {old_config}." in line for line in run.lines)
    assert "Completed the rollout an earlier run started." in plain(run.summary)
    assert run.outputs["image"] == digest_image(2)
    assert run.outputs["endpoint-config-name"] == new_config
    assert run.outputs["previous-endpoint-config-name"] == old_config
    assert run.outputs["previous-image"] == digest_image(1)
    assert deployer.emu.operations("sagemaker").count("UpdateEndpoint") == 0
    new_model = run.outputs["model-name"]
    assert serving(deployer) == (new_config, new_model, digest_image(2))
    assert deleted(deployer.emu) == [f"endpoint config {old_config}", f"model {old_model}"]
    assert deployer.configs() == {new_config}
    assert deployer.models() == {new_model}
