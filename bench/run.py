"""`make bench`: what the action costs, measured against the local emulator, printed as a Markdown table.

A benchmark, not a test: it reports the project's targets and whether this run met them; nothing asserts on
the numbers. Run from the checkout as ``python -m bench.run [section ...]``, so the tests' helpers (the
runner's environment, the GitHub API server, the image build) import as the ``tests`` package. Sections:

- ``no-change``: wall time of the whole action process on an endpoint that already serves the image, median
  over RUNS runs, against the floor (``bench/floor.py``: import boto3, one DescribeEndpoint) measured in the
  same loop, in turn with each variant. Three variants: ``comment: false``; the default ``comment: true`` on a
  ``workflow_dispatch`` run (no pull request); and ``comment: true`` on a ``push`` whose commit heads an open
  pull request (the comment is written). Each with its SageMaker and GitHub calls, and whether the process
  imported PyGithub (Python's import report, from a separate run);
- ``update``: an update lasting about 20 s in the emulator, polled at the action's default interval (5 s): how
  long after the endpoint reached InService the action exited, and how often it called DescribeEndpoint;
- ``import``: import time of the entrypoint (``python -X importtime``), with the packages that cost the most;
- ``image``: the action image, built as the container tests build it (docker, else buildah): the size it adds
  on top of its base, the size it would add with the packages the Dockerfile leaves out (cryptography,
  pycparser) put back from the same lock, and container start → first AWS request.
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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from tests.action_runner import ROLE, ActionRun, action_env, digest_image, finish, start_action
from tests.conftest import boto_client, emulator_env
from tests.container import engine as engines
from tests.github_server import WORKFLOW_TOKEN, GitHubServer
from tests.test_supply_chain import RUNTIME_LOCK, requirements

from sagemaker_emulator import Emulator, Timings

ROOT = Path(__file__).resolve().parents[1]
RUNS = 15
UPDATE_SECONDS = (18.0, 20.0, 22.5)  # not all multiples of the poll interval: the lag depends on the phase
POLL_SECONDS = "5"  # the action's default
ENDPOINT = "whisper"
REPOSITORY = "acme/models"  # the repository action_env runs in
SHA = "a" * 40  # the commit action_env runs on
READ_PREFIXES = ("Describe", "List", "Get")
RATIO_TARGET = 1.15
# What the Dockerfile uninstalls after installing the runtime lock.
LEFT_OUT = ("cryptography", "pycparser")

T = TypeVar("T")


@dataclass
class Row:
    metric: str
    measured: str
    target: str = ""
    met: bool | None = None  # None: no target, or not measured here


def _timed(run: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


# --- the no-change path -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One way of running the action on an endpoint that needs no change."""

    label: str
    inputs: dict[str, str]
    event_name: str
    event: dict[str, object] | None
    quiet: bool  # held to the floor target and to no GitHub call and no PyGithub import


COMMENTING = {"comment": "true", "github-token": WORKFLOW_TOKEN}
VARIANTS = (
    Variant("`comment: false`", {"comment": "false"}, "push", None, quiet=True),
    Variant(
        "`comment: true`, `workflow_dispatch`",
        COMMENTING,
        "workflow_dispatch",
        {"ref": "refs/heads/main", "inputs": {}},
        quiet=True,
    ),
    Variant("`comment: true`, `push` (commit of an open PR)", COMMENTING, "push", None, quiet=False),
)


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    reads: list[int] = field(default_factory=list)
    writes: list[int] = field(default_factory=list)
    github: list[int] = field(default_factory=list)
    other_aws: set[str] = field(default_factory=set)
    pygithub: bool = False


def _run_variant(emu: Emulator, gh: GitHubServer, tmp: Path, variant: Variant, extra: dict[str, str]) -> ActionRun:
    env = action_env(
        emu,
        tmp,
        variant.inputs,
        event_name=variant.event_name,
        event=variant.event,
        extra={"GITHUB_API_URL": gh.api_url, "GITHUB_SERVER_URL": gh.server_url, **extra},
    )
    return finish(start_action(env), env)


def _timed_variant(emu: Emulator, gh: GitHubServer, tmp: Path, variant: Variant) -> tuple[float, ActionRun]:
    return _timed(lambda: _run_variant(emu, gh, tmp, variant, {}))


