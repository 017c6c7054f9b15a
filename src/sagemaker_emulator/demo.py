"""``make demo``: the action's five typical runs against the local emulator, no credentials or network.

Seeds a CloudWatch alarm, two SNS topics and an ECR repository with four images, then runs
``python -m sagemaker_async_deploy`` the way the Actions runner runs a container action: a first deploy, the
same image again, a new image rolled out as a canary, a new image whose canary the alarm rolls back, and a new
image whose container crashes on start (the report shows its log). When the action is not importable yet,
the same scenarios are driven with plain boto3 calls instead.

Each run's files stay in one folder after the demo, and the demo prints where: the job summary the action
wrote, and the body of the pull request comment. The action posts that comment for real, to the test suite's
local GitHub API stand-in (``tests/github_server.py``, there in a clone of the repository), as a push whose
commit heads an open pull request: the same flow as on GitHub, with nothing leaving the machine.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from ._sagemaker import Timings
from ._server import Emulator

REGION = "us-east-1"
ACCOUNT = "123456789012"
ENDPOINT = "demo-async-endpoint"
REPOSITORY = "demo-model"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/demo-sagemaker-execution"
ALARM = "demo-endpoint-errors"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
TIMINGS = Timings(create=1.0, update=1.5, rollback=1.0, delete=0.3)
RUN_TIMEOUT_SECONDS = 180
REPOSITORY_NAME = "octo-org/demo-models"
PULL_NUMBER = 7


@dataclass(frozen=True)
class Scenario:
    title: str
    tag: str
    roll_back: bool = False
    # The new fleet's container crashes on start, again and again: the wait shows its log, the report its end.
    crashes: bool = False
    strategy: str = "all-at-once"

    @property
    def ends_on_old_config(self) -> bool:
        return self.roll_back or self.crashes

    @property
    def image(self) -> str:
        return f"{REGISTRY}/{REPOSITORY}:{self.tag}"


SCENARIOS = (
    Scenario("1. First deploy: the endpoint does not exist yet", "v1"),
    Scenario("2. Same image again: nothing to do", "v1"),
    Scenario("3. New image: a canary of one instance bakes, then the rest", "v2", strategy="canary"),
    Scenario(
        "4. New image, the alarm fires during the canary's bake: SageMaker rolls back",
        "v3",
        roll_back=True,
        strategy="canary",
    ),
    Scenario(
        "5. New image whose container crashes on start: the report shows its log", "v4", crashes=True, strategy="canary"
    ),
)
# What the crashing container prints after the emulator's start-up lines.
CRASH_LOG = (
    "Loading the model from /opt/ml/model ...",
    "Traceback (most recent call last):",
    '  File "/opt/program/serve.py", line 41, in <module>',
    '    model = load_model("/opt/ml/model")',
    "FileNotFoundError: [Errno 2] No such file or directory: '/opt/ml/model/model.pt'",
)


def _client(emu: Emulator, service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=emu.url,
        region_name=REGION,
        aws_access_key_id="demo",
        aws_secret_access_key="demo",
    )


def _seed(emu: Emulator) -> dict[str, str]:
    cloudwatch = _client(emu, "cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=ALARM,
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Dimensions=[{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": "AllTraffic"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    sns = _client(emu, "sns")
    success = sns.create_topic(Name="demo-inference-success")["TopicArn"]
    error = sns.create_topic(Name="demo-inference-error")["TopicArn"]
    ecr = _client(emu, "ecr")
    ecr.create_repository(repositoryName=REPOSITORY)
    for tag in sorted({s.tag for s in SCENARIOS}):
        # moto derives an image's digest from its layer digests: one distinct layer per tag.
        layer_digest = "sha256:" + hashlib.sha256(f"layer-{tag}".encode()).hexdigest()
        config_digest = "sha256:" + hashlib.sha256(f"config-{tag}".encode()).hexdigest()
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1024,
                "digest": config_digest,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 4096,
                    "digest": layer_digest,
                }
            ],
        }
        ecr.put_image(repositoryName=REPOSITORY, imageManifest=json.dumps(manifest), imageTag=tag)
    return {"success": success, "error": error}


def _action_available() -> bool:
    try:
        return importlib.util.find_spec("sagemaker_async_deploy.__main__") is not None
    except ImportError:
        return False


def _action_defaults() -> dict[str, str]:
    """Defaults from action.yml, which the runner passes for every input a workflow leaves out."""
    path = Path("action.yml")
    if not path.is_file():
        return {}
    # PyYAML is a dev dependency without type stubs here; only the demo run from the repository needs it.
    yaml: Any = importlib.import_module("yaml")
    inputs = (yaml.safe_load(path.read_text()) or {}).get("inputs", {})
    return {name: str(spec.get("default", "")) for name, spec in inputs.items() if isinstance(spec, dict)}


def _commit(run: int) -> str:
    return hashlib.sha1(f"demo-commit-{run}".encode()).hexdigest()  # a fake commit id


def _runner_env(
    emu: Emulator, workdir: Path, inputs: dict[str, str], run: int, github: GitHub | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "INPUT_", "GITHUB_"))}
    sha = _commit(run)
    event = {
        "ref": "refs/heads/main",
        "after": sha,
        "repository": {"full_name": REPOSITORY_NAME, "default_branch": "main"},
        "head_commit": {"id": sha, "message": f"demo run {run}"},
    }
    event_path = workdir / "event.json"
    event_path.write_text(json.dumps(event))
    (workdir / "output").write_text("")
    (workdir / "summary.md").write_text("")
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": emu.url,
            "AWS_EC2_METADATA_DISABLED": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(workdir / "output"),
            "GITHUB_STEP_SUMMARY": str(workdir / "summary.md"),
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REPOSITORY": REPOSITORY_NAME,
            "GITHUB_SHA": sha,
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_RUN_ID": str(1000 + run),
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_SERVER_URL": github.server_url if github else "https://github.com",
            "GITHUB_API_URL": github.api_url if github else "https://api.github.com",
            "GITHUB_WORKSPACE": str(workdir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    for name, value in inputs.items():
        env[f"INPUT_{name.upper()}"] = value
    return env


class GitHub:
    """The local GitHub API the action comments on: one open pull request whose head is each run's commit."""

    def __init__(self, server: Any, token: str) -> None:
        self.server = server
        self.token = token
        self.api_url: str = server.api_url
        self.server_url: str = server.server_url

    @classmethod
    def start(cls) -> GitHub | None:
        """The test suite's GitHub API stand-in, started; None outside a clone (no comment then)."""
        try:
            module: Any = importlib.import_module("tests.github_server")
        except ImportError:
            return None
        server = module.GitHubServer()
        server.start()
        return cls(server, module.WORKFLOW_TOKEN)

    def head(self, run: int) -> None:
        """The pull request's head is this run's commit, as after a push to its branch."""
        self.server.add_pull(REPOSITORY_NAME, PULL_NUMBER, head_sha=_commit(run))

    def comment_body(self) -> str:
        comments = self.server.comments(REPOSITORY_NAME, PULL_NUMBER)
        return str(comments[-1]["body"]) if comments else ""

    def stop(self) -> None:
        self.server.stop()


