"""Leaderboard rows from run directories: one row per model, with each column's definition.

Measured values are TaskResult.metrics[m].value (fractions 0-1), shown as percentages. The
published OmniMMI rows are reference rows: kept apart, marked "reported", never ranked with ours.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from omnibench.errors import DataError
from omnibench.report.definitions import UNDEFINED, metric_definition
from omnibench.results import Results, RunInfo, TaskResult
from omnibench.safejson import iter_lines, read_text

# OmniMMI's paper columns, in its order: (column, our task)
OMNIMMI_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sg_avg", "omnimmi_sg"), ("ap", "omnimmi_ap"), ("md_avg", "omnimmi_md"),
    ("si", "omnimmi_si"), ("pa", "omnimmi_pa"), ("pt", "omnimmi_pt"),
)
OMNIMMI_LABELS = {"sg_avg": "SG avg", "ap": "AP", "md_avg": "MD avg", "si": "SI", "pa": "PA", "pt": "PT",
                  "avg_wo_p": "avg w/o P"}
AVG_WO_P_PARTS = ("sg_avg", "ap", "md_avg", "si")      # the paper's average leaves out PA and PT
REPORTED_FIELDS = ("group", "model", "llm", "num_frames", *OMNIMMI_LABELS)
# a second number where the headline alone hides something (an alerting model that always speaks)
SECONDARY_METRICS: dict[str, tuple[str, ...]] = {
    "omnimmi_pa": ("precision",), "synth_pa": ("precision",),
    **{t: ("noise_replied", "followup_missed") for t in ("synth_noise", "noise_rejection")},
    **{t: ("never_started", "false_stop") for t in ("synth_stop", "stop_turn")},
}
MISSING = "–"          # no result for this model and task
UNABLE = "✗"           # reported: the paper marks the model unable to do the task


def task_order(task: str) -> tuple[int, str]:
    """OmniMMI tasks in the paper's order first, then the rest by name."""
    omnimmi = [t for _, t in OMNIMMI_COLUMNS]
    return (omnimmi.index(task), "") if task in omnimmi else (len(omnimmi), task)


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


def _read(path: Path, model: type, what: str):
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


def reported_rows() -> list[dict[str, str]]:
    """OmniMMI's published leaderboard (percentages as published; empty PA/PT: unable)."""
    text = (resources.files("omnibench.data.omnimmi_files") / "reported_leaderboard.csv").read_text(encoding="utf-8")
    return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


@dataclass
class Column:
    task: str
    metric: str
    headline: bool
    definition: str = UNDEFINED

    @property
    def key(self) -> str:
        return f"{self.task}.{self.metric}"


@dataclass
class Cell:
    """One task's number for one model, in percent."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    n_samples: int
    n_errors: int
    n_unscored: int


@dataclass
class ModelRow:
    model: str
    cells: dict[str, Cell]                         # Column.key -> cell
    results: dict[str, TaskResult]                 # task -> result
    omnimmi: dict[str, float | None] = field(default_factory=dict)   # paper columns, percent

    @property
    def score(self) -> float | None:
        """The ranking score: mean of this model's headline percentages over the tasks it has a value for."""
        cells = [self.cells.get(f"{t}.{r.headline}") for t, r in self.results.items()]
        heads = [c.value for c in cells if c is not None and c.value is not None]
        return sum(heads) / len(heads) if heads else None

    def rank_key(self) -> tuple[float, str]:
        return (-self.score if self.score is not None else 1.0, self.model)


@dataclass
class Leaderboard:
    columns: list[Column]
    rows: list[ModelRow]
    has_omnimmi: bool
    reported: list[dict[str, str]]

    @property
    def judges(self) -> list[str]:
        return sorted({r.judge_model for row in self.rows for r in row.results.values() if r.judge_model})


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


