"""The command line: listing, clear errors with non-zero exits, stats, run + score --json, aliases."""

from __future__ import annotations

import json

from omnibench.cli import main


def test_list_and_stats(capsys):
    assert main(["list", "tasks"]) == 0
    assert "omnimmi_pa" in capsys.readouterr().out
    assert main(["data", "stats"]) == 0
    out = capsys.readouterr().out
    assert "SG         300      704     300" in out or ("SG" in out and "704" in out)


def test_errors_exit_non_zero_with_one_paragraph_and_no_traceback(capsys):
    assert main(["run", "--model", "no_such_model", "--tasks", "synth_pt"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'no_such_model'" in err and "Traceback" not in err
    assert main(["data", "probe", "/nonexistent.mp4"]) == 1


def test_run_then_score_json_with_lmms_eval_spellings(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--model", "blind", "--tasks", "omnimmi_pt", "--limit", "5", f"--output_path={out}",
                 "--quiet", "--no-score"]) == 0
    capsys.readouterr()
    assert main(["score", str(out), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["omnimmi_pt"]["silence"]["n"] == 5 and scores["omnimmi_pt"]["n_errors"] == 0
