"""The Actions log: each message lands as the lines we meant, and outside text never becomes a workflow command.

``runner_reads`` reads a log the way the Actions runner does (actions/runner, ActionCommand.TryParseV2 and
TryParse): a line is a ``::name props::data`` command when it starts with ``::`` after leading blanks, and a
legacy ``##[name props]data`` command wherever ``##[`` stands in it. It treats every name as a registered one,
so it finds more commands than the runner would, never fewer.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagemaker_async_deploy.log import Log, _break_legacy, escape_data, escape_property, safe
from sagemaker_emulator import Emulator

from .action_runner import digest_image, run_action
from .seed import seed_alarm

J = "\u2060"  # the word joiner that breaks a command prefix

Command = tuple[str, dict[str, str], str]


def _unescape(text: str, mappings: tuple[tuple[str, str], ...]) -> str:
    # The runner's order: the line breaks first, "%25" last.
    for escaped, char in mappings:
        text = text.replace(escaped, char)
    return text


_DATA = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
_PROPERTY = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))
_LEGACY = (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%"))


def _command(line: str) -> Command | None:
    message = line.lstrip()
    if message.startswith("::") and (end := message.find("::", 2)) >= 0:
        name, _, props = message[2:end].partition(" ")
        properties = {}
        for prop in props.strip().split(","):
            key, sep, value = prop.partition("=")
            if sep and key and value:
                properties[key] = _unescape(value, _PROPERTY)
        return name, properties, _unescape(message[end + 2 :], _DATA)
    start = line.find("##[")
    if start >= 0 and (end := line.find("]", start)) >= 0:
        name, _, props = line[start + 3 : end].partition(" ")
        return name, {"legacy": _unescape(props, _LEGACY)}, _unescape(line[end + 1 :], _LEGACY)
    return None


def runner_reads(output: str) -> list[Command | str]:
    """Each line of ``output`` as the runner takes it: a command, or plain text shown as it is."""
    lines = re.split(r"\r\n|\r|\n", output)
    assert lines.pop() == "", "every write ends its line"
    return [_command(line) or line for line in lines]


def logged(write: Callable[[Log], object]) -> str:
    """What ``write`` puts on a Log's stream."""
    stream = io.StringIO()
    write(Log(stream))
    return stream.getvalue()


# Text biased towards what the runner reads as commands or line ends.
_pieces = st.sampled_from(["::", "##[", "]", ":", ",", "%", "%0A", "%25", "\r", "\n", "\r\n", " ", "\t", "a", "="])
hostile = st.lists(_pieces, max_size=20).map("".join) | st.text(max_size=30)


# escape_data / escape_property


def test_escape_data_escapes_percent_before_the_line_breaks() -> None:
    """A message's %, CR and LF become %25, %0D and %0A, and a literal "%0A" stays four characters."""
    assert escape_data("100%\r\n%0A ok") == "100%25%0D%0A%250A ok"


def test_escape_data_leaves_colons_and_commas() -> None:
    """Colons and commas mean nothing in a command's data, so escape_data keeps them."""
    assert escape_data("arn:aws:iam::1:role/a,b") == "arn:aws:iam::1:role/a,b"


def test_escape_property_also_escapes_colon_and_comma() -> None:
    """A property value escapes ':' (which would end the properties) and ',' (which would start another)."""
    assert escape_property("Bad: a, b 5%\r\n") == "Bad%3A a%2C b 5%25%0D%0A"


@given(hostile)
def test_escapes_are_what_the_runner_undoes(text: str) -> None:
    """The runner's unescaping gives back exactly the text, as data and as a property value."""
    assert _unescape(escape_data(text), _DATA) == text
    assert _unescape(escape_property(text), _PROPERTY) == text


# safe / _break_legacy


def test_safe_renders_any_object_as_its_str() -> None:
    """safe() takes any object, such as a status code, and renders its str()."""
    assert safe(404) == "404"
    assert safe(None) == "None"


def test_safe_keeps_plain_text() -> None:
    """Text without line breaks or command prefixes comes out as it went in."""
    assert safe("Endpoint whisper-prod: 50% done, :ok") == "Endpoint whisper-prod: 50% done, :ok"


def test_safe_shows_line_breaks_on_the_line() -> None:
    """CRLF and LF become a visible \\n and a lone CR a visible \\r, so the text stays on one line."""
    assert safe("a\r\nb\rc\nd") == "a\\nb\\rc\\nd"


def test_safe_breaks_a_leading_command() -> None:
    """A leading '::' gets a word joiner between its colons, so the runner reads no command."""
    assert safe("::error::boom") == f":{J}:error::boom"
    assert safe("::stop-commands::token") == f":{J}:stop-commands::token"


