"""The one SQLite store behind the response and judge caches, and the one cache-dir rule."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from omnibench.cache import SqliteStore, cache_dir

WRITER = textwrap.dedent("""
    import sys
    from omnibench.cache import SqliteStore
    store = SqliteStore(sys.argv[1], "responses")
    for i in range(300):
        store.put(f"{sys.argv[2]}-{i}", {"text": "x" * 200, "i": i})
        assert store.get(f"{sys.argv[2]}-{i}")["i"] == i
""")


def test_two_processes_share_a_cache_without_errors(tmp_path):
    path = tmp_path / "c.sqlite"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    # six writers opening a new file at once: the switch to WAL races and must not fail any of them
    names = "abcdef"
    procs = [subprocess.Popen([sys.executable, str(script), str(path), name], stderr=subprocess.PIPE)
             for name in names]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * len(names), errors
    store = SqliteStore(path, "responses")
    assert len(store) == 300 * len(names)
    assert store.get_many(["a-299", "b-0"]) == {"a-299": {"text": "x" * 200, "i": 299},
                                                 "b-0": {"text": "x" * 200, "i": 0}}


def test_an_empty_cache_variable_means_the_default_dir(monkeypatch):
    monkeypatch.setenv("OMNIBENCH_CACHE", "")
    assert cache_dir() == Path.home() / ".cache" / "omnibench"
    monkeypatch.setenv("OMNIBENCH_CACHE", "/tmp/elsewhere")
    from omnibench.data import synth, tts
    from omnibench.scoring.judge.cache import default_cache_path

    assert tts.cache_root() == Path("/tmp/elsewhere") and default_cache_path().parent == Path("/tmp/elsewhere")
    assert synth.default_root(0).parent == Path("/tmp/elsewhere/synth")


class _LockedOnce:
    """A connection whose first switch to WAL fails the way SQLite's does when another process is
    switching the same new file at that moment (SQLITE_BUSY, returned without the busy handler)."""

    def __init__(self, db):
        self._db, self.refused = db, 0

    def execute(self, sql, *args):
        if "journal_mode" in sql and not self.refused:
            self.refused += 1
            raise sqlite3.OperationalError("database is locked")
        return self._db.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._db, name)

    def __enter__(self):
        return self._db.__enter__()

    def __exit__(self, *exc):
        return self._db.__exit__(*exc)


def test_a_busy_switch_to_wal_is_retried(tmp_path, monkeypatch):
    import omnibench.cache as cache

    opened = []
    real_connect = sqlite3.connect
    monkeypatch.setattr(cache.sqlite3, "connect",
                        lambda *a, **k: opened.append(_LockedOnce(real_connect(*a, **k))) or opened[-1])
    store = SqliteStore(tmp_path / "c.sqlite", "responses")
    store.put("k", {"v": 1})
    assert opened[0].refused == 1 and store.get("k") == {"v": 1}
    assert real_connect(str(tmp_path / "c.sqlite")).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reference_prompts_and_m4_phrases_follow_the_one_cache_dir_rule(tmp_path, monkeypatch):
    """Both used their own rule: an empty OMNIBENCH_CACHE put the reference prompts in the cwd, and the
    M4 phrase cache ignored the variable altogether."""
    from omnibench.m4.training.phrase_llm import PhraseGenerator
    from omnibench.reference import prompts_dir

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for value, root in ((str(tmp_path / "c"), tmp_path / "c"), ("", tmp_path / "home" / ".cache" / "omnibench")):
        monkeypatch.setenv("OMNIBENCH_CACHE", value)
        assert cache_dir() == root
        assert prompts_dir() == root / "reference" / "omnimmi"
        assert PhraseGenerator(model="m").cache_path == root / "m4_phrases.sqlite"
