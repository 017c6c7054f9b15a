"""`make bench`: what the action costs, measured against the local emulator, printed as a Markdown table.

A benchmark, not a test: it reports the targets of the project and whether this run met them; nothing
asserts on the numbers. Sections:

- no-change path: wall time of the whole action process (``comment: false``), median over RUNS runs, with the
  SageMaker reads and writes and the GitHub calls each run made, next to the floor (``bench/floor.py``: import
  boto3, one DescribeEndpoint) measured in the same loop, alternating with the action;
- an update lasting about 20 s in the emulator, polled at the action's default interval (5 s): how long after
  the endpoint reached InService the action exited, and how often it called DescribeEndpoint while waiting;
- import time of the entrypoint (``python -X importtime``), with the packages that cost the most;
- the action image: size added on top of the base image and container start → first AWS request, when the
  image builds here (docker, else buildah, built as the container tests build it).
"""

# ruff: noqa: S603, S607  (runs this machine's own interpreter, docker and buildah, with arguments it builds)
from __future__ import annotations

import itertools
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test helpers: the runner's environment, the GitHub server, the image build

from tests.action_runner import ROLE, action_env, digest_image, finish, start_action  # noqa: E402
from tests.conftest import boto_client, emulator_env  # noqa: E402
from tests.github_server import WORKFLOW_TOKEN, GitHubServer  # noqa: E402

from sagemaker_emulator import Emulator, Timings  # noqa: E402

RUNS = 9
UPDATE_SECONDS = (18.0, 20.0, 22.5)  # not all multiples of the poll interval: the lag depends on the phase
POLL_SECONDS = "5"  # the action's default
ENDPOINT = "whisper"
READ_PREFIXES = ("Describe", "List", "Get")


@dataclass
class Row:
    metric: str
    measured: str
    target: str
    met: bool | None  # None: not measured here


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def _action(emu: Emulator, tmp: Path, inputs: dict[str, str], **kwargs: Any) -> tuple[float, Any]:
    env = action_env(emu, tmp, inputs, **kwargs)
    return _timed(lambda: finish(start_action(env), env))


def _floor(emu: Emulator) -> float:
    env = {"PATH": os.environ.get("PATH", ""), **emulator_env(emu)}
    cmd = [sys.executable, str(ROOT / "bench" / "floor.py"), ENDPOINT]
    seconds, _ = _timed(lambda: subprocess.run(cmd, env=env, check=True, capture_output=True))
    return seconds


# --- the no-change path -----------------------------------------------------------------------------------


def no_change(tmp: Path) -> list[Row]:
    with Emulator(timings=Timings(create=0.2, update=0.2, rollback=0.2, delete=0.1)) as emu, GitHubServer() as gh:
        github = {"GITHUB_API_URL": gh.api_url, "GITHUB_SERVER_URL": gh.server_url}
        _, created = _action(emu, tmp / "create", {}, extra=github)
        assert created.result == "created", created.stdout + created.stderr
        action_times: list[float] = []
        floor_times: list[float] = []
        reads: list[int] = []
        writes: list[int] = []
        others: list[str] = []
        gh.calls.clear()
        for n in range(RUNS):
            # Alternate which goes first, so neither always runs on a warmer machine.
            if n % 2:
                floor_times.append(_floor(emu))
            emu.clear_requests()
            seconds, run = _action(emu, tmp / f"nochange{n}", {"comment": "false"}, extra=github)
            assert run.result == "unchanged", run.stdout + run.stderr
            action_times.append(seconds)
            sm = [r for r in emu.requests if r.service == "sagemaker"]
            reads.append(sum(r.operation.startswith(READ_PREFIXES) for r in sm))
            writes.append(sum(not r.operation.startswith(READ_PREFIXES) for r in sm))
            others += [f"{r.service}:{r.operation}" for r in emu.requests if r.service != "sagemaker"]
            if not n % 2:
                floor_times.append(_floor(emu))
        github_calls = len(gh.calls)

        # The same no-change run writing the pull request comment: what the comment costs.
        gh.add_pull("acme/models", 7, head_sha="a" * 40)
        event = {"pull_request": {"number": 7, "title": "Roll out", "head": {"sha": "a" * 40}}}
        comment_times: list[float] = []
        gh.calls.clear()
        for n in range(3):
            seconds, run = _action(
                emu,
                tmp / f"comment{n}",
                {"comment": "true", "github-token": WORKFLOW_TOKEN},
                event_name="pull_request",
                event=event,
                extra=github,
            )
            assert run.result == "unchanged" and run.outputs.get("comment-url"), run.stdout + run.stderr
            comment_times.append(seconds)
        comment_calls = len(gh.calls) / 3

    action, floor = statistics.median(action_times), statistics.median(floor_times)
    ratio = action / floor
    return [
        Row(
            f"no-change run, `comment: false` (median of {RUNS})",
            f"{action:.2f} s (min {min(action_times):.2f}, max {max(action_times):.2f})",
            "",
            None,
        ),
        Row(
            f"floor: import boto3 + one DescribeEndpoint (median of {RUNS})",
            f"{floor:.2f} s (min {min(floor_times):.2f}, max {max(floor_times):.2f})",
            "",
            None,
        ),
        Row("no-change run / floor", f"{ratio:.2f}×", "≤ 1.3×", ratio <= 1.3),
        Row(
            "SageMaker calls on the no-change path (per run)",
            f"{max(reads)} reads, {max(writes)} writes" + (f"; other AWS: {sorted(set(others))}" if others else ""),
            # DescribeEndpoint, its config, its model, and ListTags of the endpoint: the autoscaling record an
            # interrupted run may have left there.
            "≤ 4 reads, 0 writes",
            max(reads) <= 4 and max(writes) == 0 and not others,
        ),
        Row("GitHub API calls with `comment: false`", str(github_calls), "0", github_calls == 0),
        Row(
            "no-change run writing the PR comment (median of 3)",
            f"{statistics.median(comment_times):.2f} s, {comment_calls:.0f} GitHub calls",
            "",
            None,
        ),
    ]


