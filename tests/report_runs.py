"""Real runs of the action against the emulator whose reports the browser test measures and the README shows.

Four stories, each run the way the Actions runner runs the action, on a pull request whose comment the local
GitHub API server keeps: a successful update, a plan, an update an alarm rolls back, and an update whose new
fleet crashes on start. The emulator's CloudWatch Logs and alarms (moto, on the emulator's port) are seeded the
way SageMaker and CloudWatch fill them: the old fleet's stream exists before the run and keeps logging during
it, the new fleet's stream appears once UpdateEndpoint was called, and the rollback alarm goes to ALARM then.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sagemaker_emulator import Emulator, Timings

from .action_runner import ActionRun, run_action
from .conftest import ACCOUNT_ID, boto_client
from .github_server import WORKFLOW_TOKEN, GitHubServer
from .seed import seed_alarm

REPO = "acme/models"
PULL = 7
SHA = "a" * 40
ENDPOINT = "whisper"
GROUP = f"/aws/sagemaker/Endpoints/{ENDPOINT}"
ALARM = "whisper-5xx"
# Long enough for the seeding thread to act while the endpoint is Updating.
TIMINGS = Timings(create=0.6, update=1.5, rollback=0.6, delete=0.2)
IMAGE_REPO = f"{ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/whisper"


def image(version: str) -> str:
    """The whisper image of a version, pinned by a digest of its own."""
    return f"{IMAGE_REPO}@sha256:{hashlib.sha256(version.encode()).hexdigest()}"


OLD_FLEET_LINES = ("GET /ping HTTP/1.1 200", "POST /invocations HTTP/1.1 200 (1.84 s)")
STARTUP = (
    "Starting the inference server with 1 worker.",
    "Loading the model from /opt/ml/model ...",
    "Traceback (most recent call last):",
    '  File "/opt/program/serve.py", line 41, in <module>',
    '    model = WhisperModel.load("/opt/ml/model", device="cuda", compute_type="float16")',
    '  File "/usr/local/lib/python3.11/site-packages/whisper_serving/model.py", line 88, in load',
    '    weights = torch.load(path / "model.pt", map_location=device)',
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 22.19 GiB total capacity; "
    "21.02 GiB already allocated)",
)
SERVING_BADLY = (
    "Starting the inference server with 1 worker.",
    "Loading the model from /opt/ml/model ... done in 41.2 s",
    "GET /ping HTTP/1.1 200",
    "POST /invocations HTTP/1.1 500 (0.02 s): ValueError: expected 16000 Hz audio, got 44100 Hz",
    "POST /invocations HTTP/1.1 500 (0.02 s): ValueError: expected 16000 Hz audio, got 44100 Hz",
)
HEALTH_CHECK = (
    "The primary container for production variant AllTraffic did not pass the ping health check. "
    "Please check CloudWatch logs for this endpoint."
)
ALARM_REASON = (
    "Threshold Crossed: 1 out of the last 1 datapoints [4.0 (26/11/26 10:41:00)] was greater than or equal to the "
    "threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
)


def after_call(emu: Emulator, operation: str, action: Callable[[], None]) -> threading.Thread:
    """A started thread that runs ``action`` once the emulator has answered ``operation`` (SageMaker)."""

    def watch() -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            if operation in emu.operations("sagemaker"):
                action()
                return
            time.sleep(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@dataclass(frozen=True)
class Report:
    run: ActionRun
    summary: str  # what the run appended to GITHUB_STEP_SUMMARY
    comment: str  # the PR comment's body after the run, without its hidden marker line


@contextmanager
def stage(tmp: Path) -> Iterator[Stage]:
    """An emulator and a GitHub API server with the pull request, for a series of runs."""
    emu = Emulator(timings=TIMINGS, account_id=ACCOUNT_ID).start(port=0)
    try:
        with GitHubServer() as github:
            github.add_pull(REPO, PULL, head_sha=SHA)
            yield Stage(emu, github, tmp)
    finally:
        emu.stop()


class Stage:
    def __init__(self, emu: Emulator, github: GitHubServer, tmp: Path) -> None:
        self.emu = emu
        self.github = github
        self.tmp = tmp
        self.count = 0
        self.logs = boto_client(emu, "logs")
        self.instances = 0

    def run(self, inputs: dict[str, str], *, when_updating: Callable[[], None] | None = None) -> Report:
        """One run on the pull request; ``when_updating`` runs once the action has called UpdateEndpoint."""
        self.count += 1
        self.emu.clear_requests()
        extra = {"GITHUB_API_URL": self.github.api_url, "GITHUB_SERVER_URL": self.github.server_url}
        event = {"number": PULL, "pull_request": {"number": PULL, "head": {"sha": SHA}}}
        watcher = after_call(self.emu, "UpdateEndpoint", when_updating) if when_updating else None
        run = run_action(
            self.emu,
            self.tmp / f"run{self.count}",
            {"comment": "true", "github-token": WORKFLOW_TOKEN, "endpoint-name": ENDPOINT, **inputs},
            event_name="pull_request",
            event=event,
            extra=extra,
        )
        if watcher:
            watcher.join(timeout=30)
        comments = self.github.comments(REPO, PULL)
        body = comments[0]["body"].split("\n", 1)[1] if comments else ""
        return Report(run, run.summary, body)

    # --- what SageMaker and CloudWatch would write --------------------------------------------------------

    def old_fleet(self) -> None:
        """The serving fleet's stream, created before the rollout, with its lines so far."""
        self.logs.create_log_group(logGroupName=GROUP)
        self.logs.create_log_stream(logGroupName=GROUP, logStreamName="AllTraffic/i-0a1b2c3d4e5f60001")
        self._put("AllTraffic/i-0a1b2c3d4e5f60001", OLD_FLEET_LINES)

    def new_fleet_crashes(self, lines: tuple[str, ...] = STARTUP) -> Callable[[], None]:
        """A new instance's stream with ``lines`` (a start-up that ends in a traceback); the old fleet keeps
        logging beside it."""

        def write() -> None:
            time.sleep(0.05)  # the stream is created after the update was asked for, as an instance boots later
            self.instances += 1
            stream = f"AllTraffic/i-0f9e8d7c6b5a4{self.instances:04d}"
            self.logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
            self._put(stream, lines)
            self._put("AllTraffic/i-0a1b2c3d4e5f60001", OLD_FLEET_LINES)

        return write

    def alarm_fires(self, name: str = ALARM, reason: str = ALARM_REASON) -> Callable[[], None]:
        def fire() -> None:
            boto_client(self.emu, "cloudwatch").set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason=reason)

        return fire

    def _put(self, stream: str, lines: tuple[str, ...]) -> None:
        now = int(time.time() * 1000)
        events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
        self.logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events)


