"""Score a run directory from its event logs alone: no model is run again.

The task is rebuilt with the settings recorded by the run that made the answers (alert time, judge
model, ...); a setting given now overrides the recorded one and is recorded in the new results.
The judge's endpoint is never taken from the run directory: it is the user's (flag or environment),
and when it differs from the recorded one `score` refuses, naming both (`judge_url_from_run`
accepts the recorded one, and the user's key goes there).

Records of one (task, label) must come from one run id and one shard layout (rundir.check_one_run).
Each scorer's values are kept apart: a metric name two scorers both give is qualified
`scorer/metric`, and one scorer's unscored leaves the others' values counted. A results entry is
never replaced by one with fewer scored samples unless `force`.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from omnibench.data.schema import Sample
from omnibench.engine.eventlog import SampleRecord, token_usage
from omnibench.errors import ConfigError, DataError
from omnibench.results import Results, SampleScore, TaskResult
from omnibench.rundir import check_one_run, load_samples, read_spec, run_logs, sample_hash, slug
from omnibench.safejson import read_text
from omnibench.sanitize import dump_json
from omnibench.scoring.base import Score, scorer_name, scorer_names, shared_metrics  # noqa: F401 - re-exported

JUDGE_URL_ENV = "OMNIBENCH_JUDGE_BASE_URL"


class ScoredRun(list):
    """The TaskResults in results.json after one `score_run` (a list), with what the command must tell
    the user: `scored`, the results this scoring computed (kept or not); `kept`, entries whose earlier
    results had more scored samples and were kept; `judge_failures`, why a judge could not be used."""

    def __init__(self, results: list[TaskResult], scored: list[TaskResult], kept: list[str],
                 judge_failures: list[str]):
        super().__init__(results)
        self.scored, self.kept, self.judge_failures = scored, kept, judge_failures

    @property
    def failed(self) -> bool:
        """A judge could not be used, or results were kept: the command exits non-zero."""
        return bool(self.judge_failures or self.kept)

    def notes(self) -> list[str]:
        """For people: the most common reasons samples stayed unscored, judges that failed, results kept."""
        out = []
        for r in self.scored:
            if r.n_unscored:
                reasons = "; ".join(f"{n} x {why}" for why, n in r.unscored_reasons.items())
                out.append(f"{r.task} · {r.model}: {r.n_unscored} of {r.n_samples} sample(s) unscored"
                           + (f"; most common: {reasons}" if reasons else ""))
        return out + self.judge_failures + self.kept


def collect_records(run_dir: Path, task: str) -> dict[str, dict[str, SampleRecord]]:
    """{model label: {sample id: latest record}} over every shard (a retried sample: its newest record)."""
    return {label: logs.records for label, logs in run_logs(run_dir, task).items()}


def score_records(task, samples: list[Sample], records: dict[str, SampleRecord]) -> list[SampleScore]:
    """Run every scorer of the task on the logged samples (batch scorers get all items at once)."""
    logged = [(s, records[s.id]) for s in samples if s.id in records]
    ok = [(s, r) for s, r in logged if r.status == "ok"]
    names = scorer_names(task.scorers)
    per_scorer = [(name, list(scorer.batch(ok) if hasattr(scorer, "batch") else [scorer(s, r) for s, r in ok]))
                  for name, scorer in zip(names, task.scorers)]
    seen: dict[str, set[str]] = defaultdict(set)
    for name, scores in per_scorer:
        for score in scores:
            for key in score.values:
                seen[key.split("@")[0]].add(name)
    clash = shared_metrics(task.scorers) | {k for k, owners in seen.items() if len(owners) > 1}

    def qualified(name: str, key: str) -> str:
        return f"{name}/{key}" if key.split("@")[0] in clash else key

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


def judge_settings_for_scoring(recorded: dict | None, given: dict | None, from_run: bool = False) -> dict | None:
    """The judge settings `score` uses: the recorded ones (model, prompt, temperature, ...) under the user's,
    with the endpoint always the user's (`--judge-base-url`, else $OMNIBENCH_JUDGE_BASE_URL, else the OpenAI
    API). A recorded endpoint that differs from it is refused, naming both, unless the user named one
    with the flag or asked for the recorded one (`from_run`)."""
    from omnibench.identity import public_url

    if recorded is None and given is None:
        return None
    recorded, given = dict(recorded or {}), dict(given or {})
    merged = {k: v for k, v in {**recorded, **given}.items() if k != "base_url"}
    if from_run:
        if "base_url" not in recorded:
            raise ConfigError("--judge-url-from-run: this run directory records no judge endpoint")
        return {**merged, "base_url": recorded["base_url"]}
    if given.get("base_url"):
        return {**merged, "base_url": given["base_url"]}
    mine = os.environ.get(JUDGE_URL_ENV) or None
    if "base_url" in recorded and public_url(mine) != recorded["base_url"]:
        def shown(url: str | None) -> str:
            return url or "the OpenAI API (no base URL set)"

        raise ConfigError(
            f"this run was judged at {shown(recorded['base_url'])}; your judge is {shown(public_url(mine))} "
            f"(${JUDGE_URL_ENV}). Your key goes only to an endpoint "
            "you name: pass --judge-base-url URL to judge with yours (verdicts may differ from the run's), or "
            "--judge-url-from-run to send your key to the recorded one.")
    return {**merged, **({"base_url": mine} if mine else {})}


def score_run(run_dir: str | Path, *, task_settings: dict[str, Any] | None = None, tasks: list[str] | None = None,
              judge_url_from_run: bool = False, force: bool = False) -> ScoredRun:
    from omnibench.rundir import build_task
    from omnibench.scoring.metrics import summarize

    run_dir = Path(run_dir)
    names = tasks or sorted(p.name for p in (run_dir / "logs").iterdir() if p.is_dir())
    overrides = {k: v for k, v in (task_settings or {}).items() if v is not None}
    scored: list[tuple[TaskResult, list[SampleScore]]] = []
    failures: list[str] = []
    for name in names:
        for label, logs in sorted(run_logs(run_dir, name).items()):
            check_one_run(run_dir, name, logs)
            records = logs.records
            samples = load_samples(run_dir, name, label)
            spec = read_spec(run_dir, label, next(iter(logs.run_ids)) if logs.run_ids else None)
            recorded = dict(spec.task_specs[name].settings) if spec and name in spec.task_specs else {}
            settings = {**recorded, **overrides}
            if "judge" in recorded or "judge" in overrides:
                settings["judge"] = judge_settings_for_scoring(recorded.get("judge"), overrides.get("judge"),
                                                               judge_url_from_run)
            task = build_task(name, settings)
            check_sample_hashes(name, samples, records)
            scores = score_records(task, samples, records)
            failures += [f"{name} · {label}: {why}" for s in task.scorers for why in _failures(s)]
            result = summarize(task.name, label, task.headline, scores)
            _check_headline(result, scores)
            result.n_samples = len(samples)
            logged = [r for r in records.values() if r.status == "ok"]
            stream = sum(r.stream_s for r in logged)
            result.rtf = round(sum(r.compute_s for r in logged) / stream, 6) if stream > 0 else None
            result.judge_model = _judge_model(task)
            result.versions = {"task": task.version, "prompts": task.prompts.version}
            result.settings = dict(next(iter(records.values())).settings) if records else {}
            usage = token_usage(records.values())
            if usage:                     # the whole task's tokens, not the first sample's
                result.settings["usage"] = usage
            result.task_settings = dict(task.build_settings)
            result.metric_docs = dict(task.metric_docs)
            result.chance = task.chance(samples) if task.chance is not None else None
            result.unscored_reasons = unscored_reasons(scores)
            scored.append((result, scores))
    kept = _merge_results(run_dir, scored, force)
    notes = [f"{r.task} · {r.model}: kept the earlier results ({kept[key].n_scored} scored sample(s)); this scoring "
             f"had {r.n_scored}. --force replaces them" for r, _ in scored if (key := (r.task, r.model)) in kept]
    return ScoredRun([kept.get((r.task, r.model), r) for r, _ in scored], [r for r, _ in scored], notes, failures)


def unscored_reasons(scores: list[SampleScore], top: int = 3) -> dict[str, int]:
    """The most common reasons samples stayed unscored, with counts (numbers and quoted names folded)."""
    from omnibench.engine.evaluate import common_reasons

    return {example: count for count, example, _ in
            common_reasons([(s.sample_id, s.unscored) for s in scores if s.error is None and s.unscored], top)}


def _check_headline(result: TaskResult, scores: list[SampleScore]) -> None:
    """A headline no scorer gave (a scorer declaring no metrics, a typo) is an error naming what they gave."""
    given = sorted({k for s in scores for k in s.values})
    if given and result.headline not in given:
        raise ConfigError(f"task {result.task}: headline {result.headline!r} is not among the metrics its scorers "
                          f"gave: {', '.join(given)}")


def _failures(scorer) -> list[str]:
    failures = getattr(scorer, "failures", None)
    return list(failures()) if callable(failures) else []


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


def _merge_results(run_dir: Path, new: list[tuple[TaskResult, list[SampleScore]]],
                   force: bool) -> dict[tuple[str, str], TaskResult]:
    """Write scores and replace the (task, model) entries just scored, keeping the others. An entry whose
    earlier results had more scored samples is kept (scores too) unless `force`; returns those kept."""
    path = run_dir / "results.json"
    old = {(r.task, r.model): r for r in (Results.model_validate_json(read_text(path)).results
                                          if path.exists() else [])}
    kept = {key: old[key] for key in ((r.task, r.model) for r, _ in new)
            if not force and key in old and old[key].n_scored > next(r.n_scored for r, _ in new
                                                                       if (r.task, r.model) == key)}
    for result, scores in new:
        if (result.task, result.model) not in kept:
            _write_jsonl(run_dir / "scores" / result.task / f"{slug(result.model)}.jsonl", scores)
    fresh = {(r.task, r.model): r for r, _ in new if (r.task, r.model) not in kept}
    merged = [r for key, r in old.items() if key not in fresh] + list(fresh.values())
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(dump_json(Results(results=merged), indent=2), encoding="utf-8")
    tmp.replace(path)
    return kept