def parse_outputs(text: str) -> dict[str, str]:
    """The ``name<<DELIMITER`` ... ``DELIMITER`` blocks (and plain ``name=value`` lines) of GITHUB_OUTPUT."""
    outputs: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            value: list[str] = []
            i += 1
            while i < len(lines) and lines[i] != delimiter:
                value.append(lines[i])
                i += 1
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, plain = line.split("=", 1)
            outputs[name] = plain
        i += 1
    return outputs


def _header(title: str) -> None:
    print(f"\n{'=' * 100}\n{title}\n{'=' * 100}", flush=True)


def _section(title: str, body: str) -> None:
    print(f"--- {title} ---")
    print(textwrap.indent(body.rstrip() or "(empty)", "  "), flush=True)


def _run_action(
    emu: Emulator, scenario: Scenario, run: int, topics: dict[str, str], out: Path, github: GitHub | None
) -> bool:
    inputs = _action_defaults()
    inputs.update(
        {
            "endpoint-name": ENDPOINT,
            "image": scenario.image,
            "instance-type": "ml.m5.large",
            "output-path": "s3://demo-bucket/async/output",
            "failure-path": "s3://demo-bucket/async/failure",
            "success-topic": topics["success"],
            "error-topic": topics["error"],
            "alarms": ALARM,
            "bake-seconds": "300",
            "initial-instance-count": "2",  # a fleet a canary can be a part of
            "deployment-strategy": scenario.strategy,
            "execution-role-arn": ROLE,
            "comment": "true" if github else "false",
            "github-token": github.token if github else "",
            "poll-interval-seconds": "0.5",
        }
    )
    if github:
        github.head(run)
    workdir = out / f"run-{run}"
    workdir.mkdir()
    env = _runner_env(emu, workdir, inputs, run, github)
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "sagemaker_async_deploy"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
    _section("action log", completed.stdout + completed.stderr)
    print(f"--- exit status: {completed.returncode} ({time.monotonic() - started:.1f} s) ---")
    outputs = parse_outputs((workdir / "output").read_text())
    _section("outputs", "\n".join(f"{k} = {v!r}" for k, v in outputs.items()))
    _section("job summary", (workdir / "summary.md").read_text())
    if github:
        (workdir / "comment.md").write_text(github.comment_body())
    result = outputs.get("result", "")
    if scenario.ends_on_old_config:
        wanted = "rolled-back" if scenario.roll_back else "failed"
        expected = completed.returncode != 0 and result == wanted
        if not expected:
            print(f"UNEXPECTED: wanted a non-zero exit with result {wanted}, got {completed.returncode} {result!r}")
        return expected
    if completed.returncode != 0:
        print("UNEXPECTED: the action failed")
        return False
    return True


