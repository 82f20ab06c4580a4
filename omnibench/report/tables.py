"""Leaderboard rows from task results: one row per model, with each column's definition.

Measured values are TaskResult.metrics[m].value (fractions 0-1), shown as percentages. Published
rows of peer benchmarks (report.published) are reference rows: kept apart, marked, never ranked.
Which tasks can rank models, the rank score and the comparison of neighbours: report.ranking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omnibench.report.definitions import UNDEFINED, metric_definition
from omnibench.report.published import BENCHMARKS, Benchmark, PublishedColumn
from omnibench.report.ranking import Comparison, Interval, compare, rank_score, ranked, undecided_reason
from omnibench.report.runs import drop_secrets
from omnibench.results import TaskResult

# a second number where the headline alone hides something (an alerting model that always speaks)
SECONDARY_METRICS: dict[str, tuple[str, ...]] = {
    "omnimmi_pa": ("precision",), "synth_pa": ("precision",),
    **{t: ("noise_replied", "followup_missed") for t in ("synth_noise", "noise_rejection")},
    **{t: ("never_started", "false_stop") for t in ("synth_stop", "stop_turn")},
}
MISSING = "–"          # no result for this model and task
UNABLE = "✗"           # reported: the paper marks the model unable to do the task
NO_GROUP = "other"     # the column group of tasks registered without one


def task_order(task: str) -> tuple[int, str]:
    """Published benchmarks' tasks in their papers' order first, then the rest by name."""
    ordered = [t for bench in BENCHMARKS.values() for t in bench.tasks]
    return (ordered.index(task), "") if task in ordered else (len(ordered), task)


def reported_rows(benchmark: str = "omnimmi") -> list[dict[str, str]]:
    """A benchmark's published leaderboard (percentages as published; empty cells: unable or not given)."""
    return BENCHMARKS[benchmark].published_rows()


@dataclass
class Column:
    task: str
    metric: str
    headline: bool
    definition: str = UNDEFINED
    group: str = NO_GROUP
    chance: float | None = None          # headline columns: percent a guesser gets (TaskResult.chance)
    undecided: str | None = None         # headline columns: why the task cannot rank models (None: it can)

    @property
    def key(self) -> str:
        return f"{self.task}.{self.metric}"

    @property
    def short_task(self) -> str:
        """The task's name under its group's heading (synth_pa under synth: pa)."""
        return self.task.removeprefix(f"{self.group}_") or self.task


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
    rank: Interval | None = None                   # the rank score and its CI (percent)
    ranked_tasks: int = 0                          # the decided tasks the score averages
    vs_next: Comparison | None = None              # this row minus the next one down

    @property
    def score(self) -> float | None:
        return self.rank.value if self.rank else None

    def rank_key(self) -> tuple[int, float, str]:
        """More ranked tasks first (a score over fewer tasks averages other things), then the score."""
        return (-self.ranked_tasks, -self.score if self.score is not None else 1.0, self.model)


@dataclass
class PublishedTable:
    """One benchmark's columns: our measured rows (with n and CI), then its published rows."""

    benchmark: Benchmark
    measured: dict[str, dict[str, Cell]]           # model -> column key -> cell
    published: list[dict[str, str]]


@dataclass
class Leaderboard:
    columns: list[Column]
    rows: list[ModelRow]
    published: list[PublishedTable] = field(default_factory=list)

    @property
    def judges(self) -> list[str]:
        return sorted({r.judge_model for row in self.rows for r in row.results.values() if r.judge_model})

    @property
    def headlines(self) -> list[Column]:
        return [c for c in self.columns if c.headline]

    @property
    def decided(self) -> list[str]:
        return [c.task for c in self.headlines if c.undecided is None]


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x


def _cell(r: TaskResult, metric: str) -> Cell:
    m = r.metrics.get(metric)
    return Cell(_pct(m.value if m else None), _pct(m.ci_low if m else None), _pct(m.ci_high if m else None),
                m.n if m else 0, r.n_samples, r.n_errors, r.n_unscored)


def task_group(task: str) -> str:
    from omnibench import registry

    entry = registry.tasks(include_hidden=True).get(task)
    return (entry.group if entry is not None else None) or NO_GROUP


def build_leaderboard(results: list[TaskResult], include_reported: bool | None = None) -> Leaderboard:
    """Columns grouped by task group; rows ranked by the rank score, each compared with the next."""
    groups = {t: task_group(t) for t in {r.task for r in results}}
    tasks = sorted(groups, key=lambda t: (task_order(t)[0], groups[t] == NO_GROUP, groups[t], task_order(t)))
    columns: list[Column] = []
    for t in tasks:
        mine = [r for r in results if r.task == t]
        heads = [r.headline for r in mine]
        headline = max(sorted(set(heads)), key=heads.count)
        docs = {k: v for r in mine for k, v in r.metric_docs.items()}   # later runs win
        chance = next((r.chance for r in reversed(mine) if r.chance is not None), None)
        columns.append(Column(t, headline, True, metric_definition(headline, docs), groups[t], _pct(chance),
                              undecided_reason([r for r in mine if r.headline == headline])))
        columns += [Column(t, m, False, metric_definition(m, docs), groups[t]) for m in SECONDARY_METRICS.get(t, ())
                    if m != headline and any(m in r.metrics for r in mine)]
    by_model: dict[str, dict[str, TaskResult]] = {}
    for r in results:
        by_model.setdefault(r.model, {})[r.task] = r
    board = Leaderboard(columns, [])
    for model, per_task in by_model.items():
        cells = {c.key: _cell(per_task[c.task], c.metric) for c in columns if c.task in per_task}
        board.rows.append(ModelRow(model, cells, per_task, rank_score(per_task, board.decided),
                                   len(ranked(per_task, board.decided))))
    board.rows.sort(key=ModelRow.rank_key)
    for row, below in zip(board.rows, board.rows[1:]):
        if row.rank is not None and below.rank is not None:
            row.vs_next = compare(row.results, below.results, board.decided, below.model)
    board.published = published_tables(board, by_model, include_reported)
    return board


