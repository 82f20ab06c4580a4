"""Text to speech: espeak-ng wavs, cached by engine, voice and text; queries get their audio."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.data.tts import TTS, EspeakTTS, attach_audio, read_wav
from omnibench.errors import OmnibenchError

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


@needs_espeak
def test_espeak_writes_a_wav_and_caches_it(tmp_path, monkeypatch):
    tts = EspeakTTS(cache_dir=tmp_path)
    path = tts.synthesize("What is the square doing now?")
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getnframes() / w.getframerate() > 0.5
    samples, _ = read_wav(path)
    assert abs(samples).max() > 1000

    def no_subprocess(*args, **kwargs):
        raise AssertionError("cached text must not be synthesized again")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    assert tts.synthesize("What is the square doing now?") == path
    assert EspeakTTS(cache_dir=tmp_path).synthesize("What is the square doing now?") == path


@needs_espeak
def test_voice_and_text_give_distinct_files(tmp_path):
    tts = EspeakTTS(cache_dir=tmp_path)
    plain, female = tts.synthesize("Hello there."), tts.synthesize("Hello there.", voice="en+f3")
    dashed = tts.synthesize("-v nonsense --help")   # on stdin: never read as options
    assert len({plain, female, dashed}) == 3
    assert plain.read_bytes() != female.read_bytes()
    assert read_wav(dashed)[0].size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (plain, female, dashed))


def test_missing_binary_says_how_to_install(tmp_path):
    with pytest.raises(OmnibenchError, match=r"apt-get install espeak-ng"):
        EspeakTTS(cache_dir=tmp_path, binary="no-such-espeak-binary").synthesize("hi")


def test_voice_names_are_checked(tmp_path):
    with pytest.raises(OmnibenchError, match="voice"):
        EspeakTTS(cache_dir=tmp_path).synthesize("hi", voice="en; rm -rf /")


class RecordingTTS:
    name = "recording"

    def __init__(self, root: Path):
        self.root, self.calls = root, []

    def synthesize(self, text: str, voice: str | None = None) -> Path:
        self.calls.append((text, voice))
        return self.root / f"{len(self.calls)}.wav"


def test_attach_audio_fills_spoken_turns_only(tmp_path):
    sample = Sample(id="s", task="t", video=VideoRef(path="v.mp4"), turns=[
        Query(t=1.0, text="What colour is the first shape?", target="red", choices=["red", "blue"]),
        Query(t=2.0, text="How many ##ANSWER## shapes appear?", target="2", depends_on=0),
        Query(t=3.0, text="Stop.", kind="stop"),
    ])
    tts = RecordingTTS(tmp_path)
    assert isinstance(tts, TTS)
    spoken = attach_audio(sample, tts)
    assert [q.audio for q in spoken.turns] == [str(tmp_path / "1.wav"), None, str(tmp_path / "2.wav")]
    assert tts.calls == [("What colour is the first shape?", None), ("Stop.", None)]
    assert all(q.audio is None for q in sample.turns)   # the original is untouched
    assert spoken.turns[0].target == "red" and spoken.id == sample.id


# -- the whole instruction, spoken (issue 32) ----------------------------------------------------

class _Recorder:
    """A TTS that records the texts it is asked to say (each distinct text one path, as the cache does)."""

    name = "recorder"

    def __init__(self, root: Path):
        self.root, self.said = root, []

    def synthesize(self, text: str, voice: str | None = None) -> Path:
        self.said.append((text, voice))
        return self.root / f"{abs(hash((text, voice)))}.wav"


def test_number_words_follow_num2words_english_cardinals():
    from omnibench.data.tts import number_words

    assert [number_words(n) for n in (0, 21, 105, 1000, 1001, 1234, 2024, 1_000_001)] == [
        "zero", "twenty-one", "one hundred and five", "one thousand", "one thousand and one",
        "one thousand, two hundred and thirty-four", "two thousand and twenty-four", "one million and one"]


def test_the_reference_form_cleans_the_text_offline_and_speaks_online_turns_as_written(tmp_path):
    from omnibench.data.tts import instruction_speaker

    tts = _Recorder(tmp_path)
    speak = instruction_speaker("reference", tts, voice="en+f3")
    speak("user\nStep 3 - stir\nassistant\n", False)
    speak("Tell me when step 3 starts.", True)
    instruction_speaker("as_written", tts)("Step 3 - stir", False)
    assert tts.said == [("user Step three to stir assistant ", "en+f3"), ("Tell me when step 3 starts.", "en+f3"),
                        ("Step 3 - stir", None)]


@needs_espeak
def test_an_audio_model_hears_the_whole_instruction_with_the_vocabulary_and_filled_answers(tmp_path, monkeypatch):
    """M4-Audio's harness speaks the AP vocabulary and MD's filled question; the bare question is not enough."""
    from omnibench.engine.evaluate import Evaluation
    from tests.reference_fixture import write_data

    monkeypatch.setenv("OMNIBENCH_CACHE", str(tmp_path / "cache"))
    data, _ = write_data(tmp_path / "files")
    heard: list[tuple[str, str | None]] = []

    class Listener:
        needs_video = False
        accepts_audio = True

        def generate(self, request):
            heard.append((request.prompt, request.audio))
            return "a pen" if "first object" in request.prompt else "ok"

    Evaluation(model="listener", model_obj=Listener(), out=tmp_path / "run", progress=False, protocol="offline",
               task_settings={"data_dir": str(data)}).run(["omnimmi_ap", "omnimmi_md"])
    tts = EspeakTTS()
    prompts = [p for p, _ in heard]
    assert "What is the next step? Choose the next step from this list of steps: ['add eggs', 'stir']." in prompts
    assert "What is done with a pen?" in prompts                      # ##ANSWER## filled, then spoken
    assert all(audio == str(tts.cache_path(prompt, None)) for prompt, audio in heard)
