"""What runs in a model's worker processes: the model itself, one call at a time.

The run's process (engine.pool) owns the workers. Each is forked from a small single-threaded
"zygote" process of its pool, never from the run's process: there, other threads may hold native
state (a video decoder's thread pool in a thread-local) that a forked child would try to free and
deadlock on. A call arrives as a message over a pipe; arrays (frames) come through a shared-memory
arena, not the pickle stream. What a call returns is bounded in count and bytes here, inside the
timed call. Forked, a worker has every model registered at run time (plugins, tests) and nothing
of the model's libraries was initialised before (the run's process never touches CUDA).
"""

from __future__ import annotations

import gc
import io
import itertools
import json
import mmap
import os
import pickle
import signal
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Pipe
from typing import Any

import numpy as np

from omnibench.engine.capabilities import FIELDS, Capabilities, capabilities_of
from omnibench.engine.protocols import Emission
from omnibench.errors import ModelError, OmnibenchError, TransientModelError

START_TIMEOUT_S = 900.0          # building a model (loading a checkpoint) may take this long
MAX_EMISSIONS = 4096             # per poll
MAX_RESULT_BYTES = 4 << 20       # text a call may return
ARENA_MIN_BYTES = 64 << 10       # arrays from this size travel through shared memory
METHODS = ("generate", "should_respond", "reset", "feed", "ask", "poll")
MAX_ATTRIBUTES = 256             # plain attributes a profile keeps (the engine reads fps, realtime_only, ...)


class ModelStuck(OmnibenchError):
    """A model hung or cannot be (re)started: the run stops."""


@dataclass(frozen=True)
class ModelFactory:
    """How a worker builds its model: a registry name and its settings."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Any:
        from omnibench import registry

        return registry.get_model(self.name, **self.settings)


@dataclass
class Profile:
    """What the engine knows of a model without holding it: capabilities, methods, plain attributes."""

    public: dict[str, Any]            # Capabilities.public(): what run.json records
    methods: tuple[str, ...]
    attributes: dict[str, Any]
    source: str = ""                  # module:qualname of the adapter's class (its code is in the run's identity)

    @classmethod
    def of(cls, model: Any, name: str = "") -> Profile:
        caps = capabilities_of(model, name)
        plain = json.loads(json.dumps([caps.public(), plain_attributes(model)], default=str))   # as kept on disk
        cls_ = type(model)
        return cls(plain[0], tuple(m for m in METHODS if callable(getattr(model, m, None))), plain[1],
                   f"{cls_.__module__}:{cls_.__qualname__}")

    def capabilities(self) -> Capabilities:
        """The capabilities here; transient error types stay in the worker, which marks such errors itself."""
        names = ("secrets", "runtime_settings")
        values = {k: v for k, v in self.public.items() if k in FIELDS and k not in ("transient_errors", *names)}
        if isinstance(values.get("frame_size"), list):
            values["frame_size"] = tuple(values["frame_size"])
        values.update({k: frozenset(self.public.get(k, ())) for k in names if k in FIELDS})
        return Capabilities(**values)


def plain_attributes(model: Any) -> dict[str, Any]:
    """The model's public attributes holding plain values (class and instance; no property is run),
    so the engine reads `fps`, `realtime_only`, `replays_predictions`, ... without the model here."""
    found: dict[str, Any] = {}
    for scope in [*reversed(type(model).__mro__), model]:
        for key, value in vars(scope).items() if hasattr(scope, "__dict__") else ():
            if not key.startswith("_") and isinstance(value, (str, int, float, bool)) and len(str(value)) <= 1000:
                found[key] = value
    return dict(list(found.items())[:MAX_ATTRIBUTES])


def bounded(method: str, value: Any, model_id: str) -> Any:
    """A call's result as the engine takes it, bounded (runs inside the timed call)."""
    if method == "poll":
        items = list(itertools.islice(iter(value or ()), MAX_EMISSIONS + 1))
        if len(items) > MAX_EMISSIONS:
            raise ModelError(f"{model_id}: poll returned more than {MAX_EMISSIONS} emissions at once")
        bad = [e for e in items if not isinstance(e, Emission)]
        if bad:
            raise ModelError(f"{model_id}: poll returned {type(bad[0]).__name__}, expected Emission")
        if sum(len(e.text) if isinstance(e.text, str) else MAX_RESULT_BYTES for e in items) > MAX_RESULT_BYTES:
            raise ModelError(f"{model_id}: poll returned more than {MAX_RESULT_BYTES} characters at once")
        return items
    if method == "generate":
        if not isinstance(value, str):
            raise ModelError(f"{model_id}: generate returned {type(value).__name__}, expected str")
        if len(value) > MAX_RESULT_BYTES:
            raise ModelError(f"{model_id}: generate returned {len(value)} characters, more than {MAX_RESULT_BYTES}")
        return value
    if method == "should_respond":
        return float(value)
    return None                                   # reset / feed / ask: nothing comes back


