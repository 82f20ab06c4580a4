"""Chance levels: the headline a model gets by guessing, computed from the samples a task ran.

One rule per headline the shared scorers produce, each the expectation of a stated guesser
under that scorer (tests/scoring/test_chance.py checks each against the scorer by simulation):
- accuracy on closed questions (choice_match): the guesser names one offered choice uniformly
  at random on every turn; a sample counts when all its turns are right, so its chance is the
  product of 1/len(choices) over its closed turns (0 for a turn whose target is not offered).
- accuracy on alert requests (alert_timing): the guesser alerts once, at a uniformly random time
  of the video; chance is the share of the video the (inclusive) target window covers.
- balanced_accuracy (the interruption tasks): 0.5, what a model that treats both kinds of
  second utterance alike gets at best (each video holds one sample of each kind).
- silence: 0.5, a guesser that replies or stays silent with even odds.
Any other headline, or samples the rule does not fit (free-text answers, an unknown video
length), has no chance level: None.
"""

from __future__ import annotations

import math

from omnibench.data.schema import Sample
from omnibench.scoring.rules import normalize_answer

BY_CONSTRUCTION = {"balanced_accuracy": 0.5, "silence": 0.5}


def _choice_chance(sample: Sample) -> float | None:
    closed = [q for q in sample.turns if q.kind == "question" and isinstance(q.target, str)]
    if not closed or any(not q.choices for q in closed):
        return None
    chance = 1.0
    for q in closed:
        options = {normalize_answer(c) for c in q.choices or []} - {""}
        chance *= 1 / len(options) if normalize_answer(str(q.target)) in options else 0.0
    return chance


def _alert_chance(sample: Sample) -> float | None:
    request = next((q for q in sample.turns if q.kind == "alert_request" and q.window), None)
    if request is None or sample.video.end is None:
        return None
    start, length = sample.video.start or 0.0, sample.video.end - (sample.video.start or 0.0)
    if length <= 0:
        return None
    s, e = request.window or (0.0, 0.0)
    return max(0.0, min(e - start, length) - max(s - start, 0.0)) / length


def chance_level(headline: str, samples: list[Sample]) -> float | None:
    """The chance level of `headline` on `samples` (a fraction), or None when no rule fits all of them."""
    if headline in BY_CONSTRUCTION:
        return BY_CONSTRUCTION[headline]
    if headline != "accuracy" or not samples:
        return None
    alerts = any(q.kind == "alert_request" for q in samples[0].turns)
    levels = [(_alert_chance if alerts else _choice_chance)(s) for s in samples]
    if any(x is None for x in levels):
        return None
    return math.fsum(x for x in levels if x is not None) / len(levels)
