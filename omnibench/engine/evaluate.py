"""Run tasks x one model into a run directory: resume, shards, error isolation, progress."""

from __future__ import annotations

import inspect
import json
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnibench import __version__, registry
from omnibench.data.schema import Sample
from omnibench.engine.bounds import DEFAULT_MAX_STREAM_S, note_video_issues, stream_end
from omnibench.engine.eventlog import EventLog, SampleRecord
from omnibench.engine.lock import RunLock
from omnibench.engine.offline import OfflineAsStreaming, resolve_video, run_offline
from omnibench.engine.protocols import is_offline, is_streaming
from omnibench.engine.shard import in_shard
from omnibench.engine.stream import StreamPlan, StreamRunner, check_mode, clock_frames, query_times
from omnibench.engine.wrapper import GuardedModel, ResponseCache
from omnibench.errors import ConfigError, DataError, OmnibenchError
from omnibench.results import RunInfo
from omnibench.sanitize import dump_json, register_secret_settings
from omnibench.task import Task

SECRET = re.compile(r"key|token|secret|password", re.I)


def redact(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: ("***" if SECRET.search(k) else v) for k, v in settings.items()}


def model_label(name: str, args: dict[str, Any]) -> str:
    shown = {k: v for k, v in redact(args).items() if v != "***"}
    return name if not shown else f"{name}(" + ",".join(f"{k}={v}" for k, v in sorted(shown.items())) + ")"


def slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", label)[:120]


def cache_dir() -> Path:
    return Path(os.environ.get("OMNIBENCH_CACHE", Path.home() / ".cache" / "omnibench"))


def build_task(name: str, settings: dict[str, Any]) -> Task:
    """Build a task, passing only the settings its factory accepts (data_dir, judge, ...)."""
    factory = registry.tasks(include_hidden=True)[name].factory
    accepted = inspect.signature(factory).parameters
    return registry.get_task(name, **{k: v for k, v in settings.items() if k in accepted and v is not None})


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


