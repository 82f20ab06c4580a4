"""Event logs: record order by a per-run sequence (never host clocks); token usage summed over records."""

from __future__ import annotations

from omnibench.engine.eventlog import Event, EventLog, SampleRecord, latest_records, token_usage


def _record(status: str, ended_at: float, run_seq: int | None = None, seq: int | None = None) -> SampleRecord:
    return SampleRecord(sample_id="s0", task="t", model="m", status=status, ended_at=ended_at, run_seq=run_seq,
                        seq=seq, error="boom" if status == "error" else None)


def test_a_retry_in_a_later_run_wins_even_when_its_host_clock_is_behind():
    failed = _record("error", ended_at=2_000_000_000.0, run_seq=1, seq=0)      # a host whose clock runs ahead
    retried = _record("ok", ended_at=1_000_000_000.0, run_seq=2, seq=0)        # the retry, on a host behind it
    assert latest_records([failed, retried])["s0"].status == "ok"
    assert latest_records([retried, failed])["s0"].status == "ok", "file order does not matter either"


def test_within_a_run_the_sequence_orders_records_and_old_records_without_one_lose(tmp_path):
    first, second = _record("error", 9e9, run_seq=3, seq=5), _record("ok", 1.0, run_seq=3, seq=6)
    assert latest_records([second, first])["s0"] is second
    legacy = _record("error", ended_at=9e9)                      # written before records carried a sequence
    assert latest_records([_record("ok", 1.0, run_seq=1, seq=0), legacy])["s0"].status == "ok"
    log = EventLog(tmp_path / "x.jsonl")
    log.append(second)
    assert next(log.records()).run_seq == 3 and next(log.records()).seq == 6


def test_a_rerun_after_failures_wins_over_them_with_the_clock_set_back(tmp_path, memory_task, monkeypatch):
    """A retried sample's new record must win although time.time() went backwards (another host's clock)."""
    import time as time_module

    from omnibench.engine.evaluate import Evaluation
    from omnibench.scoring.rules import choice_match
    from tests.conftest import text_samples

    class Model:
        needs_video = False

        def __init__(self, broken: bool):
            self.broken = broken

        def generate(self, request):
            if self.broken:
                raise ConnectionRefusedError("down")
            return f"a{int(request.sample_id[1:])}"

    name = memory_task("t_order", text_samples(3, "t_order"), [choice_match()], protocols=("offline",))
    Evaluation(model="m", out=tmp_path, model_obj=Model(broken=True), progress=False).run([name])
    real = time_module.time
    monkeypatch.setattr(time_module, "time", lambda: real() - 3600.0)
    runs = Evaluation(model="m", out=tmp_path, model_obj=Model(broken=False), progress=False).run([name])
    monkeypatch.undo()
    assert runs[0].ran == 3
    latest = Evaluation(model="m", out=tmp_path, model_obj=Model(broken=False), progress=False).latest(name)
    assert {r.status for r in latest.values()} == {"ok"}
    from omnibench.scoring.run_scores import score_run

    assert score_run(tmp_path)[0].metrics["accuracy"].value == 1.0


def test_token_usage_sums_each_call_and_each_live_session():
    offline = SampleRecord(sample_id="a", task="t", model="m", events=[
        Event(kind="emission", t=1.0, turn=0, text="x", data={"usage": {"prompt_tokens": 10, "total_tokens": 12}}),
        Event(kind="emission", t=2.0, turn=1, text="y", data={"p_respond": 0.7, "usage": {"prompt_tokens": 5}}),
        Event(kind="emission", t=3.0, turn=2, text="cached", data=None)])
    live = SampleRecord(sample_id="b", task="t", model="m",
                        settings={"usage": {"input_tokens": 300, "frames": 4, "flag": True}})
    assert token_usage([offline, live]) == {"prompt_tokens": 15, "total_tokens": 12, "input_tokens": 300, "frames": 4}
    assert token_usage([]) == {}
