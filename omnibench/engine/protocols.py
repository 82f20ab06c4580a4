"""The two adapter protocols and the values that cross them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from omnibench.data.schema import Message, Query, Sample


@dataclass
class OfflineRequest:
    """One question about a clip. `frames` is (N, H, W, 3) uint8, or None for text-only models."""

    prompt: str
    frames: np.ndarray | None = None
    frame_times: list[float] = field(default_factory=list)
    video_path: str | None = None          # absolute path of the clip, for adapters that read video themselves
    start: float = 0.0
    end: float | None = None
    history: list[Message] = field(default_factory=list)
    audio: str | None = None               # path of a wav with the spoken query
    choices: list[str] | None = None
    max_new_tokens: int = 256
    temperature: float = 0.0
    task: str = ""
    sample_id: str = ""
    turn: int = 0
    query: Query | None = None
    sample: Sample | None = None            # the whole sample (for replay and test oracles)


@dataclass
class StreamInfo:
    """What a streaming model is told when a new stream starts."""

    sample_id: str
    task: str
    duration: float
    fps: float
    history: list[Message] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    sample: Sample | None = None


@dataclass
class Emission:
    """Something the model says. `text` is a delta: long answers arrive over several polls."""

    text: str
    turn: int | None = None                # index of the query it answers; None = unprompted alert
    done: bool = True
    refers_to: float | None = None         # time the model claims the event happened
    arrived: float | None = None           # time.perf_counter() when a live API's reply arrived


class Reply(str):
    """What `generate` may return instead of a plain str: the answer, with per-call data for its
    event in the log (Event.data), e.g. {"usage": {"prompt_tokens": ...}}. It is a str, so every
    reader of answers takes it as one."""

    data: dict[str, Any]

    def __new__(cls, text: str, data: dict[str, Any] | None = None) -> Reply:
        reply = super().__new__(cls, text)
        reply.data = dict(data or {})
        return reply


@runtime_checkable
class OfflineModel(Protocol):
    """Sees a clip, answers once. Optional: `should_respond(request) -> float` (turn-taking head)."""

    def generate(self, request: OfflineRequest) -> str: ...


@runtime_checkable
class StreamingModel(Protocol):
    """Watches the video play and may speak at any time."""

    fps: float

    def reset(self, info: StreamInfo) -> None: ...

    def feed(self, t: float, frame: np.ndarray) -> None: ...

    def ask(self, t: float, query: Query) -> None: ...

    def poll(self, t: float) -> list[Emission]: ...


# Optional model attributes the engine reads: see omnibench.engine.capabilities.Capabilities


def is_streaming(model: object) -> bool:
    return all(callable(getattr(model, name, None)) for name in ("reset", "feed", "ask", "poll"))


def is_offline(model: object) -> bool:
    return callable(getattr(model, "generate", None))
