"""M4 (OmniMMI's reference model) as an omnibench adapter: offline and streaming.

The model lives in omnibench.m4 and knows nothing of the harness; this file only translates the
engine's protocols (OfflineRequest, Query, Emission) into M4's calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omnibench.data.schema import Query
from omnibench.engine.protocols import Emission, OfflineRequest, StreamInfo
from omnibench.errors import ConfigError, ModelError
from omnibench.registry import model


@model("m4", description="M4 (LongVA + multiplexed decoding + highlight-spot alerting); checkpoint=PATH or tiny=true")
class M4Adapter:
    """Settings: checkpoint (a LongVA/M4 directory) or tiny=True (random weights), device, dtype,
    temperature, tokens_per_poll, alpha / count / warmup / alert_tokens (alerting), noise_cap / noise_scale."""

    fps = 1.0
    needs_video = True
    accepts_audio = False
    deterministic = True

    def __init__(self, checkpoint: str | None = None, tiny: bool = False, device: str = "auto",
                 dtype: str = "float32", seed: int = 0, temperature: float = 0.0, tokens_per_poll: int = 16,
                 max_new_tokens: int | None = None, num_frames: int = 16, alpha: float | None = None,
                 count: int | None = None, warmup: int | None = None, alert_tokens: int | None = None, noise_cap: float | None = None,
                 noise_scale: float | None = None, judge_idle_turns: bool = True):
        from omnibench.engine.capabilities import pick_device
        from omnibench.m4.pipeline import M4Pipeline
        from omnibench.rundir import fingerprint_path

        device = pick_device(device)            # auto: cuda:LOCAL_RANK under torchrun, else cuda, else cpu
        if (checkpoint is None) == (not tiny):
            raise ConfigError("model m4 needs exactly one of checkpoint=PATH or tiny=true")
        try:
            self.pipeline = (M4Pipeline.tiny(seed=seed, device=device) if tiny
                             else M4Pipeline.from_checkpoint(str(checkpoint), device=device, dtype=dtype))
        except (OSError, ValueError) as exc:
            raise ModelError(f"model m4: cannot load {checkpoint or 'tiny model'}: {exc}") from exc
        self._apply_settings(alpha, count, warmup, alert_tokens, noise_cap, noise_scale, num_frames)
        self.num_frames = num_frames
        self.fps = self.pipeline.config.fps
        self.temperature, self.seed = temperature, seed
        self.max_new_tokens = max_new_tokens
        self.stream_settings = {"tokens_per_poll": tokens_per_poll, "temperature": temperature, "seed": seed,
                                "judge_idle_turns": judge_idle_turns, "max_new_tokens": max_new_tokens}
        self.session = None
        self.deterministic = temperature <= 0
        self.weights_fingerprint = fingerprint_path(checkpoint) if checkpoint else f"random-init-seed{seed}"

    def _apply_settings(self, alpha, count, warmup, alert_tokens, noise_cap, noise_scale, num_frames) -> None:
        cfg = self.pipeline.model.config
        spotter = {k: v for k, v in {"alpha": alpha, "count": count, "warmup": warmup,
                                      "response_tokens": alert_tokens}.items() if v is not None}
        noise = {k: v for k, v in {"cap": noise_cap, "scale": noise_scale}.items() if v is not None}
        self.pipeline.model.config = cfg.model_copy(update={
            "spotter": cfg.spotter.model_copy(update=spotter), "noise": cfg.noise.model_copy(update=noise),
            "offline_frames": num_frames})

    # offline --------------------------------------------------------------------------------------
    def generate(self, request: OfflineRequest) -> str:
        return self.pipeline.answer(request.frames, request.prompt, _history(request),
                                    max_new_tokens=self.max_new_tokens or request.max_new_tokens,
                                    temperature=request.temperature or self.temperature, seed=self.seed)

    def should_respond(self, request: OfflineRequest) -> float:
        """Probability-like score that a reply is due; 0.5 is M4's own noise threshold."""
        return self.pipeline.respond_probability(request.frames, request.prompt, _history(request))

    # streaming -----------------------------------------------------------------------------------
    def reset(self, info: StreamInfo) -> None:
        from omnibench.m4.stream import StreamSession

        self.session = StreamSession(self.pipeline, **self.stream_settings)
        self.turns = 0

    def feed(self, t: float, frame: Any) -> None:
        self.session.feed(t, frame)

    def ask(self, t: float, query: Query) -> None:
        # the k-th ask is turn k; only alert requests are routed by kind (they ask for the spotter),
        # noise and stop must be recognised by the model itself
        self.session.ask(self.turns, query.text, alert_request=query.kind == "alert_request")
        self.turns += 1

    def poll(self, t: float) -> list[Emission]:
        return [Emission(o.text, turn=o.turn, done=o.done, refers_to=o.refers_to) for o in self.session.poll()]


def tiny_checkpoint() -> Path | None:
    """The tiny M4 trained by the tiny_cpu recipe, shipped in the package (None if absent)."""
    import os

    from omnibench.m4 import checkpoints_dir

    found = [Path(os.environ["OMNIBENCH_M4_TINY"])] if os.environ.get("OMNIBENCH_M4_TINY") else []
    found.append(checkpoints_dir() / "tiny")
    return next((p for p in found if (p / "config.json").exists()), None)


@model("m4-tiny", board=True, description="the tiny M4 (1.9M parameters) trained on a CPU by the tiny_cpu recipe, shipped with omnibench")
def m4_tiny(**settings: Any) -> M4Adapter:
    path = tiny_checkpoint()
    if path is None:
        raise ConfigError("model m4-tiny: no checkpoint; build one with `omnibench m4 train --recipe tiny_cpu` "
                          "and point OMNIBENCH_M4_TINY at its checkpoint folder")
    return M4Adapter(checkpoint=str(path), **settings)


def _history(request: OfflineRequest) -> list[tuple[str, str]]:
    return [(m.role, m.text) for m in request.history if m.role in ("user", "assistant")]
