"""M4-Audio end to end: a tiny checkpoint in the reference's exact key layout (sharded safetensors +
index, openai-whisper encoder names) loads, hears spoken queries offline and streaming, with the
reference's audio prompt layout, and runs an OmniMMI task whose questions are spoken by the TTS."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from omnibench import registry  # noqa: E402
from omnibench.data.schema import Query  # noqa: E402
from omnibench.data.tts import write_wav  # noqa: E402
from omnibench.engine.protocols import OfflineRequest, StreamInfo  # noqa: E402
from omnibench.m4.model.audio import SpeechEncoder  # noqa: E402
from tests.videos import frame_pixels, make_video  # noqa: E402

FRAMES = np.stack([frame_pixels(i, (80, 60)) for i in range(6)])


@pytest.fixture(scope="module")
def audio_checkpoint(tmp_path_factory):
    from omnibench.m4.inference.pipeline import M4Pipeline
    from omnibench.m4.model.checkpoint import save_checkpoint

    path = tmp_path_factory.mktemp("m4_audio")
    tiny = M4Pipeline.tiny(seed=4, audio=True)
    save_checkpoint(tiny.model, path, tiny.tokenizer, max_shard_bytes=200_000)
    assert len(json.loads((path / "model.safetensors.index.json").read_text())["weight_map"]) > 0
    return path


@pytest.fixture()
def wav(tmp_path):
    t = np.arange(16000) / 16000.0
    path = tmp_path / "q.wav"
    write_wav(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    return str(path)


@pytest.fixture()
def speech_calls(monkeypatch):
    calls = []
    real = SpeechEncoder.forward

    def counted(self, mel):
        calls.append(tuple(mel.shape))
        return real(self, mel)

    monkeypatch.setattr(SpeechEncoder, "forward", counted)
    return calls


def test_accepts_audio_only_with_a_speech_tower(audio_checkpoint):
    assert registry.get_model("m4", checkpoint=str(audio_checkpoint)).accepts_audio
    assert not registry.get_model("m4", tiny=True).accepts_audio


def test_offline_spoken_query_reaches_the_speech_tower_in_the_reference_layout(audio_checkpoint, wav, speech_calls,
                                                                            monkeypatch):
    model = registry.get_model("m4", checkpoint=str(audio_checkpoint))
    chat = model.pipeline.chat
    layouts = []
    real = chat.spoken_conversation
    monkeypatch.setattr(chat, "spoken_conversation", lambda *a, **k: layouts.append(real(*a, **k)) or layouts[-1])
    text = model.generate(OfflineRequest(prompt="What is shown?", frames=FRAMES, audio=wav, max_new_tokens=4))
    assert isinstance(text, str) and len(speech_calls) == 1
    assert speech_calls[0][1:] == (16, 100)                  # tiny Whisper: 16 mel bins, 2 x 50 frames
    head, middle, tail = (model.pipeline.tokenizer.decode(ids, skip_special_tokens=False) for ids in layouts[0])
    # <image> and <speech> in separate user turns; the question is heard, not read
    assert head.endswith("<|im_start|>user\n")
    assert middle == "<|im_end|>\n<|im_start|>user\n"
    assert tail == "\n<|im_end|>\n<|im_start|>assistant\n"
    assert "What is shown?" not in head + middle + tail
    model.speech_text = True
    model.generate(OfflineRequest(prompt="What is shown?", frames=FRAMES, audio=wav, max_new_tokens=2))
    assert "What is shown?" in model.pipeline.tokenizer.decode(layouts[-1][2], skip_special_tokens=False)
    # a text-only checkpoint ignores the audio and reads the prompt
    textual = registry.get_model("m4", tiny=True)
    textual.generate(OfflineRequest(prompt="What is shown?", frames=FRAMES, audio=wav, max_new_tokens=2))
    assert len(speech_calls) == 2


def test_streaming_spoken_query_reaches_the_speech_tower(audio_checkpoint, wav, speech_calls):
    model = registry.get_model("m4", checkpoint=str(audio_checkpoint), max_new_tokens=4, tokens_per_poll=2,
                               judge_idle_turns=False)
    model.reset(StreamInfo(sample_id="s", task="t", duration=5, fps=1.0))
    emissions = []
    for t in range(5):
        model.feed(float(t), FRAMES[t])
        if t == 1:
            model.ask(1.0, Query(t=1, text="What is shown?", audio=wav))
        emissions += model.poll(float(t))
    assert len(speech_calls) == 1
    assert any(e.turn == 0 and e.done for e in emissions)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs the espeak-ng binary (CI installs it)")
def test_omnimmi_task_runs_with_its_whole_instruction_spoken_by_the_tts(audio_checkpoint, tmp_path, speech_calls, monkeypatch):
    from omnibench.engine.evaluate import Evaluation
    from omnibench.engine.eventlog import EventLog

    monkeypatch.setenv("OMNIBENCH_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "omnimmi"
    (data / "videos").mkdir(parents=True)
    make_video(data / "videos" / "v0.mp4", seconds=3.0, fps=4, size=(80, 60))
    record = {"video": "v0.mp4", "conversation": [
        {"human": "What colour is the screen?", "assistant": "Grey."},
        {"human": "Oh well, it is what it is."}]}
    (data / "proactive_turntaking.json").write_text(json.dumps([record]))
    settings = {"checkpoint": str(audio_checkpoint), "max_new_tokens": 3}
    # handed in, the model runs in this process, where `speech_calls` counts what its speech tower hears
    Evaluation(model="m4", model_args=settings, model_obj=registry.get_model("m4", **settings),
               out=tmp_path / "run", progress=False, protocol="offline",
               task_settings={"data_dir": str(data)}).run(["omnimmi_pt"])
    from omnibench.data.tts import EspeakTTS

    # the whole instruction is spoken (the reference's PT conversation), not the bare remark
    instruction = "human\nWhat colour is the screen?\nassistant\nGrey.\nhuman\nOh well, it is what it is.\n"
    assert EspeakTTS().cache_path(instruction, None).exists()
    assert not EspeakTTS().cache_path("Oh well, it is what it is.", None).exists()
    records = [r for p in (tmp_path / "run" / "logs" / "omnimmi_pt").glob("*.jsonl") for r in EventLog(p).records()]
    assert records and not [e for e in records[0].events if e.kind == "error"]
    assert speech_calls                                                   # the spoken turns were heard


def test_reference_mode_runs_m4_audio_with_the_harness_settings(audio_checkpoint):
    """intersuit_av_modeling.py: T=1.0, special tokens kept, the PT test at T=1 / alpha=1 at every token;
    intersuitonline_av_modeling.py: scoring from the third frame, the query as '\\n' + text plus speech."""
    audio = registry.get_model("m4", checkpoint=str(audio_checkpoint), reference="omnimmi")
    visual = registry.get_model("m4", tiny=True, reference="omnimmi")
    assert (audio.offline_temperature, visual.offline_temperature) == (1.0, 0.5)
    assert audio.keep_special and not visual.keep_special
    spot = audio.pipeline.config.spotter
    assert (spot.warmup, spot.spoken_query, spot.tie_break) == (2, True, "earliest")
    assert visual.pipeline.config.spotter.warmup == 4 and not visual.pipeline.config.spotter.spoken_query
    test = audio.pipeline.config.offline_noise
    assert (test.temperature, test.scale, test.cap) == (1.0, 1.0, None)
    assert audio.settings["offline_noise_every_token"] and not visual.settings.get("offline_noise_every_token")
    assert audio.stream_settings["judge_idle_turns"] is False
    assert registry.get_model("m4", checkpoint=str(audio_checkpoint), reference="omnimmi",
                              offline_temperature=0.2).offline_temperature == 0.2      # explicit wins


def test_the_every_token_test_runs_before_each_generated_token(audio_checkpoint, wav, monkeypatch):
    import omnibench.m4.inference.pipeline as pipeline_module

    model = registry.get_model("m4", checkpoint=str(audio_checkpoint), reference="omnimmi", offline_max_new_tokens=6)
    calls = []

    def fires_at(n):
        def test(logits, start_id, settings):
            calls.append(float(logits[start_id]))
            return len(calls) == n, 0.0, 0.0, 0.0
        return test

    request = OfflineRequest(prompt="human\nHi\nassistant\nHello\nhuman\nOh well\n", frames=FRAMES, audio=wav)
    monkeypatch.setattr(pipeline_module, "noise_test", fires_at(3))
    assert model.should_respond(request) == 0.0 and len(calls) == 3
    calls.clear()
    monkeypatch.setattr(pipeline_module, "noise_test", fires_at(99))
    monkeypatch.setattr(model.pipeline.chat, "im_end_id", -1)          # never ends by itself here
    assert model.should_respond(request) == 1.0 and len(calls) == 6     # one test per token, to the limit


def test_special_tokens_are_kept_in_m4_audio_answers_in_reference_mode(audio_checkpoint, wav, monkeypatch):
    from omnibench.m4.inference.multiplex import MultiplexDecoder

    model = registry.get_model("m4", checkpoint=str(audio_checkpoint), reference="omnimmi")
    word = model.pipeline.chat.encode("hello")
    monkeypatch.setattr(MultiplexDecoder, "generate", lambda self, limit=None: list(word))
    text = model.generate(OfflineRequest(prompt="What is shown?", frames=FRAMES, audio=wav))
    assert text == "hello<|im_end|>"
    model.keep_special = False
    assert model.generate(OfflineRequest(prompt="What is shown?", frames=FRAMES, audio=wav)) == "hello"


def test_the_alert_query_is_text_plus_speech_in_reference_mode(audio_checkpoint, wav, speech_calls):
    for reference, heard in ((None, 0), ("omnimmi", 1)):
        model = registry.get_model("m4", checkpoint=str(audio_checkpoint), reference=reference)
        model.reset(StreamInfo(sample_id="s", task="t", duration=5, fps=1.0))
        model.ask(0.0, Query(t=0, kind="alert_request", text="Tell me when it turns red.", audio=wav))
        spotter = model.session.spotter
        chat = model.pipeline.chat
        if heard:
            speech_tokens = spotter.query_embeds.shape[1] - len(chat.query_head_ids("Tell me when it turns red.")) \
                - len(chat.spoken_query_tail())
            assert speech_tokens > 0 and len(speech_calls) == 1
        else:
            assert spotter.query_embeds is None and not speech_calls
        for t in range(4):
            model.feed(float(t), FRAMES[t])
            model.poll(float(t))
