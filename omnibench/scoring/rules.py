"""Rule scorers: pure functions of (sample, event record) -> Score.

Conventions that reproduce OmniMMI's evaluate.py exactly on its own prediction files (via the
`replay` model): alert windows are inclusive; a sample with no alert counts 0 on every PA
metric but still counts; IoU is |[first, last] ∩ window| / |hull of both|; a reply is silent
iff its text is exactly "" or begins with "<2>" (the silence token some streaming models print).
"""

from __future__ import annotations

import re
from typing import Literal

from omnibench.data.schema import Sample
from omnibench.engine.eventlog import Event, SampleRecord
from omnibench.scoring.base import Score, Scorer

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = re.compile(r"[^\w\s]")


def is_silent(text: str) -> bool:
    return text == "" or text.startswith("<2>")


def normalize(text: str) -> str:
    text = _PUNCT.sub(" ", text.lower())
    return " ".join(_ARTICLES.sub(" ", text).split())


def _alert_turn(sample: Sample) -> int:
    for i, q in enumerate(sample.turns):
        if q.kind == "alert_request":
            return i
    raise ValueError(f"sample {sample.id} has no alert_request turn")


def alert_times(sample: Sample, record: SampleRecord, time: Literal["spoken", "claimed"] = "spoken") -> list[float]:
    """When the model alerted: unprompted emissions and replies to the alert request, in order."""
    turn = _alert_turn(sample)
    out = []
    for e in record.emissions():
        if (e.turn is None or e.turn == turn) and not is_silent(e.text or ""):
            out.append(e.refers_to if time == "claimed" and e.refers_to is not None else e.t)
    return out


def window_scores(times: list[float], window: tuple[float, float]) -> dict[str, float]:
    """OmniMMI's PA metrics for one sample."""
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


def alert_timing(time: Literal["spoken", "claimed"] = "spoken", tolerance: float = 0.0) -> Scorer:
    """Accuracy (first alert inside the window), precision (share inside), IoU of [first, last].

    `time="spoken"` scores when the model spoke (causal, our default); "claimed" scores the time
    the model says the event happened (Emission.refers_to), as the OmniMMI reference does.
    """
    def score(sample: Sample, record: SampleRecord) -> Score:
        window = sample.turns[_alert_turn(sample)].window
        times = alert_times(sample, record, time)
        values = window_scores(times, (window[0] - tolerance, window[1] + tolerance))
        return Score(values=values, explanation=f"{len(times)} alert(s) at {_fmt(times)} for window {list(window)}")
    return score


def time_f1(tolerance: float = 2.0, time: Literal["spoken", "claimed"] = "spoken") -> Scorer:
    """Greedy one-to-one matching of alerts to events within +-tolerance: precision, recall, F1."""
    def score(sample: Sample, record: SampleRecord) -> Score:
        events = [tuple(w) for w in sample.metadata.get("events", [])] or \
            [q.window for q in sample.turns if q.kind == "alert_request" and q.window]
        times = sorted(alert_times(sample, record, time))
        matched, used = 0, set()
        for t in times:
            for k, (s, e) in enumerate(events):
                if k not in used and s - tolerance <= t <= e + tolerance:
                    used.add(k)
                    matched += 1
                    break
        precision = matched / len(times) if times else 0.0
        recall = matched / len(events) if events else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return Score(values={"time_precision": precision, "time_recall": recall, "time_f1": f1})
    return score


def _interruption(sample: Sample, kinds: tuple[str, ...]) -> int:
    for i in range(len(sample.turns) - 1, -1, -1):
        if sample.turns[i].kind in kinds:
            return i
    return len(sample.turns) - 1


def silence() -> Scorer:
    """1 if the model did not reply to the final noise/stop turn (unprompted alerts are not replies)."""
    def score(sample: Sample, record: SampleRecord) -> Score:
        turn = _interruption(sample, ("noise", "stop"))
        reply = record.answer(turn)
        return Score(values={"silence": float(is_silent(reply))}, explanation=f"reply: {reply[:80]!r}")
    return score


