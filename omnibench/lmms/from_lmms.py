"""Any lmms-eval model as an omnibench OfflineModel: `--model lmms:<name> --model-args ...`.

The model is built through lmms-eval's own registry and called with the `Instance` objects its
tasks would send (simple: ctx, gen_kwargs, doc_to_visual, doc_id, task, split; chat: ctx,
doc_to_messages, gen_kwargs, doc_id, task, split). Frames of a request become a temporary mp4
(lmms-eval models take video paths); a request without frames passes its `video_path`. Through
the OfflineAsStreaming bridge, lmms-eval's model zoo takes omnibench's streaming tasks too.
"""

from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from omnibench.engine.protocols import OfflineRequest
from omnibench.errors import ConfigError, ModelError

PREFIX = "lmms:"
TASK, SPLIT, DOC_ID = "omnibench", "test", 0


def make_model(name: str, **settings: Any) -> LmmsModel:
    """The hook for `registry.get_model("lmms:<name>", ...)`; `name` may keep its `lmms:` prefix."""
    return LmmsModel(name.removeprefix(PREFIX), **settings)


class LmmsModel:
    """Wraps an lmms-eval model. omnibench-side settings: num_frames, offline_fps, force_simple."""

    def __init__(self, name: str, num_frames: int = 16, offline_fps: float | None = None,
                 force_simple: bool = False, **settings: Any):
        try:
            from lmms_eval.models import get_model
        except ImportError as exc:
            raise ConfigError("`lmms:` models need lmms-eval: pip install 'omnibench[lmms]'") from exc
        try:
            cls = get_model(name, force_simple=bool(force_simple))
        except Exception as exc:
            raise ConfigError(f"lmms-eval has no usable model {name!r}: {exc}") from exc
        self.name, self.num_frames, self.offline_fps = name, int(num_frames), offline_fps
        self.is_simple = bool(getattr(cls, "is_simple", True))
        self.lm = cls.create_from_arg_string("", {k: v for k, v in settings.items() if v is not None})
        self.needs_video = True

    def generate(self, request: OfflineRequest) -> str:
        from lmms_eval.api.instance import Instance, unwrap_generation_output

        with tempfile.TemporaryDirectory(prefix="omnibench-lmms-") as tmp:
            video = write_video(request.frames, request.frame_times, Path(tmp) / "clip.mp4") \
                if request.frames is not None else request.video_path
            visuals = [str(video)] if video else []
            doc = {"video": visuals[0] if visuals else "", "prompt": request.prompt}
            self.lm.task_dict = {TASK: {SPLIT: {DOC_ID: doc}}}
            gen_kwargs = {"max_new_tokens": request.max_new_tokens, "temperature": request.temperature,
                          "do_sample": request.temperature > 0, "until": []}
            args: tuple[Any, ...]
            if self.is_simple:
                args = (simple_context(request), gen_kwargs, lambda d, *_: list(visuals), DOC_ID, TASK, SPLIT)
            else:
                messages = chat_messages(request, visuals)
                args = (request.prompt, lambda d, *_, **__: messages, gen_kwargs, DOC_ID, TASK, SPLIT)
            instance = Instance(request_type="generate_until", arguments=args, idx=0,
                                metadata={"task": TASK, "doc_id": DOC_ID, "repeats": 1})
            outputs = self.lm.generate_until([instance])
        if len(outputs) != 1:
            raise ModelError(f"lmms-eval model {self.name} returned {len(outputs)} outputs for one request")
        text, _ = unwrap_generation_output(outputs[0])
        return text if isinstance(text, str) else str(text)


def simple_context(request: OfflineRequest) -> str:
    """Simple lmms-eval models take one string: the history as 'role: text' lines, then the prompt."""
    lines = [f"{m.role}: {m.text}" for m in request.history]
    return "\n".join([*lines, request.prompt]) if lines else request.prompt


def chat_messages(request: OfflineRequest, visuals: list[str]) -> list[dict[str, Any]]:
    """lmms-eval chat messages: the history, then the user turn with the video and the prompt."""
    out = [{"role": m.role, "content": [{"type": "text", "text": m.text}]} for m in request.history]
    content: list[dict[str, Any]] = [{"type": "video", "url": v} for v in visuals]
    content.append({"type": "text", "text": request.prompt})
    return [*out, {"role": "user", "content": content}]


def write_video(frames: np.ndarray, times: list[float], path: Path) -> Path:
    """(N, H, W, 3) uint8 frames to an mp4 whose frame rate spans their times."""
    import av

    n = len(frames)
    span = (times[-1] - times[0]) if len(times) == n and n > 1 else 0.0
    fps = Fraction((n - 1) / span if span > 0 else 1.0).limit_denominator(1000) or Fraction(1)
    # padded (black) to multiples of 16, width >= 64: decord (many lmms-eval models read with it)
    # fails on narrower videos
    h, w = -(-frames.shape[1] // 16) * 16, max(64, -(-frames.shape[2] // 16) * 16)
    with av.open(str(path), "w") as container:
        try:
            stream = container.add_stream("libx264", rate=fps)
        except Exception:   # a PyAV build without x264
            stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for frame in frames:
            padded = np.zeros((h, w, 3), np.uint8)
            padded[: frame.shape[0], : frame.shape[1]] = frame
            for packet in stream.encode(av.VideoFrame.from_ndarray(padded, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
