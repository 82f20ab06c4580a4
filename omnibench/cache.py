"""The one cache directory rule and the one SQLite store behind the response and judge caches.

`cache_dir()`: $OMNIBENCH_CACHE when set and not empty, else ~/.cache/omnibench.
`SqliteStore`: key -> JSON value in one table, WAL mode with a generous busy timeout, so several
processes (shards, torchrun ranks) and the threads of one process share a file without
"database is locked" errors.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_S = 120.0


def cache_dir() -> Path:
    return Path(os.environ.get("OMNIBENCH_CACHE") or Path.home() / ".cache" / "omnibench")


def stable_hash(value: Any) -> str:
    """sha256 of canonical JSON (sorted keys; non-JSON values by str)."""
    # surrogatepass: a lone surrogate (a truncated emoji in an answer) hashes instead of raising
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
                          .encode("utf-8", "surrogatepass")).hexdigest()


class SqliteStore:
    """A persistent map of str keys to JSON values in table `table` of the file at `path`."""

    def __init__(self, path: str | Path, table: str):
        if not table.isidentifier():
            raise ValueError(f"bad table name {table!r}")
        self.path, self.table = Path(path), table
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        self._set_up()

    def _set_up(self) -> None:
        # Two processes opening a new file at once: SQLite may refuse the switch to WAL with
        # "database is locked" without waiting on the busy handler, so wait here instead.
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                with self._lock, self._db:
                    self._db.execute("PRAGMA journal_mode=WAL")
                    self._db.execute("PRAGMA synchronous=NORMAL")   # WAL: a crash loses at most the last entries
                    self._db.execute(f"CREATE TABLE IF NOT EXISTS {self.table} "
                                     "(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def get(self, key: str) -> Any | None:
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        with self._lock:
            for start in range(0, len(wanted), 500):      # under SQLite's bound-parameter limit
                chunk = wanted[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, value FROM {self.table} WHERE key IN ({marks})", chunk)
                found.update({k: json.loads(v) for k, v in rows})
        return found

    def put(self, key: str, value: Any) -> None:
        self.put_many([(key, value)])

    def put_many(self, items: Iterable[tuple[str, Any]]) -> None:
        rows = [(k, json.dumps(v)) for k, v in items]
        if rows:
            with self._lock, self._db:
                self._db.executemany(f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?)", rows)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
