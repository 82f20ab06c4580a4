"""Rule scorers: pure functions of (sample, event record) -> Score.

Conventions that reproduce OmniMMI's evaluate.py exactly on its own prediction files (via the
`replay` model, PA with `time="claimed"`):
- PA: alert windows are inclusive at both ends; alerts keep the order they were given (the
  reference takes preds[0] and preds[-1] without sorting); a sample with no alert counts 0 on
  every PA metric but still counts; IoU is |[first, last] ∩ window| / |hull of both|.
- PT: a reply is silent iff its text is exactly "" or begins with "<2>" (the silence token some
  streaming models print).
Reference mode also applies the reference's online loop to live streams (scoring/live_loop.py):
alerts at int(t) == 0 dropped there (not on replayed files, whose times went through a loop
already), nothing after the last frame heard, and every highlight an M4 claims counted even when
its spoken text is empty (`count_empty_alerts`: the reference's M4 answers every highlight with a
placeholder).
"""

from __future__ import annotations

import re
from typing import Literal

from omnibench.data.schema import Sample
from omnibench.engine.eventlog import Event, SampleRecord
from omnibench.scoring.base import Score, Scorer, declares
from omnibench.scoring.live_loop import OnlineAnswers, before_loop_end, first_second_mode, is_live, kept_alert

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = re.compile(r"[^\w\s]")
AlertTime = Literal["spoken", "claimed"]


def is_silent(text: str) -> bool:
    return text == "" or text.startswith("<2>")


def normalize_answer(text: str) -> str:
    """Lowercase, punctuation and articles removed, whitespace collapsed."""
    text = _PUNCT.sub(" ", text.lower())
    return " ".join(_ARTICLES.sub(" ", text).split())


def _alert_turn(sample: Sample) -> int | None:
    return next((i for i, q in enumerate(sample.turns) if q.kind == "alert_request"), None)


def alert_times(sample: Sample, record: SampleRecord, time: AlertTime = "spoken", *,
                count_empty: bool = False, loop_end: bool = False) -> list[float]:
    """When the model alerted, in the order it did.

    An alert is an utterance, unprompted (turn None) or in reply to the alert request, that is
    not silent. A long utterance arrives as several deltas (done=False until the last): it is one
    alert, at its first delta. "claimed" takes the time the model names (refers_to), else when it spoke.
    `count_empty`: an emission that claims a time (refers_to) is an alert even when silent.
    `loop_end`: only what was said by the last frame (the reference's loop), on live records.
    """
    turn = _alert_turn(sample)
    out: list[float] = []
    speaking: dict[int | None, bool] = {}
    cut = loop_end and is_live(record)
    for e in record.emissions():
        if (e.turn is not None and e.turn != turn) or (cut and not before_loop_end(e, record)):
            continue
        if is_silent(e.text or "") and not (count_empty and e.refers_to is not None):
            if e.done is not False:
                speaking[e.turn] = False      # an empty closing delta ends the utterance
            continue
        starts = not speaking.get(e.turn, False)
        speaking[e.turn] = e.done is False
        if starts:
            out.append(e.refers_to if time == "claimed" and e.refers_to is not None else e.t)
    return out


def window_scores(times: list[float], window: tuple[float, float]) -> dict[str, float | None]:
    """OmniMMI's PA metrics for one sample (window inclusive; times in the order given)."""
    if not times:
        return {"accuracy": 0.0, "precision": 0.0, "iou": 0.0}
    s, e = window
    inside = [s <= t <= e for t in times]
    first, last = times[0], times[-1]
    hull = max(last, e) - min(first, s)
    overlap = max(0.0, min(last, e) - max(first, s))
    # a point alert on a point window: the reference divides by zero; it is a perfect match
    iou = overlap / hull if hull > 0 else 1.0
    return {"accuracy": float(inside[0]), "precision": sum(inside) / len(times), "iou": iou}


