"""Read a judge reply into (pred, score) without ever evaluating it.

The reference runs `ast.literal_eval` on the reply and crashes (or drops the turn) on anything
else. We accept: JSON, a Python-style dict literal (single quotes, True/False), either inside a
code fence or surrounded by chatter. Only the 'pred' and 'score' keys are read, by a small
tokenizer over the first {...} block; nothing is executed.

Conventions kept from the reference:
- pred: the reference tests `"yes" in pred.lower()`, which scores "unknown", "none" or "I do not
  know" as no. We accept only an unambiguous yes or no: a JSON boolean, or a text whose first word
  is yes/true (or no/false), in any case, quoted or in markdown, optionally followed by an
  explanation that neither names the other answer nor hedges ("Yes, it matches." is yes; "No
  idea", "yes and no", "yes, but not fully" are not). Anything else is a parse failure (unscored).
- score goes through int() as the reference's `int(score)` does: 4.8 -> 4, "3" -> 3.
  A score outside 0..5 is a parse failure.
"""

from __future__ import annotations

import json
import math
import re


class VerdictParseError(ValueError):
    """The reply is not a usable verdict; the message says why (shown as the unscored reason)."""


_BLOCK = re.compile(r"\{[^{}]*\}", re.DOTALL)
# 'key' : value, where value is a quoted string, a number or a bare word (True, yes, null)
_PAIR = re.compile(
    r"""(?P<q>['"]?)(?P<key>pred|score)(?P=q)\s*:\s*"""
    r"""(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>(?:[^'\\]|\\.)*)'|(?P<bare>[-+]?[\w.]+))""",
    re.IGNORECASE,
)


def parse_verdict(text: str | None) -> tuple[bool, int]:
    """(pred, score) from a judge reply, or VerdictParseError with the reason."""
    if text is None or not text.strip():
        raise VerdictParseError("empty judge reply")
    fields = _fields(text)
    if "pred" not in fields:
        raise VerdictParseError(f"no 'pred' in judge reply {_clip(text)!r}")
    if "score" not in fields:
        raise VerdictParseError(f"no 'score' in judge reply {_clip(text)!r}")
    return _pred(fields["pred"], text), _score(fields["score"], text)


def _fields(text: str) -> dict[str, object]:
    blocks = _BLOCK.findall(text) or [text]
    for block in blocks:
        try:
            data = json.loads(block)
        except (ValueError, RecursionError):     # also a 5000-digit number or [[[...]]] nesting
            data = None
        if isinstance(data, dict):
            found = {k.lower(): v for k, v in data.items() if isinstance(k, str) and k.lower() in ("pred", "score")}
        else:
            found = {}
            for m in _PAIR.finditer(block):
                value = next(v for v in (m.group("dq"), m.group("sq"), m.group("bare")) if v is not None)
                found.setdefault(m.group("key").lower(), value)
        if found:
            return found
    return {}


_YES, _NO = frozenset({"yes", "true"}), frozenset({"no", "false"})
# words after a leading yes/no that make the verdict unclear ("no idea", "yes, but not really")
_HEDGES = frozenset({"idea", "clue", "sure", "know", "knows", "certain", "unsure", "uncertain", "unclear",
                     "unknown", "maybe", "perhaps", "partially", "partly", "somewhat", "possibly", "or"})
_NEGATIONS = frozenset({"not", "isn", "doesn", "don", "didn", "wasn", "aren", "never", "incorrect",
                        "wrong", "nor", "but", "however", "although", "though", "except"})


def _pred(value: object, text: str) -> bool:
    if isinstance(value, bool):
        return value
    words = re.findall(r"[a-z]+", str(value).lower())
    rest = set(words[1:])
    if words and words[0] in _YES and not rest & (_NO | _HEDGES | _NEGATIONS):
        return True
    if words and words[0] in _NO and not rest & (_YES | _HEDGES):
        return False
    raise VerdictParseError(f"'pred' {_clip(str(value), 40)!r} is not a clear yes or no in judge reply "
                            f"{_clip(text)!r}")


def _score(value: object, text: str) -> int:
    if isinstance(value, bool):
        raise VerdictParseError(f"'score' is a boolean in judge reply {_clip(text)!r}")
    try:
        number = float(value) if not isinstance(value, (int, float)) else value
    except (TypeError, ValueError, OverflowError):
        raise VerdictParseError(f"'score' is not a number in judge reply {_clip(text)!r}") from None
    if not math.isfinite(number):
        raise VerdictParseError(f"'score' is not finite in judge reply {_clip(text)!r}")
    score = int(number)  # truncation, as the reference's int(score)
    if not 0 <= score <= 5:
        raise VerdictParseError(f"'score' {score} is outside 0..5 in judge reply {_clip(text)!r}")
    return score


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
