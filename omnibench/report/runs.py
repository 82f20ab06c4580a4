"""Scored run directories read for a report: results.json with run.json's settings, shards found,
partial runs and merged labels warned about, and whether results.json still shows the logs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnibench.errors import DataError
from omnibench.results import Results, RunInfo, TaskResult
from omnibench.safejson import iter_lines, read_text


def drop_secrets(value: Any) -> Any:
    """Settings with every key named like a secret removed, at any depth."""
    if isinstance(value, dict):
        from omnibench.rundir import is_secret  # the one secret rule: whole names, never `max_tokens`

        return {k: drop_secrets(v) for k, v in value.items() if not is_secret(str(k))}
    if isinstance(value, list):
        return [drop_secrets(v) for v in value]
    return value


@dataclass
class LoadedRun:
    run_dir: Path
    info: RunInfo | None
    results: list[TaskResult]
    limit: int | None = None
    warnings: list[str] = field(default_factory=list)


def _run_json(run_dir: Path) -> tuple[RunInfo | None, int | None]:
    """run.json read tolerantly (its layout grows): RunInfo if it still fits, and the --limit it recorded."""
    path = run_dir / "run.json"
    if not path.exists():
        return None, None
    try:
        raw = json.loads(read_text(path))
    except ValueError as exc:
        raise DataError(f"unreadable run info: {exc}", file=str(path)) from exc
    try:
        info = RunInfo.model_validate(raw)
    except ValueError:
        info = None
    limit = _find(raw, "limit")
    return info, limit if isinstance(limit, int) and not isinstance(limit, bool) else None


def _find(value: Any, key: str) -> Any:
    """The first value under `key` at any depth of a JSON object."""
    if isinstance(value, dict):
        if value.get(key) is not None:
            return value[key]
        for v in value.values():
            found = _find(v, key)
            if found is not None:
                return found
    return None


def _count_lines(path: Path) -> int | None:
    if not path.exists():
        return None
    return sum(1 for _, line in iter_lines(path) if line.strip())


def _shards(run_dir: Path, task: str, model: str) -> str | None:
    """'done/n' shards of this model, e.g. '4/4' (complete) or '2/4' (some missing). A shard is done when
    its log is there or when none of the task's samples (samples/{task}.jsonl) falls in it: it had nothing to do."""
    from omnibench.engine.evaluate import slug
    from omnibench.engine.shard import shard_of

    names = [p.name for p in (run_dir / "logs" / task).glob(f"{slug(model)}.shard*of*.jsonl")]
    found = [m for m in (re.fullmatch(r".*\.shard(\d+)of(\d+)\.jsonl", n) for n in names) if m]
    if not found:
        return None
    n = max(int(m.group(2)) for m in found)
    done = {int(m.group(1)) for m in found}
    ids = _sample_ids(run_dir / "samples" / f"{task}.jsonl")
    if ids is not None:
        done |= set(range(n)) - {shard_of(i, n) for i in ids}
    return f"{len(done)}/{n}"


def _sample_ids(path: Path) -> list[str] | None:
    """The ids of a run's stored samples of a task; None when the file is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as fh:
            return [str(json.loads(line)["id"]) for line in fh if line.strip()]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read(path: Path, model: type[Results], what: str) -> Results:
    try:
        return model.model_validate_json(read_text(path))
    except ValueError as exc:
        raise DataError(f"unreadable {what}: {exc}", file=str(path)) from exc


def stale_reason(run_dir: Path) -> str | None:
    """Why the run's results.json does not show its logs (none yet, or logs written after it), else None."""
    results = Path(run_dir) / "results.json"
    logs = [p for p in (Path(run_dir) / "logs").glob("*/*.jsonl") if p.is_file()]
    if not logs:
        return None
    if not results.exists():
        return "it has event logs and no results.json"
    newest = max(logs, key=lambda p: p.stat().st_mtime_ns)
    if newest.stat().st_mtime_ns > results.stat().st_mtime_ns:
        return f"its logs ({newest.relative_to(run_dir)}) are newer than results.json"
    return None