# --- an update: the wait ----------------------------------------------------------------------------------


def update(tmp: Path) -> list[Row]:
    lags: list[float] = []
    rates: list[float] = []
    gaps: list[float] = []
    for k, duration in enumerate(UPDATE_SECONDS):
        with Emulator(timings=Timings(create=0.3, update=duration, rollback=1.0, delete=0.1)) as emu:
            _, created = _action(emu, tmp / f"u{k}-create", {})
            assert created.result == "created", created.stdout + created.stderr
            emu.clear_requests()
            env = action_env(
                emu, tmp / f"u{k}-update", {"image": digest_image(2), "poll-interval-seconds": POLL_SECONDS}
            )
            run = finish(start_action(env), env, timeout=duration + 120)
            exited = time.time()
            assert run.result == "updated", run.stdout + run.stderr
            records = emu.requests  # the action's calls only: the bench's own DescribeEndpoint comes next
            in_service = boto_client(emu, "sagemaker").describe_endpoint(EndpointName=ENDPOINT)["LastModifiedTime"]
            lags.append(exited - in_service.timestamp())
            started = next(r.time for r in records if r.operation == "UpdateEndpoint")
            polls = [r.time for r in records if r.operation == "DescribeEndpoint" and r.time >= started]
            waited = polls[-1] - started
            rates.append((len(polls) - 1) / waited * 60)
            gaps.append(min(b - a for a, b in itertools.pairwise(polls)))
    durations = ", ".join(f"{d:g}" for d in UPDATE_SECONDS)
    return [
        Row(
            f"exit after InService (updates of {durations} s, poll {POLL_SECONDS} s)",
            ", ".join(f"{lag:.1f}" for lag in lags) + f" s (max {max(lags):.1f} s)",
            "≤ 5 s",
            max(lags) <= 5.0,
        ),
        Row(
            "DescribeEndpoint while waiting",
            f"{max(rates):.1f} per minute; shortest gap {min(gaps):.2f} s",
            "≤ 1 per 5 s (12 per minute)",
            min(gaps) >= 4.99,
        ),
    ]


# --- import time ------------------------------------------------------------------------------------------


def import_time() -> tuple[list[Row], list[str]]:
    totals: list[float] = []
    by_package: dict[str, list[float]] = {}
    for _ in range(5):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import sagemaker_async_deploy.main"],
            capture_output=True,
            text=True,
            check=True,
        )
        total = 0.0
        run: dict[str, float] = {}
        for line in result.stderr.splitlines():
            match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)", line)
            if not match:
                continue
            if not match[3]:  # top level: its cumulative time includes everything it imported
                total += int(match[2]) / 1e6
            # Self times add up to the total: charged to the distribution each module belongs to.
            package = match[4].split(".")[0]
            run[package] = run.get(package, 0.0) + int(match[1]) / 1e6
        totals.append(total)
        for package, seconds in run.items():
            by_package.setdefault(package, []).append(seconds)
    costly = sorted(by_package.items(), key=lambda item: -statistics.median(item[1]))[:5]
    top = [f"{name} {statistics.median(times) * 1000:.0f} ms" for name, times in costly]
    startup, _ = _timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
    rows = [
        Row(
            "import of the entrypoint (`-X importtime`, median of 5)",
            f"{statistics.median(totals):.2f} s; costliest: " + ", ".join(top),
            "",
            None,
        ),
        Row("bare interpreter start (`python -c pass`)", f"{startup:.2f} s", "", None),
    ]
    return rows, top


