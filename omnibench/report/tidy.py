"""leaderboard.csv in tidy form: one row per model x task x metric, plain values, no JSON in cells.

Columns: source (measured | reported), model, task, metric, value (fraction 0-1 for measured rows,
percent as published for reported rows), ci_low, ci_high, n (samples that contributed), samples,
errors, unscored, headline (1 for the task's headline metric), judge_model, settings (k=v; ...), versions.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from omnibench.report.tables import OMNIMMI_LABELS, Leaderboard, drop_secrets

HEADER = ["source", "model", "task", "metric", "value", "ci_low", "ci_high", "n", "samples", "errors", "unscored",
          "headline", "judge_model", "settings", "versions"]
SETTINGS_SHOWN = ("protocol", "mode", "shards", "limit", "num_frames", "fps", "alert_time")


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


def _pairs(mapping: dict[str, Any]) -> str:
    return "; ".join(f"{k}={v}" for k, v in sorted(mapping.items()) if v is not None and not isinstance(v, dict))


def csv_rows(board: Leaderboard) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for r in board.rows:
        for task, res in r.results.items():
            settings = drop_secrets(res.settings)
            base = {"source": "measured", "model": r.model, "task": task, "samples": res.n_samples,
                    "errors": res.n_errors, "unscored": res.n_unscored, "judge_model": res.judge_model or "",
                    "settings": _pairs({k: settings.get(k) for k in SETTINGS_SHOWN}),
                    "versions": _pairs(res.versions)}
            for metric, m in sorted(res.metrics.items(), key=lambda kv: (kv[0] != res.headline, kv[0])):
                rows.append({**base, "metric": metric, "value": _num(m.value), "ci_low": _num(m.ci_low),
                             "ci_high": _num(m.ci_high), "n": m.n, "headline": int(metric == res.headline)})
        if board.has_omnimmi:
            for column, value in r.omnimmi.items():
                rows.append({"source": "measured", "model": r.model, "task": "omnimmi", "metric": column,
                             "value": _num(None if value is None else value / 100)})
    for rep in board.reported:
        for column in OMNIMMI_LABELS:
            rows.append({"source": "reported", "model": rep.get("model", ""), "task": "omnimmi", "metric": column,
                         "value": rep.get(column, ""),
                         "settings": _pairs({"group": rep.get("group"), "llm": rep.get("llm"),
                                             "num_frames": rep.get("num_frames")})})
    return rows


def csv_text(board: Leaderboard) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER, extrasaction="raise", lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(board):
        writer.writerow({k: _csv_text(v) for k, v in row.items()})
    return out.getvalue()
