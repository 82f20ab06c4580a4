"""Scene and question builders for the synthetic suite: one function per task, exact ground truth.

Task definitions, not core: the generator (omnibench.data.synth) renders what these return.

Times are frame indices divided by FPS, so every window [s, e] names exactly the frames that
show the event (frame i is at i / FPS and shows the event iff s <= i / FPS <= e).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from omnibench.data._synth_render import FPS, HEIGHT, SHAPES, WIDTH, Caption, Scene
from omnibench.data.schema import Message, Query
from omnibench.tasks.phrases import NOISE

SG_STATES = ("moving left", "moving right", "moving up", "moving down", "growing", "shrinking", "spinning", "still")
SHAPE_COLOURS = ("red", "green", "blue", "yellow", "purple")
NAMES = ("Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Henry")
LINES = (
    "The box is empty.", "I found the key.", "It will rain soon.", "Close the window.", "The train is late.",
    "We need more paint.", "My cat likes fish.", "The lamp is broken.", "Turn left here.", "Dinner is ready.",
    "I lost my hat.", "The door is locked.", "Bring two apples.", "The music is loud.", "Call me at nine.",
    "The bridge is closed.", "Water the plants.", "I like green tea.", "The clock is fast.", "Meet me at noon.",
)
VOICES = ("en+f3", "en+m3", "en+f4", "en+m7", "en+f2", "en+m1", "en+f5", "en+m5")   # per name, by gender
DESCRIBE = "Describe everything you have seen in the video so far, in as much detail as you can."


@dataclass
class Built:
    """What a builder returns; synth.py turns it into a Sample and a video."""

    scene: Scene
    turns: list[Query]
    metadata: dict
    history: list[Message] = field(default_factory=list)


def sec(frame: int) -> float:
    return round(frame / FPS, 3)


def _pick(rng: np.random.Generator, items, k: int | None = None):
    if k is None:
        return items[int(rng.integers(len(items)))]
    return [items[int(i)] for i in rng.choice(len(items), size=k, replace=False)]


def _place(rng: np.random.Generator, size: float) -> tuple[float, float]:
    margin = int(size * 0.75) + 2
    return float(rng.integers(margin, WIDTH - margin)), float(rng.integers(margin, HEIGHT - 40 - margin))


def build_pa(rng: np.random.Generator) -> Built:
    n = int(rng.integers(12, 21)) * FPS
    start = int(rng.integers(3 * FPS, n - 5 * FPS))
    end = start + int(rng.integers(2 * FPS, 4 * FPS + 1)) - 1
    scene = Scene(n)
    for _ in range(int(rng.integers(3, 6))):   # distractors: never a red circle; red ones only off the window
        shape, colour = _pick(rng, SHAPES), _pick(rng, SHAPE_COLOURS)
        if shape == "circle":
            colour = _pick(rng, SHAPE_COLOURS[1:])
        a = int(rng.integers(0, n - 2 * FPS))
        b = min(n - 1, a + int(rng.integers(2 * FPS, 5 * FPS)))
        if colour == "red" and a <= end and b >= start:
            colour = "blue"
        scene.static(shape, colour, a, b, *_place(rng, 40), 40)
    size = float(rng.integers(30, 50))
    scene.static("circle", "red", start, end, *_place(rng, size), size)   # drawn last: never hidden
    window = [sec(start), sec(end)]
    return Built(scene, [Query(t=0.0, text="Tell me when a red circle appears.", kind="alert_request",
                               target=window)],
                 {"events": [window], "object": "red circle"})


_RATES = {  # per second: dx, dy, dsize, dangle
    "moving left": (-25, 0, 0, 0), "moving right": (25, 0, 0, 0), "moving up": (0, -25, 0, 0),
    "moving down": (0, 25, 0, 0), "growing": (0, 0, 12, 0), "shrinking": (0, 0, -12, 0),
    "spinning": (0, 0, 0, 90), "still": (0, 0, 0, 0),
}


def square_scene(rng: np.random.Generator, seconds: int) -> tuple[Scene, list[tuple[int, int, str]], str, str]:
    """A square changing state every 2-4 s, a small circle of another colour in a corner.

    Returns (scene, segments, square colour, circle colour); segments are (first frame, last frame, state)."""
    n = seconds * FPS
    scene = Scene(n)
    colour = _pick(rng, SHAPE_COLOURS)
    other = _pick(rng, [c for c in SHAPE_COLOURS if c != colour])
    scene.static("circle", other, 0, n - 1, 40.0, 30.0, 24)
    square = scene.static("square", colour, 0, n - 1, WIDTH / 2, (HEIGHT - 40) / 2, 44)
    x, y, size, angle = WIDTH / 2, (HEIGHT - 40) / 2, 44.0, 0.0
    segments: list[tuple[int, int, str]] = []
    frame, previous = 0, ""
    while frame < n:
        length = min(int(rng.integers(2, 5)) * FPS, n - frame)
        if n - frame - length < 2 * FPS:   # no stub segment at the end
            length = n - frame
        secs = length / FPS

        def fits(state: str, x=x, y=y, size=size, secs=secs) -> bool:
            dx, dy, ds, _ = _RATES[state]
            nx, ny, ns = x + dx * secs, y + dy * secs, size + ds * secs
            reach = 0.72 * max(size, ns) + 2
            return 24 <= ns <= 84 and reach <= nx <= WIDTH - reach and reach <= ny <= HEIGHT - 40 - reach

        state = _pick(rng, [s for s in SG_STATES if s != previous and fits(s)])
        dx, dy, ds, da = (r / FPS for r in _RATES[state])
        for i in range(frame, frame + length):   # change from frame i-1 to i shows the state of frame i
            if i > 0:
                x, y, size, angle = x + dx, y + dy, size + ds, angle + da
            square.x[i], square.y[i], square.size[i], square.angle[i] = x, y, size, angle
        segments.append((frame, frame + length - 1, state))
        frame, previous = frame + length, state
    return scene, segments, colour, other


def _ask_in(rng: np.random.Generator, segment: tuple[int, int, str], room_after: int = 0) -> int:
    a, b, _ = segment
    return int(rng.integers(min(a + FPS, b), max(b - room_after, min(a + FPS, b)) + 1))


def _segments_meta(segments) -> list[list]:
    return [[sec(a), sec(b), s] for a, b, s in segments]


def build_sg(rng: np.random.Generator) -> Built:
    scene, segments, colour, _ = square_scene(rng, int(rng.integers(15, 26)))
    usable = [k for k, (a, b, _) in enumerate(segments) if b - a >= FPS and a > 0]
    chosen = sorted(_pick(rng, usable, min(len(usable), int(rng.integers(2, 4)))))
    turns = []
    for k in chosen:
        a, b, state = segments[k]
        turns.append(Query(t=sec(_ask_in(rng, segments[k])), text="What is the square doing now?", target=state,
                           choices=list(SG_STATES), span_start=sec(a)))
    return Built(scene, turns, {"events": [[sec(segments[k][0]), sec(segments[k][1])] for k in chosen],
                                "states": _segments_meta(segments), "colour": colour})


def build_ap(rng: np.random.Generator) -> Built:
    combos = [f"{c} {s}" for c in SHAPE_COLOURS for s in SHAPES]
    m = int(rng.integers(3, 5))
    vocab = _pick(rng, combos, m + 2)
    cycle = vocab[:m]
    steps = int(rng.integers(2 * m + 1, 3 * m + 2))
    period, on = 15, 10
    scene = Scene(steps * period + 5)
    events, shown = [], []
    for k in range(steps):
        colour, shape = cycle[k % m].split()
        a = 5 + k * period
        scene.static(shape, colour, a, a + on - 1, WIDTH / 2, (HEIGHT - 40) / 2, 70)
        events.append([sec(a), sec(a + on - 1)])
        shown.append(cycle[k % m])
    target = cycle[steps % m]
    return Built(scene, [Query(t=None, text="The shapes appear in a repeating order. What comes next?",
                               target=target, choices=sorted(vocab))],
                 {"events": events, "sequence": shown, "cycle": cycle})


def build_md(rng: np.random.Generator) -> Built:
    k = int(rng.integers(5, 9))
    palette = _pick(rng, SHAPE_COLOURS, 3)
    items = [(_pick(rng, palette), _pick(rng, SHAPES)) for _ in range(k)]
    period, on = 20, 15
    end_shapes = 5 + k * period
    scene = Scene(end_shapes + 50)
    shapes_meta = []
    for j, (colour, shape) in enumerate(items):
        a = 5 + j * period
        scene.static(shape, colour, a, a + on - 1, *_place(rng, 50), 50)
        shapes_meta.append([sec(a), sec(a + on - 1), colour, shape])
    t0, t1 = sec(end_shapes + 5), sec(end_shapes + 30)
    counts = [str(c) for c in range(1, 10)]
    if rng.random() < 0.5:
        first = items[0][0]
        turns = [Query(t=t0, text="What colour is the first shape?", target=first, choices=list(SHAPE_COLOURS)),
                 Query(t=t1, text="How many ##ANSWER## shapes appear in the video?",
                       target=str(sum(c == first for c, _ in items)), choices=counts, depends_on=0)]
    else:
        first = items[0][1]
        turns = [Query(t=t0, text="What shape appears first?", target=first, choices=list(SHAPES)),
                 Query(t=t1, text="How many shapes of kind ##ANSWER## appear in the video?",
                       target=str(sum(s == first for _, s in items)), choices=counts, depends_on=0)]
    return Built(scene, turns, {"events": [m[:2] for m in shapes_meta], "shapes": shapes_meta})


def build_si(rng: np.random.Generator) -> Built:
    speakers = _pick(rng, NAMES, 3)
    lines = _pick(rng, LINES, int(rng.integers(4, 7)))
    said = [(_pick(rng, speakers), line) for line in lines]
    period, on = 35, 30
    n = 10 + len(said) * period + 30
    scene = Scene(n)
    lines_meta = []
    for j, (name, line) in enumerate(said):
        a = 10 + j * period
        scene.captions.append(Caption(f"{name}: {line}", a, a + on - 1))
        lines_meta.append([sec(a), sec(a + on - 1), name, line])
    asked = sorted(_pick(rng, list(range(len(said))), 2))
    turns, t_prev = [], 0
    for j in asked:
        end = 10 + j * period + on - 1
        t = max(t_prev + FPS, end + int(rng.integers(5, 20)))
        t_prev = t
        turns.append(Query(t=sec(t), text=f"Who said '{said[j][1]}'?", target=said[j][0],
                           choices=sorted({name for name, _ in said} | set(speakers))))
    return Built(scene, turns, {"events": [m[:2] for m in lines_meta], "lines": lines_meta,
                                "voices": {name: VOICES[NAMES.index(name)] for name in speakers}})


def build_pt(rng: np.random.Generator) -> Built:
    scene, segments, colour, _ = square_scene(rng, int(rng.integers(10, 16)))
    final = segments[-1][2]
    history = [Message(role="user", text="What colour is the square?"),
               Message(role="assistant", text=f"The square is {colour}."),
               Message(role="user", text="And what is it doing at the end?"),
               Message(role="assistant", text=f"At the end it is {final}.")]
    return Built(scene, [Query(t=None, text=_pick(rng, NOISE), kind="noise")],
                 {"events": [], "states": _segments_meta(segments), "colour": colour, "expected": "silence"},
                 history)


def _interrupted(rng: np.random.Generator, kind: str) -> Built:
    """The video and first question an interruption task builds on; tasks/interaction.py adds the second utterance.

    noise: a closed question about the square's colour; the follow-up slot asks the circle's colour
    (turn 1, kept so that training data built from the suite asks it too). stop: the long describe
    question. metadata["interrupt_at"]: when the second utterance is spoken (1-2 s after the question).
    """
    scene, segments, colour, other = square_scene(rng, int(rng.integers(12, 19)))
    ask = int(rng.integers(2 * FPS, scene.n_frames - 4 * FPS))
    later = sec(ask + int(rng.integers(FPS, 2 * FPS + 1)))
    if kind == "noise":
        turns = [Query(t=sec(ask), text="What colour is the square?", target=colour, choices=list(SHAPE_COLOURS)),
                 Query(t=later, text="What colour is the circle?", target=other, choices=list(SHAPE_COLOURS))]
    else:
        turns = [Query(t=sec(ask), text=DESCRIBE)]
    return Built(scene, turns, {"events": [], "states": _segments_meta(segments), "colour": colour,
                                "circle_colour": other, "interrupt_at": later})


def build_forward(rng: np.random.Generator) -> Built:
    from omnibench.tasks.synth_forward import build_forward as build  # its own module (it imports this one)

    return build(rng)


BUILDERS: dict[str, Callable[[np.random.Generator], Built]] = {
    "synth_pa": build_pa, "synth_sg": build_sg, "synth_ap": build_ap, "synth_md": build_md,
    "synth_si": build_si, "synth_pt": build_pt,
    "synth_noise": lambda rng: _interrupted(rng, "noise"), "synth_stop": lambda rng: _interrupted(rng, "stop"),
    "synth_forward": build_forward,
}
