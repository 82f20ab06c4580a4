"""Read a judge reply into (pred, score) without ever evaluating it. Two modes.

`strict` (ours, the default): JSON or a Python-style dict literal, bare, in a code fence or amid
chatter. The verdict is the last well-formed object holding 'pred' and 'score' (a format example
before it is not the verdict), or the first one after the last verdict marker ("verdict:",
"final answer:", ...), so an example written after the verdict is not taken either. Keys are read
in any case, but two spellings that disagree ({"pred": "no", "Pred": "yes"}) are a failure.
- pred: only an unambiguous yes or no: a JSON boolean, or a text whose first word is yes/true (or
  no/false), quoted or in markdown, optionally followed by an explanation that neither names the
  other answer nor hedges ("Yes, it matches." is yes; "No idea", "yes and no", "yes, but not
  fully", "yes?" are not). The reference's `"yes" in pred.lower()` would score "eyes" as yes.
- score: a number in 0..5 (checked before truncation: -0.5 and 5.5 fail), truncated by int() as
  the reference's `int(score)` does: 4.8 -> 4, "3" -> 3.
Anything else is a VerdictParseError: the client asks again, then records the turn unscored.

`reference` (`--reference omnimmi`): what OmniMMI's evaluate.py makes of a reply. It runs
`ast.literal_eval` on the whole reply, so only a reply that is exactly one Python literal is read
(no chatter, no code fence, no JSON `true`); yes iff "yes" is in pred.lower() (hedged replies
count); score is int(score) with no range. We read the literal with omnibench.literal's parser
(Python names only, nothing executed); where the reference would crash (pred not a string,
int() failing) the turn is unscored.
"""

from __future__ import annotations

import json
import math
import re
from typing import Literal

from omnibench.literal import parse_literal

ParseMode = Literal["strict", "reference"]
PARSE_MODES = ("strict", "reference")


class VerdictParseError(ValueError):
    """The reply is not a usable verdict; the message says why (shown as the unscored reason)."""


_BLOCK = re.compile(r"\{[^{}]*\}", re.DOTALL)
# 'key' : value, where value is a quoted string, a number or a bare word (True, yes, null)
_PAIR = re.compile(
    r"""(?P<q>['"]?)(?P<key>pred|score)(?P=q)\s*:\s*"""
    r"""(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>(?:[^'\\]|\\.)*)'|(?P<bare>[-+]?[\w.]+))""",
    re.IGNORECASE,
)
# what a judge writes just before its real verdict
_MARKER = re.compile(r"\b(?:verdict|final\s+(?:answer|evaluation|assessment|score)|my\s+(?:evaluation|assessment|answer)"
                     r"|evaluation|assessment)\b[^{}\n]{0,20}[:=\-]", re.IGNORECASE)
_MAX_REPLY = 20_000         # longer replies are not verdicts (and not worth tokenizing)


def parse_verdict(text: str | None, mode: ParseMode = "strict") -> tuple[bool, int]:
    """(pred, score) from a judge reply, or VerdictParseError with the reason."""
    if mode not in PARSE_MODES:
        raise ValueError(f"judge reply parsing must be strict or reference, not {mode!r}")
    if text is None or not text.strip():
        raise VerdictParseError("empty judge reply")
    if len(text) > _MAX_REPLY:
        raise VerdictParseError(f"judge reply of {len(text)} characters is not a verdict")
    return _reference(text) if mode == "reference" else _strict(text)


# --- strict ------------------------------------------------------------------------------------
def _strict(text: str) -> tuple[bool, int]:
    fields = _verdict_fields(text)
    if "pred" not in fields:
        raise VerdictParseError(f"no 'pred' in judge reply {_clip(text)!r}")
    if "score" not in fields:
        raise VerdictParseError(f"no 'score' in judge reply {_clip(text)!r}")
    return _pred(fields["pred"], text), _score(fields["score"], text)


def _verdict_fields(text: str) -> dict[str, object]:
    """The fields of the verdict object: the first complete one after the last marker, else the last."""
    found: list[tuple[int, dict[str, object]]] = []
    for match in _BLOCK.finditer(text):
        fields = _fields(match.group(0), text)
        if fields:
            found.append((match.start(), fields))
    if not found:
        return _fields(text, text) if "{" not in text else {}
    complete = [(at, f) for at, f in found if "pred" in f and "score" in f] or found
    markers = [m.end() for m in _MARKER.finditer(text)]
    after = [(at, f) for at, f in complete if markers and at >= markers[-1]]
    return after[0][1] if after else complete[-1][1]


