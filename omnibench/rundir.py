"""The run directory: paths, stored samples, specs, logs and their layout rules.

Layout:
    RUN_DIR/run.json                                        RunSpec of the latest run (no secrets)
    RUN_DIR/specs/{slug(label)}.json                        the latest RunSpec of each label
    RUN_DIR/specs/{slug(label)}/{run_id}.json               the RunSpec that produced each run id
    RUN_DIR/samples/{task}/{slug(label)}.jsonl              the Samples a label evaluated
    RUN_DIR/logs/{task}/{slug(label)}.shard{i}of{n}.jsonl   SampleRecords
    RUN_DIR/scores/{task}/{slug(label)}.jsonl               SampleScores
    RUN_DIR/results.json                                    Results

Identity lives in omnibench.identity (names re-exported here). Records of one (task, label) must
come from one run id and one shard layout: `run_logs` collects them and `check_one_run` refuses
anything else, naming the run ids and how they differ.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnibench.cache import stable_hash
from omnibench.data.schema import Sample
from omnibench.errors import ConfigError, DataError
from omnibench.fingerprint import file_digest, path_fingerprint
from omnibench.identity import (  # noqa: F401 - re-exported: one import home for run-directory code
    PATH_SETTINGS,
    SCORING_ONLY,
    RunSpec,
    TaskSpec,
    check_label,
    libraries,
    model_label,
    public_settings,
    public_url,
    secret_values,
    split_settings,
    versions,
)
from omnibench.sanitize import SECRET_NAMES, is_secret  # noqa: F401 - the one secret rule, re-exported

fingerprint_path = path_fingerprint         # a checkpoint's weights: every byte, cached by stat
_SHARD_FILE = re.compile(r"(?P<label>.+)\.shard(?P<i>\d+)of(?P<n>\d+)\.jsonl")


def slug(label: str) -> str:
    """A file name for a label. Changed or long labels get a hash suffix, so two labels never share one."""
    clean = re.sub(r"[^A-Za-z0-9._=-]+", "_", label)
    if clean == label and len(label) <= 100:
        return label
    return f"{clean[:80]}-{hashlib.sha256(label.encode()).hexdigest()[:12]}"


def sample_hash(sample: Sample) -> str:
    """Hash of what a sample asks (spoken-query audio paths left out: they depend on the cache dir)."""
    data = sample.model_dump(mode="json")
    if data["video"].get("fingerprint") is None:       # samples hashed before videos were: same hash
        data["video"].pop("fingerprint", None)
    for turn in data.get("turns", []):
        turn.pop("audio", None)
    return stable_hash(data)[:16]


def check_unique_ids(task: str, samples: list[Sample]) -> None:
    counts: dict[str, int] = {}
    for sample in samples:
        counts[sample.id] = counts.get(sample.id, 0) + 1
    dupes = sorted(i for i, n in counts.items() if n > 1)
    if dupes:
        raise DataError(f"task {task}: sample ids must be unique; repeated: {', '.join(dupes[:10])}")


def with_video_fingerprints(samples: list[Sample], root: str | Path | None) -> list[Sample]:
    """The samples with each video's content fingerprint (the video and its clips, every byte, cached by
    stat), so `sample_hash` changes when a video is swapped at the same path. Missing files count as absent."""
    if root is None:
        return samples
    from omnibench.engine.offline import resolve_video

    def fingerprint(sample: Sample) -> str | None:
        parts = {}
        for relative in (sample.video.path, *sorted(sample.video.clips.values())):
            try:
                path = resolve_video(Path(root), relative)
            except DataError:
                continue
            if path.is_file():
                parts[relative] = file_digest(path)
        return stable_hash(parts)[:16] if parts else None

    return [s.model_copy(update={"video": s.video.model_copy(update={"fingerprint": fingerprint(s)})})
            for s in samples]


# -- samples --------------------------------------------------------------------------------------

def samples_path(run_dir: Path, task: str, label: str) -> Path:
    return Path(run_dir) / "samples" / task / f"{slug(label)}.jsonl"


def write_samples(path: Path, samples: list[Sample]) -> None:
    """The samples of a task, stored once so score/report need neither data nor task code."""
    from omnibench.safejson import read_text
    from omnibench.sanitize import dump_json  # invalid Unicode in annotations is not fatal

    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(dump_json(s) + "\n" for s in samples)
    if path.is_file() and read_text(path) == text:
        return
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def load_samples(run_dir: Path, task: str, label: str | None = None) -> list[Sample]:
    """The samples `label` evaluated (run directories made before samples were kept per label: the
    task's one shared file)."""
    from omnibench.safejson import iter_jsonl

    own = samples_path(run_dir, task, label) if label is not None else None
    path = own if own is not None and own.exists() else Path(run_dir) / "samples" / f"{task}.jsonl"
    if not path.exists():
        raise DataError(f"no samples stored for task {task}: this run directory is damaged or was not made "
                        f"by `omnibench run`; rerun the run command into it (finished samples are kept)",
                        file=str(own or path))
    out = []
    for number, data in iter_jsonl(path):
        try:
            out.append(Sample.model_validate(data))
        except ValueError as exc:
            raise DataError(f"line {number}: bad sample: {exc}", file=str(path)) from exc
    check_unique_ids(task, out)
    return out


# -- tasks and specs ------------------------------------------------------------------------------

def build_task(name: str, settings: dict[str, Any]):
    """Build a task, passing only the settings its factory accepts (data_dir, judge, ...).

    The settings passed are kept on the task (`build_settings`): run.json records them and
    `score` rebuilds the task with them."""
    import inspect
    import json

    from omnibench import registry

    factory = registry.tasks(include_hidden=True)[name].factory
    accepted = inspect.signature(factory).parameters
    used = {k: v for k, v in settings.items() if k in accepted and v is not None}
    task = registry.get_task(name, **used)
    task.build_settings = json.loads(json.dumps(used, default=str))
    return task


def spec_path(run_dir: Path, label: str, run_id: str | None = None) -> Path:
    folder = Path(run_dir) / "specs"
    return folder / slug(label) / f"{run_id}.json" if run_id else folder / f"{slug(label)}.json"


def write_spec(run_dir: Path, spec: RunSpec) -> None:
    """run.json and specs/{label}.json (the latest), and specs/{label}/{run id}.json for each task's run id
    (kept: they say how two run ids differ)."""
    from omnibench.sanitize import dump_json

    text = dump_json(spec, indent=2)
    paths = [Path(run_dir) / "run.json", spec_path(run_dir, spec.model)]
    paths += [spec_path(run_dir, spec.model, spec.run_id(task)) for task in spec.task_specs]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)


