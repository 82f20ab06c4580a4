"""`synth_forward`: a generated forward-active-responding task (OVO-Bench's REC/SSR/CRR shape), exact answers.

Shapes appear one at a time, one every 2 s, each shown for 1.5 s: four circles (the things to
count), one white square (the event to wait for) and three other shapes, in a random order.
The same video is probed as it plays:
- "How many circles have appeared so far?" 1 s into the k-th circle, for k = 1..4, so the four
  answers of every video are 1, 2, 3 and 4: any fixed answer is right a quarter of the time;
- "Has a white square appeared yet?" just after two shapes before it (no) and two shapes from it
  on (yes): both classes equally often in every video, so a fixed yes or no is right half the time.
A model that watches counts and waits; the trivial baselines sit at chance (25% and 50%).
"""

from __future__ import annotations

import numpy as np

from omnibench.data._synth_render import FPS, HEIGHT, SHAPES, WIDTH, Scene
from omnibench.data.schema import Query, Sample
from omnibench.engine.eventlog import SampleRecord
from omnibench.registry import task
from omnibench.scoring.base import Score
from omnibench.task import Task
from omnibench.tasks.synth_scenes import SHAPE_COLOURS, Built, sec

SLOT, SHOWN, FIRST = 2 * FPS, 15, 5           # frames: a shape every 2 s, shown 1.5 s, the first at 0.5 s
COUNT_Q = "How many circles have appeared so far?"
EVENT_Q = "Has a white square appeared yet?"
COUNTS = ["1", "2", "3", "4"]


def build_forward(rng: np.random.Generator) -> Built:
    others = [(str(rng.choice([s for s in SHAPES if s != "circle"])), str(rng.choice(SHAPE_COLOURS))) for _ in range(3)]
    circles = [("circle", str(rng.choice(SHAPE_COLOURS))) for _ in range(4)]
    while True:   # the white square with at least two shapes before it and one after it
        order = [int(i) for i in rng.permutation(8)]
        if 2 <= order.index(7) <= 6:
            break
    shapes = [(circles + others)[i] if i < 7 else ("square", "white") for i in order]
    scene = Scene(FIRST + SLOT * len(shapes) + FPS)
    for k, (shape, colour) in enumerate(shapes):
        a = FIRST + SLOT * k
        scene.static(shape, colour, a, a + SHOWN - 1, WIDTH / 2 + float(rng.integers(-60, 61)),
                     (HEIGHT - 40) / 2 + float(rng.integers(-30, 31)), 50)
    event = order.index(7)
    probes: list[tuple[int, Query]] = []
    for k, slot in enumerate(i for i, (s, _) in enumerate(shapes) if s == "circle"):
        probes.append((FIRST + SLOT * slot + FPS, Query(t=0.0, text=COUNT_Q, target=str(k + 1), choices=COUNTS)))
    before, after = sorted(rng.choice(event, 2, replace=False)), sorted(rng.choice(range(event, len(shapes)), 2,
                                                                                    replace=False))
    for slot, answer in [(int(s), "no") for s in before] + [(int(s), "yes") for s in after]:
        probes.append((FIRST + SLOT * slot + SHOWN, Query(t=0.0, text=EVENT_Q, target=answer, choices=["yes", "no"])))
    probes.sort(key=lambda p: p[0])
    turns = [q.model_copy(update={"t": sec(frame)}) for frame, q in probes]
    a = FIRST + SLOT * event
    return Built(scene, turns, {"events": [[sec(a), sec(a + SHOWN - 1)]], "shapes": [list(s) for s in shapes],
                                "kinds": ["count" if q.text == COUNT_Q else "event" for q in turns]})


def forward_probes():
    """Share of probes answered right (a reply naming exactly the target choice), overall and per kind."""
    from omnibench.scoring.rules import _matches  # the suite's one closed-answer rule

    def score(sample: Sample, record: SampleRecord) -> Score:
        tally: dict[str, list[int]] = {}
        for i, (q, kind) in enumerate(zip(sample.turns, sample.metadata["kinds"])):
            right = int(_matches(record.answer(i), str(q.target), q.choices))
            for key in ("accuracy", f"{kind}_accuracy"):
                tally.setdefault(key, [0, 0])
                tally[key][0] += right
                tally[key][1] += 1
        return Score(values={k: c / n for k, (c, n) in tally.items()}, weights={k: float(n) for k, (_, n) in tally.items()},
                     explanation=f"{tally['accuracy'][0]}/{tally['accuracy'][1]} probes right")
    return score


@task("synth_forward", group="synth", description="Synthetic forward responding: count shapes and wait for an event, "
                                                   "probed as the video plays")
def synth_forward(seed: int = 0, n_per_task: int | None = None, prompts_file=None) -> Task:
    from omnibench.scoring.chance import per_turn
    from omnibench.tasks.omnimmi_prompts import QuestionPrompts
    from omnibench.tasks.synth import _synth

    task = _synth("synth_forward", QuestionPrompts, [forward_probes()], "accuracy", protocols=("streaming", "offline"),
                  seed=seed, n_per_task=n_per_task, prompts_file=prompts_file,
                  description="Synthetic forward responding: count shapes and wait for an event, probed as it plays",
                  chance=per_turn)
    task.metric_docs = {"accuracy": "share of probes answered right (chance: 37.5%, a quarter of the counts and "
                                    "half of the yes/no probes)",
                        "count_accuracy": "share of 'how many so far' probes right (chance 25%)",
                        "event_accuracy": "share of 'has it appeared yet' probes right (chance 50%)"}
    return task