def alert_timing(time: AlertTime = "spoken", tolerance: float = 0.0, drop_first_second: bool | str = False,
                 count_empty: bool = False, online: OnlineAnswers = "joined") -> Scorer:
    """Accuracy (first alert inside the window), precision (share inside), IoU of [first, last].

    `time="spoken"` scores when the model spoke (causal, our default); "claimed" scores the time
    the model says the event happened (Emission.refers_to), as the OmniMMI reference does.
    `tolerance` widens the window by that many seconds on each side. `drop_first_second` ignores
    alerts with int(t) == 0: "live" on streams run here, as the reference's PA loop does for every
    streaming model (a replayed prediction file is scored as evaluate.py scores it), "always" on
    every record (True, the older spelling), "never" (False). `count_empty` and `online="first"`
    (nothing after the last frame): see alert_times.
    """
    dropping = first_second_mode(drop_first_second)

    @declares("accuracy", "precision", "iou")
    def score(sample: Sample, record: SampleRecord) -> Score:
        turn = _alert_turn(sample)
        window = sample.turns[turn].window if turn is not None else None
        if window is None:
            return Score(values={}, unscored="no alert request with a [start, end] window")
        times = alert_times(sample, record, time, count_empty=count_empty, loop_end=online == "first")
        times = [t for t in times if kept_alert(t, record, dropping)]
        values = window_scores(times, (window[0] - tolerance, window[1] + tolerance))
        return Score(values=values, explanation=f"{len(times)} alert(s) at {_fmt(times)} for window {list(window)}")
    return score


def match_events(times: list[float], events: list[tuple[float, float]], tolerance: float) -> int:
    """Greedy one-to-one matching: each alert (in time order) takes the first free event it hits."""
    matched, used = 0, set()
    for t in sorted(times):
        for k, (s, e) in enumerate(events):
            if k not in used and s - tolerance <= t <= e + tolerance:
                used.add(k)
                matched += 1
                break
    return matched


def time_f1(tolerance: float = 2.0, time: AlertTime = "spoken") -> Scorer:
    """Alerts matched one-to-one to events within +-tolerance: precision, recall, F1.

    Events: sample.metadata["events"] ([[s, e], ...]) when given, else the alert-request windows.
    """
    @declares("time_precision", "time_recall", "time_f1")
    def score(sample: Sample, record: SampleRecord) -> Score:
        events = [(float(w[0]), float(w[1])) for w in sample.metadata.get("events", [])] or \
            [q.window for q in sample.turns if q.kind == "alert_request" and q.window]
        if not events:
            return Score(values={}, unscored="no events to match alerts to")
        times = alert_times(sample, record, time)
        matched = match_events(times, events, tolerance)
        precision = matched / len(times) if times else 0.0
        recall = matched / len(events)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return Score(values={"time_precision": precision, "time_recall": recall, "time_f1": f1},
                     explanation=f"{matched} of {len(times)} alert(s) matched {len(events)} event(s)")
    return score


def _interruption(sample: Sample, kinds: tuple[str, ...]) -> int:
    """The last turn of one of `kinds`, else the last turn."""
    for i in range(len(sample.turns) - 1, -1, -1):
        if sample.turns[i].kind in kinds:
            return i
    return len(sample.turns) - 1


def _after(record: SampleRecord, turn: int) -> list[Event]:
    """Emissions logged after the query event of `turn` (what the model said once it heard it).

    Log order, not time: a reply polled right after the query shares its time stamp.
    """
    events, seen = [], False
    for e in record.events:
        if e.kind == "query" and e.turn == turn:
            seen = True
        elif seen and e.kind == "emission":
            events.append(e)
    return events


def _said(events: list[Event]) -> str:
    return "".join(e.text or "" for e in events if not is_silent(e.text or ""))


def silence(turn: int | Literal["last"] = "last", online: OnlineAnswers = "joined") -> Scorer:
    """1 if the model said nothing in reply to `turn` ("last": the last noise/stop turn, else the last).

    Said: a non-silent emission for that turn, or an unprompted one (turn None) after the turn
    was spoken and before the next turn. A replayed OmniMMI PT prediction is one emission, so
    this is the reference's rule: silent iff "" or it begins with "<2>". `online="first"`: on a
    live stream only what was said by the last frame counts (the reference's loop has no tail).
    """
    @declares("silence")
    def score(sample: Sample, record: SampleRecord) -> Score:
        i = _interruption(sample, ("noise", "stop")) if turn == "last" else int(turn)
        nxt = next((e.t for e in record.events if e.kind == "query" and e.turn == i + 1), float("inf"))
        after = _after(record, i)
        replies = [e for e in record.emissions(i)] + [e for e in after if e.turn is None and e.t < nxt]
        if online == "first" and is_live(record):
            replies = [e for e in replies if before_loop_end(e, record)]
        said = _said(replies)
        return Score(values={"silence": float(not said)}, explanation=f"reply: {said[:80]!r}")
    return score