def _run_boto3(
    emu: Emulator, scenario: Scenario, run: int, topics: dict[str, str], out: Path, github: GitHub | None
) -> bool:
    """The same scenario with plain boto3 calls, for when the action cannot run yet."""
    sm = _client(emu, "sagemaker")
    model = f"demo-model-{scenario.tag}"
    config = f"demo-config-{scenario.tag}"
    try:
        current = sm.describe_endpoint(EndpointName=ENDPOINT)
    except sm.exceptions.ClientError:
        current = None
    if current is not None and current["EndpointConfigName"] == config:
        print(f"endpoint already serves {config}: nothing to do")
        print("result = unchanged")
        return True
    sm.create_model(ModelName=model, PrimaryContainer={"Image": scenario.image}, ExecutionRoleArn=ROLE)
    sm.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
        AsyncInferenceConfig={
            "OutputConfig": {
                "S3OutputPath": "s3://demo-bucket/async/output",
                "NotificationConfig": {"SuccessTopic": topics["success"], "ErrorTopic": topics["error"]},
            }
        },
    )
    if current is None:
        sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=config)
        print(f"CreateEndpoint {ENDPOINT} on {config}")
    else:
        sm.update_endpoint(
            EndpointName=ENDPOINT,
            EndpointConfigName=config,
            DeploymentConfig={
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300}
                },
                "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": ALARM}]},
            },
        )
        print(f"UpdateEndpoint {ENDPOINT} -> {config}")
    while True:
        described = sm.describe_endpoint(EndpointName=ENDPOINT)
        print(f"  {described['EndpointStatus']} on {described['EndpointConfigName']}")
        if described["EndpointStatus"] not in ("Creating", "Updating", "RollingBack"):
            break
        time.sleep(0.5)
    on_new = described["EndpointStatus"] == "InService" and described["EndpointConfigName"] == config
    result = "deployed" if on_new else "rolled-back"
    print(f"result = {result}")
    return bool(on_new != scenario.ends_on_old_config)


def _where(out: Path, github: GitHub | None) -> None:
    """Where each run's job summary and comment body are, to open in an editor or a Markdown viewer."""
    _header(f"What each run wrote, kept in {out}")
    for run, scenario in enumerate(SCENARIOS, start=1):
        print(scenario.title)
        for name, what in (("summary.md", "job summary"), ("comment.md", "PR comment")):
            path = out / f"run-{run}" / name
            if path.is_file() and path.read_text().strip():
                print(f"  {what + ':':<13} {path}")
    if github is None:
        print("(no PR comment: tests/github_server.py, the local GitHub API the comment goes to, is not importable)")


def main() -> int:
    use_action = _action_available()
    out = Path(tempfile.mkdtemp(prefix="sagemaker-async-deploy-demo-"))
    github = GitHub.start() if use_action else None
    try:
        return _demo(use_action, out, github)
    finally:
        if github is not None:
            github.stop()


def _demo(use_action: bool, out: Path, github: GitHub | None) -> int:
    with Emulator(timings=TIMINGS) as emu:
        print(f"SageMaker emulator listening on {emu.url}", flush=True)
        topics = _seed(emu)
        print(f"seeded alarm {ALARM}, topics {topics['success']} and {topics['error']}, ECR {REPOSITORY}")
        if not use_action:
            print("sagemaker_async_deploy is not importable yet: driving the scenarios with plain boto3 calls")
        all_expected = True
        for run, scenario in enumerate(SCENARIOS, start=1):
            _header(f"{scenario.title}  (image {scenario.image})")
            if scenario.roll_back:
                emu.faults.rollback_next_update(ENDPOINT, alarm=ALARM)
            if scenario.crashes:
                emu.faults.crash_loop_next_update(CRASH_LOG, ENDPOINT)
            runner = _run_action if use_action else _run_boto3
            all_expected = runner(emu, scenario, run, topics, out, github) and all_expected
        writes = [f"{r.service}:{r.operation}" for r in emu.write_calls()]
        _header("Write calls the emulator saw")
        print(textwrap.fill(", ".join(writes), width=100))
    if use_action:
        _where(out, github)
    print("\ndemo finished as expected" if all_expected else "\ndemo: something unexpected happened")
    return 0 if all_expected else 1


if __name__ == "__main__":
    sys.exit(main())
