"""The OmniMMI benchmark (CVPR 2025): annotations, where the videos are, download and statistics.

The six annotation files ship inside the package (omnimmi_files/, MIT); the videos and pre-cut
clips (tens of GB) come from the `ColorfulAI/OmniMMI` dataset on the Hugging Face Hub, laid out
as `DIR/videos/<name>.mp4` and `DIR/clips/<stem>_<end>.mp4` beside the JSON files.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from pydantic import ValidationError

from omnibench.data._omnimmi_records import RECORD_TYPES, to_sample
from omnibench.data.schema import Sample
from omnibench.errors import DataError

TASK_FILES = {
    "sg": "dynamic_state_grounding.json",
    "ap": "action_prediction.json",
    "md": "multiturn_dependency_reasoning.json",
    "si": "speaker_identification.json",
    "pa": "proactive_alerting.json",
    "pt": "proactive_turntaking.json",
}
HUB_REPO = "ColorfulAI/OmniMMI"
DIR_ENV = "OMNIBENCH_OMNIMMI_DIR"
VIDEO_HELP = (
    "Get them with `omnibench data download omnimmi --out DIR` (needs the Hugging Face Hub and the "
    "huggingface_hub package), or copy videos/ and clips/ of the ColorfulAI/OmniMMI dataset into DIR; "
    f"then pass --data-dir DIR or set {DIR_ENV}=DIR."
)


def annotations_dir() -> Path:
    """The packaged copy of the six annotation files."""
    return Path(str(files("omnibench.data.omnimmi_files")))


def _task_code(code: str) -> str:
    short = code.removeprefix("omnimmi_").lower()
    if short not in TASK_FILES:
        raise DataError(f"unknown OmniMMI task {code!r}; known: {', '.join(TASK_FILES)}")
    return short


def annotation_file(code: str, data_dir: str | Path | None = None) -> Path:
    """The JSON file of task `code`: in `data_dir` when it has one, else the packaged copy.

    A directory holding only videos/ and clips/ is valid, so a missing file falls back to the
    packaged annotations (the same published files).
    """
    name = TASK_FILES[_task_code(code)]
    if data_dir is not None:
        candidate = Path(data_dir).expanduser() / name
        if candidate.exists():
            return candidate
        if not Path(data_dir).expanduser().is_dir():
            raise DataError(f"OmniMMI data directory {data_dir} does not exist")
    return annotations_dir() / name


def _read_json_list(path: Path) -> list:
    from omnibench.safejson import load_json  # bad bytes, huge ints, deep nesting: DataError with the line

    data = load_json(path, nonfinite=True)     # NaN/inf: the record validation names record and field
    if not isinstance(data, list):
        raise DataError(f"must be a JSON list of records, got {type(data).__name__}", file=str(path))
    if not data:
        raise DataError("holds no records", file=str(path))
    return data


def _field_name(loc: tuple) -> str:
    """('qa', 2, 'timestamp') -> 'qa[2].timestamp'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "record"


_KIND_NAMES = {"string": "a string", "float": "a number", "int": "a number", "list": "a list",
               "dict": "an object", "model": "an object"}


def _record_error(exc: ValidationError, path: Path, index: int) -> DataError:
    """The first problem pydantic found, phrased for a person: what is wrong with which field."""
    first = exc.errors()[0]
    field = _field_name(tuple(first.get("loc", ())))
    kind = str(first.get("type", ""))
    if kind == "missing":
        message = "missing field"
    elif kind.endswith("_type"):
        wanted = _KIND_NAMES.get(kind.removesuffix("_type").removesuffix("_attributes"), kind.removesuffix("_type"))
        message = f"expected {wanted}, got {type(first.get('input')).__name__} {first.get('input')!r:.60}"
    elif kind in ("too_short", "string_too_short"):
        message = "must not be empty" if first.get("ctx", {}).get("min_length") == 1 else first["msg"]
    else:
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    more = len(exc.errors()) - 1
    return DataError(message + (f" (and {more} more problem(s) in this record)" if more else ""),
                     file=str(path), index=index, field=field)


def load(code: str, data_dir: str | Path | None = None, *, lenient: bool = False,
         skipped: list[DataError] | None = None, ask_times: str = "ours", si_input: str = "causal",
         missing_clip: str = "cut") -> list[Sample]:
    """The samples of OmniMMI task `code` (sg, ap, md, si, pa, pt; 'omnimmi_' prefix accepted).

    Strict by default: the first unusable record raises a DataError naming file, record and field.
    `lenient=True` skips such records instead, appends their errors to `skipped` and warns once.
    `ask_times`, `si_input` and `missing_clip` choose ours or the reference's ask times, SI offline
    input and missing-clip rule (see _omnimmi_records.to_sample and omnibench.reference).
    """
    short = _task_code(code)
    path = annotation_file(short, data_dir)
    record_type = RECORD_TYPES[short]
    samples: list[Sample] = []
    errors: list[DataError] = []
    for index, raw in enumerate(_read_json_list(path)):
        try:
            if not isinstance(raw, dict):
                raise DataError(f"must be a JSON object, got {type(raw).__name__}", file=str(path), index=index)
            try:
                samples.append(to_sample(short, index, record_type.model_validate(raw),
                                          ask_times=ask_times, si_input=si_input, missing_clip=missing_clip))
            except ValidationError as exc:
                raise _record_error(exc, path, index) from exc
        except DataError as err:
            if not lenient:
                raise
            errors.append(err)
    if errors:
        if skipped is not None:
            skipped.extend(errors)
        warnings.warn(f"OmniMMI {short}: skipped {len(errors)} unusable record(s) of {len(samples) + len(errors)} "
                      f"in {path}; first: {errors[0]}", stacklevel=2)
    return samples


