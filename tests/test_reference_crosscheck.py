"""Cross-checks (issue 32): the reference's own formulas, transcribed here from OmniMMI's
evaluations/evaluate.py (its PA and PT branches of main(), `evaluate` / `multi_evaluate` with
`openai_eval`'s literal_eval, and the aggregation at its end), run on the same prediction files
and the same judge replies as `omnibench run --reference omnimmi` + `omnibench score`.

- PA and PT on generated prediction files, alerts before 1 s included: equal, to 1e-9.
- AP, SI, SG, MD with a judge that hedges, writes format examples, code fences, case-variant keys,
  "yes?" and scores outside 0..5: equal in reference mode; in our mode those replies are unscored.
"""

from __future__ import annotations

import ast
import collections
import hashlib
import json
import random
import re

import pytest

from omnibench.cli import main
from tests.fake_openai import FakeOpenAI
from tests.reference_fixture import TASKS, write_data

FILES = {"pa": "proactive_alerting.json", "pt": "proactive_turntaking.json"}


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("OMNIBENCH_OMNIMMI_DIR", raising=False)
    monkeypatch.delenv("OMNIBENCH_JUDGE_MODEL", raising=False)
    monkeypatch.setenv("OMNIBENCH_JUDGE_API_KEY", "test-key")
    return tmp_path


