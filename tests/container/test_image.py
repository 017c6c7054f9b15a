"""The action image run as the Actions runner runs a container action, against the local SageMaker emulator."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from sagemaker_emulator import Emulator

from ..github_server import WORKFLOW_TOKEN, GitHubServer
from .engine import Engine, RunResult

pytestmark = pytest.mark.container

ENDPOINT = "whisper-async"
REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/whisper"
IMAGE_V1 = f"{REPOSITORY}@sha256:{'a1' * 32}"
IMAGE_V2 = f"{REPOSITORY}@sha256:{'b2' * 32}"
OUTPUTS = (
    "result", "endpoint-arn", "endpoint-config-name", "previous-endpoint-config-name", "model-name",
    "image", "previous-image", "changes", "duration-seconds", "comment-url",
)  # fmt: skip


def inputs(image: str = IMAGE_V1, **overrides: str) -> dict[str, str]:
    return {
        "endpoint-name": ENDPOINT,
        "image": image,
        "instance-type": "ml.g4dn.xlarge",
        "output-path": "s3://bucket/out/",
        "execution-role-arn": "arn:aws:iam::123456789012:role/sm",
        "comment": "false",
        "poll-interval-seconds": "0.3",
        **overrides,
    }


def aws_env(emu: Emulator) -> dict[str, str]:
    # Only AWS_REGION, as configure-aws-credentials sets it: the action must not need AWS_DEFAULT_REGION.
    return {
        "AWS_ENDPOINT_URL": emu.url,
        "AWS_ACCESS_KEY_ID": "dummy",
        "AWS_SECRET_ACCESS_KEY": "dummy",
        "AWS_REGION": "us-east-1",
    }


def deploy(engine: Engine, emu: Emulator, tmp_path: Path, name: str, **kwargs: str) -> RunResult:
    return engine.run_action(inputs(**kwargs), aws_env(emu), tmp_path / name)


def describe(emu: Emulator) -> dict[str, object]:
    client = boto3.client(
        "sagemaker",
        endpoint_url=emu.url,
        region_name="us-east-1",
        aws_access_key_id="dummy",
        aws_secret_access_key="dummy",
    )
    endpoint: dict[str, object] = client.describe_endpoint(EndpointName=ENDPOINT)
    return endpoint


def explain(run: RunResult) -> str:
    return f"exit {run.returncode}\noutputs {run.outputs}\n--- log ---\n{run.log[-6000:]}"


def test_image_is_configured_as_a_container_action(engine: Engine) -> None:
    """The image runs the package as its entrypoint, as root in the runner's working directory."""
    config = engine.config()
    assert engine.entrypoint() == ["python", "-m", "sagemaker_async_deploy"]
    assert not config.get("User"), "the runner expects root: no USER"
    assert not config.get("WorkingDir"), "the runner sets the working directory: no WORKDIR"
    env = dict(item.split("=", 1) for item in config.get("Env") or [])  # type: ignore[union-attr]
    assert env.get("PYTHONUNBUFFERED") == "1"


def test_image_holds_the_action_but_not_the_emulator_or_tests(engine: Engine, tmp_path: Path) -> None:
    """Only the action's package and its runtime dependencies are in the image."""
    probe = (
        "import importlib.util as u, sys; "
        "missing = [m for m in ('sagemaker_async_deploy', 'boto3', 'github') "
        "if u.find_spec(m) is None]; "
        "extra = [m for m in ('sagemaker_emulator', 'tests', 'moto', 'pytest', 'actions_toolkit') if u.find_spec(m)]; "
        "print(missing, extra); sys.exit(1 if missing or extra else 0)"
    )
    run = engine.run_action({}, {}, tmp_path, command=["python", "-c", probe])
    assert run.returncode == 0, explain(run)


def test_image_leaves_out_what_the_action_never_imports(engine: Engine, tmp_path: Path) -> None:
    """cryptography and pycparser are not in the image, and PyGithub with token auth imports without them."""
    probe = (
        "import importlib.util as u, sys; "
        "extra = [m for m in ('cryptography', 'pycparser') if u.find_spec(m)]; "
        "import github, github.Auth, jwt, nacl.public; github.Auth.Token('t'); "
        "print(extra, jwt.algorithms.has_crypto); sys.exit(1 if extra or jwt.algorithms.has_crypto else 0)"
    )
    run = engine.run_action({}, {}, tmp_path, command=["python", "-c", probe])
    assert run.returncode == 0, explain(run)


def test_pull_request_comment_is_written_from_the_image(engine: Engine, emu: Emulator, tmp_path: Path) -> None:
    """A pull_request run of the image writes the endpoint's comment through PyGithub and outputs its URL."""
    with GitHubServer() as github:
        github.add_pull("octo-org/models", 7, head_sha="a" * 40)
        event = {"number": 7, "pull_request": {"number": 7, "title": "Roll out", "head": {"sha": "a" * 40}}}
        env = {
            **aws_env(emu),
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_API_URL": github.api_url,
            "GITHUB_SERVER_URL": github.server_url,
        }
        run = engine.run_action(
            inputs(comment="true", **{"github-token": WORKFLOW_TOKEN}), env, tmp_path / "pr", event=event
        )
        comments = github.comments("octo-org/models", 7)

    assert run.returncode == 0, explain(run)
    assert run.outputs["result"] == "created", explain(run)
    [comment] = comments
    assert comment["body"].startswith("<!-- sagemaker-async-deploy:endpoint=whisper-async -->")
    assert run.outputs["comment-url"] == comment["html_url"]


