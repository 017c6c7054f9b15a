"""A small Markdown builder for GitHub's renderer, in which outside text can only ever be text.

A plain ``str`` anywhere in an :data:`Inline` is text: it is backslash-escaped when rendered, so AWS
messages, names and inputs cannot open HTML, links, emphasis, code spans or table cells. Markdown
structure comes only from :class:`Code`, :class:`Link`, :class:`Strong` and the :class:`Document` blocks,
each of which is built so its content cannot end it early. Every block is whole, so cutting a document
between blocks (:meth:`Document.render` with a limit) never leaves a fence or a ``<details>`` open.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeAlias
from urllib.parse import quote, urlsplit

# Punctuation that means nothing to CommonMark or GFM wherever it stands; every other ASCII punctuation
# character is escaped. CommonMark guarantees a backslash before any ASCII punctuation yields the character.
# "@" is escaped too: in a comment GitHub turns "@name" into a mention that notifies people.
_INERT = set(",:;/'\"?%$^")
_ESCAPED = {c: "\\" + c for c in string.punctuation if c not in _INERT}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Characters a link destination may hold as they are; the rest is percent-encoded, so neither a space,
# a parenthesis, a backslash nor an angle bracket can end the destination early.
_URL_SAFE = "!#$%&'*+,-./:;=?@[]_~"


@dataclass(frozen=True)
class Code:
    """A code span: the text verbatim, whatever backticks or pipes it holds."""

    text: str


@dataclass(frozen=True)
class Link:
    """A link to an http(s) URL; any other scheme renders as its label alone."""

    label: Inline
    url: str


@dataclass(frozen=True)
class Strong:
    content: Inline


Inline: TypeAlias = "str | Code | Link | Strong | tuple[Inline, ...]"


def collapse(text: str) -> str:
    """The text on one line: control characters dropped, every run of whitespace (line breaks too) a space."""
    return re.sub(r"\s+", " ", _CONTROL.sub("", text))


def one_line(text: str) -> str:
    """:func:`collapse` without spaces at either end."""
    return collapse(text).strip()


def shorten(text: str, limit: int) -> str:
    """The text cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    kept = max(limit - 40, 0)
    return f"{text[:kept]}… ({len(text) - kept:,} more characters)"


def escape(text: str) -> str:
    """Text as Markdown that renders to exactly that text (on one line)."""
    return "".join(_ESCAPED.get(c, c) for c in collapse(text))


def code_span(text: str, *, in_table: bool = False) -> str:
    """A code span no backtick in ``text`` can close; in a table, pipes are escaped as GFM requires there."""
    content = one_line(text)
    if not content:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", content)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each end when both are spaces: padding keeps a leading or
    # trailing backtick apart from the fence, and the strip takes exactly the padding back.
    if content[0] in "` " or content[-1] in "` ":
        content = f" {content} "
    if in_table:
        # GFM splits table cells on unescaped pipes before it parses code spans, and turns \| back into |.
        content = content.replace("|", "\\|")
    return f"{fence}{content}{fence}"


def url(address: str) -> str:
    """The address as a link destination, or "" when it is not http(s)."""
    if urlsplit(address).scheme.lower() not in ("http", "https"):
        return ""
    return quote(address, safe=_URL_SAFE)


def render(inline: Inline, *, in_table: bool = False) -> str:
    """Inline Markdown for ``inline``; plain strings are escaped."""
    if isinstance(inline, str):
        return escape(inline)
    if isinstance(inline, Code):
        return code_span(inline.text, in_table=in_table)
    if isinstance(inline, Strong):
        inner = render(inline.content, in_table=in_table)
        return f"**{inner}**" if inner else ""
    if isinstance(inline, Link):
        label = render(inline.label, in_table=in_table) or escape(inline.url)
        destination = url(inline.url)
        return f"[{label}]({destination})" if destination else label
    return "".join(render(part, in_table=in_table) for part in inline)


def plain(inline: Inline) -> str:
    """The text of ``inline`` without Markdown (for the log, which shows what the report shows, unformatted)."""
    if isinstance(inline, str):
        return inline
    if isinstance(inline, Code):
        return one_line(inline.text)
    if isinstance(inline, Strong):
        return plain(inline.content)
    if isinstance(inline, Link):
        return plain(inline.label)
    return "".join(plain(part) for part in inline)