def _run_and_score(tmp_path, capsys, data, preds, tasks, *extra) -> dict:
    out = tmp_path / "run"
    assert main(["run", "--tasks", tasks, "--model", "replay", "--model-args", f"path={preds},format=omnimmi",
                 "--data-dir", str(data), "--out", str(out), "--no-score", "--quiet", *extra]) == 0
    capsys.readouterr()
    assert main(["score", str(out), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


# -- PA and PT on generated files ----------------------------------------------------------------

def _pa_pt_files(root, seed: int):
    rng = random.Random(seed)
    pa, pt = [], []
    for i in range(40):
        s = round(rng.uniform(0, 20), 1)
        window = [s, round(s + rng.uniform(0, 15), 1)]
        n = rng.choice([0, 1, 1, 2, 3, 5])
        alerts = sorted(round(rng.uniform(0, 40), 2) for _ in range(n))
        if rng.random() < 0.4:                                   # alerts in the first second
            alerts = [round(rng.uniform(0, 0.99), 2)] * rng.choice([1, 2]) + alerts
        pa.append({"video": f"pa{i}.mp4", "question": f"Tell me when thing {i} happens.", "answer": window,
                   "pred": alerts})
        reply = rng.choice(["", "", "<2>", "<2> nothing", "Sure!", " ", "ok <2>"])
        pt.append({"video": f"pt{i}.mp4", "conversation": [{"human": f"What is {i}?", "assistant": "A thing."},
                                                           {"human": f"Remark number {i}."}], "pred": reply})
    data, preds = root / "data", root / "preds"
    data.mkdir(parents=True)
    preds.mkdir()
    for code, records in (("pa", pa), ("pt", pt)):
        (data / FILES[code]).write_text(json.dumps([{k: v for k, v in r.items() if k != "pred"} for r in records]))
        (preds / f"{code}_Model_0.json").write_text("".join(json.dumps(r) + "\n" for r in records))
    return data, preds, pa, pt


def evaluate_py_pa(records) -> dict[str, float]:
    """evaluate.py, `benchmark_name == "pa"`, list branch: preds as stored, in their order."""
    acc = prec = iou = 0.0
    count = 0
    for r in records:
        count += 1
        (gt_s, gt_e), preds = r["answer"], r["pred"]
        if preds == []:
            continue
        if gt_s <= preds[0] <= gt_e:
            acc += 1
        prec += sum(1 for p in preds if gt_s <= p <= gt_e) / len(preds)
        pred_s, pred_e = preds[0], preds[-1]
        iou += max(0, min(pred_e, gt_e) - max(pred_s, gt_s)) / (max(pred_e, gt_e) - min(pred_s, gt_s))
    return {"accuracy": acc / count, "precision": prec / count, "iou": iou / count}


def evaluate_py_pt(records) -> float:
    return sum(1 for r in records if r["pred"] == "" or r["pred"].startswith("<2>")) / len(records)


@pytest.mark.parametrize("seed", [1, 2])
def test_pa_and_pt_in_reference_mode_equal_evaluate_py_on_files_with_first_second_alerts(env, capsys, seed):
    data, preds, pa, pt = _pa_pt_files(env / "files", seed)
    assert sum(1 for r in pa for t in r["pred"] if int(t) == 0) >= 5
    got = _run_and_score(env, capsys, data, preds, "omnimmi_pa,omnimmi_pt", "--reference", "omnimmi")
    for name, value in evaluate_py_pa(pa).items():
        assert got["omnimmi_pa"][name]["value"] == pytest.approx(value, abs=1e-9), name
    assert got["omnimmi_pt"]["silence"]["value"] == pytest.approx(evaluate_py_pt(pt), abs=1e-9)


def test_forcing_the_first_second_drop_on_files_moves_pa(env, capsys):
    data, preds, pa, _ = _pa_pt_files(env / "files", 1)
    got = _run_and_score(env, capsys, data, preds, "omnimmi_pa", "--reference", "omnimmi",
                         "--drop-first-second", "always")
    dropped = [{**r, "pred": [t for t in r["pred"] if int(t) != 0]} for r in pa]
    assert got["omnimmi_pa"]["iou"]["value"] == pytest.approx(evaluate_py_pa(dropped)["iou"], abs=1e-9)
    assert evaluate_py_pa(dropped)["iou"] != pytest.approx(evaluate_py_pa(pa)["iou"])


# -- the judged tasks with a judge that does not always answer cleanly ---------------------------

SHAPES = [
    "{'pred': 'yes', 'score': 4}",
    "{'pred': 'no', 'score': 1}",
    "{'pred': 'yes, but not entirely', 'score': 3}",
    "{'pred': 'yes?', 'score': 3}",
    "{'pred': 'no', 'Pred': 'yes', 'score': 2}",
    "{'pred': 'yes', 'score': -0.5}",
    "Format example: {'pred': 'no', 'score': 1}. My verdict: {'pred': 'yes', 'score': 5}",
    "```python\n{'pred': 'no', 'score': 2}\n```",
    "{'pred': 'eyes', 'score': 4}",
    "{'pred': 'unknown', 'score': 0}",
    "{'pred': 'Yes', 'score': 4.8}",
]
ASKED_AGAIN = "{'pred': 'no', 'score': 0}"
_TRIPLE = re.compile(r"Question: (.*)\nCorrect Answer: (.*)\nPredicted Answer: (.*)\n\n", re.S)


def _shape(question: str, answer: str, prediction: str, salt: int) -> str:
    digest = hashlib.sha256(f"{salt}|{question}|{answer}|{prediction}".encode()).digest()
    return SHAPES[digest[0] % len(SHAPES)]


def _usable(salt: int) -> bool:
    """Some SG/MD turn unreadable, but never every turn of an item (evaluate.py divides by zero there)."""
    readable = [[not _shape(q["question"], q["answer"], q.get("pred", ""), salt).startswith(("Format", "```"))
                 for q in r["qa"]] for code in ("sg", "md") for r in TASKS[code]]
    return all(any(item) for item in readable) and not all(all(item) for item in readable)


SALT = next(s for s in range(1000) if _usable(s))


def reply(question: str, answer: str, prediction: str, attempt: int) -> str:
    """The judge's reply to a triple on its `attempt`-th asking (a second asking gets a clean reply)."""
    return ASKED_AGAIN if attempt else _shape(question, answer, prediction, SALT)


class StatefulJudge:
    def __init__(self):
        self.asked: collections.Counter = collections.Counter()

    def __call__(self, body) -> str:
        triple = _TRIPLE.search(body["messages"][-1]["content"]).groups()
        text = reply(*triple, self.asked[triple])
        self.asked[triple] += 1
        return text


def _read(text):
    """openai_eval's `ast.literal_eval(response_message)` (our own replies only, in a test)."""
    return ast.literal_eval(text)


def evaluate_py_judged(code: str) -> dict[str, float]:
    """evaluate.py's judged branches. AP/SI: `evaluate` is rerun until an item's file is written,
    i.e. the item is asked again until its reply reads; SG/MD: `multi_evaluate` asks each turn
    once and a reply that fails literal_eval leaves the turn out of the item's "qa" list."""
    if code in ("ap", "si"):
        yes = score = 0
        for r in TASKS[code]:
            attempt = 0
            while True:
                try:
                    verdict = _read(reply(r["question"], r["answer"], r["pred"], attempt))
                    break
                except (ValueError, SyntaxError):
                    attempt += 1
            score += int(verdict["score"])
            yes += "yes" in verdict["pred"].lower()
        return {"accuracy": yes / len(TASKS[code]), "score": score / len(TASKS[code])}
    score_sum, yes_items, count = 0.0, 0, 0
    item_acc, item_step = collections.defaultdict(list), collections.defaultdict(list)
    for r in TASKS[code]:
        qa = []
        for q in r["qa"]:
            try:
                qa.append(_read(reply(q["question"], q["answer"], q.get("pred", ""), 0)))
            except (ValueError, SyntaxError):
                pass
        item_score, item_yes = 0, 0
        for idx, res in enumerate(qa):
            item_score += int(res["score"])
            if "yes" in res["pred"].lower():
                item_acc[idx].append(1)
                item_step[idx].append(1 and (item_step[idx - 1][-1] if idx - 1 in item_step else 1))
                item_yes += 1
            else:
                item_acc[idx].append(0)
                item_step[idx].append(0)
        score_sum += item_score / len(qa)
        yes_items += len(qa) == item_yes
        count += 1
    out = {"accuracy": yes_items / count, "score": score_sum / count}
    for k in item_acc:
        out[f"turn_accuracy@{k + 1}"] = sum(item_acc[k]) / len(item_acc[k])
        out[f"step_accuracy@{k + 1}"] = sum(item_step[k]) / len(item_step[k])
    return out


def test_the_shapes_cover_every_reply_shape_and_some_fail_literal_eval():
    shapes = {reply(q["question"], q["answer"], q.get("pred", ""), 0)
              for code in ("sg", "md", "ap", "si") for r in TASKS[code] for q in (r.get("qa") or [r])}
    assert len(shapes) >= 6
    unreadable = [s for s in shapes if s.startswith(("Format", "```"))]
    assert unreadable


def test_judged_tasks_in_reference_mode_equal_evaluate_py_with_a_judge_that_hedges(env, capsys):
    data, preds = write_data(env / "files")
    with FakeOpenAI(handler=StatefulJudge()) as server:
        os_env = {"OMNIBENCH_JUDGE_BASE_URL": server.base_url}
        with pytest.MonkeyPatch.context() as mp:
            for k, v in os_env.items():
                mp.setenv(k, v)
            got = _run_and_score(env, capsys, data, preds, "omnimmi_ap,omnimmi_si,omnimmi_sg,omnimmi_md",
                                 "--reference", "omnimmi")
        assert all(b["model"] == "gpt-4-turbo" for b in server.bodies)
    for code in ("ap", "si", "sg", "md"):
        for name, value in evaluate_py_judged(code).items():
            assert got[f"omnimmi_{code}"][name]["value"] == pytest.approx(value, abs=1e-9), (code, name)


def test_our_mode_leaves_the_unclear_replies_unscored_on_the_same_judge(env, capsys, monkeypatch):
    data, preds = write_data(env / "files")
    with FakeOpenAI(handler=StatefulJudge()) as server:
        monkeypatch.setenv("OMNIBENCH_JUDGE_BASE_URL", server.base_url)
        _run_and_score(env, capsys, data, preds, "omnimmi_ap,omnimmi_si,omnimmi_sg,omnimmi_md", "--judge-attempts", "1")
    results = {r["task"]: r for r in json.loads((env / "run" / "results.json").read_text())["results"]}
    unclear = {s for s in SHAPES if any(w in s for w in ("but", "yes?", "Pred", "-0.5", "eyes", "unknown"))}
    expected = 0
    for code in ("ap", "si", "sg", "md"):
        for r in TASKS[code]:
            turns = r.get("qa") or [r]
            shapes = [reply(q["question"], q["answer"], q.get("pred", ""), 0) for q in turns
                      if q.get("pred", "").strip()]       # empty predictions are no/0 without a call here
            expected += any(s in unclear for s in shapes)
    assert expected > 0
    assert sum(r["n_unscored"] for r in results.values()) == expected
