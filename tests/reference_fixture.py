"""Hand-built OmniMMI annotations and prediction files for all six tasks, a judge whose verdict
depends only on (question, correct answer, predicted answer), and the reference's formulas
written out independently of omnibench (from evaluations/evaluate.py, read, not copied)."""

from __future__ import annotations

import collections
import hashlib
import json
import re
from pathlib import Path

SG = [
    {"video": "kitchen.mp4", "qa": [
        {"question": "What is the person holding?", "answer": "a knife", "timestamp": "0.0 -- 4.0", "pred": "a knife"},
        {"question": "What is on the board?", "answer": "an onion", "timestamp": "4.0 -- 9.0", "pred": "a tomato"},
        {"question": "Where is the onion now?", "answer": "in the pan", "timestamp": "9.0 -- 15.0"}]},  # no pred: ""
    {"video": "garden.mp4", "qa": [
        {"question": "What colour is the hose?", "answer": "green", "timestamp": "1.0 -- 3.0", "pred": "green"},
        {"question": "Who waters the roses?", "answer": "a child", "timestamp": "3.0 -- 8.0", "pred": "a child"}]},
    {"video": "street.mp4", "qa": [
        {"question": "What stops at the light?", "answer": "a bus", "timestamp": "2.0 -- 6.0", "pred": ""}]},
]
MD = [
    {"video": "desk.mp4", "qa": [
        {"question": "What is the first object picked up?", "answer": "a pen", "timestamp": "0.0 -- 5.0", "pred": "a pen"},
        {"question": "What is done with ##ANSWER##?", "answer": "writing a note", "timestamp": "5.0 -- 11.0",
         "pred": "writing"},
        {"question": "Where is the note put?", "answer": "on the wall", "timestamp": "11.0 -- 20.0", "pred": "on the wall"}]},
    {"video": "car.mp4", "qa": [
        {"question": "What is opened first?", "answer": "the hood", "timestamp": "0.0 -- 2.0", "pred": "the trunk"},
        {"question": "What is taken from ##ANSWER##?", "answer": "a toolbox", "timestamp": "2.0 -- 7.0", "pred": "a toolbox"}]},
]
AP = [
    {"video": "cake.mp4", "question": "What is the next step?", "answer": "add eggs", "vocab": ["add eggs", "stir"],
     "pred": "add eggs"},
    {"video": "tyre.mp4", "question": "What comes next?", "answer": "tighten nuts", "vocab": ["tighten nuts", "jack up"],
     "pred": ""},
    {"video": "tea.mp4", "question": "What should be done next?", "answer": "pour water", "vocab": ["pour water"],
     "pred": "boil milk"},
]
SI = [
    {"video": "meeting.mp4", "question": "Who said 'let us begin'?", "answer": "the woman in red", "timestamp": 12.4,
     "pred": "the woman in red"},
    {"video": "meeting.mp4", "question": "Who laughed?", "answer": "the man with glasses", "timestamp": 30.0, "pred": ""},
    {"video": "party.mp4", "question": "Who made the toast?", "answer": "the host", "timestamp": 5.7, "pred": "a guest"},
]
PA = [
    {"video": "dog.mp4", "question": "Tell me when the dog jumps.", "answer": [10.0, 20.0], "pred": [12.0, 15.0, 25.0]},
    {"video": "cat.mp4", "question": "Tell me when the cat sleeps.", "answer": [5.0, 9.0], "pred": []},
    {"video": "bird.mp4", "question": "Tell me when the bird lands.", "answer": [3.0, 6.0], "pred": [1.0, 4.0]},
]
PT = [
    {"video": "talk.mp4", "conversation": [{"human": "What is he cooking?", "assistant": "Soup."},
                                           {"human": "Honey, pass me the salt."}], "pred": ""},
    {"video": "talk2.mp4", "conversation": [{"human": "Where are they?", "assistant": "A park."},
                                            {"human": "Ugh, my phone died."}], "pred": "<2> no reply"},
    {"video": "talk3.mp4", "conversation": [{"human": "What sport is this?", "assistant": "Tennis."},
                                            {"human": "Mom, I'm home!"}], "pred": "Welcome home!"},
]
TASKS = {"sg": SG, "md": MD, "ap": AP, "si": SI, "pa": PA, "pt": PT}
FILES = {"sg": "dynamic_state_grounding.json", "ap": "action_prediction.json",
         "md": "multiturn_dependency_reasoning.json", "si": "speaker_identification.json",
         "pa": "proactive_alerting.json", "pt": "proactive_turntaking.json"}

