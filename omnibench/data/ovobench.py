"""OVO-Bench (CVPR 2025): its annotations, typed and validated, as omnibench Samples; where the data lives.

OVO-Bench's dataset is CC BY-NC-SA 4.0, so nothing of it ships in omnibench's MIT wheel: the
annotation file `ovo_bench_new.json` is read from a directory the user names (`--data-dir`, or
$OMNIBENCH_OVOBENCH_DIR, or ~/.cache/omnibench/ovobench after `omnibench data download ovobench`).
Layout, as the reference's scripts expect it:

    DIR/ovo_bench_new.json            (or DIR/data/ovo_bench_new.json, a checkout's place)
    DIR/src_videos/<video>            the source videos, paths as the records name them
    DIR/chunked_videos/<id>.mp4       optional pre-cut clips (<id>_<i>.mp4 for forward probes)

Twelve tasks in three groups. Backward tracing and real-time perception records are one
multiple-choice question asked at `realtime` seconds (target: the option letter). Forward active
responding records are probed at each `test_info` time: REC asks the count so far, SSR whether a
step is being done, CRR whether the question can be answered yet. Each probe is one turn, in time
order (ties in file order): `probe_order` is the one rule, used again by replay to key predictions.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from omnibench.data.schema import Query, Sample, VideoRef, check_video_file
from omnibench.errors import DataError

BACKWARD = ("EPM", "ASI", "HLD")
REALTIME = ("OJR", "STU", "OCR", "ATR", "ACR", "FPD")
FORWARD = ("REC", "SSR", "CRR")
GROUPS = {"backward": BACKWARD, "realtime": REALTIME, "forward": FORWARD}
TASKS = (*BACKWARD, *REALTIME, *FORWARD)
GROUP_OF = {code: group for group, codes in GROUPS.items() for code in codes}
ANNOTATIONS = "ovo_bench_new.json"
HUB_REPO = "JoeLeelyf/OVO-Bench"
DIR_ENV = "OMNIBENCH_OVOBENCH_DIR"
HELP = ("OVO-Bench's data is CC BY-NC-SA 4.0 and does not ship with omnibench: get it with `omnibench data "
        "download ovobench` (needs the Hugging Face Hub), or put ovo_bench_new.json (from a JoeLeelyf/OVO-Bench "
        f"checkout, data/) and src_videos/ in a directory; then pass --data-dir DIR or set {DIR_ENV}=DIR.")
ClipEnd = Literal["exact", "ceil"]

Text = Annotated[str, StringConstraints(min_length=1)]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Flag = Literal[0, 1]


class _Record(BaseModel):
    # strict: "3" is not a number; unknown keys (a results file's "response") are ignored
    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False, frozen=True)

    id: int = Field(ge=0)
    task: str
    video: Text

    @field_validator("video")
    @classmethod
    def _relative(cls, v: str) -> str:
        return check_video_file(v)


class ChoiceRecord(_Record):
    """Backward tracing and real-time perception: one multiple-choice question at `realtime`."""

    task: Literal[BACKWARD + REALTIME]   # type: ignore[valid-type]
    realtime: Seconds
    question: Text
    options: list[Text] = Field(min_length=2, max_length=26)
    gt: int = Field(ge=0)

    @field_validator("gt")
    @classmethod
    def _in_range(cls, v: int, info) -> int:
        options = info.data.get("options")
        if options is not None and v >= len(options):
            raise ValueError(f"gt {v} names no option (there are {len(options)})")
        return v


class CountProbe(BaseModel):
    model_config = _Record.model_config
    realtime: Seconds
    count: int = Field(ge=0)


class StepProbe(BaseModel):
    model_config = _Record.model_config
    realtime: Seconds
    step: Text
    type: Flag


class ClueProbe(BaseModel):
    model_config = _Record.model_config
    realtime: Seconds
    type: Flag


class CountRecord(_Record):
    """REC: how many times the activity has been done so far, at each probe time."""

    task: Literal["REC"]
    activity: Text
    test_info: list[CountProbe] = Field(min_length=1)


class StepRecord(_Record):
    """SSR: at each probe, is the person doing this step now (type 1) or not (0)."""

    task: Literal["SSR"]
    test_info: list[StepProbe] = Field(min_length=1)


class ClueRecord(_Record):
    """CRR: at each probe, can the question be answered from what was shown so far (1) or not yet (0)."""

    task: Literal["CRR"]
    question: Text
    test_info: list[ClueProbe] = Field(min_length=1)


RECORD_TYPES: dict[str, type[_Record]] = {**dict.fromkeys(BACKWARD + REALTIME, ChoiceRecord),
                                          "REC": CountRecord, "SSR": StepRecord, "CRR": ClueRecord}


def task_name(code: str) -> str:
    return f"ovobench_{code.lower()}"


def sample_id(code: str, record_id: int) -> str:
    """The sample id of the record with OVO id `record_id` (ids are unique over the whole file)."""
    return f"{code.lower()}-{record_id:04d}"


def probe_order(test_info: list[dict[str, Any]]) -> list[int]:
    """Indices of `test_info` in the order the probes are asked: by time, ties in file order."""
    return sorted(range(len(test_info)), key=lambda j: (float(test_info[j]["realtime"]), j))


def _code(code: str) -> str:
    short = code.removeprefix("ovobench_").upper()
    if short not in TASKS:
        raise DataError(f"unknown OVO-Bench task {code!r}; known: {', '.join(TASKS)}")
    return short


def letter(index: int) -> str:
    return chr(ord("A") + index)


def _clip_time(t: float, clip_end: ClipEnd) -> float:
    # the reference cuts its clips at math.ceil(realtime) (utils/chunk_videos.py)
    return float(math.ceil(t)) if clip_end == "ceil" else float(t)


def to_sample(index: int, rec: _Record, *, clip_end: ClipEnd = "exact") -> Sample:
    """The Sample of one validated record. clip_end="ceil": ask (and cut the offline clip) at
    ceil(time), and use the reference's pre-cut clips when DIR/chunked_videos has them."""
    code = rec.task
    meta: dict[str, Any] = {"video_id": rec.video, "record": index, "ovo_id": rec.id, "group": GROUP_OF[code]}
    clips: dict[str, str] = {}
    if isinstance(rec, ChoiceRecord):
        t = _clip_time(rec.realtime, clip_end)
        turns = [Query(t=t, text=rec.question, target=letter(rec.gt), choices=list(rec.options))]
        meta["realtime"] = rec.realtime
        if clip_end == "ceil":
            clips[str(int(t))] = f"chunked_videos/{rec.id}.mp4"
    else:
        probes = [p.model_dump() for p in rec.test_info]   # type: ignore[attr-defined]
        order = probe_order(probes)
        turns = []
        for j in order:
            probe = probes[j]
            t = _clip_time(probe["realtime"], clip_end)
            if isinstance(rec, CountRecord):
                text, target = rec.activity, str(probe["count"])
            elif isinstance(rec, StepRecord):
                text, target = probe["step"], "Yes" if probe["type"] else "No"
            else:
                text, target = rec.question, "Yes" if probe["type"] else "No"   # type: ignore[attr-defined]
            turns.append(Query(t=t, text=text, target=target))
            if clip_end == "ceil":
                clips.setdefault(str(int(t)), f"chunked_videos/{rec.id}_{j}.mp4")
        meta["probes"] = order          # turn k is test_info[probes[k]]
        meta["realtime"] = [probes[j]["realtime"] for j in order]
    return Sample(id=sample_id(code, rec.id), task=task_name(code), metadata=meta,
                  video=VideoRef(path=f"src_videos/{rec.video}", clips=clips), turns=turns)


