"""Runs the samples of a task: a bounded feed, a stop event, prompt exit on Ctrl-C / SIGTERM.

At most `workers` samples are in flight; the next one is handed out only when one finishes, so
a stop (`--max-errors`, Ctrl-C, SIGTERM) leaves nothing queued to cancel. Results come back to
the calling thread, which alone writes them, so every finished sample is on disk whole. Workers
are daemon threads: a hung adapter call never keeps the process alive.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from typing import Any

GRACE_S = 10.0          # after a stop, how long in-flight samples may take to finish


class Interrupted(KeyboardInterrupt):
    """The run was stopped by Ctrl-C or SIGTERM; finished samples are on disk, a rerun resumes."""


@contextmanager
def sigterm_interrupts():
    """SIGTERM behaves like Ctrl-C in the main thread (no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run_bounded(items: Iterable[Any], work: Callable[[Any], Any], *, workers: int, stop: threading.Event,
                on_result: Callable[[Any, Any], None], grace_s: float = GRACE_S) -> bool:
    """work(item) on daemon workers; on_result(item, result) in this thread. False when stopped early."""
    todo = iter(items)
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    results: queue.SimpleQueue = queue.SimpleQueue()

    def serve() -> None:
        while (item := inbox.get()) is not None:
            try:
                results.put((item, work(item), None))
            except BaseException as exc:       # work() records sample errors itself; this is a bug or a stop
                results.put((item, None, exc))

    threads = [threading.Thread(target=serve, name=f"sample-worker{i}", daemon=True) for i in range(max(1, workers))]
    for t in threads:
        t.start()
    in_flight = 0
    exhausted = False

    def feed() -> None:
        nonlocal in_flight, exhausted
        while not exhausted and not stop.is_set() and in_flight < len(threads):
            item = next(todo, None)
            if item is None:
                exhausted = True
                return
            inbox.put(item)
            in_flight += 1

    def take(timeout: float) -> bool:
        nonlocal in_flight
        try:
            item, result, error = results.get(timeout=timeout)
        except queue.Empty:
            return False
        in_flight -= 1
        if error is not None:
            raise error
        on_result(item, result)
        return True

    try:
        feed()
        while in_flight:
            if take(0.2):
                feed()
    except KeyboardInterrupt:
        stop.set()
        _drain(take, lambda: in_flight, grace_s)
        raise
    finally:
        for _ in threads:
            inbox.put(None)
    if stop.is_set():
        _drain(take, lambda: in_flight, grace_s)
        return False
    for t in threads:          # idle workers end at once; gone, their thread state (a video decoder's)
        t.join(timeout=1.0)    # cannot reach a process forked later (engine.pool)
    return exhausted


def _drain(take, in_flight, grace_s: float) -> None:
    """Write what the in-flight samples finish within the grace period; a second Ctrl-C abandons them."""
    import time

    deadline = time.monotonic() + grace_s
    try:
        while in_flight() and time.monotonic() < deadline:
            take(min(0.2, max(0.0, deadline - time.monotonic())))
    except KeyboardInterrupt:
        pass