def test_safe_breaks_a_command_after_leading_blanks() -> None:
    """The runner trims leading blanks before it looks for '::', so those count as the start too, and stay."""
    assert safe(" \t::add-mask::x") == f" \t:{J}:add-mask::x"
    # Five blanks before a three-character command: the indent kept is exactly the blanks, however many.
    assert safe("     ::x") == f"     :{J}:x"


def test_safe_keeps_colons_inside_the_text() -> None:
    """'::' after the start (an ARN) is no command, and stays copyable."""
    assert safe("arn:aws:iam::123456789012:role/deploy") == "arn:aws:iam::123456789012:role/deploy"
    assert safe("x ::error::y") == "x ::error::y"


def test_safe_keeps_a_command_after_a_line_break_on_the_same_line() -> None:
    """A command that followed a line break stays behind the visible \\n, on a line it does not start."""
    assert safe("ok\n::error::boom") == "ok\\n::error::boom"


def test_safe_breaks_legacy_commands_anywhere() -> None:
    """Every '##[' is broken, wherever it stands, since the runner reads the legacy form mid-line."""
    assert safe("see ##[error]a and ##[warning]b") == f"see #{J}#[error]a and #{J}#[warning]b"


def test_safe_breaks_both_forms_at_once() -> None:
    """A text that starts with '::' and holds '##[' has both prefixes broken."""
    assert safe("  ::x##[y]") == f"  :{J}:x#{J}#[y]"


def test_break_legacy_breaks_every_occurrence() -> None:
    """Each '##[' gets the joiner between its hashes, including one behind a third hash or right after another."""
    assert _break_legacy("###[a]##[b]") == f"##{J}#[a]#{J}#[b]"
    assert _break_legacy("# #[ ## [") == "# #[ ## ["


@given(hostile)
def test_safe_text_is_one_line_the_runner_shows_as_it_is(text: str) -> None:
    """Whatever the text, safe() makes one line that the runner reads as plain text."""
    rendered = safe(text)
    assert runner_reads(rendered + "\n") == [rendered]


# Log: the stream and info


def test_log_writes_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    """A Log made without a stream writes to standard output, where the runner reads commands."""
    Log().info("hello")
    assert capsys.readouterr().out == "hello\n"


def test_info_writes_a_line() -> None:
    """info() writes the message as one line, colons and all."""
    assert logged(lambda log: log.info("Plan: update arn:aws::x")) == "Plan: update arn:aws::x\n"


def test_info_of_nothing_is_an_empty_line() -> None:
    """An empty message still writes its (empty) line."""
    assert logged(lambda log: log.info("")) == "\n"


def test_info_writes_each_line_of_a_message() -> None:
    """A message with line breaks (CRLF, CR, LF) is written line by line."""
    assert logged(lambda log: log.info("a\nb\r\nc\rd")) == "a\nb\nc\nd\n"


def test_info_breaks_a_command_on_any_of_its_lines() -> None:
    """A line of a message that starts with '::', after blanks or not, cannot become a command."""
    output = logged(lambda log: log.info("fine\n::error::boom\n  ::warning::x"))
    assert output == f"fine\n:{J}:error::boom\n  :{J}:warning::x\n"


def test_info_breaks_a_legacy_command() -> None:
    """A line holding '##[' anywhere has it broken."""
    assert logged(lambda log: log.info("body: ##[error]x")) == f"body: #{J}#[error]x\n"


@given(hostile)
def test_info_never_writes_a_command(text: str) -> None:
    """Whatever the message, the runner reads every line info() writes as plain text."""
    assert all(isinstance(line, str) for line in runner_reads(logged(lambda log: log.info(text))))


# annotations


def test_error_annotation() -> None:
    """error() writes one ::error:: command holding the message."""
    assert logged(lambda log: log.error("boom")) == "::error::boom\n"


def test_warning_annotation_with_a_title() -> None:
    """warning() with a title writes it as the title property, its ':' and ',' escaped."""
    output = logged(lambda log: log.warning("careful", title="Alarms: a, b"))
    assert output == "::warning title=Alarms%3A a%2C b::careful\n"
    assert runner_reads(output) == [("warning", {"title": "Alarms: a, b"}, "careful")]


def test_notice_annotation_with_a_title() -> None:
    """notice() writes a ::notice:: command with its title."""
    assert logged(lambda log: log.notice("skipped", title="PR comment")) == "::notice title=PR comment::skipped\n"


def test_an_empty_title_is_left_out() -> None:
    """An empty title writes no title property at all."""
    assert logged(lambda log: log.error("boom", title="")) == "::error::boom\n"


def test_annotation_message_keeps_its_lines_in_one_command() -> None:
    """A multi-line message is escaped into its one command line, and '##[' in it is broken."""
    output = logged(lambda log: log.error("50%\r\nnext ##[x]\n::y", title="T"))
    assert output == f"::error title=T::50%25%0D%0Anext #{J}#[x]%0A::y\n"
    assert runner_reads(output) == [("error", {"title": "T"}, f"50%\r\nnext #{J}#[x]\n::y")]


