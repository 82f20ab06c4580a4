"""M4-IT builder: LLaVA-style conversations -> original / interleave / noise / stop samples.

Sample shape (M4_SPEC): {"id", "image", "conversations": [{"from": "human"|"gpt", "value"}], "speech"}
plus "category" and "source". The four categories:
- original: the source conversation replayed;
- interleave: the image in its own human turn, the question in the next;
- noise: a human statement that needs no reply. `noise_reply="yield"` (default) answers it with
  the literal `<|im_start|>`: the model yields the floor, which is exactly what the noise test
  reads on the row after the assistant header. "none" leaves it unanswered (the next human
  turn follows, or nothing);
- stop: a human stop phrase answered by the literal `<|im_end|>`.
Noise/stop turns go either right after the image (what an interruption channel looks like at
decode time: it sees the prefix and its own turn) or after the first answer (the published shape).
Deterministic for a seed.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from omnibench.errors import DataError

CATEGORIES = ("original", "interleave", "noise", "stop")
PUBLISHED_COUNTS = {"original": 2624, "interleave": 2376, "noise": 2563, "stop": 2500}
NOISE_REPLY, STOP_REPLY = "<|im_start|>", "<|im_end|>"


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    speaker: str = Field(alias="from", pattern="^(human|gpt)$")
    value: str


class M4ITRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    category: str = Field(pattern="^(original|interleave|noise|stop)$")
    source: str = ""
    image: str | list[str] | None = None
    conversations: list[Turn]
    speech: list[str] = Field(default_factory=list)


class ValidationReport(BaseModel):
    total: int
    counts: dict[str, int]
    problems: list[str]
    duplicate_conversations: int
    duplicate_ids: int
    reused_sources: int = 0
    phrase_source: str = "curated"
    prompt_version: str | None = None
    seed: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and not self.duplicate_ids


@dataclass(frozen=True)
class QA:
    """One usable source conversation: its first question (placeholder removed), answer, the rest."""

    id: str
    image: Any
    question: str
    answer: str
    rest: list[dict]


def resolve_counts(counts: dict[str, int] | None = None, proportions: dict[str, float] | None = None,
                   total: int | None = None) -> dict[str, int]:
    if counts:
        return {c: int(counts.get(c, 0)) for c in CATEGORIES}
    if proportions:
        total = total or sum(PUBLISHED_COUNTS.values())
        weight = sum(proportions.get(c, 0.0) for c in CATEGORIES)
        raw = {c: total * proportions.get(c, 0.0) / weight for c in CATEGORIES}
        out = {c: int(v) for c, v in raw.items()}
        for c in sorted(CATEGORIES, key=lambda c: out[c] - raw[c])[: total - sum(out.values())]:
            out[c] += 1       # largest remainders: the counts add up to total exactly
        return out
    return dict(PUBLISHED_COUNTS)


def source_pairs(records: list[dict], image_token: str = "<image>") -> list[QA]:
    """Records with a first human question and a gpt answer; the image placeholder is taken out."""
    out = []
    for k, rec in enumerate(records):
        conv = rec.get("conversations") or []
        if len(conv) < 2 or conv[0].get("from") != "human" or conv[1].get("from") != "gpt":
            continue
        question = str(conv[0]["value"]).replace(image_token, "").strip()
        if not question or not str(conv[1]["value"]).strip():
            continue
        out.append(QA(str(rec.get("id", k)), rec.get("image"), question, str(conv[1]["value"]), list(conv[2:])))
    return out


def _t(speaker: str, value: str) -> dict:
    return {"from": speaker, "value": value}


_INDIRECT = ((re.compile(r"^What colour is the (\w+)\?$"), "what colour the {0} is"),
             (re.compile(r"^What is the (\w+) doing now\?$"), "what the {0} is doing now"),
             (re.compile(r"^Who said (.+)\?$"), "who said {0}"))
_INDIRECT_FORMS = ("I'm curious {e}.", "Let me know {e}.", "I'd love to hear {e}.", "Remind me {e}, please.",
                   "Tell me {e} now.", "I keep wondering {e}.", "Say {e}, please.")


def indirect(question: str, rng: random.Random) -> str:
    """The question as a request that does not look like one ("I'm curious what colour the square is."),
    when its shape is known; else the question unchanged. Training side: none of these forms is a task's."""
    for pattern, embedded in _INDIRECT:
        match = pattern.match(question.strip())
        if match:
            return rng.choice(_INDIRECT_FORMS).format(e=embedded.format(*match.groups()))
    return question


def _with_image(qa: QA, text: str, image_token: str) -> str:
    return f"{image_token}\n{text}" if qa.image else text