def _check_one_run_each(run_dir: Path, results: list[TaskResult]) -> None:
    """Every (task, label) of the results comes from one run id and one shard layout (rundir.check_one_run)."""
    from omnibench.rundir import check_one_run, run_logs

    for task in sorted({r.task for r in results}):
        logs = run_logs(run_dir, task)
        for r in results:
            if r.task == task and r.model in logs:
                check_one_run(run_dir, task, logs[r.model])


def _samples_count(run_dir: Path, task: str, label: str) -> int | None:
    from omnibench.rundir import samples_path

    own = samples_path(run_dir, task, label)
    return _count_lines(own if own.exists() else run_dir / "samples" / f"{task}.jsonl")


def load_runs(run_dirs: list[Path]) -> list[LoadedRun]:
    """Each run's results.json (shards already merged by `omnibench score`), with run.json's settings.
    A (task, label) whose logs mix run ids or shard layouts is refused (they are not one run)."""
    runs = []
    for run_dir in map(Path, run_dirs):
        path = run_dir / "results.json"
        if not run_dir.is_dir():
            raise DataError(f"no run directory {run_dir}: give folders written by `omnibench run`", file=str(run_dir))
        if not path.exists():
            raise DataError(f"no results in {run_dir}: score the run first (omnibench score {run_dir})",
                            file=str(path))
        results = _read(path, Results, "results").results
        _check_one_run_each(run_dir, results)
        info, limit = _run_json(run_dir)
        enriched, warnings = [], []
        limited: dict[str, list[str]] = {}
        for r in results:
            settings = dict(r.settings)
            if info is not None:
                settings.setdefault("mode", info.mode)
            if limit is not None:
                settings.setdefault("limit", limit)
            shards = _shards(run_dir, r.task, r.model)
            if shards:
                settings["shards"] = shards
                found, of = shards.split("/")
                if found != of:
                    warnings.append(f"{r.model} · {r.task}: partial run, only {shards} shard logs found in {run_dir}")
            in_task = _samples_count(run_dir, r.task, r.model)
            if limit is not None:
                limited.setdefault(r.model, []).append(r.task)
                if in_task and r.n_samples < in_task:
                    warnings.append(f"{r.model} · {r.task}: {r.n_samples} of {in_task} samples logged")
            elif in_task is not None and r.n_samples < in_task:
                warnings.append(f"{r.model} · {r.task}: partial run, {r.n_samples} of {in_task} samples logged "
                                f"(rerun the same command to finish it)")
            versions = {**(info.versions if info else {}), **r.versions}
            enriched.append(r.model_copy(update={"settings": drop_secrets(settings), "versions": versions}))
        warnings[:0] = [f"{model}: partial run, --limit {limit} (first {limit} samples of each task; "
                        f"{len(tasks)} task(s) in {run_dir})" for model, tasks in limited.items()]
        runs.append(LoadedRun(run_dir, info, enriched, limit, warnings))
    return runs


def merge_results(runs: list[LoadedRun]) -> list[TaskResult]:
    """A (task, model) pair found in two runs: the run given later wins (merge_warnings says so)."""
    merged: dict[tuple[str, str], TaskResult] = {}
    for run in runs:
        for r in run.results:
            merged[(r.task, r.model)] = r
    return list(merged.values())


def merge_warnings(runs: list[LoadedRun]) -> list[str]:
    """Every run's own warnings, then one line per (task, model) label found in more than one run."""
    out = [w for run in runs for w in run.warnings]
    seen: dict[tuple[str, str], Path] = {}
    for run in runs:
        for r in run.results:
            key = (r.task, r.model)
            if key in seen and seen[key] != run.run_dir:
                out.append(f"{r.model} · {r.task}: found in {seen[key]} and {run.run_dir} under the same model "
                           f"label; the later ({run.run_dir}) is shown. Give runs distinct labels to compare them.")
            seen[key] = run.run_dir
    return out


def load_results(run_dirs: list[Path]) -> list[TaskResult]:
    """Results of several runs (each run's shards already merged into its results.json)."""
    return merge_results(load_runs(run_dirs))
