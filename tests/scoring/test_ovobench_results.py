"""OVO-Bench's own result folders through `omnibench data reference-scores --benchmark ovobench`."""

from __future__ import annotations

import json
import shutil

import pytest

from omnibench.cli import main
from omnibench.errors import DataError
from omnibench.scoring.ovobench_results import reference_scores
from tests.peer_data import GEMINI, need

# OVO-Bench's README, "Scores will show in cli" for Gemini, as printed (two decimals)
README_GEMINI = {
    "ASI": "76.35", "HLD": "52.69", "EPM": "58.59", "backward_avg": "62.54",
    "ATR": "79.31", "ACR": "66.97", "OCR": "85.91", "STU": "58.43", "OJR": "61.96", "FPD": "63.37",
    "realtime_avg": "69.32",
    "REC": "35.53", "SSR": "74.24", "CRR": "61.67", "forward_avg": "57.15",
    "total_avg": "63.00",
}


def test_gemini_folder_prints_the_readme_figures_exactly(capsys):
    assert main(["data", "reference-scores", "--benchmark", "ovobench", str(need(GEMINI)), "--json"]) == 0
    out = capsys.readouterr()
    scores = json.loads(out.out)
    assert {k: f"{v:.2f}" for k, v in scores.items()} == README_GEMINI
    assert "appear in more than one file" in out.err        # said, and counted twice as the reference does


def _folder(tmp_path, backward=(), realtime=(), forward=()):
    folder = tmp_path / "results" / "M"
    folder.mkdir(parents=True)
    (folder / "M_all_offline.json").write_text(json.dumps(
        {"backward": list(backward), "realtime": list(realtime), "forward": list(forward)}))
    return folder


def _choice(task, i, response, truth="B"):
    return {"id": i, "task": task, "video": "v.mp4", "question": "q", "response": response, "ground_truth": truth}


def test_list_responses_are_scored_as_their_joined_strings_and_said(tmp_path, capsys):
    # the reference's scorer raises TypeError at REC on a list response; ours scores it and says so
    folder = _folder(tmp_path, backward=[_choice("EPM", 0, ["B"]), _choice("EPM", 1, ["A."])],
                     realtime=[_choice("OCR", 2, ["B. the sign"])],
                     forward=[{"id": 3, "task": "REC", "video": "v.mp4", "activity": "jump",
                               "test_info": [{"realtime": 3, "count": 2, "response": ["2"]},
                                             {"realtime": 5, "count": 3, "response": ["I count", "3"]}]}])
    assert main(["data", "reference-scores", "--benchmark", "ovobench", str(folder), "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out) == {"EPM": 50.0, "backward_avg": 50.0, "OCR": 100.0, "realtime_avg": 100.0,
                                   "REC": 100.0, "forward_avg": 100.0, "total_avg": pytest.approx(250 / 3)}
    assert "5 response(s) are lists of strings" in out.err and "TypeError" in out.err


def test_a_missing_group_is_absent_and_so_is_the_total(tmp_path):
    scores, notes = reference_scores(_folder(tmp_path, backward=[_choice("HLD", 0, "B")]))
    assert scores == {"HLD": 100.0, "backward_avg": 100.0}
    assert "NameError" in notes[-1]


def test_reference_rules_on_their_edge_cases(tmp_path):
    # None scores 0; the letter anywhere passes; REC joins all digits; SSR exact Y/N or Yes/No inside
    folder = _folder(tmp_path, backward=[_choice("ASI", 0, None), _choice("ASI", 1, "A person, so B")],
                     forward=[{"id": 2, "task": "REC", "video": "v", "activity": "a",
                               "test_info": [{"realtime": 1, "count": 23, "response": "2, no 3"},
                                             {"realtime": 2, "count": 3, "response": "2, no 3"}]},
                              {"id": 3, "task": "SSR", "video": "v",
                               "test_info": [{"realtime": 1, "step": "s", "type": 0, "response": "N"},
                                             {"realtime": 2, "step": "s", "type": 0, "response": "Not yet. No."},
                                             {"realtime": 3, "step": "s", "type": 1, "response": "yes"},
                                             {"realtime": 4, "step": "s", "type": 1, "response": None}]}])
    scores, _ = reference_scores(folder)
    assert scores["ASI"] == 50.0 and scores["REC"] == 50.0 and scores["SSR"] == 50.0


def test_a_bad_response_names_the_file_group_and_record(tmp_path):
    folder = _folder(tmp_path, backward=[_choice("EPM", 0, {"text": "B"})])
    with pytest.raises(DataError, match=r"M_all_offline.json, backward\[0\].*response is a dict"):
        reference_scores(folder)
    shutil.rmtree(folder.parent)
    with pytest.raises(DataError, match="no .json result files"):
        reference_scores(folder)
