"""Pretrain a tiny M4's vision tower and projector to see what the synthetic frames show.

M4 starts from a pretrained CLIP; a `base: tiny` model starts from random weights, and trained
end to end on a CPU budget its language model never learnt to read the frames (issue 18: it named
a shape's colour at chance). This stage stands in for CLIP's pretraining: frames rendered by the
synthetic suite's scene builders, with random seeds of their own (never a benchmark video), each
pooled frame token labelled with which (shape, colour) pairs cover its part of the frame; the
tower and projector learn to make the tokens say so, through a linear head shared by the tokens
and thrown away afterwards.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

# The rng entropy has four words; the suite's videos use three ([seed, task, k]): never the same stream.
_STREAM = (7, 7, 7)               # the pretraining frames
_SELECTION_STREAM = (8, 8, 8)     # the scenes colour_answers asks about
# a colour is a word or two: a model that rambles is cut there, so one check never takes long
COLOUR_ANSWER_TOKENS = 32
RENDER_SHARE = 0.6                # of pretrain_vision's max_seconds: rendering stops there, the steps get the rest


def frame_labels(scene: Any, index: int, shapes: tuple[str, ...], colours: tuple[str, ...],
                 grid: int = 1) -> list[list[float]]:
    """Per cell of a grid x grid split of the letterboxed frame (the pooled frame tokens, row by row):
    multi-hot over (shape, colour), 1 where a track of that shape and colour covers a pixel of the cell.
    Per cell, not per frame: a token must say what is in *it*, so "the circle" and "the square" are
    told apart by where they are, as a language model reading the tokens needs."""
    import numpy as np

    from omnibench.data._synth_render import HEIGHT, WIDTH, shape_mask

    side = max(WIDTH, HEIGHT)                 # letterbox: the frame centred in a side x side square
    hot = [[0.0] * (len(shapes) * len(colours)) for _ in range(grid * grid)]
    for track in scene.tracks:
        if not (track.start <= index <= track.end and track.shape in shapes and track.colour in colours):
            continue
        mask = shape_mask(track.shape, float(track.size[index]), float(track.angle[index]) % 360.0)
        ys, xs = np.nonzero(mask)
        xs = xs + int(round(track.x[index])) - mask.shape[1] // 2
        ys = ys + int(round(track.y[index])) - mask.shape[0] // 2
        drawn = (xs >= 0) & (xs < WIDTH) & (ys >= 0) & (ys < HEIGHT)
        cols = (xs[drawn] + (side - WIDTH) // 2) * grid // side
        rows = (ys[drawn] + (side - HEIGHT) // 2) * grid // side
        label = shapes.index(track.shape) * len(colours) + colours.index(track.colour)
        for cell in set((rows * grid + cols).tolist()):
            hot[cell][label] = 1.0
    return hot


def labelled_frames(n_scenes: int, frames_per_scene: int, seed: int, frame_size: int, grid: int = 1,
                    until: float | None = None):
    """(pixels (N, 3, S, S), labels (N, grid x grid, shapes x colours)) from scenes of every synthetic task in turn;
    with `until` (a time.monotonic() moment), the scenes rendered before it (at least one)."""
    import numpy as np
    import torch

    from omnibench.data._synth_render import SHAPES, render_frame
    from omnibench.m4.model.frames import frames_to_pixels
    from omnibench.tasks.synth_scenes import BUILDERS, SHAPE_COLOURS

    rng = np.random.default_rng([seed, *_STREAM])
    builders = [BUILDERS[name] for name in sorted(BUILDERS)]
    pixels, labels = [], []
    for k in range(n_scenes):
        if k and until is not None and time.monotonic() >= until:
            break
        scene = builders[k % len(builders)](rng).scene
        indices = [int(i) for i in rng.integers(0, scene.n_frames, frames_per_scene)]
        # each scene's pixels at once: the time check above covers the whole cost of a scene
        pixels.append(frames_to_pixels([render_frame(scene, i) for i in indices], frame_size))
        labels += [frame_labels(scene, i, SHAPES, SHAPE_COLOURS, grid) for i in indices]
    return torch.cat(pixels), torch.tensor(labels)


def pretrain_vision(model: Any, *, steps: int, scenes: int = 1600, frames_per_scene: int = 6, batch_size: int = 64,
                    learning_rate: float = 2e-3, seed: int = 0, max_seconds: float | None = None) -> dict[str, Any]:
    """Train `model`'s vision tower and projector in place; returns held-out accuracy and timings.
    `max_seconds` ends it early: it is part of the recipe's time budget. Rendering is inside it and
    stops at RENDER_SHARE of it (with fewer scenes, and a held-out tenth of those), so steps are left."""
    import torch
    from torch import nn

    started = time.monotonic()
    cfg = model.config
    grid = cfg.patches_per_side // cfg.pool_stride          # the pooled tokens a frame, per side
    until = None if max_seconds is None else started + RENDER_SHARE * max_seconds
    pixels, labels = labelled_frames(scenes, frames_per_scene, seed, cfg.frame_size, grid, until=until)
    rendered = len(pixels) // frames_per_scene
    held_pixels, held_labels = labelled_frames(max(1, rendered // 10), 4, seed + 1, cfg.frame_size, grid)
    head = nn.Linear(cfg.hidden_size, labels.shape[-1]).to(model.device, model.dtype)   # one for every token
    parts = [model.vision_tower, model.projector, head]
    for part in parts:
        part.train()
        for p in part.parameters():
            p.requires_grad_(True)
    optimizer = torch.optim.AdamW([p for part in parts for p in part.parameters()], lr=learning_rate)
    generator = torch.Generator().manual_seed(seed)

    from omnibench.m4.training.train import M4ForTraining

    tokens = M4ForTraining(model, tune_vision_tower=True).image_features      # the LM stage's own path to the tokens

    def logits(x):
        return head(tokens(x.to(model.device)))

    loss = None
    done = 0
    for step in range(steps):
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            break
        batch = torch.randint(0, len(pixels), (batch_size,), generator=generator)
        loss = nn.functional.binary_cross_entropy_with_logits(logits(pixels[batch]), labels[batch].to(model.device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        done = step + 1
        if (step + 1) % max(1, steps // 5) == 0:
            print(f"m4 train: vision pretraining step {step + 1}/{steps}, loss {loss.item():.3f}",
                  file=sys.stderr, flush=True)
    with torch.no_grad():
        said, shown = (logits(held_pixels) > 0).cpu(), held_labels > 0.5
        right = said == shown
    for part in parts:
        part.eval()
    return {"steps": done, "scenes": rendered, "frames": len(pixels),
            "final_loss": None if loss is None else round(loss.item(), 4),
            "heldout_label_accuracy": round(float(right.float().mean()), 4),
            "heldout_shown_found": round(float((said & shown).sum() / shown.sum().clamp(min=1)), 4),
            "heldout_frames_all_right": round(float(right.flatten(1).all(dim=1).float().mean()), 4),
            # what a head that sees nothing gets right: the frames that show no labelled shape
            "heldout_frames_empty": round(float((held_labels.flatten(1).sum(dim=1) == 0).float().mean()), 4),
            "seconds": round(time.monotonic() - started, 1)}


def colour_checks(pipeline: Any, scenes: int = 20, *, seed: int = 0, max_frames: int = 16,
                  max_new_tokens: int = COLOUR_ANSWER_TOKENS) -> Iterator[tuple[int, int]]:
    """Per scene, (answered right, asked) of "What colour is the square / circle?" on rendered scenes of the
    interruption tasks' builder (an rng stream no benchmark video uses), frames at 1 fps up to a random
    moment, as the stream shows them; rendered one scene at a time, so a caller may stop early."""
    import numpy as np

    from omnibench.data._synth_render import FPS, render_frame
    from omnibench.m4.training.synthdata import COLOUR_OF
    from omnibench.tasks.synth_scenes import BUILDERS

    rng = np.random.default_rng([seed, *_SELECTION_STREAM])
    for _ in range(scenes):
        built = BUILDERS["synth_noise"](rng)
        moment = int(rng.integers(FPS, built.scene.n_frames))
        frames = [render_frame(built.scene, i) for i in range(0, moment + 1, FPS)][-max_frames:]
        right = 0
        for key, question in COLOUR_OF:
            answer = str(pipeline.answer(frames, question, max_new_tokens=max_new_tokens)).lower()
            right += built.metadata[key] in answer.replace(".", " ").split()
        yield right, len(COLOUR_OF)


def colour_answers(pipeline: Any, *, scenes: int = 20, seed: int = 0, max_frames: int = 16) -> float:
    """Share of the colour questions of `colour_checks` answered right: whether the model reads its frames."""
    checks = list(colour_checks(pipeline, scenes, seed=seed, max_frames=max_frames))
    return sum(right for right, _ in checks) / sum(asked for _, asked in checks)
