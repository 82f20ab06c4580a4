"""StreamingBench (ICLR 2025): its question files, typed and validated, as omnibench Samples; the videos.

The four question files are MIT and ship inside the package (streamingbench_files/, source and
license noted there): the hub dataset holds only zipped videos, so without them a user would need
a checkout of the GitHub repository as well. Videos live flat in `DIR/videos/<name>.mp4` (what the
reference's preprocess.sh builds; `omnibench data download streamingbench` does the same), and a
DIR that holds question files of its own is read instead of the packaged ones.

Subsets and samples (one rule each, used again by replay to key predictions):
- real, omni: one sample per video, every question on that video a turn, in time order (ties by
  question text): `question_order`. The reference asks each one alone on the clip [0, time].
- sqa: one sample per video, the five questions in file order (each builds on the earlier ones).
- proactive: one sample per question ("when X happens, output Y"): an alert request at its time,
  the ground-truth time as a point window, the expected output in metadata.
Time stamps are read as the reference reads them: integers split on ':' (H:M:S, M:S or S).
"""

from __future__ import annotations

import functools
import re
import warnings
from collections import defaultdict
from importlib.resources import files
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.errors import DataError

SUBSETS = ("real", "omni", "sqa", "proactive")
HUB_REPO = "mjuicem/StreamingBench"
DIR_ENV = "OMNIBENCH_STREAMINGBENCH_DIR"
HELP = ("Get them with `omnibench data download streamingbench --out DIR` (needs the Hugging Face Hub), or put "
        f"the videos of the mjuicem/StreamingBench dataset in DIR/videos/; then pass --data-dir DIR or set {DIR_ENV}.")
Text = Annotated[str, StringConstraints(min_length=1)]
_STAMP = re.compile(r"^\d+(:\d+){0,2}$")
_LETTERED = re.compile(r"^([A-Z])\.\s")


def seconds(stamp: str) -> int:
    """'HH:MM:SS' (or 'MM:SS', 'SS') to seconds, as the reference computes it (a field > 59 is kept)."""
    return sum(int(x) * 60 ** i for i, x in enumerate(reversed(stamp.split(":"))))


def _check_stamp(v: str) -> str:
    if not _STAMP.match(v):
        raise ValueError(f"time stamp {v!r} is not H:M:S in whole numbers")
    return v


def type_code(task_type: str) -> str:
    """'Object Recognition' -> 'object_recognition' (a metric name)."""
    return re.sub(r"[^a-z0-9]+", "_", task_type.lower()).strip("_")


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class ChoiceQuestion(_Strict):
    task_type: Text
    question: Text
    time_stamp: Text
    # a few published omni questions split an option over two entries or leave an empty one: kept as published
    options: list[str] = Field(min_length=2)
    answer: Annotated[str, StringConstraints(pattern=r"^[A-Z]$")]    # after options: its check reads them

    _stamp = field_validator("time_stamp")(_check_stamp)

    @field_validator("answer")
    @classmethod
    def _offered(cls, v: str, info) -> str:
        options = info.data.get("options")
        if options is not None and v not in offered_letters(options):
            raise ValueError(f"answer {v!r} is none of the offered letters {offered_letters(options)}")
        return v


class ProactiveQuestion(_Strict):
    task_type: Text
    question: Text
    time_stamp: Text
    ground_truth_time_stamp: Text
    ground_truth_output: Text

    _stamps = field_validator("time_stamp", "ground_truth_time_stamp")(_check_stamp)

    @field_validator("ground_truth_time_stamp")
    @classmethod
    def _after(cls, v: str, info) -> str:
        asked = info.data.get("time_stamp")
        if asked is not None and seconds(v) < seconds(asked):
            raise ValueError(f"ground truth time {v} is before the question time {asked}")
        return v


class _Record(_Strict):
    video_path: Text
    time: str | None = None

    @field_validator("video_path")
    @classmethod
    def _name(cls, v: str) -> str:
        name = video_name(v)
        if not name or name in (".", "..") or "\x00" in v:
            raise ValueError(f"video_path {v!r} names no file")
        return v


class ChoiceRecord(_Record):
    questions: list[ChoiceQuestion] = Field(min_length=1)


class ProactiveRecord(_Record):
    questions: list[ProactiveQuestion] = Field(min_length=1)


def video_name(video_path: str) -> str:
    """The file name: every video sits flat in videos/ (their preprocess moves them there; the
    files may hold './videos/x.mp4' or, once preprocessed, an absolute path)."""
    return PurePosixPath(video_path.replace("\\", "/")).name


def video_stem(video_path: str) -> str:
    return video_name(video_path).removesuffix(".mp4")


