"""Run tasks x one model into a run directory: identity, resume, retries, shards, error isolation."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnibench import registry
from omnibench.cache import cache_dir, stable_hash
from omnibench.data.schema import Sample
from omnibench.engine.bounds import DEFAULT_MAX_STREAM_S, VideoIssuePolicy, note_video_issues, stream_end
from omnibench.engine.distributed import Job
from omnibench.engine.eventlog import Attempt, EventLog, SampleRecord, latest_records
from omnibench.engine.executor import run_bounded
from omnibench.engine.lock import RunLock
from omnibench.engine.offline import OfflineAsStreaming, resolve_video, run_offline
from omnibench.engine.placement import adapter_of, guarded_model
from omnibench.engine.plan import mine, plan_task, whole_job
from omnibench.engine.protocols import is_offline, is_streaming
from omnibench.engine.stream import Mode, StreamPlan, StreamRunner, check_mode, clock_frames, query_times
from omnibench.engine.worker import START_TIMEOUT_S
from omnibench.engine.wrapper import DEFAULT_TIMEOUT_S, GuardedModel, ModelStuck, ResponseCache
from omnibench.errors import ConfigError, DataError, JudgeError, OmnibenchError
from omnibench.identity import code_of, model_spec
from omnibench.progress import progress
from omnibench.rundir import (
    TaskSpec,
    build_task,
    check_unique_ids,
    load_samples,
    log_layouts,
    log_path,
    model_label,
    public_url,
    read_spec,
    sample_hash,
    secret_values,
    slug,
    with_video_fingerprints,
    write_spec,
)
from omnibench.sanitize import register_secret_settings
from omnibench.task import Task

__all__ = ["Evaluation", "TaskRun", "build_task", "choose_protocol", "load_samples", "slug", "cache_dir",
           "model_label", "failure_summary"]


def judge_settings(task: Task) -> dict[str, Any] | None:
    """Resolve and check the task's judge (key or base URL present) without calling it; what it returns
    is recorded in run.json and rebuilds the same judge in `omnibench score`."""
    for scorer in task.scorers:
        if not hasattr(scorer, "judge_model") or not hasattr(scorer, "client"):
            continue
        client = scorer.client
        if not client.base_url and not client._key.reveal():
            raise JudgeError(f"task {task.name} needs the LLM judge and it has no API key: set "
                             "OMNIBENCH_JUDGE_API_KEY (or OPENAI_API_KEY), or --judge-base-url for a server "
                             "that needs none (checked before any model call)")
        given = dict(getattr(task, "build_settings", {}).get("judge") or {})
        # temperature: None means "send none" (the API default), so it is recorded as given
        return {"model": client.model, "base_url": public_url(client.base_url),
                "prompt": given.get("prompt") or client.prompt_version, "temperature": client.temperature,
                "judge_empty": client.judge_empty, "timeout_s": client.timeout_s,
                "attempts": client.max_retries + 1, "parse": client.parse}
    return None


def choose_protocol(task: Task, model: Any, forced: str | None = None) -> str:
    """'offline', 'streaming', or 'bridge' (an offline model polled on a streaming task)."""
    offline, streaming = is_offline(model), is_streaming(model)
    if forced:
        if forced == "streaming" and not streaming and offline and "streaming" in task.protocols:
            return "bridge"
        if (forced == "offline" and offline and "offline" in task.protocols) or (forced == "streaming" and streaming):
            return forced
        raise ConfigError(f"task {task.name} cannot run with protocol {forced!r} for this model")
    for protocol in task.protocols:
        if (protocol == "streaming" and streaming) or (protocol == "offline" and offline):
            return protocol
    if offline and "streaming" in task.protocols:
        return "bridge"
    if streaming:
        return "streaming"
    raise ConfigError(f"model implements neither protocol that task {task.name} supports")


@dataclass
class TaskRun:
    task: str
    total: int
    done_before: int
    ran: int = 0
    errors: int = 0
    log_paths: list[Path] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)   # sample id -> error, after this run


@dataclass
class _Prepared:
    task: Task
    samples: list[Sample]
    hashes: dict[str, str]
    protocol: str


_VARIABLE = re.compile(r"'[^']*'|\"[^\"]*\"|(?<![\w])/[^\s:,;]+|\d+(\.\d+)?")


def common_reasons(failed: list[tuple[str, str]], top: int = 5) -> list[tuple[int, str, str]]:
    """(count, first line of one example, its sample id) of the most common reasons, paths, quoted names
    and numbers folded."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for sample_id, error in failed:
        groups.setdefault(_VARIABLE.sub("…", error.splitlines()[0] if error else "?")[:200], []).append((sample_id, error))
    ranked = sorted(groups.values(), key=len, reverse=True)
    return [(len(g), (g[0][1].splitlines() or ["?"])[0][:300], g[0][0]) for g in ranked[:top]]