def _words(events: list[Event]) -> int:
    return sum(len((e.text or "").split()) for e in events if not is_silent(e.text or ""))


def _cut_at(record: SampleRecord, question: int, interruption: int) -> bool:
    """The answer was under way (not done) when `interruption` was spoken, and never went on."""
    split = next((k for k, e in enumerate(record.events) if e.kind == "query" and e.turn == interruption),
                 len(record.events))
    mine = [(k, e) for k, e in enumerate(record.events) if e.kind == "emission" and e.turn == question]
    before = [e for k, e in mine if k < split and not is_silent(e.text or "")]
    after = [e for k, e in mine if k > split and not is_silent(e.text or "")]
    return bool(before) and not any(e.done is not False for e in before) and not after


def _split_at(record: SampleRecord, turn: int) -> int:
    """Index of the query event of `turn` in the log (len(events) when it was never spoken)."""
    return next((k for k, e in enumerate(record.events) if e.kind == "query" and e.turn == turn), len(record.events))


def _under_way(record: SampleRecord, question: int, interruption: int) -> bool:
    """Streaming: the answer to `question` had started and not finished when `interruption` was spoken."""
    split = _split_at(record, interruption)
    before = [e for k, e in enumerate(record.events)
              if k < split and e.kind == "emission" and e.turn == question and not is_silent(e.text or "")]
    return bool(before) and all(e.done is False for e in before)


def _offline(record: SampleRecord) -> bool:
    return record.settings.get("protocol") == "offline"


def _names_wrong_choice(text: str, target: str, choices: list[str] | None) -> bool:
    said = f" {normalize_answer(text)} "
    return any(f" {normalize_answer(c)} " in said for c in choices or [] if normalize_answer(c) != normalize_answer(target))


def _said_before(record: SampleRecord, turn: int, interruption: int) -> str:
    split = _split_at(record, interruption)
    return "".join(e.text or "" for k, e in enumerate(record.events)
                   if k < split and e.kind == "emission" and e.turn == turn)


def noise_detection() -> Scorer:
    """Noise or a real follow-up arrives while the model answers a closed question (metadata["interruption"]).

    The first answer counts when it names the target and (noise) was not cut at the remark; for a
    follow-up, also when it was under way, cut by the follow-up, and had named no wrong choice yet.
    Noise: right when the first answer counts and the remark got no reply. Follow-up: right when
    the first answer counts and the follow-up's answer names its target. balanced_accuracy is the
    per-sample correctness (the tasks pair one sample of each class per video). Offline records
    (the remark is the last turn) use the same rule without the streaming-only parts.
    """
    @declares("noise_ignored", "noise_replied", "followup_answered", "followup_missed", "balanced_accuracy", "derailed")
    def score(sample: Sample, record: SampleRecord) -> Score:
        cls = sample.metadata.get("interruption")
        target = sample.turns[0].target
        if cls not in ("noise", "followup") or len(sample.turns) < 2 or not isinstance(target, str):
            return Score(values={}, unscored="needs a closed question and metadata interruption noise|followup")
        first, second = sample.turns[0], sample.turns[1]
        answer = record.answer(0)
        right = _matches(answer, target, first.choices)
        cut = not _offline(record) and _cut_at(record, 0, 1)
        reply = _said(record.emissions(1))
        if cls == "noise":
            counts = right and not cut
            correct = counts and not reply
            values: dict[str, float | None] = {"noise_ignored": float(correct), "noise_replied": float(bool(reply))}
        else:
            so_far = _said_before(record, 0, 1)
            going = cut and bool(so_far.strip()) and not _names_wrong_choice(so_far, target, first.choices)
            counts = right or going
            correct = counts and isinstance(second.target, str) and _matches(record.answer(1), second.target,
                                                                             second.choices)
            values = {"followup_answered": float(correct), "followup_missed": float(not reply)}
        values.update({"balanced_accuracy": float(correct), "derailed": float(not counts)})
        return Score(values=values, explanation=f"{cls}: first answer {answer[:50]!r} ({'counts' if counts else 'derailed'}); "
                                                f"reply to the second utterance {record.answer(1)[:50]!r}")
    return score


