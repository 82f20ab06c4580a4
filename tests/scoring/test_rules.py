"""Rule scorers against hand-computed cases, edge cases first."""

from __future__ import annotations

import pytest

from omnibench.data.schema import Message, Query, Sample, VideoRef
from omnibench.engine.eventlog import Event, SampleRecord
from omnibench.scoring.rules import (
    alert_timing,
    choice_match,
    exact_match,
    is_silent,
    normalize_answer,
    silence,
    time_f1,
)


def sample(*turns: Query, **metadata) -> Sample:
    return Sample(id="s1", task="t", video=VideoRef(path="v.mp4"), turns=list(turns), metadata=metadata,
                  history=[Message(role="user", text="hi"), Message(role="assistant", text="hello")])


def record(*events: Event) -> SampleRecord:
    return SampleRecord(sample_id="s1", task="t", model="m", events=list(events))


def q(turn: int, t: float) -> Event:
    return Event(kind="query", t=t, turn=turn, text="...")


def say(t: float, text: str, turn: int | None = None, done: bool = True, refers_to: float | None = None) -> Event:
    return Event(kind="emission", t=t, turn=turn, text=text, done=done, refers_to=refers_to)


PA = sample(Query(t=0.0, kind="alert_request", text="Tell me when", target=[10.0, 20.0]))


def pa(*alerts: Event, time="spoken", tolerance=0.0) -> dict:
    return alert_timing(time=time, tolerance=tolerance)(PA, record(q(0, 0.0), *alerts)).values


# -- alert_timing -----------------------------------------------------------------------------------

def test_no_alert_scores_zero_on_every_pa_metric():
    assert pa() == {"accuracy": 0.0, "precision": 0.0, "iou": 0.0}


def test_window_bounds_are_inclusive():
    assert pa(say(10.0, "alert"))["accuracy"] == 1.0
    assert pa(say(20.0, "alert"))["accuracy"] == 1.0
    assert pa(say(20.01, "alert"))["accuracy"] == 0.0


def test_first_alert_decides_accuracy_share_inside_is_precision_and_iou_of_first_to_last():
    values = pa(say(5.0, "alert"), say(12.0, "alert"), say(15.0, "alert"), say(30.0, "alert"))
    assert values["accuracy"] == 0.0
    assert values["precision"] == pytest.approx(2 / 4)
    # [5, 30] vs [10, 20]: overlap 10, hull 25
    assert values["iou"] == pytest.approx(10 / 25)


def test_iou_uses_alerts_in_the_order_given_as_the_reference_does():
    # claimed times 18 then 12: first=18, last=12 -> overlap max(0, 12 - 18) = 0; hull 20 - 10
    values = pa(say(20.0, "a", refers_to=18.0), say(21.0, "b", refers_to=12.0), time="claimed")
    assert values == {"accuracy": 1.0, "precision": 1.0, "iou": 0.0}


def test_claimed_time_falls_back_to_spoken_time():
    values = pa(say(25.0, "alert", refers_to=15.0), say(12.0, "alert"), time="claimed")
    assert values["accuracy"] == 1.0 and values["precision"] == 1.0
    assert pa(say(25.0, "alert", refers_to=15.0))["accuracy"] == 0.0      # spoken: 25 is late


def test_point_alert_on_point_window_is_a_perfect_match():
    point = sample(Query(t=0.0, kind="alert_request", text="x", target=[7.0, 7.0]))
    values = alert_timing()(point, record(say(7.0, "alert"))).values
    assert values == {"accuracy": 1.0, "precision": 1.0, "iou": 1.0}


def test_tolerance_widens_the_window():
    assert pa(say(8.5, "alert"), tolerance=2.0)["accuracy"] == 1.0
    assert pa(say(8.5, "alert"))["accuracy"] == 0.0


def test_an_utterance_in_deltas_is_one_alert_and_silent_or_other_turn_emissions_are_none():
    values = pa(say(12.0, "The horse", turn=0, done=False), say(13.0, " is groomed", turn=0, done=False),
                say(14.0, " now.", turn=0), say(15.0, ""), say(16.0, "<2>"), say(40.0, "an answer", turn=3))
    assert values == {"accuracy": 1.0, "precision": 1.0, "iou": 0.0}   # one alert at 12: a point, no overlap


def test_sample_without_alert_request_is_unscored_not_zero():
    score = alert_timing()(sample(Query(t=1.0, text="q?")), record())
    assert score.unscored and score.values == {}


