"""Text to speech for audio-input models: spoken queries (and the synthetic suite's dialogue lines).

`EspeakTTS` runs the espeak-ng binary with an argument list (never a shell) and the text on
stdin, and caches each wav under sha256(engine, voice, speed, text), so a run synthesizes each
distinct query once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from omnibench.data.schema import Sample
from omnibench.errors import OmnibenchError

_VOICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_+\-]{0,63}$")


@runtime_checkable
class TTS(Protocol):
    """Turns text into a wav file and returns its path."""

    name: str

    def synthesize(self, text: str, voice: str | None = None) -> Path: ...


def cache_root() -> Path:
    from omnibench.cache import cache_dir

    return cache_dir()


def espeak_available(binary: str = "espeak-ng") -> bool:
    return shutil.which(binary) is not None


class EspeakTTS:
    """espeak-ng voices (e.g. "en", "en+f3", "en-us+m7"); wavs are mono 16-bit, 22050 Hz."""

    name = "espeak-ng"

    def __init__(self, cache_dir: str | Path | None = None, binary: str = "espeak-ng", speed: int = 165,
                 timeout_s: float = 60.0):
        self.cache_dir = Path(cache_dir) if cache_dir else cache_root() / "tts"
        self.binary, self.speed, self.timeout_s = binary, int(speed), timeout_s

    def cache_path(self, text: str, voice: str | None) -> Path:
        key = hashlib.sha256(json.dumps([self.name, voice, self.speed, text]).encode()).hexdigest()
        return self.cache_dir / f"{key}.wav"

    def synthesize(self, text: str, voice: str | None = None) -> Path:
        if voice is not None and not _VOICE.match(voice):
            raise OmnibenchError(f"espeak-ng voice {voice!r} is not a voice name (letters, digits, + - _)")
        path = self.cache_path(text, voice)
        if path.exists() and path.stat().st_size > 44:
            return path
        exe = shutil.which(self.binary)
        if exe is None:
            raise OmnibenchError(f"text to speech needs {self.binary}: install espeak-ng (apt-get install espeak-ng)")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".wav", dir=self.cache_dir)
        os.close(fd)
        args = [exe, "-s", str(self.speed), "-w", tmp, *(["-v", voice] if voice else []), "--stdin"]
        try:
            # text on stdin: no quoting issues, and a text starting with "-" is never an option
            result = subprocess.run(args, input=text.encode("utf-8"), capture_output=True, timeout=self.timeout_s)
            if result.returncode != 0 or os.path.getsize(tmp) <= 44:
                raise OmnibenchError(f"espeak-ng failed (exit {result.returncode}) for voice {voice!r}: "
                                     f"{result.stderr.decode(errors='replace').strip()[:300]}")
            os.replace(tmp, path)   # atomic: a killed run never leaves a truncated cached wav
        except subprocess.TimeoutExpired as e:
            raise OmnibenchError(f"espeak-ng timed out after {self.timeout_s} s") from e
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path


def attach_audio(sample: Sample, tts: TTS, voice: str | None = None) -> Sample:
    """A copy of `sample` whose turns carry the path of their spoken text (Query.audio).

    Turns whose wording depends on an earlier model answer (##ANSWER##) cannot be spoken ahead
    of time; they keep audio=None and are read as text.
    """
    turns = [q if q.depends_on is not None or "##ANSWER##" in q.text
             else q.model_copy(update={"audio": str(tts.synthesize(q.text, voice))})
             for q in sample.turns]
    return sample.model_copy(update={"turns": turns})


class SpokenTurns:
    """Speaks a sample's turns just before the sample runs, so a process (a torchrun rank, a shard)
    synthesises only the samples it runs: each sample set is spoken once, not once per rank."""

    def __init__(self):
        self.tts: EspeakTTS | None = None

    def check(self) -> None:
        """Fail before any model call when the TTS binary is missing."""
        if not espeak_available():
            raise OmnibenchError("this model takes spoken queries and text to speech needs espeak-ng: install it "
                                 "(apt-get install espeak-ng)")

    def __call__(self, sample: Sample) -> Sample:
        if self.tts is None:
            self.tts = EspeakTTS()
        return attach_audio(sample, self.tts)


# -- the whole instruction, spoken (audio-input models on OmniMMI) -----------------------------

SpokenForm = Literal["as_written", "reference"]
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_GROUPS = ("", "thousand", "million", "billion", "trillion")


def number_words(n: int) -> str:
    """English cardinal words as num2words writes them ('one thousand, two hundred and thirty-four')."""
    try:
        from num2words import num2words  # the reference's own library, when the user has it

        return str(num2words(n))
    except ImportError:
        pass
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " and " + number_words(n % 100))
    if n >= 1000 ** len(_GROUPS):          # beyond trillions: digit by digit
        return " ".join(_ONES[int(d)] for d in str(n))
    groups = []
    for name in _GROUPS:
        n, part = divmod(n, 1000)
        groups.append((part, name))
    words = [(part, (number_words(part) + (" " + name if name else ""))) for part, name in reversed(groups) if part]
    out = words[0][1]
    for i, (part, text) in enumerate(words[1:], 1):
        last = i == len(words) - 1 and groups[0][0] == part and part < 100
        out += (" and " if last else ", ") + text
    return out


def reference_speech_text(text: str) -> str:
    """The text the reference's M4-Audio harness gives ChatTTS (its clean_text): '-' read as 'to',
    newlines as spaces, each whole number as words."""
    text = text.replace("-", "to").replace("\n", " ")
    return re.sub(r"\b\d+\b", lambda m: number_words(int(m.group(0))), text)


def instruction_speaker(form: SpokenForm = "as_written", tts: TTS | None = None,
                        voice: str | None = None) -> Callable[[str, bool], str]:
    """speak(text, online) -> wav path: the whole instruction a model is given, in one voice.

    OmniMMI's M4-Audio harness speaks the whole instruction (AP's vocabulary, SG's history, PT's
    conversation; MD after ##ANSWER## is filled), not the bare question. `form="reference"` also
    speaks it as it does: offline through clean_text (reference_speech_text), online as written.
    The TTS caches each wav by (engine, voice, speed, text), so every turn has the same voice and a
    rerun synthesizes nothing."""
    engine = tts or EspeakTTS()

    def speak(text: str, online: bool = False) -> str:
        said = reference_speech_text(text) if form == "reference" and not online else text
        return str(engine.synthesize(said, voice))
    return speak


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono 16-bit samples and the sample rate (what espeak-ng writes)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise OmnibenchError(f"{path}: expected 16-bit audio, got {8 * w.getsampwidth()}-bit")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        if w.getnchannels() > 1:
            data = data.reshape(-1, w.getnchannels()).mean(axis=1).astype("<i2")
        return data, w.getframerate()


def write_wav(path: str | Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())
