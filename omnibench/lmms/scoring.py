"""lmms-eval's process_results / aggregation for omnibench tasks: omnibench's own scorers decide.

process_results only files the prediction (with the ids lmms-eval's sample logs would drop);
`aggregate` regroups the turns of each sample into the SampleRecord omnibench's offline driver
would have logged, runs the task's scorers (the judge too, through its cached client) and
returns omnibench's aggregate of the metric. So the same predictions give the same numbers in
both tools. A sample with a turn missing (e.g. `--limit` cut it) is left out, as unrun.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from omnibench.data.schema import Sample
from omnibench.engine.eventlog import Event, SampleRecord
from omnibench.results import MetricValue

MODEL_LABEL = "lmms-eval"
_memo: dict[str, dict[str, MetricValue]] = {}   # one scoring per prediction set, shared by its metrics


def process_results(doc: dict[str, Any], results: list[Any]) -> dict[str, dict[str, Any]]:
    """{metric: item} for every metric of the doc's task; the item is what `aggregate` needs."""
    answer = results[0] if results else ""
    item = {"task": doc["task"], "sample_id": doc["sample_id"], "turn": int(doc["turn"]),
            "n_turns": int(doc["n_turns"]), "answer": answer if isinstance(answer, str) else str(answer),
            "sample": doc["sample"], "settings": doc["settings"], "prompt": doc["prompt"]}
    return {metric: {**item, "metric": metric} for metric in json.loads(doc["metrics"])}


def aggregate(items: list[dict[str, Any]]) -> float:
    """omnibench's value of `items[0]['metric']` over the samples whose every turn was answered."""
    if not items:
        return math.nan
    metrics = score_items(items)
    value = metrics.get(items[0]["metric"])
    return float(value.value) if value is not None and value.value is not None else math.nan


def score_items(items: list[dict[str, Any]]) -> dict[str, MetricValue]:
    """All metrics of one task's predictions (memoized: lmms-eval aggregates metric by metric)."""
    key = _items_key(items)
    if key not in _memo:
        _memo[key] = _score(items)
    return _memo[key]


def records_from_items(items: list[dict[str, Any]]) -> tuple[list[Sample], dict[str, SampleRecord]]:
    """The samples and the records omnibench's offline driver would log for these answers."""
    by_sample: dict[str, dict[int, dict[str, Any]]] = {}
    for item in items:
        by_sample.setdefault(item["sample_id"], {})[int(item["turn"])] = item
    samples: list[Sample] = []
    records: dict[str, SampleRecord] = {}
    for sample_id, turns in by_sample.items():
        first = next(iter(turns.values()))
        if set(turns) != set(range(int(first["n_turns"]))):
            continue
        sample = Sample.model_validate_json(first["sample"])
        events: list[Event] = []
        for i, query in enumerate(sample.turns):
            t = float(query.t if query.t is not None else (sample.video.end or 0.0))
            events.append(Event(kind="query", t=t, turn=i, text=turns[i]["prompt"]))
            events.append(Event(kind="emission", t=t, turn=i, text=turns[i]["answer"], done=True))
        samples.append(sample)
        records[sample_id] = SampleRecord(sample_id=sample_id, task=sample.task, model=MODEL_LABEL, events=events,
                                          settings={"protocol": "offline", "via": "lmms-eval"})
    return samples, records


def _score(items: list[dict[str, Any]]) -> dict[str, MetricValue]:
    from omnibench.rundir import build_task
    from omnibench.scoring.metrics import summarize
    from omnibench.scoring.run_scores import score_records

    task = build_task(items[0]["task"], json.loads(items[0]["settings"]))
    samples, records = records_from_items(items)
    scores = score_records(task, samples, records)
    return summarize(task.name, MODEL_LABEL, task.headline, scores).metrics


def _items_key(items: list[dict[str, Any]]) -> str:
    digest = hashlib.sha256()
    for item in sorted(items, key=lambda x: (x["sample_id"], x["turn"])):
        if item["metric"] == items[0]["metric"]:
            digest.update(json.dumps([item["task"], item["sample_id"], item["turn"], item["answer"],
                                      item["settings"]]).encode())
    return digest.hexdigest()
