"""Judge scoring says what it is doing on stderr: a bar on a terminal, one line otherwise, nothing when quiet."""

from __future__ import annotations

import io

from omnibench.scoring.judge.client import judge_progress
from tests.fake_openai import FakeOpenAI
from tests.scoring.test_judge import YES, _no_judge_env, make_client  # noqa: F401 - the fixture clears judge env


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_judging_prints_one_line_when_stderr_is_not_a_terminal(tmp_path, capsys):
    with FakeOpenAI(handler=lambda body: YES) as server:
        make_client(server, tmp_path).judge_many([("q", "a", f"p{i}") for i in range(5)])
    err = capsys.readouterr().err
    assert err.splitlines() == ["judge judge-test: 5 call(s) ..."]


def test_judging_is_silent_when_quiet_and_cached_calls_print_nothing(tmp_path, capsys):
    with FakeOpenAI(handler=lambda body: YES) as server:
        client = make_client(server, tmp_path)
        client.progress = False
        client.judge_many([("q", "a", "p")])
        assert capsys.readouterr().err == ""
        client.progress = True
        client.judge_many([("q", "a", "p")])              # served from the cache: no calls, no line
    assert capsys.readouterr().err == ""


def test_a_terminal_gets_a_bar_that_counts_calls(monkeypatch):
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    bar = judge_progress(3, "j")
    for _ in range(3):
        bar.update(1)
    bar.close()
    assert "judge j" in term.getvalue() and "/3 [" in term.getvalue()


def test_quiet_environment_turns_judge_progress_off(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OMNIBENCH_QUIET", "1")
    with FakeOpenAI(handler=lambda body: YES) as server:
        make_client(server, tmp_path).judge_many([("q", "a", "p")])
    assert capsys.readouterr().err == ""
