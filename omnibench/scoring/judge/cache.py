"""Persistent judge cache: one SQLite table of verdicts keyed by a hash of everything judged.

Only scored verdicts are stored, so an unscored item (judge down, unreadable reply) is asked
again next time. WAL mode lets several processes (shards) share one file; a lock makes one
connection safe for the threads of this process.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path


def judgment_key(model: str, prompt_version: str, question: str, answer: str, prediction: str) -> str:
    # JSON array, not concatenation: ("a|b", "c") and ("a", "b|c") must not collide
    payload = json.dumps([model, prompt_version, question, answer, prediction], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def default_cache_path() -> Path:
    return Path.home() / ".cache" / "omnibench" / "judge.sqlite"


class JudgmentCache:
    """key -> (pred, score). `get_many` / `put_many` batch the work into one transaction each."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: no fsync per verdict; a crash loses at most the last few
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS judgments ("
                " key TEXT PRIMARY KEY, pred INTEGER NOT NULL, score INTEGER NOT NULL,"
                " model TEXT NOT NULL, prompt_version TEXT NOT NULL, created REAL NOT NULL)"
            )

    def get_many(self, keys: Iterable[str]) -> dict[str, tuple[bool, int]]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, tuple[bool, int]] = {}
        with self._lock:
            for start in range(0, len(wanted), 500):  # stay under SQLite's bound-parameter limit
                chunk = wanted[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, pred, score FROM judgments WHERE key IN ({marks})", chunk)
                found.update({key: (bool(pred), int(score)) for key, pred, score in rows})
        return found

    def put_many(self, rows: Iterable[tuple[str, bool, int, str, str]]) -> None:
        """rows: (key, pred, score, model, prompt_version)."""
        now = time.time()
        values = [(key, int(pred), int(score), model, version, now) for key, pred, score, model, version in rows]
        if not values:
            return
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO judgments VALUES (?, ?, ?, ?, ?, ?)", values)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM judgments").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
