"""Leaderboard rows from run directories: one row per model, as CSV and Markdown.

Measured values are TaskResult.metrics[m].value (fractions 0-1), shown as percentages. The
published OmniMMI rows are reference rows: kept apart, marked "reported", never ranked with ours.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from omnibench.errors import DataError
from omnibench.results import Results, RunInfo, TaskResult

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
SECRET_NAME = re.compile(r"key|token|secret|password|credential", re.I)
MISSING = "–"          # no result for this model and task
UNABLE = "✗"           # reported: the paper marks the model unable to do the task


def task_order(task: str) -> tuple[int, str]:
    """OmniMMI tasks in the paper's order first, then the rest by name."""
    omnimmi = [t for _, t in OMNIMMI_COLUMNS]
    return (omnimmi.index(task), "") if task in omnimmi else (len(omnimmi), task)


def drop_secrets(value: Any) -> Any:
    """Settings with every key named like a secret removed, at any depth."""
    if isinstance(value, dict):
        return {k: drop_secrets(v) for k, v in value.items() if not SECRET_NAME.search(str(k))}
    if isinstance(value, list):
        return [drop_secrets(v) for v in value]
    return value


@dataclass
class LoadedRun:
    run_dir: Path
    info: RunInfo | None
    results: list[TaskResult]


def _shards(run_dir: Path, task: str, model: str) -> str | None:
    """'found/n' shard logs of this model, e.g. '4/4' (complete) or '2/4' (some missing)."""
    from omnibench.engine.evaluate import slug

    names = [p.name for p in (run_dir / "logs" / task).glob(f"{slug(model)}.shard*of*.jsonl")]
    found = [m for m in (re.fullmatch(r".*\.shard(\d+)of(\d+)\.jsonl", n) for n in names) if m]
    if not found:
        return None
    return f"{len({m.group(1) for m in found})}/{max(int(m.group(2)) for m in found)}"


def _read(path: Path, model: type, what: str):
    try:
        return model.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataError(f"unreadable {what}: {exc}", file=str(path)) from exc


def load_runs(run_dirs: list[Path]) -> list[LoadedRun]:
    """Each run's results.json (shards already merged by `omnibench score`), with run.json's settings."""
    runs = []
    for run_dir in map(Path, run_dirs):
        path = run_dir / "results.json"
        if not path.exists():
            raise DataError(f"no results in {run_dir}: score the run first (omnibench score {run_dir})",
                            file=str(path))
        results = _read(path, Results, "results").results
        info = _read(run_dir / "run.json", RunInfo, "run info") if (run_dir / "run.json").exists() else None
        enriched = []
        for r in results:
            settings = dict(r.settings)
            if info is not None:
                settings.setdefault("mode", info.mode)
                if info.limit is not None:
                    settings.setdefault("limit", info.limit)
            shards = _shards(run_dir, r.task, r.model)
            if shards:
                settings["shards"] = shards
            versions = {**(info.versions if info else {}), **r.versions}
            enriched.append(r.model_copy(update={"settings": drop_secrets(settings), "versions": versions}))
        runs.append(LoadedRun(run_dir, info, enriched))
    return runs


def merge_results(runs: list[LoadedRun]) -> list[TaskResult]:
    """A (task, model) pair found in two runs: the run given later wins."""
    merged: dict[tuple[str, str], TaskResult] = {}
    for run in runs:
        for r in run.results:
            merged[(r.task, r.model)] = r
    return list(merged.values())


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

    def rank_key(self) -> tuple[float, str]:
        cells = [self.cells.get(f"{t}.{r.headline}") for t, r in self.results.items()]
        heads = [c.value for c in cells if c is not None and c.value is not None]
        return (-(sum(heads) / len(heads)) if heads else 1.0, self.model)


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
        columns.append(Column(t, headline, True))
        columns += [Column(t, m, False) for m in SECONDARY_METRICS.get(t, ())
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


def cell_text(cell: Cell | None, with_counts: bool = True, with_ci: bool = True) -> str:
    if cell is None:
        return MISSING
    parts = [fmt_pct(cell.value), ci_text(cell) if with_ci else "", count_text(cell) if with_counts else ""]
    return " ".join(p for p in parts if p)


def column_label(col: Column) -> str:
    return f"{col.task} {col.metric}" if col.headline else f"{col.task} ({col.metric})"


def reported_text(value: str, column: str) -> str:
    if value:
        return value
    return UNABLE if column in ("pa", "pt") else MISSING


def run_settings(r: TaskResult) -> dict[str, str]:
    """What a reader needs to compare runs, as short strings (secrets dropped)."""
    s = drop_secrets(r.settings)
    shown = {k: s[k] for k in ("protocol", "mode", "shards", "limit", "num_frames", "fps") if s.get(k) is not None}
    return {"judge": r.judge_model or MISSING, "rtf": f"{r.rtf:.3g}" if r.rtf is not None else MISSING,
            "settings": ", ".join(f"{k}={v}" for k, v in shown.items()) or MISSING,
            "versions": ", ".join(f"{k} {v}" for k, v in sorted(r.versions.items())) or MISSING}


def _md(text: Any) -> str:
    """A Markdown table cell: one line, no raw HTML (model names are untrusted), pipes escaped."""
    return html.escape(" ".join(str(text).split()), quote=True).replace("|", "\\|")


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]


