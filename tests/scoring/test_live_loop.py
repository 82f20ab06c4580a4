"""What the reference's online loop keeps of a live stream (row 19): the first response, to the last frame."""

from __future__ import annotations

from omnibench.engine.eventlog import Event, SampleRecord
from omnibench.scoring.live_loop import first_answers, first_second_mode, is_live, utterances


def _record(*events, **settings) -> SampleRecord:
    return SampleRecord(sample_id="s", task="omnimmi_md", model="m", events=list(events),
                        settings={"protocol": "streaming", **settings})


def frame(t):
    return Event(kind="frame", t=t)


def ask(t, turn):
    return Event(kind="query", t=t, turn=turn, text="q")


def say(t, text, turn=None, done=True):
    return Event(kind="emission", t=t, text=text, turn=turn, done=done)


def test_deltas_make_one_utterance_from_its_first_delta():
    record = _record(frame(0), ask(0, 0), say(0, "a ", 0, False), frame(1), say(1, "b", 0, False), say(2, "c", 0))
    [u] = utterances(record)
    assert (u.text, u.t, u.turn) == ("a bc", 0, 0)


def test_single_question_tasks_take_the_first_response_of_the_stream_even_before_the_question():
    record = _record(frame(0), say(0, "I see a kitchen."), frame(1), ask(1, 0), say(1, "Stir.", 0), frame(2))
    assert first_answers("omnimmi_ap", 1, record) == ["I see a kitchen."]
    assert record.answer(0) == "Stir."                     # ours: what was said for the turn


def test_multi_turn_answers_go_to_the_earliest_pending_question_and_none_after_the_last_frame():
    record = _record(frame(0), say(0, "lost: nothing asked"), ask(0, 0), frame(1), say(1, "first", 0),
                     say(1, "second", 0), ask(1, 1), frame(2), say(2, "third", None), ask(2, 2), frame(3),
                     say(4, "after the last frame", 2))
    # "second": no question pending (lost); "third" (unprompted) goes to the pending turn 1
    assert first_answers("omnimmi_md", 3, record) == ["first", "third", ""]


def test_only_streams_run_here_are_live():
    assert is_live(_record())
    assert not is_live(_record(replayed=True)) and not is_live(_record(protocol="offline"))
    assert [first_second_mode(v) for v in (None, False, True, "live")] == ["never", "never", "always", "live"]