def _floor(emu: Emulator) -> float:
    env = {"PATH": os.environ.get("PATH", ""), **emulator_env(emu)}
    cmd = [sys.executable, str(ROOT / "bench" / "floor.py"), ENDPOINT]
    seconds, _ = _timed(lambda: subprocess.run(cmd, env=env, check=True, capture_output=True))
    return seconds


def _imports_pygithub(run: ActionRun) -> bool:
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \| +(\S+)$", run.stderr, re.M)
    if not any(name == "boto3" for name in names):
        raise RuntimeError("the action's import report is missing: " + run.stderr[-2000:])
    return any(name.split(".")[0] == "github" for name in names)


def no_change(tmp: Path) -> list[Row]:
    samples = {variant.label: Samples() for variant in VARIANTS}
    floor_times: list[float] = []
    with Emulator(timings=Timings(create=0.2, update=0.2, rollback=0.2, delete=0.1)) as emu, GitHubServer() as gh:
        gh.add_pull(REPOSITORY, 7, head_sha=SHA)
        created = _run_variant(emu, gh, tmp / "create", VARIANTS[0], {})
        assert created.result == "created", created.stdout + created.stderr
        for variant in VARIANTS:  # untimed: the PR comment exists from here on, and which modules load is known
            run = _run_variant(emu, gh, tmp / f"profile-{len(floor_times)}", variant, {"PYTHONPROFILEIMPORTTIME": "1"})
            assert run.result == "unchanged", run.stdout + run.stderr
            samples[variant.label].pygithub = _imports_pygithub(run)
            floor_times.append(_floor(emu))  # also warms the interpreter and the page cache
        floor_times.clear()
        for n in range(RUNS):
            # Each round runs every variant, each followed by the floor, starting one further along each round.
            for k in range(len(VARIANTS)):
                variant = VARIANTS[(n + k) % len(VARIANTS)]
                emu.clear_requests()
                gh.calls.clear()
                seconds, run = _timed_variant(emu, gh, tmp / f"run-{n}-{k}", variant)
                assert run.result == "unchanged", run.stdout + run.stderr
                got = samples[variant.label]
                got.seconds.append(seconds)
                sm = [r for r in emu.requests if r.service == "sagemaker"]
                got.reads.append(sum(r.operation.startswith(READ_PREFIXES) for r in sm))
                got.writes.append(sum(not r.operation.startswith(READ_PREFIXES) for r in sm))
                got.other_aws |= {f"{r.service}:{r.operation}" for r in emu.requests if r.service != "sagemaker"}
                got.github.append(len(gh.calls))
                floor_times.append(_floor(emu))

    floor = statistics.median(floor_times)
    rows = [
        Row(
            f"floor: import boto3 + one DescribeEndpoint (median of {len(floor_times)})",
            f"{floor:.2f} s (min {min(floor_times):.2f}, max {max(floor_times):.2f})",
        )
    ]
    for variant in VARIANTS:
        got = samples[variant.label]
        median = statistics.median(got.seconds)
        ratio = median / floor
        spread = f"min {min(got.seconds):.2f}, max {max(got.seconds):.2f}"
        # The fastest runs of each, compared: less moved by whatever else the machine is doing.
        fastest = min(got.seconds) / min(floor_times)
        rows.append(
            Row(
                f"no-change run, {variant.label}: time (median of {RUNS}) / floor",
                f"{median:.2f} s ({spread}) = **{ratio:.2f}×** (fastest to fastest: {fastest:.2f}×)",
                f"≤ {RATIO_TARGET}×" if variant.quiet else "",
                ratio <= RATIO_TARGET if variant.quiet else None,
            )
        )
        github = statistics.median(got.github)
        pygithub = "imported" if got.pygithub else "not imported"
        calls = (
            f"{max(got.reads)} SageMaker reads, {max(got.writes)} writes; {github:g} GitHub calls"
            f" (min {min(got.github)}, max {max(got.github)}); PyGithub {pygithub}"
        )
        if got.other_aws:
            calls += f"; other AWS: {sorted(got.other_aws)}"
        # DescribeEndpoint, its config, its model, and ListTags of the endpoint: the autoscaling record an
        # interrupted run may have left there.
        sagemaker_ok = max(got.reads) <= 4 and max(got.writes) == 0 and not got.other_aws
        rows.append(
            Row(
                f"calls per run, {variant.label}",
                calls,
                "≤ 4 reads, 0 writes, 0 GitHub calls, no PyGithub" if variant.quiet else "≤ 4 reads, 0 writes",
                sagemaker_ok and (max(got.github) == 0 and not got.pygithub if variant.quiet else True),
            )
        )
    return rows


