"""What a run does next: each task's work list (what is left, longest stream first) and the run's
sequence number, made once (under torchrun by rank 0, for every rank); and, after the ranks meet,
the whole job's status on rank 0."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omnibench.engine.distributed import longest_first, stream_estimate
from omnibench.engine.eventlog import next_run_seq
from omnibench.engine.shard import in_shard
from omnibench.rundir import samples_path, write_samples

if TYPE_CHECKING:
    from omnibench.data.schema import Sample
    from omnibench.engine.evaluate import Evaluation, TaskRun, _Prepared


def mine(evaluation: Evaluation, p: _Prepared) -> list[Sample]:
    """The samples this process may take: its static shard, or (torchrun, one process) all of them."""
    return [s for s in p.samples if in_shard(s.id, evaluation.shard)]


def plan_task(evaluation: Evaluation, p: _Prepared) -> dict[str, Any]:
    """{todo: sample ids, longest stream first; run_seq: this run's number (eventlog.record_order);
    total: the samples this process (or job) covers}. Writes the task's sample set."""
    samples = mine(evaluation, p)
    latest, todo = evaluation._resume_plan(p, samples)
    write_samples(samples_path(evaluation.out, p.task.name, evaluation.label), p.samples)
    order = longest_first(todo, stream_estimate, key=lambda s: s.id)
    return {"todo": [s.id for s in order], "run_seq": next_run_seq(latest.values()), "total": len(samples)}


def whole_job(evaluation: Evaluation, p: _Prepared, status: TaskRun, plan: dict[str, Any]) -> None:
    """(Rank 0, after the meeting) the task's status over every rank's log."""
    latest = evaluation.latest(p.task.name)
    now = [r for sid, r in latest.items() if sid in p.hashes and r.run_seq == plan["run_seq"]]
    status.ran, status.errors = len(now), sum(r.status == "error" for r in now)
    status.failed = {sid: r.error or "" for sid, r in latest.items() if r.status == "error" and sid in p.hashes}
    status.log_paths = evaluation.log_paths(p.task.name)
