"""Training images tiled as the reference does (unires): pinpoint grid, no base image, 144 tokens a tile."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PIL")

from omnibench.m4.training.unires import best_resolution, unires_pinpoints, unires_tiles


def _image(path, width, height):
    from PIL import Image

    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = 200                     # left half bright: the tile order shows in the tiles
    Image.fromarray(pixels).save(path)
    return path


def test_pinpoints_are_every_grid_of_at_most_49_tiles_but_one():
    points = unires_pinpoints(336)
    assert len(points) == 200 and points[0] == (336, 672) and points[-1] == (16464, 336)
    assert (336, 336) not in points and (2352, 2352) in points and (672, 8064) in points
    assert (672, 8400) not in points                  # 2 x 25 tiles: too many


def test_best_resolution_keeps_most_pixels_then_wastes_least():
    points = unires_pinpoints(336)
    assert best_resolution((672, 336), points) == (672, 336)     # exact fit
    assert best_resolution((1000, 1000), points) == (1008, 1008)
    assert best_resolution((700, 300), points) == (1008, 336)    # the least padding of those that keep it all


def test_tiles_drop_the_base_image_and_keep_the_aspect(tmp_path):
    tiles = unires_tiles(_image(tmp_path / "wide.png", 112, 56), 56)
    assert len(tiles) == 2 and all(t.shape == (56, 56, 3) for t in tiles)       # 2 x 1 grid, no whole-image copy
    assert tiles[0].mean() > 150 and tiles[1].mean() < 50                        # row-major: left tile first
    assert len(unires_tiles(_image(tmp_path / "tall.png", 56, 168), 56)) == 3   # 1 x 3 grid
    # a larger image is fitted into the smallest grid that keeps all its pixels: 120 x 60 -> 168 x 112
    assert len(unires_tiles(_image(tmp_path / "odd.png", 120, 60), 56)) == 6


@pytest.mark.parametrize("tiling", ["anyres", "unires"])
def test_sft_image_tokens_per_tiling(tmp_path, tiling):
    from omnibench.m4.model.chatml_tokenizer import build_chatml_tokenizer
    from omnibench.m4.model.config import tiny_config
    from omnibench.m4.training.sft import IMAGE_ID, SFTDataset

    tokenizer = build_chatml_tokenizer()
    _image(tmp_path / "wide.png", 112, 56)
    cfg = tiny_config(vocab_size=len(tokenizer), image_tiling=tiling)
    records = [{"id": "a", "image": "wide.png", "conversations": [{"from": "human", "value": "<image>\nQ"},
                                                                  {"from": "gpt", "value": "A"}]}]
    item = SFTDataset(records, tokenizer, cfg, media_root=tmp_path, anyres_grids=((1, 2), (2, 2)))[0]
    frames = item["pixel_values"].shape[0]
    assert int((item["input_ids"] == IMAGE_ID).sum()) == frames * cfg.tokens_per_frame   # each tile pooled 2x2
    assert frames == (3 if tiling == "anyres" else 2)     # ours: base + 1x2 tiles; reference: its 2 tiles only


def test_a_real_longva_config_says_unires_and_ours_keeps_its_choice():
    from omnibench.m4.model.config import M4Config, tiny_config

    ours = tiny_config()
    data = ours.to_longva_json()
    assert M4Config.from_longva_json(data).image_tiling == "anyres"
    data.pop("m4")
    data["image_grid_pinpoints"] = [[336, 672], [672, 336]]
    real = M4Config.from_longva_json(data)
    assert real.image_tiling == "unires" and real.image_grid_pinpoints == [(336, 672), (672, 336)]
