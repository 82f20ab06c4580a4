"""Judge timeout and attempts are settable (flags, environment) and recorded; the reply parsing mode
and the reference's judge model are one flag (or --reference) away."""

from __future__ import annotations

import json

import pytest

from omnibench import reference
from omnibench.cli_args import build_parser, task_settings
from omnibench.errors import JudgeError
from omnibench.rundir import build_task
from omnibench.scoring.judge import JudgeClient
from omnibench.scoring.judge.client import REFERENCE_MODEL
from tests.fake_openai import FakeOpenAI, FakeReply

SLOW_YES = FakeReply(text="{'pred': 'yes', 'score': 4}", delay_s=0.6)


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    for name in ("OMNIBENCH_JUDGE_TIMEOUT", "OMNIBENCH_JUDGE_ATTEMPTS", "OMNIBENCH_JUDGE_MODEL"):
        monkeypatch.delenv(name, raising=False)


def _client(server, tmp_path, **kw) -> JudgeClient:
    return JudgeClient(model="j", base_url=server.base_url, api_key="k", use_cache=False, backoff_s=0.01, **kw)


def test_a_judge_slower_than_the_timeout_is_unscored_and_a_longer_timeout_scores_it(tmp_path):
    with FakeOpenAI(handler=lambda body: SLOW_YES) as server:
        [late] = _client(server, tmp_path, timeout_s=0.2, attempts=2).judge_many([("q", "a", "p")])
        assert late.pred is None and "timed out after 0.2s" in late.reason and server.count == 2
        [ok] = _client(server, tmp_path, timeout_s=5, attempts=1).judge_many([("q", "a", "p")])
        assert (ok.pred, ok.score) == (True, 4)


def test_timeout_and_attempts_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIBENCH_JUDGE_TIMEOUT", "0.2")
    monkeypatch.setenv("OMNIBENCH_JUDGE_ATTEMPTS", "3")
    with FakeOpenAI(handler=lambda body: SLOW_YES) as server:
        client = _client(server, tmp_path)
        assert (client.timeout_s, client.max_retries) == (0.2, 2)
        [late] = client.judge_many([("q", "a", "p")])
        assert late.pred is None and server.count == 3
        assert _client(server, tmp_path, timeout_s=9, attempts=1).timeout_s == 9       # an argument wins
        monkeypatch.setenv("OMNIBENCH_JUDGE_ATTEMPTS", "many")
        with pytest.raises(JudgeError, match="OMNIBENCH_JUDGE_ATTEMPTS"):
            _client(server, tmp_path)


def test_judge_flags_reach_the_client_and_run_json(tmp_path, monkeypatch):
    args = build_parser().parse_args(["run", "--model", "blind", "--tasks", "omnimmi_ap", "--judge-timeout", "90",
                                      "--judge-attempts", "2", "--judge-parse", "reference"])
    settings = task_settings(args)
    assert settings["judge"] == {"timeout_s": 90.0, "attempts": 2, "parse": "reference"}
    judge = next(s.client for s in build_task("omnimmi_ap", settings).scorers if hasattr(s, "client"))
    assert (judge.timeout_s, judge.max_retries, judge.parse) == (90.0, 1, "reference")
    from omnibench.engine.evaluate import judge_settings

    monkeypatch.setenv("OMNIBENCH_JUDGE_API_KEY", "k")
    recorded = judge_settings(build_task("omnimmi_ap", settings))
    assert (recorded["timeout_s"], recorded["attempts"], recorded["parse"]) == (90.0, 2, "reference")
    json.dumps(recorded)
    for bad in (["--judge-attempts", "0"], ["--judge-timeout", "-1"], ["--judge-parse", "loose"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["score", "runs/x", *bad])


def test_reference_mode_parses_as_the_reference_and_asks_gpt_4_turbo_unless_told():
    judge = reference.task_settings("omnimmi", {})["judge"]
    assert judge["parse"] == "reference" and judge["model"] == REFERENCE_MODEL == "gpt-4-turbo"
    assert reference.task_settings("omnimmi", {"judge": {"model": "mine"}})["judge"]["model"] == "mine"


def test_reference_mode_keeps_a_judge_model_named_in_the_environment(monkeypatch):
    monkeypatch.setenv("OMNIBENCH_JUDGE_MODEL", "local-judge")
    assert "model" not in reference.task_settings("omnimmi", {})["judge"]


def test_a_verdict_read_the_reference_way_is_cached_apart(tmp_path):
    with FakeOpenAI(handler=lambda body: "{'pred': 'yes, partly', 'score': 3}") as server:
        strict = JudgeClient(model="j", base_url=server.base_url, api_key="k", cache_path=tmp_path / "c.sqlite",
                             attempts=1, backoff_s=0.01)
        ref = JudgeClient(model="j", base_url=server.base_url, api_key="k", cache_path=tmp_path / "c.sqlite",
                          attempts=1, parse="reference")
        assert strict.key("q", "a", "p") != ref.key("q", "a", "p")
        assert strict.judge_many([("q", "a", "p")])[0].pred is None          # hedged: unscored here
        assert ref.judge_many([("q", "a", "p")])[0].pred is True             # "yes" in pred.lower()
