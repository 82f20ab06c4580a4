"""Leaderboards (CSV, Markdown, an HTML page with per-sample files beside it) and per-sample timelines."""

from omnibench.report.html import render_html, write_report
from omnibench.report.markdown import markdown_table
from omnibench.report.runs import load_results
from omnibench.report.tables import build_leaderboard, reported_rows
from omnibench.report.tidy import csv_text
from omnibench.report.timeline import sample_figure, timeline_svg

__all__ = ["build_leaderboard", "csv_text", "load_results", "markdown_table", "render_html", "reported_rows",
           "sample_figure", "timeline_svg", "write_report"]
