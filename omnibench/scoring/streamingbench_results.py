"""StreamingBench's own output files, read and scored as its src/data/count.py scores them.

Its eval.py writes the question file back with each answered question holding the model's
reply under the model's name: real/omni/sqa a string, proactive {"answered", "dialog_history":
[{"role", "content", "time", ...}, ...]}. count.py then counts, per task type:
- real, omni, sqa: a question counts when the model's key is there and the reply's first
  character is not empty; it is right when that first character is the answer letter. real and
  omni also get a "total" row over all types (sqa does not);
- proactive: every question with the model's key counts; the last dialog turn is right in time
  when its time is within +-2 s of the ground-truth second, and right in answer when, also, the
  ground-truth output is a substring of its content.
Where count.py stops, ours goes on and says what it did: an empty or null reply (it raises
IndexError/TypeError) is left out as unanswered; an empty dialog history is counted, wrong.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from omnibench.data.streamingbench import seconds
from omnibench.errors import DataError

Kind = Literal["choice", "sqa", "proactive"]
KNOWN_FIELDS = {"task_type", "question", "time_stamp", "answer", "options", "required_ability", "audio_path", "time",
                "ground_truth_time_stamp", "ground_truth_output", "cause", "effect", "results"}


@dataclass
class Entry:
    """One question of the file, answered or not (`has_reply`: the model's key is there)."""

    index: int                 # record index (sqa: the video's index in the outer list)
    j: int                     # question index in its record
    question: dict[str, Any]
    video_path: str
    reply: Any
    has_reply: bool


@dataclass
class OutputFile:
    kind: Kind
    model: str
    entries: list[Entry]       # every question, in file order (sqa: each video's records in order)
    notes: list[str] = field(default_factory=list)


def _questions(data: list, kind: Kind) -> list[tuple[int, dict]]:
    flat = [(i, r) for i, group in enumerate(data) for r in group] if kind == "sqa" else list(enumerate(data))
    return flat


def detect_kind(data: list) -> Kind:
    if data and isinstance(data[0], list):
        return "sqa"
    for record in data:
        for q in record.get("questions", []) if isinstance(record, dict) else []:
            if isinstance(q, dict) and "ground_truth_time_stamp" in q:
                return "proactive"
    return "choice"


def model_keys(data: list, kind: Kind) -> list[str]:
    keys: Counter = Counter()
    for _, record in _questions(data, kind):
        for q in record.get("questions", []):
            keys.update(k for k in q if k not in KNOWN_FIELDS)
    return sorted(keys)


def read_output(path: str | Path, model: str | None = None) -> OutputFile:
    """One output JSON of their eval.py; `model` is the key holding the replies (found when only one is there)."""
    from omnibench.safejson import load_json

    path = Path(path).expanduser()
    data = load_json(path)
    if not isinstance(data, list) or not data:
        raise DataError("expected the question file (a JSON list) with the model's replies in it", file=str(path))
    kind = detect_kind(data)
    for index, record in _questions(data, kind):
        if not isinstance(record, dict) or not isinstance(record.get("questions"), list):
            raise DataError("each record needs a 'questions' list", file=str(path), index=index, field="questions")
    if model is None:
        found = model_keys(data, kind)
        if len(found) != 1:
            raise DataError(f"{'no' if not found else 'several'} model replies found ({', '.join(found) or 'none'}); "
                            "name the model key with --model", file=str(path))
        model = found[0]
    entries = []
    for index, record in _questions(data, kind):
        for j, q in enumerate(record["questions"]):
            if not isinstance(q, dict):
                raise DataError("a question must be an object", file=str(path), index=index, field=f"questions[{j}]")
            entries.append(Entry(index, j, q, str(record.get("video_path", "")), q.get(model), model in q))
    if not any(e.has_reply for e in entries):
        raise DataError(f"no question holds a reply under {model!r}", file=str(path))
    return OutputFile(kind, model, entries)


def _first(reply: Any) -> Any:
    """count.py's reply[0]: the first character of a string (the first item of a list); None when empty."""
    if isinstance(reply, (str, list)) and reply:
        return reply[0]
    return None


def last_turn(reply: Any, where: str) -> tuple[float | None, str]:
    """(time, content) of a proactive reply's last dialog turn; (None, "") for an empty dialog."""
    if not isinstance(reply, dict) or not isinstance(reply.get("dialog_history"), list):
        raise DataError("a proactive reply must be an object with a 'dialog_history' list", file=where)
    history = reply["dialog_history"]
    if not history:
        return None, ""
    last = history[-1]
    if not isinstance(last, dict):
        raise DataError("dialog_history entries must be objects", file=where)
    when = last.get("time")
    if isinstance(when, bool) or not isinstance(when, (int, float)):
        raise DataError(f"dialog_history[-1].time {when!r} is not a number", file=where)
    content = last.get("content")
    return float(when), content if isinstance(content, str) else ""


def reference_scores(path: str | Path, model: str | None = None) -> tuple[dict[str, float], list[str]]:
    """({task type: accuracy %, "total": % (real/omni)} or, for proactive, {task type: answer %,
    "<task type> (time)": time %}, notes), as count.py computes them."""
    out = read_output(path, model)
    stats: dict[str, Counter] = defaultdict(Counter)
    skipped = empty_history = 0
    for entry in out.entries:
        if not entry.has_reply:
            continue
        index, j, q, reply = entry.index, entry.j, entry.question, entry.reply
        task_type = str(q.get("task_type"))
        if out.kind == "proactive":
            when, content = last_turn(reply, f"{path}, record {index}, question {j}")
            empty_history += when is None
            gt = seconds(str(q["ground_truth_time_stamp"]))
            stats[task_type]["total"] += 1
            if when is not None and -2 <= when - gt <= 2:
                stats[task_type]["time"] += 1
                stats[task_type]["answer"] += str(q["ground_truth_output"]) in content
            continue
        first = _first(reply)
        if not first:
            skipped += 1
            continue
        right = first == q.get("answer")
        for key in ([task_type] if out.kind == "sqa" else [task_type, "total"]):
            stats[key]["total"] += 1
            stats[key]["right"] += right
    scores: dict[str, float] = {}
    for key, c in stats.items():
        if out.kind == "proactive":
            scores[key] = 100 * c["answer"] / c["total"]
            scores[f"{key} (time)"] = 100 * c["time"] / c["total"]
        else:
            scores[key] = 100 * c["right"] / c["total"] if c["total"] else 0.0
    notes = list(out.notes)
    if skipped:
        notes.append(f"{skipped} empty or null repl(ies) left out as unanswered (count.py stops on them)")
    if empty_history:
        notes.append(f"{empty_history} proactive repl(ies) with an empty dialog history counted wrong "
                     "(count.py stops on them)")
    return scores, notes