def _default_dir() -> Path:
    from omnibench.cache import cache_dir

    return cache_dir() / "ovobench"


def annotation_file(data_dir: str | Path | None = None) -> Path:
    """ovo_bench_new.json in `data_dir` (or its data/), else $OMNIBENCH_OVOBENCH_DIR, else the download cache."""
    looked = []
    for candidate in (data_dir, os.environ.get(DIR_ENV), _default_dir()):
        if not candidate:
            continue
        root = Path(candidate).expanduser()
        for path in (root / ANNOTATIONS, root / "data" / ANNOTATIONS):
            looked.append(str(path))
            if path.is_file():
                return path
        if data_dir is not None and candidate == data_dir:
            break                          # an explicit choice is not silently replaced by another
    raise DataError(f"OVO-Bench annotations not found (looked for {', '.join(looked)}). {HELP}")


def data_root(data_dir: str | Path | None = None) -> Path | None:
    """The directory holding src_videos/ (videos are resolved there); None when there is none."""
    try:
        path = annotation_file(data_dir)
    except DataError:
        return None
    for root in (path.parent, path.parent.parent):
        if (root / "src_videos").is_dir():
            return root
    return None


def load_all(data_dir: str | Path | None = None, *, lenient: bool = False,
             skipped: list[DataError] | None = None, clip_end: ClipEnd = "exact") -> dict[str, list[Sample]]:
    """Every task's samples; strict: the first unusable record raises a DataError naming file, record
    and field. `lenient=True` skips such records, appends their errors to `skipped` and warns once."""
    if clip_end not in ("exact", "ceil"):
        raise ValueError(f"clip_end must be 'exact' or 'ceil', got {clip_end!r}")
    path = annotation_file(data_dir)
    if not lenient:   # twelve tasks read one file: parse it once per version of the file
        stat = path.stat()
        return {code: list(samples) for code, samples in
                _strict(str(path), stat.st_mtime_ns, stat.st_size, clip_end).items()}
    return _read(path, lenient=True, skipped=skipped, clip_end=clip_end)


