"""The reports in a real browser, rendered the way GitHub renders them, measured where people read them.

Markdown goes through cmark-gfm (GitHub's engine, tests/report_html.py) and is styled with GitHub's own
stylesheet (the npm package github-markdown-css, installed into node_modules by the Makefile); headless
Chromium (Debian's chromium, driven by Selenium through Debian's chromium-driver; nothing downloads a browser)
lays it out at the width of a PR comment in the conversation view and of a job summary. GitHub colours the
lines of a ``diff`` block with its highlighter; the page does the same with the stylesheet's own classes.
"""

from __future__ import annotations

import base64
import html
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .report_html import to_html

ROOT = Path(__file__).resolve().parents[1]
CSS = ROOT / "node_modules" / "github-markdown-css" / "github-markdown-light.css"
COMMENT_WIDTH = 760  # a PR comment's body in the conversation view
SUMMARY_WIDTH = 1000  # a job summary on the run page

# Headless Chromium as root on a machine without network: no sandbox (root), no GPU, and nothing that phones
# home (QUIC, background networking, component updates, sync); a fresh profile per browser.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)

_MEASURE = """
const body = document.querySelector('.markdown-body');
for (const d of body.querySelectorAll('details')) d.open = true;  // what a reader unfolds must fit too
const limit = body.getBoundingClientRect().right;
const problems = [];
const name = el => el.tagName.toLowerCase() + ' "' + el.textContent.trim().slice(0, 80) + '"';
if (document.documentElement.scrollWidth > window.innerWidth)
  problems.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' px');
for (const el of body.querySelectorAll('*')) {
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  if (box.width === 0 && box.height === 0) continue;
  if (box.right > limit + 0.5) problems.push(name(el) + ' sticks out by ' + Math.round(box.right - limit) + ' px');
  if (style.display !== 'inline' && el.scrollWidth > el.clientWidth + 1)
    problems.push(name(el) + ' scrolls sideways: ' + el.scrollWidth + ' px in ' + el.clientWidth + ' px');
}
const prose = body.cloneNode(true);
for (const el of prose.querySelectorAll('code, pre')) el.remove();
return [problems, prose.textContent];
"""

# Markdown that failed to render shows as its syntax: a table row's pipe, bold's stars, an escape's
# backslash, a fence, a details tag written out as text.
RAW_MARKDOWN = re.compile(r"\||\*\*|\\[!-/:-@\[-`{-~]|```|</?(details|summary)\b|\[!NOTE\]")


@dataclass(frozen=True)
class Measure:
    overflow: list[str]  # elements wider than the page, or scrolling sideways inside it
    raw_markdown: list[str]  # Markdown syntax shown as text, outside code


def find_chromium() -> tuple[str, str]:
    """The browser and its driver: CHROMIUM / CHROMEDRIVER, else Debian's (or another system install's)."""
    browser = os.environ.get("CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "google-chrome", "chromium-browser")) if p), ""
    )
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver") or ""
    if not (browser and driver):
        raise RuntimeError("no Chromium and chromedriver on PATH: `make system-deps` installs Debian's")
    return browser, driver


def highlight_diff(rendered: str) -> str:
    """GitHub's highlighting of ``diff`` blocks: + lines as insertions, - lines as deletions."""

    def lines(match: re.Match[str]) -> str:
        out = []
        for line in match["code"].split("\n"):
            kind = "pl-mi1" if line.startswith("+") else "pl-md" if line.startswith("-") else ""
            out.append(f'<span class="{kind}">{line}</span>' if kind else line)
        return match["open"] + "\n".join(out) + "</code></pre>"

    return re.sub(r'(?P<open><pre lang="diff"><code>)(?P<code>.*?)</code></pre>', lines, rendered, flags=re.S)


def page(markdown: str, width: int, *, title: str = "") -> str:
    """A page holding the rendered Markdown in a ``markdown-body`` box ``width`` pixels wide."""
    if not CSS.is_file():
        raise RuntimeError(f"{CSS} is missing: `make node_modules/.installed-stamp` installs it with npm")
    heading = (
        f'<div style="font:600 13px sans-serif;color:#59636e;padding:8px 16px;border-bottom:1px solid #d1d9e0;'
        f'background:#f6f8fa">{html.escape(title)}</div>'
        if title
        else ""
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<style>{CSS.read_text()}</style>"
        "<style>body{margin:0;background:#fff}"
        f".frame{{width:{width}px;box-sizing:border-box;border:1px solid #d1d9e0;border-radius:6px;overflow:hidden}}"
        ".markdown-body{box-sizing:border-box;padding:16px}</style>"
        f"</head><body><div class='frame'>{heading}<article class='markdown-body'>"
        f"{highlight_diff(to_html(markdown))}</article></div></body></html>"
    )


class Browser:
    """One headless Chromium for many pages."""

    def __init__(self, driver: Any, folder: Path) -> None:
        self._driver = driver
        self._folder = folder
        self._count = 0

    def load(self, markdown: str, width: int, title: str = "") -> None:
        self._count += 1
        path = self._folder / f"page{self._count}.html"
        path.write_text(page(markdown, width, title=title), encoding="utf-8")
        self._driver.set_window_size(width + 40, 800)
        self._driver.get(path.as_uri())

    def measure(self, markdown: str, width: int) -> Measure:
        """Load the Markdown at ``width`` with every <details> open, and report what does not fit."""
        self.load(markdown, width)
        overflow, prose = self._driver.execute_script(_MEASURE)
        raw = [
            match.group(0) + f" in …{prose[max(match.start() - 40, 0) : match.end() + 40]}…"
            for match in RAW_MARKDOWN.finditer(prose)
        ]
        return Measure(list(overflow), raw)

    def screenshot(self, markdown: str, width: int, path: Path, *, title: str = "", unfold: str = "") -> None:
        """A PNG of the whole rendered document; ``<details>`` whose summary starts with ``unfold`` open."""
        self.load(markdown, width, title)
        if unfold:
            self._driver.execute_script(
                "for (const d of document.querySelectorAll('details'))"
                " if (d.querySelector('summary').textContent.startsWith(arguments[0])) d.open = true;",
                unfold,
            )
        size = self._driver.execute_script(
            "const f = document.querySelector('.frame').getBoundingClientRect();"
            "return [Math.ceil(f.right) + 1, Math.ceil(f.bottom) + 1];"
        )
        shot = self._driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))


@contextmanager
def chromium() -> Iterator[Browser]:
    """A started headless Chromium with a fresh profile, quit afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = find_chromium()
    with tempfile.TemporaryDirectory(prefix="report-browser-") as folder:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={folder}/profile"):
            options.add_argument(flag)
        # Given the driver's path, Selenium never runs its Selenium Manager (which would download one).
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        try:
            yield Browser(driver, Path(folder))
        finally:
            driver.quit()