def build_leaderboard(results: list[TaskResult], include_reported: bool | None = None) -> Leaderboard:
    """Rows ranked by the mean of the headline percentages each model has."""
    tasks = sorted({r.task for r in results}, key=task_order)
    columns: list[Column] = []
    for t in tasks:
        heads = [r.headline for r in results if r.task == t]
        headline = max(sorted(set(heads)), key=heads.count)
        docs = {k: v for r in results if r.task == t for k, v in r.metric_docs.items()}   # later runs win
        columns.append(Column(t, headline, True, metric_definition(headline, docs)))
        columns += [Column(t, m, False, metric_definition(m, docs)) for m in SECONDARY_METRICS.get(t, ())
                    if m != headline and any(m in r.metrics for r in results if r.task == t)]
    by_model: dict[str, dict[str, TaskResult]] = {}
    for r in results:
        by_model.setdefault(r.model, {})[r.task] = r
    has_omnimmi = any(t.startswith("omnimmi_") for t in tasks)
    rows = []
    for model, per_task in by_model.items():
        cells = {}
        for col in columns:
            r = per_task.get(col.task)
            if r is None:
                continue
            m = r.metrics.get(col.metric)
            cells[col.key] = Cell(_pct(m.value if m else None), _pct(m.ci_low if m else None),
                                  _pct(m.ci_high if m else None), m.n if m else 0, r.n_samples, r.n_errors,
                                  r.n_unscored)
        row = ModelRow(model, cells, per_task)
        if has_omnimmi:
            row.omnimmi = omnimmi_columns(per_task)
        rows.append(row)
    rows.sort(key=ModelRow.rank_key)
    want_reported = has_omnimmi if include_reported is None else include_reported
    return Leaderboard(columns, rows, has_omnimmi, reported_rows() if want_reported else [])


def omnimmi_columns(per_task: dict[str, TaskResult]) -> dict[str, float | None]:
    """SG avg .. PT from our headline values; avg w/o P is the mean of our SG, AP, MD and SI."""
    out: dict[str, float | None] = {}
    for column, task in OMNIMMI_COLUMNS:
        r = per_task.get(task)
        m = r.metrics.get(r.headline) if r else None
        out[column] = _pct(m.value) if m else None
    parts = [out[c] for c in AVG_WO_P_PARTS]
    out["avg_wo_p"] = sum(p for p in parts if p is not None) / len(parts) if None not in parts else None
    return out


def fmt_pct(x: float | None, digits: int = 2) -> str:
    return MISSING if x is None else f"{x:.{digits}f}"


def ci_text(cell: Cell) -> str:
    if cell.value is None or cell.ci_low is None or cell.ci_high is None:
        return ""
    return f"[{cell.ci_low:.1f}, {cell.ci_high:.1f}]"


def count_text(cell: Cell) -> str:
    """n = scored/samples, then errors and unscored when there are any."""
    extra = [f"{k} {label}" for k, label in ((cell.n_errors, "err"), (cell.n_unscored, "unscored")) if k]
    return f"n={cell.n}/{cell.n_samples}" + (f" ({', '.join(extra)})" if extra else "")


def reported_text(value: str, column: str) -> str:
    if value:
        return value
    return UNABLE if column in ("pa", "pt") else MISSING


def rtf_text(rtf: float | None) -> str:
    """Compute seconds per stream second, readable: 0.42x, 3.1x, <0.01x (not 2e-06)."""
    if rtf is None:
        return MISSING
    if rtf < 0.01:
        return "<0.01x"
    return f"{rtf:.2f}x" if rtf < 10 else f"{rtf:.0f}x"


def run_settings(r: TaskResult) -> dict[str, str]:
    """What a reader needs to compare runs, as short strings (secrets dropped)."""
    s = drop_secrets(r.settings)
    shown = {k: s[k] for k in ("protocol", "mode", "shards", "limit", "num_frames", "fps") if s.get(k) is not None}
    return {"judge": r.judge_model or MISSING, "rtf": rtf_text(r.rtf),
            "settings": ", ".join(f"{k}={v}" for k, v in shown.items()) or MISSING,
            "versions": ", ".join(f"{k} {v}" for k, v in sorted(r.versions.items())) or MISSING}
