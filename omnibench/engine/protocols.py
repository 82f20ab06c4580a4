"""The two adapter protocols and the values that cross them: the sealed boundary.

Nothing model-facing holds what the model is scored against (no Sample, target, window or
metadata label): the harness builds these values in `omnibench.engine.boundary`, the one place
where a Sample's turn becomes what the model may see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from omnibench.data.schema import Message

TurnKind = Literal["question", "alert_request"]


@dataclass(frozen=True)
class UserTurn:
    """What the user says, as a person watching would hear it.

    `kind` is "alert_request" for "tell me when ..." requests and "question" for everything else:
    a remark, a stop, a follow-up or a lure all arrive as "question", so nothing but the words tells
    them apart (the task's label stays with the harness).
    """

    text: str
    kind: TurnKind = "question"
    choices: tuple[str, ...] | None = None     # answer choices offered with the question
    audio: str | None = None                   # path of a wav with the spoken turn


@dataclass
class OfflineRequest:
    """One question about a clip. `frames` is (N, H, W, 3) uint8, or None for text-only models.

    Everything here is what a person answering would have: the prompt, the frames (or a clip cut at
    `end`), the conversation so far, the spoken query and the choices offered. Never a sample, a
    target, a window or a label.
    """

    prompt: str                            # what the task's wording makes of the turn (history, choices, ...)
    utterance: str = ""                    # the user's own words at this turn, as spoken
    frames: np.ndarray | None = None
    frame_times: list[float] = field(default_factory=list)
    video_path: str | None = None          # a clip of [start, end] cut for this request, never the source file
    start: float = 0.0
    end: float | None = None
    history: list[Message] = field(default_factory=list)
    audio: str | None = None               # path of a wav with the spoken query
    choices: tuple[str, ...] | None = None
    kind: TurnKind = "question"
    max_new_tokens: int = 256
    temperature: float = 0.0
    task: str = ""
    sample_id: str = ""
    turn: int = 0


@dataclass
class StreamInfo:
    """What a streaming model is told when a new stream starts."""

    sample_id: str
    task: str
    duration: float
    fps: float
    history: list[Message] = field(default_factory=list)


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

    def ask(self, t: float, turn: UserTurn) -> None: ...

    def poll(self, t: float) -> list[Emission]: ...


# Optional model attributes the engine reads: see omnibench.engine.capabilities.Capabilities


def is_streaming(model: object) -> bool:
    return all(callable(getattr(model, name, None)) for name in ("reset", "feed", "ask", "poll"))


def is_offline(model: object) -> bool:
    return callable(getattr(model, "generate", None))
