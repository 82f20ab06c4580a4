"""Noise statements and stop phrases from an LLM through any OpenAI-compatible endpoint.

The GPT-4o prompts that made M4-IT's phrases are not published; these are ours, versioned
(PROMPT_VERSION goes into every cache key and into the build report). Calls are async with a
concurrency limit, cached in SQLite (key: model, prompt version, kind, batch, seed), and token
usage is recorded. Settings: arguments, else OMNIBENCH_JUDGE_MODEL / _BASE_URL / _API_KEY.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from omnibench.cache import cache_dir
from omnibench.m4.training.phrases import normalize

PROMPT_VERSION = "m4-phrases-v1"
PROMPTS = {
    "noise": (
        "Write {n} different things a person might say out loud while watching a video with an AI assistant, "
        "that are NOT addressed to the assistant and need no reply: asides, thinking aloud, remarks to someone "
        "else in the room, small talk, exclamations. Vary length (1 to 25 words), register (casual, formal, "
        "slang) and topic (home, work, food, weather, sport, family, money, health, hobbies). No questions to "
        "the assistant, no commands to stop. Variation seed: {seed}. "
        "Reply with a JSON list of strings only."),
    "stop": (
        "Write {n} different ways a user might tell a voice assistant to stop talking immediately, in the middle "
        "of its answer. Vary length (1 to 12 words) and register (polite, curt, casual, formal, indirect). "
        "Variation seed: {seed}. Reply with a JSON list of strings only."),
}


@dataclass
class Usage:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: int = 0
    rejected_replies: int = 0


@dataclass
class PhraseGenerator:
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    concurrency: int = 8
    per_call: int = 25
    cache_path: Path | None = None
    usage: Usage = field(default_factory=Usage)

    def __post_init__(self) -> None:
        env = os.environ
        self.model = self.model or env.get("OMNIBENCH_JUDGE_MODEL") or "gpt-4o-2024-08-06"
        self.base_url = self.base_url or env.get("OMNIBENCH_JUDGE_BASE_URL") or None
        self.api_key = self.api_key or env.get("OMNIBENCH_JUDGE_API_KEY") or env.get("OPENAI_API_KEY")
        self.cache_path = Path(self.cache_path or cache_dir() / "m4_phrases.sqlite")

    def __repr__(self) -> str:          # never print the key
        return f"PhraseGenerator(model={self.model!r}, base_url={self.base_url!r}, version={PROMPT_VERSION!r})"

    def generate(self, kind: str, count: int, seed: int = 0, exclude: tuple[str, ...] = ()) -> list[str]:
        """At least `count` distinct phrases (fewer only if the model keeps repeating itself)."""
        if kind not in PROMPTS:
            raise ValueError(f"kind must be one of {sorted(PROMPTS)}, got {kind!r}")
        return asyncio.run(self._generate(kind, count, seed, exclude))

    async def _generate(self, kind: str, count: int, seed: int, exclude: tuple[str, ...]) -> list[str]:
        import openai

        client = openai.AsyncOpenAI(base_url=self.base_url, api_key=self.api_key or "none")
        gate = asyncio.Semaphore(self.concurrency)
        seen = {normalize(e) for e in exclude}
        out: list[str] = []
        batch = 0
        try:
            while len(out) < count and batch < 4 * (count // self.per_call + 1):
                calls = range(batch, batch + max(1, min(self.concurrency, (count - len(out)) // self.per_call + 1)))
                batch = calls.stop
                for phrases in await asyncio.gather(*(self._one(client, gate, kind, b, seed) for b in calls)):
                    for phrase in phrases:
                        if normalize(phrase) and normalize(phrase) not in seen:
                            seen.add(normalize(phrase))
                            out.append(phrase)
        finally:
            await client.close()
        return out[:count]

    async def _one(self, client, gate: asyncio.Semaphore, kind: str, batch: int, seed: int) -> list[str]:
        payload = json.dumps([self.model, PROMPT_VERSION, kind, batch, seed, self.per_call])
        key = hashlib.sha256(payload.encode()).hexdigest()
        cached = self._cache_get(key)
        if cached is not None:
            self.usage.cached += 1
            return cached
        prompt = PROMPTS[kind].format(n=self.per_call, seed=f"{seed}-{batch}")
        async with gate:
            reply = await client.chat.completions.create(
                model=self.model, messages=[{"role": "user", "content": prompt}], temperature=1.0)
        self.usage.requests += 1
        if reply.usage is not None:
            self.usage.prompt_tokens += reply.usage.prompt_tokens or 0
            self.usage.completion_tokens += reply.usage.completion_tokens or 0
        phrases = parse_list(reply.choices[0].message.content or "")
        if phrases is None:
            self.usage.rejected_replies += 1
            return []
        self._cache_put(key, phrases)
        return phrases

    # cache ------------------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(self.cache_path), timeout=30.0)
        db.execute("CREATE TABLE IF NOT EXISTS phrases (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        return db

    def _cache_get(self, key: str) -> list[str] | None:
        with self._db() as db:
            row = db.execute("SELECT value FROM phrases WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def _cache_put(self, key: str, phrases: list[str]) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO phrases VALUES (?, ?)", (key, json.dumps(phrases)))


def parse_list(text: str) -> list[str] | None:
    """A JSON list of strings, possibly inside a ``` fence; None if the reply is not one (never eval'd)."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`")
        body = body[body.find("["):] if "[" in body else body
    start, end = body.find("["), body.rfind("]")
    if start < 0 or end <= start:
        return None
    try:
        value = json.loads(body[start:end + 1])
    except json.JSONDecodeError:
        return None
    if not isinstance(value, list):
        return None
    return [v.strip() for v in value if isinstance(v, str) and 0 < len(v.strip()) <= 300]