# -- time_f1 ----------------------------------------------------------------------------------------

def test_time_f1_matches_alerts_one_to_one_within_tolerance():
    events = sample(Query(t=0.0, kind="alert_request", text="x", target=[10.0, 12.0]),
                    events=[[10.0, 12.0], [30.0, 31.0], [50.0, 50.0]])
    # 9 -> event 1 (within 2 s), 11 -> nothing left nearby, 33 -> event 2, 70 -> none
    rec = record(say(9.0, "a"), say(11.0, "a"), say(33.0, "a"), say(70.0, "a"))
    values = time_f1(tolerance=2.0)(events, rec).values
    assert values["time_precision"] == pytest.approx(2 / 4)
    assert values["time_recall"] == pytest.approx(2 / 3)
    assert values["time_f1"] == pytest.approx(2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3))


def test_time_f1_without_alerts_is_zero():
    assert time_f1()(PA, record()).values == {"time_precision": 0.0, "time_recall": 0.0, "time_f1": 0.0}


# -- silence ----------------------------------------------------------------------------------------

PT = sample(Query(t=None, kind="noise", text="Oh well, it is what it is."))


@pytest.mark.parametrize("text,silent", [("", True), ("<2>", True), ("<2> anything after", True),
                                         (" ", False), ("ok", False), ("x<2>", False)])
def test_omnimmi_silence_rule(text, silent):
    assert is_silent(text) is silent
    rec = record(q(0, 30.0), say(30.0, text, turn=0))
    assert silence()(PT, rec).values["silence"] == float(silent)


def test_no_emission_is_silence_and_unprompted_speech_after_the_remark_is_not():
    assert silence()(PT, record(q(0, 30.0))).values["silence"] == 1.0
    assert silence()(PT, record(say(29.0, "alert"), q(0, 30.0))).values["silence"] == 1.0   # before: not a reply
    assert silence()(PT, record(q(0, 30.0), say(31.0, "alert"))).values["silence"] == 0.0


def test_silence_of_an_earlier_turn_ends_at_the_next_turn():
    two = sample(Query(t=1.0, kind="noise", text="hm"), Query(t=5.0, text="what now?"))
    rec = record(q(0, 1.0), q(1, 5.0), say(6.0, "a circle"), say(6.0, "a circle", turn=1))
    assert silence(turn=0)(two, rec).values["silence"] == 1.0
    assert silence(turn=1)(two, rec).values["silence"] == 0.0


# -- closed answers ---------------------------------------------------------------------------------

MULTI = sample(Query(t=1.0, text="Shape?", target="dark red", choices=["red", "dark red", "blue"]),
               Query(t=2.0, text="Colour?", target="blue", choices=["red", "dark red", "blue"]),
               Query(t=3.0, text="Count?", target="3"))


def answers(*texts: str) -> SampleRecord:
    return record(*[e for i, t in enumerate(texts) for e in (q(i, float(i + 1)), say(float(i + 1), t, turn=i))])


def test_choice_match_names_exactly_one_choice():
    score = choice_match()(MULTI, answers("I think it is dark red.", "Blue", "three"))
    assert score.values == {"accuracy": 0.0, "turn_accuracy": pytest.approx(2 / 3)}
    assert score.weights == {"turn_accuracy": 3.0}
    both = choice_match()(MULTI, answers("red or blue", "blue", "3")).values
    assert both == {"accuracy": 0.0, "turn_accuracy": pytest.approx(2 / 3)}    # two choices named: wrong
    assert choice_match()(MULTI, answers("Dark red!", "BLUE", "3")).values["accuracy"] == 1.0


def test_empty_prediction_is_wrong_not_unscored():
    assert choice_match()(MULTI, answers("", "", "")).values == {"accuracy": 0.0, "turn_accuracy": 0.0}
    assert choice_match()(MULTI, record()).values["turn_accuracy"] == 0.0


def test_exact_match_normalizes_unless_told_not_to():
    assert normalize_answer("The  Red, square!") == "red square"
    rec = answers("The dark red.", "blue", "3")
    assert exact_match()(MULTI, rec).values == {"accuracy": 1.0, "turn_accuracy": 1.0}
    assert exact_match(normalize=False)(MULTI, rec).values["turn_accuracy"] == pytest.approx(2 / 3)
    assert exact_match()(PT, record()).unscored


# -- the reference's PA formulas, restated, on random predictions ------------------------------------

