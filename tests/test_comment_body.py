"""The comment body guard: the marker always first, GitHub's 65,536-character limit never exceeded."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_async_deploy.comment import MAX_BODY_CHARS, comment_marker, fit_comment_body

MARKER = comment_marker("whisper")
RUN = "https://github.com/octo/models/actions/runs/1"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_marker_names_the_action_and_endpoint() -> None:
    """The marker is a hidden HTML comment naming this action and the endpoint."""
    assert comment_marker("whisper-large-v3") == "<!-- sagemaker-async-deploy:endpoint=whisper-large-v3 -->"


def test_marker_cannot_be_closed_early_by_a_strange_name() -> None:
    """A name with characters outside SageMaker's alphabet is percent-quoted, so '-->' cannot end the marker."""
    marker = comment_marker("a --> b")
    assert marker == "<!-- sagemaker-async-deploy:endpoint=a%20--%3E%20b -->"
    assert marker.count("-->") == 1


def test_short_body_gets_the_marker_and_nothing_else() -> None:
    """A body under the limit is kept as is, with the marker on its own first line."""
    assert fit_comment_body("## Updated\n\nAll good.", MARKER, RUN) == MARKER + "\n## Updated\n\nAll good."


def test_marker_already_in_the_body_is_not_repeated() -> None:
    """A body that already carries the marker gets it once, on the first line."""
    text = fit_comment_body(f"report\n{MARKER}\n", MARKER)
    assert text.count(MARKER) == 1 and text.startswith(MARKER + "\n")


def test_body_exactly_at_the_limit_is_not_cut() -> None:
    """A body that just fits (marker included) is not truncated."""
    body = "x" * (MAX_BODY_CHARS - len(MARKER) - 1)
    assert fit_comment_body(body, MARKER) == MARKER + "\n" + body


def test_cut_closes_tilde_fence_and_details_and_links_the_run() -> None:
    """A cut inside <details> and a ~~~~ fence closes both, in order, before the note linking the run."""
    body = "<details><summary>Log</summary>\n\n~~~~\n" + "line\n" * 20_000
    text = fit_comment_body(body, MARKER, RUN)
    assert len(text) <= MAX_BODY_CHARS
    head, note = text.split("\n\n> [!NOTE]\n", 1)
    assert head.endswith("line\n~~~~\n</details>")
    assert RUN in note and "truncated" in note


def test_cut_happens_at_a_line_break() -> None:
    """Truncation never leaves half a table row: the text before the closers ends with a whole line."""
    rows = "".join(f"| endpoint-{i:05d} | InService |\n" for i in range(5000))
    text = fit_comment_body("| Endpoint | Status |\n|---|---|\n" + rows, MARKER)
    head = text.split("\n\n> [!NOTE]", 1)[0]
    assert re.fullmatch(r"\| endpoint-\d{5} \| InService \|", head.rsplit("\n", 1)[1])


def test_characters_outside_the_bmp_count_twice() -> None:
    """Emoji count as two UTF-16 units, so a body of them still ends up within the limit in either count."""
    text = fit_comment_body("🚀" * 40_000, MARKER)
    assert utf16_len(text) <= MAX_BODY_CHARS
    assert text.startswith(MARKER + "\n🚀")


@settings(max_examples=40, deadline=None)
@given(
    lines=st.lists(
        st.sampled_from(["```", "```python", "~~~", "<details>", "</details>", "plain", "🚀🚀", "|a|b|", ""]),
        min_size=1,
        max_size=30,
    ),
    repeat=st.integers(min_value=1, max_value=8000),
)
def test_any_body_fits_with_the_marker_first(lines: list[str], repeat: int) -> None:
    """Whatever the Markdown, the result starts with the marker once and stays within the limit."""
    body = "\n".join(lines * repeat)
    text = fit_comment_body(body, MARKER, RUN)
    assert utf16_len(text) <= MAX_BODY_CHARS
    assert text.startswith(MARKER + "\n") and text.count(MARKER) == 1
    if utf16_len(MARKER + "\n" + body) > MAX_BODY_CHARS:
        assert "truncated" in text.rsplit("> [!NOTE]", 1)[1]


def test_a_body_of_characters_outside_the_bmp_keeps_what_fits() -> None:
    """Each emoji is two UTF-16 units: the cut keeps as many as fit, not a sliver."""
    body = fit_comment_body("😀" * 70_000, comment_marker("whisper"))
    assert 60_000 < len(body.encode("utf-16-le")) // 2 <= 65_536


def test_a_long_last_line_is_cut_in_few_rounds() -> None:
    """A line longer than the limit after many open <details> is cut at once, not one character a round."""
    body = fit_comment_body(("<details>" * 50 + "x" * 3_000 + "\n") * 30 + "y" * 80_000, comment_marker("whisper"))
    assert len(body.encode("utf-16-le")) // 2 <= 65_536
    assert body.count("</details>") == body.count("<details>")
