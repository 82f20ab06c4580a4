"""The HTML page in headless Chromium: the table renders, and a planted <script> does not run."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from omnibench.report import write_report
from tests.report.test_report import result, write_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)")
def test_page_renders_its_table_and_planted_scripts_stay_text(tmp_path):
    planted = "<script>document.body.insertAdjacentHTML('beforeend', '<p id=pwned>x</p>')</script>"
    run = write_run(tmp_path / "r", [result("synth_pa", planted, 0.5), result("synth_pa", "honest", 0.25)])
    page = write_report([run], tmp_path / "board")["html"]
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert '<table id="leaderboard">' in dom and "honest" in dom and "25.00" in dom
    assert 'id="pwned"' not in dom and "&lt;script&gt;" in dom
