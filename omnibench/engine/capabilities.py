"""What an adapter declares about itself, read once and validated when the model is built.

An adapter sets plain attributes (class or instance) or one `capabilities = Capabilities(...)`:
    needs_video       False: the engine never opens the video (blind, replay)
    num_frames        frames per offline request (unless offline_fps is set)
    offline_fps       sample offline clips at this rate instead of a frame count
    frame_size        square side, or (height, width), streaming frames are resized and padded to
    video_input       "frames" (decoded frames in the request) or "clip": the adapter reads the video
                      itself from `request.video_path`, a clip cut at the request's end
    max_side          longest frame side the model uses (0/None: any); frames the engine keeps (the
                      offline-to-streaming bridge) are downscaled to it on arrival
    accepts_audio     the user's turns are given as speech (Query.audio, TTS)
    transient_errors  exception types worth retrying (rate limits, dropped connections)
    max_concurrency   calls that may run at once (local models: that many worker processes, one copy each)
    remote            an API adapter: its calls go to a server with the client's own timeouts, so it
                      runs in the run's process, not in a worker (declare it on the class)
    tensor_parallel   the model is split over the ranks of a torchrun job (tp_plan): every rank runs
                      every sample, in step, and rank 0 writes the records
    deterministic     the same request always gets the same answer (response cache allowed)
    secrets           setting names that are secrets, besides the default list (api_key, token, ...)
    runtime_settings  setting names that never change an answer (an endpoint, a timeout, `watch`), besides
                      identity.RUNTIME_SETTINGS: left out of the run id and the default label
    weights_fingerprint  hash of the loaded checkpoint (rundir.fingerprint_path), or None
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from omnibench.errors import ConfigError

FIELDS = ("needs_video", "num_frames", "offline_fps", "frame_size", "video_input", "max_side", "accepts_audio",
          "transient_errors", "max_concurrency", "remote", "tensor_parallel", "deterministic", "secrets",
          "runtime_settings", "weights_fingerprint")


class Capabilities(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="forbid")

    needs_video: bool = True
    num_frames: int = 16
    offline_fps: float | None = None
    frame_size: int | tuple[int, int] | None = None
    video_input: Literal["frames", "clip"] = "frames"
    max_side: int | None = None
    accepts_audio: bool = False
    transient_errors: tuple[type, ...] = ()
    max_concurrency: int = 1
    remote: bool = False
    tensor_parallel: bool = False
    deterministic: bool = False
    secrets: frozenset[str] = frozenset()
    runtime_settings: frozenset[str] = frozenset()
    weights_fingerprint: str | None = None

    @field_validator("transient_errors")
    @classmethod
    def _exceptions(cls, value):
        bad = [v for v in value if not (isinstance(v, type) and issubclass(v, BaseException))]
        if bad:
            raise ValueError(f"not exception types: {bad}")
        return value

    @field_validator("max_side")
    @classmethod
    def _side(cls, value):
        if value is not None and value < 0:
            raise ValueError("must be >= 0 (0: any size)")
        return value or None

    @field_validator("num_frames", "max_concurrency")
    @classmethod
    def _positive(cls, value):
        if value < 1:
            raise ValueError("must be >= 1")
        return value

    def public(self) -> dict[str, Any]:
        """For run.json: JSON values only."""
        out = self.model_dump(exclude={"transient_errors", "secrets", "runtime_settings"})
        out["transient_errors"] = [t.__name__ for t in self.transient_errors]
        out["secrets"] = sorted(self.secrets)
        out["runtime_settings"] = sorted(self.runtime_settings)
        return out


def capabilities_of(model: Any, name: str = "") -> Capabilities:
    declared = getattr(model, "capabilities", None)
    if isinstance(declared, Capabilities):
        return declared
    values: dict[str, Any] = {}
    for field in FIELDS:
        value = getattr(model, field, None)
        if callable(value) and field == "weights_fingerprint":
            value = value()
        if value is not None:
            values[field] = value
    try:
        return Capabilities(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"model {name or type(model).__name__} declares bad capabilities: {problems}") from None


def pick_device(device: str = "auto") -> str:
    """'auto': cuda:LOCAL_RANK under torchrun/accelerate, cuda alone, else cpu; a set device is kept."""
    if device != "auto":
        return device
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    rank = os.environ.get("LOCAL_RANK")
    return f"cuda:{int(rank)}" if rank not in (None, "") else "cuda"