def offered_letters(options: list[str]) -> list[str]:
    """The option letters a question offers: its own 'X. ' prefixes, else A, B, C... by position."""
    filled = [o for o in options if o.strip()]
    prefixed = [m.group(1) for o in filled if (m := _LETTERED.match(o))]
    return prefixed if len(prefixed) == len(filled) else [chr(65 + i) for i in range(len(options))]


def question_order(questions: list[dict[str, Any]]) -> list[int]:
    """Indices of one video's questions in asking order: by time, then question text, then file order."""
    return sorted(range(len(questions)),
                  key=lambda k: (seconds(questions[k]["time_stamp"]), questions[k]["question"], k))


def task_name(subset: str) -> str:
    return f"streamingbench_{subset}"


def sample_id(subset: str, video_path: str, k: int | None = None) -> str:
    """real/omni/sqa: one id per video; proactive: one per question (k: its place in question_order)."""
    stem = video_stem(video_path)
    return f"{subset}-{stem}" if k is None else f"{subset}-{stem}-{k}"


def _subset(code: str) -> str:
    short = code.removeprefix("streamingbench_").lower()
    if short not in SUBSETS:
        raise DataError(f"unknown StreamingBench subset {code!r}; known: {', '.join(SUBSETS)}")
    return short


def packaged_dir() -> Path:
    return Path(str(files("omnibench.data.streamingbench_files")))


def question_file(subset: str, data_dir: str | Path | None = None) -> Path:
    """questions_<subset>.json in `data_dir` when it has one (or its src/data/), else the packaged copy."""
    name = f"questions_{_subset(subset)}.json"
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise DataError(f"StreamingBench data directory {root} does not exist")
        for candidate in (root / name, root / "src" / "data" / name):
            if candidate.is_file():
                return candidate
    return packaged_dir() / name


def video_root(data_dir: str | Path | None = None) -> Path | None:
    """The directory holding videos/: `data_dir` (or its src/data/), $OMNIBENCH_STREAMINGBENCH_DIR, the download cache."""
    import os

    from omnibench.cache import cache_dir

    for candidate in (data_dir, os.environ.get(DIR_ENV), cache_dir() / "streamingbench"):
        if candidate:
            for root in (Path(candidate).expanduser(), Path(candidate).expanduser() / "src" / "data"):
                if (root / "videos").is_dir():
                    return root
    return None


def _note_stamp(stamp: str, window: str | None) -> str | None:
    fields = [int(x) for x in stamp.split(":")]
    if len(fields) == 3 and fields[1] < 60 and fields[2] < 60:
        return None
    return (f"time stamp {stamp!r} is not HH:MM:SS; read as the reference reads it, {seconds(stamp)} s"
            + (f" (the record's window is {window})" if window else ""))


def _choice_samples(subset: str, entries: list[tuple[int, int, ChoiceRecord, ChoiceQuestion]],
                    sequential: bool) -> Sample:
    """One video's questions; `entries` are (record, question index, record, question) in file order."""
    order = list(range(len(entries))) if sequential else question_order([q.model_dump() for *_, q in entries])
    turns, types, stamps, where, notes = [], [], [], [], []
    for k in order:
        index, j, rec, q = entries[k]
        turns.append(Query(t=float(seconds(q.time_stamp)), text=q.question, target=q.answer, choices=list(q.options)))
        types.append(q.task_type)
        stamps.append(q.time_stamp)
        where.append([index, j])
        if note := _note_stamp(q.time_stamp, rec.time):
            notes.append(f"turn {len(turns) - 1}: {note}")
    video = entries[0][2].video_path
    meta: dict[str, Any] = {"video_id": video_stem(video), "subset": subset, "task_types": types,
                            "time_stamps": stamps, "records": where}
    times = [float(q.t or 0.0) for q in turns]
    if any(b < a for a, b in zip(times, times[1:])):   # sqa: kept in file order; streaming asks each after the one before
        meta["stream_ask"] = [{"at_least": t} for t in times]
        notes.append(f"turn times {times} go back in time; a streaming run asks each turn no earlier than the one before")
    if notes:
        meta["notes"] = notes
    return Sample(id=sample_id(subset, video), task=task_name(subset), turns=turns, metadata=meta,
                  video=VideoRef(path=f"videos/{video_name(video)}"))


