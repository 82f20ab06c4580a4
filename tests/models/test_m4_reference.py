"""The m4 adapter's reference-mode settings (issue 19, rows 8-12): each in our default and in the
OmniMMI reference's behaviour, one setting each, and all of them from `reference="omnimmi"`."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from omnibench import registry  # noqa: E402
from omnibench.data.schema import Query  # noqa: E402
from omnibench.engine.protocols import OfflineRequest, StreamInfo  # noqa: E402
from omnibench.m4.inference.multiplex import noise_test  # noqa: E402
from omnibench.m4.inference.spotter import Alert, HighlightSpotter  # noqa: E402
from omnibench.models.m4 import m4_reference_settings  # noqa: E402
from tests.videos import frame_pixels  # noqa: E402

FRAMES = np.stack([frame_pixels(i, (80, 60)) for i in range(8)])
MODES = {"default": {}, "reference": {"reference": "omnimmi"}}


def _m4(mode: str, **settings):
    return registry.get_model("m4", tiny=True, tokens_per_poll=3, **MODES[mode], **settings)


def test_the_preset_is_a_dict_of_model_settings_that_explicit_settings_override():
    preset = m4_reference_settings()
    assert preset["offline_temperature"] == 0.5 and preset["interruption_prompt"] == "chatml"
    model = _m4("reference", offline_frame_preprocess="letterbox")
    assert model.pipeline.config.offline_preprocess == "letterbox"       # explicit wins
    assert model.pipeline.config.interruption_prompt == "chatml"         # the rest from the preset
    with pytest.raises(Exception, match="unknown reference"):
        m4_reference_settings("lmms")


@pytest.mark.parametrize("mode", MODES)
def test_row8_offline_decoding(mode, monkeypatch):
    """Ours: greedy, the task's 256 new tokens, fp32. Reference: sampling at T=0.5, 1024 new tokens, fp16."""
    model = _m4(mode)
    seen = {}
    real = model.pipeline.answer

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **{**kwargs, "max_new_tokens": 3})

    monkeypatch.setattr(model.pipeline, "answer", spy)
    text = model.generate(OfflineRequest(prompt="What is shown?", frames=FRAMES[:4], max_new_tokens=256))
    assert isinstance(text, str)
    if mode == "default":
        assert (seen["temperature"], seen["max_new_tokens"]) == (0.0, 256)
        assert model.pipeline.model.dtype == torch.float32 and model.deterministic
    else:
        assert (seen["temperature"], seen["max_new_tokens"]) == (0.5, 1024)
        assert model.pipeline.model.dtype == torch.float16 and not model.deterministic


def _lure_logits(vocab: int, start: int) -> torch.Tensor:
    """A flat distribution with one clear answer token 3 above the rest, <|im_start|> among the rest."""
    logits = torch.zeros(vocab)
    logits[(start + 1) % vocab] = 3.0
    return logits


@pytest.mark.parametrize("mode", MODES)
def test_row9_offline_turn_taking_test(mode):
    """Ours (M4's demo): softmax(logits), silent iff p > min(0.09, 0.3 e^-H). Reference (OmniMMI offline PT):
    softmax(logits / 0.05), silent iff p > 1e-6 e^-H, no cap."""
    model = _m4(mode)
    cfg = model.pipeline.config
    settings = cfg.offline_noise or cfg.noise
    start = model.pipeline.chat.im_start_id
    logits = _lure_logits(cfg.text["vocab_size"], start)
    silent, p, threshold, entropy = noise_test(logits, start, settings)
    if mode == "default":
        q = torch.softmax(logits, -1)
        h = float(-(q * torch.log(q + 1e-5)).sum())
        assert threshold == pytest.approx(min(0.09, 0.3 * math.exp(-h)))
        assert silent                       # high entropy: the demo's threshold is tiny
    else:
        q = torch.softmax(logits / 0.05, -1)
        h = float(-(q * torch.log(q + 1e-5)).sum())
        assert threshold == pytest.approx(1e-6 * math.exp(-h)) and settings.cap is None
        assert not silent                   # sharpened: <|im_start|> is far from the answer token
    assert cfg.noise.temperature == 1.0 and cfg.noise.cap == 0.09   # streaming keeps the demo's test
    p_respond = model.should_respond(OfflineRequest(prompt="Nice weather.", frames=FRAMES[:4]))
    assert 0.0 <= p_respond <= 1.0


