"""Run directories shaped like the main job's: the board's tasks and sizes, five models, talkative event logs.

Built from the pydantic models directly (no video, no model), so page size and layout can be checked
on a report as large as the one `python run_eval.py` writes, in seconds.
"""

from __future__ import annotations

import random
from pathlib import Path

from omnibench import registry
from omnibench.cli import BOARD_TASKS
from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.data.synth import INTERRUPTION_TASKS, N_INTERRUPTION, N_PER_TASK
from omnibench.engine.eventlog import Event, SampleRecord
from omnibench.report.tables import SECONDARY_METRICS
from omnibench.results import Results, RunInfo, SampleScore
from omnibench.scoring.metrics import summarize

MODELS = ("m4-tiny", "silent", "chatty", "random", "blind")
COLOURS = ["red", "green", "blue", "yellow", "purple"]


def _sample(task: str, k: int, cls: str | None) -> Sample:
    video = VideoRef(path=f"{task}-50/videos/{task}_{k:03d}.mp4", end=18.0)
    meta = {"video_id": f"{task}_{k:03d}"}
    if task.endswith("_pa"):
        turns = [Query(t=0.0, text="Tell me when a red circle appears.", kind="alert_request", target=[6.0, 9.0])]
    elif cls in ("noise", "followup"):
        turns = [Query(t=4.0, text="What colour is the square?", target="red", choices=COLOURS),
                 Query(t=5.5, text="And the circle, what colour is it?", kind="noise",
                       target="blue" if cls == "followup" else None, choices=COLOURS)]
        meta["interruption"] = cls
    elif cls in ("stop", "lure"):
        turns = [Query(t=4.0, text="Describe everything you have seen in the video so far."),
                 Query(t=5.5, text="Stop, that's enough." if cls == "stop" else "Don't stop now.", kind="stop")]
        meta["interruption"] = cls
    elif task.endswith("_pt"):
        turns = [Query(t=None, text="I wonder what is for dinner.", kind="noise")]
    else:
        turns = [Query(t=8.0, text="What colour is the first shape?", target="red", choices=COLOURS),
                 Query(t=12.0, text="How many ##ANSWER## shapes appear?", target="2", depends_on=0,
                       choices=[str(i) for i in range(1, 10)])]
    return Sample(id=f"{task}-{k:03d}" + (f"-{cls}" if cls else ""), task=task, video=video, turns=turns,
                  metadata=meta)


def _record(sample: Sample, model: str) -> SampleRecord:
    """A talkative stream (chatty's shape: an alert every second), frames logged as the runner does."""
    events = [Event(kind="frame", t=float(t), compute_s=0.005) for t in range(19)]
    for i, q in enumerate(sample.turns):
        t = q.t if q.t is not None else 18.0
        events.append(Event(kind="query", t=t, turn=i, text=q.text))
        events.append(Event(kind="emission", t=t, turn=i, text="Sure, here is what I see.", done=True))
    events += [Event(kind="emission", t=float(t), turn=None, text="alert", refers_to=float(t), done=True)
               for t in range(23)]
    events.sort(key=lambda ev: ev.t)
    return SampleRecord(sample_id=sample.id, task=sample.task, model=model, events=events, stream_s=23.0,
                        settings={"protocol": "streaming", "mode": "lockstep", "fps": 1.0, "tail_s": 5.0})


LONG_ERROR = ("ModelError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 23.65 GiB total capacity; "
              "21.10 GiB already allocated; 1.02 GiB free; 21.50 GiB reserved in total by PyTorch)")


def write_main_job_like_runs(root: Path, models: tuple[str, ...] = MODELS, *, logs: bool = True) -> list[Path]:
    """One run directory per model; `logs=False` writes results only (the board without sample views).
    The first model's first two synth_pa samples failed with a long error (as a real run records them)."""
    from omnibench.engine.evaluate import slug

    tasks = registry.resolve_tasks(BOARD_TASKS)
    runs = []
    for m, model in enumerate(models):
        run = root / model
        results = []
        for task in tasks:
            source = task if task.startswith("synth_") else ("synth_noise" if "noise" in task else "synth_stop")
            family = "noise" if "noise" in source else "stop"
            classes = {"noise": ("noise", "followup"), "stop": ("stop", "lure")}[family]
            samples = ([_sample(task, k, c) for k in range(N_INTERRUPTION) for c in classes]
                       if source in INTERRUPTION_TASKS else [_sample(task, k, None) for k in range(N_PER_TASK)])
            failed = {s.id for s in samples[:2]} if m == 0 and task == "synth_pa" else set()
            records = [_record(s, model) for s in samples]
            records = [r.model_copy(update={"status": "error", "error": LONG_ERROR}) if r.sample_id in failed else r
                       for r in records]
            built = registry.get_task(task)
            rng = random.Random(f"{model}{task}")
            rate = 0.15 + 0.15 * m
            scores = [SampleScore(sample_id=s.id, video_id=s.video_id, explanation="turn 0: right",
                                  error=LONG_ERROR if s.id in failed else None,
                                  values={built.headline: float(rng.random() < rate),
                                          **{x: float(rng.random() < 0.3) for x in SECONDARY_METRICS.get(task, ())}})
                      for s in samples]
            if logs:
                (run / "samples").mkdir(parents=True, exist_ok=True)
                (run / "samples" / f"{task}.jsonl").write_text("".join(s.model_dump_json() + "\n" for s in samples))
                log = run / "logs" / task / f"{slug(model)}.shard0of1.jsonl"     # EventLog's format, unsynced
                log.parent.mkdir(parents=True, exist_ok=True)
                log.write_text("".join(r.model_dump_json() + "\n" for r in records), encoding="utf-8")
                (run / "scores" / task).mkdir(parents=True, exist_ok=True)
                (run / "scores" / task / f"{slug(model)}.jsonl").write_text(
                    "".join(x.model_dump_json() + "\n" for x in scores))
            result = summarize(task, model, built.headline, scores, n_boot=200)
            result.metric_docs, result.chance = dict(built.metric_docs), 0.5 if "balanced" in built.headline else 0.2
            results.append(result)
        run.mkdir(parents=True, exist_ok=True)
        (run / "results.json").write_text(Results(results=results).model_dump_json(), encoding="utf-8")
        (run / "run.json").write_text(RunInfo(model=model, tasks=tasks).model_dump_json(), encoding="utf-8")
        runs.append(run)
    return runs
