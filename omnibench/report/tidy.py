"""leaderboard.csv in tidy form: one row per model x task x metric, plain values, no JSON in cells.

Columns: source (measured | reported: published by a peer benchmark), model, task, metric, value, ci_low, ci_high (percent, as in
the Markdown and HTML tables; published rows as published), n (samples that contributed), samples,
errors, unscored, headline (1 for the task's headline metric), lower_is_better (1 where less is
better), chance (the headline's chance level, percent), ranked (1 when the task counts in the rank
score), judge_model, settings (k=v; ...), versions.

The rank score is a row of its own per model (task `board`, metric `score`, with its CI, n = tasks
counted), and so is its comparison with the next row down (metric `vs_next`, settings `next=<model>`).
A published benchmark's columns are rows with task = the benchmark's name (`omnimmi`).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from omnibench.report.definitions import lower_is_better
from omnibench.report.ranking import Interval
from omnibench.report.runs import drop_secrets
from omnibench.report.tables import Cell, Leaderboard

HEADER = ["source", "model", "task", "metric", "value", "ci_low", "ci_high", "n", "samples", "errors", "unscored",
          "headline", "lower_is_better", "chance", "ranked", "judge_model", "settings", "versions"]
SETTINGS_SHOWN = ("protocol", "mode", "shards", "limit", "num_frames", "fps", "alert_time")
BOARD_TASK = "board"


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


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.4f}"


def _pairs(mapping: dict[str, Any]) -> str:
    return "; ".join(f"{k}={v}" for k, v in sorted(mapping.items()) if v is not None and not isinstance(v, dict))


def _interval(x: Interval) -> dict[str, str]:
    return {"value": _num(x.value), "ci_low": _num(x.ci_low), "ci_high": _num(x.ci_high)}


def _cell(c: Cell) -> dict[str, Any]:
    return {"value": _num(c.value), "ci_low": _num(c.ci_low), "ci_high": _num(c.ci_high), "n": c.n,
            "samples": c.n_samples, "errors": c.n_errors, "unscored": c.n_unscored}


def csv_rows(board: Leaderboard) -> list[dict[str, Any]]:
    heads = {c.task: c for c in board.headlines}
    rows: list[dict[str, Any]] = []
    for r in board.rows:
        if r.rank is not None:
            rows.append({"source": "measured", "model": r.model, "task": BOARD_TASK, "metric": "score",
                         **_interval(r.rank), "n": r.ranked_tasks, "headline": 1})
        if r.vs_next is not None:
            rows.append({"source": "measured", "model": r.model, "task": BOARD_TASK, "metric": "vs_next",
                         **_interval(r.vs_next.difference), "n": r.vs_next.tasks,
                         "settings": _pairs({"next": r.vs_next.other})})
        for task, res in r.results.items():
            settings = drop_secrets(res.settings)
            head = heads.get(task)
            base = {"source": "measured", "model": r.model, "task": task, "samples": res.n_samples,
                    "errors": res.n_errors, "unscored": res.n_unscored, "judge_model": res.judge_model or "",
                    "ranked": int(head is not None and head.undecided is None),
                    "settings": _pairs({k: settings.get(k) for k in SETTINGS_SHOWN}),
                    "versions": _pairs(res.versions)}
            for metric, m in sorted(res.metrics.items(), key=lambda kv: (kv[0] != res.headline, kv[0])):
                is_head = metric == res.headline
                rows.append({**base, "metric": metric, "value": _pct(m.value), "ci_low": _pct(m.ci_low),
                             "ci_high": _pct(m.ci_high), "n": m.n, "headline": int(is_head),
                             "lower_is_better": int(lower_is_better(metric)),
                             "chance": _pct(res.chance) if is_head else ""})
    for table in board.published:
        for model, cells in table.measured.items():
            for col in table.benchmark.columns:
                if col.key in cells:
                    rows.append({"source": "measured", "model": model, "task": table.benchmark.name,
                                 "metric": col.key, **_cell(cells[col.key])})
        for pub in table.published:
            for col in table.benchmark.columns:
                rows.append({"source": "reported", "model": pub.get("model", ""), "task": table.benchmark.name,
                             "metric": col.key, "value": pub.get(col.key, ""),
                             "settings": _pairs({k: pub.get(k) for k, _ in table.benchmark.info})})
    return rows


def csv_text(board: Leaderboard) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER, extrasaction="raise", lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(board):
        writer.writerow({k: _csv_text(v) for k, v in row.items()})
    return out.getvalue()
