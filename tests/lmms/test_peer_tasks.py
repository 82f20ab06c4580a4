"""The OVO-Bench, StreamingBench and synth_forward tasks exported to lmms-eval like the OmniMMI ones."""

from __future__ import annotations

import json
import math

from omnibench.engine.evaluate import Evaluation
from omnibench.lmms import scoring
from omnibench.lmms.tasks import SPECS, doc_to_text, doc_to_visual, write_task_dir
from omnibench.models.baselines import RandomModel
from omnibench.scoring.run_scores import score_run
from tests.peer_layout import write_ovobench, write_streamingbench

PEER_SPECS = tuple(s for s in SPECS if s.family in ("ovobench", "streamingbench"))


def _docs(folder, name):
    return [json.loads(line) for line in (folder / f"omnibench_{name}.jsonl").read_text().splitlines()]


def _lmms_score(docs, answer):
    per_metric: dict[str, list] = {}
    for doc in docs:
        for metric, item in scoring.process_results(doc, [answer(doc)]).items():
            per_metric.setdefault(metric, []).append(item)
    return {metric: scoring.aggregate(items) for metric, items in per_metric.items()}


def test_every_offline_peer_task_and_synth_forward_is_offered():
    names = {s.task for s in SPECS}
    assert {f"ovobench_{c}" for c in ("epm", "hld", "ocr", "rec", "ssr", "crr")} <= names
    assert {"streamingbench_real", "streamingbench_omni", "streamingbench_sqa", "synth_forward"} <= names
    assert "streamingbench_proactive" not in names        # streaming only


def test_peer_docs_and_the_same_numbers_as_omnibench(tmp_path):
    ovo, sb = write_ovobench(tmp_path / "ovo"), write_streamingbench(tmp_path / "sb")
    settings = {"ovobench": {"data_dir": str(ovo)}, "streamingbench": {"data_dir": str(sb)}}
    names = write_task_dir(tmp_path / "tasks", settings, PEER_SPECS)
    assert "omnibench_ovobench_rec" in names and "omnibench_streamingbench_real" in names
    rec = _docs(tmp_path / "tasks", "ovobench_rec")
    assert [d["doc_id"] for d in rec] == ["rec-0009#0", "rec-0009#1", "rec-0009#2"]
    assert json.loads(rec[2]["span"]) == [0.0, 5.5] and doc_to_visual(rec[0])[0].endswith("COIN/jump.mp4")
    assert '"jumping"' in doc_to_text(rec[0])
    for task in ("ovobench_ocr", "streamingbench_real"):
        run = tmp_path / f"run_{task}"
        model = RandomModel(seed=3)
        Evaluation(model="random", model_obj=model, out=run, progress=False,
                   task_settings=settings[task.split("_")[0]]).run([task])
        ours = score_run(run, task_settings=settings[task.split("_")[0]], tasks=[task])[0].metrics
        docs = _docs(tmp_path / "tasks", task)
        got = _lmms_score(docs, lambda d, model=model: model._answer(
            d["sample_id"], int(d["turn"]), json.loads(d["sample"])["turns"][int(d["turn"])]["choices"]))
        assert {k: v for k, v in got.items() if k in ours} == {k: m.value for k, m in ours.items()}
        assert all(math.isnan(v) for k, v in got.items() if k not in ours)     # types this data lacks


def test_without_ovobench_annotations_its_tasks_are_left_out(tmp_path, monkeypatch):
    monkeypatch.delenv("OMNIBENCH_OVOBENCH_DIR", raising=False)
    names = write_task_dir(tmp_path / "tasks", {"ovobench": {"data_dir": None}, "streamingbench": {}}, PEER_SPECS)
    assert not any("ovobench" in n for n in names) and "omnibench_streamingbench_sqa" in names
