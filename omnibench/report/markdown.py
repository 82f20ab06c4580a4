"""leaderboard.md and the tables the CLI prints: the board, OmniMMI's columns, reported rows, runs."""

from __future__ import annotations

import html
from typing import Any

from omnibench.report.definitions import CI_DEFINITION, RANK_DEFINITION
from omnibench.report.tables import (
    MISSING,
    OMNIMMI_LABELS,
    UNABLE,
    Cell,
    Column,
    build_leaderboard,
    ci_text,
    count_text,
    fmt_pct,
    reported_text,
    run_settings,
    task_order,
)
from omnibench.results import TaskResult


def cell_text(cell: Cell | None, with_counts: bool = True, with_ci: bool = True) -> str:
    if cell is None:
        return MISSING
    parts = [fmt_pct(cell.value), ci_text(cell) if with_ci else "", count_text(cell) if with_counts else ""]
    return " ".join(p for p in parts if p)


def column_label(col: Column) -> str:
    return f"{col.task} {col.metric}" if col.headline else f"{col.task} ({col.metric})"


def _md(text: Any) -> str:
    """A Markdown table cell: one line, no raw HTML (model names are untrusted), pipes escaped."""
    return html.escape(" ".join(str(text).split()), quote=True).replace("|", "\\|")


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]


def markdown_table(results: list[TaskResult], *, title: str | None = None, include_reported: bool = False,
                   include_runs: bool = False, with_ci: bool = True, warnings: list[str] = ()) -> str:
    """Measured rows (value [95% CI] n=scored/samples), OmniMMI's columns, optionally the reported rows."""
    board = build_leaderboard(results, include_reported=include_reported)
    out = [f"# {_md(title)}", ""] if title else []
    if not board.rows:
        return "\n".join(out + ["(no results)"]) + "\n"
    out += _md_table(["model", "score", *(column_label(c) for c in board.columns)],
                     [[r.model, fmt_pct(r.score), *(cell_text(r.cells.get(c.key), c.headline, with_ci)
                                                    for c in board.columns)] for r in board.rows])
    out += ["", f"Percent. [{CI_DEFINITION}]; n = scored/samples; {MISSING} = not run; "
                f"{RANK_DEFINITION}."]
    if warnings:
        out += ["", "Warnings:", ""] + [f"- {_md(w)}" for w in warnings]
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
    # OVO-Bench / StreamingBench columns; the report file (include_runs) shows their published rows too
    from omnibench.report.peer_boards import peer_markdown

    out += peer_markdown(results, reported=include_reported or include_runs)
    if include_runs:
        out += ["", "## Runs", ""]
        out += _md_table(["model", "task", "judge", "settings", "versions", "rtf"],
                         [[r.model, t, *(run_settings(res)[k] for k in ("judge", "settings", "versions", "rtf"))]
                          for r in board.rows for t, res in sorted(r.results.items(), key=lambda kv: task_order(kv[0]))])
    return "\n".join(out) + "\n"