def reference_pa(preds: list[float], gt_s: float, gt_e: float) -> tuple[float, float, float]:
    """evaluate.py's per-record PA arithmetic (summed there, then divided by the count)."""
    if preds == []:
        return 0.0, 0.0, 0.0
    acc = 1.0 if preds[0] >= gt_s and preds[0] <= gt_e else 0.0
    prec = sum(1 for p in preds if p >= gt_s and p <= gt_e) / len(preds)
    pred_s, pred_e = preds[0], preds[-1]
    iou = max(0, min(pred_e, gt_e) - max(pred_s, gt_s)) / (max(pred_e, gt_e) - min(pred_s, gt_s))
    return acc, prec, iou


def test_alert_timing_claimed_equals_the_reference_arithmetic_on_random_predictions():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    seconds = st.integers(0, 400).map(lambda x: x / 2)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(seconds, max_size=6), seconds, st.integers(1, 100))
    def check(preds, start, length):
        window = sample(Query(t=0.0, kind="alert_request", text="x", target=[start, start + length]))
        rec = record(q(0, 0.0), *[say(float(k), "alert", refers_to=p) for k, p in enumerate(preds)])
        values = alert_timing(time="claimed")(window, rec).values
        expected = reference_pa(preds, start, start + length)
        assert (values["accuracy"], values["precision"], values["iou"]) == pytest.approx(expected)

    check()


# -- noise_detection / stop_detection: every case of both headlines on hand-built logs ---------------

from omnibench.scoring.rules import noise_detection, stop_detection  # noqa: E402

COLOURS = ["red", "green", "blue", "yellow", "purple"]


def noise_case(cls: str) -> Sample:
    target = "green" if cls == "followup" else None
    return sample(Query(t=5.0, text="What colour is the square?", target="blue", choices=COLOURS),
                  Query(t=6.0, text="...", kind="noise", target=target, choices=COLOURS), interruption=cls)


def stop_case(cls: str) -> Sample:
    return sample(Query(t=5.0, text="Describe everything."), Query(t=6.0, text="...", kind="stop"),
                  interruption=cls)


def noise_values(cls: str, *events: Event) -> dict:
    return noise_detection()(noise_case(cls), record(*events)).values


def stop_values(cls: str, *events: Event, offline: bool = False) -> dict:
    rec = record(*events)
    if offline:
        rec.settings = {"protocol": "offline"}
    return stop_detection(max_words=3)(stop_case(cls), rec).values


def test_noise_ignored_after_a_right_answer_is_right():
    v = noise_values("noise", q(0, 5.0), say(5.0, "It is blue.", turn=0), q(1, 6.0))
    assert v["balanced_accuracy"] == 1.0 and v["noise_ignored"] == 1.0 and v["noise_replied"] == 0.0
    assert v["derailed"] == 0.0 and "followup_answered" not in v


def test_noise_answered_fails_and_counts_as_replied():
    v = noise_values("noise", q(0, 5.0), say(5.0, "blue", turn=0), q(1, 6.0), say(6.0, "Okay!", turn=1))
    assert v["balanced_accuracy"] == 0.0 and v["noise_replied"] == 1.0


def test_noise_ignored_after_a_wrong_or_missing_answer_fails():
    assert noise_values("noise", q(0, 5.0), say(5.0, "red", turn=0), q(1, 6.0))["balanced_accuracy"] == 0.0
    v = noise_values("noise", q(0, 5.0), q(1, 6.0))     # never answered: silence is not rejection
    assert v["balanced_accuracy"] == 0.0 and v["derailed"] == 1.0


def test_answer_cut_by_the_noise_is_derailed():
    v = noise_values("noise", q(0, 5.0), say(5.0, "The square is", done=False, turn=0), q(1, 6.0), say(6.0, "", done=True, turn=0))
    assert v["balanced_accuracy"] == 0.0 and v["derailed"] == 1.0


def test_followup_answered_right_is_right_and_wrong_is_wrong():
    right = noise_values("followup", q(0, 5.0), say(5.0, "blue", turn=0), q(1, 6.0), say(6.0, "The circle is green.", turn=1))
    wrong = noise_values("followup", q(0, 5.0), say(5.0, "blue", turn=0), q(1, 6.0), say(6.0, "red", turn=1))
    assert right["balanced_accuracy"] == 1.0 and right["followup_answered"] == 1.0 and right["followup_missed"] == 0.0
    assert wrong["balanced_accuracy"] == 0.0 and wrong["followup_missed"] == 0.0


