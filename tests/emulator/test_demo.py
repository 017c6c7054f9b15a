"""``make demo`` leaves each run's job summary and PR comment body in a folder it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagemaker_emulator import demo
from sagemaker_emulator._server import Emulator


def test_a_demo_run_keeps_its_summary_and_the_comment_the_action_posted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first deploy of the demo writes its job summary and posts its comment to the local GitHub API; both
    stay in the run's folder, and the demo's closing lines name their paths."""
    github = demo.GitHub.start()
    assert github is not None  # in a clone the test suite's GitHub API stand-in is importable
    try:
        with Emulator(timings=demo.TIMINGS) as emu:
            topics = demo._seed(emu)
            assert demo._run_action(emu, demo.SCENARIOS[0], 1, topics, tmp_path, github)
    finally:
        github.stop()
    summary, comment = tmp_path / "run-1" / "summary.md", tmp_path / "run-1" / "comment.md"
    assert "created" in summary.read_text()
    body = comment.read_text()
    assert body.startswith("<!-- sagemaker-async-deploy:endpoint=demo-async-endpoint -->")
    assert "created" in body
    capsys.readouterr()
    demo._where(tmp_path, github)
    printed = capsys.readouterr().out
    assert f"job summary:  {summary}" in printed
    assert f"PR comment:   {comment}" in printed
