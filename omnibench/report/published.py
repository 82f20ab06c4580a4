"""Published leaderboards of peer benchmarks, shown beside our measured rows and never mixed with them.

One entry per benchmark in BENCHMARKS, keyed by its name: its columns and the packaged CSV of its
published rows (percent as printed; an empty cell in a column marked `empty_means_unable` reads as
"unable", elsewhere as "not reported"). A column is filled, for our measured rows, either by one of
our tasks (its headline, or a named metric of it), or by combining other columns as the benchmark
combines them: an unweighted mean, or a pool weighted by question counts (a weight of None: the
part's own count of scored samples). `partial` columns combine the parts that were measured (OVO-
Bench's group averages); the others need every part. A combined cell carries a CI when every task
under it is a headline with per-video values (videos resampled together, as for the rank score).

A benchmark is shown when any of its tasks was measured (or reported rows are asked for); its
measured rows carry n and CI, its published rows sit in their own marked section.
To add one: its published CSV packaged as data, and an entry here.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class PublishedColumn:
    key: str                                 # CSV header of the published rows
    label: str = ""                          # shown in tables (default: the key)
    task: str | None = None                  # our task filling measured rows
    metric: str | None = None                # ... its metric (default: the task's headline)
    parts: tuple[str, ...] = ()              # or: these columns combined
    weights: tuple[float | None, ...] = ()   # ... pooled by these counts (None: the part's scored samples); () mean
    partial: bool = False                    # ... over the parts measured (else all are needed)
    empty_means_unable: bool = False

    @property
    def shown(self) -> str:
        return self.label or self.key


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str                               # who published the rows: "OmniMMI (CVPR 2025)"
    columns: tuple[PublishedColumn, ...]
    package: str                             # where the published rows are packaged
    rows_file: str
    info: tuple[tuple[str, str], ...] = ()   # (CSV field, label) shown beside each published model
    note: str = ""

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.task for c in self.columns if c.task))

    def published_rows(self) -> list[dict[str, str]]:
        text = (resources.files(self.package) / self.rows_file).read_text(encoding="utf-8")
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


def _col(key: str, task: str, **kw) -> PublishedColumn:
    return PublishedColumn(key, task=task, **kw)


OMNIMMI = Benchmark(
    name="omnimmi", title="OmniMMI (CVPR 2025)",
    columns=(_col("sg_avg", "omnimmi_sg", label="SG avg"), _col("ap", "omnimmi_ap", label="AP"),
             _col("md_avg", "omnimmi_md", label="MD avg"), _col("si", "omnimmi_si", label="SI"),
             _col("pa", "omnimmi_pa", label="PA", empty_means_unable=True),
             _col("pt", "omnimmi_pt", label="PT", empty_means_unable=True),
             PublishedColumn("avg_wo_p", "avg w/o P", parts=("sg_avg", "ap", "md_avg", "si"))),
    package="omnibench.data.omnimmi_files", rows_file="reported_leaderboard.csv",
    info=(("group", "group"), ("llm", "LLM"), ("num_frames", "frames")),
    note="avg w/o P: measured rows, the mean of our SG avg, AP, MD avg and SI (all four needed); published rows "
         "as published (11 of 25 differ from the mean of their parts).")

_OVO_GROUPS = {"realtime": ("OCR", "ACR", "ATR", "STU", "FPD", "OJR"), "backward": ("EPM", "ASI", "HLD"),
               "forward": ("REC", "SSR", "CRR")}
OVOBENCH = Benchmark(
    name="ovobench", title="OVO-Bench (CVPR 2025)",
    columns=tuple(c for group, codes in _OVO_GROUPS.items() for c in (
        *(_col(code, f"ovobench_{code.lower()}") for code in codes),
        PublishedColumn(f"{group}_avg", parts=codes, partial=True))) + (
        PublishedColumn("total_avg", parts=tuple(f"{g}_avg" for g in _OVO_GROUPS)),),
    package="omnibench.data.peer_files", rows_file="ovobench_reported.csv",
    info=(("group", "group"), ("frames", "frames")),
    note="group averages: unweighted means of the measured task accuracies; total: the mean of the three groups "
         "(all three needed), as OVO-Bench computes them.")

_SB_REAL = ("OP", "CR", "CS", "ATP", "EU", "TR", "PR", "SU", "ACP", "CT")
_SB_METRIC = {"OP": "object_recognition", "CR": "causal_reasoning", "CS": "clips_summarize",
              "ATP": "attribute_recognition", "EU": "event_understanding", "TR": "text_rich_understanding",
              "PR": "prospective_reasoning", "SU": "spatial_understanding", "ACP": "action_recognition",
              "CT": "counting", "ER": "emotion_recognition", "SCU": "scene_understanding",
              "SD": "source_discrimination", "MA": "multimodal_alignment",
              "ACU": "anomaly_context_understanding", "MCU": "misleading_context_understanding"}
STREAMINGBENCH = Benchmark(
    name="streamingbench", title="StreamingBench (ICLR 2025)",
    columns=(*(_col(code, "streamingbench_real", metric=_SB_METRIC[code]) for code in _SB_REAL),
             _col("real_all", "streamingbench_real", metric="accuracy"),
             *(_col(code, "streamingbench_omni", metric=_SB_METRIC[code]) for code in ("ER", "SCU", "SD", "MA")),
             PublishedColumn("omni_all", parts=("ER", "SCU", "SD", "MA"), weights=(250, 250, 250, 250)),
             *(_col(code, "streamingbench_omni", metric=_SB_METRIC[code]) for code in ("ACU", "MCU")),
             _col("SQA", "streamingbench_sqa", metric="accuracy"),
             _col("PO", "streamingbench_proactive", metric="answer_accuracy"),
             PublishedColumn("contextual_all", parts=("ACU", "MCU", "SQA", "PO"), weights=(250, 250, 250, None)),
             PublishedColumn("overall", parts=("real_all", "omni_all", "contextual_all"), weights=(2500, 1000, None))),
    package="omnibench.data.peer_files", rows_file="streamingbench_reported.csv",
    info=(("group", "group"), ("params", "params"), ("frames", "frames")),
    note="All and overall columns pool question types by question count (250 a type, 2,500 real-time questions; "
         "proactive output by the samples we scored, where the published tables scored 50); published rows are "
         "StreamingBench's main table (60 s of context before each question).")

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (OMNIMMI, OVOBENCH, STREAMINGBENCH)}
