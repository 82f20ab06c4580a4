"""Any lmms-eval model as an omnibench OfflineModel: `--model lmms:<name> --model-args ...`.

The model is built through lmms-eval's own registry and called with the `Instance` objects its
tasks would send (simple: ctx, gen_kwargs, doc_to_visual, doc_id, task, split; chat: ctx,
doc_to_messages, gen_kwargs, doc_id, task, split). Frames of a request become an mp4 (lmms-eval
models take video paths), cut once per distinct clip and kept while the model lives (`ClipCache`):
the bridge's turn answers and alert polls over the same frames, a turn-taking check and its answer,
share one file. A request without frames passes its `video_path`. Through the OfflineAsStreaming
bridge, lmms-eval's model zoo takes omnibench's streaming tasks too.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import OrderedDict
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
        self.clips = ClipCache()

    def generate(self, request: OfflineRequest) -> str:
        from lmms_eval.api.instance import Instance, unwrap_generation_output

        video = self.clips.path(request)
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


class ClipCache:
    """The mp4 of each distinct clip (frames and their times), written once and kept for the model's
    life (the newest `keep` of them, in a temporary folder of its own)."""

    def __init__(self, keep: int = 8):
        self.keep = keep
        self.folder: tempfile.TemporaryDirectory | None = None
        self.paths: OrderedDict[str, Path] = OrderedDict()
        self.written = 0

    def path(self, request: OfflineRequest) -> str | None:
        """The clip's file: the request's own `video_path` when it has no frames."""
        if request.frames is None:
            return request.video_path
        digest = hashlib.sha256(np.ascontiguousarray(request.frames).tobytes())
        digest.update(repr((request.frames.shape, list(request.frame_times))).encode())
        key = digest.hexdigest()[:32]
        if key in self.paths:
            self.paths.move_to_end(key)
            return str(self.paths[key])
        if self.folder is None:
            self.folder = tempfile.TemporaryDirectory(prefix="omnibench-lmms-")
        path = write_video(request.frames, request.frame_times, Path(self.folder.name) / f"{key}.mp4")
        self.written += 1
        self.paths[key] = path
        while len(self.paths) > self.keep:
            _, old = self.paths.popitem(last=False)
            old.unlink(missing_ok=True)
        return str(path)


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
