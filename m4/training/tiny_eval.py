"""Evaluate a (tiny) M4 checkpoint with the harness on the interaction tasks, next to baselines.

`python -m omnibench.m4.training.tiny_eval CHECKPOINT OUT` prints one JSON object: headline (with its 95% CI)
and secondary metrics per task for the trained checkpoint, the same architecture untrained (random
weights), and the trivial baselines (silent, chatty, random, blind). Streaming protocol throughout (the second utterance lands mid-answer).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TASKS = ("noise_rejection", "stop_turn", "synth_noise", "synth_stop", "synth_pt")
BASELINES = ("silent", "chatty", "random", "blind", "never_stop", "always_stop")     # every trivial policy of the board


def run_tasks(model: str, model_args: dict[str, Any], out: Path, tasks=TASKS, protocol: str | None = "streaming",
              model_obj: Any = None, task_settings: dict | None = None) -> dict[str, float]:
    """Per task: the headline (key = task), its 95% CI (task:ci_low, task:ci_high) and every other
    metric (task:metric). The interruption tasks' headline already fails a never-started answer."""
    from omnibench.engine.evaluate import Evaluation
    from omnibench.scoring.run_scores import score_run

    settings = task_settings or {"seed": 0}
    Evaluation(model=model, model_args=model_args, out=out, protocol=protocol, progress=False,
               model_obj=model_obj, task_settings=settings).run(list(tasks))
    results: dict[str, float] = {}
    for r in score_run(out, task_settings=settings, tasks=list(tasks)):
        head = r.metrics[r.headline]
        results.update({r.task: head.value, f"{r.task}:ci_low": head.ci_low, f"{r.task}:ci_high": head.ci_high})
        results.update({f"{r.task}:{k}": m.value for k, m in r.metrics.items() if k != r.headline})
    return results


def untrained_like(checkpoint: str | Path, seed: int = 0) -> Any:
    """An m4 adapter with the checkpoint's architecture and tokenizer but freshly initialised weights."""
    from omnibench.m4.inference.pipeline import M4Pipeline
    from omnibench.m4.model.checkpoint import load_tokenizer, read_config
    from omnibench.m4.model.modeling import build_model
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
    suite = ensure_suite(seed=0, tasks=["synth_sg"], progress=False)
    sample = suite.samples["synth_sg"][0]
    frames = list(VideoReader(str(suite.root / sample.video.path)).sample(fps=1.0, start=0.0, end=8.0,
                                                                          size=pipeline.config.frame_size).array)
    questions = [q.text for name in ("synth_sg", "synth_si", "synth_md", "synth_pt") for s in get_task(name).samples()
                 for q in s.turns if q.kind == "question"]
    return score_validation(pipeline, frames, list(dict.fromkeys(questions))[:n_questions])


def evaluate_checkpoint(checkpoint: str | Path, out: str | Path, baselines: bool = False,
                        tasks: tuple[str, ...] = TASKS) -> dict[str, Any]:
    out = Path(out)
    trained = run_tasks("m4", {"checkpoint": str(checkpoint)}, out / "trained", tasks)
    trained.update({f"validation_phrases:{k}": v for k, v in validation_accuracy(checkpoint).items()})
    if not baselines:
        return trained
    untrained = run_tasks("m4", {"checkpoint": str(checkpoint), "untrained": True}, out / "untrained", tasks,
                          model_obj=untrained_like(checkpoint))
    return {"trained": trained, "untrained": untrained,
            **{name: run_tasks(name, {}, out / name, tasks) for name in BASELINES}}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m omnibench.m4.training.tiny_eval CHECKPOINT_DIR OUT_DIR  (the shipped one: m4/checkpoints/tiny)")
    print(json.dumps(evaluate_checkpoint(sys.argv[1], sys.argv[2], baselines=True)))