# --- an update: the wait ----------------------------------------------------------------------------------


def update(tmp: Path) -> list[Row]:
    """An all-at-once update lasting about 20 s, and a linear one (four steps of 25 % on four instances)."""
    rows = _waits(tmp / "all-at-once", UPDATE_SECONDS, {}, "all-at-once updates")
    # A linear update of four steps lasts 2.5 × the emulator's update phase (each further step adds half).
    linear = tuple(total / 2.5 for total in UPDATE_SECONDS)
    inputs = {"initial-instance-count": "4", "deployment-strategy": "linear", "step-size": "25%"}
    return rows + _waits(tmp / "linear", linear, inputs, "linear updates of 4 steps", totals=UPDATE_SECONDS)


def _waits(
    tmp: Path,
    phases: tuple[float, ...],
    inputs: dict[str, str],
    label: str,
    *,
    totals: tuple[float, ...] | None = None,
) -> list[Row]:
    lags: list[float] = []
    rates: list[float] = []
    gaps: list[float] = []
    for k, duration in enumerate(phases):
        with Emulator(timings=Timings(create=0.3, update=duration, rollback=1.0, delete=0.1)) as emu:
            create_env = action_env(emu, tmp / f"u{k}-create", inputs)
            created = finish(start_action(create_env), create_env)
            assert created.result == "created", created.stdout + created.stderr
            emu.clear_requests()
            env = action_env(
                emu,
                tmp / f"u{k}-update",
                {**inputs, "image": digest_image(2), "poll-interval-seconds": POLL_SECONDS},
            )
            run = finish(start_action(env), env, timeout=duration * 3 + 120)
            exited = time.time()
            assert run.result == "updated", run.stdout + run.stderr
            records = emu.requests  # the action's calls only: the bench's own DescribeEndpoint comes next
            in_service = boto_client(emu, "sagemaker").describe_endpoint(EndpointName=ENDPOINT)["LastModifiedTime"]
            lags.append(exited - in_service.timestamp())
            started = next(r.time for r in records if r.operation == "UpdateEndpoint")
            reads = [r.time for r in records if r.operation == "DescribeEndpoint" and r.time >= started]
            # The wait's polls end with the first that saw InService; later reads are the cleanup's (the sweep
            # reads the endpoint again before it deletes anything).
            settled = next(t for t in reads if t >= in_service.timestamp())
            polls = [t for t in reads if t <= settled]
            rates.append((len(polls) - 1) / (polls[-1] - started) * 60)
            gaps.append(min(b - a for a, b in itertools.pairwise(polls)))
    durations = ", ".join(f"{d:g}" for d in (totals or phases))
    return [
        Row(
            f"exit after InService ({label}, lasting {durations} s, poll {POLL_SECONDS} s)",
            ", ".join(f"{lag:.1f}" for lag in lags) + f" s (max {max(lags):.1f} s)",
            "≤ 5 s",
            max(lags) <= 5.0,
        ),
        Row(
            f"DescribeEndpoint while waiting ({label})",
            f"{max(rates):.1f} per minute; shortest gap {min(gaps):.2f} s",
            "≤ 1 per 5 s (12 per minute)",
            min(gaps) >= 4.99,
        ),
    ]


# --- import time ------------------------------------------------------------------------------------------


def import_time() -> list[Row]:
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
    return [
        Row(
            "import of the entrypoint (`-X importtime`, median of 5)",
            f"{statistics.median(totals):.2f} s; costliest: " + ", ".join(top),
        ),
        Row("bare interpreter start (`python -c pass`)", f"{startup:.2f} s"),
    ]


# --- the image --------------------------------------------------------------------------------------------


def _image_bytes(engine: engines.Engine, reference: str) -> int:
    """The uncompressed size of an image's layers as the engine stores them."""
    if engine.name == "docker":
        out = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Size}}", reference],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(out.stdout.strip())
    out = subprocess.run(
        ["buildah", "inspect", "--type", "image", reference], capture_output=True, text=True, check=True
    )
    manifest = json.loads(json.loads(out.stdout)["Manifest"])
    return sum(int(layer["size"]) for layer in manifest["layers"])


