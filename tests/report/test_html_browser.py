"""The HTML page in headless Chromium: the table renders, and a <script> planted in model output never runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from omnibench.report import write_report
from tests.report.test_report import result, write_run, write_stream_run

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium")
                 if p and Path(p).exists()), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (Debian package: chromium)")

# would leave a visible trace in the DOM if it ran: a changed title and an element with id "pwned"
PLANTED = "<script>document.title='pwned';document.body.insertAdjacentHTML('beforeend','<p id=\"pwned\">x</p>')</script>"


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
             f"--user-data-dir={profile}"]
    return subprocess.run([CHROMIUM, *flags, *extra, page.as_uri()], capture_output=True, text=True, timeout=120)


def test_chromium_runs_scripts_in_this_mode(tmp_path):
    """Control: the same planted script does run in a page that does not escape it, so the next test can fail."""
    page = tmp_path / "control.html"
    page.write_text(f"<!doctype html><html><head><title>t</title></head><body>{PLANTED}</body></html>")
    dom = chromium(page, tmp_path / "profile", "--dump-dom").stdout
    assert '<p id="pwned">x</p>' in dom


def test_page_renders_its_tables_and_planted_scripts_stay_text(tmp_path):
    run = write_stream_run(tmp_path / "r", PLANTED, 3, text=PLANTED)
    write_run(run, [result("synth_pa", PLANTED, 0.5, n_samples=3), result("synth_pa", "honest-model", 0.25),
                    result("synth_pt", "honest-model", 0.75, headline="silence")])
    page = write_report([run], tmp_path / "board", title="browser check")["html"]
    dom = chromium(page, tmp_path / "profile", "--dump-dom").stdout
    assert '<table id="leaderboard">' in dom and "honest-model" in dom and "25.00" in dom and "75.00" in dom
    assert dom.count("<tr><td class=\"model\">") >= 2                       # both measured rows rendered
    assert "<svg" in dom and 'class="window"' in dom                         # a timeline was drawn
    assert '<p id="pwned">' not in dom and "<title>browser check</title>" in dom   # the element, not the text
    assert "&lt;script&gt;document.title" in dom                             # shown as text, not parsed


def test_page_screenshot_is_not_blank(tmp_path):
    run = write_run(tmp_path / "r", [result("synth_pa", "a", 0.5), result("synth_pa", "b", 0.25)])
    page = write_report([run], tmp_path / "board")["html"]
    shot = tmp_path / "page.png"
    chromium(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,800", "--hide-scrollbars")
    assert shot.exists() and shot.stat().st_size > 5_000
    pil = pytest.importorskip("PIL.Image")
    colours = pil.open(shot).convert("L").getextrema()
    assert colours[0] < 100 < colours[1]                                     # dark text on a light page
