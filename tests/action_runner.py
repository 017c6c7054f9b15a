"""Runs the real action (``python -m sagemaker_async_deploy``) as the Actions runner runs a container action.

Inputs arrive as INPUT_<NAME> with hyphens kept; GITHUB_OUTPUT and GITHUB_STEP_SUMMARY are files; the event
is a JSON file. AWS is the local emulator through AWS_ENDPOINT_URL, exactly as boto3 honours it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagemaker_emulator import Emulator

from .conftest import emulator_env

ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/whisper"


def digest_image(n: int, repo: str = REPO) -> str:
    """A distinct, well-formed digest reference per number."""
    return f"{repo}@sha256:{n:064x}"


BASE_INPUTS = {
    "endpoint-name": "whisper",
    "image": digest_image(1),
    "instance-type": "ml.g4dn.xlarge",
    "output-path": "s3://inference-bucket/whisper/out/",
    "execution-role-arn": ROLE,
    "comment": "false",
    "poll-interval-seconds": "0.1",
    "deployment-timeout-minutes": "2",
}

_DELIMITED = re.compile(r"^(?P<name>[^\n<]+)<<(?P<delim>\S+)\n(?P<value>.*?)\n(?P=delim)$", re.S | re.M)


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT as the runner reads it: ``name<<DELIM`` blocks (and plain ``name=value`` lines)."""
    outputs = {m["name"]: m["value"] for m in _DELIMITED.finditer(text)}
    for line in text.splitlines():
        if "=" in line and "<<" not in line and line.split("=", 1)[0] not in outputs:
            name, value = line.split("=", 1)
            if re.fullmatch(r"[A-Za-z0-9_-]+", name):
                outputs[name] = value
    return outputs


@dataclass
class ActionRun:
    exit_code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    output_file: str
    summary: str

    @property
    def result(self) -> str:
        return self.outputs.get("result", "")

    @property
    def changes(self) -> list[dict[str, str]]:
        return list(json.loads(self.outputs.get("changes", "[]")))

    @property
    def lines(self) -> list[str]:
        return (self.stdout + self.stderr).splitlines()

    def errors(self) -> list[str]:
        return [line for line in self.lines if line.startswith("::error")]


def action_env(
    emu: Emulator,
    tmp: Path,
    inputs: dict[str, str],
    *,
    event_name: str = "push",
    event: dict[str, Any] | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    tmp.mkdir(parents=True, exist_ok=True)
    event_path = tmp / "event.json"
    event_path.write_text(json.dumps(event or {"ref": "refs/heads/main", "after": "a" * 40}))
    output = tmp / "set_output"
    summary = tmp / "step_summary"
    output.touch()
    summary.touch()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_REPOSITORY": "acme/models",
        "GITHUB_SHA": "a" * 40,
        "GITHUB_RUN_ID": "4242",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_API_URL": "https://api.github.com",
        **emulator_env(emu),
    }
    for name, value in {**BASE_INPUTS, **inputs}.items():
        if value is not None:
            env[f"INPUT_{name.upper()}"] = value
    env.update(extra or {})
    return env


def start_action(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sagemaker_async_deploy"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], env: dict[str, str], timeout: float = 120) -> ActionRun:
    stdout, stderr = process.communicate(timeout=timeout)
    output_text = Path(env["GITHUB_OUTPUT"]).read_text()
    return ActionRun(
        exit_code=process.returncode,
        stdout=stdout,
        stderr=stderr,
        outputs=parse_outputs(output_text),
        output_file=output_text,
        summary=Path(env["GITHUB_STEP_SUMMARY"]).read_text(),
    )


def run_action(emu: Emulator, tmp: Path, inputs: dict[str, str] | None = None, **kwargs: Any) -> ActionRun:
    """Run the action to completion with BASE_INPUTS overridden by ``inputs`` (None removes an input)."""
    env = action_env(emu, tmp, inputs or {}, **kwargs)
    return finish(start_action(env), env)


def kill_when(
    process: subprocess.Popen[str], emu: Emulator, operation: str, timeout: float = 30, service: str = "sagemaker"
) -> None:
    """SIGKILL the action right after the emulator has answered ``operation`` of ``service`` (a crash at that step)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if operation in emu.operations(service):
            process.send_signal(signal.SIGKILL)
            process.wait()
            # A call the run sent just before the kill is still answered; wait for it, so that what the log
            # shows next is all the killed run did.
            emu.wait_idle()
            return
        time.sleep(0.01)
    process.kill()
    raise AssertionError(f"the action never called {operation}")


def answered(emu: Emulator, operation: str, service: str = "sagemaker") -> int:
    """How many ``operation`` requests of ``service`` the emulator has answered with success (not refused, e.g.
    throttled)."""
    return sum(1 for r in emu.requests if r.service == service and r.operation == operation and r.status == 200)


def wait_for_call(
    emu: Emulator, operation: str, *, after: int = 0, service: str = "sagemaker", timeout: float = 30
) -> None:
    """Until the emulator has answered ``operation`` of ``service`` with success more than ``after`` times: a
    state a run reached (the log records a request once it is answered), not a length of time."""
    deadline = time.time() + timeout
    while answered(emu, operation, service) <= after:
        if time.time() > deadline:
            raise AssertionError(f"the emulator never answered {operation} more than {after} time(s)")
        time.sleep(0.01)


def waiting_run(emu: Emulator, env: dict[str, str], endpoint: str = "whisper") -> subprocess.Popen[str]:
    """Start the action on an endpoint a test holds Updating, and release the hold once the run has read the
    endpoint (its first DescribeEndpoint is answered): it found the update in flight and waits for it, however
    long its start-up took."""
    before = answered(emu, "DescribeEndpoint")
    process = start_action(env)
    wait_for_call(emu, "DescribeEndpoint", after=before)
    emu.faults.release(endpoint)
    return process


def settle_held(emu: Emulator, endpoint: str = "whisper") -> None:
    """Run a held endpoint's lifecycle to its end now, each phase at once, then release it: the update has
    settled before anything that follows starts."""
    while emu.faults.step(endpoint):
        pass
    emu.faults.release(endpoint)
