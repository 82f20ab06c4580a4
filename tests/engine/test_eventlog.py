"""Event logs: token usage summed over records, from per-call events and per-session settings."""

from __future__ import annotations

from omnibench.engine.eventlog import Event, SampleRecord, token_usage


def test_token_usage_sums_each_call_and_each_live_session():
    offline = SampleRecord(sample_id="a", task="t", model="m", events=[
        Event(kind="emission", t=1.0, turn=0, text="x", data={"usage": {"prompt_tokens": 10, "total_tokens": 12}}),
        Event(kind="emission", t=2.0, turn=1, text="y", data={"p_respond": 0.7, "usage": {"prompt_tokens": 5}}),
        Event(kind="emission", t=3.0, turn=2, text="cached", data=None)])
    live = SampleRecord(sample_id="b", task="t", model="m",
                        settings={"usage": {"input_tokens": 300, "frames": 4, "flag": True}})
    assert token_usage([offline, live]) == {"prompt_tokens": 15, "total_tokens": 12, "input_tokens": 300, "frames": 4}
    assert token_usage([]) == {}
