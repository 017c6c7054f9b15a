"""The Actions log: plain lines, groups, annotations and masks, none of which outside text can hijack.

The runner turns any stdout/stderr line that starts with ``::`` (after leading blanks) into a workflow
command, and any line containing ``##[`` into a legacy one. Text from outside (inputs, AWS messages, PR
data) therefore goes through :func:`safe` before it is printed: line breaks are escaped so it stays on the
line we started, and command prefixes are broken with a word joiner a reader does not see.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO

MASK_MIN_LENGTH = 6
_BREAK = "\u2060"  # WORD JOINER: invisible, but "::" and "##[" no longer match


def escape_data(text: str) -> str:
    """Escape a workflow-command message the way the runner unescapes it (``%``, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape an annotation property value (``title=…``), which also reserves ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def safe(text: object) -> str:
    """Render outside text so it can never start or smuggle a workflow command.

    Line breaks become visible ``\\n`` so the text stays on the line we started. The runner reads ``::``
    commands only at the start of a line, so only a leading ``::`` is broken (ARNs keep their ``::`` and stay
    copyable); the legacy ``##[`` form is read anywhere in a line, so it is broken wherever it stands.
    """
    rendered = str(text).replace("\r\n", "\n").replace("\r", "\\r").replace("\n", "\\n")
    rendered = _break_legacy(rendered)
    stripped = rendered.lstrip()
    if stripped.startswith("::"):
        rendered = rendered[: len(rendered) - len(stripped)] + ":" + _BREAK + stripped[1:]
    return rendered


def _break_legacy(text: str) -> str:
    """Break the legacy ``##[`` command form, which the runner reads anywhere in a line."""
    return text.replace("##[", "#" + _BREAK + "#[")


class Log:
    """Writes to the Actions log. Every message is our own text with outside parts passed through safe()."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        # Each warning once per run: a plan made again after someone else's update would repeat its warnings.
        self._warned: set[tuple[str, str | None]] = set()

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()

    def info(self, message: str) -> None:
        # Our messages are single lines; a stray newline in one would let the next line start a command.
        # The runner reads "##[" anywhere in a line, so a line carrying one is made safe too: our own text
        # never holds it, and a caller that forgot safe() on an error body must not hand over the log.
        for line in message.splitlines() or [""]:
            self._write(safe(line) if line.lstrip().startswith("::") or "##[" in line else line)

    def _annotation(self, kind: str, message: str, title: str | None) -> None:
        props = f" title={escape_property(title)}" if title else ""
        self._write(f"::{kind}{props}::{_break_legacy(escape_data(message))}")

    def error(self, message: str, title: str | None = None) -> None:
        self._annotation("error", message, title)

    def warning(self, message: str, title: str | None = None) -> None:
        if (message, title) in self._warned:
            return
        self._warned.add((message, title))
        self._annotation("warning", message, title)

    def notice(self, message: str, title: str | None = None) -> None:
        self._annotation("notice", message, title)

    def mask(self, value: str) -> None:
        if value:
            self._write(f"::add-mask::{escape_data(value)}")

    def mask_values(self, values: Iterable[str]) -> None:
        """Mask values that may be secrets (a model's environment: AWS validation errors echo values back).
        Values shorter than MASK_MIN_LENGTH stay visible: masking '1' or 'true' would blank them log-wide.
        The runner masks each line of a value on its own, trimmed, so each trimmed line is held to that length
        and masked alone: a JSON value's closing '}' stays visible."""
        for value in values:
            for line in value.splitlines():
                piece = line.strip()
                # A piece holding the legacy "##[" prefix would put it on the mask's own line; no real secret does.
                if len(piece) >= MASK_MIN_LENGTH and "##[" not in piece:
                    self.mask(piece)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        self._write(f"::group::{escape_data(title)}")
        try:
            yield
        finally:
            self._write("::endgroup::")
