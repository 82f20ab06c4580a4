"""Shared plumbing of the live adapters: a live API session behind the sync StreamingModel protocol.

A live API is a bidirectional websocket: frames and turns go out while replies come in at any
time. An asyncio loop on one background thread owns the session; `feed` and `ask` hand it a
send and wait only for the send, `poll` drains what the receive loop has queued (each emission
stamped with its arrival time, `Emission.arrived`). A dropped connection is reopened once per
sample with the state rebuilt (instructions in the new session's setup, the recent frames, the
turns still waiting for a reply); a second drop, a rate limit or a quota error becomes a
`ModelError` raised by the next call, so the sample is recorded as an error with the reason.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from omnibench.engine.protocols import Emission, StreamInfo
from omnibench.errors import ModelError

_RATE_WORDS = ("rate limit", "rate_limit", "quota", "resource_exhausted", "resource exhausted", "429")


def rate_limited(reason: str) -> bool:
    return any(w in reason.lower() for w in _RATE_WORDS)


def pcm16(path: str | Path, rate: int) -> bytes:
    """A wav file as mono 16-bit little-endian PCM at `rate` Hz (what live APIs take)."""
    from scipy.signal import resample_poly

    from omnibench.data.tts import read_wav

    samples, source_rate = read_wav(path)
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    if samples.size and np.abs(samples).max() > 1.5:      # int16 range -> [-1, 1]
        samples = samples / 32768.0
    if source_rate != rate:
        g = np.gcd(int(source_rate), int(rate))
        samples = resample_poly(samples, rate // g, int(source_rate) // g)
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


class LiveAdapter:
    """Base of the live adapters; subclasses implement the async `_open`/`_send_*`/`_receive`/`_close`."""

    needs_video = True
    realtime_only = True                 # a live session cannot wait: lockstep mode refuses it
    remote = True                        # a server does the work: runs in the run's process (engine.placement)
    secret_settings = ("api_key",)
    deterministic = False
    sample_rate = 24000                  # PCM rate of spoken turns (Gemini: 16000)

    def __init__(self, *, fps: float = 1.0, max_side: int = 512, audio: bool = False, speed: float = 1.0,
                 keep_frames_s: float = 2.0, send_timeout_s: float = 10.0):
        self.fps, self.max_side, self.accepts_audio = float(fps), int(max_side), bool(audio)
        self.speed = float(speed)        # wall-clock pacing: stream seconds per wall second (tests play fast)
        self.send_timeout_s = send_timeout_s
        self.recent: deque[bytes] = deque(maxlen=max(1, int(round(keep_frames_s * self.fps))))
        self.usage: dict[str, int] = {}
        self.interruptions: list[float] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._out: queue.Queue[Emission] = queue.Queue()
        self._error: str | None = None
        self._receiver: asyncio.Future | None = None

    # ---- the sync protocol -------------------------------------------------------------------
    def reset(self, info: StreamInfo) -> None:
        self.close()
        self.info = info
        self.turns: list[Any] = []
        self.waiting: list[int] = []     # asked, no reply started yet
        self.recent.clear()
        self.reconnects_left = 1
        self.frames_sent = 0
        self.usage, self.interruptions = {}, []      # per sample
        self._error = None
        self._out = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="omnibench-live", daemon=True)
        self._thread.start()
        self._run(self._start())

    def feed(self, t: float, frame: np.ndarray) -> None:
        from omnibench.models.openai_compat import jpeg_bytes

        self._raise()
        jpeg = jpeg_bytes(frame, self.max_side)
        self.recent.append(jpeg)
        self.frames_sent += 1
        self._run(self._guarded(self._send_frame, jpeg))

    def ask(self, t: float, query: Any) -> None:
        self._raise()
        turn = len(self.turns)
        self.turns.append(query)
        self.waiting.append(turn)
        self._run(self._guarded(self._send_turn, turn))

    def poll(self, t: float) -> list[Emission]:
        out = []
        while True:
            try:
                out.append(self._out.get_nowait())
            except queue.Empty:
                break
        if not out:
            self._raise()
        return out

    def close(self) -> None:
        if self._loop is None:
            return
        try:
            self._run(self._stop(), timeout=5.0)
        except Exception:  # closing a broken session must not hide the sample's result
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._loop.close()
        self._loop = self._thread = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # ---- helpers for subclasses ----------------------------------------------------------------
    def emit(self, text: str, turn: int | None, done: bool) -> None:
        self._out.put(Emission(text, turn=turn, done=done, arrived=time.perf_counter()))

    def spoken(self, turn: int) -> bytes | None:
        """The turn as PCM16 at this API's rate, when audio is on and the turn has a wav."""
        query = self.turns[turn]
        return pcm16(query.audio, self.sample_rate) if self.accepts_audio and query.audio else None

    def count(self, **tokens: int) -> None:
        for key, value in tokens.items():
            self.usage[key] = self.usage.get(key, 0) + int(value or 0)

    def fail(self, reason: str) -> None:
        kind = "rate limit or quota exceeded" if rate_limited(reason) else "live session failed"
        self._error = self._error or f"{type(self).__name__}: {kind}: {reason}"

    # ---- the session ---------------------------------------------------------------------------
    def _run(self, coro, timeout: float | None = None):
        if self._loop is None:
            coro.close()
            raise ModelError(f"{type(self).__name__}: no live session (reset() opens one)")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout=timeout or self.send_timeout_s)
        except ModelError:
            raise
        except Exception as exc:
            kind = "rate limit or quota exceeded: " if rate_limited(str(exc)) else ""
            raise ModelError(f"{type(self).__name__}: {kind}{type(exc).__name__}: {exc}") from exc

    def _raise(self) -> None:
        if self._error:
            raise ModelError(self._error)

    async def _start(self) -> None:
        self._lock, self._generation = asyncio.Lock(), 0
        await self._open()
        self._receiver = asyncio.ensure_future(self._receive_forever())

    async def _stop(self) -> None:
        if self._receiver is not None:
            self._receiver.cancel()
        await self._close()

    async def _guarded(self, send, *args) -> None:
        generation = self._generation
        try:
            await send(*args)
        except Exception as exc:   # a send on a dropped connection: reconnect (the rebuild resends it)
            if self._lock.locked() or generation != self._generation:
                async with self._lock:      # a reconnect is under way; its rebuild resends this
                    return
            if not self._dropped(exc):
                self.fail(f"{type(exc).__name__}: {exc}")
                return
            await self._reconnect(exc, generation)

    async def _receive_forever(self) -> None:
        while True:
            generation = self._generation
            try:
                await self._receive()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self._dropped(exc) or not await self._reconnect(exc, generation):
                    self.fail(f"{type(exc).__name__}: {exc}")
                    return

    async def _reconnect(self, exc: Exception, generation: int) -> bool:
        async with self._lock:
            if generation != self._generation:     # the other side already reopened it
                return True
            return await self._reopen(exc)

    async def _reopen(self, exc: Exception) -> bool:
        if self.reconnects_left <= 0:
            self.fail(f"connection dropped again after one reconnect: {exc}")
            return False
        self.reconnects_left -= 1
        try:
            await self._close()
        except Exception:
            pass
        await self._open()
        self._generation += 1
        for jpeg in list(self.recent):
            await self._send_frame(jpeg)
        for turn in list(self.waiting):
            await self._send_turn(turn)
        return True

    def _dropped(self, exc: Exception) -> bool:
        """A lost connection (worth one reconnect), not a refusal such as a rate limit."""
        text = f"{type(exc).__name__} {exc}"
        return not rate_limited(text) and any(w in text for w in ("ConnectionClosed", "1006", "1011", "1012",
                                                                   "closed", "Connection"))

    async def _open(self) -> None: ...
    async def _close(self) -> None: ...
    async def _send_frame(self, jpeg: bytes) -> None: ...
    async def _send_turn(self, turn: int) -> None: ...
    async def _receive(self) -> None: ...
