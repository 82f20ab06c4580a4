"""Leaderboards (CSV, Markdown, one self-contained HTML page) and per-sample timelines."""

from __future__ import annotations

import json
import re
from pathlib import Path

from omnibench.report.tables import csv_text, load_results, markdown_table

_SECRET = re.compile(r"key|token|secret|password", re.I)


def _run_settings(run_dirs: list[Path]) -> list[dict]:
    out = []
    for run_dir in run_dirs:
        path = Path(run_dir) / "run.json"
        if path.exists():
            info = json.loads(path.read_text(encoding="utf-8"))
            info["model_args"] = {k: v for k, v in info.get("model_args", {}).items() if not _SECRET.search(k)}
            out.append(info)
    return out


def write_report(run_dirs: list[Path], out_dir: Path, *, title: str = "omnibench leaderboard",
                 include_reported: bool | None = None, max_timelines: int = 12) -> dict[str, Path]:
    from omnibench.report.html import render_html

    run_dirs = [Path(d) for d in run_dirs]
    results = load_results(run_dirs)
    if include_reported is None:
        include_reported = any(r.task.startswith("omnimmi_") for r in results)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out_dir / "leaderboard.csv", "md": out_dir / "leaderboard.md", "html": out_dir / "index.html"}
    paths["csv"].write_text(csv_text(results), encoding="utf-8")
    paths["md"].write_text(f"# {title}\n\n{markdown_table(results)}\n", encoding="utf-8")
    paths["html"].write_text(render_html(results, run_dirs, title=title, include_reported=include_reported,
                                         max_timelines=max_timelines, settings=_run_settings(run_dirs)),
                             encoding="utf-8")
    return paths


__all__ = ["load_results", "markdown_table", "write_report"]