def published_tables(board: Leaderboard, by_model: dict[str, dict[str, TaskResult]],
                     include_reported: bool | None) -> list[PublishedTable]:
    """Each benchmark with a measured task (every benchmark when include_reported is True)."""
    out = []
    for bench in BENCHMARKS.values():
        measured_any = any(t in per_task for per_task in by_model.values() for t in bench.tasks)
        if not measured_any and not include_reported:
            continue
        measured = {row.model: measured_columns(bench, row.results) for row in board.rows
                    if any(t in row.results for t in bench.tasks)}
        show_rows = measured_any if include_reported is None else include_reported
        out.append(PublishedTable(bench, measured, bench.published_rows() if show_rows else []))
    return out


def measured_columns(bench: Benchmark, per_task: dict[str, TaskResult]) -> dict[str, Cell]:
    """A benchmark's columns from our results: task columns as they are, combined ones as the benchmark combines them."""
    cells: dict[str, Cell] = {}
    leaves: dict[str, dict[str, float]] = {}      # column -> {task column: its share of the value}
    counts: dict[str, float] = {}                 # column -> the questions it stands for (pool weights)
    for col in bench.columns:
        if col.task is not None:
            r = per_task.get(col.task)
            cell = _cell(r, col.metric or r.headline) if r is not None else None
            if cell is not None and cell.value is not None:
                cells[col.key], leaves[col.key] = cell, {col.key: 1.0}
                counts[col.key] = float(cell.n_samples - cell.n_errors - cell.n_unscored)
            continue
        weights = col.weights or (1.0,) * len(col.parts)
        parts = [(k, w) for k, w in zip(col.parts, weights) if k in cells]
        if not parts or (len(parts) < len(col.parts) and not col.partial):
            continue
        resolved = [(k, counts[k] if w is None else float(w)) for k, w in parts]
        total = sum(w for _, w in resolved)
        if total <= 0:
            continue
        share: dict[str, float] = {}
        for k, w in resolved:
            for leaf, x in leaves[k].items():
                share[leaf] = share.get(leaf, 0.0) + x * w / total
        leaves[col.key], counts[col.key] = share, total
        cells[col.key] = _combined(bench, share, cells, per_task)
    return cells


def _combined(bench: Benchmark, share: dict[str, float], cells: dict[str, Cell],
              per_task: dict[str, TaskResult]) -> Cell:
    """The weighted sum of task columns, with a CI when every one is a headline with per-video values."""
    parts = [cells[k] for k in share]
    value = sum((cells[k].value or 0.0) * x for k, x in share.items())
    low = high = None
    columns = {c.key: c for c in bench.columns}
    results = [per_task[columns[k].task or ""] for k in share]
    if all(columns[k].metric in (None, r.headline) and r.headline_by_video for k, r in zip(share, results)):
        from omnibench.scoring.metrics import mean_over_tasks

        _, lo, hi = mean_over_tasks([dict(r.headline_by_video) for r in results], weights=list(share.values()))
        low, high = 100.0 * lo, 100.0 * hi
    tasks = {r.task: r for r in results}.values()          # several columns may read one task's metrics
    return Cell(value, low, high, sum(c.n for c in parts), sum(r.n_samples for r in tasks),
                sum(r.n_errors for r in tasks), sum(r.n_unscored for r in tasks))


def fmt_pct(x: float | None, digits: int = 2) -> str:
    return MISSING if x is None else f"{x:.{digits}f}"


def interval_text(x: Interval | None, signed: bool = False) -> str:
    """'12.34 [10.1, 14.6]' (signed: '+1.20 [-0.4, 2.9]'); the bare value when there is no CI."""
    if x is None:
        return MISSING
    value = f"{x.value:+.2f}" if signed else f"{x.value:.2f}"
    return value if x.ci_low is None or x.ci_high is None else f"{value} [{x.ci_low:.1f}, {x.ci_high:.1f}]"


def vs_next_text(row: ModelRow) -> str:
    """'≠ +3.10 [1.2, 5.0]' when the CI excludes 0, '≈ ...' when it does not; '' for the last row."""
    if row.vs_next is None:
        return ""
    d = row.vs_next.difference
    return f"{'≠' if d.excludes_zero else '≈'} {interval_text(d, signed=True)}"


def ci_text(cell: Cell) -> str:
    if cell.value is None or cell.ci_low is None or cell.ci_high is None:
        return ""
    return f"[{cell.ci_low:.1f}, {cell.ci_high:.1f}]"


def count_text(cell: Cell) -> str:
    """n = scored/samples, then errors and unscored when there are any."""
    extra = [f"{k} {label}" for k, label in ((cell.n_errors, "err"), (cell.n_unscored, "unscored")) if k]
    return f"n={cell.n}/{cell.n_samples}" + (f" ({', '.join(extra)})" if extra else "")


def reported_text(value: str, column: PublishedColumn) -> str:
    if value:
        return value
    return UNABLE if column.empty_means_unable else MISSING


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
