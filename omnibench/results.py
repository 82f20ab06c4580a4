"""What a run writes besides its event logs: run settings and per-task results (pydantic).

Run directory layout:
    RUN_DIR/samples/{task}/{model}.jsonl               the Samples each model evaluated (score/report need no data)
    RUN_DIR/run.json                                   rundir.RunSpec (RunInfo reads its common fields)
    RUN_DIR/specs/{model}.json, specs/{model}/{run id}.json   the RunSpecs of each model (see omnibench.rundir)
    RUN_DIR/logs/{task}/{model}.shard{i}of{n}.jsonl    event logs (engine.eventlog.SampleRecord per line)
    RUN_DIR/scores/{task}/{model}.jsonl                per-sample scores (SampleScore per line)
    RUN_DIR/results.json                               Results (TaskResult per task and model)
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class MetricValue(BaseModel):
    value: float | None                    # None: nothing scored
    ci_low: float | None = None            # bootstrap 95% CI, clustered by video
    ci_high: float | None = None
    n: int = 0                             # samples that contributed


class SampleScore(BaseModel):
    sample_id: str
    video_id: str
    values: dict[str, float | None]
    weights: dict[str, float] = Field(default_factory=dict)
    explanation: str = ""
    unscored: str | None = None            # no scorer could score the sample
    partly_unscored: str | None = None     # some scorers could not (their values are None)
    error: str | None = None               # the sample's run errored; not scored


class TaskResult(BaseModel):
    task: str
    model: str
    headline: str
    metrics: dict[str, MetricValue]
    n_samples: int
    n_scored: int
    n_errors: int
    n_unscored: int
    judge_model: str | None = None
    rtf: float | None = None               # real-time factor: compute seconds / stream seconds
    settings: dict[str, Any] = Field(default_factory=dict)
    task_settings: dict[str, Any] = Field(default_factory=dict)   # what the task was built with when scored
    versions: dict[str, str] = Field(default_factory=dict)
    metric_docs: dict[str, str] = Field(default_factory=dict)    # the task's own metric definitions (Task.metric_docs)
    # the headline per video, (weighted sum, weight): the board's rank CI and paired comparisons resample these
    headline_by_video: dict[str, tuple[float, float]] = Field(default_factory=dict)
    chance: float | None = None            # the headline a guesser gets on these samples (scoring.chance)
    unscored_reasons: dict[str, int] = Field(default_factory=dict)  # most common reasons samples stayed unscored


class RunInfo(BaseModel):
    model: str
    model_args: dict[str, Any] = Field(default_factory=dict)   # secrets redacted
    tasks: list[str]
    mode: str = "lockstep"
    shard: str = "0/1"
    limit: int | None = None
    versions: dict[str, str] = Field(default_factory=dict)


class Results(BaseModel):
    results: list[TaskResult] = Field(default_factory=list)
