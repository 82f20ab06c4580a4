"""Per-sample timelines: inline SVG plus a transcript, every data string escaped.

Lanes on the stream clock: "truth" (target windows of alert requests), "user" (each query at
Query.t, None = when the video ends; interruptions drawn across all lanes and named by their
true class: noise, follow-up, stop, lure), "model" (each emission at the time it was spoken;
refers_to, the time the model claimed, as a hollow diamond joined to it), and errors. Offline
records get the same picture: each question at the time its clip ends, the answer there.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from omnibench.data.schema import Sample
from omnibench.engine.eventlog import Event, SampleRecord
from omnibench.results import SampleScore

WIDTH, LEFT, RIGHT = 960, 58, 14
LANES = {"truth": 22, "user": 46, "model": 70}       # lane centre y
AXIS_Y, HEIGHT = 96, 112
KIND_COLOURS = {"question": "#2563eb", "alert_request": "#7c3aed", "noise": "#d97706", "stop": "#dc2626",
                "follow-up": "#0891b2", "lure": "#db2777"}
# metadata["interruption"] of the interruption tasks: the true class of the turn asked in a noise or stop slot
INTERRUPTION_CLASSES = {"noise": "noise", "followup": "follow-up", "stop": "stop", "lure": "lure"}
MAX_MARKS = 400          # emissions drawn per sample: a token-by-token stream stays a readable picture
MAX_TEXT = 400           # characters of one utterance shown in the transcript


def e(text: object) -> str:
    return escape(str(text), quote=True)


def true_kind(sample: Sample, turn: int) -> str:
    """The turn's kind, or for the interruption turn (the last noise/stop turn) its true class."""
    q = sample.turns[turn]
    cls = INTERRUPTION_CLASSES.get(str(sample.metadata.get("interruption")))
    last = max((i for i, x in enumerate(sample.turns) if x.kind in ("noise", "stop")), default=None)
    return cls if cls is not None and turn == last else q.kind


def answer_text(record: SampleRecord, turn: int) -> str:
    try:
        return record.answer(turn)
    except (IndexError, KeyError, ValueError):
        return ""


def asked(sample: Sample, record: SampleRecord, turn: int) -> str:
    """The question as the model got it: ##ANSWER## filled with its own answer to the turn it depends on."""
    q = sample.turns[turn]
    if q.depends_on is None or "##ANSWER##" not in q.text:
        return q.text
    return q.text.replace("##ANSWER##", answer_text(record, q.depends_on))


def _turn(turn: int | None, claimed: object = None) -> str:
    if turn is not None:
        return f"to turn {turn}"
    # an emission that named a turn not yet asked is not an answer to it (engine.boundary.emission_event)
    return "unprompted" if claimed is None else f"unprompted: named turn {e(claimed)} before it was asked"


def _secs(t: float) -> str:
    return f"{t:.1f}" if t < 100 else f"{t:.0f}"


@dataclass
class Utterance:
    """Consecutive emission deltas for one turn, joined: what the model said, from start to end."""

    start: float
    end: float
    turn: int | None
    text: str
    refers_to: float | None = None
    claimed: object = None                  # the turn an unprompted emission named (not yet asked)


def utterances(record: SampleRecord) -> list[Utterance]:
    out: list[Utterance] = []
    open_: Utterance | None = None
    for ev in record.events:
        if ev.kind == "query":
            open_ = None
        if ev.kind != "emission":
            continue
        if open_ is not None and open_.turn == ev.turn:
            open_.end, open_.text = ev.t, open_.text + (ev.text or "")
            open_.refers_to = ev.refers_to if ev.refers_to is not None else open_.refers_to
        else:
            open_ = Utterance(ev.t, ev.t, ev.turn, ev.text or "", ev.refers_to, (ev.data or {}).get("claimed_turn"))
            out.append(open_)
        if ev.done:
            open_ = None
    return [u for u in out if u.text.strip() or u.refers_to is not None]


def query_times(sample: Sample, record: SampleRecord, end: float) -> list[float]:
    """Query.t; None (asked when the video ends) takes the logged time, else the stream end."""
    times = []
    for i, q in enumerate(sample.turns):
        logged = record.query_time(i)
        times.append(q.t if q.t is not None else (logged if logged is not None else end))
    return times


