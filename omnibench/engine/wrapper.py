"""The wrapper every adapter gets: timeouts, bounded retries, a response cache, validation.

A local model built by name lives in worker processes (`engine.worker`: one per lane, a timed-out
call kills its worker, never two copies of the model in a lane). An API adapter (declared
`remote`) or an instance handed in by the caller runs in this process, on the model's own daemon
threads ("lanes"), at most `max_concurrency` at once: its calls end by the client's own timeout;
a call past the wrapper's timeout is abandoned, its lane stays busy until the call ends, and once
every lane is stuck the model is rebuilt before its next call (or, when it cannot be, the run
stops saying why). Either way what a call returns is bounded inside the timed call.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from omnibench.cache import JsonlStore
from omnibench.engine.capabilities import Capabilities, capabilities_of
from omnibench.engine.pool import RemoteModel, WorkerPool
from omnibench.engine.protocols import OfflineRequest, is_offline, is_streaming
from omnibench.engine.worker import ModelStuck, bounded
from omnibench.errors import ModelError, TransientModelError

DEFAULT_TIMEOUT_S = 600.0
__all__ = ["DEFAULT_TIMEOUT_S", "GuardedModel", "ModelStuck", "ResponseCache", "request_key"]


class ResponseCache:
    """Request hash -> answer text: this process appends to a file of its own in `folder`, and reads
    every process's files there (earlier runs, other ranks, other hosts), so no file is ever shared
    by two writers and nothing relies on file locking over a network file system."""

    def __init__(self, folder: str | Path):
        self.store = JsonlStore(folder)

    def get(self, key: str) -> str | None:
        return self.store.get(key)

    def put(self, key: str, text: str) -> None:
        from omnibench.sanitize import scrub  # sqlite refuses lone surrogates; secrets never cached

        self.store.put(key, scrub(text))


def request_key(scope: Any, request: OfflineRequest) -> str:
    """Hash of the model's identity (RunSpec.model_identity) + the request; frames by content."""
    digest = hashlib.sha256()
    fields = {
        "scope": scope, "prompt": request.prompt,
        "history": [(m.role, m.text) for m in request.history], "audio": request.audio,
        "choices": request.choices, "max_new_tokens": request.max_new_tokens,
        "temperature": request.temperature, "frame_times": request.frame_times,
        "video": None if request.frames is not None else request.video_path,
        "span": [request.start, request.end],
    }
    digest.update(json.dumps(fields, sort_keys=True, default=str).encode())
    if request.frames is not None:
        digest.update(str(request.frames.shape).encode())
        digest.update(request.frames.tobytes())
    if request.audio and Path(request.audio).is_file():
        digest.update(Path(request.audio).read_bytes())
    return digest.hexdigest()


class _Job:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args
        self.done = threading.Event()
        self.finished = self.hung = False
        self.result: Any = None
        self.error: BaseException | None = None


class _Lanes:
    """At most `slots` calls at once into one model instance, each on a daemon thread of its own that
    ends with the call. (A thread kept for the next call would keep whatever thread state native
    libraries left in it, a video decoder's thread pool, and a process forked later would deadlock
    freeing it: engine.pool forks workers.) A call past its timeout keeps its slot until it ends."""

    def __init__(self, slots: int, name: str):
        self.slots, self.name = slots, name
        self.cond = threading.Condition()
        self.busy = self.hung = 0
        self.closed = False

    def call(self, fn, args, timeout: float | None):
        """fn(*args) in a free slot. Returns (finished, job); None when every slot is hung or the
        lanes are closed (the model was rebuilt: the caller goes on to the new lanes)."""
        with self.cond:
            while self.closed or self.busy >= self.slots:
                if self.closed or self.hung >= self.slots:
                    return None
                self.cond.wait()
            self.busy += 1
        job = _Job(fn, args)
        threading.Thread(target=self._run, args=(job,), name=f"{self.name}-call", daemon=True).start()
        if not job.done.wait(timeout):
            with self.cond:
                if not job.finished:
                    job.hung = True
                    self.hung += 1
                    self.cond.notify_all()    # a waiter may now see every slot hung
                    return False, job
        return True, job

    def _run(self, job: _Job) -> None:
        try:
            job.result = job.fn(*job.args)
        except BaseException as exc:          # SystemExit and all: the caller decides
            job.error = exc
        with self.cond:
            job.finished = True
            self.busy -= 1
            self.hung -= job.hung
            self.cond.notify_all()
        job.done.set()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()            # waiters leave for the new lanes


