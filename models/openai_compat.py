"""Any OpenAI-compatible chat endpoint (OpenAI, Azure OpenAI, vLLM, SGLang, LMDeploy, ...).

Served models of any size are evaluated through the serving engine they already run on: the
clip's frames go in as base64 JPEG `image_url` parts (in time order, longest side at most
`max_side` pixels), or with `video=video_url` as one `video_url` part holding the clip as an mp4
(what vLLM and SGLang take for video models: the server samples and encodes it the model's way);
then the spoken query as an `input_audio` part when `audio=true` and the request has one, then the
prompt text. Retries (429, 5xx, timeouts, dropped connections), caching and concurrency come from
the engine's wrapper: the client itself never retries. `concurrency` requests are in flight at
once, which a server with continuous batching (vLLM, SGLang) runs as one batch.

    omnibench run --tasks omnimmi --model openai_compat \
        --model-args base_url=http://localhost:8000/v1,model=Qwen/Qwen2.5-VL-72B-Instruct,num_frames=32

The API key comes from `api_key=` or OPENAI_API_KEY (a local server without auth needs neither);
it is never shown in repr, logs or error messages.
"""

from __future__ import annotations

import base64
import io
import os
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import numpy as np

from omnibench.engine.protocols import OfflineRequest, Reply
from omnibench.errors import ModelError
from omnibench.registry import model as register_model


def jpeg_bytes(frame: np.ndarray, max_side: int, quality: int = 85) -> bytes:
    """One HxWx3 uint8 frame as JPEG, downscaled so its longest side is at most max_side."""
    h, w = frame.shape[:2]
    scale = min(1.0, max_side / max(h, w)) if max_side else 1.0
    size = (max(2, round(w * scale)) // 2 * 2, max(2, round(h * scale)) // 2 * 2)
    try:
        from PIL import Image
    except ImportError:  # PyAV's MJPEG encoder needs no PIL
        return _jpeg_with_pyav(frame, size, quality)
    img = Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8))
    if img.size != size:
        img = img.resize(size, Image.Resampling.BICUBIC)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _jpeg_with_pyav(frame: np.ndarray, size: tuple[int, int], quality: int) -> bytes:
    import av

    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height = size
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1)
    codec.options = {"qscale": str(max(2, min(31, round(31 - quality * 0.29))))}
    picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame, dtype=np.uint8), format="rgb24")
    picture = picture.reformat(width=size[0], height=size[1], format="yuvj420p")
    return b"".join(bytes(p) for p in [*codec.encode(picture), *codec.encode(None)])


@register_model("openai_compat", description="Any OpenAI-compatible chat endpoint: frames as JPEG images, optional audio")
class OpenAICompatible:
    needs_video = True
    remote = True          # a server does the work: in the run's process, with the client's own timeout

    def __init__(self, model: str = "gpt-4o", base_url: str | None = None, api_key: str | None = None,
                 max_tokens: int | None = None, temperature: float | None = None, num_frames: int = 16,
                 frame_fps: float | None = None, max_side: int = 768, jpeg_quality: int = 85,
                 detail: str | None = None, audio: bool = False, concurrency: int = 4,
                 request_timeout_s: float = 120.0, system: str | None = None, video: str = "frames"):
        import openai

        if video not in ("frames", "video_url"):
            raise ModelError(f"openai_compat: video={video!r}: use frames (images) or video_url (one mp4)")
        self.video = video

        self.model_name = model
        self.base_url = base_url
        self.max_tokens, self.temperature = max_tokens, temperature
        self.num_frames = num_frames
        if frame_fps:
            self.offline_fps = frame_fps          # the engine samples by fps when this is set
        self.max_side, self.jpeg_quality, self.detail = max_side, jpeg_quality, detail
        self.accepts_audio = audio
        self.max_concurrency = max(1, int(concurrency))
        self.system = system
        # greedy answers may be cached; sampled ones may not
        self.deterministic = (temperature or 0.0) == 0.0
        self.transient_errors = (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError,
                                 openai.InternalServerError)
        key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"   # vLLM/SGLang accept any key
        self._client = openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=request_timeout_s)
        self._lock = threading.Lock()
        self.last_usage: dict[str, int] = {}
        self.usage: dict[str, int] = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0,
                                      "total_tokens": 0}

    def __repr__(self) -> str:  # never the key
        return f"OpenAICompatible(model={self.model_name!r}, base_url={self.base_url!r})"

    def messages(self, request: OfflineRequest) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{"role": "system", "content": self.system}] if self.system else []
        out += [{"role": m.role, "content": m.text} for m in request.history]
        content: list[dict[str, Any]] = []
        if self.video == "video_url":
            if clip := self._clip(request):
                content.append({"type": "video_url", "video_url": {"url": f"data:video/mp4;base64,{clip}"}})
        for frame in request.frames if request.frames is not None and self.video == "frames" else []:
            image = base64.b64encode(jpeg_bytes(frame, self.max_side, self.jpeg_quality)).decode()
            url: dict[str, str] = {"url": f"data:image/jpeg;base64,{image}"}
            if self.detail:
                url["detail"] = self.detail
            content.append({"type": "image_url", "image_url": url})
        if request.audio and self.accepts_audio:
            data = base64.b64encode(Path(request.audio).read_bytes()).decode()
            content.append({"type": "input_audio", "input_audio": {"data": data, "format": "wav"}})
        content.append({"type": "text", "text": request.prompt})
        out.append({"role": "user", "content": content})
        return out

    def _clip(self, request: OfflineRequest) -> str | None:
        """The request's clip as base64 mp4: its frames at their own rate (downscaled to max_side),
        or the clip file the harness cut (`video_path`)."""
        if request.frames is not None and len(request.frames):
            import tempfile

            from omnibench.engine.frame_store import downscale
            from omnibench.lmms.from_lmms import write_video

            frames = np.stack([downscale(f, self.max_side) for f in request.frames])
            with tempfile.TemporaryDirectory(prefix="omnibench-clip-") as folder:
                path = write_video(frames, list(request.frame_times), Path(folder) / "clip.mp4")
                return base64.b64encode(path.read_bytes()).decode()
        if request.video_path:
            return base64.b64encode(Path(request.video_path).read_bytes()).decode()
        return None

    def generate(self, request: OfflineRequest) -> str:
        import openai

        try:
            reply = self._client.chat.completions.create(
                model=self.model_name, messages=cast(Any, self.messages(request)),     # plain dicts on the wire
                max_tokens=self.max_tokens or request.max_new_tokens,
                temperature=request.temperature if self.temperature is None else self.temperature)
        except self.transient_errors:
            raise
        except openai.APIError as exc:   # 4xx and malformed replies: a clear error, not a retry
            raise ModelError(f"{self.model_name} at {self.base_url or 'api.openai.com'}: "
                             f"{type(exc).__name__}: {exc}") from exc
        if not getattr(reply, "choices", None):
            raise ModelError(f"{self.model_name}: reply has no choices")
        counts = self._record_usage(getattr(reply, "usage", None))
        return Reply(reply.choices[0].message.content or "", {"usage": counts} if counts else None)

    def _record_usage(self, usage: Any) -> dict[str, int]:
        """This call's token counts (none when the server sent no `usage`), added to the adapter's totals."""
        counts = {k: int(getattr(usage, k, 0) or 0) for k in ("prompt_tokens", "completion_tokens", "total_tokens")
                  } if usage is not None else {}
        with self._lock:
            self.last_usage = counts
            self.usage["requests"] += 1
            for key, value in counts.items():
                self.usage[key] += value
        return counts
