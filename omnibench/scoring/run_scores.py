"""Score a run directory from its event logs alone: no model is run again.

The task is rebuilt with the settings recorded in the run's spec (alert time, judge, ...); a
setting given now overrides the recorded one and is recorded in the new results. Each scorer's
values are kept apart: a metric name two scorers both produce is qualified `scorer/metric`, and
one scorer's unscored leaves the others' values counted.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from omnibench.data.schema import Sample
from omnibench.engine.eventlog import EventLog, SampleRecord, latest_records
from omnibench.errors import DataError
from omnibench.results import Results, SampleScore, TaskResult
from omnibench.rundir import load_samples, read_spec, sample_hash, slug
from omnibench.sanitize import dump_json
from omnibench.scoring.base import Score


def collect_records(run_dir: Path, task: str) -> dict[str, dict[str, SampleRecord]]:
    """{model label: {sample id: latest record}} over every shard (a retried sample: its newest record)."""
    grouped: dict[str, list[SampleRecord]] = defaultdict(list)
    for path in sorted((Path(run_dir) / "logs" / task).glob("*.jsonl")):
        for record in EventLog(path).records():
            grouped[record.model].append(record)
    return {label: latest_records(records) for label, records in grouped.items()}


def scorer_name(scorer: Any) -> str:
    """`scorer_name` if set; a closure `alert_timing.<locals>.score` is `alert_timing`; else its own name."""
    if getattr(scorer, "scorer_name", None):
        return str(scorer.scorer_name)
    qualname = getattr(scorer, "__qualname__", None) or type(scorer).__name__
    own = qualname.split(".")[-1]
    return qualname.split(".<locals>")[0].split(".")[-1] if own in ("score", "scorer", "__call__") else own


def score_records(task, samples: list[Sample], records: dict[str, SampleRecord]) -> list[SampleScore]:
    """Run every scorer of the task on the logged samples (batch scorers get all items at once)."""
    logged = [(s, records[s.id]) for s in samples if s.id in records]
    ok = [(s, r) for s, r in logged if r.status == "ok"]
    per_scorer: list[tuple[str, list[Score]]] = []
    for scorer in task.scorers:
        scores = scorer.batch(ok) if hasattr(scorer, "batch") else [scorer(s, r) for s, r in ok]
        name = scorer_name(scorer)
        if name in [n for n, _ in per_scorer]:
            name = f"{name}#{len(per_scorer) + 1}"
        per_scorer.append((name, list(scores)))
    seen: dict[str, set[str]] = defaultdict(set)
    for name, scores in per_scorer:
        for score in scores:
            for key in score.values:
                seen[key].add(name)
    clash = {k for k, names in seen.items() if len(names) > 1}

    def qualified(name: str, key: str) -> str:
        return f"{name}/{key}" if key in clash else key

    ok_index = {s.id: i for i, (s, _) in enumerate(ok)}
    out = []
    for sample, record in logged:
        if record.status == "error":
            out.append(SampleScore(sample_id=sample.id, video_id=sample.video_id, values={}, error=record.error))
            continue
        i = ok_index[sample.id]
        values: dict[str, float | None] = {}
        weights: dict[str, float] = {}
        why, unscored = [], []
        for name, scores in per_scorer:
            score = scores[i]
            for key, value in score.values.items():
                values[qualified(name, key)] = None if score.unscored else value
            weights.update({qualified(name, k): w for k, w in score.weights.items()})
            if score.explanation:
                why.append(score.explanation)
            if score.unscored:
                unscored.append(f"{name}: {score.unscored}" if len(per_scorer) > 1 else score.unscored)
        # unscored only when no scorer gave a value: the others' values still count
        all_unscored = bool(unscored) and len(unscored) == len(per_scorer)
        out.append(SampleScore(sample_id=sample.id, video_id=sample.video_id, values=values, weights=weights,
                               explanation="; ".join(why), unscored="; ".join(unscored) if all_unscored else None,
                               partly_unscored="; ".join(unscored) if unscored and not all_unscored else None))
    return out


def check_sample_hashes(task: str, samples: list[Sample], records: dict[str, SampleRecord]) -> None:
    hashes = {s.id: sample_hash(s) for s in samples}
    changed = [sid for sid, r in records.items() if sid in hashes and r.sample_hash not in (None, hashes[sid])]
    if changed:
        raise DataError(f"task {task}: the answers of {len(changed)} sample(s) were made for a different "
                        f"version of the sample: {', '.join(sorted(changed)[:10])}; rerun them with "
                        "`omnibench run ... --rerun-changed`")


def score_run(run_dir: str | Path, *, task_settings: dict[str, Any] | None = None,
              tasks: list[str] | None = None) -> list[TaskResult]:
    from omnibench.rundir import build_task
    from omnibench.scoring.metrics import summarize

    run_dir = Path(run_dir)
    names = tasks or sorted(p.name for p in (run_dir / "logs").iterdir() if p.is_dir())
    overrides = {k: v for k, v in (task_settings or {}).items() if v is not None}
    results: list[TaskResult] = []
    for name in names:
        samples = load_samples(run_dir, name)
        for label, records in sorted(collect_records(run_dir, name).items()):
            spec = read_spec(run_dir, label)
            recorded = dict(spec.task_specs[name].settings) if spec and name in spec.task_specs else {}
            settings = {**recorded, **overrides}
            task = build_task(name, settings)
            check_sample_hashes(name, samples, records)
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
            result.task_settings = dict(task.build_settings)
            result.metric_docs = dict(task.metric_docs)
            result.chance = task.chance(samples) if task.chance is not None else None
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