def _fields(block: str, text: str) -> dict[str, object]:
    """'pred' and 'score' of one {...} block (keys in any case; disagreeing spellings fail)."""
    try:
        data = json.loads(block)
    except (ValueError, RecursionError):     # also a 5000-digit number or [[[...]]] nesting
        data = None
    if data is None:
        try:
            data = parse_literal(block)
        except (ValueError, TypeError, RecursionError):
            data = None
    pairs: list[tuple[str, object]]
    if isinstance(data, dict):
        pairs = [(k, v) for k, v in data.items() if isinstance(k, str)]
    else:                                    # not a literal: read the key: value pairs one by one
        pairs = [(m.group("key"), next(v for v in (m.group("dq"), m.group("sq"), m.group("bare")) if v is not None))
                 for m in _PAIR.finditer(block)]
    found: dict[str, object] = {}
    for key, value in pairs:
        name = key.lower()
        if name not in ("pred", "score"):
            continue
        if name in found and found[name] != value:
            raise VerdictParseError(f"the judge reply gives '{name}' twice, differently: {_clip(text)!r}")
        found[name] = value
    return found


_YES, _NO = frozenset({"yes", "true"}), frozenset({"no", "false"})
# words after a leading yes/no that make the verdict unclear ("no idea", "yes, but not really")
_HEDGES = frozenset({"idea", "clue", "sure", "know", "knows", "certain", "unsure", "uncertain", "unclear",
                     "unknown", "maybe", "perhaps", "partially", "partly", "somewhat", "possibly", "or"})
_NEGATIONS = frozenset({"not", "isn", "doesn", "don", "didn", "wasn", "aren", "never", "incorrect",
                        "wrong", "nor", "but", "however", "although", "though", "except"})


def _pred(value: object, text: str) -> bool:
    if isinstance(value, bool):
        return value
    said = str(value)
    words = re.findall(r"[a-z]+", said.lower())
    rest = set(words[1:])
    if "?" not in said:                      # "yes?" asks, it does not answer
        if words and words[0] in _YES and not rest & (_NO | _HEDGES | _NEGATIONS):
            return True
        if words and words[0] in _NO and not rest & (_YES | _HEDGES):
            return False
    raise VerdictParseError(f"'pred' {_clip(said, 40)!r} is not a clear yes or no in judge reply "
                            f"{_clip(text)!r}")


def _score(value: object, text: str) -> int:
    if isinstance(value, bool):
        raise VerdictParseError(f"'score' is a boolean in judge reply {_clip(text)!r}")
    try:
        number = value if isinstance(value, (int, float)) else float(str(value))
    except (TypeError, ValueError, OverflowError):
        raise VerdictParseError(f"'score' is not a number in judge reply {_clip(text)!r}") from None
    if not math.isfinite(number) or not 0 <= number <= 5:
        raise VerdictParseError(f"'score' {_clip(str(value), 20)} is outside 0..5 in judge reply {_clip(text)!r}")
    return int(number)  # truncation, as the reference's int(score)


# --- reference ---------------------------------------------------------------------------------
def _reference(text: str) -> tuple[bool, int]:
    """evaluate.py's reading: literal_eval(reply)['pred'] / ['score'], "yes" in pred.lower(), int(score)."""
    body = text.lstrip(" \t")
    first = next((line for line in body.splitlines() if line.strip()), "")
    try:
        if first[:1] in (" ", "\t"):        # literal_eval compiles the reply: an indented first line fails
            raise ValueError("unexpected indent")
        data = parse_literal(body, json_names=False)
    except (ValueError, TypeError, RecursionError) as exc:
        raise VerdictParseError(f"judge reply is not a Python literal ({exc}), which the reference's "
                                f"literal_eval needs: {_clip(text)!r}") from None
    if not isinstance(data, dict) or "pred" not in data or "score" not in data:
        raise VerdictParseError(f"judge reply is not a dict with 'pred' and 'score': {_clip(text)!r}")
    pred, score = data["pred"], data["score"]
    if not isinstance(pred, str):
        raise VerdictParseError(f"'pred' is a {type(pred).__name__}, not a string: {_clip(text)!r}")
    return "yes" in pred.lower(), _int_like_python(score, text)


def _int_like_python(value: object, text: str) -> int:
    """int(value) as Python computes it for the literals a reply can hold, or VerdictParseError."""
    try:
        if isinstance(value, (bool, int, float)):
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+(?:_\d+)*\s*", value):
            return int(value)
    except (ValueError, OverflowError):
        pass
    raise VerdictParseError(f"'score' {_clip(str(value), 20)!r} fails int() in judge reply {_clip(text)!r}")


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
