"""The wrapper every adapter gets: timeouts, bounded retries, a response cache, validation.

Adapters implement only the protocol; they declare what is worth retrying
(`transient_errors`), whether answers may be cached (`deterministic`) and how many calls
may run at once (`max_concurrency`, used by the offline driver).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from omnibench.engine.protocols import Emission, OfflineRequest, is_offline, is_streaming
from omnibench.errors import ModelError, TransientModelError


class ResponseCache:
    """SQLite map from request hash to answer text; shared by threads of one process."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, text TEXT)")
        self._db.commit()

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT text FROM responses WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, text: str) -> None:
        from omnibench.sanitize import scrub   # sqlite refuses lone surrogates; secrets never cached

        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?)", (key, scrub(text)))
            self._db.commit()


def request_key(model_id: str, settings: dict[str, Any], request: OfflineRequest) -> str:
    """Hash of adapter id + settings + request; frames enter by content hash."""
    digest = hashlib.sha256()
    fields = {
        "model": model_id, "settings": settings, "prompt": request.prompt,
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


class GuardedModel:
    """Wraps an adapter with timeout, retries on declared transient errors, and caching."""

    def __init__(self, model: Any, *, model_id: str, settings: dict[str, Any] | None = None,
                 timeout_s: float | None = None, retries: int = 2, backoff_s: float = 1.0,
                 cache: ResponseCache | None = None):
        self.inner = model
        self.model_id = model_id
        self.settings = settings or {}
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.cache = cache if getattr(model, "deterministic", False) else None
        self.transient = (TransientModelError, *getattr(model, "transient_errors", ()))
        self._pool = ThreadPoolExecutor(max_workers=4) if timeout_s else None

    # attributes the engine reads
    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def offline(self) -> bool:
        return is_offline(self.inner)

    @property
    def streaming(self) -> bool:
        return is_streaming(self.inner)

    def _call(self, fn, *args):
        """One call with timeout and bounded retries; returns (result, compute seconds)."""
        attempt = 0
        while True:
            start = time.perf_counter()
            try:
                if self._pool is None:
                    result = fn(*args)
                else:
                    result = self._pool.submit(fn, *args).result(timeout=self.timeout_s)
                return result, time.perf_counter() - start
            except FutureTimeout as exc:
                raise ModelError(f"{self.model_id}: call timed out after {self.timeout_s} s") from exc
            except self.transient as exc:
                attempt += 1
                if attempt > self.retries:
                    raise ModelError(f"{self.model_id}: failed after {self.retries} retries: {exc}") from exc
                time.sleep(self.backoff_s * 2 ** (attempt - 1))

    def generate(self, request: OfflineRequest) -> tuple[str, float]:
        key = request_key(self.model_id, self.settings, request) if self.cache else None
        if key and (hit := self.cache.get(key)) is not None:
            return hit, 0.0
        text, seconds = self._call(self.inner.generate, request)
        if not isinstance(text, str):
            raise ModelError(f"{self.model_id}: generate returned {type(text).__name__}, expected str")
        if key:
            self.cache.put(key, text)
        return text, seconds

    def should_respond(self, request: OfflineRequest) -> tuple[float, float]:
        p, seconds = self._call(self.inner.should_respond, request)
        return float(p), seconds

    def stream_call(self, method: str, *args) -> tuple[Any, float]:
        result, seconds = self._call(getattr(self.inner, method), *args)
        if method == "poll":
            result = list(result or [])
            bad = [e for e in result if not isinstance(e, Emission)]
            if bad:
                raise ModelError(f"{self.model_id}: poll returned {type(bad[0]).__name__}, expected Emission")
        return result, seconds
