"""Outside text (inputs, FailureReason) cannot become a workflow command or a step output."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import yaml

from sagemaker_async_deploy.log import Log
from sagemaker_emulator import Emulator

from ..action_runner import ActionRun, digest_image, run_action
from ..conftest import boto_client

# Every trick the runner falls for: commands on their own line, indented, CRLF, the legacy ##[ form, and a
# pre-escaped %0A that a careless annotation would let the runner turn into a real line break.
PAYLOAD = (
    "first-part\n"
    "::set-output name=result::pwned\n"
    "::add-mask::x\n"
    "::stop-commands::tok\n"
    "##[set-output name=x;]y\r\n"
    "   ::warning::indented\n"
    "%0A::set-output name=result::pwned2 last-part"
)
TOKEN = "ghs_injectiontesttoken"
# The contract's outputs, as action.yml declares them to the runner: GITHUB_OUTPUT may hold these and no other.
CONTRACT_OUTPUTS = set(yaml.safe_load((Path(__file__).resolve().parents[2] / "action.yml").read_text())["outputs"])
# What the action itself means to say: groups and annotations; a mask only for the token it was given.
ALLOWED_COMMANDS = {"group", "endgroup", "error", "warning", "notice"}
_COMMAND = re.compile(r"::(?P<name>[A-Za-z0-9_-]+)(?P<props> [^:]*)?::(?P<message>.*)$")


def unescape_data(text: str) -> str:
    """An annotation message as the runner decodes it (%0D, %0A, then %25)."""
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def commands(run: ActionRun) -> list[tuple[str, str]]:
    """(command, decoded message) for every line the runner would read as a workflow command."""
    found = []
    for line in run.lines:
        assert "##[" not in line, f"legacy workflow command in: {line!r}"
        stripped = line.lstrip()
        if not stripped.startswith("::"):
            continue
        match = _COMMAND.match(stripped)
        assert match, f"unparseable command line: {line!r}"
        found.append((match["name"], unescape_data(match["message"])))
    return found


def assert_no_injected_command(run: ActionRun) -> None:
    """Only the commands the action means: groups, annotations on one line, the token's mask."""
    for name, message in commands(run):
        if name == "add-mask":
            assert message == TOKEN, f"unexpected mask of {message!r}"
            continue
        assert name in ALLOWED_COMMANDS, f"injected ::{name}:: ({message!r})"


def github_output_keys(text: str) -> list[str]:
    """GITHUB_OUTPUT parsed strictly as the runner does: ``name<<DELIM`` blocks or ``name=value`` lines."""
    keys = []
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            for value_line in lines:
                if value_line == delimiter:
                    break
            else:
                raise AssertionError(f"unterminated block for {name!r}")
        else:
            assert "=" in line, f"line the runner would refuse: {line!r}"
            name = line.split("=", 1)[0]
        keys.append(name)
    return keys


def assert_outputs_are_the_contracts(run: ActionRun) -> None:
    keys = github_output_keys(run.output_file)
    assert set(keys) <= CONTRACT_OUTPUTS, set(keys) - CONTRACT_OUTPUTS
    assert keys.count("result") == 1
    assert "pwned" not in run.outputs["result"]


def error_lines(run: ActionRun) -> list[str]:
    return [line for line in run.lines if line.lstrip().startswith("::error")]


def assert_reason_on_one_annotation(run: ActionRun) -> None:
    """The whole FailureReason sits on one ::error line, and its literal %0A stays literal once decoded."""
    carrying = [message for name, message in commands(run) if name == "error" and "first-part" in message]
    assert len(carrying) == 1, run.lines
    assert "last-part" in carrying[0]
    # Escaped once more (%250A), the runner shows "%0A" instead of breaking the annotation there.
    assert "%0A::set-output name=result::pwned2" in carrying[0]


def test_payload_is_what_it_claims() -> None:
    """Self-check: unescaped, the payload would start each command on its own line."""
    starts = [line.lstrip()[:2] for line in PAYLOAD.splitlines()]
    assert starts.count("::") >= 4 and "##[" in PAYLOAD and "%0A" in PAYLOAD


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("endpoint-name", f"whisper{PAYLOAD}"),
        ("image", PAYLOAD),
        ("instance-type", f"ml.{PAYLOAD}"),
        ("mode", PAYLOAD),
        ("output-path", f"s3://{PAYLOAD}"),
        ("environment", PAYLOAD),
        ("tags", PAYLOAD),
        ("delete-previous", PAYLOAD),
    ],
)
def test_bad_input_value_is_echoed_without_commands(name: str, value: str, emulator: Emulator, tmp_path: Path) -> None:
    """A refused input is shown back to the user, but none of its lines becomes a command."""
    run = run_action(emulator, tmp_path, {name: value, "github-token": TOKEN})
    assert run.exit_code != 0
    assert any(f"::{name}:" in line for line in error_lines(run)), run.lines
    assert_no_injected_command(run)
    assert_outputs_are_the_contracts(run)
    assert run.result == "failed"


