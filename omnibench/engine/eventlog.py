"""Append-only JSONL event logs: one record per finished sample, flushed and fsync'd."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from omnibench.errors import DataError

EventKind = Literal["frame", "query", "emission", "error"]


class Event(BaseModel):
    """One thing that happened on the stream clock."""

    kind: EventKind
    t: float                                 # stream seconds
    compute_s: float = 0.0                   # wall seconds the model call took
    turn: int | None = None
    text: str | None = None
    done: bool | None = None
    refers_to: float | None = None
    data: dict[str, Any] | None = None       # adapter extras (token usage, probabilities)


class Attempt(BaseModel):
    """An earlier failed attempt at a sample (kept in the record that retried it)."""

    error: str
    ended_at: float | None = None
    compute_s: float = 0.0


class SampleRecord(BaseModel):
    """Everything a run knows about one sample; scoring reads only these."""

    sample_id: str
    sample_hash: str | None = None           # rundir.sample_hash of the sample answered
    run_id: str | None = None                # RunSpec.run_id(task) of the run that wrote it
    ended_at: float | None = None            # time.time() when written (for people; never for order)
    run_seq: int | None = None               # which run of the directory wrote it: 1 + the highest before
    seq: int | None = None                   # order within that run (a counter shared by its ranks)
    history: list[Attempt] = Field(default_factory=list)   # earlier failed attempts, oldest first
    task: str
    model: str
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    events: list[Event] = Field(default_factory=list)
    stream_s: float = 0.0
    compute_s: float = 0.0
    settings: dict[str, Any] = Field(default_factory=dict)
    video_issues: list[str] | None = None    # damage met reading the video (decode errors, frozen stretches)

    def emissions(self, turn: int | None | Literal["any"] = "any") -> list[Event]:
        return [e for e in self.events if e.kind == "emission" and (turn == "any" or e.turn == turn)]

    def answer(self, turn: int) -> str:
        """The full text the model said in answer to `turn` (deltas joined)."""
        return "".join(e.text or "" for e in self.emissions(turn))

    def query_time(self, turn: int) -> float | None:
        for e in self.events:
            if e.kind == "query" and e.turn == turn:
                return e.t
        return None


_parsed: dict[tuple, tuple[SampleRecord, ...]] = {}    # EventLog.records, by file version
_MEMO_FILES, _MEMO_MAX_BYTES = 512, 64 << 20


class EventLog:
    """One JSONL file of SampleRecords. Appends are atomic per line; a torn last line is ignored."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def append(self, record: SampleRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        from omnibench.sanitize import dump_json

        line = dump_json(record, exclude_none=True) + "\n"   # invalid Unicode and secrets never reach disk
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def records(self) -> Iterator[SampleRecord]:
        """Finished records; a partial last line (a killed writer) is skipped, a bad middle line raises.

        Read line by line from a regular file only, each line bounded (omnibench.safejson.iter_lines).
        A file version is parsed once a process (resume, scoring and the report each read every log):
        the records are shared, so readers treat them as read-only."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return
        key = (str(self.path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        parsed = _parsed.get(key)
        if parsed is None:
            parsed = tuple(self._parse())
            if st.st_size <= _MEMO_MAX_BYTES:
                while len(_parsed) >= _MEMO_FILES:
                    _parsed.pop(next(iter(_parsed)))
                _parsed[key] = parsed
        yield from parsed

    def _parse(self) -> Iterator[SampleRecord]:
        from omnibench.safejson import iter_lines, loads

        for number, raw in iter_lines(self.path):
            if not raw.strip():
                continue
            torn = not raw.endswith(b"\n")     # no newline: the write never finished (only the last line)
            try:     # safejson: a number no float holds (1e999, 10**400) is a DataError naming file and line
                yield SampleRecord.model_validate(loads(raw.decode("utf-8"), file=self.path, line=number))
            except (UnicodeDecodeError, DataError, ValidationError) as exc:
                if torn:
                    return
                if isinstance(exc, DataError):
                    raise
                raise DataError(f"line {number}: unreadable event record: {exc}", file=str(self.path)) from exc

    def finished_ids(self) -> set[str]:
        return {r.sample_id for r in self.records()}

    def latest(self) -> dict[str, SampleRecord]:
        return latest_records(self.records())


    def repair(self) -> None:
        """Drop a torn last line so the next append starts on a fresh line (reads only the file's tail)."""
        from omnibench.safejson import open_regular

        if not self.path.exists():
            return
        with open_regular(self.path) as fh:
            end = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, end - 1))
            if end == 0 or fh.read(1) == b"\n":
                return
            cut, high = 0, end
            while high > 0 and not cut:
                low = max(0, high - (1 << 16))
                fh.seek(low)
                at = fh.read(high - low).rfind(b"\n")
                cut, high = (low + at + 1 if at >= 0 else 0), low
        with open(self.path, "r+b") as fh:
            fh.truncate(cut)
            fh.flush()
            os.fsync(fh.fileno())


def record_order(record: SampleRecord) -> tuple[int, int, float]:
    """Later runs first, then the run's own sequence; clocks only for records older than both
    (hosts' clocks disagree, so a retry on a host whose clock is behind must still win)."""
    return record.run_seq or 0, record.seq if record.seq is not None else -1, record.ended_at or 0.0


def token_usage(records) -> dict[str, int]:
    """Token counts summed over records: each call's `usage` in its event's data (offline adapters)
    and each sample's `usage` in its settings (live adapters count per session)."""
    total: dict[str, int] = {}
    for record in records:
        found = [record.settings.get("usage")] + [(e.data or {}).get("usage") for e in record.events]
        for usage in found:
            for key, value in (usage if isinstance(usage, dict) else {}).items():
                if isinstance(value, int) and not isinstance(value, bool):
                    total[key] = total.get(key, 0) + value
    return total


def latest_records(records) -> dict[str, SampleRecord]:
    """{sample id: its latest record}: a retried sample's new record replaces the failed one."""
    out: dict[str, SampleRecord] = {}
    for record in records:
        old = out.get(record.sample_id)
        if old is None or record_order(record) >= record_order(old):
            out[record.sample_id] = record
    return out


def next_run_seq(records) -> int:
    """The sequence number of a new run over these records."""
    return 1 + max((r.run_seq or 0 for r in records), default=0)
