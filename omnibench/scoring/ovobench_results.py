"""OVO-Bench's own result folders, read and scored as its score.py scores them.

Its inference writes, per run, files `{model}_{tasks}_{mode}[_1].json` into one folder, each
{"backward": [...], "realtime": [...], "forward": [...]}: backward/real-time entries carry
"task", "id", "response" and "ground_truth" (the option letter); forward entries are the
annotation record with a "response" in every `test_info` probe. Its scorer pools every file of
the folder (a question present in two files counts twice, as there), takes each task's accuracy,
each group's unweighted mean of its tasks, and the mean of the three groups.

Where its scorer stops, ours goes on and says what it did: a response that is a list (several
released folders hold one-element lists, and its REC rule then raises TypeError) is read as its
strings joined by newlines; a group the folder lacks is left out, and so is the total (its script
raises NameError there).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnibench.data.ovobench import BACKWARD, FORWARD, GROUPS, REALTIME
from omnibench.errors import DataError

GROUP_KEYS = ("backward", "realtime", "forward")


@dataclass
class Response:
    """One answered question (backward/real-time) or probe (forward) of a result folder."""

    group: str
    task: str
    ovo_id: int | None
    probe: int | None                 # index into the record's test_info (forward), else None
    text: str | None                  # None: the model gave no response
    target: str                       # the option letter, str(count), or type 0/1 as "0"/"1"
    realtime: float | None = None


@dataclass
class ResultFolder:
    responses: list[Response]
    notes: list[str] = field(default_factory=list)
    test_info: dict[int, list[dict[str, Any]]] = field(default_factory=dict)   # forward id -> its probes


def response_text(value: Any, where: str, tally: Counter) -> str | None:
    """A response as text: None stays None, a list of strings is joined by newlines, a number is its digits."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        tally["list"] += 1
        return "\n".join(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        tally["number"] += 1
        return str(value)
    raise DataError(f"response is a {type(value).__name__}; expected a string, a list of strings or null", file=where)


def _entries(data: Any, path: Path, group: str) -> list:
    if not isinstance(data, dict):
        raise DataError("expected an object with 'backward', 'realtime' and 'forward' lists", file=str(path))
    entries = data.get(group, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise DataError(f"'{group}' must be a list of objects", file=str(path), field=group)
    return entries


def _id(entry: dict, path: Path, index: int, group: str) -> int | None:
    value = entry.get("id")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise DataError(f"id {value!r} is not a whole number", file=str(path), index=index, field=f"{group}.id")
    return value


def read_folder(folder: str | Path) -> ResultFolder:
    """Every *.json file of the folder, in name order; errors name the file, group, record and field."""
    from omnibench.safejson import load_json

    root = Path(folder).expanduser()
    files = sorted(p for p in root.iterdir() if p.suffix == ".json") if root.is_dir() else []
    if not files:
        raise DataError(f"{root} holds no .json result files (give the folder results/<model>/ of an OVO-Bench run)")
    out, tally = ResultFolder([]), Counter[str]()
    seen: Counter = Counter()
    for path in files:
        data = load_json(path)
        for group in GROUP_KEYS:
            for index, entry in enumerate(_entries(data, path, group)):
                where = f"{path}, {group}[{index}]"
                task = entry.get("task")
                if task not in GROUPS[group]:
                    raise DataError(f"task {task!r} is not a {group} task ({', '.join(GROUPS[group])})",
                                    file=str(path), index=index, field=f"{group}.task")
                ovo_id = _id(entry, path, index, group)
                seen[(task, ovo_id)] += 1
                if group != "forward":
                    truth = entry.get("ground_truth")
                    if not isinstance(truth, str) or not truth:
                        raise DataError("needs the option letter", file=str(path), index=index,
                                        field=f"{group}.ground_truth")
                    out.responses.append(Response(group, task, ovo_id, None,
                                                  response_text(entry.get("response"), where, tally), truth))
                    continue
                probes = entry.get("test_info")
                if not isinstance(probes, list) or not all(isinstance(p, dict) for p in probes):
                    raise DataError("must be a list of probes", file=str(path), index=index, field="forward.test_info")
                if ovo_id is not None:
                    out.test_info[ovo_id] = probes
                for j, probe in enumerate(probes):
                    key = "count" if task == "REC" else "type"
                    if key not in probe or isinstance(probe[key], bool) or not isinstance(probe[key], int):
                        raise DataError(f"probe {j} needs a whole-number '{key}'", file=str(path), index=index,
                                        field=f"forward.test_info[{j}].{key}")
                    out.responses.append(Response(group, task, ovo_id, j, response_text(
                        probe.get("response"), f"{where}.test_info[{j}]", tally), str(probe[key]),
                        probe.get("realtime")))
    if tally["list"]:
        out.notes.append(f"{tally['list']} response(s) are lists of strings (the reference's scorer stops on them "
                         "with a TypeError at REC); each was read as its strings joined by newlines")
    if tally["number"]:
        out.notes.append(f"{tally['number']} response(s) are numbers; each was read as its digits")
    repeated = sum(n - 1 for (_, i), n in seen.items() if n > 1 and i is not None)
    if repeated:
        out.notes.append(f"{repeated} question(s) appear in more than one file; each copy counts, as in the reference")
    return out


def right(response: Response) -> bool:
    """The reference's rule for one response (None scores 0)."""
    from omnibench.scoring.peer_rules import ovo_choice_right, ovo_count_right, ovo_yes_no_right

    text = response.text
    if text is None:
        return False
    if response.task == "REC":
        return ovo_count_right(text, response.target, "digits")
    if response.task in FORWARD:
        return ovo_yes_no_right(text, "Yes" if response.target == "1" else "No", "reference")
    return ovo_choice_right(text, response.target, 0, "substring")


def reference_scores(folder: str | Path) -> tuple[dict[str, float], list[str]]:
    """({task code: accuracy %, "<group>_avg": %, "total_avg": %}, notes), as the reference computes them."""
    result = read_folder(folder)
    per_task: dict[str, list[bool]] = {}
    for response in result.responses:
        per_task.setdefault(response.task, []).append(right(response))
    scores: dict[str, float] = {}
    averages: dict[str, float] = {}
    for group, codes in (("backward", BACKWARD), ("realtime", REALTIME), ("forward", FORWARD)):
        accs = {code: sum(per_task[code]) / len(per_task[code]) for code in codes if per_task.get(code)}
        scores.update({code: 100 * acc for code, acc in accs.items()})
        if accs:
            averages[group] = 100 * sum(accs.values()) / len(accs)
            scores[f"{group}_avg"] = averages[group]
    notes = list(result.notes)
    if len(averages) == 3:
        scores["total_avg"] = sum(averages.values()) / 3
    else:
        missing = [g for g in GROUP_KEYS if g not in averages]
        notes.append(f"no {' or '.join(missing)} results: the total needs all three groups and is left out "
                     "(the reference's script stops with a NameError here)")
    return scores, notes
