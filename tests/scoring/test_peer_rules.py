"""Our rules for OVO-Bench and StreamingBench replies, beside the references' (README difference rows)."""

from __future__ import annotations

import pytest

from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.eventlog import Event, SampleRecord
from omnibench.scoring.peer_rules import (
    chosen_letter,
    ovo_choice_right,
    ovo_count_right,
    ovo_yes_no_right,
    sb_choice,
    sb_proactive,
)

LETTERS = ["A", "B", "C", "D"]
OPTIONS = ["a person with brown shirt", "a person with blue shirt", "dark red", "red"]


@pytest.mark.parametrize("reply,picked", [
    ("B", "B"), ("B.", "B"), (" (B) ", "B"), ("**B**", "B"), ("B. a person with blue shirt", "B"),
    ("The answer is B.", "B"), ("Option: C", "C"), ("a person with blue shirt", "B"), ("It is dark red.", "C"),
    ("red", "D"), ("A person with a hat", None), ("B or C", None), ("", None), ("I cannot tell.", None),
])
def test_chosen_letter_reads_the_one_option_a_reply_picks(reply, picked):
    assert chosen_letter(reply, LETTERS, OPTIONS) == picked


def test_ovo_multiple_choice_ours_and_the_references_substring():
    # the reference passes "A" inside any reply that holds a capital A
    assert ovo_choice_right("A person, I think C", "A", 4, "substring")
    assert not ovo_choice_right("A person, I think C", "A", 4, "ours")     # it picks no letter clearly
    assert ovo_choice_right("C. A person", "C", 4, "ours") and ovo_choice_right("C. A person", "A", 4, "substring")


@pytest.mark.parametrize("reply,count,ours,digits", [
    ("3", "3", True, True), ("three", "3", True, False), ("They did it 3 times.", "3", True, True),
    ("2, no 3", "3", False, False), ("2, no 3", "23", False, True), ("0", "0", True, True), ("", "0", False, False),
])
def test_rec_counts_ours_and_the_references_digit_join(reply, count, ours, digits):
    assert ovo_count_right(reply, count, "ours") is ours
    assert ovo_count_right(reply, count, "digits") is digits


@pytest.mark.parametrize("reply,target,ours,reference", [
    ("Yes", "Yes", True, True), ("Y", "Yes", True, True), ("yes.", "Yes", True, False), ("No", "No", True, True),
    ("Not yet. No.", "No", False, True), ("Now he is.", "No", False, True), ("N", "No", True, True),
    ("No... Yes.", "Yes", False, True),
])
def test_ssr_crr_yes_no_ours_and_the_references(reply, target, ours, reference):
    assert ovo_yes_no_right(reply, target, "ours") is ours
    assert ovo_yes_no_right(reply, target, "reference") is reference


def _record(sample, replies, emissions=()):
    events = [Event(kind="query", t=q.t or 0.0, turn=i, text=q.text) for i, q in enumerate(sample.turns)]
    events += [Event(kind="emission", t=q.t or 0.0, turn=i, text=r, done=True)
               for i, (q, r) in enumerate(zip(sample.turns, replies))]
    events += list(emissions)
    return SampleRecord(sample_id=sample.id, task=sample.task, model="m", events=events)


def _choice_sample():
    q = lambda t, a: Query(t=t, text="?", target=a, choices=["A. x", "B. y", "C. z", "D. w"])   # noqa: E731
    return Sample(id="s", task="streamingbench_real", video=VideoRef(path="v.mp4"), turns=[q(1, "A"), q(2, "B"), q(3, "C")],
                  metadata={"task_types": ["Counting", "Counting", "Object Recognition"]})


def test_streamingbench_choice_per_type_and_unanswered():
    sample = _choice_sample()
    record = _record(sample, ["A", "", " C"])
    ours = sb_choice()(sample, record)
    assert ours.values == {"accuracy": 2 / 3, "counting": 0.5, "object_recognition": 1.0}
    assert ours.weights == {"accuracy": 3.0, "counting": 2.0, "object_recognition": 1.0}
    ref = sb_choice("first_char", "drop")(sample, record)      # "" leaves the denominator; " C" starts with a space
    assert ref.values == {"accuracy": 0.5, "counting": 1.0, "object_recognition": 0.0}


def _proactive_sample():
    return Sample(id="p", task="streamingbench_proactive", video=VideoRef(path="v.mp4"),
                  turns=[Query(t=2.0, kind="alert_request", text='When it shows 3, output "3".', target=[9.0, 9.0])],
                  metadata={"output": "3", "events": [[9.0, 9.0]]})


def test_proactive_first_utterance_ours_and_last_turn_the_references():
    sample = _proactive_sample()
    said = [Event(kind="emission", t=8.0, turn=None, text="It shows 3.", done=True),
            Event(kind="emission", t=14.0, turn=None, text="now 13", done=True)]
    record = _record(sample, [], said)
    assert sb_proactive()(sample, record).values == {"time_accuracy": 1.0, "answer_accuracy": 1.0}
    assert sb_proactive("last", "substring")(sample, record).values == {"time_accuracy": 0.0, "answer_accuracy": 0.0}
    late = _record(sample, [], [Event(kind="emission", t=10.0, turn=None, text="13", done=True, refers_to=9.0)])
    assert sb_proactive()(sample, late).values["answer_accuracy"] == 0.0          # "3" is not a word of "13"
    assert sb_proactive("last", "substring")(sample, late).values["answer_accuracy"] == 1.0   # claimed 9 s, "3" in "13"


def test_proactive_deltas_make_one_utterance_and_silence_scores_zero():
    sample = _proactive_sample()
    parts = [Event(kind="emission", t=9.0, turn=None, text="the count is ", done=False),
             Event(kind="emission", t=9.5, turn=None, text="3", done=True)]
    assert sb_proactive()(sample, _record(sample, [], parts)).values["answer_accuracy"] == 1.0
    assert sb_proactive()(sample, _record(sample, [], [])).values == {"time_accuracy": 0.0, "answer_accuracy": 0.0}
