"""Score a run directory from its event logs alone: no model is run again."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from omnibench.data.schema import Sample
from omnibench.engine.eventlog import EventLog, SampleRecord
from omnibench.results import Results, SampleScore, TaskResult
from omnibench.sanitize import dump_json
from omnibench.scoring.base import Score


def collect_records(run_dir: Path, task: str) -> dict[str, dict[str, SampleRecord]]:
    """{model label: {sample id: record}} over every shard; a sample logged twice counts once."""
    out: dict[str, dict[str, SampleRecord]] = defaultdict(dict)
    for path in sorted((run_dir / "logs" / task).glob("*.jsonl")):
        for record in EventLog(path).records():
            out[record.model].setdefault(record.sample_id, record)
    return out


def score_records(task, samples: list[Sample], records: dict[str, SampleRecord]) -> list[SampleScore]:
    """Run every scorer of the task on the logged samples (batch scorers get all items at once)."""
    logged = [(s, records[s.id]) for s in samples if s.id in records]
    ok = [(s, r) for s, r in logged if r.status == "ok"]
    merged: dict[str, Score] = {s.id: Score(values={}) for s, _ in ok}
    for scorer in task.scorers:
        scores = scorer.batch(ok) if hasattr(scorer, "batch") else [scorer(s, r) for s, r in ok]
        for (sample, _), score in zip(ok, scores):
            into = merged[sample.id]
            into.values.update(score.values)
            into.weights.update(score.weights)
            into.explanation = "; ".join(x for x in (into.explanation, score.explanation) if x)
            into.unscored = into.unscored or score.unscored
    out = []
    for sample, record in logged:
        if record.status == "error":
            out.append(SampleScore(sample_id=sample.id, video_id=sample.video_id, values={}, error=record.error))
            continue
        score = merged[sample.id]
        out.append(SampleScore(sample_id=sample.id, video_id=sample.video_id, values=score.values,
                               weights=score.weights, explanation=score.explanation, unscored=score.unscored))
    return out


def score_run(run_dir: str | Path, *, task_settings: dict[str, Any] | None = None,
              tasks: list[str] | None = None) -> list[TaskResult]:
    from omnibench.engine.evaluate import build_task, load_samples, slug
    from omnibench.scoring.metrics import summarize

    run_dir = Path(run_dir)
    names = tasks or sorted(p.name for p in (run_dir / "logs").iterdir() if p.is_dir())
    results: list[TaskResult] = []
    for name in names:
        task = build_task(name, dict(task_settings or {}))
        samples = load_samples(run_dir, name)
        for label, records in sorted(collect_records(run_dir, name).items()):
            scores = score_records(task, samples, records)
            _write_jsonl(run_dir / "scores" / name / f"{slug(label)}.jsonl", scores)
            result = summarize(task.name, label, task.headline, scores)
            result.n_samples = len(samples)
            logged = [r for r in records.values() if r.status == "ok"]
            stream = sum(r.stream_s for r in logged)
            result.rtf = round(sum(r.compute_s for r in logged) / stream, 6) if stream > 0 else None
            result.judge_model = _judge_model(task)
            result.versions = {"task": task.version, "prompts": task.prompts.version}
            result.settings = dict(next(iter(records.values())).settings) if records else {}
            results.append(result)
    _merge_results(run_dir / "results.json", results)
    return results


def _judge_model(task) -> str | None:
    for scorer in task.scorers:
        model = getattr(scorer, "judge_model", None)
        if model:
            return model() if callable(model) else model
    return None


def _write_jsonl(path: Path, rows: list[SampleScore]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text("".join(dump_json(r) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)


def _merge_results(path: Path, new: list[TaskResult]) -> None:
    """Replace the (task, model) entries just scored; keep the others."""
    old = Results.model_validate_json(path.read_text(encoding="utf-8")).results if path.exists() else []
    keys = {(r.task, r.model) for r in new}
    merged = [r for r in old if (r.task, r.model) not in keys] + new
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(dump_json(Results(results=merged), indent=2), encoding="utf-8")
    tmp.replace(path)