@functools.lru_cache(maxsize=4)
def _strict(path: str, mtime_ns: int, size: int, clip_end: ClipEnd) -> dict[str, tuple[Sample, ...]]:
    return {code: tuple(samples) for code, samples in _read(Path(path), lenient=False, clip_end=clip_end).items()}


def _read(path: Path, *, lenient: bool, clip_end: ClipEnd,
          skipped: list[DataError] | None = None) -> dict[str, list[Sample]]:
    from omnibench.data.omnimmi import _read_json_list, _record_error

    out: dict[str, list[Sample]] = {code: [] for code in TASKS}
    errors: list[DataError] = []
    seen: dict[int, int] = {}
    for index, raw in enumerate(_read_json_list(path)):
        try:
            if not isinstance(raw, dict):
                raise DataError(f"must be a JSON object, got {type(raw).__name__}", file=str(path), index=index)
            code = raw.get("task")
            if code not in RECORD_TYPES:
                raise DataError(f"unknown task {code!r}; expected one of {', '.join(TASKS)}", file=str(path),
                                index=index, field="task")
            try:
                rec = RECORD_TYPES[code].model_validate(raw)
            except ValidationError as exc:
                raise _record_error(exc, path, index) from exc
            if rec.id in seen:
                raise DataError(f"id {rec.id} repeats record {seen[rec.id]}", file=str(path), index=index, field="id")
            seen[rec.id] = index
            out[code].append(to_sample(index, rec, clip_end=clip_end))
        except DataError as err:
            if not lenient:
                raise
            errors.append(err)
    if errors:
        if skipped is not None:
            skipped.extend(errors)
        warnings.warn(f"OVO-Bench: skipped {len(errors)} unusable record(s) in {path}; first: {errors[0]}",
                      stacklevel=2)
    return out


def load(code: str, data_dir: str | Path | None = None, **kwargs: Any) -> list[Sample]:
    """The samples of one task (EPM ... CRR; the 'ovobench_' prefix is accepted)."""
    return load_all(data_dir, **kwargs)[_code(code)]


def download(out_dir: str | Path, *, token: str | None = None, videos: bool = True) -> Path:
    """Fetch OVO-Bench from the Hub into `out_dir`: the annotations, and (videos=True) the source videos,
    whose tar parts src_videos.tar.part* are joined and unpacked into out_dir. The 144 GB of pre-cut
    clips are left on the hub (omnibench cuts clips as it reads)."""
    from omnibench.data._peer_hub import extract_tar, snapshot

    patterns = ["*.json", "**/*.json"] + (["src_videos.tar.part*", "**/src_videos.tar.part*"] if videos else [])
    out = snapshot(HUB_REPO, out_dir, env=DIR_ENV, token=token, allow_patterns=patterns)
    parts = sorted(out.rglob("src_videos.tar.part*"))
    if parts:
        extract_tar(parts, out)
        for part in parts:
            part.unlink()
    if not any((out / p).is_file() for p in (ANNOTATIONS, f"data/{ANNOTATIONS}")):
        warnings.warn(f"{HUB_REPO} gave no {ANNOTATIONS}: copy it from a JoeLeelyf/OVO-Bench checkout (data/) "
                      f"into {out}", stacklevel=2)
    return out