TAIL_S = 5.0             # the runner keeps polling this long after the video ends (StreamRunner.tail_s)


def axis_end(sample: Sample, records: list[SampleRecord]) -> float:
    """A sample's time axis: its video length plus the runner's tail, the same for every model.

    Without a known video end, the longest logged stream of this sample (over all models) stands in;
    what a model says later than the axis is drawn at its right edge (its text keeps the true time).
    """
    tail = max((float(r.settings.get("tail_s", TAIL_S)) for r in records), default=TAIL_S)
    if sample.video.end is not None:
        length = sample.video.end - (sample.video.start or 0.0) + tail
    else:
        length = max((r.stream_s for r in records), default=0.0)
    times = [length, 1.0] + [q.t for q in sample.turns if q.t is not None]
    times += [q.window[1] for q in sample.turns if q.window]
    return max(times)


def stream_end(sample: Sample, record: SampleRecord) -> float:
    return axis_end(sample, [record])


def _tick_step(end: float) -> float:
    for step in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600):
        if end / step <= 10:
            return step
    return end / 10


def timeline_svg(sample: Sample, record: SampleRecord, end: float | None = None) -> str:
    """One sample as an inline SVG on the axis [0, end] (default: axis_end); hover titles carry the texts."""
    end = end or stream_end(sample, record)

    def x(t: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * min(max(t, 0.0), end) / end

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="timeline of sample {e(sample.id)}">']
    for name, y in LANES.items():
        out.append(f'<text x="4" y="{y + 4}" class="lane">{name}</text>'
                   f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" class="lane-line"/>')
    out.append(f'<line x1="{LEFT}" y1="{AXIS_Y}" x2="{WIDTH - RIGHT}" y2="{AXIS_Y}" class="axis"/>')
    step, t = _tick_step(end), 0.0
    while t <= end + 1e-9:
        out.append(f'<line x1="{x(t):.1f}" y1="{AXIS_Y}" x2="{x(t):.1f}" y2="{AXIS_Y + 4}" class="axis"/>'
                   f'<text x="{x(t):.1f}" y="{AXIS_Y + 14}" class="tick">{t:g}s</text>')
        t += step
    for q in sample.turns:
        if q.window:
            s, w_end = q.window
            out.append(f'<rect x="{x(s):.1f}" y="{LANES["truth"] - 8}" width="{max(2.0, x(w_end) - x(s)):.1f}" '
                       f'height="16" class="window"><title>ground truth window {s:g}–{w_end:g} s</title></rect>')
    for i, (q, t_q) in enumerate(zip(sample.turns, query_times(sample, record, end))):
        kind = true_kind(sample, i)
        colour = KIND_COLOURS.get(kind, "#2563eb")
        when = f"{t_q:g} s" + (" (video end)" if q.t is None else "")
        title = f"<title>turn {i} · {e(kind)} at {e(when)}: {e(asked(sample, record, i)[:MAX_TEXT])}</title>"
        if q.kind in ("noise", "stop"):   # interruptions cut across every lane: what happened around them matters
            out.append(f'<g><line x1="{x(t_q):.1f}" y1="8" x2="{x(t_q):.1f}" y2="{AXIS_Y}" stroke="{colour}" '
                       f'stroke-width="2" stroke-dasharray="4 3"/>{title}</g>'
                       f'<text x="{x(t_q) + 3:.1f}" y="9" class="mark" fill="{colour}">{e(kind)}</text>')
        y = LANES["user"]
        out.append(f'<path d="M{x(t_q):.1f} {y - 8} l5 8 l-5 8 l-5 -8 z" fill="{colour}">{title}</path>')
    for ev in _marks(record.emissions()):
        y = LANES["model"]
        out.append(f'<rect x="{x(ev.t) - 1.5:.1f}" y="{y - 7}" width="3" height="14" class="emission">'
                   f'<title>said at {ev.t:g} s ({_turn(ev.turn, (ev.data or {}).get("claimed_turn"))}): {e((ev.text or "")[:MAX_TEXT])}</title></rect>')
        if ev.refers_to is not None:
            out.append(f'<line x1="{x(ev.t):.1f}" y1="{y + 7}" x2="{x(ev.refers_to):.1f}" y2="{y + 13}" '
                       f'class="refers"/><path d="M{x(ev.refers_to):.1f} {y + 9} l4 4 l-4 4 l-4 -4 z" '
                       f'class="claimed"><title>claimed the event at {ev.refers_to:g} s</title></path>')
    for ev in record.events:
        if ev.kind == "error":
            out.append(f'<text x="{x(ev.t):.1f}" y="{LANES["model"] + 5}" class="error">✕'
                       f'<title>error at {ev.t:g} s: {e((ev.text or "")[:MAX_TEXT])}</title></text>')
    return "".join(out) + "</svg>"


def _marks(emissions: list[Event]) -> list[Event]:
    """At most MAX_MARKS emissions, evenly picked, keeping every one that claims a time."""
    spoken = [ev for ev in emissions if (ev.text or "").strip() or ev.refers_to is not None]
    if len(spoken) <= MAX_MARKS:
        return spoken
    every = len(spoken) / MAX_MARKS
    keep = {int(i * every) for i in range(MAX_MARKS)}
    return [ev for i, ev in enumerate(spoken) if i in keep or ev.refers_to is not None]


def transcript_html(sample: Sample, record: SampleRecord, end: float | None = None) -> str:
    """User turns and model utterances in stream-time order, as a small table."""
    end = end or stream_end(sample, record)
    rows: list[tuple[float, int, str]] = []
    for i, (q, t_q) in enumerate(zip(sample.turns, query_times(sample, record, end))):
        target = f' <span class="target">target: {e(q.target)}</span>' if q.target is not None else ""
        kind = true_kind(sample, i)
        rows.append((t_q, 0, f'<tr class="user {e(q.kind)}"><td>{_secs(t_q)}</td><td>user · {e(kind)} '
                             f'#{i}</td><td>{e(asked(sample, record, i)[:MAX_TEXT])}{target}</td></tr>'))
    for u in utterances(record):
        claimed = f' <span class="target">claims {u.refers_to:g} s</span>' if u.refers_to is not None else ""
        span = _secs(u.start) if u.end == u.start else f"{_secs(u.start)}–{_secs(u.end)}"
        rows.append((u.start, 1, f'<tr class="model"><td>{span}</td><td>model {_turn(u.turn, u.claimed)}</td>'
                                 f'<td>{e(u.text[:MAX_TEXT])}{claimed}</td></tr>'))
    for ev in record.events:
        if ev.kind == "error":
            rows.append((ev.t, 2, f'<tr class="err"><td>{_secs(ev.t)}</td><td>error</td><td>{e(ev.text)}</td></tr>'))
    rows.sort(key=lambda r: (r[0], r[1]))
    return (f'<details class="transcript"><summary>transcript ({len(rows)} lines)</summary><table class="transcript">'
            '<tr><th>t (s)</th><th>who</th><th>text</th></tr>' + "".join(r[2] for r in rows) + "</table></details>")


def verdict_html(record: SampleRecord, score: SampleScore | None) -> str:
    """A sample's verdict line: its error, why it is not scored, or its values and explanation."""
    if record.status == "error":
        return f'<p class="verdict bad">error: {e(record.error)}</p>'
    if score is None:
        return '<p class="verdict">not scored (run `omnibench score` on the run directory)</p>'
    if score.error:
        return f'<p class="verdict bad">error: {e(score.error)}</p>'
    if score.unscored:
        return f'<p class="verdict bad">unscored: {e(score.unscored)}</p>'
    values = ", ".join(f"{e(k)}={v:g}" for k, v in sorted(score.values.items()) if v is not None)
    why = f' <span class="why">— {e(score.explanation)}</span>' if score.explanation else ""
    return f'<p class="verdict">{values or "no values"}{why}</p>'


def sample_figure(sample: Sample, record: SampleRecord, score: SampleScore | None = None,
                  end: float | None = None) -> str:
    """One sample: its id, the SVG, the verdict, and the transcript, on the sample's own axis."""
    end = end or stream_end(sample, record)
    return (f'<figure class="sample"><figcaption><code>{e(sample.id)}</code> · video '
            f'<code>{e(sample.video.path)}</code> · axis {_secs(end)} s</figcaption>'
            f"{timeline_svg(sample, record, end)}{verdict_html(record, score)}{transcript_html(sample, record, end)}"
            "</figure>")
