"""The Markdown builder: outside text stays text, whatever characters it holds."""

from __future__ import annotations

import re
import string

from hypothesis import given
from hypothesis import strategies as st

from sagemaker_async_deploy._markdown import Code, Document, Link, Strong, code_span, collapse, escape, fence, one_line

from .report_html import parse, to_html

# Text biased towards what breaks Markdown: every ASCII punctuation mark, HTML, newlines and spaces.
_pieces = st.sampled_from([*string.punctuation, *"ab \n\t\r", "<img src=x>", "</td>", "&lt;", "```", "1. ", "- "])
hostile = st.lists(_pieces, max_size=30).map("".join) | st.text(max_size=40)


@given(hostile)
def test_plain_text_renders_as_exactly_that_text(text: str) -> None:
    """Any string given as text renders to the same characters (on one line) and opens no element."""
    rendered = parse(Document().paragraph("x ", text, " y").render())
    assert rendered.tags == ["p"]
    assert rendered.paragraphs == ["x " + collapse(text) + " y"]


@given(hostile.filter(lambda t: one_line(t) != ""))
def test_code_span_holds_any_text(text: str) -> None:
    """A code span shows its text verbatim, however many backticks it holds, as one <code> element."""
    rendered = parse(Document().paragraph("see ", Code(text)).render())
    assert rendered.codes == [one_line(text)]
    assert rendered.tags == ["p", "code"]


@given(st.lists(hostile, min_size=3, max_size=3), hostile.filter(lambda t: one_line(t) != ""))
def test_table_cells_cannot_be_split_or_merged(cells: list[str], code: str) -> None:
    """Text and code with pipes, backticks or newlines keep a table row at exactly its cells."""
    rendered = parse(Document().table(("a", "b", "c", "d"), [(*cells, Code(code))]).render())
    assert rendered.tables == [[["a", "b", "c", "d"], [*(one_line(c) for c in cells), one_line(code)]]]


@given(hostile)
def test_fenced_block_holds_any_text(text: str) -> None:
    """A fenced block shows its text verbatim (bar control characters) and nothing inside ends it early."""
    doc = Document().code_block(text).heading(3, "after")
    rendered = parse(doc.render())
    expected = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text.replace("\r\n", "\n").replace("\r", "\n"))
    expected = expected.rstrip("\n")
    assert rendered.pre == [expected + "\n" if expected else ""]
    assert rendered.headings == ["after"]


def test_fence_is_longer_than_any_backtick_run() -> None:
    """The fence around text with a run of five backticks is six backticks long."""
    assert fence("a ````` b").splitlines()[0] == "``````text"


def test_code_span_pads_leading_backtick() -> None:
    """A code span whose text starts with a backtick is padded so the fence stays apart from it."""
    assert code_span("`x") == "`` `x ``"


def test_link_escapes_its_label_and_encodes_its_url() -> None:
    """A link's label is text and its URL cannot end the destination early (spaces, parentheses)."""
    rendered = parse(Document().paragraph(Link("a *b* <i>", "https://example.com/p (1)?q=<x>")).render())
    assert rendered.links == [("https://example.com/p%20%281%29?q=%3Cx%3E", "a *b* <i>")]


def test_link_to_another_scheme_is_only_its_label() -> None:
    """A javascript: (or any non-http) URL renders as its label, without a link."""
    rendered = parse(Document().paragraph(Link("click", "javascript:alert(1)")).render())
    assert rendered.links == []
    assert rendered.paragraphs == ["click"]


def test_strong_and_heading_render() -> None:
    """Headings and bold text render as their elements with their text escaped."""
    rendered = parse(Document().heading(2, ("# x ", Strong("*y*"))).render())
    assert rendered.tags == ["h2", "strong"]
    assert rendered.headings == ["# x *y*"]


def test_table_rows_are_fitted_to_the_header() -> None:
    """A short row is padded with empty cells and a long one cut, so every row has the header's width."""
    rendered = parse(Document().table(("a", "b"), [("1",), ("1", "2", "3")]).render())
    assert rendered.tables == [[["a", "b"], ["1", ""], ["1", "2"]]]


def test_render_with_a_limit_keeps_whole_blocks_and_says_so() -> None:
    """Over its limit, a document keeps the blocks that fit, drops the rest, and ends with the note."""
    doc = Document().paragraph("first").code_block("x" * 500).paragraph("last")
    text = doc.render(200, cut_note="cut here")
    assert len(text.encode()) <= 200
    assert text.startswith("first\n\n")
    assert "xxx" not in text
    assert text.endswith("> [!NOTE]\n> cut here\n")


def test_render_within_its_limit_is_unchanged() -> None:
    """A document under its limit renders the same with or without the limit."""
    doc = Document().paragraph("first").paragraph("last")
    assert doc.render(10_000) == doc.render() == "first\n\nlast\n"


def test_mentions_are_escaped() -> None:
    """An '@name' from outside text (an alarm, a model name) cannot mention and notify people on GitHub."""
    assert escape("alarm for @acme/oncall") == "alarm for \\@acme/oncall"
    assert "@acme" in to_html(Document().paragraph("alarm for @acme/oncall").render())