# a stand-in for the reference's evaluate.py / inference_utils.py: same structure, our own sentences
STANDIN_EVALUATE = '''
def openai_eval(question, answer, pred):
    messages=[
            {"role": "system",
             "content": "Stand-in grader. "
                        "Decide whether two answers match."},
            {"role": "user",
             "content": "Grade this pair:\\n\\n"
                        f"Question: {question}\\n"
                        f"Correct Answer: {answer}\\n"
                        f"Predicted Answer: {pred}\\n\\n"
                        "Reply like {'pred': 'yes', 'score': 4.8}."},
        ]
    return messages
'''
STANDIN_INFERENCE = '''
def inference(sample, benchmark_name):
    if benchmark_name == "ap":
        question = sample["question"]
        vocab = sample["vocab"]
        question = f"{question}; stand-in: pick one of {vocab}."
    return question
'''


def write_checkout(root: Path) -> Path:
    (root / "evaluations").mkdir(parents=True)
    (root / "evaluations" / "evaluate.py").write_text(STANDIN_EVALUATE, encoding="utf-8")
    (root / "evaluations" / "inference_utils.py").write_text(STANDIN_INFERENCE, encoding="utf-8")
    return root


def write_data(root: Path) -> tuple[Path, Path]:
    """(annotation dir, prediction dir): annotations without 'pred', predictions one JSON line each."""
    data, preds = root / "data", root / "preds"
    data.mkdir(parents=True)
    preds.mkdir(parents=True)
    for code, records in TASKS.items():
        bare = [{k: v for k, v in r.items() if k != "pred"} | (
            {"qa": [{k: v for k, v in q.items() if k != "pred"} for q in r["qa"]]} if "qa" in r else {})
            for r in records]
        (data / FILES[code]).write_text(json.dumps(bare), encoding="utf-8")
        (preds / f"{code}_Model_0.json").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return data, preds


# -- the judge ---------------------------------------------------------------------------------

def verdict(question: str, answer: str, prediction: str) -> tuple[str, float]:
    """A verdict from the triple alone: yes when the texts agree (or by a hash for the rest)."""
    digest = hashlib.sha256(f"{question}|{answer}|{prediction}".encode()).digest()
    yes = prediction == answer or (prediction != "" and digest[0] % 5 == 0) or (prediction == "" and digest[1] % 2 == 0)
    return ("yes" if yes else "no"), (digest[2] % 50) / 10 + (0.5 if yes else 0.0)


_TRIPLE = re.compile(r"Question: (.*)\nCorrect Answer: (.*)\nPredicted Answer: (.*)\n\n", re.S)


def judge_handler(body) -> str:
    match = _TRIPLE.search(body["messages"][-1]["content"])
    pred, score = verdict(*match.groups())
    return "{'pred': '%s', 'score': %s}" % (pred, score)


# -- the reference's formulas, on the same records and verdicts --------------------------------

def reference_numbers() -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for code in ("ap", "si"):
        replies = [verdict(r["question"], r["answer"], r["pred"]) for r in TASKS[code]]
        out[code] = {"accuracy": sum("yes" in p for p, _ in replies) / len(replies),
                     "score": sum(int(s) for _, s in replies) / len(replies)}
    for code in ("sg", "md"):
        yes_items, score_sum = 0, 0.0
        each, accum = collections.defaultdict(list), collections.defaultdict(list)
        for r in TASKS[code]:
            replies = [verdict(q["question"], q["answer"], q.get("pred", "")) for q in r["qa"]]
            for k, (p, _) in enumerate(replies):
                each[k].append(1 if "yes" in p else 0)
                accum[k].append(1 if "yes" in p and (accum[k - 1][-1] if k else 1) else 0)
            score_sum += sum(int(s) for _, s in replies) / len(replies)
            yes_items += all("yes" in p for p, _ in replies)
        out[code] = {"accuracy": yes_items / len(TASKS[code]), "score": score_sum / len(TASKS[code])}
        for k in each:
            out[code][f"turn_accuracy@{k + 1}"] = sum(each[k]) / len(each[k])
            out[code][f"step_accuracy@{k + 1}"] = sum(accum[k]) / len(accum[k])
    acc = prec = iou = 0.0
    for r in PA:
        (gs, ge), preds = r["answer"], r["pred"]
        if not preds:
            continue
        acc += gs <= preds[0] <= ge
        prec += sum(gs <= p <= ge for p in preds) / len(preds)
        iou += max(0, min(preds[-1], ge) - max(preds[0], gs)) / (max(preds[-1], ge) - min(preds[0], gs))
    out["pa"] = {"accuracy": acc / len(PA), "precision": prec / len(PA), "iou": iou / len(PA)}
    out["pt"] = {"silence": sum(r["pred"] == "" or r["pred"].startswith("<2>") for r in PT) / len(PT)}
    return out