def test_followup_ignored_is_missed():
    v = noise_values("followup", q(0, 5.0), say(5.0, "blue", turn=0), q(1, 6.0))
    assert v["balanced_accuracy"] == 0.0 and v["followup_missed"] == 1.0


def test_followup_counts_only_with_a_right_first_answer_or_one_cut_while_going_on_correctly():
    wrong_first = noise_values("followup", q(0, 5.0), say(5.0, "red", turn=0), q(1, 6.0), say(6.0, "green", turn=1))
    going = noise_values("followup", q(0, 5.0), say(5.0, "The square", done=False, turn=0), q(1, 6.0),
                         say(6.0, "", turn=0), say(6.0, "green", turn=1))
    going_wrong = noise_values("followup", q(0, 5.0), say(5.0, "The square is red and", done=False, turn=0), q(1, 6.0),
                               say(6.0, "", turn=0), say(6.0, "green", turn=1))
    assert wrong_first["balanced_accuracy"] == 0.0 and wrong_first["derailed"] == 1.0
    assert going["balanced_accuracy"] == 1.0
    assert going_wrong["balanced_accuracy"] == 0.0


def test_stop_never_started_fails_not_complies():
    for cls in ("stop", "lure"):
        v = stop_values(cls, q(0, 5.0), q(1, 6.0))
        assert v["balanced_accuracy"] == 0.0 and v["never_started"] == 1.0
    # a finished answer before the stop is not an answer under way either
    v = stop_values("stop", q(0, 5.0), say(5.0, "Shapes.", done=True, turn=0), q(1, 6.0))
    assert v["balanced_accuracy"] == 0.0 and v["never_started"] == 1.0


def test_stopped_in_time_is_right_and_stopped_late_is_wrong():
    in_time = stop_values("stop", q(0, 5.0), say(5.0, "I see a dark", done=False, turn=0), q(1, 6.0),
                          say(6.0, "background", done=False, turn=0), say(7.0, "", done=True, turn=0))
    late = stop_values("stop", q(0, 5.0), say(5.0, "I see a dark", done=False, turn=0), q(1, 6.0),
                       say(6.0, "background with shapes on it", done=False, turn=0), say(7.0, " and more.", done=True, turn=0))
    assert in_time["balanced_accuracy"] == 1.0 and in_time["stopped"] == 1.0 and in_time["words_after_stop"] == 1.0
    assert late["balanced_accuracy"] == 0.0 and late["words_after_stop"] == 7.0


def test_lure_ignored_is_right_and_lure_obeyed_is_a_false_stop():
    ignored = stop_values("lure", q(0, 5.0), say(5.0, "I see a dark", done=False, turn=0), q(1, 6.0),
                          say(6.0, " background with coloured shapes", done=False, turn=0), say(7.0, " on it.", done=True, turn=0))
    obeyed = stop_values("lure", q(0, 5.0), say(5.0, "I see a dark", done=False, turn=0), q(1, 6.0), say(6.0, "", done=True, turn=0))
    short_end = stop_values("lure", q(0, 5.0), say(5.0, "I see a dark", done=False, turn=0), q(1, 6.0),
                            say(6.0, " background.", done=True, turn=0))
    assert ignored["balanced_accuracy"] == 1.0 and ignored["continued"] == 1.0 and ignored["false_stop"] == 0.0
    assert obeyed["balanced_accuracy"] == 0.0 and obeyed["false_stop"] == 1.0
    assert short_end["balanced_accuracy"] == 1.0      # it went on and ended on its own


def test_offline_stop_and_lure():
    assert stop_values("stop", q(0, 5.0), say(5.0, "Shapes move.", turn=0), q(1, 6.0), say(6.0, "", turn=1),
                       offline=True)["balanced_accuracy"] == 1.0
    assert stop_values("lure", q(0, 5.0), say(5.0, "Shapes move.", turn=0), q(1, 6.0), say(6.0, "They also spin.", turn=1),
                       offline=True)["balanced_accuracy"] == 1.0
    assert stop_values("lure", q(0, 5.0), say(5.0, "Shapes move.", turn=0), q(1, 6.0), say(6.0, "", turn=1),
                       offline=True)["balanced_accuracy"] == 0.0
    assert stop_values("stop", q(0, 5.0), say(5.0, "", turn=0), q(1, 6.0), say(6.0, "", turn=1),
                       offline=True)["never_started"] == 1.0


def test_interruption_scorers_need_the_class():
    assert noise_detection()(PA, record()).unscored
    assert stop_detection()(PA, record()).unscored