def build_m4it(records: list[dict], counts: dict[str, int] | None = None, *, seed: int = 0,
               noise_phrases: tuple[str, ...] | None = None, stop_phrases: tuple[str, ...] | None = None,
               noise_reply: str = "yield", image_token: str = "<image>",
               first_placement: float = 0.5, augment: float = 0.0, mix: float = 0.0,
               indirect_share: float = 0.0) -> tuple[list[dict], int]:
    """(M4-IT records, how many source conversations had to be reused). Same inputs, same output.

    first_placement: share of noise/stop turns placed right after the image (the rest follow the first answer).
    augment: share of noise/stop phrases given a spoken-style filler ("Okay, ...", "... please"), so a small
    model learns the phrase's key words rather than the exact string.
    mix: share of noise/stop phrases said together with a short noise statement ("Ugh, Mondays. Okay, stop."),
    so that what decides is the stop, not the words around it (noise gets the same, so length tells nothing).
    indirect_share: share of original/interleave questions asked as indirect requests (hard negatives of
    the noise test: a statement that needs an answer).
    """
    from omnibench.m4.training import phrases

    noise_phrases = noise_phrases or phrases.NOISE_TRAIN
    stop_phrases = stop_phrases or phrases.STOP_TRAIN
    counts = resolve_counts(counts)
    pairs = source_pairs(records, image_token)
    if not pairs:
        raise DataError("no usable source conversation (needs a human question followed by a gpt answer)",
                        field="conversations")
    rng = random.Random(seed)
    order = list(range(len(pairs)))
    rng.shuffle(order)
    out: list[dict] = []
    reused = max(0, sum(counts.values()) - len(pairs))
    cursor = 0
    for category in CATEGORIES:
        for k in range(counts[category]):
            qa = pairs[order[cursor % len(order)]]
            cursor += 1
            if category in ("original", "interleave") and indirect_share and rng.random() < indirect_share:
                qa = QA(qa.id, qa.image, indirect(qa.question, rng), qa.answer, qa.rest)
            conv = _make(category, qa, rng, noise_phrases, stop_phrases, noise_reply, image_token, first_placement,
                         augment, mix)
            out.append({"id": f"m4it-{category}-{k:05d}", "category": category, "source": qa.id,
                        "image": qa.image, "conversations": conv, "speech": []})
    rng.shuffle(out)
    return out, reused


def _make(category: str, qa: QA, rng: random.Random, noise: tuple[str, ...], stop: tuple[str, ...],
          noise_reply: str, image_token: str, first_placement: float, augment: float = 0.0,
          mix: float = 0.0) -> list[dict]:
    ask, answer = _t("human", _with_image(qa, qa.question, image_token)), _t("gpt", qa.answer)
    if category == "original":
        return [ask, answer, *qa.rest]
    if category == "interleave":
        lead = [_t("human", image_token)] if qa.image else []
        return [*lead, _t("human", qa.question), answer, *qa.rest]
    from omnibench.m4.training.phrases import augment_phrase, resembles_evaluation_phrase

    plain = phrase = rng.choice(noise if category == "noise" else stop)
    if augment and rng.random() < augment:
        phrase = augment_phrase(phrase, rng, category)
    if mix and rng.random() < mix:         # noise joined with noise too: length must not give stops away
        aside = rng.choice([p for p in noise if len(p.split()) <= 6] or noise)
        phrase = f"{aside} {phrase}" if rng.random() < 0.5 else f"{phrase} {aside}"
    if resembles_evaluation_phrase(phrase):   # a filler must not make a benchmark phrase ("... stop talking. Please.")
        phrase = plain
    reply = [_t("gpt", NOISE_REPLY)] if category == "noise" and noise_reply == "yield" else []
    if category == "stop":
        reply = [_t("gpt", STOP_REPLY)]
    if rng.random() < first_placement:   # the interruption opens the conversation, right after the image
        head = [_t("human", _with_image(qa, phrase, image_token)), *reply]
        return head + ([_t("human", qa.question), answer] if category == "noise" else [])
    return [ask, answer, _t("human", phrase), *reply]


