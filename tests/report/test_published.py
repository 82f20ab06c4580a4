"""Published leaderboards of peer benchmarks: measured columns combined as each benchmark combines them,
with n and CI, and their published rows kept apart (one mechanism for OmniMMI, OVO-Bench, StreamingBench)."""

from __future__ import annotations

import pytest

from omnibench.report import markdown_table, write_report
from omnibench.report.published import BENCHMARKS, OVOBENCH, STREAMINGBENCH
from omnibench.report.tables import measured_columns
from omnibench.results import MetricValue
from tests.report.test_board import measured
from tests.report.test_report import result, write_run


def test_every_benchmark_reads_its_published_rows_with_every_column():
    for bench in BENCHMARKS.values():
        rows = bench.published_rows()
        assert rows and all(c.key in rows[0] for c in bench.columns) and all(k in rows[0] for k, _ in bench.info)


def test_ovobench_groups_average_the_measured_tasks_and_the_total_needs_all_three():
    results = {r.task: r for r in (measured("ovobench_ocr", "m", 0.6, 60), measured("ovobench_acr", "m", 0.4, 60),
                                   measured("ovobench_epm", "m", 0.3, 60))}
    cols = measured_columns(OVOBENCH, results)
    assert cols["realtime_avg"].value == pytest.approx((60 + 40) / 2)          # the two real-time tasks measured
    assert cols["backward_avg"].value == pytest.approx(30)
    assert "forward_avg" not in cols and "total_avg" not in cols               # no forward task: no total
    low, high = cols["realtime_avg"].ci_low, cols["realtime_avg"].ci_high
    assert low < cols["realtime_avg"].value < high and cols["realtime_avg"].n == 120
    results["ovobench_rec"] = measured("ovobench_rec", "m", 0.9, 60)
    cols = measured_columns(OVOBENCH, results)
    assert cols["total_avg"].value == pytest.approx((50 + 30 + 90) / 3)        # the mean of the three groups


def test_streamingbench_pools_question_types_by_count_as_its_tables_do():
    cats = {"emotion_recognition": 0.2, "scene_understanding": 0.4, "source_discrimination": 0.6,
            "multimodal_alignment": 0.8, "anomaly_context_understanding": 0.5, "misleading_context_understanding": 0.3}
    omni = result("streamingbench_omni", "m", 0.5, n_samples=1500, extra=cats)
    real = result("streamingbench_real", "m", 0.7, n_samples=2500, extra={"counting": 0.1})
    sqa = result("streamingbench_sqa", "m", 0.45, n_samples=250)
    proactive = result("streamingbench_proactive", "m", 0.0, headline="accuracy", n_samples=40, n_errors=4,
                       extra={"answer_accuracy": 0.25})
    cols = {k: c.value for k, c in measured_columns(STREAMINGBENCH, {r.task: r for r in (omni, real, sqa, proactive)})
            .items()}
    assert cols["ER"] == pytest.approx(20) and cols["CT"] == pytest.approx(10) and cols["real_all"] == pytest.approx(70)
    assert cols["omni_all"] == pytest.approx((20 + 40 + 60 + 80) / 4)
    po_n = 36                                                                  # the proactive samples scored
    contextual = (250 * (50 + 30 + 45) + po_n * 25) / (750 + po_n)
    assert cols["contextual_all"] == pytest.approx(contextual)
    assert cols["overall"] == pytest.approx((2500 * 70 + 1000 * 50 + (750 + po_n) * contextual) / (4250 + po_n))


def test_peer_columns_show_measured_rows_with_n_and_ci_apart_from_their_published_rows(tmp_path):
    run = write_run(tmp_path / "r", [measured("ovobench_ocr", "ours", 0.6, 60)])
    paths = write_report([run], tmp_path / "board")
    md, page = paths["md"].read_text(encoding="utf-8"), paths["html"].read_text(encoding="utf-8")
    assert "## OVO-Bench (CVPR 2025) columns (measured here: value [95% CI] n)" in md
    assert "## Reported by OVO-Bench (CVPR 2025) (published reference rows, not measured here)" in md
    row = next(line for line in md.splitlines() if line.startswith("| ours | 60.00 ["))
    assert "n=60/60" in row
    table = page.split('id="published-ovobench"')[1].split("</table>")[0]
    assert "ours" in table.split('<tbody class="reported">')[0] and "Gemini" in table.split('<tbody class="reported">')[1]
    assert "StreamingBench" not in md                                          # not run: not shown
    assert "StreamingBench" in markdown_table([result("synth_si", "m", 0.5)], include_reported=True)


def test_a_measured_cell_keeps_apart_from_published_cells_of_the_same_value(tmp_path):
    """A 5-sample run showed 30.00 above Gemini-1.5-Pro's published 27.46 with nothing to tell them apart."""
    five = result("omnimmi_sg", "tiny-run", 0.3, n_samples=5)
    five.metrics["accuracy"] = MetricValue(value=0.3, ci_low=0.0, ci_high=0.7, n=5)
    md = write_report([write_run(tmp_path / "r", [five])], tmp_path / "board")["md"].read_text(encoding="utf-8")
    measured_part = md.split("## OmniMMI (CVPR 2025) columns (measured here")[1].split("## Reported")[0]
    assert "| tiny-run | 30.00 [0.0, 70.0] n=5/5 |" in measured_part and "Gemini" not in measured_part
    assert "omnimmi_sg accuracy (not ranked)" in md                            # and too few to rank anything
