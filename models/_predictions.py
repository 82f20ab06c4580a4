"""The predictions `replay` plays back, read from their files and keyed by (task, sample id).

Formats: omnibench JSONL (sample ids), OmniMMI's own prediction files (matched to ids by content
through the task's annotation files), OVO-Bench's and StreamingBench's (`_replay_peers`). Lines are
JSON or a plain literal (omnibench.literal); nothing is evaluated.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from omnibench.data.schema import Sample
from omnibench.errors import ConfigError, DataError, ModelError
from omnibench.literal import parse_literal
from omnibench.safejson import loads, read_text

Format = Literal["omnibench", "omnimmi", "ovobench", "streamingbench", "auto"]
TASK_CODES = ("ap", "md", "sg", "si", "pa", "pt")
_FILE_TASK = re.compile(rf"^({'|'.join(TASK_CODES)})_")
REPLIED = "[replay: the model replied]"       # PT online files say only that a reply was made
Key = tuple[str, tuple[str, ...]]


@dataclass
class Prediction:
    source: str                                  # file:line, for messages
    task: str | None                             # OmniMMI task code, when known
    texts: dict[int, str] = field(default_factory=dict)
    alerts: list[float] | None = None
    alert_texts: list[str] | None = None        # what each alert says (StreamingBench proactive); else "alert"


def read_records(path: Path) -> list[tuple[int, dict]]:
    """(line number, record) of every non-empty line; DataError names the file and line.

    Huge integers, deep nesting, invalid UTF-8 and NUL bytes are DataErrors too (omnibench.safejson);
    NaN/Infinity are let through here so alert times can be refused one by one (see `_number`).
    """
    text = read_text(path)
    if text.lstrip().startswith("["):
        try:
            data = loads(text, file=path, nonfinite=True)
        except DataError:
            data = None                               # maybe JSONL whose first line is a list: read by line
        if data is not None:
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise DataError("a JSON list of predictions must hold objects", file=str(path))
            return list(enumerate(data, 1))
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = loads(line, file=path, line=number, nonfinite=True)
        except DataError as json_error:
            try:
                record = parse_literal(line)
            except (ValueError, TypeError, RecursionError) as exc:   # TypeError: an unhashable dict key
                reason = str(json_error).split(": ", 1)[-1]
                raise DataError(f"line {number} is neither JSON ({reason}) nor a plain literal ({exc})",
                                file=str(path)) from None
        if not isinstance(record, dict):
            raise DataError(f"line {number} is a {type(record).__name__}, not an object", file=str(path))
        out.append((number, record))
    return out


def video_key(name: str) -> str:
    """The reference's video id: the name up to '.mp4' (our samples keep it under videos/)."""
    return name.removeprefix("videos/").split(".mp4")[0]


def sample_key(sample: Sample) -> Key:
    return video_key(sample.video.path), tuple(q.text.strip() for q in sample.turns)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(f"{where}: alert time {value!r} is not a number")
    try:
        seconds = float(value)                    # an int beyond a float's range raises here
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds) or seconds < 0:     # NaN/inf used to become the time it was said
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise DataError(f"{where}: alert time {shown} is not a finite number of seconds >= 0")
    return seconds


def _alert_times(values: list, where: str, skipped: list[str] | None) -> list[float]:
    """The alert times; with `skipped` (lenient), bad ones are left out and reported there."""
    out = []
    for value in values:
        try:
            out.append(_number(value, where))
        except DataError as exc:
            if skipped is None:
                raise
            skipped.append(str(exc))
    return out


def omnimmi_prediction(record: dict, source: str, task: str | None,
                       skipped: list[str] | None = None) -> tuple[Key, Prediction]:
    video = record.get("video")
    if not isinstance(video, str):
        raise DataError(f"{source}: no 'video'")
    for name in ("qa", "conversation"):
        if name in record and not (isinstance(record[name], list) and all(isinstance(x, dict) for x in record[name])):
            raise DataError(f"{source}: '{name}' must be a list of objects")
    pred = Prediction(source, task)
    if isinstance(record.get("qa"), list):                         # SG, MD
        questions = tuple(str(qa.get("question", "")).strip() for qa in record["qa"])
        pred.texts = {i: "" if qa.get("pred") is None else str(qa["pred"]) for i, qa in enumerate(record["qa"])}
        return (video_key(video), questions), pred
    if "pred" not in record:
        raise DataError(f"{source}: no 'pred'")
    value = record["pred"]
    if isinstance(record.get("conversation"), list) and record["conversation"]:   # PT
        questions = (str(record["conversation"][-1].get("human", "")).strip(),)
        if isinstance(value, (bool, int)) and not isinstance(value, float):
            pred.texts = {0: "" if int(value) == 1 else REPLIED}
        else:
            pred.texts = {0: "" if value is None else str(value)}
        return (video_key(video), questions), pred
    questions = (str(record.get("question", "")).strip(),)
    if isinstance(record.get("answer"), list) or isinstance(value, list) or task == "pa":   # PA
        values = value if isinstance(value, list) else [value]
        pred.alerts = _alert_times(values, source, skipped)
    else:                                                          # AP, SI
        pred.texts = {0: "" if value is None else str(value)}
    return (video_key(video), questions), pred


@dataclass
class MatchReport:
    matched: dict[str, str]                 # sample id -> prediction source
    missing: list[str]                      # sample ids without a prediction
    unmatched: list[str]                    # prediction sources no sample took


