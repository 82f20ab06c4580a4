"""Chance levels: the headline a guesser gets on a task's samples, one rule per kind of scorer.

A task names the rule that fits its headline (Task.chance); `omnibench score` records the value in
each result and the board draws it on the headline column. Each rule is the expectation of a
stated guesser under that scorer (tests/scoring/test_chance.py checks every synthetic task's rule
against its own scorer, enumerating every guess):
- all_turns: closed questions, one offered choice picked uniformly at random per turn, a sample
  right when every turn is (choice_match's item accuracy): the mean over samples of the product
  of 1/len(choices) over its closed turns (0 for a turn whose target is not offered);
- per_turn: the same guesser, scored per turn and pooled over samples (the share of turns right);
- alert_window: one alert at a uniformly random time of the video, right when it falls in the
  (inclusive) target window: the share of the video the window covers;
- constant(x): x by construction (0.5 for the balanced interruption tasks, where a model that
  treats both kinds of second utterance alike gets half; and for silence, reply or not at even odds).
A rule that does not fit the samples (free-text answers, an unknown video length) gives None.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from omnibench.data.schema import Query, Sample
from omnibench.scoring.rules import normalize_answer

ChanceRule = Callable[[list[Sample]], float | None]


def _closed(sample: Sample) -> list[Query] | None:
    closed = [q for q in sample.turns if q.kind == "question" and isinstance(q.target, str)]
    return closed if closed and all(q.choices for q in closed) else None


def _guess(q: Query) -> float:
    """The chance a uniform pick among the offered choices names the target."""
    options = {normalize_answer(c) for c in q.choices or []} - {""}
    return 1 / len(options) if normalize_answer(str(q.target)) in options else 0.0


def all_turns(samples: list[Sample]) -> float | None:
    closed = [_closed(s) for s in samples]
    if not samples or any(c is None for c in closed):
        return None
    return math.fsum(math.prod(_guess(q) for q in c or []) for c in closed) / len(samples)


def per_turn(samples: list[Sample]) -> float | None:
    closed = [_closed(s) for s in samples]
    if not samples or any(c is None for c in closed):
        return None
    turns = [q for c in closed for q in c or []]
    return math.fsum(_guess(q) for q in turns) / len(turns)


def _window_share(sample: Sample) -> float | None:
    request = next((q for q in sample.turns if q.kind == "alert_request" and q.window), None)
    if request is None or sample.video.end is None:
        return None
    start, length = sample.video.start or 0.0, sample.video.end - (sample.video.start or 0.0)
    if length <= 0:
        return None
    s, e = request.window or (0.0, 0.0)
    return max(0.0, min(e - start, length) - max(s - start, 0.0)) / length


def alert_window(samples: list[Sample]) -> float | None:
    shares = [_window_share(s) for s in samples]
    if not samples or any(x is None for x in shares):
        return None
    return math.fsum(x or 0.0 for x in shares) / len(shares)


def constant(value: float) -> ChanceRule:
    def rule(samples: list[Sample]) -> float | None:
        return value
    return rule
