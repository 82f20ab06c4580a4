"""A parser for Python/JSON literal lines (dicts, lists, strings, numbers, None, True, False).

Prediction files of other harnesses are sometimes written with `str(dict)`; reading them must
never execute anything, so this small tokenizer replaces `eval` / `ast.literal_eval`.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_DEPTH = 200          # deeper nesting is refused before Python's recursion limit is reached


_TOKEN = re.compile(r"""\s*(?:(?P<str>[rRuU]?(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"))"""
                    r"""|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"""
                    r"""|(?P<name>[A-Za-z_]\w*)|(?P<punct>[{}\[\](),:]))""")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b",
            "f": "\f", "v": "\v", "0": "\0", "\n": ""}
_JSON_ONLY = frozenset({"null", "true", "false"})
_NAMES = {"None": None, "True": True, "False": False, "null": None, "true": True, "false": False}


def _unescape(body: str) -> str:
    def one(m: re.Match) -> str:
        s = m.group(0)[1:]
        if s[0] in "xuU":
            return chr(int(s[1:], 16))
        if s[0] in "01234567" and len(s) > 1:
            return chr(int(s, 8))
        return _ESCAPES.get(s, "\\" + s)
    return re.sub(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3}|.)", one, body, flags=re.DOTALL)


def parse_literal(text: str, *, json_names: bool = True) -> Any:
    """A Python/JSON literal made of dicts, lists, tuples, strings, numbers, None, True, False.

    `json_names=False` refuses JSON's null/true/false, as Python's ast.literal_eval does."""
    tokens: list[tuple[str, str]] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"unexpected {text[pos:pos + 20]!r} at column {pos}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    if not json_names and any(kind == "name" and tok in _JSON_ONLY for kind, tok in tokens):
        raise ValueError("null, true and false are not Python names")
    value, end = _parse(tokens, 0)
    if end != len(tokens):
        raise ValueError("text after the literal")
    return value


def _number(tok: str) -> int | float:
    if not any(c in tok for c in ".eE"):
        return int(tok)          # over 4300 digits: ValueError (Python's own limit)
    value = float(tok)
    if not math.isfinite(value):
        raise ValueError(f"number {tok[:40]} is out of range")
    return value


def _parse(tokens: list[tuple[str, str]], i: int, depth: int = 0) -> tuple[Any, int]:
    if i >= len(tokens):
        raise ValueError("literal ends early")
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    kind, tok = tokens[i]
    if kind == "str":
        raw = tok[0] in "rR"
        body = tok.lstrip("rRuU")[1:-1]
        return (body if raw else _unescape(body)), i + 1
    if kind == "num":
        return _number(tok), i + 1
    if kind == "name":
        if tok not in _NAMES:
            raise ValueError(f"unknown name {tok!r}")
        return _NAMES[tok], i + 1
    closing = {"{": "}", "[": "]", "(": ")"}.get(tok)
    if closing is None:
        raise ValueError(f"unexpected {tok!r}")
    items, pairs, i = [], {}, i + 1
    while tokens[i:i + 1] != [("punct", closing)]:
        if i >= len(tokens):
            raise ValueError(f"literal ends before its {closing!r}")
        item, i = _parse(tokens, i, depth + 1)
        if tok == "{":
            if tokens[i:i + 1] != [("punct", ":")]:
                raise ValueError("expected ':' in a dict")
            pairs[item], i = _parse(tokens, i + 1, depth + 1)
        else:
            items.append(item)
        if tokens[i:i + 1] == [("punct", ",")]:
            i += 1
        elif tokens[i:i + 1] != [("punct", closing)]:
            raise ValueError(f"expected ',' or {closing!r}")
    return (pairs if tok == "{" else items), i + 1
