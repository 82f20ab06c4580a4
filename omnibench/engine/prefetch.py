"""Decoding ahead of the model: a thread fills a bounded queue while the model works on the frame before.

Video decoding (PyAV releases the GIL) and model steps then overlap instead of taking turns; the
queue bounds what is decoded ahead (`depth` frames), so memory stays flat on any stream length.
An error while decoding reaches the consumer at the frame where it happened; a consumer that stops
early (a failed model call) stops the decoding thread, which is joined before the sample ends.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

DEPTH = 8
_END = object()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def prefetched(items: Iterable[Any], depth: int = DEPTH) -> Iterator[Any]:
    """The items of `items`, produced by a thread at most `depth` ahead of the consumer."""
    ready: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:          # noqa: B036 - handed to the consumer, raised there
            put(_Failed(exc))

    thread = threading.Thread(target=produce, name="omnibench-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join(timeout=5.0)
