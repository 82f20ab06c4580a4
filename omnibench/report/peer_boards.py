"""OVO-Bench's and StreamingBench's own columns: our measured rows, then their published rows, kept apart.

Measured rows come from our per-task results (percent), combined as each benchmark combines them:
OVO-Bench's group averages are unweighted means of the tasks' accuracies and its total the mean of
the three groups (a group with no task measured is left empty, and so is the total);
StreamingBench's group columns pool question types (omni-source: ER SCU SD MA; contextual: ACU
MCU SQA PO) by question count and its overall pools the three groups (2,500 real-time questions;
the published tables scored proactive output on 50 questions, we on every proactive sample we
scored). Published rows (omnibench/data/peer_files, sources in SOURCE.md) are shown as printed,
marked "reported", never mixed into measured cells and never ranked with ours.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from html import escape
from importlib import resources

from omnibench.results import TaskResult

MISSING = "–"


@dataclass(frozen=True)
class PeerBoard:
    name: str                      # "ovobench" | "streamingbench"
    title: str
    columns: tuple[str, ...]       # column codes, as in the published table
    reported_file: str
    note: str


OVO = PeerBoard("ovobench", "OVO-Bench", ("OCR", "ACR", "ATR", "STU", "FPD", "OJR", "realtime_avg", "EPM", "ASI",
                                          "HLD", "backward_avg", "REC", "SSR", "CRR", "forward_avg", "total_avg"),
                "ovobench_reported.csv", "group averages: unweighted means of the task accuracies; total: mean of "
                "the three groups, as OVO-Bench computes them")
SB = PeerBoard("streamingbench", "StreamingBench", ("OP", "CR", "CS", "ATP", "EU", "TR", "PR", "SU", "ACP", "CT",
                                                    "real_all", "ER", "SCU", "SD", "MA", "omni_all", "ACU", "MCU",
                                                    "SQA", "PO", "contextual_all", "overall"),
               "streamingbench_reported.csv", "All and overall columns pool question types by question count; "
               "published rows are StreamingBench's main table (60 s of context before each question)")
BOARDS = (OVO, SB)
# StreamingBench: our task and metric behind each published column, and the questions it stands for
SB_CELLS = {
    "OP": ("streamingbench_real", "object_recognition"), "CR": ("streamingbench_real", "causal_reasoning"),
    "CS": ("streamingbench_real", "clips_summarize"), "ATP": ("streamingbench_real", "attribute_recognition"),
    "EU": ("streamingbench_real", "event_understanding"), "TR": ("streamingbench_real", "text_rich_understanding"),
    "PR": ("streamingbench_real", "prospective_reasoning"), "SU": ("streamingbench_real", "spatial_understanding"),
    "ACP": ("streamingbench_real", "action_recognition"), "CT": ("streamingbench_real", "counting"),
    "real_all": ("streamingbench_real", "accuracy"),
    "ER": ("streamingbench_omni", "emotion_recognition"), "SCU": ("streamingbench_omni", "scene_understanding"),
    "SD": ("streamingbench_omni", "source_discrimination"), "MA": ("streamingbench_omni", "multimodal_alignment"),
    "ACU": ("streamingbench_omni", "anomaly_context_understanding"),
    "MCU": ("streamingbench_omni", "misleading_context_understanding"),
    "SQA": ("streamingbench_sqa", "accuracy"), "PO": ("streamingbench_proactive", "answer_accuracy"),
}
SB_QUESTIONS = {"real_all": 2500, **dict.fromkeys(("ER", "SCU", "SD", "MA", "ACU", "MCU", "SQA"), 250)}


def _value(per_task: dict[str, TaskResult], task: str, metric: str) -> float | None:
    r = per_task.get(task)
    m = r.metrics.get(metric) if r else None
    return None if m is None or m.value is None else 100.0 * m.value


def _pool(parts: list[tuple[float | None, float]]) -> float | None:
    if not parts or any(v is None for v, _ in parts):
        return None
    return sum(v * w for v, w in parts) / sum(w for _, w in parts)   # type: ignore[operator]


def ovobench_columns(per_task: dict[str, TaskResult]) -> dict[str, float | None]:
    from omnibench.data.ovobench import GROUPS, task_name

    out: dict[str, float | None] = {}
    averages = []
    for group, codes in GROUPS.items():
        values = {c: _value(per_task, task_name(c), per_task[task_name(c)].headline) for c in codes
                  if task_name(c) in per_task}
        out.update(values)
        known = [v for v in values.values() if v is not None]
        out[f"{group}_avg"] = sum(known) / len(known) if known else None
        averages.append(out[f"{group}_avg"])
    out["total_avg"] = sum(averages) / 3 if None not in averages else None   # type: ignore[operator]
    return out


def streamingbench_columns(per_task: dict[str, TaskResult]) -> dict[str, float | None]:
    out = {code: _value(per_task, task, metric) for code, (task, metric) in SB_CELLS.items()}
    proactive = per_task.get("streamingbench_proactive")
    po_n = float(proactive.n_scored) if proactive else 0.0
    out["omni_all"] = _pool([(out[c], 250) for c in ("ER", "SCU", "SD", "MA")])
    out["contextual_all"] = _pool([(out[c], 250) for c in ("ACU", "MCU", "SQA")] + [(out["PO"], po_n)])
    out["overall"] = _pool([(out["real_all"], 2500), (out["omni_all"], 1000), (out["contextual_all"], 750 + po_n)])
    return out


COLUMNS = {"ovobench": ovobench_columns, "streamingbench": streamingbench_columns}


def reported_rows(board: PeerBoard) -> list[dict[str, str]]:
    text = (resources.files("omnibench.data.peer_files") / board.reported_file).read_text(encoding="utf-8")
    return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


def measured(results: list[TaskResult], board: PeerBoard) -> list[tuple[str, dict[str, float | None]]]:
    """(model, columns) for every model that ran a task of this benchmark."""
    by_model: dict[str, dict[str, TaskResult]] = {}
    for r in results:
        if r.task.startswith(board.name + "_"):
            by_model.setdefault(r.model, {})[r.task] = r
    return [(model, COLUMNS[board.name](per_task)) for model, per_task in sorted(by_model.items())]


def _fmt(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2f}"


def peer_markdown(results: list[TaskResult], *, reported: bool) -> list[str]:
    """Lines for leaderboard.md: per benchmark that ran, measured rows, then (reported) its published rows."""
    from omnibench.report.markdown import _md_table

    out: list[str] = []
    for board in BOARDS:
        rows = measured(results, board)
        if not rows:
            continue
        out += ["", f"## {board.title} columns (measured here)", ""]
        out += _md_table(["model", *board.columns], [[m, *(_fmt(v.get(c)) for c in board.columns)] for m, v in rows])
        out += ["", board.note + "."]
        if reported:
            out += ["", f"## Reported by {board.title} (published rows, not measured here)", ""]
            out += _md_table(["source", "group", "model", *board.columns],
                             [["reported", r["group"], r["model"], *(r.get(c) or MISSING for c in board.columns)]
                              for r in reported_rows(board)])
    return out


def peer_html(results: list[TaskResult]) -> list[str]:
    """Sections for index.html: measured rows, then the published rows in a marked section below them."""
    out = []
    for board in BOARDS:
        rows = measured(results, board)
        if not rows:
            continue
        head = "".join(f"<th>{escape(c)}</th>" for c in board.columns)
        body = "".join(f'<tr><td class="model">{escape(m)}</td>'
                       + "".join(f"<td>{escape(_fmt(v.get(c)))}</td>" for c in board.columns) + "</tr>"
                       for m, v in rows)
        published = "".join(f'<tr class="reported"><td class="model"><span class="badge">reported</span>'
                            f'{escape(r["model"])} <small>({escape(r["group"])})</small></td>'
                            + "".join(f"<td>{escape(r.get(c) or MISSING)}</td>" for c in board.columns) + "</tr>"
                            for r in reported_rows(board))
        out += [f"<h2>{escape(board.title)} columns</h2>",
                f'<div class="wrap"><table id="{board.name}"><thead><tr><th class="model">model</th>{head}</tr>'
                f'</thead><tbody class="measured">{body}</tbody><tbody class="reported"><tr class="section">'
                f'<td colspan="{len(board.columns) + 1}">Reported by {escape(board.title)} — published numbers, not '
                f"measured here</td></tr>{published}</tbody></table></div>",
                f'<p class="sub">{escape(board.note)}.</p>']
    return out