def _with_left_out_packages(engine: engines.Engine, tmp: Path) -> str:
    """The action image plus what its Dockerfile uninstalls, put back from the same lock, the same way."""
    locked = requirements(RUNTIME_LOCK.read_text())
    lines = [
        " ".join([name, *(f"--hash={h}" for h in hashes)])
        for name, hashes in locked.items()
        if name.split("==")[0] in LEFT_OUT
    ]
    context = tmp / "left-out"
    context.mkdir(parents=True)
    (context / "left-out.txt").write_text("\n".join(lines) + "\n")
    (context / "Containerfile").write_text(
        f"FROM {engine.image}\n"
        "COPY left-out.txt /tmp/left-out.txt\n"
        "RUN pip install --no-deps --require-hashes --only-binary=:all: -r /tmp/left-out.txt && rm /tmp/left-out.txt\n"
    )
    tag = f"{engine.image}-with-left-out"
    if engine.name == "docker":
        cmd = ["docker", "build", "-q", "-t", tag, "-f", str(context / "Containerfile"), str(context)]
    else:
        cmd = ["buildah", "bud", "-q", "--isolation", "chroot", "--network", "host", "-t", tag]
        if engines.CA_BUNDLE.exists():
            cmd += ["-v", f"{engines.CA_BUNDLE}:{engines.CA_BUNDLE}:ro"]
        cmd += ["-f", str(context / "Containerfile"), str(context)]
    subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=engines.BUILD_TIMEOUT)
    return tag


def image(tmp: Path) -> list[Row]:
    not_here = [
        Row("image size added on top of the base", "n/a", "≤ 45 MB"),
        Row("container start → first AWS request", "n/a", "≤ 1 s"),
    ]
    try:
        engine = engines.pick_engine()
        engine.build()
    except Exception as error:  # no engine, or the build failed: say why, measure the rest
        reason = str(error).splitlines()[0][:200]
        for row in not_here:
            row.measured = f"n/a: {reason}"
        return not_here

    base = engines.pullable(engine.base)
    added = _image_bytes(engine, engine.image) - _image_bytes(engine, base)
    before_tag = _with_left_out_packages(engine, tmp)
    before = _image_bytes(engine, before_tag) - _image_bytes(engine, base)
    remove = ["docker", "image", "rm"] if engine.name == "docker" else ["buildah", "rmi"]
    subprocess.run([*remove, before_tag], capture_output=True, check=False)

    delays: list[float] = []
    bare: list[float] = []
    for n in range(5):
        with Emulator(timings=Timings(create=0.2)) as emu:
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
            delays.append(emu.requests[0].time - engine.started_at)
        # What the engine itself costs: the same container running an interpreter that does nothing.
        engine.run_action({}, {}, tmp / f"bare{n}", command=["python", "-c", "pass"])
        bare.append(time.time() - engine.started_at)
    delay = statistics.median(delays)
    on = f"{engine.name}, {engine.base_kind} base"
    return [
        Row(
            f"image size added on top of the base ({on})",
            f"{added / 1e6:.1f} MB (uncompressed layers)",
            "≤ 45 MB",
            added <= 45e6,
        ),
        Row(
            "the same with cryptography and pycparser kept (before they were left out)",
            f"{before / 1e6:.1f} MB: leaving them out saves {(before - added) / 1e6:.1f} MB",
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
        ),
    ]


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


SECTIONS: dict[str, Callable[[Path], list[Row]]] = {
    "no-change": no_change,
    "update": update,
    "import": lambda _: import_time(),
    "image": image,
}


def main(argv: list[str]) -> int:
    """Run every section, or those named on the command line (e.g. ``python -m bench.run import image``)."""
    chosen = argv or list(SECTIONS)
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        print(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        for section in chosen:
            print(f"measuring: {section} ...", file=sys.stderr, flush=True)
            rows += SECTIONS[section](Path(folder) / section)

    print(f"\n{datetime.now(UTC):%Y-%m-%d}, {machine()}\n")
    print("| measure | result | target | met |")
    print("|---|---|---|---|")
    for row in rows:
        met = "" if row.target == "" else ("n/a" if row.met is None else ("yes" if row.met else "**no**"))
        print(f"| {row.metric} | {row.measured} | {row.target} | {met} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
