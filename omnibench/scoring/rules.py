"""Rule scorers: pure functions of (sample, event record) -> Score.

Conventions that reproduce OmniMMI's evaluate.py exactly on its own prediction files (via the
`replay` model, PA with `time="claimed"`):
- PA: alert windows are inclusive at both ends; alerts keep the order they were given (the
  reference takes preds[0] and preds[-1] without sorting); a sample with no alert counts 0 on
  every PA metric but still counts; IoU is |[first, last] ∩ window| / |hull of both|.
- PT: a reply is silent iff its text is exactly "" or begins with "<2>" (the silence token some
  streaming models print).
"""

from __future__ import annotations

import re
from typing import Literal

from omnibench.data.schema import Sample
from omnibench.engine.eventlog import Event, SampleRecord
from omnibench.scoring.base import Score, Scorer

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


def alert_times(sample: Sample, record: SampleRecord, time: AlertTime = "spoken") -> list[float]:
    """When the model alerted, in the order it did.

    An alert is an utterance, unprompted (turn None) or in reply to the alert request, that is
    not silent. A long utterance arrives as several deltas (done=False until the last): it is one
    alert, at its first delta. "claimed" takes the time the model names (refers_to), else when it spoke.
    """
    turn = _alert_turn(sample)
    out: list[float] = []
    speaking: dict[int | None, bool] = {}
    for e in record.emissions():
        if e.turn is not None and e.turn != turn:
            continue
        if is_silent(e.text or ""):
            if e.done is not False:
                speaking[e.turn] = False      # an empty closing delta ends the utterance
            continue
        starts = not speaking.get(e.turn, False)
        speaking[e.turn] = e.done is False
        if starts:
            out.append(e.refers_to if time == "claimed" and e.refers_to is not None else e.t)
    return out


def window_scores(times: list[float], window: tuple[float, float]) -> dict[str, float]:
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


def alert_timing(time: AlertTime = "spoken", tolerance: float = 0.0) -> Scorer:
    """Accuracy (first alert inside the window), precision (share inside), IoU of [first, last].

    `time="spoken"` scores when the model spoke (causal, our default); "claimed" scores the time
    the model says the event happened (Emission.refers_to), as the OmniMMI reference does.
    `tolerance` widens the window by that many seconds on each side.
    """
    def score(sample: Sample, record: SampleRecord) -> Score:
        turn = _alert_turn(sample)
        window = sample.turns[turn].window if turn is not None else None
        if window is None:
            return Score(values={}, unscored="no alert request with a [start, end] window")
        times = alert_times(sample, record, time)
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


def silence(turn: int | Literal["last"] = "last") -> Scorer:
    """1 if the model said nothing in reply to `turn` ("last": the last noise/stop turn, else the last).

    Said: a non-silent emission for that turn, or an unprompted one (turn None) after the turn
    was spoken and before the next turn. A replayed OmniMMI PT prediction is one emission, so
    this is the reference's rule: silent iff "" or it begins with "<2>".
    """
    def score(sample: Sample, record: SampleRecord) -> Score:
        i = _interruption(sample, ("noise", "stop")) if turn == "last" else int(turn)
        nxt = next((e.t for e in record.events if e.kind == "query" and e.turn == i + 1), float("inf"))
        after = _after(record, i)
        replies = [e for e in record.emissions(i)] + [e for e in after if e.turn is None and e.t < nxt]
        said = _said(replies)
        return Score(values={"silence": float(not said)}, explanation=f"reply: {said[:80]!r}")
    return score


def _words(events: list[Event]) -> int:
    return sum(len((e.text or "").split()) for e in events if not is_silent(e.text or ""))


def stop_compliance(max_words: int = 3) -> Scorer:
    """After a stop turn: words emitted (any turn); compliant if at most `max_words`."""
    def score(sample: Sample, record: SampleRecord) -> Score:
        if not any(q.kind == "stop" for q in sample.turns):
            return Score(values={}, unscored="no stop turn")
        words = _words(_after(record, _interruption(sample, ("stop",))))
        return Score(values={"compliance": float(words <= max_words), "words_after_stop": float(words)},
                     explanation=f"{words} word(s) after the stop")
    return score


