"""Per-sample bounds of a stream: how long it may last, and what a damaged video does to the record.

A stream's length comes from untrusted numbers (a PA window end of 1e9, an SI timestamp of 1e20);
left alone, the runner's clock ticks through all of it. So:
- with video, the stream ends at the sample's end capped by the video's real length;
- without video (replay, blind), it ends at the furthest time the sample mentions;
- either way, past `max_stream_s` the sample fails with a clear error (not a run that never ends).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from omnibench.errors import DataError

DEFAULT_MAX_STREAM_S = 4 * 3600.0          # longer than any OmniMMI video; raise with --max-stream-s
VideoIssuePolicy = Literal["report", "error"]


def _seconds(value: Any, sample_id: str, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DataError(f"sample {sample_id}: {field} {value!r} is not a number of seconds", field=field) from None
    if not math.isfinite(number) or number < 0:
        raise DataError(f"sample {sample_id}: {field} {value!r} is not a finite number of seconds >= 0",
                        field=field)
    return number


def stream_end(sample, video_s: float | None = None, max_stream_s: float | None = DEFAULT_MAX_STREAM_S) -> float:
    """Stream seconds the sample runs for; DataError past `max_stream_s` (None: no cap but the video's)."""
    sid = sample.id
    if video_s is not None:
        real = _seconds(video_s, sid, "video duration")
        end = real if sample.video.end is None else min(_seconds(sample.video.end, sid, "video.end"), real)
    else:
        times = [0.0 if sample.video.end is None else _seconds(sample.video.end, sid, "video.end"),
                 _seconds(sample.metadata.get("duration", 0.0) or 0.0, sid, "metadata.duration")]
        for i, q in enumerate(sample.turns):
            times.append(0.0 if q.t is None else _seconds(q.t, sid, f"turns[{i}].t"))
            if q.window:
                times.append(_seconds(q.window[1], sid, f"turns[{i}].target"))
        end = max(times)
    if max_stream_s is not None and end > max_stream_s:
        what = "its video" if video_s is not None else "its turn times and windows (the model reads no video)"
        raise DataError(f"sample {sid}: the stream would last {end:g} s (from {what}), more than "
                        f"--max-stream-s {max_stream_s:g}; fix the sample or raise --max-stream-s")
    return end


def note_video_issues(record, frames: Any, policy: VideoIssuePolicy = "report") -> None:
    """Put the damage the video reader met (decode errors, frozen stretches) on the record; under
    policy 'error' such a sample is an error (kept out of the scores, retried by a rerun)."""
    issues = getattr(frames, "issues", None)
    lines = issues.summary() if issues is not None else []
    if not lines:
        return
    record.video_issues = lines
    if policy == "error" and record.status == "ok":
        record.status = "error"
        record.error = "damaged video: " + "; ".join(lines)
