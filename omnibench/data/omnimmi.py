"""The OmniMMI annotations (shipped in the package) as Samples; videos from a local dir or the Hub.

Layout of a data directory: the six JSON files (optional: the packaged copy is used), `videos/`
and, optionally, `clips/` with OmniMMI's pre-cut clips `{video stem}_{end}.mp4`.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from omnibench.data.schema import Message, Query, Sample, VideoRef, check_relative_path
from omnibench.errors import DataError

TASK_FILES = {
    "sg": "dynamic_state_grounding.json", "ap": "action_prediction.json",
    "md": "multiturn_dependency_reasoning.json", "si": "speaker_identification.json",
    "pa": "proactive_alerting.json", "pt": "proactive_turntaking.json",
}
HUB_DATASET = "ColorfulAI/OmniMMI"
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*--\s*(\d+(?:\.\d+)?)\s*$")


def annotations_dir() -> Path:
    return Path(str(files("omnibench.data") / "omnimmi_files"))


def _default_root() -> Path:
    env = os.environ.get("OMNIBENCH_OMNIMMI_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("OMNIBENCH_CACHE", Path.home() / ".cache" / "omnibench")) / "omnimmi"


def video_root(data_dir: str | Path | None = None) -> Path | None:
    """The directory holding videos/ (env OMNIBENCH_OMNIMMI_DIR, else data_dir, else the cache)."""
    for candidate in (Path(data_dir) if data_dir else None, _default_root()):
        if candidate is not None and (candidate / "videos").is_dir():
            return candidate
    return None


def require_videos(data_dir: str | Path | None = None) -> Path:
    root = video_root(data_dir)
    if root is None:
        raise DataError(
            "the OmniMMI videos are not here. Download them with `omnibench data download omnimmi --out DIR` "
            f"(Hugging Face dataset {HUB_DATASET}), or put videos/ and clips/ from it in a directory DIR, "
            "then pass --data-dir DIR or set OMNIBENCH_OMNIMMI_DIR=DIR. The questions themselves ship with "
            "omnibench, so `omnibench data stats` and the replay model work without videos.")
    return root


def download(out_dir: str | Path, *, token: str | None = None) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise DataError("downloading needs huggingface_hub: pip install 'omnibench[hub]'") from exc
    try:
        path = snapshot_download(HUB_DATASET, repo_type="dataset", local_dir=str(out_dir), token=token)
    except Exception as exc:
        raise DataError(f"could not download {HUB_DATASET} ({type(exc).__name__}: {exc}). Without network, "
                        "copy videos/ and clips/ into a directory by hand and pass --data-dir.") from exc
    return Path(path)


# -- reading and checking records --------------------------------------------------------------
class _Record:
    """Field access that fails with file, index and field named."""

    def __init__(self, data: Any, file: str, index: int):
        if not isinstance(data, dict):
            raise DataError(f"expected an object, got {type(data).__name__}", file=file, index=index)
        self.data, self.file, self.index = data, file, index

    def get(self, field: str, kind: type | tuple[type, ...], *, nonempty: bool = False, within=None) -> Any:
        source = self.data if within is None else within
        if field not in source:
            raise DataError("missing field", file=self.file, index=self.index, field=field)
        value = source[field]
        if isinstance(value, bool) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise DataError(f"expected {names}, got {type(value).__name__}", file=self.file, index=self.index,
                            field=field)
        if nonempty and not value:
            raise DataError("must not be empty", file=self.file, index=self.index, field=field)
        return value

    def fail(self, message: str, field: str) -> DataError:
        return DataError(message, file=self.file, index=self.index, field=field)


def _span(rec: _Record, text: str, field: str) -> tuple[float, float]:
    match = _SPAN.match(text)
    if not match:
        raise rec.fail(f"timestamp {text!r} is not 'start -- end'", field)
    # one shipped SG record has its span reversed; OmniMMI asks at the written end, and so do we
    return float(match.group(1)), float(match.group(2))


def _video(rec: _Record, clips: dict[str, str] | None = None) -> VideoRef:
    name = rec.get("video", str, nonempty=True)
    try:
        check_relative_path(name)        # the name itself, before it is put under videos/
        return VideoRef(path=f"videos/{name}", clips=clips or {})
    except (ValueError, ValidationError) as exc:
        message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise rec.fail(message, "video") from None


def _turns_sample(rec: _Record, code: str) -> tuple[VideoRef, list[Query], list[Message]]:
    qa = rec.get("qa", list, nonempty=True)
    stem = _video(rec).path[len("videos/"):].rsplit(".mp4", 1)[0]
    turns, clips = [], {}
    for k, item in enumerate(qa):
        where = f"qa[{k}]"
        if not isinstance(item, dict):
            raise rec.fail("expected an object", where)
        question = rec.get("question", str, nonempty=True, within=item)
        answer = rec.get("answer", str, within=item)
        s, e = _span(rec, rec.get("timestamp", str, within=item), f"{where}.timestamp")
        end_key = str(int(e))            # OmniMMI names clips by the integer end second
        clips[end_key] = f"clips/{stem}_{end_key}.mp4"
        # one shipped MD record has ##ANSWER## in its first turn; like OmniMMI we leave it as written
        depends = k - 1 if code == "md" and "##ANSWER##" in question and k > 0 else None
        turns.append(Query(t=e, text=question, target=answer, span_start=min(s, e), depends_on=depends))
    return _video(rec, clips), turns, []


def _convert(code: str, rec: _Record) -> tuple[VideoRef, list[Query], list[Message]]:
    if code in ("sg", "md"):
        return _turns_sample(rec, code)
    video = _video(rec)
    if code == "ap":
        vocab = rec.get("vocab", list, nonempty=True)
        if not all(isinstance(v, str) for v in vocab):
            raise rec.fail("expected a list of strings", "vocab")
        return video, [Query(text=rec.get("question", str, nonempty=True), target=rec.get("answer", str),
                             choices=vocab)], []
    if code == "si":
        t = rec.get("timestamp", (int, float))
        if t < 0:
            raise rec.fail("must be >= 0", "timestamp")
        return video, [Query(t=float(t), text=rec.get("question", str, nonempty=True),
                             target=rec.get("answer", str))], []
    if code == "pa":
        window = rec.get("answer", list)
        if len(window) != 2 or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in window):
            raise rec.fail("expected [start, end] seconds", "answer")
        if window[1] < window[0]:
            raise rec.fail(f"window {window} ends before it starts", "answer")
        return video, [Query(t=0.0, kind="alert_request", text=rec.get("question", str, nonempty=True),
                             target=[float(window[0]), float(window[1])])], []
    if code == "pt":
        conversation = rec.get("conversation", list, nonempty=True)
        history: list[Message] = []
        for k, entry in enumerate(conversation[:-1]):
            if not isinstance(entry, dict) or "human" not in entry:
                raise rec.fail("expected an object with 'human'", f"conversation[{k}]")
            history.append(Message(role="user", text=rec.get("human", str, within=entry)))
            if "assistant" in entry:
                history.append(Message(role="assistant", text=rec.get("assistant", str, within=entry)))
        final = conversation[-1]
        if not isinstance(final, dict) or "human" not in final:
            raise rec.fail("the final entry must be a human turn", f"conversation[{len(conversation) - 1}]")
        return video, [Query(kind="noise", text=rec.get("human", str, nonempty=True, within=final))], history
    raise DataError(f"unknown OmniMMI task code {code!r}; one of {sorted(TASK_FILES)}")


def _read_json(path: Path) -> list:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("annotation file not found", file=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not valid JSON ({exc})", file=str(path)) from None
    if not isinstance(data, list):
        raise DataError(f"expected a list of records, got {type(data).__name__}", file=str(path))
    return data


def load(code: str, data_dir: str | Path | None = None, *, lenient: bool = False,
         skipped: list[DataError] | None = None) -> list[Sample]:
    """Every record of one task as a Sample. Strict: a broken record raises; lenient: skip + report."""
    if code not in TASK_FILES:
        raise DataError(f"unknown OmniMMI task code {code!r}; one of {sorted(TASK_FILES)}")
    folder = Path(data_dir) if data_dir and (Path(data_dir) / TASK_FILES[code]).exists() else annotations_dir()
    path = folder / TASK_FILES[code]
    samples, bad = [], []
    for index, raw in enumerate(_read_json(path)):
        try:
            rec = _Record(raw, str(path), index)
            video, turns, history = _convert(code, rec)
            stem = Path(video.path).stem
            samples.append(Sample(id=f"{code}-{index:04d}", task=f"omnimmi_{code}", video=video, turns=turns,
                                  history=history, metadata={"video_id": stem, "record": index}))
        except DataError as exc:
            if not lenient:
                raise
            bad.append(exc)
        except ValidationError as exc:
            error = DataError(exc.errors()[0]["msg"], file=str(path), index=index,
                              field=".".join(str(p) for p in exc.errors()[0]["loc"]))
            if not lenient:
                raise error from None
            bad.append(error)
    if bad:
        warnings.warn(f"{path}: skipped {len(bad)} broken record(s); first: {bad[0]}", stacklevel=2)
        if skipped is not None:
            skipped.extend(bad)
    return samples


@dataclass
class TaskStats:
    task: str
    records: int
    queries: int
    videos: int
    mean_turns: float
    mean_video_s: float | None = None


def _duration(path: Path) -> float | None:
    import av

    try:
        with av.open(str(path)) as container:
            return container.duration / 1_000_000 if container.duration else None
    except Exception:
        return None


def stats(data_dir: str | Path | None = None, *, lenient: bool = False) -> list[TaskStats]:
    root = video_root(data_dir)
    rows = []
    for code in TASK_FILES:
        samples = load(code, data_dir, lenient=lenient)
        videos = {s.video.path for s in samples}
        mean_s = None
        if root is not None:
            durations = [d for d in (_duration(root / v) for v in sorted(videos)) if d is not None]
            mean_s = sum(durations) / len(durations) if durations else None
        rows.append(TaskStats(code.upper(), len(samples), sum(len(s.turns) for s in samples), len(videos),
                              round(sum(len(s.turns) for s in samples) / max(1, len(samples)), 2), mean_s))
    return rows


def format_stats(rows: list[TaskStats]) -> str:
    header = f"{'task':<5} {'records':>8} {'queries':>8} {'videos':>7} {'mean turns':>11} {'mean video s':>13}"
    lines = [header, "-" * len(header)]
    for r in rows:
        video_s = f"{r.mean_video_s:.1f}" if r.mean_video_s is not None else "-"
        lines.append(f"{r.task:<5} {r.records:>8} {r.queries:>8} {r.videos:>7} {r.mean_turns:>11.2f} {video_s:>13}")
    return "\n".join(lines)
