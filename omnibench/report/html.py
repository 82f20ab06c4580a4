"""One self-contained HTML page: the leaderboard, the published reference rows, and timelines."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from omnibench.data.schema import Sample
from omnibench.engine.eventlog import EventLog
from omnibench.report.tables import REPORTED_FIELDS, build_board, reported_rows
from omnibench.report.timeline import timeline_svg
from omnibench.results import TaskResult

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#111827;max-width:1400px}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #e5e7eb;padding:4px 8px;
text-align:right}th:first-child,td:first-child{text-align:left}th{background:#f3f4f6}
tr.reported td{color:#6b7280;font-style:italic}.ci{color:#6b7280;font-size:11px}
details{margin:.5em 0}summary{cursor:pointer;font-weight:600}.legend span{margin-right:1em}
.sample{font-size:12px;color:#374151;margin-top:.6em}"""
STREAMING_HINTS = ("_pa", "_noise", "_stop", "noise_rejection", "stop_turn")


def e(text: object) -> str:
    return escape(str(text), quote=True)


def _cell_html(cell) -> str:
    if cell is None or cell.value is None:
        return "<td>–</td>"
    ci = f'<div class="ci">[{100 * cell.low:.1f}, {100 * cell.high:.1f}]</div>' if cell.low is not None else ""
    note = f'<div class="ci">{e(cell.note)}</div>' if cell.note else ""
    return f"<td>{100 * cell.value:.2f}{ci}{note}</td>"


def _timelines(run_dirs: list[Path], results: list[TaskResult], limit: int) -> str:
    blocks = []
    for run_dir in run_dirs:
        for task_dir in sorted((run_dir / "logs").glob("*")) if (run_dir / "logs").exists() else []:
            task = task_dir.name
            if not any(h in task for h in STREAMING_HINTS):
                continue
            samples_path = run_dir / "samples" / f"{task}.jsonl"
            if not samples_path.exists():
                continue
            samples = {s.id: s for s in (Sample.model_validate(json.loads(line)) for line in
                                         samples_path.read_text(encoding="utf-8").splitlines() if line.strip())}
            for log in sorted(task_dir.glob("*.jsonl")):
                records = [r for r in EventLog(log).records() if r.status == "ok" and r.sample_id in samples][:limit]
                if not records:
                    continue
                items = "".join(f'<div class="sample">{e(r.sample_id)}: '
                                f'{e(samples[r.sample_id].turns[0].text[:120])}</div>{timeline_svg(samples[r.sample_id], r)}'
                                for r in records)
                blocks.append(f"<details><summary>{e(task)} · {e(records[0].model)}</summary>{items}</details>")
    if not blocks:
        return ""
    legend = ('<p class="legend"><span style="color:#16a34a">■ target window</span><span style="color:#2563eb">'
              '| question</span><span style="color:#7c3aed">| alert request</span><span style="color:#d97706">| noise'
              '</span><span style="color:#dc2626">| stop</span><span>● model spoke</span><span>□ time it claimed</span></p>')
    return "<h2>Timelines</h2>" + legend + "".join(blocks)


def render_html(results: list[TaskResult], run_dirs: list[Path], *, title: str, include_reported: bool,
                max_timelines: int = 12, settings: list[dict] | None = None) -> str:
    board = build_board(results)
    labels = [c[0] for c in board.columns]
    head = "".join(f"<th>{e(label)}</th>" for label in labels)
    rows = "".join(f"<tr><td>{e(model)}</td>" + "".join(_cell_html(row.get(label)) for label in labels) + "</tr>"
                   for model, row in board.rows.items())
    reported = ""
    if include_reported:
        rep_rows = "".join(f'<tr class="reported"><td>{e(r["model"])} (reported)</td>'
                           + "".join(f"<td>{e(r[k]) if r[k] else '✗'}</td>" for _, k in REPORTED_FIELDS) + "</tr>"
                           for r in reported_rows())
        reported = ("<h2>Published OmniMMI results (reported, not measured here)</h2><table><tr><th>model</th>"
                    + "".join(f"<th>{e(label)}</th>" for label, _ in REPORTED_FIELDS) + f"</tr>{rep_rows}</table>"
                    "<p>✗: reported as unable to do the task. avg w/o P is kept as published.</p>")
    judges = f"<p>Judge: {e(', '.join(sorted(board.judges)))}</p>" if board.judges else ""
    runs = "".join(f"<li>{e(json.dumps(s, sort_keys=True))}</li>" for s in (settings or []))
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{e(title)}</h1>"
            f"<p>Values in %; 95% bootstrap CI clustered by video below each value; errored and unscored samples "
            f"counted beside it, never folded into a 0.</p>"
            f"<table id=\"leaderboard\"><tr><th>model</th>{head}</tr>{rows}</table>{judges}{reported}"
            f"{_timelines(run_dirs, results, max_timelines)}<h2>Runs</h2><ul>{runs}</ul></body></html>")