# -- shared memory --------------------------------------------------------------------------------

class ArenaFull(Exception):
    def __init__(self, needed: int):
        self.needed = needed


class Arena:
    """A file in /dev/shm both processes map; a call's arrays are laid out in it one after another."""

    def __init__(self, tag: str):
        self.tag, self.path, self.size, self.offset = tag, "", 0, 0
        self.map: mmap.mmap | None = None
        self.generation, self.linked = 0, False

    def ensure(self, size: int) -> None:
        if size <= self.size:
            return
        self.close()
        self.generation += 1
        folder = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
        self.path = os.path.join(folder, f"omnibench-{os.getpid()}-{self.tag}-{self.generation}")
        self.size = max(size, 2 * self.size, 1 << 20)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self.linked = True
        try:
            os.ftruncate(fd, self.size)
            self.map = mmap.mmap(fd, self.size)
        finally:
            os.close(fd)

    def put(self, array: np.ndarray) -> int:
        start = -(-self.offset // 64) * 64
        end = start + array.nbytes
        if self.map is None or end > self.size:
            raise ArenaFull(end)
        np.ndarray(array.shape, dtype=array.dtype, buffer=self.map, offset=start)[...] = array
        self.offset = end
        return start

    def unlink(self) -> None:
        if self.path and self.linked:
            self.linked = False
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def close(self) -> None:
        self.unlink()
        if self.map is not None:
            self.map.close()
            self.map = None
        self.size = 0


class ArenaPickler(pickle.Pickler):
    def __init__(self, file, arena: Arena):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.arena = arena

    def reducer_override(self, obj):
        if type(obj) is np.ndarray and obj.nbytes >= ARENA_MIN_BYTES and not obj.dtype.hasobject:
            return _from_arena, (self.arena.put(obj), obj.shape, obj.dtype.str)
        return NotImplemented


_CHILD_ARENA: dict[str, Any] = {"path": None, "map": None}


def _from_arena(offset: int, shape: tuple, dtype: str) -> np.ndarray:
    """(In the worker) a copy of an array the parent laid out in the arena: the adapter may keep it."""
    return np.ndarray(shape, dtype=dtype, buffer=_CHILD_ARENA["map"], offset=offset).copy()


def _map_child_arena(path: str, size: int) -> None:
    if _CHILD_ARENA["path"] == path:
        return
    if _CHILD_ARENA["map"] is not None:
        _CHILD_ARENA["map"].close()
    fd = os.open(path, os.O_RDWR)
    try:
        _CHILD_ARENA.update(path=path, map=mmap.mmap(fd, size))
    finally:
        os.close(fd)


# -- the worker side --------------------------------------------------------------------------------

def _die_with_parent(parent: int) -> None:
    """A worker whose zygote is gone goes too (the zygote goes with the run's process)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="omnibench-parent-watch", daemon=True).start()


def _pack_error(exc: BaseException, transient: tuple[type, ...]) -> bytes:
    """The exception itself when it survives pickling; else its type name and message."""
    marked = isinstance(exc, transient) and not isinstance(exc, TransientModelError)
    if isinstance(exc, (SystemExit, KeyboardInterrupt, GeneratorExit)):
        exc = ModelError(f"raised {type(exc).__name__}: {exc}")
    try:
        data = pickle.dumps(exc)
        pickle.loads(data)  # safe: a round trip of what this process just pickled
        return pickle.dumps(("error", data, marked))
    except Exception:
        return pickle.dumps(("error", pickle.dumps(ModelError(f"{type(exc).__name__}: {exc}")), marked))


def serve(conn: Connection, factory: ModelFactory, parent: int) -> None:
    """The worker: build the model, say what it is, then answer calls until the pipe closes."""
    _die_with_parent(parent)
    os.setpgid(0, 0)                                  # a kill of the worker takes what it started with it
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # the run's process decides about Ctrl-C
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        with warnings.catch_warnings(record=True) as caught:      # shown by the run's process (pool.py)
            warnings.simplefilter("always")
            model = factory.build()
        profile = Profile.of(model, factory.name)
        transient = capabilities_of(model, factory.name).transient_errors
        said = [(w.category.__name__, str(w.message)) for w in caught]
        conn.send_bytes(pickle.dumps(("ready", profile, said)))
    except BaseException as exc:                      # noqa: B036 - whatever a constructor raises is reported
        conn.send_bytes(_pack_error(exc, ()))
        os._exit(1)
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            os._exit(0)
        stream = io.BytesIO(data)
        path, size = pickle.load(stream)  # safe: our own worker process over a private pipe, never data from outside
        if path:
            _map_child_arena(path, size)
        start = time.perf_counter()
        try:
            method, args = pickle.load(stream)  # safe: our own worker process, private pipe
            result = bounded(method, getattr(model, method)(*args), factory.name)
            reply = pickle.dumps(("ok", result, time.perf_counter() - start))
        except BaseException as exc:                  # noqa: B036 - one call's failure is that call's error
            reply = _pack_error(exc, transient)
        try:
            conn.send_bytes(reply)
        except (EOFError, OSError):
            os._exit(0)


def zygote(conn: Connection, factory: ModelFactory, parent: int) -> None:
    """(Its own process, one thread) fork a worker for each request, reap them when asked, and end
    them all when the run's process closes the pipe or is gone."""
    from multiprocessing.reduction import send_handle

    gc.freeze()                                       # workers never collect what they inherit
    # torchrun stops a rank with SIGTERM to its whole process group: the rank then lets its samples in
    # flight finish and closes the pool, so the zygote (in that group) waits for that; the workers
    # lead groups of their own
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    children: set[int] = set()
    exits: dict[int, int] = {}
    while os.getppid() == parent:
        for pid in list(children):                     # reap workers that ended on their own
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                children.discard(pid)
                exits[pid] = status
        try:
            if not conn.poll(0.5):
                continue
            request = conn.recv()
        except (EOFError, OSError):
            break
        if request[0] == "fork":
            parent_end, child_end = Pipe(duplex=True)
            pid = os.fork()
            if pid == 0:
                try:
                    conn.close()
                    parent_end.close()
                    serve(child_end, factory, os.getppid())
                finally:
                    os._exit(0)
            child_end.close()
            children.add(pid)
            conn.send(("forked", pid))
            send_handle(conn, parent_end.fileno(), parent)
            parent_end.close()
        elif request[0] == "reap":
            pid = request[1]
            conn.send(("reaped", exits.pop(pid, None) if pid not in children else _reap(pid, children)))
    for pid in children:
        kill_group(pid)
    for pid in list(children):
        _reap(pid, children)
    os._exit(0)


def kill_group(pid: int) -> None:
    """SIGKILL to the worker's process group (what it started) and to itself."""
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except (ProcessLookupError, PermissionError):
            pass


def _reap(pid: int, children: set[int], wait_s: float = 10.0) -> int | None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            children.discard(pid)
            return None
        if done:
            children.discard(pid)
            return status
        time.sleep(0.005)
    return None
