"""Reading files we did not write: every malformed or unbounded input is a DataError naming file and line.

Every read is bounded: only regular files are opened (a FIFO would block forever, /dev/zero never
ends), and a file (for JSONL: a line) over the read limit is refused with the limit in the
message. The limit is $OMNIBENCH_MAX_READ_MB (default 256 MiB), which `--max-read-mb` sets for
one command.

`json.loads` alone ends a run with a traceback on a 5000-digit integer (ValueError: Exceeds the
limit), deep nesting (RecursionError), invalid UTF-8 (UnicodeDecodeError) or silently accepts
NaN/Infinity; here each becomes a one-line DataError. NUL bytes are refused too (a binary or
truncated-with-zeros file, never a text we should store).
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from omnibench.errors import DataError

MAX_DEPTH = 200                 # nesting deeper than any record we read; json's own limit is the C stack
READ_LIMIT_ENV = "OMNIBENCH_MAX_READ_MB"
DEFAULT_READ_LIMIT_MB = 256     # far above any annotation, prediction or results file we know
_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISDIR, "a directory"), (stat.S_ISSOCK, "a socket"))


def read_limit_mb() -> int:
    raw = os.environ.get(READ_LIMIT_ENV, "").strip()
    try:
        return max(1, int(raw)) if raw else DEFAULT_READ_LIMIT_MB
    except ValueError:
        return DEFAULT_READ_LIMIT_MB


def _over_limit(path: str | Path, what: str = "") -> DataError:
    return DataError(f"{what}over the {read_limit_mb()} MiB read limit; --max-read-mb N (or {READ_LIMIT_ENV}) "
                     "raises it", file=str(path))


def open_regular(path: str | Path) -> IO[bytes]:
    """The file opened for binary reading, if it is a regular file (symlinks followed); else a DataError.

    Opened non-blocking first, so a FIFO is refused at once instead of waiting for a writer."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = next((name for test, name in _KINDS if test(mode)), "not a file")
        raise DataError(f"not a regular file ({kind}): refused", file=str(path))
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_bytes(path: str | Path) -> bytes:
    """A regular file's bytes, at most the read limit (a file growing while read is caught too)."""
    limit = read_limit_mb() << 20
    with open_regular(path) as fh:
        if os.fstat(fh.fileno()).st_size > limit:
            raise _over_limit(path, f"{os.fstat(fh.fileno()).st_size / 2**20:.0f} MiB, ")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise _over_limit(path)
    return data


def iter_lines(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes with the newline) of a regular file, each line at most the read limit."""
    limit = read_limit_mb() << 20
    with open_regular(path) as fh:
        for number in range(1, 1 << 62):
            line = fh.readline(limit + 1)
            if not line:
                return
            if len(line) > limit:
                raise _over_limit(path, f"line {number}: ")
            yield number, line


def _line_of(data: bytes | str, offset: int) -> int:
    head = data[:offset]
    return (head.count(b"\n") if isinstance(head, bytes) else head.count("\n")) + 1


def read_text(path: str | Path) -> str:
    """The file as UTF-8 text (a BOM is dropped); DataError on bad encoding or NUL bytes, with the line."""
    path = Path(path)
    data = read_bytes(path)
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
