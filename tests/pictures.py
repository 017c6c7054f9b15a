"""``make pictures``: the README's pictures of the PR comment, from real runs against the emulator.

Each is the comment a story leaves on its pull request (tests/report_runs.py), rendered as GitHub renders it in
the browser the tests use (tests/browser.py), at the width of a comment in the conversation view.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from .browser import COMMENT_WIDTH, Browser, chromium
from .report_runs import Report, four_reports, smoke_report

# file name → (story, the frame's title, the <details> shown unfolded)
PICTURES = {
    "report-success": ("success", "PR comment: a successful update", ""),
    "report-plan": ("plan", "PR comment: a plan, with an alarm that cannot fire", ""),
    "report-rollback": ("rollback", "PR comment: an alarm rolled the update back", ""),
    "report-failure": ("failure", "PR comment: the new fleet crashed on start", "Container log"),
    "report-smoke-rollback": ("smoke", "PR comment: a failed smoke test rolled the update back", ""),
}


def write_pictures(reports: dict[str, Report], browser: Browser, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (story, title, unfold) in PICTURES.items():
        path = folder / f"{name}.png"
        browser.screenshot(reports[story].comment, COMMENT_WIDTH, path, title=title, unfold=unfold)
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "docs/images")
    with tempfile.TemporaryDirectory(prefix="report-pictures-") as tmp:
        reports = {**four_reports(Path(tmp)), "smoke": smoke_report(Path(tmp) / "smoke")}
        with chromium() as browser:
            for path in write_pictures(reports, browser, folder):
                print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