def _question(sample: Sample) -> int | None:
    return next((i for i, q in enumerate(sample.turns) if q.kind == "question"), None)


def _cut_at(record: SampleRecord, question: int, interruption: int) -> bool:
    """The answer was under way (not done) when `interruption` was spoken, and never went on."""
    split = next((k for k, e in enumerate(record.events) if e.kind == "query" and e.turn == interruption),
                 len(record.events))
    mine = [(k, e) for k, e in enumerate(record.events) if e.kind == "emission" and e.turn == question]
    before = [e for k, e in mine if k < split and not is_silent(e.text or "")]
    after = [e for k, e in mine if k > split and not is_silent(e.text or "")]
    return bool(before) and not any(e.done is not False for e in before) and not after


def answer_continuity() -> Scorer:
    """A noise turn arrives while the model answers the first question: the answer goes on, the noise gets no reply.

    kept: the question got a non-silent answer that was finished before the noise, went on after
    it, or is right (choice/exact match) when the question has a closed target; no_reply: nothing
    said for the noise turn; rejected: both; false_stop: the answer was cut at the noise as if
    it had been a stop.
    """
    def score(sample: Sample, record: SampleRecord) -> Score:
        question = _question(sample)
        if question is None or not any(q.kind == "noise" for q in sample.turns):
            return Score(values={}, unscored="needs a question and a noise turn")
        noise = _interruption(sample, ("noise",))
        answer = record.answer(question)
        target = sample.turns[question].target
        right = isinstance(target, str) and _matches(answer, target, sample.turns[question].choices)
        cut = _cut_at(record, question, noise)
        kept = not is_silent(answer) and (not cut or right)
        no_reply = not _said(record.emissions(noise))
        return Score(values={"kept": float(kept), "no_reply": float(no_reply), "rejected": float(kept and no_reply),
                             "false_stop": float(cut)},
                     explanation=f"answer: {answer[:60]!r}; to noise: {record.answer(noise)[:60]!r}")
    return score


def false_stop(min_words: int | None = None) -> Scorer:
    """Samples without a stop turn: 1 if an answer stopped short although nobody said stop.

    Short: cut while under way when a noise turn arrived, or (with `min_words`, or the sample's
    metadata "min_words") fewer words than that in a finished answer.
    """
    def score(sample: Sample, record: SampleRecord) -> Score:
        if any(q.kind == "stop" for q in sample.turns):
            return Score(values={}, unscored="has a stop turn")
        questions = [i for i, q in enumerate(sample.turns) if q.kind == "question"]
        noises = [i for i, q in enumerate(sample.turns) if q.kind == "noise"]
        floor = sample.metadata.get("min_words", min_words)
        short = []
        for i in questions:
            cut = any(_cut_at(record, i, n) for n in noises if n > i)
            few = floor is not None and len(_said(record.emissions(i)).split()) < int(floor)
            if cut or few:
                short.append(i)
        return Score(values={"false_stop": float(bool(short))},
                     explanation=f"turn(s) {short} stopped short" if short else "no answer stopped short")
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
    def score(sample: Sample, record: SampleRecord) -> Score:
        turns = _closed_turns(sample)
        if not turns:
            return Score(values={}, unscored="no closed question")
        right = [_matches(record.answer(i), sample.turns[i].target, sample.turns[i].choices) for i in turns]
        return _turn_score(right, turns)
    return score


def exact_match(normalize: bool = True) -> Scorer:
    """The reply equals the target (normalized text unless normalize=False: then only stripped); choices ignored."""
    def same(a: str, b: str) -> bool:
        return normalize_answer(a) == normalize_answer(b) if normalize else a.strip() == b.strip()

    def score(sample: Sample, record: SampleRecord) -> Score:
        turns = _closed_turns(sample)
        if not turns:
            return Score(values={}, unscored="no closed question")
        return _turn_score([same(record.answer(i), sample.turns[i].target) for i in turns], turns)
    return score


def _fmt(times: list[float]) -> str:
    return "[" + ", ".join(f"{t:g}" for t in times[:8]) + (", ..." if len(times) > 8 else "") + "]"


noise_rejection = answer_continuity   # the task's name for the same measurement
