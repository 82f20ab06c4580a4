"""Reading JSON / JSONL files we did not write: every malformed input is a DataError naming file and line.

`json.loads` alone ends a run with a traceback on a 5000-digit integer (ValueError: Exceeds the
limit), deep nesting (RecursionError), invalid UTF-8 (UnicodeDecodeError) or silently accepts
NaN/Infinity; here each becomes a one-line DataError. NUL bytes are refused too (a binary or
truncated-with-zeros file, never a text we should store).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omnibench.errors import DataError

MAX_DEPTH = 200                 # nesting deeper than any record we read; json's own limit is the C stack


def _line_of(data: bytes | str, offset: int) -> int:
    return data[:offset].count(b"\n" if isinstance(data, bytes) else "\n") + 1


def read_text(path: str | Path) -> str:
    """The file as UTF-8 text (a BOM is dropped); DataError on bad encoding or NUL bytes, with the line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DataError(f"line {_line_of(data, nul)}: NUL byte (a binary or damaged file, not text)", file=str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"line {_line_of(data, exc.start)}: invalid UTF-8 (byte {data[exc.start]:#04x} at "
                        f"offset {exc.start})", file=str(path)) from None


def _depth_ok(text: str, limit: int) -> bool:
    """Bracket depth outside strings never exceeds `limit` (a linear scan; strings may hold brackets)."""
    depth, in_string, escaped = 0, False, False
    if text.count("[") + text.count("{") <= limit:
        return True
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def _no_constant(name: str):
    raise ValueError(f"non-finite number {name}")


def loads(text: str, *, file: str | Path | None = None, line: int | None = None,
          nonfinite: bool = False, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads, but every failure is a DataError naming file and line. NaN/Infinity are refused
    unless `nonfinite` (then the caller must check them)."""
    where = f"line {line}: " if line is not None else ""
    file = str(file) if file is not None else None
    if not _depth_ok(text, max_depth):
        raise DataError(f"{where}nested deeper than {max_depth} levels", file=file)
    try:
        return json.loads(text, parse_constant=None if nonfinite else _no_constant,
                          parse_float=None if nonfinite else _finite_float)
    except json.JSONDecodeError as exc:
        at = f"line {(line or 1) + exc.lineno - 1}, column {exc.colno}"
        raise DataError(f"{at}: not valid JSON ({exc.msg})", file=file) from None
    except RecursionError:
        raise DataError(f"{where}nested too deeply", file=file) from None
    except ValueError as exc:          # int digits limit, non-finite number
        raise DataError(f"{where}{_clip(str(exc))}", file=file) from None


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise ValueError(f"number {_clip(token, 40)} is out of range")
    return value


def load_json(path: str | Path, **kwargs) -> Any:
    """A whole JSON file."""
    return loads(read_text(path), file=path, **kwargs)


def iter_jsonl(path: str | Path, **kwargs) -> Iterator[tuple[int, Any]]:
    """(line number, value) of every non-empty line of a JSONL file."""
    for number, line in enumerate(read_text(path).splitlines(), 1):
        if line.strip():
            yield number, loads(line, file=path, line=number, **kwargs)


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
