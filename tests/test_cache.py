"""The one SQLite store behind the response and judge caches, and the one cache-dir rule."""

from __future__ import annotations

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
    procs = [subprocess.Popen([sys.executable, str(script), str(path), name], stderr=subprocess.PIPE)
             for name in ("a", "b")]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    store = SqliteStore(path, "responses")
    assert len(store) == 600
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
