"""Leaderboard rows from run directories: measured results, and OmniMMI's published rows apart."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from omnibench.results import Results, TaskResult

# OmniMMI's columns, in the paper's order: (column, task)
OMNIMMI_COLUMNS = [("SG avg", "omnimmi_sg"), ("AP", "omnimmi_ap"), ("MD avg", "omnimmi_md"), ("SI", "omnimmi_si"),
                   ("PA", "omnimmi_pa"), ("PT", "omnimmi_pt")]
WITHOUT_P = ("omnimmi_sg", "omnimmi_ap", "omnimmi_md", "omnimmi_si")
# a second figure worth a column beside the headline
SECONDARY = {"omnimmi_pa": "precision", "synth_pa": "precision", "noise_rejection": "no_reply", "synth_noise": "no_reply"}


def load_results(run_dirs: list[Path]) -> list[TaskResult]:
    out: list[TaskResult] = []
    for run_dir in run_dirs:
        path = Path(run_dir) / "results.json"
        if path.exists():
            out += Results.model_validate_json(path.read_text(encoding="utf-8")).results
    return out


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


@dataclass
class Cell:
    value: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""          # errors / unscored counts

    def text(self, with_ci: bool = True) -> str:
        if self.value is None:
            return "–"
        ci = f" [{pct(self.low)}, {pct(self.high)}]" if with_ci and self.low is not None and self.low != self.high else ""
        return pct(self.value) + ci + (f" ({self.note})" if self.note else "")


@dataclass
class Board:
    columns: list[tuple[str, str, str]]                       # (label, task, metric)
    rows: dict[str, dict[str, Cell]] = field(default_factory=dict)
    omnimmi: bool = False
    judges: set[str] = field(default_factory=set)


def _cell(result: TaskResult, metric: str) -> Cell:
    m = result.metrics.get(metric)
    notes = [f"{n} {what}" for n, what in ((result.n_errors, "err"), (result.n_unscored, "unscored")) if n]
    return Cell(m.value if m else None, m.ci_low if m else None, m.ci_high if m else None, ", ".join(notes))


def build_board(results: list[TaskResult]) -> Board:
    tasks = list(dict.fromkeys(r.task for r in results))
    omnimmi = any(t.startswith("omnimmi_") for t in tasks)
    columns: list[tuple[str, str, str]] = []
    headline = {r.task: r.headline for r in results}
    if omnimmi:
        columns += [(label, task, headline.get(task, "accuracy" if task != "omnimmi_pt" else "silence"))
                    for label, task in OMNIMMI_COLUMNS]
    for task in tasks:
        if not task.startswith("omnimmi_"):
            columns.append((f"{task} {headline[task]}", task, headline[task]))
        if task in SECONDARY:
            columns.append((f"{task} {SECONDARY[task]}", task, SECONDARY[task]))
    board = Board(columns=columns, omnimmi=omnimmi)
    for r in results:
        row = board.rows.setdefault(r.model, {})
        for label, task, metric in columns:
            if task == r.task:
                row[label] = _cell(r, metric)
        if r.judge_model:
            board.judges.add(r.judge_model)
    if omnimmi:
        for row in board.rows.values():
            parts = [row.get(label) for label, task in OMNIMMI_COLUMNS if task in WITHOUT_P]
            values = [c.value for c in parts if c is not None and c.value is not None]
            row["avg w/o P"] = Cell(sum(values) / len(values) if len(values) == len(WITHOUT_P) else None)
        board.columns.append(("avg w/o P", "", ""))
    return board


def reported_rows() -> list[dict[str, str]]:
    """OmniMMI's published leaderboard, as published (percentages; empty PA/PT = unable)."""
    text = (files("omnibench.data") / "omnimmi_files" / "reported_leaderboard.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


REPORTED_FIELDS = [("SG avg", "sg_avg"), ("AP", "ap"), ("MD avg", "md_avg"), ("SI", "si"), ("PA", "pa"),
                   ("PT", "pt"), ("avg w/o P", "avg_wo_p")]


def markdown_table(results: list[TaskResult], *, with_ci: bool = True) -> str:
    board = build_board(results)
    labels = [c[0] for c in board.columns]
    lines = ["| model | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for model, row in board.rows.items():
        lines.append(f"| {_md(model)} | " + " | ".join(row[l].text(with_ci) if l in row else "–" for l in labels) + " |")
    if board.omnimmi:
        lines += ["", "Reported by OmniMMI (published numbers, not measured here; ✗ = reported unable):", "",
                  "| model (reported) | " + " | ".join(l for l, _ in REPORTED_FIELDS) + " |",
                  "|---" * (len(REPORTED_FIELDS) + 1) + "|"]
        for r in reported_rows():
            lines.append(f"| {_md(r['model'])} | " + " | ".join(r[k] or "✗" for _, k in REPORTED_FIELDS) + " |")
    notes = "values in %, 95% bootstrap CI clustered by video in brackets"
    if board.judges:
        notes += "; judge: " + ", ".join(sorted(board.judges))
    return "\n".join(lines) + f"\n\n({notes})"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def csv_text(results: list[TaskResult]) -> str:
    """One row per (model, task, metric): machine-readable, with CIs and counts."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["source", "model", "task", "metric", "value", "ci_low", "ci_high", "n", "n_samples",
                     "n_errors", "n_unscored", "judge_model"])
    for r in results:
        for metric, m in sorted(r.metrics.items()):
            writer.writerow(["measured", r.model, r.task, metric, m.value, m.ci_low, m.ci_high, m.n, r.n_samples,
                             r.n_errors, r.n_unscored, r.judge_model or ""])
    if any(r.task.startswith("omnimmi_") for r in results):
        for row in reported_rows():
            for label, key in REPORTED_FIELDS:
                value = float(row[key]) / 100 if row[key] else ""
                writer.writerow(["reported", row["model"], label, "published", value, "", "", "", "", "", "", ""])
    return out.getvalue()
