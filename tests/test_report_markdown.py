"""The Markdown builder: outside text stays text, whatever characters it holds."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagemaker_async_deploy._markdown import (
    Code,
    Document,
    Link,
    Strong,
    code_span,
    collapse,
    escape,
    fence,
    one_line,
    render,
    url,
)

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


# collapse / one_line


def test_collapse_drops_control_characters_and_joins_whitespace() -> None:
    """Control characters go; every run of blanks and line breaks, even around a dropped one, is one space."""
    assert collapse("a\x00b \t\r\n c\x7f\x1f d ") == "ab c d "
    assert collapse("a \x01 b") == "a b"


def test_one_line_strips_both_ends() -> None:
    """one_line() is collapse() without the spaces at either end."""
    assert one_line(" \n a  b \t") == "a b"


# escape


def test_escape_escapes_all_punctuation_that_means_something() -> None:
    """Each ASCII punctuation mark gets a backslash, except the ones no Markdown rule reads."""
    expected = "\\!\"\\#$%\\&'\\(\\)\\*\\+,\\-\\./:;\\<\\=\\>?\\@\\[\\\\\\]^\\_\\`\\{\\|\\}\\~"
    assert escape(string.punctuation) == expected


def test_escape_keeps_letters_digits_and_other_scripts() -> None:
    """Letters, digits, spaces and non-ASCII text need no escape."""
    assert escape("Ünïcode 123 ok — ✓") == "Ünïcode 123 ok — ✓"


def test_escape_turns_html_into_text() -> None:
    """A tag or an entity in outside text is escaped so it renders as its characters."""
    assert escape("<img src=x onerror=alert(1)> &amp;") == "\\<img src\\=x onerror\\=alert\\(1\\)\\> \\&amp;"
    assert parse(Document().paragraph("<img src=x> &amp;").render()).paragraphs == ["<img src=x> &amp;"]


def test_escape_puts_the_text_on_one_line() -> None:
    """Line breaks and tabs become single spaces, so escaped text cannot start a block."""
    assert escape("a\n# b\r\n\t- c") == "a \\# b \\- c"


# code_span


def test_code_span_of_plain_text() -> None:
    """Text without backticks sits between single backticks, on one line, trimmed."""
    assert code_span("x") == "`x`"
    assert code_span("  a\n b ") == "`a b`"


def test_code_span_of_blank_text_is_nothing() -> None:
    """Text with nothing but blanks makes no code span at all."""
    assert code_span(" \n\t") == ""
    assert render(Code("")) == ""


def test_code_span_fence_outruns_the_longest_backtick_run() -> None:
    """The fence is one backtick longer than the longest run inside, wherever that run stands."""
    assert code_span("a``b") == "```a``b```"
    assert code_span("a``b`c") == "```a``b`c```"
    assert code_span("a`b```c") == "````a`b```c````"


def test_code_span_pads_a_trailing_backtick() -> None:
    """Text ending in a backtick is padded too, so the closing fence stays apart from it."""
    assert code_span("ab`") == "`` ab` ``"
    assert code_span("`a`") == "`` `a` ``"


def test_code_span_escapes_pipes_only_in_tables() -> None:
    """A pipe is escaped inside a table cell, where GFM would split on it, and left alone elsewhere."""
    assert code_span("a|b", in_table=True) == "`a\\|b`"
    assert code_span("a|b") == "`a|b`"
    assert code_span("`a|b`", in_table=True) == "`` `a\\|b` ``"


def test_table_context_is_only_ever_named() -> None:
    """in_table is keyword-only and the text positional, so a call site always says which one it sets."""
    with pytest.raises(TypeError, match="positional"):
        code_span("a|b", True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        render(Code("a|b"), True)  # type: ignore[call-arg]
    assert code_span("a|b", in_table=True) == render(Code("a|b"), in_table=True) == "`a\\|b`"


# url


def test_url_encodes_what_would_end_the_destination() -> None:
    """Spaces, parentheses, angle brackets, backslashes and quotes in an http(s) URL are percent-encoded."""
    assert url('https://example.com/a b(c)<d>\\e"f') == "https://example.com/a%20b%28c%29%3Cd%3E%5Ce%22f"


def test_url_keeps_what_a_destination_may_hold() -> None:
    """Query, fragment, existing escapes and an upper-case scheme stay as they are."""
    assert url("HTTP://Example.com/p?q=a&b=%20#frag") == "HTTP://Example.com/p?q=a&b=%20#frag"


def test_url_refuses_any_other_scheme() -> None:
    """javascript:, data:, other schemes, relative and scheme-relative addresses give no destination."""
    for address in (
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "java\nscript:alert(1)",
        "data:text/html,<b>x</b>",
        "ftp://example.com/x",
        "//evil.example/x",
        "/relative",
        "",
    ):
        assert url(address) == "", address


# render


def test_render_escapes_plain_text() -> None:
    """A plain string renders escaped."""
    assert render("a*b") == "a\\*b"


def test_render_code_passes_the_table_context_on() -> None:
    """Code escapes its pipes only when rendered in a table."""
    assert render(Code("a|b")) == "`a|b`"
    assert render(Code("a|b"), in_table=True) == "`a\\|b`"


def test_render_strong() -> None:
    """Strong wraps its rendered content in ** and passes the table context on."""
    assert render(Strong("*x*")) == "**\\*x\\***"
    assert render(Strong(Code("a|b")), in_table=True) == "**`a\\|b`**"


def test_render_empty_strong_is_nothing() -> None:
    """Strong around nothing renders nothing, not a stray '****'."""
    assert render(Strong("")) == ""
    assert render(Strong(Code(" "))) == ""


def test_render_link() -> None:
    """A link renders its escaped label and its encoded URL."""
    assert render(Link("docs *x*", "https://x.y/a (1)")) == "[docs \\*x\\*](https://x.y/a%20%281%29)"


def test_render_link_without_a_label_shows_its_url() -> None:
    """A link with an empty label is labelled with its URL, escaped."""
    assert render(Link("", "https://x.y/a_b")) == "[https://x\\.y/a\\_b](https://x.y/a_b)"


def test_render_link_to_another_scheme_is_its_label_or_its_url_as_text() -> None:
    """A non-http(s) link is only text: its label, or its URL escaped when it has none."""
    assert render(Link("click *me*", "javascript:alert(1)")) == "click \\*me\\*"
    assert render(Link("", "javascript:alert(1)")) == "javascript:alert\\(1\\)"


def test_render_link_passes_the_table_context_on() -> None:
    """A link's label in a table cell has its pipes escaped."""
    assert render(Link(Code("a|b"), "https://x.y"), in_table=True) == "[`a\\|b`](https://x.y)"