@given(hostile)
def test_annotation_is_one_command_whatever_its_message(text: str) -> None:
    """Any message makes exactly one annotation, which the runner reads back as that message."""
    output = logged(lambda log: log.warning(text, title="Endpoint e: 1, 2 % \n x"))
    assert runner_reads(output) == [("warning", {"title": "Endpoint e: 1, 2 % \n x"}, _break_legacy(text))]


# masks


def test_mask_registers_the_value() -> None:
    """mask() writes an add-mask command for the value."""
    assert logged(lambda log: log.mask("ghp_token123")) == "::add-mask::ghp_token123\n"


def test_mask_of_nothing_writes_nothing() -> None:
    """An empty value is not masked: the runner would only warn about it."""
    assert logged(lambda log: log.mask("")) == ""


def test_mask_escapes_the_value() -> None:
    """A value with '%' or line breaks reaches the runner whole, on the one add-mask line."""
    output = logged(lambda log: log.mask("a%0Ab\nc"))
    assert output == "::add-mask::a%250Ab%0Ac\n"
    assert runner_reads(output) == [("add-mask", {}, "a%0Ab\nc")]


def test_mask_values_masks_only_values_long_enough() -> None:
    """Values of six characters or more are masked; shorter ones ('true', '1') and empty ones stay visible."""
    output = logged(lambda log: log.mask_values(["12345", "123456", "", "true", "secret-value"]))
    assert output == "::add-mask::123456\n::add-mask::secret-value\n"


def test_mask_values_skips_a_value_holding_a_legacy_prefix() -> None:
    """A value holding '##[' is not masked, so it never stands on a line of the log."""
    assert logged(lambda log: log.mask_values(["abc##[def", "ghijklm"])) == "::add-mask::ghijklm\n"


def test_mask_values_holds_each_line_to_the_minimum() -> None:
    """The runner also masks each trimmed line of a value on its own, so only lines long enough are masked."""
    value = '{\n  "api_key": "sk-123456"\r\n}\n  1\n'
    assert logged(lambda log: log.mask_values([value])) == '::add-mask::"api_key": "sk-123456"\n'


def test_mask_values_trims_each_value() -> None:
    """A value's surrounding blanks are trimmed, as the runner trims them, before its length is judged."""
    output = logged(lambda log: log.mask_values(["  padded  ", " x    ", "\tabc##[def\nghijklm"]))
    assert output == "::add-mask::padded\n::add-mask::ghijklm\n"


def test_mask_values_of_none_writes_nothing() -> None:
    """No values, no masks."""
    assert logged(lambda log: log.mask_values([])) == ""


# groups


def test_group_wraps_what_is_written_inside() -> None:
    """group() opens a ::group:: with the escaped title and closes it with ::endgroup::."""

    def write(log: Log) -> None:
        with log.group("Plan: 5% of a\nb"):
            log.info("inside")

    assert logged(write) == "::group::Plan: 5%25 of a%0Ab\ninside\n::endgroup::\n"


def test_group_is_closed_when_its_body_fails() -> None:
    """An exception inside a group still closes it, and goes on."""
    stream = io.StringIO()
    log = Log(stream)
    with pytest.raises(RuntimeError, match=r"^boom$"), log.group("g"):
        raise RuntimeError("boom")
    assert stream.getvalue() == "::group::g\n::endgroup::\n"


def test_each_warning_once_per_run() -> None:
    """The same warning (message and title) a second time writes nothing; another message or title does."""
    output = logged(
        lambda log: [
            log.warning("bake too long", title="Deployment strategy"),
            log.warning("bake too long", title="Deployment strategy"),
            log.warning("bake too long", title="Alarms"),
            log.warning("other"),
        ]
    )
    assert output.splitlines() == [
        "::warning title=Deployment strategy::bake too long",
        "::warning title=Alarms::bake too long",
        "::warning::other",
    ]


def test_a_plan_made_again_warns_once(emulator: Emulator, tmp_path: Path) -> None:
    """The real action plans three times (someone else's update won two races): its warning is printed once."""
    seed_alarm(emulator, "guard", endpoint="whisper", TreatMissingData="breaching")
    inputs = {"alarms": "guard", "bake-seconds": "600", "deployment-timeout-minutes": "2"}
    assert run_action(emulator, tmp_path, inputs).result == "created"
    emulator.faults.lose_update_races(2, seconds=0.2, endpoint_name="whisper")
    run = run_action(emulator, tmp_path, {**inputs, "image": digest_image(2)})
    assert emulator.operations("sagemaker").count("UpdateEndpoint") == 3
    warnings = [line for line in run.lines if line.startswith("::warning") and "longer than" in line]
    assert len(warnings) == 1, run.lines
    assert sum(line.startswith("::group::Plan: update") for line in run.lines) == 3
