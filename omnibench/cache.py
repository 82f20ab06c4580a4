"""The one cache directory rule and the stores behind the response and judge caches.

`cache_dir()`: $OMNIBENCH_CACHE when set and not empty, else ~/.cache/omnibench.
`JsonlStore`: key -> JSON value, for caches that many processes and hosts fill at once (model
responses: every torchrun rank): each process appends to a file of its own, and reads every
process's files in the folder as one read-only map. No file has two writers, so nothing relies on
file locking, which network file systems do not honour.
`SqliteStore`: key -> JSON value in one table, WAL mode with a generous busy timeout, for a cache
one process writes (the judge: it runs on rank 0 only) and its threads share.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
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


class JsonlStore:
    """Key -> JSON value. Writes: `<folder>/<host>-<pid>-<n>.jsonl`, this process's own file, one
    flushed line per entry. Reads: every `*.jsonl` in the folder, loaded once on first use (entries
    other processes add later are not seen: a cache, not a channel); a torn last line is skipped."""

    _opened = 0

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._known: dict[str, Any] | None = None
        self._file: Any = None
        JsonlStore._opened += 1
        host = "".join(c if c.isalnum() or c in "-." else "_" for c in socket.gethostname())[:60]
        self.path = self.folder / f"{host}-{os.getpid()}-{JsonlStore._opened}.jsonl"

    def _load(self) -> dict[str, Any]:
        if self._known is None:
            known: dict[str, Any] = {}
            for path in sorted(self.folder.glob("*.jsonl")) if self.folder.is_dir() else []:
                try:
                    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
                except OSError:
                    continue
                for line in lines:
                    try:
                        key, value = json.loads(line)
                    except (ValueError, TypeError):
                        continue                  # a torn last line (its writer was killed), or damage
                    known[str(key)] = value
            self._known = known
        return self._known

    def get(self, key: str) -> Any | None:
        with self._lock:
            return self._load().get(key)

    def put(self, key: str, value: Any) -> None:
        line = json.dumps([key, value]) + "\n"
        with self._lock:
            self._load()[key] = value
            if self._file is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "a", encoding="utf-8")
            self._file.write(line)
            self._file.flush()

    def __len__(self) -> int:
        with self._lock:
            return len(self._load())

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


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