def stop_detection(max_words: int = 3) -> Scorer:
    """A true stop or a lure arrives while the model answers (metadata["interruption"]: stop | lure).

    Streaming: the answer must be under way when it comes (else never_started: a failure for both
    classes). Stop: right when at most `max_words` words follow (any turn). Lure: right when the
    answer goes on (more than `max_words` words of it after the lure, or it ends on its own with
    text after the lure). Offline (the stop or lure is the last turn): the first answer must be
    non-empty; a stop gets at most `max_words` words in reply, a lure a reply that goes on.
    """
    @declares("stopped", "words_after_stop", "continued", "false_stop", "balanced_accuracy", "never_started")
    def score(sample: Sample, record: SampleRecord) -> Score:
        cls = sample.metadata.get("interruption")
        if cls not in ("stop", "lure") or len(sample.turns) < 2:
            return Score(values={}, unscored="needs metadata interruption stop|lure and a second turn")
        if _offline(record):
            started = not is_silent(record.answer(0))
            after = _said(record.emissions(1))
            words = len(after.split())
            went_on = words > 0
        else:
            started = _under_way(record, 0, 1)
            words = _words(_after(record, 1))
            mine = [e for e in _after(record, 1) if e.turn == 0]
            own = sum(len((e.text or "").split()) for e in mine if not is_silent(e.text or ""))
            ended_on_its_own = bool(mine) and not is_silent(mine[-1].text or "") and mine[-1].done is not False
            went_on = own > max_words or (own > 0 and ended_on_its_own)
        if cls == "stop":
            correct = started and words <= max_words
            values: dict[str, float | None] = {"stopped": float(correct), "words_after_stop": float(words)}
        else:
            correct = started and went_on
            values = {"continued": float(correct), "false_stop": float(started and not went_on)}
        values.update({"balanced_accuracy": float(correct), "never_started": float(not started)})
        return Score(values=values, explanation=f"{cls}: {'under way' if started else 'not answering'} when it came; "
                                                f"{words} word(s) after it")
    return score


def _matches(prediction: str, target: str, choices: list[str] | None) -> bool:
    """The prediction equals the target, or names exactly one choice and it is the target."""
    pred, gold = normalize_answer(prediction), normalize_answer(target)
    if not choices:
        return pred == gold
    options = {normalize_answer(c) for c in choices} - {""}
    picked = {c for c in options if c == pred}
    if not picked:   # "I think it is moving left." names exactly one choice
        picked = {c for c in options if re.search(rf"\b{re.escape(c)}\b", pred)}
        # "dark red" also contains "red": the longer choice is the one named
        picked = {c for c in picked if not any(c != o and re.search(rf"\b{re.escape(c)}\b", o) for o in picked)}
    return picked == {gold}


def _closed_turns(sample: Sample) -> list[int]:
    return [i for i, q in enumerate(sample.turns) if q.kind == "question" and isinstance(q.target, str)]


def _turn_score(right: list[bool], turns: list[int]) -> Score:
    return Score(values={"accuracy": float(all(right)), "turn_accuracy": sum(right) / len(right)},
                 weights={"turn_accuracy": float(len(right))},
                 explanation=" ".join(f"turn {i}: {'right' if r else 'wrong'}" for i, r in zip(turns, right)))


def choice_match() -> Scorer:
    """Closed answers: each question's reply names exactly the target choice (or equals the target).

    accuracy: every turn right (the judge's item accuracy); turn_accuracy: share of turns right,
    weighted by the number of turns (pooled over samples).
    """
    @declares("accuracy", "turn_accuracy")
    def score(sample: Sample, record: SampleRecord) -> Score:
        turns = _closed_turns(sample)
        if not turns:
            return Score(values={}, unscored="no closed question")
        right = [_matches(record.answer(i), str(sample.turns[i].target), sample.turns[i].choices) for i in turns]
        return _turn_score(right, turns)
    return score


def exact_match(normalize: bool = True) -> Scorer:
    """The reply equals the target (normalized text unless normalize=False: then only stripped); choices ignored."""
    def same(a: str, b: str) -> bool:
        return normalize_answer(a) == normalize_answer(b) if normalize else a.strip() == b.strip()

    @declares("accuracy", "turn_accuracy")
    def score(sample: Sample, record: SampleRecord) -> Score:
        turns = _closed_turns(sample)
        if not turns:
            return Score(values={}, unscored="no closed question")
        return _turn_score([same(record.answer(i), str(sample.turns[i].target)) for i in turns], turns)
    return score


def _fmt(times: list[float]) -> str:
    return "[" + ", ".join(f"{t:g}" for t in times[:8]) + (", ..." if len(times) > 8 else "") + "]"

