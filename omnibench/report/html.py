"""index.html: the summary and the board first, then definitions, errors, published benchmarks,
runs and the sample index; the samples themselves are files beside it, loaded per task on demand
(report.samples). write_report writes all of it, plus leaderboard.csv and leaderboard.md.

Model outputs and names are untrusted: every string from data goes through escape(quote=True),
and the Content-Security-Policy allows only the page's own script (by its hash) and the sample
files that script loads ('strict-dynamic'), so a missed escape still cannot run code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omnibench.report.board import board_legend, leaderboard_table, metrics_legend, published_table
from omnibench.report.markdown import markdown_table
from omnibench.report.page_script import SCRIPT, script_hash
from omnibench.report.runs import LoadedRun, load_runs, merge_results, merge_warnings
from omnibench.report.samples import collect, problems_section, samples_section, write_sample_files
from omnibench.report.tables import Leaderboard, build_leaderboard, run_settings, task_order
from omnibench.report.tidy import csv_text
from omnibench.report.timeline import e
from omnibench.results import TaskResult

CSP = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src '{script_hash()}' 'strict-dynamic'"
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2937;margin:24px auto;max-width:1760px;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.sub{color:#6b7280;margin:0 0 12px}.legend{font-size:12px;color:#4b5563;background:#f9fafb;border:1px solid #e5e7eb;
border-radius:6px;padding:6px 10px;display:inline-block}.legend b{color:#111827}
.wrap{overflow-x:auto;max-width:100%;border:1px solid #e5e7eb;border-radius:6px}table{border-collapse:separate;border-spacing:0;font-variant-numeric:tabular-nums}
.wrap table{min-width:100%}td.model,th.model{position:sticky;left:0;z-index:2;background:#fff;box-shadow:1px 0 0 #e5e7eb}
th.model{background:#f3f4f6;z-index:3}.warn{background:#fffbeb;border:1px solid #f59e0b;border-radius:6px;padding:6px 12px;color:#92400e}
.warn li{margin:2px 0}dl.metrics{font-size:12px;color:#4b5563;display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}
dl.metrics dt{font-weight:600;color:#111827}dl.metrics dd{margin:0}td.score .v{color:#1d4ed8}
.filters{position:sticky;top:0;background:#fff;padding:6px 0;z-index:4;border-bottom:1px solid #e5e7eb;display:flex;flex-wrap:wrap;gap:8px;align-items:center;font-size:13px}
section.s{border:1px solid #e5e7eb;border-radius:6px;padding:6px 10px;margin:8px 0;overflow-x:auto}section.s h3{font-size:13px;margin:0 0 4px;font-weight:400}
.o{display:inline-block;font-size:11px;font-weight:600;border-radius:4px;padding:0 5px;text-transform:uppercase}.o.pass{background:#dcfce7;color:#166534}
.o.fail,.o.error,.o.unscored,.o.not-scored{background:#fee2e2;color:#991b1b}table.qa{font-size:12px;width:100%}table.qa td,table.qa th{text-align:left;padding:2px 6px;overflow-wrap:anywhere}
table.qa td:nth-child(-n+3){white-space:nowrap;overflow-wrap:normal}table.qa td.ref{color:#15803d}table.qa td.ans{color:#1e3a8a}.why{color:#4b5563}td.reason{text-align:left;overflow-wrap:anywhere;max-width:640px}
th,td{border-bottom:1px solid #e5e7eb;padding:5px 10px;text-align:right;vertical-align:top}
th{background:#f3f4f6;font-weight:600;font-size:12px;white-space:nowrap}th small{display:block;font-weight:400;color:#6b7280}
td.model,th.model{text-align:left;min-width:8em;max-width:320px;overflow-wrap:anywhere}
td .v{font-weight:600;font-size:15px}td .ci,td .n{display:block;font-size:11px;color:#6b7280;white-space:nowrap}
td .bad{color:#b91c1c}tbody.measured tr:hover{background:#f9fafb}
tbody.reported td{color:#6b7280;background:#fcfcfd}tbody.reported td.model{white-space:nowrap;max-width:none}tr.section td{text-align:left;font-weight:600;color:#92400e;
background:#fffbeb;border-top:2px solid #f59e0b}.badge{display:inline-block;font-size:10px;font-weight:600;
text-transform:uppercase;letter-spacing:.04em;color:#92400e;background:#fef3c7;border:1px solid #f59e0b;
border-radius:4px;padding:0 4px;margin-right:6px}.runs td,.runs th{text-align:left;font-size:12px}
details{margin:6px 0;border:1px solid #e5e7eb;border-radius:6px;padding:4px 10px}
details details{border-color:#f3f4f6}summary{cursor:pointer;font-weight:600}
figure.sample{margin:12px 0 18px;padding:0}figcaption{font-size:12px;color:#4b5563}
svg.timeline{display:block;width:100%;max-width:1100px;height:auto}svg .lane{font-size:10px;fill:#6b7280}
svg .lane-line{stroke:#e5e7eb}svg .axis{stroke:#9ca3af}svg .tick{font-size:9px;fill:#6b7280;text-anchor:middle}
svg .window{fill:#86efac;stroke:#16a34a}svg .emission{fill:#111827}svg .refers{stroke:#6b7280;stroke-dasharray:2 2}
svg .claimed{fill:#fff;stroke:#111827}svg .mark{font-size:9px}svg .error{fill:#dc2626;font-size:13px;text-anchor:middle}
.verdict{font-size:12px;margin:2px 0 4px;color:#374151}.verdict.bad{color:#b91c1c}
table.transcript{font-size:12px;margin-bottom:6px}table.transcript td,table.transcript th{text-align:left;padding:2px 8px}
details.transcript{border:0;padding:0;margin:0 0 4px}details.transcript summary{font-weight:400;font-size:12px;color:#2563eb}
table.transcript td:first-child{white-space:nowrap;color:#6b7280}tr.model td{background:#f8fafc}
tr.noise td{color:#b45309}tr.stop td{color:#b91c1c}tr.err td{color:#b91c1c}.target{color:#15803d;font-size:11px}
.key{display:inline-block;width:10px;height:10px;border-radius:2px;vertical-align:middle;margin:0 3px 0 8px}

.board{margin:0;font-size:12px;color:#4b5563}.board>input{margin:0 2px 6px 10px;vertical-align:middle}
#col-sec:not(:checked)~.wrap .sec{display:none}
#leaderboard th{white-space:normal;font-size:11px;line-height:1.25;padding:4px 5px;max-width:92px;vertical-align:bottom}
#leaderboard th small{display:block;font-weight:400;color:#6b7280}#leaderboard th small.chance{color:#9a3412}
#leaderboard th small.nr{color:#b91c1c}#leaderboard td{padding:4px 4px;max-width:104px}
#leaderboard td .ci,#leaderboard td .n{font-size:10px}#leaderboard td.model{min-width:6em}
#leaderboard tr.groups th{border-bottom:0;text-align:left;font-size:11px;color:#374151;text-transform:uppercase;
letter-spacing:.04em;white-space:nowrap;max-width:none;overflow:visible}
#leaderboard td .v{font-size:14px}.undecided{opacity:.45}td.vs.sig .v{color:#166534}td.vs.same .v{color:#6b7280}
.bar{display:block;position:relative;height:4px;background:#e5e7eb;border-radius:2px;margin:2px 0 1px;min-width:48px}
.bar i{position:absolute;left:0;top:0;bottom:0;background:#60a5fa;border-radius:2px}
.bar b{position:absolute;top:-3px;bottom:-3px;width:2px;margin-left:-1px;background:#9a3412}
td.empty{color:#9ca3af;font-style:italic}details.prompt{border:0;padding:0;margin:2px 0 0;font-size:11px;color:#4b5563;white-space:pre-wrap}
details.prompt summary{font-weight:400;color:#2563eb}tr.section.measured td{color:#1e3a8a;background:#eff6ff;border-top:2px solid #60a5fa}
table.published td .ci,table.published td .n{display:block;font-size:11px;color:#6b7280}
"""