BASE = {"image": image("v1"), "instance-type": "ml.g5.xlarge", "alarms": ALARM, "bake-seconds": "600"}


def four_reports(tmp: Path) -> dict[str, Report]:
    """The success, plan, rollback and failure reports of one endpoint's history, from real runs."""
    reports: dict[str, Report] = {}
    with stage(tmp) as on:
        # Missing data counts as breaching: the endpoint has test traffic during every bake.
        seed_alarm(on.emu, ALARM, endpoint=ENDPOINT, TreatMissingData="breaching")
        seed_alarm(on.emu, "whisper-invocations", endpoint=ENDPOINT, metric="Invocations")
        on.old_fleet()
        first = on.run(BASE)
        assert first.run.result == "created", first.run.stdout + first.run.stderr
        reports["success"] = on.run({**BASE, "image": image("v2")})
        reports["plan"] = on.run(
            {
                **BASE,
                "mode": "plan",
                "image": image("v3"),
                "instance-type": "ml.g5.2xlarge",
                "alarms": f"{ALARM}\nwhisper-invocations",
            }
        )

        def new_fleet_errs_and_the_alarm_fires() -> None:
            on.new_fleet_crashes(SERVING_BADLY)()
            on.alarm_fires()()

        on.emu.faults.rollback_next_update()
        reports["rollback"] = on.run({**BASE, "image": image("v3")}, when_updating=new_fleet_errs_and_the_alarm_fires)
        # The errors stopped with the rollback: the alarm is back to OK before the next rollout.
        boto_client(on.emu, "cloudwatch").set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="back to 0")
        on.emu.faults.fail_next_update(HEALTH_CHECK)
        reports["failure"] = on.run({**BASE, "image": image("v4")}, when_updating=on.new_fleet_crashes())
    expected = {"success": "updated", "plan": "would-update", "rollback": "rolled-back", "failure": "failed"}
    for name, report in reports.items():
        assert report.run.result == expected[name], report.run.stdout + report.run.stderr
    return reports
