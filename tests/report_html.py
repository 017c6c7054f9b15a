"""Markdown rendered as GitHub renders it, and read back as structure the report tests can assert on."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options


def to_html(markdown: str) -> str:
    """GitHub's Markdown engine with its extensions, raw HTML let through.

    GitHub renders raw HTML (then sanitizes it); letting it through here means any HTML the report failed
    to escape shows up in the output instead of being quietly dropped by the renderer's safe mode.
    """
    html: str = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    return html


@dataclass
class Rendered(HTMLParser):
    """The parts of rendered HTML the tests look at: tags, tables, code blocks, links, headings, text."""

    tags: list[str] = field(default_factory=list)
    tables: list[list[list[str]]] = field(default_factory=list)
    pre: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    text: str = ""
    _stack: list[str] = field(default_factory=list)
    _buffers: dict[str, list[str]] = field(default_factory=dict)
    _href: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._stack.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag == "a":
            self._href.append(dict(attrs).get("href") or "")
        if tag in ("td", "th", "pre", "code", "a", "h1", "h2", "h3", "h4", "p", "li"):
            self._buffers[tag] = []

    def handle_endtag(self, tag: str) -> None:
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()
        content = "".join(self._buffers.pop(tag, []))
        if tag in ("td", "th"):
            self.tables[-1][-1].append(content)
        elif tag == "pre":
            self.pre.append(content)
        elif tag == "code" and "pre" not in self._stack:
            self.codes.append(content)
        elif tag == "a":
            self.links.append((self._href.pop(), content))
        elif tag in ("h1", "h2", "h3", "h4"):
            self.headings.append(content)
        elif tag == "p":
            self.paragraphs.append(content)

    def handle_data(self, data: str) -> None:
        self.text += data
        for buffer in self._buffers.values():
            buffer.append(data)


def parse(markdown: str) -> Rendered:
    rendered = Rendered()
    rendered.feed(to_html(markdown))
    rendered.close()
    return rendered


def table_after(rendered: Rendered, header_cell: str) -> list[list[str]]:
    """The first table whose header row holds ``header_cell``."""
    for table in rendered.tables:
        if table and header_cell in table[0]:
            return table
    raise AssertionError(f"no table with a {header_cell!r} column in {rendered.tables}")