def markdown_table(results: list[TaskResult], *, title: str | None = None, include_reported: bool = False,
                   include_runs: bool = False, with_ci: bool = True) -> str:
    """Measured rows (value [95% CI] n=scored/samples), OmniMMI's columns, optionally the reported rows."""
    board = build_leaderboard(results, include_reported=include_reported)
    out = [f"# {_md(title)}", ""] if title else []
    if not board.rows:
        return "\n".join(out + ["(no results)"]) + "\n"
    out += _md_table(["model", *(column_label(c) for c in board.columns)],
                     [[r.model, *(cell_text(r.cells.get(c.key), c.headline, with_ci) for c in board.columns)]
                      for r in board.rows])
    out += ["", f"Percent. [95% bootstrap CI, clustered by video]; n = scored/samples; {MISSING} = not run."]
    if board.judges:
        out[-1] += " Judge: " + _md(", ".join(board.judges)) + "."
    if board.has_omnimmi:
        out += ["", "## OmniMMI columns (measured here)", ""]
        out += _md_table(["model", *OMNIMMI_LABELS.values()],
                         [[r.model, *(fmt_pct(r.omnimmi.get(c)) for c in OMNIMMI_LABELS)] for r in board.rows])
        out += ["", "avg w/o P = mean of our SG avg, AP, MD avg and SI."]
    if board.reported:
        out += ["", "## Reported by OmniMMI (reference rows, not measured here)", ""]
        out += _md_table(["source", "group", "model", "LLM", "frames", *OMNIMMI_LABELS.values()],
                         [["reported", row["group"], row["model"], row["llm"], row["num_frames"],
                           *(reported_text(row.get(c, ""), c) for c in OMNIMMI_LABELS)] for row in board.reported])
        out += ["", f"{UNABLE} = reported as unable to do the task; avg w/o P as published."]
    if include_runs:
        out += ["", "## Runs", ""]
        out += _md_table(["model", "task", "judge", "settings", "versions", "rtf"],
                         [[r.model, t, *(run_settings(res)[k] for k in ("judge", "settings", "versions", "rtf"))]
                          for r in board.rows for t, res in sorted(r.results.items(), key=lambda kv: task_order(kv[0]))])
    return "\n".join(out) + "\n"


def _csv_text(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading quote (model names are untrusted)."""
    if isinstance(value, str) and len(value) > 1 and value[0] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}"


def csv_rows(board: Leaderboard) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and rows of leaderboard.csv (schema: leaderboards/README.md)."""
    header = ["source", "model", "group", "llm", "num_frames"]
    for col in board.columns:
        header += [col.key, f"{col.key}.ci_low", f"{col.key}.ci_high", f"{col.key}.n"]
        if col.headline:
            header += [f"{col.task}.samples", f"{col.task}.errors", f"{col.task}.unscored"]
    header += [*OMNIMMI_LABELS, "judge_model", "settings", "versions"]
    rows: list[dict[str, Any]] = []
    for r in board.rows:
        row: dict[str, Any] = {"source": "measured", "model": r.model}
        for col in board.columns:
            c = r.cells.get(col.key)
            if c is None:
                continue
            row.update({col.key: _num(c.value), f"{col.key}.ci_low": _num(c.ci_low),
                        f"{col.key}.ci_high": _num(c.ci_high), f"{col.key}.n": c.n})
            if col.headline:
                row.update({f"{col.task}.samples": c.n_samples, f"{col.task}.errors": c.n_errors,
                            f"{col.task}.unscored": c.n_unscored})
        if board.has_omnimmi:
            row.update({k: _num(v) for k, v in r.omnimmi.items()})
        row["judge_model"] = ";".join(sorted({x.judge_model for x in r.results.values() if x.judge_model}))
        row["settings"] = json.dumps({t: drop_secrets(x.settings) for t, x in r.results.items()},
                                     sort_keys=True, default=str)
        row["versions"] = json.dumps({t: x.versions for t, x in r.results.items()}, sort_keys=True)
        rows.append(row)
    for rep in board.reported:
        rows.append({"source": "reported", **{k: rep.get(k, "") for k in REPORTED_FIELDS}})
    return header, rows


def csv_text(board: Leaderboard) -> str:
    header, rows = csv_rows(board)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="raise", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_text(v) for k, v in row.items()})
    return out.getvalue()
