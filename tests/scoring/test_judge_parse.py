"""The verdict parser over real-world reply shapes: a clear yes or no is read, anything else is unscored."""

from __future__ import annotations

import pytest

from omnibench.scoring.judge import VerdictParseError, parse_verdict

UNSCORED = None

# (reply, (pred, score) or UNSCORED); the shapes are ones judges produce: bare JSON, Python dicts,
# code fences, chatter around the dict, markdown, explanations inside the verdict, hedges
REPLIES = [
    ('{"pred": "yes", "score": 5}', (True, 5)),
    ("{'pred': 'no', 'score': 1}", (False, 1)),
    ("{'pred': 'Yes', 'score': 4}", (True, 4)),
    ("{'pred': 'YES', 'score': 4}", (True, 4)),
    ("{'pred': 'No.', 'score': 0}", (False, 0)),
    ('{"pred": "**yes**", "score": 3}', (True, 3)),
    ('{"pred": true, "score": 5}', (True, 5)),
    ('{"pred": false, "score": 0}', (False, 0)),
    ("{'pred': True, 'score': 2}", (True, 2)),
    ('```json\n{"pred": "yes", "score": 4}\n```', (True, 4)),
    ("Here is my evaluation:\n{'pred': 'no', 'score': 2}\nThe prediction misses the key object.", (False, 2)),
    ('{"pred": "Yes, the prediction matches the answer.", "score": 5}', (True, 5)),
    ('{"pred": "No, it names a different person.", "score": 1}', (False, 1)),
    ('{"pred": "no - the prediction is wrong", "score": 0}', (False, 0)),
    ('{"pred": "\'yes\'", "score": "4"}', (True, 4)),
    ('{"pred": "true", "score": 3.7}', (True, 3)),
    ('{"score": 2, "pred": "false"}', (False, 2)),
    ('{"pred": " yes ", "score": 5.0}', (True, 5)),
    # not a clear verdict: unscored, never a silent no
    ('{"pred": "unknown", "score": 0}', UNSCORED),
    ('{"pred": "not sure", "score": 2}', UNSCORED),
    ('{"pred": "I do not know", "score": 0}', UNSCORED),
    ('{"pred": "maybe", "score": 3}', UNSCORED),
    ('{"pred": "none", "score": 0}', UNSCORED),
    ('{"pred": "No idea", "score": 0}', UNSCORED),
    ('{"pred": "yes/no", "score": 3}', UNSCORED),
    ('{"pred": "yes or no", "score": 3}', UNSCORED),
    ('{"pred": "Yes and no", "score": 3}', UNSCORED),
    ('{"pred": "yes, but not entirely", "score": 3}', UNSCORED),
    ('{"pred": "partially", "score": 3}', UNSCORED),
    ('{"pred": "N/A", "score": 0}', UNSCORED),
    ('{"pred": "", "score": 0}', UNSCORED),
    ('{"pred": "eyes", "score": 4}', UNSCORED),          # the reference's substring test says yes
    ('{"pred": "cannot determine", "score": 0}', UNSCORED),
    ('{"pred": "uncertain", "score": 2}', UNSCORED),
    ('{"pred": "nope", "score": 0}', UNSCORED),
    ('{"pred": 1, "score": 4}', UNSCORED),
    ('{"pred": null, "score": 4}', UNSCORED),
    ('{"pred": "yes", "score": 7}', UNSCORED),
    ('{"pred": "yes", "score": -1}', UNSCORED),
    ('{"pred": "yes", "score": "NaN"}', UNSCORED),
    ('{"pred": "yes", "score": "four"}', UNSCORED),
    ('{"pred": "yes", "score": ' + "9" * 5000 + "}", UNSCORED),    # past Python's int-string limit
    ('{"pred": "yes", "score": 1e400}', UNSCORED),
    ("{'pred': 'yes'}", UNSCORED),
    ("Yes", UNSCORED),
    ("I'm sorry, I can't help with that.", UNSCORED),
    ("", UNSCORED),
    ('{"pred": "yes", "score": [' + "[" * 50000 + "]" * 50000 + "]}", UNSCORED),
]


def test_the_table_covers_at_least_thirty_shapes():
    assert len(REPLIES) >= 30 and sum(e is UNSCORED for _, e in REPLIES) >= 15


@pytest.mark.parametrize("reply, expected", REPLIES, ids=[r[:40] for r, _ in REPLIES])
def test_reply_shape(reply, expected):
    if expected is UNSCORED:
        with pytest.raises(VerdictParseError):
            parse_verdict(reply)
    else:
        assert parse_verdict(reply) == expected


@pytest.mark.parametrize("pred", ["unknown", "not sure", "I do not know"])
def test_unclear_verdict_reason_names_the_verdict(pred):
    with pytest.raises(VerdictParseError, match="not a clear yes or no"):
        parse_verdict(f'{{"pred": "{pred}", "score": 0}}')
