"""The issue-24 adversarial set, each case in its own process: 0 crashes, 0 hangs, 0 secrets, 0 wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_adversarial_set_is_clean():
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "tests.adversarial"], cwd=root, capture_output=True, text=True,
                          timeout=900)
    tally = json.loads(proc.stdout.strip().splitlines()[-1])
    assert tally["cases"] >= 20, proc.stdout
    assert tally == {**tally, "crashes": 0, "hangs": 0, "secrets": 0, "wrong": 0}, proc.stdout
