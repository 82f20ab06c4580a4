"""M4 (OmniMMI's reference model) as an omnibench adapter: offline and streaming.

The model lives in omnibench.m4 and knows nothing of the harness; this file only translates the
engine's protocols (OfflineRequest, UserTurn, Emission) into M4's calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omnibench.engine.protocols import Emission, OfflineRequest, StreamInfo, UserTurn
from omnibench.errors import ConfigError, ModelError
from omnibench.registry import model

# The OmniMMI harness's M4 behaviour (the M4 rows of the reference-mode table), as model settings:
# offline decoding sampled at T=0.5 with 1024 new tokens in fp16 (baselines/intersuit_modeling.py),
# its offline PT test softmax(logits / 0.05) with threshold 1e-6 * e^-H and no cap (same file),
# an interruption as a ChatML prompt of its own (M4 local_demo/turntaking_cli.py), CLIP processor
# crops for offline frames (its image_processor), alerts at int(t) == 0 dropped
# (evaluations/online_inference_utils.py, PA loop), ties between frames' counts to the one that
# reached the count first (inference_util.py, MaxHeapDict), and the noise test only mid-answer.
_REFERENCE_OMNIMMI: dict[str, Any] = {
    "offline_temperature": 0.5, "offline_max_new_tokens": 1024, "dtype": "float16",
    "offline_noise_temperature": 0.05, "offline_noise_scale": 1e-6, "offline_noise_uncapped": True,
    "interruption_prompt": "chatml", "offline_frame_preprocess": "clip", "drop_second_zero_alerts": True,
    "alert_tie_break": "earliest", "judge_idle_turns": False,
}
# M4-Audio as the harness runs it (baselines/intersuit_av_modeling.py, intersuitonline_av_modeling.py):
# sampled at T=1.0, special tokens kept in the decoded answer, its offline PT test at T=1 with
# threshold e^-H (alpha 1, no cap) at every generated token, highlight scoring from the third frame,
# the alert query as "\n" + text followed by its speech.
_REFERENCE_OMNIMMI_AUDIO: dict[str, Any] = {
    **_REFERENCE_OMNIMMI, "offline_temperature": 1.0, "keep_special_tokens": True,
    "offline_noise_temperature": 1.0, "offline_noise_scale": 1.0, "offline_noise_every_token": True,
    "warmup": 2, "spoken_alert_query": True,
}
_SETTINGS = frozenset(_REFERENCE_OMNIMMI_AUDIO) | {"alpha", "count", "alert_tokens", "noise_cap", "noise_scale",
                                                  "offline_noise_cap"}


def m4_reference_settings(reference: str = "omnimmi", audio: bool = False) -> dict[str, Any]:
    """Model settings that make the `m4` adapter behave as the named reference harness runs M4
    (`audio=True`: M4-Audio, the `m4_audio` preset; chosen by itself for a checkpoint that hears)."""
    if reference != "omnimmi":
        raise ConfigError(f"model m4: unknown reference {reference!r} (known: 'omnimmi')")
    return dict(_REFERENCE_OMNIMMI_AUDIO if audio else _REFERENCE_OMNIMMI)


@model("m4", description="M4 (LongVA + multiplexed decoding + highlight-spot alerting); checkpoint=PATH or tiny=true")
class M4Adapter:
    """Settings: checkpoint (a LongVA/M4 directory) or tiny=True (random weights), device, dtype,
    temperature, tokens_per_poll, alpha / count / warmup / alert_tokens (alerting), noise_cap / noise_scale.

    Reference behaviour, one setting each (docs/real_checkpoints.md): offline_temperature /
    offline_max_new_tokens (offline decoding), offline_noise_temperature / offline_noise_scale /
    offline_noise_cap / offline_noise_uncapped (offline turn-taking test), interruption_prompt
    ("continue" | "chatml"), offline_frame_preprocess ("letterbox" | "clip"), drop_second_zero_alerts;
    alert_tie_break ("lowest_frame" | "earliest"), judge_idle_turns; M4-Audio: keep_special_tokens,
    offline_noise_every_token, spoken_alert_query. reference="omnimmi" sets them all
    (m4_reference_settings; the M4-Audio preset for a checkpoint with a speech tower), explicit
    settings still win. An M4-Audio checkpoint hears spoken queries (accepts_audio): the whole
    instruction, spoken by the TTS; speech_text=true also shows it the written prompt, which the
    reference does not.
    """

    fps = 1.0
    needs_video = True
    accepts_audio = False
    deterministic = True

    def __init__(self, checkpoint: str | None = None, tiny: bool = False, device: str = "auto",
                 dtype: str | None = None, seed: int = 0, temperature: float = 0.0, tokens_per_poll: int = 16,
                 max_new_tokens: int | None = None, num_frames: int = 16, alpha: float | None = None,
                 count: int | None = None, warmup: int | None = None, alert_tokens: int | None = None, noise_cap: float | None = None,
                 noise_scale: float | None = None, judge_idle_turns: bool | None = None, *, tiny_audio: bool = False,
                 reference: str | None = None, offline_temperature: float | None = None,
                 offline_max_new_tokens: int | None = None, offline_noise_temperature: float | None = None,
                 offline_noise_scale: float | None = None, offline_noise_cap: float | None = None,
                 offline_noise_uncapped: bool | None = None, interruption_prompt: str | None = None,
                 offline_frame_preprocess: str | None = None, drop_second_zero_alerts: bool | None = None,
                 speech_text: bool = False, alert_tie_break: str | None = None, keep_special_tokens: bool | None = None,
                 offline_noise_every_token: bool | None = None, spoken_alert_query: bool | None = None):
        from omnibench.engine.capabilities import pick_device
        from omnibench.m4.inference.pipeline import M4Pipeline
        from omnibench.rundir import fingerprint_path

        device = pick_device(device)            # auto: cuda:LOCAL_RANK under torchrun, else cuda, else cpu
        if (checkpoint is None) == (not tiny):
            raise ConfigError("model m4 needs exactly one of checkpoint=PATH or tiny=true")
        given = {k: v for k, v in locals().items() if k in _SETTINGS and v is not None}
        settings = {**(m4_reference_settings(reference) if reference else {}), **given}
        self.reference = reference
        dtype = settings.get("dtype", "float32")
        try:
            self.pipeline = (M4Pipeline.tiny(seed=seed, device=device, audio=tiny_audio) if tiny
                             else M4Pipeline.from_checkpoint(str(checkpoint), device=device, dtype=dtype))
        except (OSError, ValueError) as exc:
            raise ModelError(f"model m4: cannot load {checkpoint or 'tiny model'}: {exc}") from exc
        if tiny and dtype != "float32":
            import torch

            self.pipeline.model.to(getattr(torch, dtype))
        if reference and self.pipeline.hears:      # M4-Audio: the harness runs it differently
            settings = {**m4_reference_settings(reference, audio=True), **given}
        self.settings = settings
        self._apply_settings(num_frames, settings)
        self.num_frames = num_frames
        self.fps = self.pipeline.config.fps
        self.accepts_audio = self.pipeline.hears
        self.speech_text = speech_text
        self.temperature, self.seed = temperature, seed
        self.offline_temperature = settings.get("offline_temperature", temperature)
        self.max_new_tokens = max_new_tokens
        self.offline_max_new_tokens = settings.get("offline_max_new_tokens", max_new_tokens)
        self.stream_settings = {"tokens_per_poll": tokens_per_poll, "temperature": temperature, "seed": seed,
                                "judge_idle_turns": settings.get("judge_idle_turns", True),
                                "max_new_tokens": max_new_tokens}
        self.keep_special = bool(settings.get("keep_special_tokens", False))
        self.session: Any = None          # a StreamSession once a stream starts (torch is imported then)
        self.deterministic = temperature <= 0 and self.offline_temperature <= 0
        self.weights_fingerprint = (fingerprint_path(checkpoint) if checkpoint
                                    else f"random-init-seed{seed}{'-audio' if tiny_audio else ''}")

    def _apply_settings(self, num_frames: int, settings: dict[str, Any]) -> None:
        cfg = self.pipeline.model.config
        names = {"alpha": "alpha", "count": "count", "warmup": "warmup", "alert_tokens": "response_tokens",
                 "drop_second_zero_alerts": "drop_second_zero", "alert_tie_break": "tie_break",
                 "spoken_alert_query": "spoken_query"}
        spotter = {field: settings[key] for key, field in names.items() if settings.get(key) is not None}
        noise = cfg.noise.model_copy(update={k: settings[f"noise_{k}"] for k in ("cap", "scale")
                                             if settings.get(f"noise_{k}") is not None})
        offline = {k: v for k, v in {"temperature": settings.get("offline_noise_temperature"),
                                      "scale": settings.get("offline_noise_scale"),
                                      "cap": settings.get("offline_noise_cap")}.items() if v is not None}
        if settings.get("offline_noise_uncapped"):
            offline["cap"] = None
        update: dict[str, Any] = {"spotter": cfg.spotter.model_copy(update=spotter), "noise": noise,
                                  "offline_frames": num_frames}
        if offline:
            update["offline_noise"] = (cfg.offline_noise or noise).model_copy(update=offline)
        for key, field in (("interruption_prompt", "interruption_prompt"),
                           ("offline_frame_preprocess", "offline_preprocess")):
            if key in settings:
                update[field] = settings[key]
        try:
            self.pipeline.model.config = type(cfg).model_validate({**cfg.model_dump(), **{
                k: (v.model_dump() if hasattr(v, "model_dump") else v) for k, v in update.items()}})
        except ValueError as exc:
            raise ConfigError(f"model m4: bad setting: {exc}") from exc

    # offline --------------------------------------------------------------------------------------
    def generate(self, request: OfflineRequest) -> str:
        return self.pipeline.answer(request.frames, request.prompt, _history(request),
                                    max_new_tokens=self.offline_max_new_tokens or request.max_new_tokens,
                                    temperature=request.temperature or self.offline_temperature, seed=self.seed,
                                    speech=self._speech(request.audio), speech_text=self.speech_text,
                                    keep_special=self.keep_special)

    def should_respond(self, request: OfflineRequest) -> float:
        """Probability-like score that a reply is due; 0.5 is M4's own noise threshold."""
        every = (self.offline_max_new_tokens or 1024) if self.settings.get("offline_noise_every_token") else 0
        return self.pipeline.respond_probability(request.frames, request.prompt, _history(request),
                                                 speech=self._speech(request.audio), speech_text=self.speech_text,
                                                 every_token=every)

    def _speech(self, path: str | None) -> Any:
        """The spoken query as a 16 kHz waveform, when this checkpoint hears and the turn was spoken."""
        if path is None or not self.accepts_audio:
            return None
        from omnibench.models._hf_common import read_wav_16k

        return read_wav_16k(path)

    # streaming -----------------------------------------------------------------------------------
    def reset(self, info: StreamInfo) -> None:
        from omnibench.m4.inference.stream import StreamSession

        self.session = StreamSession(self.pipeline, **self.stream_settings)
        self.turns = 0

    def feed(self, t: float, frame: Any) -> None:
        self.session.feed(t, frame)

    def ask(self, t: float, turn: UserTurn) -> None:
        # the k-th ask is turn k; only alert requests are routed by kind (they ask for the spotter),
        # noise and stop must be recognised by the model itself
        self.session.ask(self.turns, turn.text, alert_request=turn.kind == "alert_request",
                         speech=self._speech(turn.audio))
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