@pytest.mark.parametrize("mode", MODES)
def test_row10_interruption_channel(mode, monkeypatch):
    """Ours: an interruption continues the prefix's user turn. Reference (M4 demo): a ChatML prompt of its own."""
    model = _m4(mode, noise_cap=1.0, noise_scale=1e9, max_new_tokens=30)
    model.reset(StreamInfo(sample_id="s", task="t", duration=4, fps=1.0))
    openings = []
    real = model.session.decoder.ask
    monkeypatch.setattr(model.session.decoder, "ask", lambda turn, force=None: (openings.append(turn), real(turn, force))[1])
    model.feed(0.0, FRAMES[0])
    model.ask(0.0, Query(t=0, text="What is shown?"))
    model.poll(0.0)
    model.ask(1.0, Query(t=1, text="Sorry to interrupt", kind="noise"))
    model.poll(1.0)
    tokenizer = model.pipeline.tokenizer
    first, interruption = (tokenizer.decode(ids, skip_special_tokens=False) for ids in openings)
    assert first.startswith("\nWhat is shown?")
    if mode == "default":
        assert interruption.startswith("\nSorry to interrupt<|im_end|>")
    else:
        assert interruption == ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                                "<|im_start|>user\nSorry to interrupt<|im_end|>\n<|im_start|>assistant\n")


@pytest.mark.parametrize("mode", MODES)
def test_row11_offline_frame_preprocessing(mode, monkeypatch):
    """Ours: letterbox (nothing cut). Reference: the CLIP processor's bicubic resize + centre crop."""
    from omnibench.m4.model import frames as frames_module

    model = _m4(mode)
    wide = np.zeros((40, 80, 3), np.uint8)
    wide[:, :8] = 255                                     # a white band at the left edge
    seen = []
    real = frames_module.frames_to_pixels
    monkeypatch.setattr("omnibench.m4.inference.pipeline.frames_to_pixels",
                        lambda frames, size, preprocess="letterbox": seen.append(real(frames, size, preprocess)) or seen[-1])
    model.generate(OfflineRequest(prompt="What is shown?", frames=np.stack([wide]), max_new_tokens=2))
    pixels = seen[0][0]
    white_left = bool((pixels[:, :, :8] > 1.5).any())
    if mode == "default":
        assert white_left and float(pixels[:, 0].max()) < -1.0      # band kept, black bar on top
    else:
        assert not white_left and model.pipeline.config.offline_preprocess == "clip"   # cropped away


@pytest.mark.parametrize("mode", MODES)
def test_row12_alerts_at_second_zero(mode, monkeypatch):
    """Ours: an alert on the frame at t=0.x is spoken. Reference: int(t) == 0 alerts are dropped."""
    fired = []

    def update(self, scores, frames):
        if frames == 2 and not fired:
            fired.append(True)
            return Alert(frame=0, count=5, scores=[0.0] * frames)
        return None

    monkeypatch.setattr(HighlightSpotter, "update", update)
    model = _m4(mode, alert_tokens=2)
    model.reset(StreamInfo(sample_id="s", task="t", duration=3, fps=1.0))
    emissions = []
    for i, t in enumerate((0.4, 1.0, 2.0)):
        model.feed(t, FRAMES[i])
        if i == 0:
            model.ask(t, Query(t=t, text="Tell me when it turns red", kind="alert_request"))
        emissions += model.poll(t)
    alerts = [e for e in emissions if e.turn is None]
    assert fired
    if mode == "default":
        assert [e.refers_to for e in alerts] == [0.4]
    else:
        assert alerts == []
