"""The run's side of model workers: a pool of lanes, one worker process (one model copy) per lane.

A call that times out kills its worker (and what the worker started: it leads its own process
group); the next call on that lane starts a fresh worker, under a start timeout of its own. So a
lane never holds two copies of the model, and no timed-out call keeps running. A worker that
exits, segfaults or is killed by the kernel fails the call it was in; the lane starts a new one.
Workers come from the pool's zygote (engine.worker.zygote), which is forked once when the pool is
made (from the thread that makes it) and stopped with the pool.
"""

from __future__ import annotations

import atexit
import builtins
import gc
import io
import os
import pickle
import select
import signal
import threading
import time
import warnings
from multiprocessing.connection import Connection, Pipe
from typing import Any

from omnibench.engine.worker import (
    START_TIMEOUT_S,
    Arena,
    ArenaFull,
    ArenaPickler,
    ModelFactory,
    ModelStuck,
    Profile,
    kill_group,
    zygote,
)
from omnibench.errors import ModelError, TransientModelError

FORK_TIMEOUT_S = 60.0            # a zygote answers a fork request at once; past this it is stuck

_POOLS: set[WorkerPool] = set()
_POOLS_LOCK = threading.Lock()


@atexit.register
def _close_all() -> None:
    with _POOLS_LOCK:
        pools = list(_POOLS)
    for pool in pools:
        pool.close()


def describe_exit(status: int | None) -> str:
    if status is None:
        return "it could not be reaped"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            return f"killed by signal {sig} ({signal.Signals(sig).name})"
        except ValueError:
            return f"killed by signal {sig}"
    return f"exit code {os.WEXITSTATUS(status)}"


class Zygote:
    """The process a pool's workers are forked from (one thread, nothing else running in it)."""

    def __init__(self, factory: ModelFactory):
        self.factory = factory
        parent_end, child_end = Pipe(duplex=True)
        parent = os.getpid()
        gc.freeze()                  # nothing inherited is collected in the zygote (see engine.worker)
        pid = os.fork()
        if pid == 0:
            try:
                parent_end.close()
                zygote(child_end, factory, parent)
            finally:
                os._exit(0)
        gc.unfreeze()
        child_end.close()
        self.pid, self.conn, self.lock = pid, parent_end, threading.Lock()

    def fork(self) -> tuple[int, Connection]:
        from multiprocessing.reduction import recv_handle

        with self.lock:
            try:
                self.conn.send(("fork",))
                if not self.conn.poll(FORK_TIMEOUT_S):
                    raise ModelStuck(f"model {self.factory.name}: no worker process could be forked within "
                                     f"{FORK_TIMEOUT_S:g} s (its zygote hangs: a thread of this process left "
                                     "native state a forked process cannot free)")
                _, pid = self.conn.recv()
                fd = recv_handle(self.conn)
            except (EOFError, OSError) as exc:
                raise ModelStuck(f"model {self.factory.name}: the process that forks its workers is gone ({exc})") \
                    from None
        return pid, Connection(fd)

    def reap(self, pid: int) -> int | None:
        """The wait status of a worker that was killed or ended (None: unknown)."""
        with self.lock:
            try:
                self.conn.send(("reap", pid))
                return self.conn.recv()[1] if self.conn.poll(15.0) else None
            except (EOFError, OSError):
                return None

    def close(self) -> None:
        """The zygote ends its workers and itself when its pipe closes; then it is reaped here."""
        self.conn.close()
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    return
            except ChildProcessError:
                return
            time.sleep(0.005)
        kill_group(self.pid)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