def test_alarm_name_from_outside_is_echoed_without_commands(emulator: Emulator, tmp_path: Path) -> None:
    """An alarm name that fails the remote check (it does not exist) is shown escaped, one line per error."""
    run = run_action(emulator, tmp_path, {"alarms": PAYLOAD, "github-token": TOKEN})
    assert run.exit_code != 0
    assert any("::alarms:" in line for line in error_lines(run)), run.lines
    assert_no_injected_command(run)
    assert_outputs_are_the_contracts(run)
    assert emulator.write_calls() == []


def test_payload_in_accepted_inputs_never_reaches_the_log_as_a_command(emulator: Emulator, tmp_path: Path) -> None:
    """Environment values and tag values may hold command-like text; the run succeeds and prints none of it."""
    value = "::set-output name=result::pwned ##[set-output name=x;]y"
    run = run_action(
        emulator,
        tmp_path,
        {
            "environment": f"MODE={value}",
            "tags": "note=::set-output name=result::pwned",
            "github-token": TOKEN,
        },
    )
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.result == "created"
    assert_no_injected_command(run)
    assert_outputs_are_the_contracts(run)
    # Environment values are masked, never printed; tags are not logged. (The mask command itself is read
    # by the runner and never shown.)
    shown = [line for line in run.lines if not line.startswith("::add-mask::")]
    assert not [line for line in shown if "pwned" in line]


def test_failure_reason_of_a_failed_create_stays_one_escaped_annotation(emulator: Emulator, tmp_path: Path) -> None:
    """SageMaker's FailureReason is outside text: it is shown whole on the ::error line and starts nothing."""
    emulator.faults.fail_next_create(PAYLOAD)
    run = run_action(emulator, tmp_path, {"github-token": TOKEN})
    assert run.exit_code != 0
    assert run.result == "failed"
    assert_no_injected_command(run)
    assert_outputs_are_the_contracts(run)
    assert_reason_on_one_annotation(run)


def test_failure_reason_of_a_failed_update_stays_one_escaped_annotation(emulator: Emulator, tmp_path: Path) -> None:
    """The same for an update that fails: the reason is on one ::error line and nothing is injected."""
    first = run_action(emulator, tmp_path / "create")
    assert first.result == "created", first.stdout + first.stderr
    emulator.faults.fail_next_update(PAYLOAD)
    run = run_action(emulator, tmp_path / "update", {"image": digest_image(2), "github-token": TOKEN})
    assert run.exit_code != 0
    assert run.result == "failed"
    assert_no_injected_command(run)
    assert_outputs_are_the_contracts(run)
    assert_reason_on_one_annotation(run)
    # The endpoint still serves the first image: the injected text changed nothing either.
    sm = boto_client(emulator, "sagemaker")
    assert sm.describe_endpoint(EndpointName="whisper")["EndpointConfigName"] == first.outputs["endpoint-config-name"]


def test_log_breaks_commands_in_text_a_caller_forgot_to_escape() -> None:
    """The Log is the last line of defence: raw outside text in info or an annotation starts no command."""
    stream = io.StringIO()
    log = Log(stream)
    # What a caller does with an HTTP error body or an AWS message it did not pass through safe().
    log.info("request failed (##[set-output name=x;]y)\n  ::set-output name=result::pwned")
    log.warning("Could not delete model m: ##[add-mask]secret")
    log.error("failed: ##[set-output name=x;]y")
    written = stream.getvalue()
    assert "##[" not in written
    run = ActionRun(exit_code=0, stdout=written, stderr="", outputs={}, output_file="", summary="")
    assert [name for name, _ in commands(run)] == ["warning", "error"]


def test_environment_values_are_masked_including_inherited_ones(emulator: Emulator, tmp_path: Path) -> None:
    """Values of the environment input, and those the serving model already has, are masked; short ones not."""
    first = run_action(
        emulator, tmp_path / "1", {"environment": "API_KEY=sk-live-0123456789\nWORKERS=2", "github-token": TOKEN}
    )
    assert first.exit_code == 0, first.stdout + first.stderr
    masks = [message for name, message in commands(first) if name == "add-mask"]
    assert "sk-live-0123456789" in masks
    assert "2" not in masks
    # The next run does not give the environment: it is inherited from the serving model, and masked still.
    second = run_action(emulator, tmp_path / "2", {"image": digest_image(2), "github-token": TOKEN})
    assert second.result == "updated", second.stdout + second.stderr
    assert "sk-live-0123456789" in [message for name, message in commands(second) if name == "add-mask"]