def test_render_sequence_joins_its_parts() -> None:
    """A tuple renders as its parts in order, nested ones too, with the table context passed on."""
    assert render(("a|", Code("b|"), ("c", Strong("d")))) == "a\\|`b|`c**d**"
    assert render(("a|", Code("b|"), ("c", Code("|"))), in_table=True) == "a\\|`b\\|`c`\\|`"
    assert render(()) == ""


# fence


def test_fence_of_plain_text() -> None:
    """Text without backticks sits between three-backtick fences, the info string after the first."""
    assert fence("x") == "```text\nx\n```"
    assert fence("x", "diff") == "```diff\nx\n```"


def test_fence_outruns_three_backticks_inside() -> None:
    """A run of three backticks in the text makes a fence of four."""
    assert fence("a```b") == "````text\na```b\n````"
    assert fence("~~~\n``\n```") == "````text\n~~~\n``\n```\n````"


def test_fence_keeps_three_for_shorter_runs() -> None:
    """Runs of one or two backticks need no longer fence than the usual three."""
    assert fence("a`b``c") == "```text\na`b``c\n```"


def test_fence_of_nothing_is_an_empty_block() -> None:
    """Empty text, only line breaks or only control characters make an empty block, no blank line in it."""
    assert fence("") == "```text\n```"
    assert fence("\n\r\n") == "```text\n```"
    assert fence("\x00\x07") == "```text\n```"


def test_fence_normalises_line_ends_and_drops_control_characters() -> None:
    """CRLF and CR become LF, control characters go, trailing line breaks go; leading blanks and tabs stay."""
    assert fence("\n  a\tb\r\nc\rd\x00\n\n") == "```text\n\n  a\tb\nc\nd\n```"


def test_fence_info_keeps_only_a_language_name() -> None:
    """The info string keeps letters, digits, '_', '+' and '-' only, so it can neither hold a backtick nor
    end the line."""
    assert fence("x", "py thon`{}<>\n~") == "```python\nx\n```"
    assert fence("x", "c++_x-1") == "```c++_x-1\nx\n```"


# Document.quote


def test_quote_makes_one_paragraph_per_line() -> None:
    """Each line of the text is its own quoted paragraph."""
    assert Document().quote("first\nsecond").render() == "> first\n>\n> second\n"


def test_quote_escapes_each_line_and_drops_blank_ones() -> None:
    """Markdown and HTML in a quoted line are escaped; CRLF and CR end lines; blank lines are left out."""
    text = "> b *c*\r\n\n  \r1. d\n# e\n\x00\n<script>x</script>"
    expected = "> \\> b \\*c\\*\n>\n> 1\\. d\n>\n> \\# e\n>\n> \\<script\\>x\\</script\\>\n"
    assert Document().quote(text).render() == expected
    rendered = parse(expected)
    assert rendered.tags == ["blockquote", "p", "p", "p", "p"]
    assert rendered.paragraphs == ["> b *c*", "1. d", "# e", "<script>x</script>"]


def test_quote_of_blank_text_adds_no_block() -> None:
    """A text with only blank lines adds nothing to the document."""
    assert Document().quote(" \n\r\n\t").render() == ""
    assert Document().paragraph("a").quote("\n").paragraph("b").render() == "a\n\nb\n"