def runs_table(board: Leaderboard) -> str:
    rows = []
    for r in board.rows:
        for task, res in sorted(r.results.items(), key=lambda kv: task_order(kv[0])):
            s = run_settings(res)
            rows.append(f'<tr><td class="model">{e(r.model)}</td><td>{e(task)}</td><td>{e(s["judge"])}</td>'
                        f'<td>{e(s["settings"])}</td><td>{e(s["versions"])}</td><td>{e(s["rtf"])}</td></tr>')
    return ('<div class="wrap"><table class="runs"><thead><tr><th class="model">model</th><th>task</th><th>judge</th>'
            '<th>settings</th><th>versions</th><th title="compute seconds per stream second; below 1x is faster '
            'than real time">real-time factor</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></div>")


def warnings_html(warnings: list[str]) -> str:
    if not warnings:
        return ""
    return ('<div class="warn" id="warnings"><b>Warnings</b><ul>' + "".join(f"<li>{e(w)}</li>" for w in warnings)
            + "</ul></div>")


def render_html(runs: list[LoadedRun], results: list[TaskResult], *, title: str, include_reported: bool | None,
                warnings: Sequence[str] = (), out_dir: Path | None = None, board: Leaderboard | None = None) -> str:
    """The page; with out_dir, the sample files are written there too (without it, the page lists none)."""
    board = board or build_leaderboard(results, include_reported=include_reported)
    groups = collect(runs)
    files = write_sample_files(groups, out_dir) if out_dir is not None else []
    problems = {(g.task, g.model): "; ".join(f"{n}× {why}" for why, n in g.problems.most_common(3))
                for g in groups if g.problems}
    tasks = sorted({r.task for r in results}, key=task_order)
    sub = f"{len(board.rows)} model(s) · {len(tasks)} task(s) · {len(board.decided)} ranked"
    if board.judges:
        sub += " · judge: " + ", ".join(board.judges)
    parts = [f"<h1>{e(title)}</h1>", f'<p class="sub">{e(sub)}</p>', warnings_html(list(warnings)),
             "<h2>Leaderboard</h2>"]
    parts.append(leaderboard_table(board, problems) if board.rows else "<p>(no results)</p>")
    if board.rows:
        parts += [board_legend(board), f"<details><summary>Metric definitions</summary>{metrics_legend(board)}</details>"]
    parts.append(problems_section(groups))
    for table in board.published:
        parts += [f"<h2>{e(table.benchmark.title)} columns</h2>", published_table(table)]
    if board.rows:
        n_runs = sum(len(r.results) for r in board.rows)
        parts += ["<h2>Runs</h2>", f"<details><summary>Settings of {n_runs} task run(s): judge, protocol, mode, "
                  f"shards, versions, real-time factor</summary>{runs_table(board)}</details>"]
    parts.append(samples_section(files))
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><style>{STYLE}</style></head><body>{''.join(parts)}"
            f"<script>{SCRIPT}</script></body></html>\n")


def write_report(run_dirs: list[Path], out_dir: Path, *, title: str = "omnibench leaderboard",
                 include_reported: bool | None = None) -> dict[str, Path]:
    """leaderboard.csv, leaderboard.md, index.html and samples/*.js in out_dir; published rows by default
    for the benchmarks whose tasks ran."""
    runs = load_runs([Path(d) for d in run_dirs])
    results = merge_results(runs)
    warnings = merge_warnings(runs)
    board = build_leaderboard(results, include_reported=include_reported)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out_dir / "leaderboard.csv", "md": out_dir / "leaderboard.md", "html": out_dir / "index.html"}
    from omnibench.sanitize import scrub  # secrets and invalid Unicode never reach a report

    paths["csv"].write_text(scrub(csv_text(board)), encoding="utf-8")
    paths["md"].write_text(scrub(markdown_table(results, title=title, include_runs=True, warnings=warnings,
                                                board=board)), encoding="utf-8")
    paths["html"].write_text(scrub(render_html(runs, results, title=title, include_reported=include_reported,
                                               warnings=warnings, out_dir=out_dir, board=board)), encoding="utf-8")
    return paths