def write_samples(path: Path, samples: list[Sample]) -> None:
    """The samples of a task, stored once so score/report need neither data nor task code."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(dump_json(s) + "\n" for s in samples)   # invalid Unicode in annotations is not fatal
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


class Evaluation:
    """One model over several tasks into `out`. Rerunning the same command resumes."""

    def __init__(self, *, model: str, model_args: dict[str, Any] | None = None, out: str | Path,
                 shard: tuple[int, int] = (0, 1), mode: str = "lockstep", limit: int | None = None,
                 max_errors: int | None = None, protocol: str | None = None, timeout_s: float | None = None,
                 task_settings: dict[str, Any] | None = None, progress: bool = True, model_obj: Any = None,
                 max_stream_s: float | None = DEFAULT_MAX_STREAM_S, video_issues: str = "report"):
        self.model_name, self.model_args = model, dict(model_args or {})
        self.out, self.shard, self.mode, self.limit = Path(out), shard, mode, limit
        self.max_errors, self.protocol, self.progress = max_errors, protocol, progress
        self.task_settings = dict(task_settings or {})
        self.label = model_label(model, self.model_args)
        register_secret_settings(self.model_args)   # api_key=... masked in every stored text
        inner = model_obj if model_obj is not None else registry.get_model(model, **self.model_args)
        cache = ResponseCache(cache_dir() / "responses.sqlite") if getattr(inner, "deterministic", False) else None
        self.model = GuardedModel(inner, model_id=model, settings=redact(self.model_args),
                                  timeout_s=timeout_s, cache=cache)
        self.errors = 0
        self._lock = threading.Lock()
        self.max_stream_s, self.video_issues = max_stream_s, video_issues

    def log_path(self, task: str) -> Path:
        i, n = self.shard
        return self.out / "logs" / task / f"{slug(self.label)}.shard{i}of{n}.jsonl"

    def finished(self, task: str) -> set[str]:
        done: set[str] = set()
        for path in sorted((self.out / "logs" / task).glob(f"{slug(self.label)}.shard*.jsonl")):
            done |= EventLog(path).finished_ids()
        return done

    def write_run_info(self, tasks: list[str]) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        info = RunInfo(model=self.label, model_args=redact(self.model_args), tasks=tasks, mode=self.mode,
                       shard=f"{self.shard[0]}/{self.shard[1]}", limit=self.limit,
                       versions={"omnibench": __version__})
        (self.out / "run.json").write_text(info.model_dump_json(indent=2), encoding="utf-8")

    def run(self, tasks: list[str]) -> list[TaskRun]:
        with RunLock(self.out, self.shard):        # one process per run dir and shard
            self.write_run_info(tasks)
            return [self.run_task(build_task(name, self.task_settings)) for name in tasks]

    def run_task(self, task: Task) -> TaskRun:
        samples = task.samples()
        if self.limit is not None:
            samples = samples[: self.limit]
        if getattr(self.model.inner, "accepts_audio", False):
            samples = spoken(samples)
        write_samples(self.out / "samples" / f"{task.name}.jsonl", samples)
        mine = [s for s in samples if in_shard(s.id, self.shard)]
        done = self.finished(task.name)
        todo = [s for s in mine if s.id not in done]
        log = EventLog(self.log_path(task.name))
        log.repair()
        status = TaskRun(task.name, len(mine), len(mine) - len(todo), log_paths=[log.path])
        protocol = choose_protocol(task, self.model.inner, self.protocol)
        check_mode(self.model.inner, self.mode)      # live adapters refuse lockstep before any sample runs
        if task.data_root is None and getattr(self.model.inner, "needs_video", True) and todo:
            raise DataError(f"task {task.name} needs its videos and none were found. {task.video_hint}")
        bar = _progress(task.name, len(mine), status.done_before, self.progress)
        workers = max(1, int(getattr(self.model, "max_concurrency", 1) or 1)) if protocol == "offline" else 1

        def one(sample: Sample) -> None:
            record = self.run_sample(task, sample, protocol)
            with self._lock:
                log.append(record)
                status.ran += 1
                if record.status == "error":
                    status.errors += 1
                    self.errors += 1
                bar.update(1)
                bar.set_postfix(errors=status.errors)
            if self.max_errors is not None and self.errors > self.max_errors:
                raise OmnibenchError(f"stopped: {self.errors} errors exceed --max-errors {self.max_errors}; "
                                     f"last: {record.error}")

        try:
            if workers == 1:
                for sample in todo:
                    one(sample)
            else:
                with ThreadPoolExecutor(workers) as pool:
                    for future in [pool.submit(one, s) for s in todo]:
                        future.result()
        finally:
            bar.close()
        return status

    def video_root(self, task: Task) -> Path | None:
        return Path(task.data_root) if task.data_root else None

    def run_sample(self, task: Task, sample: Sample, protocol: str) -> SampleRecord:
        try:
            if protocol == "offline":
                return run_offline(self.model, task.prompts, sample, video_root=self.video_root(task),
                                   model_label=self.label)
            streamer = self.model
            if protocol == "bridge":
                bridge = OfflineAsStreaming(self.model, task.prompts, every=task.poll_every)
                streamer = GuardedModel(bridge, model_id=self.model_name)
            runner = StreamRunner(streamer, task.prompts, mode=self.mode, tail_s=task.tail_s)
            plan = self.stream_plan(task, sample, streamer)
            record = runner.run(sample, plan, model_label=self.label)
            note_video_issues(record, plan.frames, self.video_issues)
            record.settings["protocol"] = protocol
            return record
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # one bad sample never kills a run
            return SampleRecord(sample_id=sample.id, task=sample.task, model=self.label, status="error",
                                error=f"{type(exc).__name__}: {exc}")

    def stream_plan(self, task: Task, sample: Sample, model: Any) -> StreamPlan:
        fps = float(getattr(model, "fps", 1.0) or 1.0)
        if not getattr(model, "needs_video", True):
            duration = stream_end(sample, None, self.max_stream_s)
            return StreamPlan(duration, clock_frames(duration, fps), query_times(sample, duration, fps))
        from omnibench.data.video import VideoReader

        reader = VideoReader(resolve_video(self.video_root(task), sample.video.path))
        start = sample.video.start or 0.0
        end = stream_end(sample, reader.duration, self.max_stream_s)
        frames = reader.iter_frames(fps=fps, start=start, end=end, size=getattr(model, "frame_size", None))
        return StreamPlan(float(end), frames, query_times(sample, float(end), fps))


def spoken(samples: list[Sample]) -> list[Sample]:
    """The user turns as speech (cached TTS), for models that take audio queries."""
    from omnibench.data.tts import EspeakTTS, attach_audio

    tts = EspeakTTS()
    return [attach_audio(s, tts) for s in samples]


def _duration_without_video(sample: Sample) -> float:
    times = [sample.video.end or 0.0, float(sample.metadata.get("duration", 0.0) or 0.0)]
    for q in sample.turns:
        times += [q.t or 0.0] + ([q.window[1]] if q.window else [])
    return max(times)


def _progress(task: str, total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=task, unit="sample", disable=not enabled, leave=True,
                dynamic_ncols=True)


def load_samples(run_dir: Path, task: str) -> list[Sample]:
    path = Path(run_dir) / "samples" / f"{task}.jsonl"
    if not path.exists():
        raise DataError(f"no samples stored for task {task}", file=str(path))
    out = []
    for index, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        try:
            out.append(Sample.model_validate(json.loads(line)))
        except Exception as exc:
            raise DataError(f"bad sample: {exc}", file=str(path), index=index) from exc
    return out
