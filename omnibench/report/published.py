"""Published leaderboards of peer benchmarks, shown beside our measured rows and never mixed with them.

One entry per benchmark in BENCHMARKS, keyed by its name: its columns (each filled, for our measured
rows, by one of our tasks' headline, or the mean of other columns), and the packaged CSV of its
published rows (percent as published; an empty cell in a column marked `empty_means_unable` reads
as "unable"). A benchmark is shown when any of its tasks was measured (or reported rows are asked
for); its measured rows carry n and CI, its published rows sit in their own marked section.

To add one: a CSV with a header naming each column key and the `info` fields, packaged as data,
and an entry here (e.g. "ovobench": columns ("epm", "EPM", task="ovobench_epm"), ...).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class PublishedColumn:
    key: str                        # CSV header of the published rows
    label: str                      # shown in tables
    task: str | None = None         # our task whose headline fills measured rows
    parts: tuple[str, ...] = ()     # or: measured rows show the mean of these columns (all needed)
    empty_means_unable: bool = False


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str                      # who published the rows: "OmniMMI (CVPR 2025)"
    columns: tuple[PublishedColumn, ...]
    package: str                    # where the published rows are packaged
    rows_file: str
    info: tuple[tuple[str, str], ...] = ()    # (CSV field, label) shown beside each published model
    note: str = ""

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(c.task for c in self.columns if c.task)

    def published_rows(self) -> list[dict[str, str]]:
        text = (resources.files(self.package) / self.rows_file).read_text(encoding="utf-8")
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


OMNIMMI = Benchmark(
    name="omnimmi", title="OmniMMI (CVPR 2025)",
    columns=(PublishedColumn("sg_avg", "SG avg", task="omnimmi_sg"), PublishedColumn("ap", "AP", task="omnimmi_ap"),
             PublishedColumn("md_avg", "MD avg", task="omnimmi_md"), PublishedColumn("si", "SI", task="omnimmi_si"),
             PublishedColumn("pa", "PA", task="omnimmi_pa", empty_means_unable=True),
             PublishedColumn("pt", "PT", task="omnimmi_pt", empty_means_unable=True),
             PublishedColumn("avg_wo_p", "avg w/o P", parts=("sg_avg", "ap", "md_avg", "si"))),
    package="omnibench.data.omnimmi_files", rows_file="reported_leaderboard.csv",
    info=(("group", "group"), ("llm", "LLM"), ("num_frames", "frames")),
    note="avg w/o P: measured rows, the mean of our SG avg, AP, MD avg and SI (all four needed); published rows "
         "as published (11 of 25 differ from the mean of their parts).")

BENCHMARKS: dict[str, Benchmark] = {"omnimmi": OMNIMMI}