# --- the image --------------------------------------------------------------------------------------------


def image(tmp: Path) -> list[Row]:
    from tests.container import engine as engines

    not_here = [
        Row("image size added on top of the base", "n/a", "≤ 45 MB", None),
        Row("container start → first AWS request", "n/a", "≤ 1 s", None),
    ]
    try:
        engine = engines.pick_engine()
        engine.build()
    except Exception as error:  # no engine, or the build failed: say why, measure the rest
        reason = str(error).splitlines()[0][:200]
        for row in not_here:
            row.measured = f"n/a: {reason}"
        return not_here

    added = _image_delta(engine)

    # When `run` starts is recorded by wrapping the helper's own command runner.
    starts: list[float] = []
    original = engines._run

    def recording(cmd: list[str], timeout: float, check: bool = True) -> subprocess.CompletedProcess[str]:
        if cmd[1:2] == ["run"]:
            starts.append(time.time())
        return original(cmd, timeout, check)

    engines._run = recording
    delays: list[float] = []
    bare: list[float] = []
    try:
        for n in range(5):
            with Emulator(timings=Timings(create=0.2)) as emu:
                starts.clear()
                inputs = {
                    "endpoint-name": ENDPOINT,
                    "image": digest_image(1),
                    "instance-type": "ml.g4dn.xlarge",
                    "output-path": "s3://inference-bucket/whisper/out/",
                    "execution-role-arn": ROLE,
                    "mode": "plan",
                    "comment": "false",
                }
                result = engine.run_action(inputs, emulator_env(emu), tmp / f"container{n}")
                assert result.outputs.get("result") == "would-create", result.log
                delays.append(emu.requests[0].time - starts[0])
            # What the engine itself costs: the same container running an interpreter that does nothing.
            starts.clear()
            engine.run_action({}, {}, tmp / f"bare{n}", command=["python", "-c", "pass"])
            bare.append(time.time() - starts[0])
    finally:
        engines._run = original
    delay = statistics.median(delays)
    return [
        Row(
            f"image size added on top of the base ({engine.name})",
            f"{added / 1e6:.1f} MB (uncompressed layers)",
            "≤ 45 MB",
            added <= 45e6,
        ),
        Row(
            f"container start → first AWS request ({engine.name} run, median of 5)",
            f"{delay:.2f} s (min {min(delays):.2f}, max {max(delays):.2f})",
            "≤ 1 s",
            delay <= 1.0,
        ),
        Row(
            f"container start → `python -c pass` exits ({engine.name} run, median of 5)",
            f"{statistics.median(bare):.2f} s",
            "",
            None,
        ),
    ]


def _image_delta(engine: Any) -> int:
    """Bytes of the layers the Dockerfile adds on top of its base image."""
    if engine.name == "docker":

        def size(ref: str) -> int:
            out = subprocess.run(
                ["docker", "image", "inspect", "--format", "{{.Size}}", ref], capture_output=True, text=True, check=True
            )
            return int(out.stdout.strip())

        return size(engine.image) - size("python:3.11-slim-bookworm")

    def layers(ref: str) -> int:
        out = subprocess.run(["buildah", "inspect", "--type", "image", ref], capture_output=True, text=True, check=True)
        manifest = json.loads(json.loads(out.stdout)["Manifest"])
        return sum(int(layer["size"]) for layer in manifest["layers"])

    # The base the helper built the image on (the stand-in for the official slim image).
    return layers(engine.image) - layers(engine._base())


# --- the report -------------------------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), {platform.system()}, Python {platform.python_version()}"


SECTIONS = ("no-change", "update", "import", "image")


def main(argv: list[str]) -> int:
    """Run every section, or those named on the command line (e.g. ``bench/run.py import image``)."""
    chosen = argv or list(SECTIONS)
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        print(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        tmp = Path(folder)
        for section in chosen:
            print(f"measuring: {section} ...", file=sys.stderr, flush=True)
            if section == "no-change":
                rows += no_change(tmp)
            elif section == "update":
                rows += update(tmp)
            elif section == "import":
                rows += import_time()[0]
            else:
                rows += image(tmp)

    print(f"\n{datetime.now(UTC):%Y-%m-%d}, {machine()}\n")
    print("| measure | result | target | met |")
    print("|---|---|---|---|")
    for row in rows:
        met = "" if row.target == "" else ("yes" if row.met else ("n/a" if row.met is None else "**no**"))
        print(f"| {row.metric} | {row.measured} | {row.target} | {met} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
