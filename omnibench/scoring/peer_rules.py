"""Scorers of the peer benchmarks (OVO-Bench, StreamingBench): ours, and the references' rules one setting away.

Our rules read what a reply says; the references' rules are transcribed from their scorers
(OVO-Bench utils/OVOBenchScore.py, StreamingBench src/data/count.py), so their numbers come out
exactly on the same replies:

    OVO multiple choice   ours: the one option letter the reply picks   reference ("substring"): the
                          letter appears anywhere in the reply ("A" passes inside "A person ...")
    OVO REC count         ours: the reply names exactly one number, the count   reference ("digits"):
                          all digits of the reply joined equal the count ("2, no 3" reads 23)
    OVO SSR/CRR yes/no    ours: the reply's first word is yes/no   reference: the reply is exactly
                          "Y"/"N", or "Yes"/"No" appears in it ("Not yet" passes as No, "Now" too)
    StreamingBench MC     ours: the option letter the reply picks   reference ("first_char"): the
                          reply's first character is the letter
    StreamingBench unanswered   ours ("wrong"): an empty reply is wrong   reference ("drop"): it
                          leaves the denominator
Per-sample values carry weights (the number of probes or questions), so the task's pooled mean is
the reference's per-task accuracy.
"""

from __future__ import annotations

import re
from typing import Literal

from omnibench.data.schema import Sample
from omnibench.engine.eventlog import SampleRecord
from omnibench.scoring.base import Score, Scorer

ChoiceRule = Literal["ours", "substring", "first_char"]
CountRule = Literal["ours", "digits"]
YesNoRule = Literal["ours", "reference"]
Unanswered = Literal["wrong", "drop"]

_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_LEAD = re.compile(r"^[\s*_`\"'(\[]*([A-Z])(?=$|[.):\]*_`\"',;]|\s*$|\s*\n|\s+[-–—:])")
_NAMED = re.compile(r"(?i:\b(?:answer|option|choice)\b)[^A-Za-z0-9\n]{0,4}(?i:is\b)?[^A-Za-z0-9\n]{0,4}"
                    r"\(?([A-Z])(?![A-Za-z])")
_PREFIX = re.compile(r"^[A-Z]\.\s*")


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def chosen_letter(reply: str, letters: list[str], options: list[str] | None = None) -> str | None:
    """The option the reply picks, or None when it picks none or several.

    A reply that is (or contains exactly one of) the options' texts picks that option; else a
    letter standing alone at its start ("B", "B.", "(B)", "**B**") or named ("the answer is B").
    "A person with a blue shirt" is not read as letter A."""
    text = reply.strip()
    if not text:
        return None
    if options:
        said = f" {_norm(text)} "
        texts = {letters[i]: _norm(_PREFIX.sub("", o)) for i, o in enumerate(options) if i < len(letters) and o.strip()}
        exact = [k for k, v in texts.items() if v and _norm(text) == v]
        if len(exact) == 1:
            return exact[0]
        inside = [k for k, v in texts.items() if v and f" {v} " in said]
        # "dark red" also holds "red": the longest named text is the one picked
        inside = [k for k in inside if not any(k != o and texts[k] in texts[o] for o in inside)]
        if len(inside) == 1 and not _LEAD.match(text):
            return inside[0]
    for pattern in (_LEAD, _NAMED):
        found = {m.group(1) for m in pattern.finditer(text)} & set(letters)
        if len(found) == 1:
            return found.pop()
    return None