def failure_summary(failed: list[tuple[str, str]], top: int = 5) -> list[str]:
    """The most common failure reasons, count and one sample each."""
    return [f"{n} x {example} (e.g. sample {sid})" for n, example, sid in common_reasons(failed, top)]


class Evaluation:
    """One model over several tasks into `out`. Rerunning the same command resumes; failed samples
    are retried unless `keep_errors`."""

    def __init__(self, *, model: str, model_args: dict[str, Any] | None = None, out: str | Path,
                 shard: tuple[int, int] = (0, 1), mode: Mode = "lockstep", limit: int | None = None,
                 max_errors: int | None = None, protocol: str | None = None,
                 timeout_s: float | None = DEFAULT_TIMEOUT_S, task_settings: dict[str, Any] | None = None,
                 progress: bool = True, model_obj: Any = None, keep_errors: bool = False,
                 rerun_changed: bool = False, cache: bool | None = None, check_judge: bool = False,
                 max_stream_s: float | None = DEFAULT_MAX_STREAM_S, video_issues: VideoIssuePolicy = "report",
                 label: str | None = None, job: Job | None = None,
                 start_timeout_s: float | None = START_TIMEOUT_S):
        """`job`: this process's place in a torchrun job (distributed.job_from_env); else `shard` (static)."""
        self.model_name, self.model_args = model, dict(model_args or {})
        self.job = job if job is not None else Job(*shard)
        self.out, self.shard, self.mode, self.limit = Path(out), self.job.shard, mode, limit
        self.max_errors, self.protocol, self.progress = max_errors, protocol, progress
        self.keep_errors, self.rerun_changed, self.check_judge = keep_errors, rerun_changed, check_judge
        self.task_settings = dict(task_settings or {})
        self.max_stream_s, self.video_issues = max_stream_s, video_issues
        self.model = guarded_model(model, self.model_args, model_obj=model_obj, timeout_s=timeout_s,
                                   start_timeout_s=start_timeout_s)
        caps = self.model.caps
        register_secret_settings(self.model_args, caps.secrets)   # api_key=..., URL passwords: masked in every text
        self.spec = model_spec(model, adapter_of(self.model), self.model_args, caps, label=label)
        self.spec.capabilities = self.model.public_caps          # transient error types by name, also from a worker
        self.spec.mode, self.spec.protocol, self.spec.limit = mode, protocol, limit
        self.spec.shard = f"{self.job.world} ranks, dynamic" if self.job.dynamic else f"{shard[0]}/{shard[1]}"
        self.label = self.spec.model
        self.public_args = {**self.spec.model_args, **self.spec.runtime_args}
        # cached answers only where they cannot go stale unseen: asked for, or a deterministic model
        # whose weights are fingerprinted (the key carries model identity, code and the request)
        use_cache = cache if cache is not None else (caps.deterministic and caps.weights_fingerprint is not None)
        self.model.settings, self.model.cache_scope = self.public_args, self.spec.model_identity()
        if use_cache:
            self.model.cache = ResponseCache(cache_dir() / "responses" / stable_hash(self.model.cache_scope)[:16])
        self.errors = 0
        self.stop = threading.Event()
        self.stop_reason: str | None = None

    def secret_values(self) -> list[str]:
        """The values of this model's secret settings (for the text scrubber: sanitize.register_secrets)."""
        return secret_values(self.model_args, self.model.caps.secrets)

    def log_path(self, task: str) -> Path:
        """This process's own event log: `<label>.shard<i>of<n>.jsonl`; under torchrun i is the rank and n
        the world size (the ranks share the work, so the files are one layout whatever each holds)."""
        return log_path(self.out, task, self.label, (self.job.rank, self.job.world))

    def log_paths(self, task: str) -> list[Path]:
        return sorted((self.out / "logs" / task).glob(f"{slug(self.label)}.shard*.jsonl"))

    def latest(self, task: str) -> dict[str, SampleRecord]:
        return latest_records(r for p in self.log_paths(task) for r in EventLog(p).records())

    def finished(self, task: str) -> set[str]:
        return {sid for sid, r in self.latest(task).items() if r.status == "ok" or self.keep_errors}

    def run(self, tasks: list[str]) -> list[TaskRun]:
        """Every task is built, its data and judge checked, before the first model call. Under
        torchrun rank 0 plans, every rank takes samples off the shared cursor, and all meet at the end."""
        check_mode(self.model.inner, self.mode)      # live adapters refuse lockstep before any data is built
        prepared = [self.prepare(build_task(name, self.task_settings)) for name in tasks]
        with RunLock(self.out, (self.job.rank, self.job.world)):   # one process per run dir and shard / rank
            self.check_layout(tasks)
            self.spec.tasks = list(tasks)
            try:
                self.model.ready()
                plans = self.job.publish("plan", lambda: self._plan(prepared))
                runs = [self.run_task(p, plans[p.task.name]) for p in prepared]
            finally:
                self.model.close()                 # the worker processes go; a later call starts them again
            self.job.meet("end")
            if self.job.dynamic and self.job.lead:
                for p, status in zip(prepared, runs, strict=True):
                    whole_job(self, p, status, plans[p.task.name])
            return runs

    def pending(self, tasks: list[str]) -> int:
        """How many samples of these tasks this process would run now (nothing written, no model started)."""
        return sum(len(self._resume_plan(p, mine(self, p))[1])
                   for p in (self.prepare(build_task(name, self.task_settings)) for name in tasks))

    def _plan(self, prepared: list[_Prepared]) -> dict[str, dict[str, Any]]:
        write_spec(self.out, self.spec)
        return {p.task.name: plan_task(self, p) for p in prepared}

    def check_layout(self, tasks: list[str]) -> None:
        """A run directory takes one shard layout per label: records of two layouts are not one run."""
        n = self.job.world                  # under torchrun: one log per rank, one layout per world size
        for task in tasks:
            other = sorted(m for m in log_layouts(self.out, task, self.label) if m != n)
            if other:
                again = (f"under torchrun with {other[0]} rank(s) in all" if self.job.dynamic
                         else f"with --shard i/{other[0]} for each i")
                raise ConfigError(f"{self.out} holds answers of {self.label} · {task} run as {other[0]} shard(s); "
                                  f"this run is split into {n}. Rerun {again}, or use a new --out.")

    def prepare(self, task: Task) -> _Prepared:
        samples = task.samples()
        if self.limit is not None:
            samples = samples[: self.limit]
        check_unique_ids(task.name, samples)
        # a video swapped at the same path changes its samples' hashes (for every model: one sample, one hash)
        samples = with_video_fingerprints(samples, task.data_root)
        settings = dict(getattr(task, "build_settings", {}))
        if self.check_judge and (judge := judge_settings(task)) is not None:
            settings["judge"] = judge
            task.build_settings = settings
        hashes = {s.id: sample_hash(s) for s in samples}
        entry = registry.tasks(include_hidden=True).get(task.name)
        self.spec.task_specs[task.name] = TaskSpec(
            name=task.name, version=task.version, prompts_version=task.prompts.version,
            prompts_sha256=stable_hash(task.prompts.templates)[:16], settings=settings,
            code=code_of(entry.factory if entry else None, type(task.prompts)),   # the task's own modules
            samples_sha256=stable_hash(sorted(hashes.values()))[:16], n_samples=len(samples))
        protocol = choose_protocol(task, self.model.inner, self.protocol)
        if task.data_root is None and self.model.caps.needs_video and samples:
            raise DataError(f"task {task.name} needs its videos and none were found. {task.video_hint}")
        return _Prepared(task, samples, hashes, protocol)

    def _resume_plan(self, p: _Prepared, mine: list[Sample]) -> tuple[dict[str, SampleRecord], list[Sample]]:
        run_id = self.spec.run_id(p.task.name)
        latest = self.latest(p.task.name)
        changed = [s.id for s in mine if s.id in latest and latest[s.id].sample_hash != p.hashes[s.id]]
        other = [s.id for s in mine if s.id in latest and latest[s.id].run_id != run_id and s.id not in changed]
        if changed and not self.rerun_changed:
            raise DataError(f"task {p.task.name}: {len(changed)} sample(s) changed since their answers were "
                            f"logged in {self.out} (their annotation or video): {', '.join(changed[:10])}; rerun "
                            "with --rerun-changed to answer them again, or use a new --out")
        if other and not self.rerun_changed:
            raise ConfigError(f"task {p.task.name}: {len(other)} answer(s) of {self.label} in {self.out} come from "
                              f"a different run (differs in: {self._why(p.task.name, latest, other)}); rerun with "
                              "--rerun-changed to replace them, or use a new --out or --label")

        def done(s: Sample) -> bool:
            r = latest.get(s.id)
            return (r is not None and r.run_id == run_id and r.sample_hash == p.hashes[s.id]
                    and (r.status == "ok" or self.keep_errors))

        return latest, [s for s in mine if not done(s)]

    def _why(self, task: str, latest: dict[str, SampleRecord], ids: list[str]) -> str:
        """How this run differs from the one(s) that logged `ids` (their specs are kept by run id)."""
        reasons = []
        for run_id in sorted({latest[i].run_id for i in ids}, key=str):
            old = read_spec(self.out, self.label, run_id) if run_id else None
            reasons += self.spec.differences(old, task) if old else [f"run {run_id}: no identity recorded"]
        return ", ".join(dict.fromkeys(reasons)) or "run id"

    def run_task(self, p: _Prepared | Task, plan: dict[str, Any] | None = None) -> TaskRun:
        if isinstance(p, Task):
            p = self.prepare(p)
        if plan is None:
            plan = plan_task(self, p)
        task, protocol = p.task, p.protocol
        by_id = {s.id: s for s in p.samples}
        todo = [by_id[sid] for sid in plan["todo"]]
        latest = self.latest(task.name)
        log = EventLog(self.log_path(task.name))
        log.repair()
        total = plan["total"]
        status = TaskRun(task.name, total, total - len(todo), log_paths=[log.path])
        status.failed = {sid: r.error or "" for sid, r in latest.items()
                         if sid not in plan["todo"] and r.status == "error" and sid in p.hashes}
        speak = None
        # turns are spoken by the process that runs them (once per sample set, not per rank), unless
        # the task speaks each whole instruction as it is built (instruction_speaker, in run_sample)
        if todo and self.model.caps.accepts_audio and not getattr(task.prompts, "speaks_instruction", False):
            from omnibench.data.tts import SpokenTurns

            speak = SpokenTurns()
            speak.check()
        # under torchrun only rank 0 shows progress: how many samples every rank finished
        bar = progress(total, task.name, unit="sample", initial=status.done_before,
                       enabled=self.progress and self.job.lead)
        shown = 0
        workers = self.model.caps.max_concurrency if protocol == "offline" else 1
        # a model split over the ranks (tensor parallel) runs every sample on every rank, in step
        replicated = self.job.dynamic and self.model.caps.tensor_parallel
        silent = replicated and not self.job.lead         # its records are rank 0's; it writes none

        def work(sample: Sample) -> SampleRecord:
            with self.model.session():             # one worker (lane) for the whole sample
                try:
                    sample = speak(sample) if speak else sample
                except Exception as exc:
                    return self._error(sample, exc)
                return self.run_sample(task, sample, protocol)

        def on_result(sample: Sample, record: SampleRecord) -> None:
            nonlocal shown
            if silent:
                status.ran += 1
                return
            old = latest.get(sample.id)
            history = list(old.history) if old is not None else []
            if old is not None and old.status == "error":
                history.append(Attempt(error=old.error or "", ended_at=old.ended_at, compute_s=old.compute_s))
            record.history = history + record.history
            record.sample_hash, record.run_id, record.ended_at = p.hashes[sample.id], self.spec.run_id(task.name), time.time()
            record.run_seq, record.seq = plan["run_seq"], self.job.next_seq()
            log.append(record)
            status.ran += 1
            if record.status == "error":
                status.errors += 1
                status.failed[sample.id] = record.error or ""
                self.errors += 1
                if self.max_errors is not None and self.errors > self.max_errors and not self.stop.is_set():
                    self.stop_reason = (f"stopped: {self.errors} errors exceed --max-errors {self.max_errors}; "
                                        f"last: {record.error}")
                    self.stop.set()
            else:
                status.failed.pop(sample.id, None)
            finished = self.job.add(f"done/{task.name}") if self.job.dynamic else shown + 1
            bar.update(max(0, finished - shown))
            shown = max(shown, finished)
            bar.set_postfix(errors=status.errors)

        try:
            items = todo if replicated else self.job.claims(f"cursor/{task.name}", todo)
            run_bounded(items, work, workers=workers, stop=self.stop, on_result=on_result)
        finally:
            bar.close()
        if self.stop.is_set():
            raise OmnibenchError(self.stop_reason or "stopped")
        return status

    def video_root(self, task: Task) -> Path | None:
        return Path(task.data_root) if task.data_root else None

    def run_sample(self, task: Task, sample: Sample, protocol: str) -> SampleRecord:
        self.model.take_retry_notes()
        try:
            speak = instruction_speaker(task) if self.model.caps.accepts_audio else None
            if protocol == "offline":
                record = run_offline(self.model, task.prompts, sample, video_root=self.video_root(task),
                                     model_label=self.label, video_issues=self.video_issues,
                                     turn_taking=task.turn_taking, speak=speak)
            else:
                streamer, bridge = self.model, None
                if protocol == "bridge":
                    bridge = OfflineAsStreaming(self.model, task.prompts, sample, every=task.poll_every,
                                                turn_taking=task.turn_taking, video_root=self.video_root(task))
                    streamer = GuardedModel(bridge, model_id=self.model_name, isolate=False)
                runner = StreamRunner(streamer, task.prompts, mode=self.mode, tail_s=task.tail_s,
                                      speak=speak if protocol == "streaming" else None)
                plan = self.stream_plan(task, sample, streamer)
                try:
                    record = runner.run(sample, plan, model_label=self.label)
                finally:
                    if bridge is not None:
                        bridge.close()
                note_video_issues(record, plan.frames, self.video_issues)
                record.settings["protocol"] = protocol
                if getattr(self.model, "replays_predictions", False):
                    record.settings["replayed"] = True     # not a live stream (scoring/live_loop.is_live)
        except ModelStuck as exc:
            self.stop_reason = str(exc)
            self.stop.set()
            record = self._error(sample, exc)
        except Exception as exc:  # one bad sample never kills a run
            record = self._error(sample, exc)
        record.history = [Attempt(error=f"retried: {e}") for e in self.model.take_retry_notes()]
        return record

    def _error(self, sample: Sample, exc: BaseException) -> SampleRecord:
        return SampleRecord(sample_id=sample.id, task=sample.task, model=self.label, status="error",
                            error=f"{type(exc).__name__}: {exc}")

    def stream_plan(self, task: Task, sample: Sample, model: Any) -> StreamPlan:
        fps = float(getattr(model, "fps", 1.0) or 1.0)
        caps = self.model.caps
        if not caps.needs_video:
            duration = stream_end(sample, None, self.max_stream_s)
            return StreamPlan(duration, clock_frames(duration, fps), query_times(sample, duration, fps))
        from omnibench.data.video import VideoReader

        reader = VideoReader(resolve_video(self.video_root(task), sample.video.path))
        start = sample.video.start or 0.0
        end = stream_end(sample, reader.duration, self.max_stream_s)
        frames = reader.iter_frames(fps=fps, start=start, end=end, size=caps.frame_size)
        return StreamPlan(float(end), frames, query_times(sample, float(end), fps))


def instruction_speaker(task: Task):
    """For tasks whose prompts are heard whole (OmniMMI): speak(text, online) -> wav path, else None."""
    if not getattr(task.prompts, "speaks_instruction", False):
        return None
    from omnibench.data.tts import instruction_speaker as speaker

    return speaker(getattr(task.prompts, "spoken_form", "as_written"))
