"""`replay` formats of the peer benchmarks: their own prediction files, keyed by (task, sample id, turn).

format=ovobench: a results folder as OVO-Bench's inference writes it (omnibench.scoring.ovobench_results
reads it): backward/real-time responses become turn 0 of sample `<task>-<id>`; a forward record's
probe j becomes the turn it is asked as (omnibench.data.ovobench.probe_order on the file's own
test_info). A question in two files is replayed from its first copy (the reference's scorer
counts both; `omnibench data reference-scores` does too).

format=streamingbench: an output JSON of StreamingBench's eval.py (omnibench.scoring.streamingbench_results
reads it). real/omni/sqa: each video's questions keyed as the loader orders them
(omnibench.data.streamingbench.question_order; sqa in file order); the subset is the file name's
prefix as their eval.sh names outputs (`real_output_M.json`), else sqa/proactive by structure, else
real when every video is a `*_real.mp4`, else omni. proactive: a model that said yes is replayed
saying the last turn of its dialog at that turn's time; one that never did says nothing.
Nothing here reads a Sample: keys come from the prediction files alone.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnibench.errors import DataError


@dataclass
class PeerPrediction:
    """What the replay store keeps per sample (the fields of models.replay.Prediction)."""

    source: str
    task: str
    texts: dict[int, str] = field(default_factory=dict)
    alerts: list[float] | None = None
    alert_texts: list[str] | None = None


def read_predictions(format: str, path: Path, *, model: str | None = None) -> dict[str, PeerPrediction]:
    """{sample id: prediction} of one peer prediction folder (ovobench) or file (streamingbench)."""
    if format == "ovobench":
        return _ovobench(path)
    return _streamingbench(path, model)


def _ovobench(folder: Path) -> dict[str, PeerPrediction]:
    from omnibench.data.ovobench import probe_order, sample_id, task_name
    from omnibench.scoring.ovobench_results import read_folder

    result = read_folder(folder)
    out: dict[str, PeerPrediction] = {}
    seen: set[tuple[str, int, int | None]] = set()
    repeated = 0
    for r in result.responses:
        if r.ovo_id is None:
            raise DataError(f"a {r.task} entry has no 'id': replay needs it to find the question", file=str(folder))
        key = (r.task, r.ovo_id, r.probe)
        if key in seen:
            repeated += 1
            continue
        seen.add(key)
        sid = sample_id(r.task, r.ovo_id)
        pred = out.setdefault(sid, PeerPrediction(f"{folder.name}:{r.task}:{r.ovo_id}", task_name(r.task)))
        turn = 0 if r.probe is None else probe_order(result.test_info[r.ovo_id]).index(r.probe)
        pred.texts[turn] = r.text or ""
    for note in result.notes:
        if "more than one file" not in note:
            warnings.warn(f"replay (ovobench): {note}", stacklevel=3)
    if repeated:
        warnings.warn(f"replay (ovobench): {repeated} answer(s) appear in more than one file; the first copy of each "
                      "is replayed (the reference's scorer counts every copy)", stacklevel=3)
    return out


def _subset(path: Path, kind: str, videos: list[str]) -> str:
    from omnibench.data.streamingbench import SUBSETS, video_name

    head = path.name.split("_", 1)[0].lower()
    if head in SUBSETS:
        return head
    if kind in ("sqa", "proactive"):
        return kind
    return "real" if videos and all(video_name(v).endswith("_real.mp4") for v in videos) else "omni"


def _text(reply: Any) -> str:
    if reply is None:
        return ""
    if isinstance(reply, list) and all(isinstance(x, str) for x in reply):
        return "\n".join(reply)
    return str(reply)


def _streamingbench(path: Path, model: str | None) -> dict[str, PeerPrediction]:
    from omnibench.data.streamingbench import question_order, sample_id, task_name, video_name
    from omnibench.scoring.streamingbench_results import last_turn, read_output

    out_file = read_output(path, model)
    subset = _subset(path, out_file.kind, [e.video_path for e in out_file.entries])
    by_video = defaultdict(list)
    for entry in out_file.entries:           # every question, answered or not: the turn numbers need them all
        by_video[video_name(entry.video_path)].append(entry)
    out: dict[str, PeerPrediction] = {}
    for video, entries in by_video.items():
        order = list(range(len(entries))) if out_file.kind == "sqa" else question_order([e.question for e in entries])
        if out_file.kind == "proactive":
            for k, pos in enumerate(order):
                e = entries[pos]
                if not e.has_reply:
                    continue
                pred = PeerPrediction(f"{path.name}:{e.index}:{e.j}", task_name(subset), alerts=[], alert_texts=[])
                when, content = last_turn(e.reply, f"{path}, record {e.index}, question {e.j}")
                if e.reply.get("answered") not in (None, False) and when is not None:
                    pred.alerts, pred.alert_texts = [when], [content]
                out[sample_id(subset, video, k)] = pred
            continue
        pred = PeerPrediction(f"{path.name}:{video}", task_name(subset))
        for turn, pos in enumerate(order):    # a question the model has no reply for: unanswered ("")
            pred.texts[turn] = _text(entries[pos].reply) if entries[pos].has_reply else ""
        out[sample_id(subset, video)] = pred
    return out