def numbers_named(reply: str) -> set[int]:
    """Every number a reply names, in digits or as a word up to twenty."""
    found = {int(d) for d in re.findall(r"\d+", reply)}
    found |= {_NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", reply.lower()) if w in _NUMBER_WORDS}
    return found


def yes_no(reply: str) -> str | None:
    """'Yes' or 'No' from the reply's first word (y/yes/n/no, any case), else None."""
    words = re.findall(r"[A-Za-z]+", reply)
    first = words[0].lower() if words else ""
    return "Yes" if first in ("yes", "y") else "No" if first in ("no", "n") else None


# -- OVO-Bench -------------------------------------------------------------------------------------

def ovo_choice_right(reply: str, target: str, n_options: int, rule: ChoiceRule, options=None) -> bool:
    if rule == "substring":               # the reference's `gt in response`
        return target in reply
    return chosen_letter(reply, [chr(65 + i) for i in range(n_options)], options) == target


def ovo_count_right(reply: str, count: str, rule: CountRule) -> bool:
    if rule == "digits":                  # the reference's "".join(re.findall(r"\d+", response)) == str(count)
        return "".join(re.findall(r"\d+", reply)) == count
    return numbers_named(reply) == {int(count)}


def ovo_yes_no_right(reply: str, target: str, rule: YesNoRule) -> bool:
    if rule == "reference":               # exact Y/N, else "Yes"/"No" as a substring
        return reply == target[0] or target in reply
    return yes_no(reply) == target


def _pooled(right: list[bool], what: str) -> Score:
    return Score(values={"accuracy": sum(right) / len(right)}, weights={"accuracy": float(len(right))},
                 explanation=f"{sum(right)}/{len(right)} {what} right")


def ovo_choice(rule: ChoiceRule = "ours") -> Scorer:
    """Backward tracing and real-time perception: 1 when the reply picks the target letter."""
    def score(sample: Sample, record: SampleRecord) -> Score:
        query = sample.turns[0]
        reply = record.answer(0)
        right = ovo_choice_right(reply, str(query.target), len(query.choices or []), rule, query.choices)
        return Score(values={"accuracy": float(right)}, explanation=f"reply {reply[:60]!r}, target {query.target}")
    return score


def ovo_forward(kind: Literal["count", "yes_no"], rule: str = "ours") -> Scorer:
    """REC (count) or SSR/CRR (yes_no): the share of probes answered right, weighted by the probes."""
    def score(sample: Sample, record: SampleRecord) -> Score:
        right = [ovo_count_right(record.answer(i), str(q.target), rule) if kind == "count"   # type: ignore[arg-type]
                 else ovo_yes_no_right(record.answer(i), str(q.target), rule)                 # type: ignore[arg-type]
                 for i, q in enumerate(sample.turns)]
        return _pooled(right, "probe(s)")
    return score


# -- StreamingBench --------------------------------------------------------------------------------

def sb_answered(reply: str, rule: ChoiceRule) -> bool:
    return reply != "" if rule == "first_char" else reply.strip() != ""


def sb_choice_right(reply: str, target: str, options: list[str], rule: ChoiceRule) -> bool:
    if rule == "first_char":              # the reference compares response[0] with the letter
        return reply[:1] == target
    from omnibench.data.streamingbench import offered_letters

    return chosen_letter(reply, offered_letters(options), options) == target


def sb_choice(rule: ChoiceRule = "ours", unanswered: Unanswered = "wrong") -> Scorer:
    """Accuracy over the sample's questions and per task type (metric: the type's snake-case name).

    unanswered="drop" (the reference): a question with an empty reply weighs nothing."""
    from omnibench.data.streamingbench import type_code

    def score(sample: Sample, record: SampleRecord) -> Score:
        types = sample.metadata.get("task_types") or ["all"] * len(sample.turns)
        tally: dict[str, list[int]] = {}
        for i, query in enumerate(sample.turns):
            reply = record.answer(i)
            if unanswered == "drop" and not sb_answered(reply, rule):
                continue
            right = int(sb_choice_right(reply, str(query.target), query.choices or [], rule))
            for key in ("accuracy", type_code(types[i])):
                tally.setdefault(key, [0, 0])
                tally[key][0] += right
                tally[key][1] += 1
        if not tally:
            return Score(values={"accuracy": None}, weights={"accuracy": 0.0},
                         explanation="no question answered (left out, as the reference does)")
        return Score(values={k: c / n for k, (c, n) in tally.items()}, weights={k: float(n) for k, (_, n) in tally.items()},
                     explanation=f"{tally['accuracy'][0]}/{tally['accuracy'][1]} right")
    return score


ProactiveTurn = Literal["first", "last"]
OutputMatch = Literal["word", "substring"]


def sb_proactive(turn: ProactiveTurn = "first", match: OutputMatch = "word", tolerance: float = 2.0) -> Scorer:
    """The model's own output for "when X happens, output Y": time right within +-tolerance of the
    ground-truth second, answer right when also Y is in what it said.

    turn="first" (ours): the first thing it said after the request; "last" (the reference): its
    last utterance, at the time it claims when it names one (replayed reference files do).
    match="word" (ours): Y as a whole word, any case; "substring" (the reference): Y anywhere, as written."""
    def score(sample: Sample, record: SampleRecord) -> Score:
        request = next((i for i, q in enumerate(sample.turns) if q.kind == "alert_request"), 0)
        asked = record.query_time(request) or 0.0
        said = [e for e in record.emissions() if e.turn in (None, request) and (e.text or "").strip()
                and e.t + 1e-9 >= asked]
        window = sample.turns[request].window
        gt = float(window[0]) if window else 0.0
        output = str(sample.metadata.get("output", ""))
        if not said:
            return Score(values={"time_accuracy": 0.0, "answer_accuracy": 0.0}, explanation="said nothing")
        if turn == "last":
            pick, text = said[-1], said[-1].text or ""
            when = pick.refers_to if pick.refers_to is not None else pick.t
        else:                              # the first utterance: its deltas up to the one that closes it
            when, parts = said[0].t, []
            for e in said:
                if e.turn != said[0].turn:
                    continue
                parts.append(e.text or "")
                if e.done is not False:
                    break
            text = "".join(parts)
        on_time = abs(when - gt) <= tolerance + 1e-9
        if match == "substring":
            found = output in text
        else:
            found = re.search(rf"(?<!\w){re.escape(_norm(output))}(?!\w)", _norm(text)) is not None
        return Score(values={"time_accuracy": float(on_time), "answer_accuracy": float(on_time and found)},
                     explanation=f"said {text[:50]!r} at {when:g}s; expected {output!r} at {gt:g}s")
    return score
