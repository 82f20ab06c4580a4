"""Per-sample timelines as inline SVG: ground-truth windows, user turns, what the model said and when."""

from __future__ import annotations

from html import escape

from omnibench.data.schema import Sample
from omnibench.engine.eventlog import SampleRecord

WIDTH, HEIGHT, PAD = 720, 70, 10
KIND_COLOURS = {"question": "#2563eb", "alert_request": "#7c3aed", "noise": "#d97706", "stop": "#dc2626"}


def timeline_svg(sample: Sample, record: SampleRecord) -> str:
    """One sample on one line. Every text from data is escaped (titles show it on hover)."""
    times = [e.t for e in record.events] + [q.window[1] for q in sample.turns if q.window]
    end = max([record.stream_s, *times, 1.0])

    def x(t: float) -> float:
        return PAD + (WIDTH - 2 * PAD) * max(0.0, t) / end

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="timeline of {escape(sample.id, quote=True)}">',
             f'<line x1="{PAD}" y1="40" x2="{WIDTH - PAD}" y2="40" stroke="#9ca3af"/>']
    for q in sample.turns:
        if q.window:
            s, e = q.window
            parts.append(f'<rect x="{x(s):.1f}" y="30" width="{max(2.0, x(e) - x(s)):.1f}" height="20" '
                         f'fill="#86efac" opacity="0.7"><title>target window {s:g}-{e:g} s</title></rect>')
    for e in record.events:
        if e.kind == "query":
            kind = sample.turns[e.turn].kind if e.turn is not None and e.turn < len(sample.turns) else "question"
            colour = KIND_COLOURS.get(kind, "#2563eb")
            parts.append(f'<line x1="{x(e.t):.1f}" y1="12" x2="{x(e.t):.1f}" y2="50" stroke="{colour}" '
                         f'stroke-width="2"><title>{escape(kind)} at {e.t:g} s: {escape(e.text or "", quote=True)}'
                         f'</title></line>')
        elif e.kind == "emission" and (e.text or "").strip():
            parts.append(f'<circle cx="{x(e.t):.1f}" cy="40" r="4" fill="#111827"><title>said at {e.t:g} s: '
                         f'{escape((e.text or "")[:300], quote=True)}</title></circle>')
            if e.refers_to is not None:
                parts.append(f'<rect x="{x(e.refers_to) - 3:.1f}" y="55" width="6" height="6" fill="none" '
                             f'stroke="#111827"><title>claimed {e.refers_to:g} s</title></rect>')
    parts.append(f'<text x="{PAD}" y="68" font-size="9" fill="#6b7280">0 s</text>'
                 f'<text x="{WIDTH - PAD}" y="68" font-size="9" fill="#6b7280" text-anchor="end">{end:.1f} s</text>')
    return "".join(parts) + "</svg>"