class GuardedModel:
    """Wraps an adapter with timeout, retries on declared transient errors, and caching.

    `rebuild`: makes a fresh adapter when the current one is stuck in hung calls.
    `cache_scope`: the model identity the cache keys carry (RunSpec.model_identity()).
    """

    def __init__(self, model: Any, *, model_id: str, settings: dict[str, Any] | None = None,
                 timeout_s: float | None = None, retries: int = 2, backoff_s: float = 1.0,
                 cache: ResponseCache | None = None, rebuild: Callable[[], Any] | None = None,
                 cache_scope: Any = None, isolate: bool = True):
        """`model`: an adapter instance (runs here), or a WorkerPool (the model runs in its workers)."""
        self.model_id = model_id
        self.settings = settings or {}
        self.cache_scope = cache_scope if cache_scope is not None else {"model": model_id, "settings": self.settings}
        self.timeout_s = timeout_s or None
        self.retries, self.backoff_s = retries, backoff_s
        self.cache = cache
        self.rebuild_fn = rebuild
        self.rebuilds = 0
        self.isolate = isolate
        self._lock = threading.Lock()
        self._notes = threading.local()
        self.pool: WorkerPool | None = model if isinstance(model, WorkerPool) else None
        self.inner: Any
        self.caps: Capabilities
        self.transient: tuple[type[BaseException], ...]
        self._lanes: _Lanes | None = None
        if self.pool is not None:
            self.inner = RemoteModel(self.pool)
            self.caps = self.inner.capabilities
            self.transient = (TransientModelError,)     # the worker marks its adapter's transient errors
        else:
            self._adopt(model)

    @property
    def public_caps(self) -> dict[str, Any]:
        """The capabilities as run.json records them (transient error types by name)."""
        return self.pool.profile.public if self.pool is not None else self.caps.public()

    @contextmanager
    def session(self):
        """Hold one lane for the calls of this thread until the block ends (one sample): a streaming
        model's state lives in one worker. A no-op for models that run in this process."""
        pool = self.pool
        if pool is None or pool.held() is not None:
            yield
            return
        lane = pool.acquire()
        pool.set_held(lane)
        try:
            yield
        finally:
            pool.set_held(None)
            pool.release(lane)

    def ready(self) -> None:
        """Make sure workers can start, forking their zygote from this thread if need be (call it from
        the thread that runs the show: a fork keeps the forking thread's state whole)."""
        if self.pool is not None:
            self.pool.zygote_()

    def close(self) -> None:
        """Stop the worker processes (a later call starts them again)."""
        if self.pool is not None:
            self.pool.close()

    def _adopt(self, model: Any) -> None:
        self.inner = model
        self.caps = capabilities_of(model, self.model_id)
        self.transient = (TransientModelError, *self.caps.transient_errors)
        self._lanes = _Lanes(self.caps.max_concurrency, self.model_id) if self.isolate else None

    # attributes the engine reads
    def __getattr__(self, name: str) -> Any:
        if name in ("inner", "caps"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def max_concurrency(self) -> int:
        return self.caps.max_concurrency

    @property
    def offline(self) -> bool:
        return is_offline(self.inner)

    @property
    def streaming(self) -> bool:
        return is_streaming(self.inner)

    def take_retry_notes(self) -> list[str]:
        """Transient errors retried in this thread since the last call of this method."""
        notes = getattr(self._notes, "errors", [])
        self._notes.errors = []
        return notes

    def _replace_stuck(self, stuck: _Lanes) -> None:
        with self._lock:
            if self._lanes is not stuck:          # another thread rebuilt it already
                return
            if self.rebuild_fn is None:
                raise ModelStuck(f"model {self.model_id} is stuck in {stuck.slots} call(s) past the "
                                 f"{self.timeout_s:g} s timeout and cannot be rebuilt; the run stops")
            stuck.close()
            self.rebuilds += 1
            self._adopt(self.rebuild_fn())

    def _once(self, method: str, args: tuple):
        if self.pool is not None:
            return self.pool.call(method, args, self.timeout_s)
        model_id = self.model_id

        def call(inner, *call_args):
            return bounded(method, getattr(inner, method)(*call_args), model_id)

        if self._lanes is None:
            return call(self.inner, *args)
        while True:
            with self._lock:                          # the lanes and the instance they belong to
                lanes, inner = self._lanes, self.inner
            outcome = lanes.call(call, (inner, *args), self.timeout_s)
            if outcome is None:
                self._replace_stuck(lanes)
                continue
            finished, job = outcome
            if not finished:
                raise ModelError(f"{self.model_id}: call timed out after {self.timeout_s:g} s "
                                 f"(the model is rebuilt before its next call)")
            if isinstance(job.error, (SystemExit, KeyboardInterrupt, GeneratorExit)):
                raise ModelError(f"{self.model_id}: {method} raised {type(job.error).__name__}: {job.error}")
            if job.error is not None:
                raise job.error
            return job.result

    def _call(self, method: str, *args):
        """One call with timeout and bounded retries; returns (result, seconds incl. retries and backoff)."""
        attempt = 0
        start = time.perf_counter()
        while True:
            try:
                return self._once(method, args), time.perf_counter() - start
            except self.transient as exc:
                attempt += 1
                self._notes.errors = [*getattr(self._notes, "errors", []), f"{type(exc).__name__}: {exc}"]
                if attempt > self.retries:
                    raise ModelError(f"{self.model_id}: failed after {self.retries} retries: {exc}") from exc
                time.sleep(self.backoff_s * 2 ** (attempt - 1))

    def generate(self, request: OfflineRequest) -> tuple[str, float]:
        cache = self.cache
        key = request_key(self.cache_scope, request) if cache else None
        if cache and key and (hit := cache.get(key)) is not None:
            return hit, 0.0
        text, seconds = self._call("generate", request)
        if cache and key:
            cache.put(key, text)
        return text, seconds

    def should_respond(self, request: OfflineRequest) -> tuple[float, float]:
        p, seconds = self._call("should_respond", request)
        return float(p), seconds

    def stream_call(self, method: str, *args) -> tuple[Any, float]:
        """reset / feed / ask / poll; poll's emissions come back as a bounded list."""
        return self._call(method, *args)