def _default_dir() -> Path:
    from omnibench.cache import cache_dir

    return cache_dir() / "omnimmi"


def _has_videos(root: Path) -> bool:
    return (root / "videos").is_dir()


def video_root(data_dir: str | Path | None = None) -> Path | None:
    """The directory holding videos/ (and clips/), or None when no videos are present.

    Looked for in `data_dir` (an explicit choice wins), then $OMNIBENCH_OMNIMMI_DIR, then
    ~/.cache/omnibench/omnimmi (under $OMNIBENCH_CACHE when set).
    """
    env = os.environ.get(DIR_ENV)
    for candidate in (data_dir, env, _default_dir()):
        if candidate and _has_videos(Path(candidate).expanduser()):
            return Path(candidate).expanduser()
    return None


def require_videos(data_dir: str | Path | None = None) -> Path:
    """Like video_root, but a missing video directory is an error that says how to get one."""
    root = video_root(data_dir)
    if root is None:
        looked = [str(Path(p).expanduser()) for p in (data_dir, os.environ.get(DIR_ENV), _default_dir()) if p]
        raise DataError(f"OmniMMI videos not found (looked for videos/ in: {', '.join(looked)}). {VIDEO_HELP}")
    return root


def download(out_dir: str | Path, *, token: str | None = None) -> Path:
    """Fetch the whole OmniMMI dataset (annotations, videos/, clips/) from the Hugging Face Hub."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise DataError("downloading OmniMMI needs the huggingface_hub package: pip install huggingface_hub") from exc
    out = Path(out_dir).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create download directory {out}: {exc.strerror or exc}") from exc
    try:
        snapshot_download(repo_id=HUB_REPO, repo_type="dataset", local_dir=str(out), token=token)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # offline, DNS, HTTP 401/404, disk full: all end the same way for the user
        raise DataError(
            f"could not download {HUB_REPO} (a Hugging Face Hub dataset) into {out} "
            f"({type(exc).__name__}: {exc}). Check the network (and HF_HUB_OFFLINE, HF_ENDPOINT, a token "
            f"for gated access), or copy videos/ and clips/ into a directory yourself and pass --data-dir "
            f"or set {DIR_ENV}."
        ) from exc
    return out


@dataclass(frozen=True)
class TaskStats:
    task: str  # "SG", "AP", ... as in the paper's tables
    records: int
    queries: int
    videos: int
    mean_turns: float
    mean_video_s: float | None = None  # None when no videos are present
    videos_found: int = 0  # how many of `videos` the duration mean covers


def _duration_s(path: Path) -> float | None:
    """Container duration from metadata only (no decoding); None when unreadable."""
    import av

    try:
        with av.open(str(path)) as container:
            if container.duration:
                return container.duration / 1_000_000  # AV_TIME_BASE
            stream = container.streams.video[0] if container.streams.video else None
            if stream is not None and stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
    except (OSError, ValueError, av.FFmpegError):
        return None
    return None


def stats(data_dir: str | Path | None = None, *, lenient: bool = False) -> list[TaskStats]:
    """Records, queries, distinct videos and mean turns per task (mean duration when videos are present)."""
    root = video_root(data_dir)
    rows = []
    for code in TASK_FILES:
        samples = load(code, data_dir, lenient=lenient)
        videos = {s.video.path for s in samples}
        queries = sum(len(s.turns) for s in samples)
        durations = []
        if root is not None:
            for rel in sorted(videos):
                path = root / rel
                if path.is_file() and (seconds := _duration_s(path)) is not None:
                    durations.append(seconds)
        rows.append(TaskStats(
            task=code.upper(), records=len(samples), queries=queries, videos=len(videos),
            mean_turns=queries / max(1, len(samples)),
            mean_video_s=sum(durations) / len(durations) if durations else None,
            videos_found=len(durations),
        ))
    return rows


def format_stats(rows: list[TaskStats]) -> str:
    """A plain aligned table, one row per task."""
    header = ("task", "records", "queries", "videos", "mean turns", "mean video s")
    body = [
        (r.task, str(r.records), str(r.queries), str(r.videos), f"{r.mean_turns:.2f}",
         "-" if r.mean_video_s is None else f"{r.mean_video_s:.2f} ({r.videos_found}/{r.videos})")
        for r in rows
    ]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]

    def fmt(line):
        return "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))

    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *(fmt(line) for line in body)])
