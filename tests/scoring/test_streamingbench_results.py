"""StreamingBench's count.py rules, reproduced on generated output files.

`transcribed_count` below is written from the rules as count.py states them (see the module doc of
omnibench.scoring.streamingbench_results), independently of our implementation; generated output
files with seeded replies must give the same numbers through `omnibench data reference-scores`.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict

import pytest

from omnibench.cli import main
from omnibench.errors import DataError
from omnibench.scoring.streamingbench_results import reference_scores
from tests.peer_data import SB_DIR, need

MODEL = "MyModel"


def _stamp_s(stamp):
    h, m, s = ([0, 0] + [int(x) for x in stamp.split(":")])[-3:]
    return h * 3600 + m * 60 + s


def transcribed_count(data, kind):
    """count.py's numbers: per task type correct/total over answered questions (real/omni add 'total');
    proactive: the last dialog turn within 2 s, and the output inside its content."""
    stats = defaultdict(lambda: defaultdict(int))
    records = [r for video in data for r in video] if kind == "sqa" else data
    for record in records:
        for q in record["questions"]:
            if MODEL not in q:
                continue
            if kind == "proactive":
                last = q[MODEL]["dialog_history"][-1]
                stats[q["task_type"]]["total"] += 1
                if abs(last["time"] - _stamp_s(q["ground_truth_time_stamp"])) <= 2:
                    stats[q["task_type"]]["time"] += 1
                    stats[q["task_type"]]["answer"] += q["ground_truth_output"] in last["content"]
                continue
            if not q[MODEL]:
                continue
            first = q[MODEL][0]
            for key in [q["task_type"]] + ([] if kind == "sqa" else ["total"]):
                stats[key]["total"] += 1
                stats[key]["correct"] += first == q["answer"]
    if kind == "proactive":
        return {**{k: 100 * c["answer"] / c["total"] for k, c in stats.items()},
                **{f"{k} (time)": 100 * c["time"] / c["total"] for k, c in stats.items()}}
    return {k: 100 * c["correct"] / c["total"] for k, c in stats.items()}


def _reply(rng, answer):
    return rng.choice([answer, f"{answer}.", f" {answer}", "Z", f"The answer is {answer}", "B", "A. x", "(C)"])


def _generated(subset, seed):
    rng = random.Random(seed)
    data = json.loads((need(SB_DIR) / f"questions_{subset}.json").read_text())
    records = [r for video in data for r in video] if subset == "sqa" else data
    for record in records[: 120]:
        for q in record["questions"]:
            if rng.random() < 0.15:
                continue                                     # never answered: no key
            if subset == "proactive":
                gt = _stamp_s(q["ground_truth_time_stamp"])
                t = gt + rng.choice([-5, -2, -1, 0, 1, 2, 3, 4])
                content = rng.choice([q["ground_truth_output"], f"It is {q['ground_truth_output']}!", "no", "yes"])
                q[MODEL] = {"answered": t, "dialog_history": [
                    {"role": "user", "content": "is it?", "time": t, "cost": 0.1},
                    {"role": "assistant", "content": content, "time": t, "cost": 0.1}]}
            else:
                q[MODEL] = None if subset == "sqa" and rng.random() < 0.1 else _reply(rng, q["answer"])
    return data


@pytest.mark.parametrize("subset,kind", [("real", "choice"), ("omni", "choice"), ("sqa", "sqa"),
                                         ("proactive", "proactive")])
def test_generated_outputs_give_count_pys_numbers(subset, kind, tmp_path, capsys):
    for seed in (0, 1):
        data = _generated(subset, seed)
        path = tmp_path / f"{subset}_output_{seed}.json"
        path.write_text(json.dumps(data))
        assert main(["data", "reference-scores", "--benchmark", "streamingbench", str(path), "--json"]) == 0
        printed = json.loads(capsys.readouterr().out)
        expected = transcribed_count(data, kind)
        assert printed.keys() == expected.keys() and all(printed[k] == pytest.approx(expected[k]) for k in expected)


def test_where_count_py_stops_ours_goes_on_and_says_so(tmp_path):
    # an empty reply (count.py: IndexError) is unanswered; an empty dialog history is counted wrong
    choice = [{"video_path": "./videos/v.mp4", "questions": [
        {"task_type": "Counting", "question": "q", "time_stamp": "00:00:05", "answer": "A", "options": ["a", "b"],
         MODEL: ""},
        {"task_type": "Counting", "question": "q2", "time_stamp": "00:00:07", "answer": "B", "options": ["a", "b"],
         MODEL: "B"}]}]
    (tmp_path / "c.json").write_text(json.dumps(choice))
    scores, notes = reference_scores(tmp_path / "c.json")
    assert scores == {"Counting": 100.0, "total": 100.0} and "left out as unanswered" in notes[0]
    proactive = [{"video_path": "v.mp4", "questions": [
        {"task_type": "Proactive Output", "question": "q", "time_stamp": "00:00:05",
         "ground_truth_time_stamp": "00:00:09", "ground_truth_output": "3",
         MODEL: {"answered": False, "dialog_history": []}}]}]
    (tmp_path / "p.json").write_text(json.dumps(proactive))
    scores, notes = reference_scores(tmp_path / "p.json")
    assert scores == {"Proactive Output": 0.0, "Proactive Output (time)": 0.0} and "empty dialog history" in notes[0]


def test_the_model_key_must_be_named_when_there_are_several(tmp_path):
    data = [{"video_path": "v.mp4", "questions": [{"task_type": "T", "question": "q", "time_stamp": "1",
                                                    "answer": "A", "options": ["a", "b"], "M1": "A", "M2": "B"}]}]
    (tmp_path / "o.json").write_text(json.dumps(data))
    with pytest.raises(DataError, match="several model replies found .M1, M2.; name the model key with --model"):
        reference_scores(tmp_path / "o.json")
    assert reference_scores(tmp_path / "o.json", "M2")[0] == {"T": 0.0, "total": 0.0}
