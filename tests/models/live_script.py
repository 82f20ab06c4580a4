"""What the local live-API fakes do, scripted (shared by fake_realtime and fake_gemini_live).

The fakes speak each vendor's wire protocol; this decides what the "model" says:
answer each question after `answer_delay_s` with `answer_words` words, one word every
`word_s` (wall seconds); speak up (unprompted) when a frame shows `alert_rgb` after frames that
did not; ignore remarks; say nothing more once told to stop; drop the connection once after
`drop_after_frames` frames; refuse with a rate-limit error when `rate_limit` is set. Usage is
reported with `image_tokens` per frame and one token per four characters of text.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

STOP_WORDS = ("stop", "quiet", "enough", "that's all", "hush", "silence", "shh")
QUESTION_STARTS = ("what", "who", "which", "when", "where", "why", "how", "is ", "are ", "does ", "do ", "can ",
                   "could ", "describe", "tell me", "let me know", "notify", "alert", "signal")


def default_kind(text: str) -> str:
    """question | stop | remark, from the words of the turn (prompts may wrap it)."""
    low = text.strip().lower()
    if any(w in low for w in STOP_WORDS) and "don't stop" not in low and "bus stop" not in low:
        return "stop"
    if "?" in low or low.startswith(QUESTION_STARTS):
        return "question"
    return "remark"


@dataclass
class Script:
    answer_delay_s: float = 0.05
    word_s: float = 0.02
    answer_words: int = 12
    answer: Callable[[str], str] | None = None
    kind: Callable[[str], str] = default_kind
    alert_rgb: tuple[int, int, int] | None = (220, 40, 40)
    alert_text: str = "A red circle just appeared."
    drop_after_frames: int | None = None
    rate_limit: bool = False
    image_tokens: int = 258
    log: list[dict] = field(default_factory=list)     # what the fake received, for assertions

    def reply(self, text: str) -> str:
        if self.answer is not None:
            return self.answer(text)
        return " ".join(["I", "see", "a", "square", "moving", "across", "the", "frame", "and", "it", "keeps",
                         "going"][: self.answer_words] + ["on"] * max(0, self.answer_words - 12))

    def shows_alert_colour(self, jpeg: bytes) -> bool:
        if self.alert_rgb is None:
            return False
        from PIL import Image

        pixels = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=np.int16)
        close = np.abs(pixels - np.array(self.alert_rgb, dtype=np.int16)).max(axis=2) < 60
        return bool(close.mean() > 0.002)


def tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


class LocalServer:
    """A websockets server on 127.0.0.1 in its own thread, stopped on exit or after `max_seconds`.

    Subclasses give `_session(ws)` and, for TLS, `_ssl()`; `name` is used in the start-up error.
    """

    name = "fake server"

    def __init__(self, max_seconds: float = 60.0):
        self.max_seconds = max_seconds         # bounded: the server stops itself after this
        self._ready = threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"{self.name} did not start")
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    def _ssl(self):
        return None

    async def _main(self) -> None:
        from websockets.asyncio.server import serve

        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        async with serve(self._session, "127.0.0.1", 0, ssl=self._ssl(), max_size=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            try:
                await asyncio.wait_for(self._stop.wait(), self.max_seconds)
            except asyncio.TimeoutError:
                pass

    async def _session(self, ws) -> None:
        raise NotImplementedError
