"""Evaluate a (tiny) M4 checkpoint with the harness on the interaction tasks, next to baselines.

`python -m omnibench.m4.tiny_eval CHECKPOINT OUT` prints one JSON object: headline metric per task
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
            results[f"{task}:answering_at_stop"] = answering_at_stop(out, task)
    return results


def answering_at_stop(run_dir: Path, task: str) -> float:
    """Share of samples whose question got a (partial) answer before the stop turn was spoken."""
    from omnibench.scoring.run_scores import collect_records

    hits = total = 0
    for records in collect_records(Path(run_dir), task).values():
        for record in records.values():
            stop_t = record.query_time(1)
            said = [e for e in record.emissions(0) if (e.text or "").strip() and stop_t is not None and e.t <= stop_t]
            total += 1
            hits += bool(said)
    return hits / total if total else 0.0


def untrained_like(checkpoint: str | Path, seed: int = 0) -> Any:
    """An m4 adapter with the checkpoint's architecture and tokenizer but freshly initialised weights."""
    from omnibench.m4.checkpoint import load_tokenizer, read_config
    from omnibench.m4.modeling import build_model
    from omnibench.m4.pipeline import M4Pipeline
    from omnibench.models.m4 import M4Adapter

    adapter = M4Adapter(checkpoint=str(checkpoint))
    adapter.pipeline = M4Pipeline.build(build_model(read_config(checkpoint), seed=seed), load_tokenizer(checkpoint))
    return adapter


def evaluate_checkpoint(checkpoint: str | Path, out: str | Path, baselines: bool = False) -> dict[str, Any]:
    out = Path(out)
    trained = run_tasks("m4", {"checkpoint": str(checkpoint)}, out / "trained")
    if not baselines:
        return trained
    untrained = run_tasks("m4", {"checkpoint": str(checkpoint), "untrained": True}, out / "untrained",
                          model_obj=untrained_like(checkpoint))
    rand = run_tasks("random", {}, out / "random")
    return {"trained": trained, "untrained": untrained, "random": rand}


if __name__ == "__main__":
    print(json.dumps(evaluate_checkpoint(sys.argv[1], sys.argv[2], baselines=True)))