class WorkerLane:
    """One worker process (one copy of the model), started on demand and replaced when it fails."""

    def __init__(self, pool: WorkerPool, index: int):
        self.pool, self.index = pool, index
        self.pid: int | None = None
        self.conn: Connection | None = None
        self.arena = Arena(f"lane{index}-{id(self):x}")
        self.starts = 0

    @property
    def running(self) -> bool:
        return self.pid is not None

    def start(self) -> Profile:
        """A new worker, and its profile once its model is built (within the start timeout)."""
        pool = self.pool
        self.pid, self.conn = pool.zygote_().fork()
        self.poller = select.poll()                   # one per worker: cheaper than a selector per call
        self.poller.register(self.conn.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
        self.starts += 1
        name, limit = pool.factory.name, pool.start_timeout_s
        if not self.conn.poll(limit):
            self.stop()
            raise ModelStuck(f"model {name}: its worker did not finish building the model within {limit:g} s "
                             "(raise --start-timeout if loading it takes that long)")
        try:
            status, value, said = pickle.loads(self.conn.recv_bytes())  # safe: our own worker process, private pipe
        except (EOFError, OSError):
            code = self.stop()
            raise ModelStuck(f"model {name}: its worker died while building the model ({describe_exit(code)})") \
                from None
        if status != "ready":
            self.stop()
            raise pickle.loads(value)  # safe: our own worker process over a private pipe, never data from outside
        for kind, message in said:                    # what the adapter warned about while it was built
            category = getattr(builtins, kind, UserWarning)
            warnings.warn(message, category if isinstance(category, type) and issubclass(category, Warning)
                          else UserWarning, stacklevel=2)
        return value

    def call(self, method: str, args: tuple, timeout: float | None) -> Any:
        """The result. A timeout or a dead worker is a ModelError, and the worker is gone: the next
        call starts a fresh one."""
        assert self.conn is not None
        name = self.pool.factory.name
        message = self._pack(method, args)
        try:
            self.conn.send_bytes(message)
            ready = bool(self.poller.poll(None if timeout is None else max(0, int(timeout * 1000))))
        except (OSError, EOFError):
            ready = True
        if not ready:
            self.stop()
            raise ModelError(f"{name}: call timed out after {timeout:g} s; its worker process was stopped "
                             "(a new one starts for the next call)")
        try:
            reply = pickle.loads(self.conn.recv_bytes())  # safe: our own worker process, private pipe
        except (EOFError, OSError):
            code = self.stop()
            raise ModelError(f"{name}: its worker process died during {method} ({describe_exit(code)}); "
                             "a new one starts for the next call") from None
        finally:
            self.arena.unlink()                       # both sides have it mapped by now
        if reply[0] == "ok":
            return reply[1]
        exc = pickle.loads(reply[1])  # safe: our own worker process over a private pipe, never data from outside
        if reply[2]:
            raise TransientModelError(f"{type(exc).__name__}: {exc}") from exc
        raise exc

    def _pack(self, method: str, args: tuple) -> bytes:
        """(arena path, size) then (method, args), arrays laid out in the arena."""
        while True:
            self.arena.offset = 0
            body = io.BytesIO()
            try:
                ArenaPickler(body, self.arena).dump((method, args))
            except ArenaFull as full:
                self.arena.ensure(full.needed * 2)
                continue
            used = self.arena.path if self.arena.offset and self.arena.path else None
            return pickle.dumps((used, self.arena.size) if used else (None, 0)) + body.getvalue()

    def stop(self) -> int | None:
        """Kill the worker's process group; its wait status (None if unknown)."""
        pid, self.pid = self.pid, None
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.arena.close()
        if pid is None:
            return None
        kill_group(pid)
        zygote_ = self.pool.zygote
        return zygote_.reap(pid) if zygote_ is not None else None


class WorkerPool:
    """The lanes of one model (max_concurrency of them). A thread holds one lane for a whole sample
    (`GuardedModel.session`), so a streaming model's state lives in one worker."""

    def __init__(self, factory: ModelFactory, *, start_timeout_s: float | None = START_TIMEOUT_S,
                 profile: Profile | None = None):
        self.factory, self.start_timeout_s = factory, start_timeout_s
        self.zygote: Zygote | None = Zygote(factory)
        with _POOLS_LOCK:
            _POOLS.add(self)
        first = WorkerLane(self, 0)
        try:
            self.profile = profile if profile is not None else first.start()
        except BaseException:
            self.close()
            raise
        self.lanes = [first] + [WorkerLane(self, i) for i in range(1, self.profile.capabilities().max_concurrency)]
        self._free = list(reversed(self.lanes))
        self._cond = threading.Condition()
        self._held = threading.local()

    def zygote_(self) -> Zygote:
        if self.zygote is None:
            self.zygote = Zygote(self.factory)
            with _POOLS_LOCK:
                _POOLS.add(self)
        return self.zygote

    @property
    def starts(self) -> int:
        return sum(lane.starts for lane in self.lanes)

    def acquire(self) -> WorkerLane:
        with self._cond:
            while not self._free:
                self._cond.wait()
            return self._free.pop()

    def release(self, lane: WorkerLane) -> None:
        with self._cond:
            self._free.append(lane)
            self._cond.notify()

    def held(self) -> WorkerLane | None:
        """The lane this thread holds, if any."""
        return getattr(self._held, "lane", None)

    def set_held(self, lane: WorkerLane | None) -> None:
        self._held.lane = lane

    def call(self, method: str, args: tuple, timeout: float | None) -> Any:
        held = self.held()
        lane = held or self.acquire()
        try:
            if not lane.running:
                self._restart(lane)
            return lane.call(method, args, timeout)
        finally:
            if held is None:
                self.release(lane)

    def _restart(self, lane: WorkerLane) -> None:
        try:
            fresh = lane.start()
        except ModelStuck:
            raise
        except Exception as exc:
            raise ModelStuck(f"model {self.factory.name}: a new worker could not build the model: "
                             f"{type(exc).__name__}: {exc}") from exc
        if fresh.public != self.profile.public or fresh.methods != self.profile.methods:
            lane.stop()
            raise ModelStuck(f"model {self.factory.name}: a new worker reports other capabilities than the run "
                             "was planned with (its checkpoint or code changed?); rerun the command")

    def close(self) -> None:
        """Stop every worker and the zygote (a later call forks a new zygote)."""
        for lane in getattr(self, "lanes", []):
            lane.stop()
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        with _POOLS_LOCK:
            _POOLS.discard(self)


class RemoteModel:
    """What the engine sees of a model that lives in workers: its profile, and methods that call it."""

    def __init__(self, pool: WorkerPool):
        self._pool = pool
        self.capabilities = pool.profile.capabilities()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_pool":
            raise AttributeError(name)
        profile = self._pool.profile
        if name in profile.methods:
            return lambda *args: self._pool.call(name, args, None)
        if name in profile.attributes:
            return profile.attributes[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"RemoteModel({self._pool.factory.name!r})"
