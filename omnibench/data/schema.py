"""The typed records every part of omnibench shares: Sample, VideoRef, Query, Message."""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

QueryKind = Literal["question", "alert_request", "noise", "stop"]


def check_relative_path(path: str) -> str:
    """Refuse paths that could escape the data root (absolute, drive letters, '..')."""
    if not path or not path.strip():
        raise ValueError("path is empty")
    if "\x00" in path:
        raise ValueError("path contains a NUL byte")
    posix, windows = PurePosixPath(path), PureWindowsPath(path)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or path.startswith(("\\", "~")):
        raise ValueError(f"path {path!r} must be relative to the data root")
    if ".." in posix.parts or ".." in windows.parts:
        raise ValueError(f"path {path!r} must not contain '..'")
    return path


def check_video_file(path: str) -> str:
    """A video named in an annotation file: a relative path (check_relative_path) to a file, not a folder."""
    check_relative_path(path)
    if path.endswith("/"):
        raise ValueError(f"video {path!r} names a folder, not a file")
    return path


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VideoRef(_Frozen):
    """A video relative to a data root, optionally a [start, end] slice and pre-cut clips."""

    path: str
    start: float | None = None
    end: float | None = None
    # OmniMMI ships clips named {vid}_{end}.mp4; key: the clip end as written in the name.
    clips: dict[str, str] = Field(default_factory=dict)
    # content hash of the video and its clips (omnibench.rundir.with_video_fingerprints): part of the
    # sample's hash, so a video swapped at the same path reruns its samples
    fingerprint: str | None = None

    @field_validator("path")
    @classmethod
    def _relative(cls, v: str) -> str:
        return check_relative_path(v)

    @field_validator("clips")
    @classmethod
    def _relative_clips(cls, v: dict[str, str]) -> dict[str, str]:
        for clip in v.values():
            check_relative_path(clip)
        return v

    @model_validator(mode="after")
    def _ordered(self) -> VideoRef:
        if self.start is not None and self.start < 0:
            raise ValueError("start must be >= 0")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Query(_Frozen):
    """One user turn: spoken at stream time `t` (None: when the video ends, as for AP and PT)."""

    t: float | None = Field(default=None, ge=0)
    text: str
    kind: QueryKind = "question"
    # answer text, a choice, or a [start, end] window (alert requests)
    target: str | list[float] | None = None
    choices: list[str] | None = None
    # where the relevant span begins (SG/MD "s -- e"); the offline clip still starts at 0
    span_start: float | None = None
    audio: str | None = None
    # index of an earlier turn whose *model answer* replaces ##ANSWER## in `text`
    depends_on: int | None = None

    @field_validator("target")
    @classmethod
    def _window(cls, v: Any) -> Any:
        if isinstance(v, list):
            if len(v) != 2 or v[1] < v[0]:
                raise ValueError(f"a target window must be [start, end] with start <= end, got {v}")
        return v

    @property
    def window(self) -> tuple[float, float] | None:
        return (float(self.target[0]), float(self.target[1])) if isinstance(self.target, list) else None


class Message(_Frozen):
    """An earlier chat turn given to the model as history."""

    role: Literal["user", "assistant", "system"]
    text: str


class Sample(_Frozen):
    """One evaluation item: a video, the user turns on its clock, and what is expected."""

    id: str = Field(min_length=1)
    task: str
    video: VideoRef
    turns: list[Query] = Field(min_length=1)
    history: list[Message] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _dependencies(self) -> Sample:
        for i, q in enumerate(self.turns):
            if q.depends_on is not None and not 0 <= q.depends_on < i:
                raise ValueError(f"turn {i} depends on turn {q.depends_on}, which is not earlier")
        return self

    @property
    def video_id(self) -> str:
        """Cluster key for bootstrap CIs: the source video (without the slice)."""
        return self.metadata.get("video_id", self.video.path)
