"""Persistent judge cache: verdicts keyed by a hash of everything that decides them, in omnibench's one
SQLite store (omnibench.cache: WAL, shared by processes and threads).

Only scored verdicts are stored, so an unscored item (judge down, unreadable reply) is asked
again next time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from omnibench.cache import SqliteStore, cache_dir


def judgment_key(endpoint: str, model: str, prompt_sha256: str, params: dict, question: str, answer: str,
                 prediction: str) -> str:
    """Everything that decides a verdict: where it was asked, which model, the prompt's text (not its
    version label: an edited prompt file keeping its "version" is another prompt), every request
    parameter (temperature, ...), and the item judged."""
    # JSON array, not concatenation: ("a|b", "c") and ("a", "b|c") must not collide
    payload = json.dumps(["v2", endpoint, model, prompt_sha256, params, question, answer, prediction],
                         ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def default_cache_path() -> Path:
    return cache_dir() / "judge.sqlite"


class JudgmentCache:
    """key -> (pred, score). `get_many` / `put_many` batch the work into one transaction each."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.store = SqliteStore(self.path, "verdicts")

    def get_many(self, keys: Iterable[str]) -> dict[str, tuple[bool, int]]:
        return {k: (bool(v["pred"]), int(v["score"])) for k, v in self.store.get_many(keys).items()}

    def put_many(self, rows: Iterable[tuple[str, bool, int, str, str]]) -> None:
        """rows: (key, pred, score, model, prompt_version)."""
        self.store.put_many((key, {"pred": bool(pred), "score": int(score), "model": model, "prompt": version})
                            for key, pred, score, model, version in rows)

    def __len__(self) -> int:
        return len(self.store)

    def close(self) -> None:
        self.store.close()