def test_users_checkout_and_pythonpath_cannot_shadow_the_action(engine: Engine, tmp_path: Path) -> None:
    """Modules in the user's workspace and a PYTHONPATH from the job's env do not replace the action's imports."""
    shadow = "raise SystemExit('imported from the workspace')\n"
    workspace = {"boto3.py": shadow, "sagemaker_async_deploy/__init__.py": shadow, "src/github.py": shadow}
    probe = "import boto3, github, sagemaker_async_deploy.main as m; print(m.__file__)"
    run = engine.run_action(
        {},
        {"PYTHONPATH": "/github/workspace/lib"},
        tmp_path,
        command=["python", "-c", probe],
        workspace=workspace,
    )
    assert run.returncode == 0, explain(run)
    assert run.stdout.strip().startswith("/opt/sagemaker-async-deploy/"), explain(run)


def test_first_deploy_creates_the_endpoint(engine: Engine, emu: Emulator, tmp_path: Path) -> None:
    """A first deploy creates the endpoint, exits 0 and reports it in outputs and the summary."""
    run = deploy(engine, emu, tmp_path, "first")

    assert run.returncode == 0, explain(run)
    out = run.outputs
    assert set(OUTPUTS) <= set(out), explain(run)
    assert out["result"] == "created"
    assert out["image"] == IMAGE_V1
    assert out["previous-image"] == ""
    assert out["previous-endpoint-config-name"] == ""
    assert out["endpoint-arn"].endswith(f":endpoint/{ENDPOINT}")
    assert out["comment-url"] == ""
    assert isinstance(json.loads(out["changes"]), list)
    assert float(out["duration-seconds"]) >= 0
    endpoint = describe(emu)
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == out["endpoint-config-name"]
    assert "created" in run.summary.lower()
    assert ENDPOINT in run.summary


def test_unchanged_rerun_makes_no_write_call(engine: Engine, emu: Emulator, tmp_path: Path) -> None:
    """Running again with the same inputs reports unchanged, exits 0 and changes nothing on AWS."""
    first = deploy(engine, emu, tmp_path, "first")
    assert first.returncode == 0, explain(first)
    emu.clear_requests()

    run = deploy(engine, emu, tmp_path, "again")

    assert run.returncode == 0, explain(run)
    assert run.outputs["result"] == "unchanged"
    assert run.outputs["endpoint-config-name"] == first.outputs["endpoint-config-name"]
    assert run.outputs["image"] == IMAGE_V1
    assert json.loads(run.outputs["changes"]) == []
    assert emu.write_calls() == []
    assert emu.operations(), "the rerun must at least read the endpoint"
    assert "unchanged" in run.summary.lower()


def test_alarm_rollback_fails_the_step(engine: Engine, emu: Emulator, tmp_path: Path) -> None:
    """An update rolled back by SageMaker exits non-zero with result rolled-back; the old config serves."""
    first = deploy(engine, emu, tmp_path, "first")
    assert first.returncode == 0, explain(first)
    emu.faults.rollback_next_update()

    run = deploy(engine, emu, tmp_path, "rollback", image=IMAGE_V2)

    assert run.returncode != 0, explain(run)
    out = run.outputs
    assert out["result"] == "rolled-back", explain(run)
    assert out["endpoint-config-name"] == first.outputs["endpoint-config-name"]
    assert out["previous-endpoint-config-name"] == first.outputs["endpoint-config-name"]
    assert out["previous-image"] == IMAGE_V1
    assert {"field": "image", "from": IMAGE_V1, "to": IMAGE_V2} in json.loads(out["changes"])
    assert describe(emu)["EndpointConfigName"] == first.outputs["endpoint-config-name"]
    assert "::error" in run.log
    assert "rolled back" in run.summary.lower() or "rolled-back" in run.summary.lower()


def test_smoke_test_runs_from_the_image(engine: Engine, emu: Emulator, tmp_path: Path) -> None:
    """The image holds what the smoke test needs (the sagemaker-runtime and s3 clients): a first deploy with a
    workspace request sends it and reads the answer the new model wrote."""
    s3 = boto3.client("s3", endpoint_url=emu.url, region_name="us-east-1", aws_access_key_id="dummy",
                      aws_secret_access_key="dummy")  # fmt: skip
    s3.create_bucket(Bucket="bucket")
    run = engine.run_action(
        inputs(**{"smoke-test-input": "smoke/request.json", "smoke-test-timeout-seconds": "30"}),
        aws_env(emu),
        tmp_path / "smoke",
        workspace={"smoke/request.json": '{"audio": "s3://samples/hello.wav"}'},
    )

    assert run.returncode == 0, explain(run)
    assert run.outputs["result"] == "created", explain(run)
    assert run.outputs["smoke-test"] == "passed", explain(run)
    assert "InvokeEndpointAsync" in emu.operations("sagemaker")


def test_bad_input_names_the_input(engine: Engine, emu: Emulator, tmp_path: Path) -> None:
    """An image given by a non-ECR tag stops the step before any AWS call, with an error naming the input."""
    run = deploy(engine, emu, tmp_path, "bad", image="docker.io/library/whisper:latest")

    assert run.returncode != 0, explain(run)
    errors = [line for line in run.log.splitlines() if line.startswith("::error")]
    assert errors, explain(run)
    assert any("image" in line for line in errors), explain(run)
    assert emu.write_calls() == []
