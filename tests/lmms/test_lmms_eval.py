"""lmms-eval itself, in its own venv (.venv-lmms): the CI round trip and lmms-eval models in omnibench."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from omnibench.lmms.check import compare, lmms_metrics

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("LMMS_VENV", ROOT / ".venv-lmms"))
needs_lmms = pytest.mark.skipif(not (VENV / "bin" / "lmms-eval").exists(),
                                reason=f"lmms-eval venv not found at {VENV} (the CI makes it; see .ci/run)")


def _env() -> dict[str, str]:
    # OMNIBENCH_CACHE (set per session by conftest) is inherited: the synthetic suite is made there once
    return {**os.environ, "LMMS_VENV": str(VENV), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


@pytest.mark.slow
@needs_lmms
def test_lmms_eval_run_equals_omnibench_run(tmp_path):
    """`.ci/lmms_check.sh`: omnibench_blind on omnibench_synth_ap,si inside lmms-eval == omnibench's numbers."""
    proc = subprocess.run(["bash", str(ROOT / ".ci" / "lmms_check.sh")], cwd=ROOT, capture_output=True, text=True,
                          env={**_env(), "LMMS_CHECK_OUT": str(tmp_path / "check")}, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "agree on synth_ap, synth_si" in proc.stdout


@pytest.mark.slow
@needs_lmms
def test_lmms_eval_models_inside_omnibench(tmp_path):
    """`lmms:<name>`: a simple model offline and through the bridge, a chat model with history and frames."""
    proc = subprocess.run([str(VENV / "bin" / "python"), str(Path(__file__).with_name("_venv_from_lmms.py")),
                           str(tmp_path / "run")], cwd=ROOT, capture_output=True, text=True, env=_env(),
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["errors"] == [] and got["answers"] == ["yes", "yes"]
    assert got["protocols"] == ["bridge"] and got["alerts"] > 0      # "yes" to every poll: alerts
    assert got["chat_simple"] is False and got["chat_reply"] == "blue"
    assert got["chat_roles"] == ["user", "assistant", "user"]
    assert got["chat_last"][-1] == "text" and len(got["chat_last"]) > 1   # frames went in before the prompt


RESULTS = {"results": {"omnibench_synth_ap": {"alias": "omnibench_synth_ap", "accuracy,none": 0.5,
                                               "accuracy_stderr,none": "N/A", "turn_accuracy,none": 0.5}}}


def test_check_reads_lmms_metrics_without_stderr():
    assert lmms_metrics(RESULTS, "synth_ap") == {"accuracy": 0.5, "turn_accuracy": 0.5}


def test_check_agrees_and_flags_every_difference():
    same = {"synth_ap": {"accuracy": {"value": 0.5}, "turn_accuracy": {"value": 0.5}}}
    assert compare(RESULTS, same, ["synth_ap"]) == []
    off = {"synth_ap": {"accuracy": {"value": 0.4}, "turn_accuracy": {"value": 0.5}}}
    assert compare(RESULTS, off, ["synth_ap"]) == ["synth_ap.accuracy: lmms-eval 0.5 != omnibench 0.4"]
    assert compare(RESULTS, same, ["synth_ap", "synth_si"]) == ["synth_si: no metrics in the lmms-eval results"]
    assert compare(RESULTS, {}, ["synth_ap"]) == ["synth_ap: missing from the omnibench scores"]


def test_check_fails_without_results_file(tmp_path, capsys):
    from omnibench.lmms.check import main

    (tmp_path / "scores.json").write_text("{}")
    assert main([str(tmp_path / "none"), str(tmp_path / "scores.json"), "--tasks", "synth_ap"]) == 1
    assert "no *_results.json" in capsys.readouterr().err
