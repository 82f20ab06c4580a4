"""Vision pretraining: labels name exactly what a frame shows, and a few hundred steps teach the tower colours."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


def test_frame_labels_name_what_each_token_cell_shows_on_that_frame_only():
    """The 320x240 frame is letterboxed into a 320x320 square (40 rows of padding above): with a 2x2
    grid a cell is 160x160 of that square, so frame row 120 is the boundary between the cell rows."""
    from omnibench.data._synth_render import Scene
    from omnibench.m4.training.vision_pretrain import frame_labels

    scene = Scene(20)
    scene.static("square", "red", 0, 19, 240, 60, 20)            # top right only (rows 50-70 -> 90-110)
    scene.static("circle", "blue", 5, 9, 160, 120, 20)           # straddles all four cells
    scene.static("circle", "white", 0, 19, 40, 200, 20)          # not a label colour
    shapes, colours = ("circle", "square"), ("red", "blue")
    red_square, blue_circle = [0, 0, 1, 0], [0, 1, 0, 0]
    empty = [0, 0, 0, 0]
    assert frame_labels(scene, 0, shapes, colours, grid=2) == [empty, red_square, empty, empty]
    both = [a + b for a, b in zip(red_square, blue_circle)]
    assert frame_labels(scene, 7, shapes, colours, grid=2) == [blue_circle, both, blue_circle, blue_circle]
    assert frame_labels(scene, 7, shapes, colours) == [both]    # grid 1: the whole frame


def test_pretraining_teaches_the_tower_what_the_frames_show():
    """The untrained tower's tokens barely vary between frames; after pretraining a linear head
    reads the held-out frames' shapes and colours. Rendered scenes never repeat a benchmark video's."""
    from omnibench.m4.model.config import tiny_config
    from omnibench.m4.model.modeling import build_model
    from omnibench.m4.training.vision_pretrain import pretrain_vision

    model = build_model(tiny_config(), seed=0)
    before = {k: v.clone() for k, v in model.vision_tower.state_dict().items()}
    result = pretrain_vision(model, steps=800, scenes=240, frames_per_scene=4, seed=0)   # about 6 s
    # a head that says "nothing" finds 0 of the shown labels; random weights get 0.62 of the labels right
    assert result["heldout_shown_found"] > 0.5 and result["heldout_label_accuracy"] > 0.95, result
    assert any(not torch.equal(before[k], v) for k, v in model.vision_tower.state_dict().items())
    assert not model.vision_tower.training                          # left in eval mode, as build_model made it


def test_pretraining_keeps_to_its_share_of_the_time_budget():
    from omnibench.m4.model.config import tiny_config
    from omnibench.m4.model.modeling import build_model
    from omnibench.m4.training.vision_pretrain import pretrain_vision

    result = pretrain_vision(build_model(tiny_config(), seed=0), steps=1000, scenes=8, max_seconds=0.0)
    assert result["steps"] == 0


class _PixelCounter:
    """A stand-in pipeline that reads the last frame: the square is the most common shape colour, the circle the next."""

    def answer(self, frames, question, **_):
        import numpy as np

        from omnibench.data._synth_render import COLOURS

        last = np.asarray(frames[-1]).reshape(-1, 3)
        counts = {name: int((last == rgb).all(axis=1).sum()) for name, rgb in COLOURS.items()}
        ranked = sorted(counts, key=counts.get, reverse=True)
        return f"It is {ranked[0] if 'square' in question else ranked[1]}."


class _AlwaysRed:
    def answer(self, frames, question, **_):
        return "Red."


def test_colour_answers_score_a_model_that_reads_its_frames_above_one_that_does_not():
    from omnibench.m4.training.vision_pretrain import colour_answers

    assert colour_answers(_PixelCounter(), scenes=10) >= 0.9
    assert colour_answers(_AlwaysRed(), scenes=10) <= 0.4       # "red" is right only where that shape is red


def test_rendering_stops_in_time_to_leave_the_share_steps(monkeypatch):
    """Rendering is inside the share (issue 33: 9,600 frames took 332 s of a 27-s share, then no step
    ran): it stops at part of the share, and the steps get the rest. A frame costs 0.05 s to draw
    and 0.05 s to turn into pixels here."""
    import numpy as np

    from omnibench.data import _synth_render
    from omnibench.m4.model import frames as frame_module
    from omnibench.m4.model.config import tiny_config
    from omnibench.m4.model.modeling import build_model
    from omnibench.m4.training import vision_pretrain

    clock = [0.0]
    to_pixels = frame_module.frames_to_pixels

    def render(scene, index):
        clock[0] += 0.05
        return np.zeros((240, 320, 3), dtype=np.uint8)

    def pixels(frames, size, *args):
        clock[0] += 0.05 * len(frames)
        return to_pixels(frames, size, *args)

    monkeypatch.setattr(_synth_render, "render_frame", render)
    monkeypatch.setattr(frame_module, "frames_to_pixels", pixels)
    monkeypatch.setattr(vision_pretrain.time, "monotonic", lambda: clock[0])
    result = vision_pretrain.pretrain_vision(build_model(tiny_config(), seed=0), steps=3, scenes=400,
                                             frames_per_scene=2, batch_size=4, max_seconds=5.0)
    assert result["seconds"] <= 5.0, result                  # all 800 frames would be 80 s
    assert 0 < result["frames"] < 800 and result["steps"] == 3, result
    assert result["scenes"] == result["frames"] // 2


def test_no_step_means_no_loss_rather_than_nan():
    from omnibench.m4.model.config import tiny_config
    from omnibench.m4.model.modeling import build_model
    from omnibench.m4.training.vision_pretrain import pretrain_vision

    result = pretrain_vision(build_model(tiny_config(), seed=0), steps=10, scenes=2, max_seconds=0.0)
    assert result["steps"] == 0 and result["final_loss"] is None
