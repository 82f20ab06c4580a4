"""Each judge reply shape of issue 32 in both modes: strict (ours: unfooled, or unscored) and
reference (what OmniMMI's evaluate.py makes of the reply: `ast.literal_eval` of the whole reply,
yes iff "yes" in pred.lower(), score int(score); anything it cannot read is unscored here)."""

from __future__ import annotations

import ast

import pytest

from omnibench.scoring.judge import VerdictParseError, parse_verdict

UNSCORED = None

# (reply, strict verdict, reference verdict)
SHAPES = [
    ("Format example: {'pred': 'no', 'score': 1}. My verdict: {'pred': 'yes', 'score': 5}", (True, 5), UNSCORED),
    ("{'pred': 'yes', 'score': 4} is what a match looks like; here: {'pred': 'no', 'score': 1}", (False, 1), UNSCORED),
    ("Verdict: {'pred': 'no', 'score': 2}\nFor reference the format is {'pred': 'yes', 'score': 5}", (False, 2),
     UNSCORED),
    ('{"pred": "no", "Pred": "yes", "score": 2}', UNSCORED, (False, 2)),
    ('{"pred": "yes", "PRED": "yes", "score": 4}', (True, 4), (True, 4)),      # agreeing duplicates are fine
    ('{"pred": "yes", "score": 3, "Score": 1}', UNSCORED, (True, 3)),
    ("{'pred': 'yes?', 'score': 3}", UNSCORED, (True, 3)),
    ("{'pred': 'Yes?', 'score': 3}", UNSCORED, (True, 3)),
    ("{'pred': 'yes', 'score': -0.5}", UNSCORED, (True, 0)),                  # int(-0.5) == 0
    ("{'pred': 'yes', 'score': 5.5}", UNSCORED, (True, 5)),
    ("{'pred': 'yes', 'score': 7}", UNSCORED, (True, 7)),                     # the reference has no range
    ("{'pred': 'yes, but not entirely', 'score': 3}", UNSCORED, (True, 3)),   # hedged: scored by the reference
    ("{'pred': 'unknown', 'score': 0}", UNSCORED, (False, 0)),
    ("{'pred': 'eyes', 'score': 4}", UNSCORED, (True, 4)),
    ("```python\n{'pred': 'no', 'score': 2}\n```", (False, 2), UNSCORED),
    ('{"pred": true, "score": 5}', (True, 5), UNSCORED),                      # `true` is not a Python name
    ("{'pred': True, 'score': 5}", (True, 5), UNSCORED),                      # True.lower() fails there
    ("{'pred': 'yes', 'score': '4.8'}", (True, 4), UNSCORED),                 # int('4.8') fails there
    ("{'pred': 'yes', 'score': '3'}", (True, 3), (True, 3)),
    ("{'pred': 'Yes', 'score': 4.8}", (True, 4), (True, 4)),
    ("\n{'pred': 'no', 'score': 1}\n", (False, 1), (False, 1)),
    ("\n {'pred': 'no', 'score': 1}\n", (False, 1), UNSCORED),             # literal_eval: unexpected indent
    ("{'pred': 'yes', 'score': 4}.", (True, 4), UNSCORED),
    ("{'pred': 'yes'}", UNSCORED, UNSCORED),
    ("yes?", UNSCORED, UNSCORED),
    ("Yes", UNSCORED, UNSCORED),
    ("", UNSCORED, UNSCORED),
    ("{'pred': 'yes', 'score': 4, 'extra': [" + "[" * 5000 + "]" * 5000 + "]}", (True, 4), UNSCORED),
]


def _outcome(reply: str, mode: str):
    try:
        return parse_verdict(reply, mode=mode)
    except VerdictParseError:
        return UNSCORED


@pytest.mark.parametrize("reply, strict, _", SHAPES, ids=[s[0][:40] for s in SHAPES])
def test_strict_mode(reply, strict, _):
    assert _outcome(reply, "strict") == strict


@pytest.mark.parametrize("reply, _, reference", SHAPES, ids=[s[0][:40] for s in SHAPES])
def test_reference_mode(reply, _, reference):
    assert _outcome(reply, "reference") == reference


def _evaluate_py(reply: str):
    """The reference's own reading (evaluations/evaluate.py: `openai_eval`'s literal_eval, then the
    aggregation's `"yes" in pred.lower()` and `int(score)`); a failure anywhere is None. Only our
    own table's replies go through literal_eval here, in a test."""
    try:
        data = ast.literal_eval(reply)
        return "yes" in data["pred"].lower(), int(data["score"])
    except Exception:
        return None


@pytest.mark.parametrize("reply", [s[0] for s in SHAPES[:-1]], ids=[s[0][:40] for s in SHAPES[:-1]])
def test_reference_mode_reads_every_shape_as_evaluate_py_does(reply):
    assert _outcome(reply, "reference") == _evaluate_py(reply)


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="strict or reference"):
        parse_verdict("{'pred': 'yes', 'score': 4}", mode="lenient")