class PredictionStore:
    """Predictions keyed by (task, sample id), handed out once each.

    omnibench files carry the sample id, and OVO-Bench's and StreamingBench's files are read into
    sample ids by `_replay_peers`. OmniMMI's own files do not: their records are matched by
    content (video and question text) against the same public annotation files the task loads,
    read here (`data_dir`, as the task's) — never through anything the harness hands a model.
    """

    def __init__(self, path: str | Path, format: Format = "auto", lenient: bool = False,
                 data_dir: str | None = None, model: str | None = None):
        self.skipped: list[str] | None = [] if lenient else None   # lenient: refused alert times
        if format not in ("omnibench", "omnimmi", "ovobench", "streamingbench", "auto"):
            raise ConfigError(f"replay format must be omnibench, omnimmi, ovobench, streamingbench or auto, "
                              f"not {format!r}")
        root = Path(path).expanduser()
        if not root.exists():
            raise ConfigError(f"replay path {root} does not exist")
        self.data_dir = data_dir
        self.by_id: dict[str, Prediction] = {}
        self.by_key: dict[Key, list[Prediction]] = defaultdict(list)
        self.assigned: dict[tuple[str, str], Prediction] = {}
        self.keys: dict[tuple[str, str], Key] = {}              # (task, sample id) -> content key
        self.indexed: set[str] = set()
        if format in ("ovobench", "streamingbench"):     # their own files: see models/_replay_peers.py
            from omnibench.models._replay_peers import read_predictions

            for sample_id, p in read_predictions(format, root, model=model).items():
                self.by_id[sample_id] = Prediction(p.source, p.task, p.texts, p.alerts, p.alert_texts)
            return
        files = sorted(p for p in root.iterdir() if p.suffix in (".json", ".jsonl")) if root.is_dir() else [root]
        if not files:
            raise ConfigError(f"replay path {root} holds no .json or .jsonl prediction files")
        for file in files:
            self._read(file, format)
        duplicates = sum(len(v) - 1 for v in self.by_key.values() if len(v) > 1)
        if duplicates:
            warnings.warn(f"replay: {duplicates} OmniMMI prediction(s) repeat the video and questions of another; "
                          "they go to such samples in the order those are first asked for", stacklevel=2)
        if self.skipped:
            warnings.warn(f"replay (lenient): skipped {len(self.skipped)} bad alert time(s); first: "
                          f"{self.skipped[0]}", stacklevel=2)

    def _read(self, file: Path, format: Format) -> None:
        match = _FILE_TASK.match(file.name)
        task = match.group(1) if match else None
        for number, record in read_records(file):
            source = f"{file.name}:{number}"
            kind = format if format != "auto" else ("omnibench" if "sample_id" in record else "omnimmi")
            if kind == "omnimmi":
                key, pred = omnimmi_prediction(record, source, task, self.skipped)
                self.by_key[key].append(pred)
            else:
                self._read_own(record, source)

    def _read_own(self, record: dict, source: str) -> None:
        sample_id = record.get("sample_id")
        if not isinstance(sample_id, str):
            raise DataError(f"{source}: no 'sample_id'")
        pred = self.by_id.setdefault(sample_id, Prediction(source, record.get("task")))
        if "alerts" in record:
            if not isinstance(record["alerts"], list):
                raise DataError(f"{source}: 'alerts' must be a list of seconds")
            pred.alerts = (pred.alerts or []) + _alert_times(record["alerts"], source, self.skipped)
        if "text" in record:
            turn = record.get("turn", 0)
            if isinstance(turn, bool) or not isinstance(turn, int) or not isinstance(record["text"], str):
                raise DataError(f"{source}: needs an integer 'turn' and a string 'text'")
            if turn in pred.texts:
                raise DataError(f"{source}: sample {sample_id} turn {turn} was given before")
            pred.texts[turn] = record["text"]

    def index(self, samples: list[Sample]) -> None:
        """Learn the content keys of these samples (what OmniMMI-format predictions are matched by)."""
        for sample in samples:
            self.keys[sample.task, sample.id] = sample_key(sample)

    def _key(self, task: str, sample_id: str) -> Key | None:
        code = task.removeprefix("omnimmi_")
        if (task, sample_id) not in self.keys and task not in self.indexed and code in TASK_CODES \
                and task.startswith("omnimmi_"):
            from omnibench.data import omnimmi

            self.indexed.add(task)
            self.index(omnimmi.load(code, self.data_dir, lenient=True))
        return self.keys.get((task, sample_id))

    def find(self, task: str, sample_id: str) -> Prediction:
        if (task, sample_id) in self.assigned:
            return self.assigned[task, sample_id]
        own = self.by_id.get(sample_id)
        if own is not None and own.task in (None, task):
            self.assigned[task, sample_id] = own
            return own
        key = self._key(task, sample_id) if self.by_key else None
        code = task.removeprefix("omnimmi_")
        taken = {id(p) for p in self.assigned.values()}
        for pred in self.by_key.get(key, []) if key is not None else []:
            if id(pred) not in taken and (pred.task is None or code not in TASK_CODES or pred.task == code):
                self.assigned[task, sample_id] = pred
                return pred
        where = f"video {key[0]}, question {key[1][0][:60]!r}" if key else "no OmniMMI record has this id"
        raise ModelError(f"replay has no prediction for sample {sample_id} (task {task}, {where})")

    def match(self, samples: list[Sample]) -> MatchReport:
        """Assign predictions to these samples (in id order) and say what is left on either side."""
        self.index(samples)
        matched, missing = {}, []
        for sample in sorted(samples, key=lambda s: s.id):
            try:
                matched[sample.id] = self.find(sample.task, sample.id).source
            except ModelError:
                missing.append(sample.id)
        used = {id(p) for p in self.assigned.values()}
        every = [*self.by_id.values(), *(p for preds in self.by_key.values() for p in preds)]
        return MatchReport(matched, missing, [p.source for p in every if id(p) not in used])
