"""bench/judge.py: both peers give our verdicts call for call, the process pool's start-up is timed
apart from its calls, and the last line states each side's concurrency."""

from __future__ import annotations

import pytest

from omnibench.scoring.judge import JudgeClient
from tests.bench._load import load
from tests.fake_openai import FakeOpenAI

CALLS = [(f"What happens at step {i}?", f"answer {i}", "prediction" + "!" * i) for i in range(6)]


@pytest.fixture
def judged(tmp_path):
    judge = load("judge")
    with FakeOpenAI(handler=judge.reply) as server:
        client = JudgeClient(model="bench-judge", base_url=server.base_url, api_key="bench", concurrency=3,
                             cache_path=tmp_path / "j.sqlite")
        ours = client.judge_many(CALLS)
        yield judge, server, [client.prompt.messages(*item) for item in CALLS], ours


def test_thread_pool_gives_our_verdicts(judged):
    judge, server, jobs, ours = judged
    seconds, verdicts = judge.thread_pool_baseline(server.base_url, "bench-judge", jobs, concurrency=3)
    assert seconds > 0 and server.count == 2 * len(CALLS)
    judge.check_same("thread_pool", verdicts, ours)
    assert {v.pred for v in ours} == {True, False}          # the check compares something


def test_process_pool_is_timed_once_every_worker_is_up(judged):
    judge, server, jobs, ours = judged
    start_s, calls_s, verdicts = judge.process_pool_baseline(server.base_url, "bench-judge", jobs, concurrency=2)
    assert start_s > 0 and calls_s > 0
    judge.check_same("process_pool", verdicts, ours)


def test_a_peer_with_other_verdicts_is_refused(judged):
    judge, _, _, ours = judged
    flipped = [(not v.pred, v.score) if i == 4 else (v.pred, v.score) for i, v in enumerate(ours)]
    with pytest.raises(AssertionError, match="differ from ours on 1 call.*first at 4"):
        judge.check_same("thread_pool", flipped, ours)
    with pytest.raises(AssertionError, match="5 verdicts for 6 calls"):
        judge.check_same("thread_pool", flipped[:5], ours)


def test_last_line_states_ratios_and_concurrency():
    judge = load("judge")
    times = {"ours": [2.0, 3.0, 2.5], "thread_pool": [5.0, 6.0, 5.5], "process_pool": [4.0, 4.5, 5.0]}
    cpu = {side: [1.0] for side in times}
    out = judge.summary(times, [9.0, 8.0, 7.0], cpu=cpu, retries=0, serial_s=100.0, cached_s=0.1,
                        cached_requests=0, rescore={"rescore_run_s": 1.0})
    assert list(out)[:3] == ["speedup_vs_thread_pool", "speedup_vs_process_pool", "speedup_vs_serial"]
    assert out["speedup_vs_thread_pool"] == 2.2 and out["speedup_vs_process_pool"] == 1.8
    assert out["concurrency_ours"] == out["concurrency_thread_pool"] == out["concurrency_process_pool"] == 64
    assert out["process_pool_s"] == 4.5 and out["process_pool_start_s"] == 8.0    # start-up apart, not added
    assert set(out["ran_with"]) == {"ours", "thread_pool", "process_pool"}