def _after(record: SampleRecord, turn: int) -> list[Event]:
    """Emissions logged after the query event of `turn` (what the model said once it heard it)."""
    events, seen = [], False
    for e in record.events:
        if e.kind == "query" and e.turn == turn:
            seen = True
        elif seen and e.kind == "emission":
            events.append(e)
    return events


def _words(events: list[Event]) -> int:
    return sum(len((e.text or "").split()) for e in events if not (e.text or "").startswith("<2>"))


def stop_compliance(max_words: int = 3) -> Scorer:
    """After a stop turn: words emitted (any turn); compliant if at most `max_words`."""
    def score(sample: Sample, record: SampleRecord) -> Score:
        turn = _interruption(sample, ("stop",))
        words = _words(_after(record, turn))
        return Score(values={"compliance": float(words <= max_words), "words_after_stop": float(words)},
                     explanation=f"{words} word(s) after the stop")
    return score


def answer_continuity() -> Scorer:
    """A noise turn arrives while the model answers turn 0: the answer goes on, the noise gets no reply.

    kept: the question got a non-silent answer, and if it was still being spoken when the noise
    arrived it continued afterwards; no_reply: nothing said in reply to the noise; rejected: both;
    false_stop: the answer was cut off at the noise as if it had been a stop.
    """
    def score(sample: Sample, record: SampleRecord) -> Score:
        noise = _interruption(sample, ("noise",))
        question = next(i for i, q in enumerate(sample.turns) if q.kind == "question")
        split = next((k for k, e in enumerate(record.events) if e.kind == "query" and e.turn == noise),
                     len(record.events))
        mine = [(k, e) for k, e in enumerate(record.events) if e.kind == "emission" and e.turn == question]
        before = [e for k, e in mine if k < split]
        after = [e for k, e in mine if k > split]
        finished_before = any(e.done for e in before)
        answered = not is_silent(record.answer(question))
        cut = answered and not finished_before and not after
        kept = answered and (finished_before or bool(after))
        no_reply = is_silent(record.answer(noise))
        return Score(values={"kept": float(kept), "no_reply": float(no_reply), "rejected": float(kept and no_reply),
                             "false_stop": float(cut)},
                     explanation=f"answer: {record.answer(question)[:60]!r}; to noise: {record.answer(noise)[:60]!r}")
    return score


def _matches(prediction: str, target: str, choices: list[str] | None) -> bool:
    pred, gold = normalize(prediction), normalize(target)
    if not choices:
        return pred == gold
    picked = {normalize(c) for c in choices if normalize(c) == pred}
    if not picked:   # "I think it is moving left." names exactly one choice
        picked = {normalize(c) for c in choices if re.search(rf"\b{re.escape(normalize(c))}\b", pred)}
        longest = max(picked, key=len, default=None)
        picked = {c for c in picked if not (longest and c != longest and c in longest)}
    return picked == {gold}


def choice_match() -> Scorer:
    """Closed answers: each question turn's reply names exactly the target choice (or equals the target)."""
    def score(sample: Sample, record: SampleRecord) -> Score:
        turns = [i for i, q in enumerate(sample.turns) if q.kind == "question" and isinstance(q.target, str)]
        right = [_matches(record.answer(i), sample.turns[i].target, sample.turns[i].choices) for i in turns]
        if not turns:
            return Score(values={}, unscored="no closed question")
        return Score(values={"accuracy": float(all(right)), "turn_accuracy": sum(right) / len(right)},
                     weights={"turn_accuracy": float(len(right))},
                     explanation=" ".join(f"turn {i}: {'right' if r else 'wrong'}" for i, r in zip(turns, right)))
    return score


def exact_match() -> Scorer:
    """Normalized string equality with the target, ignoring any choices."""
    def score(sample: Sample, record: SampleRecord) -> Score:
        turns = [i for i, q in enumerate(sample.turns) if isinstance(q.target, str)]
        right = [normalize(record.answer(i)) == normalize(sample.turns[i].target) for i in turns]
        return Score(values={"exact": float(all(right)) if turns else None})
    return score


def _fmt(times: list[float]) -> str:
    return "[" + ", ".join(f"{t:g}" for t in times[:8]) + (", ..." if len(times) > 8 else "") + "]"
