"""replay format=ovobench|streamingbench: their own prediction files through our tasks give their scorers' numbers."""

from __future__ import annotations

import json

import pytest

from omnibench import reference
from omnibench.engine.evaluate import Evaluation
from omnibench.report.published import OVOBENCH
from omnibench.report.tables import measured_columns
from omnibench.scoring.ovobench_results import reference_scores as ovo_scores
from omnibench.scoring.run_scores import score_run
from omnibench.scoring.streamingbench_results import reference_scores as sb_scores
from tests.peer_data import GEMINI, OVO_DIR, SB_DIR, need
from tests.scoring.test_streamingbench_results import MODEL, _generated


def _replay(tmp_path, tasks, path, fmt, settings, protocol=None):
    out = tmp_path / "run"
    Evaluation(model="replay", model_args={"path": str(path), "format": fmt}, out=out, task_settings=settings,
               progress=False, protocol=protocol).run(tasks)
    return {r.task: r for r in score_run(out, task_settings=settings, tasks=tasks)}


def _first_copies(src, dst):
    """Gemini's folder with each question once (it holds five twice, which the reference counts twice)."""
    dst.mkdir(parents=True)
    seen = set()
    for path in sorted(src.glob("*.json")):
        data = json.loads(path.read_text())
        for group in data:
            kept = []
            for entry in data[group]:
                if (entry["task"], entry["id"]) not in seen:
                    seen.add((entry["task"], entry["id"]))
                    kept.append(entry)
            data[group] = kept
        (dst / path.name).write_text(json.dumps(data))
    return dst


def test_gemini_replayed_in_reference_mode_gives_the_reference_scorers_numbers(tmp_path):
    from omnibench.data.ovobench import TASKS, task_name

    folder = _first_copies(need(GEMINI), tmp_path / "Gemini")
    expected, _ = ovo_scores(folder)
    settings = reference.task_settings("ovobench", {"data_dir": str(need(OVO_DIR))})
    results = _replay(tmp_path, [task_name(c) for c in TASKS], folder, "ovobench", settings)
    for code in TASKS:                                   # every task, then the groups and the total
        assert 100 * results[task_name(code)].metrics["accuracy"].value == pytest.approx(expected[code], abs=1e-9)
    columns = {key: cell.value for key, cell in measured_columns(OVOBENCH, results).items()}
    for key in ("backward_avg", "realtime_avg", "forward_avg", "total_avg"):
        assert columns[key] == pytest.approx(expected[key], abs=1e-9)
    assert results["ovobench_epm"].n_errors == 3          # three EPM questions have no answer in the folder
    # our default: a reply listing several letters ("A, D") picks none; the reference's substring passes it
    ours = _replay(tmp_path / "ours", ["ovobench_ocr"], folder, "ovobench", {"data_dir": str(need(OVO_DIR))})
    assert ours["ovobench_ocr"].metrics["accuracy"].value * 149 == pytest.approx(
        results["ovobench_ocr"].metrics["accuracy"].value * 149 - 4)


@pytest.mark.parametrize("subset", ["real", "sqa"])
def test_streamingbench_outputs_replayed_in_reference_mode_give_count_pys_numbers(subset, tmp_path):
    data = _generated(subset, seed=3)
    path = tmp_path / f"{subset}_output_{MODEL}.json"
    path.write_text(json.dumps(data))
    expected, _ = sb_scores(path)
    settings = reference.task_settings("streamingbench", {"data_dir": str(need(SB_DIR))})
    (result,) = _replay(tmp_path, [f"streamingbench_{subset}"], path, "streamingbench", settings).values()
    from omnibench.data.streamingbench import type_code

    for task_type, value in expected.items():
        metric = "accuracy" if task_type == "total" else type_code(task_type)
        assert 100 * result.metrics[metric].value == pytest.approx(value, abs=1e-9), task_type


def test_streamingbench_proactive_replayed_on_the_clock_gives_count_pys_numbers(tmp_path):
    data = _generated("proactive", seed=5)
    path = tmp_path / f"proactive_output_{MODEL}.json"
    path.write_text(json.dumps(data))
    expected, _ = sb_scores(path)
    settings = reference.task_settings("streamingbench", {"data_dir": str(need(SB_DIR))})
    (result,) = _replay(tmp_path, ["streamingbench_proactive"], path, "streamingbench", settings).values()
    answered = result.n_samples - result.n_errors                # a question never answered has no entry there
    assert answered == sum(1 for r in data for q in r["questions"] if MODEL in q)
    assert 100 * result.metrics["answer_accuracy"].value == pytest.approx(expected["Proactive Output"], abs=1e-9)
    assert 100 * result.metrics["time_accuracy"].value == pytest.approx(expected["Proactive Output (time)"], abs=1e-9)
