"""leaderboard.md and the tables the CLI prints: the board, the tasks' chance levels, published benchmarks, runs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from omnibench.report.definitions import (
    CHANCE_DEFINITION,
    CI_DEFINITION,
    LOWER_DEFINITION,
    RANK_CI_DEFINITION,
    RANK_DEFINITION,
    UNDECIDED_DEFINITION,
    VS_NEXT_DEFINITION,
    metric_label,
)
from omnibench.report.tables import (
    MISSING,
    Cell,
    Column,
    Leaderboard,
    ModelRow,
    PublishedTable,
    build_leaderboard,
    ci_text,
    count_text,
    fmt_pct,
    interval_text,
    reported_text,
    run_settings,
    task_order,
    vs_next_text,
)
from omnibench.results import TaskResult

# what CommonMark would read as raw HTML (a tag, comment, declaration) or as a character reference
_HTML_START = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def cell_text(cell: Cell | None, with_counts: bool = True, with_ci: bool = True) -> str:
    if cell is None:
        return MISSING
    parts = [fmt_pct(cell.value), ci_text(cell) if with_ci else "", count_text(cell) if with_counts else ""]
    return " ".join(p for p in parts if p)


def column_label(col: Column) -> str:
    if not col.headline:
        return f"{col.task} ({metric_label(col.metric)})"
    return f"{col.task} {metric_label(col.metric)}" + (" (not ranked)" if col.undecided else "")


def _md(text: Any) -> str:
    """A Markdown table cell: one line, pipes escaped, untrusted text (model names) never read as HTML.

    Only a "<" that could open a tag (or an "&" that could start a character reference) is
    written as an entity, the one escape every Markdown renderer honours; everything else stays
    as it is, so "<0.01x" reads "<0.01x" in the file too.
    """
    text = " ".join(str(text).split())
    return _HTML_START.sub("&lt;", _ENTITY.sub("&amp;", text)).replace("|", "\\|")


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]


def score_text(row: ModelRow, decided: int, with_ci: bool = True) -> str:
    text = interval_text(row.rank) if with_ci else fmt_pct(row.score)
    return text + (f" (on {row.ranked_tasks} of {decided} tasks)" if row.rank and row.ranked_tasks < decided else "")


def tasks_table(board: Leaderboard) -> list[str]:
    """Per task: its headline, chance level, and whether it ranks models (and why not)."""
    rows = [[c.task, metric_label(c.metric), fmt_pct(c.chance, 1), "yes" if c.undecided is None else f"no: {c.undecided}"]
            for c in board.headlines]
    return _md_table(["task", "headline", "chance", "ranked"], rows)


def published_md(table: PublishedTable) -> list[str]:
    bench = table.benchmark
    labels = [c.label for c in bench.columns]
    out: list[str] = []
    if table.measured:
        out += ["", f"## {bench.title} columns (measured here: value [95% CI] n)", ""]
        out += _md_table(["model", *labels], [[model, *(cell_text(cells.get(c.key)) for c in bench.columns)]
                                              for model, cells in table.measured.items()])
    if table.published:
        out += ["", f"## Reported by {bench.title} (published reference rows, not measured here)", ""]
        out += _md_table(["source", "model", *(label for _, label in bench.info), *labels],
                         [["reported", row.get("model", ""), *(row.get(k, "") for k, _ in bench.info),
                           *(reported_text(row.get(c.key, ""), c) for c in bench.columns)] for row in table.published])
    if bench.note and out:
        out += ["", bench.note]
    return out


def markdown_table(results: list[TaskResult], *, title: str | None = None, include_reported: bool = False,
                   include_runs: bool = False, with_ci: bool = True, warnings: Sequence[str] = (),
                   board: Leaderboard | None = None) -> str:
    """Measured rows (value [95% CI] n=scored/samples), the tasks' chance levels, published benchmarks.

    `board`: the leaderboard of `results` when the caller built it already (include_reported is then its own)."""
    board = board or build_leaderboard(results, include_reported=include_reported)
    out = [f"# {_md(title)}", ""] if title else []
    if not board.rows:
        return "\n".join(out + ["(no results)"]) + "\n"
    out += _md_table(["model", "score [95% CI]", "vs next", *(column_label(c) for c in board.columns)],
                     [[r.model, score_text(r, len(board.decided), with_ci), vs_next_text(r),
                       *(cell_text(r.cells.get(c.key), c.headline, with_ci) for c in board.columns)]
                      for r in board.rows])
    out += ["", f"Percent. [{CI_DEFINITION}]; n = scored/samples; {MISSING} = not run; {LOWER_DEFINITION}. "
                f"{RANK_DEFINITION}; {RANK_CI_DEFINITION}. {VS_NEXT_DEFINITION}. Not ranked: {UNDECIDED_DEFINITION}."]
    if board.judges:
        out[-1] += " Judge: " + _md(", ".join(board.judges)) + "."
    if warnings:
        out += ["", "Warnings:", ""] + [f"- {_md(w)}" for w in warnings]
    out += ["", "## Tasks", ""] + tasks_table(board) + ["", f"{CHANCE_DEFINITION}."]
    for table in board.published:
        out += published_md(table)
    if include_runs:
        out += ["", "## Runs", ""]
        out += _md_table(["model", "task", "judge", "settings", "versions", "rtf"],
                         [[r.model, t, *(run_settings(res)[k] for k in ("judge", "settings", "versions", "rtf"))]
                          for r in board.rows for t, res in sorted(r.results.items(), key=lambda kv: task_order(kv[0]))])
    return "\n".join(out) + "\n"