def _proactive_samples(entries: list[tuple[int, int, ProactiveRecord, ProactiveQuestion]]) -> list[Sample]:
    out = []
    for k, pos in enumerate(question_order([q.model_dump() for *_, q in entries])):
        index, j, rec, q = entries[pos]
        gt = float(seconds(q.ground_truth_time_stamp))
        meta = {"video_id": video_stem(rec.video_path), "subset": "proactive", "task_types": [q.task_type],
                "records": [[index, j]], "output": q.ground_truth_output, "events": [[gt, gt]]}
        out.append(Sample(id=sample_id("proactive", rec.video_path, k), task=task_name("proactive"), metadata=meta,
                          video=VideoRef(path=f"videos/{video_name(rec.video_path)}"),
                          turns=[Query(t=float(seconds(q.time_stamp)), kind="alert_request", text=q.question,
                                       target=[gt, gt])]))
    return out


def _records(subset: str, path: Path, raw: list, lenient: bool, errors: list[DataError]):
    """(record index, record) of every valid record; sqa's are nested one list per video."""
    from omnibench.data.omnimmi import _record_error

    kind = ProactiveRecord if subset == "proactive" else ChoiceRecord
    flat = [(i, r) for i, group in enumerate(raw) for r in (group if isinstance(group, list) else [group])] \
        if subset == "sqa" else list(enumerate(raw))
    for index, item in flat:
        try:
            if not isinstance(item, dict):
                raise DataError(f"must be a JSON object, got {type(item).__name__}", file=str(path), index=index)
            try:
                yield index, kind.model_validate(item)
            except ValidationError as exc:
                raise _record_error(exc, path, index) from exc
        except DataError as err:
            if not lenient:
                raise
            errors.append(err)


def _read(subset: str, path: Path, lenient: bool, skipped: list[DataError] | None) -> list[Sample]:
    from omnibench.data.omnimmi import _read_json_list

    errors: list[DataError] = []
    raw = _read_json_list(path)
    by_video: dict[str, list] = defaultdict(list)
    for index, rec in _records(subset, path, raw, lenient, errors):
        for j, q in enumerate(rec.questions):
            by_video[video_name(rec.video_path)].append((index, j, rec, q))
    if subset == "proactive":
        samples = [s for entries in by_video.values() for s in _proactive_samples(entries)]
    else:
        samples = [_choice_samples(subset, entries, sequential=subset == "sqa") for entries in by_video.values()]
    if errors:
        if skipped is not None:
            skipped.extend(errors)
        warnings.warn(f"StreamingBench {subset}: skipped {len(errors)} unusable record(s) in {path}; "
                      f"first: {errors[0]}", stacklevel=3)
    return samples


@functools.lru_cache(maxsize=8)
def _strict(subset: str, path: str, mtime_ns: int, size: int) -> tuple[Sample, ...]:
    return tuple(_read(subset, Path(path), False, None))


def load(subset: str, data_dir: str | Path | None = None, *, lenient: bool = False,
         skipped: list[DataError] | None = None) -> list[Sample]:
    """The samples of one subset (real, omni, sqa, proactive; the 'streamingbench_' prefix is accepted).

    Strict by default: the first unusable record raises a DataError naming file, record and field;
    `lenient=True` skips such records, appends their errors to `skipped` and warns once."""
    short = _subset(subset)
    path = question_file(short, data_dir)
    if lenient:
        return _read(short, path, True, skipped)
    stat = path.stat()
    return list(_strict(short, str(path), stat.st_mtime_ns, stat.st_size))


# -- download ----------------------------------------------------------------------------------

_ZIP_SUBSET = {"real time visual understanding": "real", "sequential question answering": "sqa",
               "proactive output": "proactive"}


def _zip_subset(name: str) -> str:
    head = name.rsplit("_", 1)[0].lower()
    return _ZIP_SUBSET.get(head, "omni")


def download(out_dir: str | Path, *, token: str | None = None) -> Path:
    """Fetch the video zips of mjuicem/StreamingBench and lay them out as the reference's preprocess.sh
    does: each zip unpacked under a folder of its subset, then every video moved to
    videos/<sample folder>_<folder above it, spaces as underscores>.mp4 (the names the question files use)."""
    import shutil

    from omnibench.data._peer_hub import extract_zip, snapshot

    out = snapshot(HUB_REPO, out_dir, env=DIR_ENV, token=token)
    staging, videos = out / ".unpacked", out / "videos"
    videos.mkdir(exist_ok=True)
    for archive in sorted(out.rglob("*.zip")):
        if staging in archive.parents:
            continue
        for path in extract_zip(archive, staging / _zip_subset(archive.stem)):
            if path.suffix != ".mp4" or "__MACOSX" in path.parts:
                continue
            kind = path.parent.parent.name.replace(" ", "_")
            shutil.move(str(path), str(videos / f"{path.parent.name}_{kind}.mp4"))
        archive.unlink()
    shutil.rmtree(staging, ignore_errors=True)
    return out
