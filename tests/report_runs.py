"""Real runs of the action against the emulator whose reports the browser test measures and the README shows.

Four stories, each run the way the Actions runner runs the action, on a pull request whose comment the local
GitHub API server keeps: a successful update, a plan, an update an alarm rolls back, and an update whose new
fleet crashes on start. The emulator writes each fleet's container log to CloudWatch Logs (a stream per
instance, new instance ids per fleet) and moves the rollback alarm to ALARM, with its history, before it rolls
back (its faults unhealthy_next_update and rollback_next_update).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sagemaker_emulator import Behaviour, Emulator, Timings

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
TIMINGS = Timings(create=0.6, update=1.5, rollback=0.6, delete=0.2)
IMAGE_REPO = f"{ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/whisper"


def image(version: str) -> str:
    """The whisper image of a version, pinned by a digest of its own."""
    return f"{IMAGE_REPO}@sha256:{hashlib.sha256(version.encode()).hexdigest()}"


# What the whisper container prints when its model does not fit the GPU (after the emulator's start-up lines).
TRACEBACK = (
    "Loading the model from /opt/ml/model ...",
    "Traceback (most recent call last):",
    '  File "/opt/program/serve.py", line 41, in <module>',
    '    model = WhisperModel.load("/opt/ml/model", device="cuda", compute_type="float16")',
    '  File "/usr/local/lib/python3.11/site-packages/whisper_serving/model.py", line 88, in load',
    '    weights = torch.load(path / "model.pt", map_location=device)',
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 22.19 GiB total capacity; "
    "21.02 GiB already allocated)",
)


def alarm_reason() -> str:
    """CloudWatch's StateReason for a crossed threshold, its datapoint the last whole minute (dd/mm/yy, UTC)."""
    datapoint = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%d/%m/%y %H:%M:00")
    return (
        f"Threshold Crossed: 1 out of the last 1 datapoints [4.0 ({datapoint})] was greater than or equal to the "
        "threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )


@dataclass(frozen=True)
class Report:
    run: ActionRun
    summary: str  # what the run appended to GITHUB_STEP_SUMMARY
    comment: str  # the PR comment's body after the run, without its hidden marker line


@contextmanager
def stage(tmp: Path, behaviour: Behaviour | None = None, timings: Timings = TIMINGS) -> Iterator[Stage]:
    """An emulator and a GitHub API server with the pull request, for a series of runs."""
    emu = Emulator(timings=timings, account_id=ACCOUNT_ID, behaviour=behaviour).start(port=0)
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

    def run(self, inputs: dict[str, str]) -> Report:
        """One run on the pull request."""
        self.count += 1
        self.emu.clear_requests()
        extra = {"GITHUB_API_URL": self.github.api_url, "GITHUB_SERVER_URL": self.github.server_url}
        event = {"number": PULL, "pull_request": {"number": PULL, "head": {"sha": SHA}}}
        run = run_action(
            self.emu,
            self.tmp / f"run{self.count}",
            {"comment": "true", "github-token": WORKFLOW_TOKEN, "endpoint-name": ENDPOINT, **inputs},
            event_name="pull_request",
            event=event,
            extra=extra,
        )
        comments = self.github.comments(REPO, PULL)
        body = comments[0]["body"].split("\n", 1)[1] if comments else ""
        return Report(run, run.summary, body)


BASE = {
    "image": image("v1"),
    "instance-type": "ml.g5.xlarge",
    "alarms": ALARM,
    "bake-seconds": "600",
    "deployment-timeout-minutes": "60",
}


def four_reports(tmp: Path) -> dict[str, Report]:
    """The success, plan, rollback and failure reports of one endpoint's history, from real runs."""
    reports: dict[str, Report] = {}
    with stage(tmp) as on:
        # Missing data counts as breaching: the endpoint has test traffic during every bake.
        seed_alarm(on.emu, ALARM, endpoint=ENDPOINT, TreatMissingData="breaching")
        seed_alarm(on.emu, "whisper-invocations", endpoint=ENDPOINT, metric="Invocations")
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
        on.emu.faults.rollback_next_update(alarm=ALARM, reason=alarm_reason())
        reports["rollback"] = on.run({**BASE, "image": image("v3")})
        # The errors stopped with the rollback: the alarm is back to OK before the next rollout.
        boto_client(on.emu, "cloudwatch").set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="back to 0")
        on.emu.faults.unhealthy_next_update(TRACEBACK)
        reports["failure"] = on.run({**BASE, "image": image("v4")})
    expected = {"success": "updated", "plan": "would-update", "rollback": "rolled-back", "failure": "failed"}
    for name, report in reports.items():
        assert report.run.result == expected[name], report.run.stdout + report.run.stderr
    return reports


# A failed smoke test during the bake: the whisper model of v5 answers every request with this.
SMOKE_FAILURE = (
    "Traceback (most recent call last):\n"
    '  File "/opt/program/serve.py", line 77, in invocations\n'
    "    text = model.transcribe(audio, language=language)\n"
    "KeyError: 'language'"
)


def smoke_report(tmp: Path) -> Report:
    """An update whose smoke test fails during the bake, rolled back by SageMaker on the action's alarm. Its bake
    lasts long enough (4 s of the emulator's time) for the smoke test to finish inside it."""
    with stage(tmp, timings=Timings(create=0.6, update=10.0, rollback=0.6, delete=0.2)) as on:
        seed_alarm(on.emu, ALARM, endpoint=ENDPOINT)
        boto_client(on.emu, "s3").create_bucket(Bucket="inference-bucket")
        smoke = {
            **BASE,
            "failure-path": "s3://inference-bucket/whisper/failed/",
            "smoke-test-input": "s3://inference-bucket/smoke/hello.json",
            "smoke-test-timeout-seconds": "120",
        }
        first = on.run(smoke)
        assert first.run.result == "created", first.run.stdout + first.run.stderr
        on.emu.faults.async_answers("failure", image=image("v5"), body=SMOKE_FAILURE)
        report = on.run({**smoke, "image": image("v5")})
    assert report.run.result == "rolled-back", report.run.stdout + report.run.stderr
    return report