def read_spec(run_dir: Path, label: str, run_id: str | None = None) -> RunSpec | None:
    """The spec that produced `run_id` for this label, or its latest one (specs/…, else run.json when its
    label matches)."""
    from omnibench.safejson import read_text

    candidates = [spec_path(run_dir, label, run_id)] if run_id else []
    candidates += [spec_path(run_dir, label), Path(run_dir) / "run.json"]
    for path in candidates:
        if path.exists():
            try:
                spec = RunSpec.model_validate_json(read_text(path))
            except ValueError:
                continue                   # an older run.json (RunInfo): no identity recorded
            if spec.model == label and (run_id is None or any(spec.run_id(t) == run_id for t in spec.task_specs)):
                return spec
    return None


# -- logs -----------------------------------------------------------------------------------------

def log_path(run_dir: Path, task: str, label: str, shard: tuple[int, int]) -> Path:
    return Path(run_dir) / "logs" / task / f"{slug(label)}.shard{shard[0]}of{shard[1]}.jsonl"


def log_layouts(run_dir: Path, task: str, label: str | None = None) -> dict[int, list[Path]]:
    """{n: the shard files of layout n} under logs/{task} (of one label, or of every label)."""
    out: dict[int, list[Path]] = {}
    for path in sorted((Path(run_dir) / "logs" / task).glob("*.jsonl")):
        match = _SHARD_FILE.fullmatch(path.name)
        if match and (label is None or match.group("label") == slug(label)):
            out.setdefault(int(match.group("n")), []).append(path)
    return out


@dataclass
class LabelLogs:
    """The logs of one (task, label): the latest record of each sample, where they came from."""

    label: str
    records: dict = field(default_factory=dict)         # sample id -> latest SampleRecord
    run_ids: set = field(default_factory=set)           # of the latest records (None: logged before run ids)
    layouts: set = field(default_factory=set)           # n of each shard file holding a latest record


def run_logs(run_dir: Path, task: str) -> dict[str, LabelLogs]:
    """{label: LabelLogs} of every label logged for `task` (a retried sample: its newest record)."""
    from omnibench.engine.eventlog import EventLog, record_order

    found: dict[str, dict[str, tuple[Any, int]]] = {}
    for n, paths in log_layouts(run_dir, task).items():
        for path in paths:
            for record in EventLog(path).records():
                mine = found.setdefault(record.model, {})
                old = mine.get(record.sample_id)
                if old is None or record_order(record) >= record_order(old[0]):   # never by host clocks
                    mine[record.sample_id] = (record, n)
    out = {}
    for label, latest in found.items():
        logs = LabelLogs(label, {sid: r for sid, (r, _) in latest.items()})
        logs.run_ids = {r.run_id for r, _ in latest.values()}
        logs.layouts = {n for _, n in latest.values()}
        out[label] = logs
    return out


def check_one_run(run_dir: Path, task: str, logs: LabelLogs) -> None:
    """Refuse records of one (task, label) that come from several run ids or shard layouts: they are not
    one run, and a score over them would mix answers silently."""
    if len(logs.layouts) > 1:
        raise ConfigError(f"{run_dir}: {logs.label} · {task} has answers from shard layouts "
                          f"{', '.join(f'n={n}' for n in sorted(logs.layouts))}; a run directory takes one "
                          "layout. Rerun with one --shard i/n for every shard, into a new --out.")
    if len(logs.run_ids) > 1:
        ids = sorted(logs.run_ids, key=str)
        counts = {i: sum(r.run_id == i for r in logs.records.values()) for i in ids}
        specs = {i: spec for i in ids if i and (spec := read_spec(run_dir, logs.label, i)) is not None}
        first, *rest = ids
        why = [f"{first} vs {other}: {', '.join(specs[first].differences(specs[other], task)) or 'unknown'}"
               for other in rest if first in specs and other in specs]
        raise ConfigError(f"{run_dir}: {logs.label} · {task} mixes answers of {len(ids)} runs: "
                          + ", ".join(f"{i} ({counts[i]} sample(s))" for i in ids)
                          + (f"; they differ in {'; '.join(why)}" if why else "")
                          + ". Rerun the samples of the other run(s) with `omnibench run ... --rerun-changed`, "
                          "or keep the runs apart (a new --out, or --label).")
