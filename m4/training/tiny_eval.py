"""Evaluate a (tiny) M4 checkpoint with the harness on the interaction tasks, next to baselines.

`python -m omnibench.m4.training.tiny_eval CHECKPOINT OUT` prints one JSON object: headline metric per task
for the trained checkpoint, the same architecture untrained (random weights), and the `random`
baseline. Streaming protocol throughout (noise and stop land mid-answer).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TASKS = ("synth_noise", "synth_stop", "synth_pt", "noise_rejection", "stop_turn")


def run_tasks(model: str, model_args: dict[str, Any], out: Path, tasks=TASKS, protocol: str | None = "streaming",
              model_obj: Any = None) -> dict[str, float]:
    from omnibench.engine.evaluate import Evaluation
    from omnibench.scoring.run_scores import score_run

    Evaluation(model=model, model_args=model_args, out=out, protocol=protocol, progress=False,
               model_obj=model_obj).run(list(tasks))
    results = {r.task: r.metrics[r.headline].value for r in score_run(out, tasks=list(tasks))}
    for task in tasks:
        if "stop" in task:       # compliance is only meaningful when the stop lands in a running answer
            results.update({f"{task}:{k}": v for k, v in stop_outcomes(out, task).items()})
    return results


def stop_outcomes(run_dir: Path, task: str) -> dict[str, float]:
    """answering_at_stop: share of samples with a (partial) answer before the stop turn;
    stopped_mid_answer: share that were answering *and* said nothing after the stop (a model that
    never answers complies trivially, this one it cannot game)."""
    from omnibench.results import SampleScore
    from omnibench.scoring.run_scores import collect_records

    complied = {}
    for path in (Path(run_dir) / "scores" / task).glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            score = SampleScore.model_validate_json(line)
            complied[score.sample_id] = score.values.get("compliance") == 1.0
    answering = stopped = total = 0
    for records in collect_records(Path(run_dir), task).values():
        for record in records.values():
            stop_t = record.query_time(1)
            said = any((e.text or "").strip() and stop_t is not None and e.t <= stop_t for e in record.emissions(0))
            total += 1
            answering += said
            stopped += said and complied.get(record.sample_id, False)
    return {"answering_at_stop": answering / total if total else 0.0,
            "stopped_mid_answer": stopped / total if total else 0.0}


def untrained_like(checkpoint: str | Path, seed: int = 0) -> Any:
    """An m4 adapter with the checkpoint's architecture and tokenizer but freshly initialised weights."""
    from omnibench.m4.model.checkpoint import load_tokenizer, read_config
    from omnibench.m4.model.modeling import build_model
    from omnibench.m4.inference.pipeline import M4Pipeline
    from omnibench.models.m4 import M4Adapter

    adapter = M4Adapter(checkpoint=str(checkpoint))
    adapter.pipeline = M4Pipeline.build(build_model(read_config(checkpoint), seed=seed), load_tokenizer(checkpoint))
    return adapter


def validation_accuracy(checkpoint: str | Path, n_questions: int = 40) -> dict[str, float]:
    """Per kind, the share of the held-out validation phrases (never in training, never in a
    benchmark task) decided right, each landing in a running answer; questions must be answered."""
    from omnibench.data.synth import ensure_suite
    from omnibench.data.video import VideoReader
    from omnibench.m4.inference.calibrate import score_validation
    from omnibench.m4.inference.pipeline import M4Pipeline
    from omnibench.registry import get_task

    pipeline = M4Pipeline.from_checkpoint(str(checkpoint))
    suite = ensure_suite(seed=0, progress=False)
    sample = suite.samples["synth_sg"][0]
    frames = list(VideoReader(str(suite.root / sample.video.path)).sample(fps=1.0, start=0.0, end=8.0,
                                                                          size=pipeline.config.frame_size).array)
    questions = [q.text for name in ("synth_sg", "synth_si", "synth_md", "synth_pt") for s in get_task(name).samples()
                 for q in s.turns if q.kind == "question"]
    return score_validation(pipeline, frames, list(dict.fromkeys(questions))[:n_questions])


def evaluate_checkpoint(checkpoint: str | Path, out: str | Path, baselines: bool = False) -> dict[str, Any]:
    out = Path(out)
    trained = run_tasks("m4", {"checkpoint": str(checkpoint)}, out / "trained")
    trained.update({f"validation_phrases:{k}": v for k, v in validation_accuracy(checkpoint).items()})
    if not baselines:
        return trained
    untrained = run_tasks("m4", {"checkpoint": str(checkpoint), "untrained": True}, out / "untrained",
                          model_obj=untrained_like(checkpoint))
    rand = run_tasks("random", {}, out / "random")
    return {"trained": trained, "untrained": untrained, "random": rand}


if __name__ == "__main__":
    print(json.dumps(evaluate_checkpoint(sys.argv[1], sys.argv[2], baselines=True)))