def validate(records: list[dict], *, image_token: str = "<image>", speech_token: str = "<speech>",
             noise_reply: str = "yield") -> ValidationReport:
    problems: list[str] = []
    seen_conv: Counter = Counter()
    ids = Counter(str(r.get("id")) for r in records)
    for k, raw in enumerate(records):
        try:
            rec = M4ITRecord(**raw)
        except Exception as exc:      # pydantic's message names the field
            problems.append(f"record {k}: {exc}".replace("\n", " "))
            continue
        conv = rec.conversations
        where = f"record {k} ({rec.id})"
        if not conv or conv[0].speaker != "human":
            problems.append(f"{where}: must start with a human turn")
        if any(a.speaker == "gpt" and b.speaker == "gpt" for a, b in zip(conv, conv[1:])):
            problems.append(f"{where}: two gpt turns in a row")
        images = 0 if rec.image is None else (1 if isinstance(rec.image, str) else len(rec.image))
        placeholders = sum(t.value.count(image_token) for t in conv)
        if placeholders and placeholders != images:
            problems.append(f"{where}: {placeholders} {image_token} placeholder(s) for {images} image(s)")
        if rec.speech and len(rec.speech) != sum(t.value.count(speech_token) for t in conv):
            problems.append(f"{where}: {len(rec.speech)} speech file(s) for a different number of {speech_token}")
        replies = [t.value for t in conv if t.speaker == "gpt"]
        if rec.category == "stop" and conv[-1].value != STOP_REPLY:
            problems.append(f"{where}: a stop sample must end with the gpt reply {STOP_REPLY}")
        if rec.category == "noise" and noise_reply == "yield" and NOISE_REPLY not in replies:
            problems.append(f"{where}: a noise sample needs the gpt reply {NOISE_REPLY}")
        if rec.category in ("original", "interleave") and (STOP_REPLY in replies or NOISE_REPLY in replies):
            problems.append(f"{where}: an {rec.category} sample must not contain noise/stop replies")
        seen_conv[json.dumps([t.model_dump(by_alias=True) for t in conv], sort_keys=True)] += 1
    counts = Counter(str(r.get("category")) for r in records)
    return ValidationReport(total=len(records), counts={c: counts.get(c, 0) for c in CATEGORIES},
                            problems=problems, duplicate_conversations=sum(v - 1 for v in seen_conv.values()),
                            duplicate_ids=sum(v - 1 for v in ids.values()))


def add_speech(records: list[dict], out_dir: str | Path, voice: str = "en", image_token: str = "<image>",
               speech_token: str = "<speech>") -> int:
    """Speak every human turn's text into `{id}_{k}.wav` (k: the human turn's index) through the TTS.

    The turn's text becomes the speech placeholder (the image placeholder stays). Returns how many
    files were written; 0 (and records untouched) when no TTS is available.
    """
    try:
        from omnibench.data.tts import EspeakTTS

        tts = EspeakTTS()
    except Exception:                # TTS is optional: no espeak, no module -> no speech
        return 0
    import shutil

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for rec in records:
        files = []
        for k, turn in enumerate(t for t in rec["conversations"] if t["from"] == "human"):
            text = turn["value"].replace(image_token, "").strip()
            if not text:
                continue
            target = out_dir / f"{rec['id']}_{k}.wav"
            if not target.exists():
                shutil.copyfile(tts.synthesize(text, voice), target)
            files.append(target.name)
            turn["value"] = turn["value"].replace(text, speech_token)
            written += 1
        rec["speech"] = files
    return written


def write(records: list[dict], report: ValidationReport, out_dir: str | Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "m4it.json").write_text(json.dumps(records, indent=1, ensure_ascii=False), encoding="utf-8")
    (out_dir / "report.json").write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return out_dir / "m4it.json"


def load_records(path: str | Path) -> list[dict]:
    """A JSON list or JSONL file of records."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("["):
            data = json.loads(text)
        else:
            data = [json.loads(x) for x in text.splitlines() if x.strip()]
    except json.JSONDecodeError as exc:
        raise DataError(f"not JSON or JSONL: {exc}", file=str(path)) from exc
    if not isinstance(data, list):
        raise DataError("expected a list of records", file=str(path))
    return data


def load_hf(name: str, image_folder: str | Path, split: str = "train", limit: int | None = None) -> list[dict]:
    """A Hugging Face dataset in LLaVA shape (e.g. lmms-lab/LLaVA-NeXT-Data); images written to image_folder."""
    try:
        import datasets
    except ImportError as exc:
        raise DataError("reading a Hugging Face dataset needs `pip install datasets`") from exc
    folder = Path(image_folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = datasets.load_dataset(name, split=split, streaming=limit is not None)
    out = []
    for k, row in enumerate(data):
        if limit is not None and k >= limit:
            break
        rec = {"id": str(row.get("id", k)), "conversations": row["conversations"]}
        image = row.get("image")
        if image is not None and hasattr(image, "save"):
            name_ = f"{rec['id'].replace('/', '_')}.png"
            if not (folder / name_).exists():
                image.convert("RGB").save(folder / name_)
            rec["image"] = name_
        elif isinstance(image, str):
            rec["image"] = image
        out.append(rec)
    return out
