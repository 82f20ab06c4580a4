"""LLaVA-style source conversations from the synthetic suite (frames + closed-vocabulary questions).

Used by the tiny_cpu recipe: the suite is generated for a seed other than the evaluation's, each
question's frames (1 fps up to the moment it is asked, as the stream shows them) are stored as a
small .npy stack, and M4-IT's categories are then built on top with the train phrase lists.
With `colour_questions`, every video whose sample names the square's (metadata "colour") or the
circle's colour ("circle_colour") is also asked it, at a random moment: the suite's own colour
questions come from the 110 noise videos only, too few for a tiny model to learn to read colours.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DESCRIBE = "Describe everything you have seen in the video so far, in as much detail as you can."
# A long answer on purpose: a stop turn must be able to land in the middle of it.
DESCRIPTION = ("I see a dark background with coloured shapes on it. Some of them move from one side to the "
               "other, some grow or shrink, and some spin in place. Now and then a short caption appears at "
               "the bottom of the picture, and the shapes change colour, from red to green to blue and back "
               "again, while new shapes come into view and old ones leave the frame.")


def synth_source_records(out_dir: str | Path, **settings: Any) -> list[dict]:
    """Records {"id", "image": "frames/NAME.npy", "conversations": [...]}; frames written under out_dir
    (the settings are `source_questions`')."""
    return [record for video in source_questions(out_dir, **settings) for record in video]


def source_questions(out_dir: str | Path, *, seed: int = 1, n_per_task: int = 20, max_frames: int = 24,
                     frame_size: int = 112, describe_every: int = 2, colour_questions: bool = False,
                     progress: bool = False, until: float | None = None,
                     tasks: list[str] | None = None) -> Iterator[list[dict]]:
    """Per suite video, in the suite's task order, the records of the questions it is asked. Each task's
    part of the suite is generated (or read from the cache) when its first video is reached, so a
    caller with a time budget stops between videos with what it has. A part is built whole, so with
    `until` (a time.monotonic() moment) one not built yet is started only when it is expected to end
    by then, at the rate the parts before it were built (the first one always). `tasks`: the suite's
    tasks to ask (default: all)."""
    import numpy as np

    from omnibench.data import synth
    from omnibench.data.video import VideoReader
    from omnibench.m4.model.frames import uniform_indices

    out_dir = Path(out_dir)
    (out_dir / "frames").mkdir(parents=True, exist_ok=True)
    counts = synth.task_counts(n_per_task)
    per_video: float | None = None          # seconds a video of the suite took to build here
    for task in sorted(tasks or synth.SYNTH_TASKS):
        build = until is not None and synth.part_problem(synth.default_root(seed), task, seed, counts[task])
        expected_end = None if per_video is None else time.monotonic() + per_video * counts[task]
        if build and until is not None and expected_end is not None and expected_end > until:
            return
        began = time.monotonic()
        suite = synth.ensure_suite(seed=seed, n_per_task=n_per_task, tasks=[task], progress=progress)
        if build:
            per_video = (time.monotonic() - began) / counts[task]
        for n, sample in enumerate(suite.samples[task]):
            reader = VideoReader(str(suite.root / sample.video.path))
            end = sample.video.end or reader.duration
            asks = [(q.t if q.t is not None else end, q.text, str(q.target)) for q in sample.turns
                    if q.kind == "question" and isinstance(q.target, str) and q.depends_on is None]
            if n % describe_every == 0:     # asked at any moment, as the stream tasks ask it
                start = sample.video.start or 0.0
                t = random.Random(f"{seed}|{sample.id}").uniform(min(start + 2.0, end), end)
                asks.append((round(t, 1), DESCRIBE, DESCRIPTION))
            if colour_questions:
                asks += _colour_asks(sample, seed, end, {text for _, text, _ in asks})
            records = []
            for k, (t, question, answer) in enumerate(asks):
                name = f"{sample.id}_{k}"
                # the settings are in the name: a changed setting never reuses stale frames
                path = out_dir / "frames" / f"{name}_{t:.1f}s{max_frames}f{frame_size}px.npy"
                if not path.exists():
                    frames = reader.sample(fps=1.0, start=sample.video.start or 0.0, end=max(t, 0.5),
                                           size=frame_size).array
                    frames = frames[uniform_indices(len(frames), max_frames)]
                    np.save(path, np.ascontiguousarray(frames), allow_pickle=False)
                records.append({"id": name, "image": f"frames/{path.name}",
                                "conversations": [{"from": "human", "value": f"<image>\n{question}"},
                                                  {"from": "gpt", "value": answer}]})
            reader.close()
            yield records


COLOUR_OF = (("colour", "What colour is the square?"), ("circle_colour", "What colour is the circle?"))


def _colour_asks(sample, seed: int, end: float, asked: set[str]) -> list[tuple[float, str, str]]:
    """(t, question, answer) for each shape whose colour the sample's metadata names and no question asks yet."""
    start = sample.video.start or 0.0
    out = []
    for key, question in COLOUR_OF:
        colour = sample.metadata.get(key)
        if isinstance(colour, str) and question not in asked:
            t = random.Random(f"{seed}|{sample.id}|{key}").uniform(min(start + 1.0, end), end)
            out.append((round(t, 1), question, colour))
    return out