def fold(text: str, width: int, *, keep_prefix: int = 0) -> str:
    """Each line of ``text`` cut into pieces of at most ``width`` characters, so a code block fits its page.

    GitHub's code blocks never wrap: a longer line scrolls sideways and hides its end. A line is cut after a
    space where one falls in the second half of the piece, else at the width. A continuation starts with the
    line's first ``keep_prefix`` characters (a diff's ``+ ``/``- ``, so it keeps its colour) and two spaces, so
    a reader sees it continues the line above.
    """
    width = max(width, keep_prefix + 12)
    folded: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.expandtabs(4)
        prefix = line[:keep_prefix] + "  "
        lead = ""
        while len(lead) + len(line) > width:
            room = width - len(lead)
            space = line.rfind(" ", room // 2, room)
            cut = space + 1 if space > 0 else room
            folded.append(lead + line[:cut])
            line, lead = line[cut:], prefix
        folded.append(lead + line)
    return "\n".join(folded)


def fence(text: str, info: str = "text") -> str:
    """A fenced code block holding ``text`` verbatim: its fence is longer than any backtick run inside."""
    body = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).rstrip("\n")
    # equivalent mutant core/NumberReplacer: without a backtick the fence is max(3, default + 1), 3 for any default < 3
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    marker = "`" * max(3, longest + 1)
    opening = marker + re.sub(r"[^A-Za-z0-9_+-]", "", info)
    return f"{opening}\n{body}\n{marker}" if body else f"{opening}\n{marker}"


class Document:
    """Markdown blocks in order; :meth:`render` joins them, optionally within a size limit."""

    def __init__(self) -> None:
        self._blocks: list[str] = []

    def heading(self, level: int, content: Inline) -> Document:
        self._blocks.append(f"{'#' * min(max(level, 1), 6)} {render(content)}")
        return self

    def paragraph(self, *content: Inline) -> Document:
        text = render(content).strip()
        if text:
            self._blocks.append(text)
        return self

    def bullets(self, items: Iterable[Inline]) -> Document:
        lines = [f"- {render(item)}" for item in items]
        if lines:
            self._blocks.append("\n".join(lines))
        return self

    def table(self, header: Sequence[Inline], rows: Iterable[Sequence[Inline]]) -> Document:
        """A GFM table; short rows are padded, long ones cut to the header's width."""
        width = len(header)

        def row(cells: Sequence[Inline]) -> str:
            rendered = [render(cell, in_table=True) for cell in list(cells)[:width]]
            rendered += [""] * (width - len(rendered))
            return "| " + " | ".join(cell or " " for cell in rendered) + " |"

        lines = [row(header), "|" + "---|" * width, *(row(cells) for cells in rows)]
        self._blocks.append("\n".join(lines))
        return self

    def code_block(self, text: str, info: str = "text", *, width: int = 0, keep_prefix: int = 0) -> Document:
        """A fenced block; with ``width``, long lines are folded to it (see :func:`fold`)."""
        self._blocks.append(fence(fold(text, width, keep_prefix=keep_prefix) if width else text, info))
        return self

    def quote(self, text: str) -> Document:
        """A blockquote of outside text, one paragraph per line: unlike a code block, it wraps at any width."""
        lines = [escape(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        lines = [line for line in lines if line.strip()]
        if lines:
            self._blocks.append("\n>\n".join(f"> {line}" for line in lines))
        return self

    def details(self, summary: str, inner: Document, *, opened: bool = False) -> Document:
        """A folded section: ``summary`` (our own words, shown as text) over ``inner``'s blocks.

        The ``<summary>`` line is raw HTML, where Markdown escapes would show as backslashes: it is
        HTML-escaped instead. The inner blocks stand between blank lines, so GitHub renders them as Markdown;
        none of them can close the ``<details>`` early, because outside text in them is escaped or fenced.
        """
        body = inner.render()
        if not body:
            return self
        attribute = " open" if opened else ""
        label = html.escape(one_line(summary), quote=False).replace("@", "&#64;")
        self._blocks.append(f"<details{attribute}><summary>{label}</summary>\n\n{body.rstrip()}\n\n</details>")
        return self

    def extend(self, other: Document) -> Document:
        """The other document's blocks after this one's (a section built on its own)."""
        self._blocks += other._blocks
        return self

    def render(self, limit: int | None = None, *, cut_note: Inline = "") -> str:
        """The document; with ``limit`` (UTF-8 bytes), whole blocks up to it and then ``cut_note``.

        UTF-8 bytes are never fewer than characters or UTF-16 units, so the limit holds in all three.
        """
        text = "\n\n".join(self._blocks) + "\n" if self._blocks else ""
        if limit is None or _size(text) <= limit:
            return text
        note = f"> [!NOTE]\n> {render(cut_note or 'The rest of this report was cut to keep it short.')}\n"
        budget = limit - _size(note) - 2
        kept: list[str] = []
        used = 0
        for block in self._blocks:
            cost = _size(block) + 2
            if used + cost > budget:
                break
            kept.append(block)
            used += cost
        # A heading whose content was cut would announce a section that is not there.
        while kept and kept[-1].startswith("#"):
            kept.pop()
        return "".join(block + "\n\n" for block in kept) + note


def _size(text: str) -> int:
    return len(text.encode("utf-8"))
