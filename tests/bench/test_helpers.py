"""The bench scripts' own checks: they must catch a peer that answers differently."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str):
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def test_video_peer_with_other_frames_or_pixels_is_refused():
    video_read = load("video_read")
    frames = {0: np.full((4, 4, 3), 100, np.uint8)}
    times = [0.0, 1.0]
    same = {"times": [0.0, 1.0], "frames": {0: np.full((4, 4, 3), 102, np.uint8)}}
    assert video_read.compare("peer", same, times, frames) == ""          # rounding is tolerated
    shifted = {**same, "times": [0.0, 1.033]}
    assert "frame times differ" in video_read.compare("peer", shifted, times, frames)
    off = {**same, "frames": {0: np.full((4, 4, 3), 110, np.uint8)}}
    assert "pixels differ by up to 10" in video_read.compare("peer", off, times, frames)


def test_lmms_eval_sample_log_maps_to_our_sample_ids(tmp_path):
    vs = load("vs_lmms_eval")
    out = tmp_path / "model"
    out.mkdir()
    (out / "x_results.json").write_text(json.dumps({"results": {"bench_multiturn": {}}}))
    rows = [{"doc_id": 1, "filtered_resps": [["a", "b", "c"]]}, {"doc_id": 0, "filtered_resps": ["x", "y", "z"]}]
    (out / "x_samples_bench_multiturn.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert vs.lmms_answers(tmp_path, "bench_multiturn", ["m0", "m1"]) == {"m0": ["x", "y", "z"], "m1": ["a", "b", "c"]}


def test_lmms_eval_without_results_file_is_a_failure(tmp_path):
    vs = load("vs_lmms_eval")
    with pytest.raises(SystemExit, match="exits 0 on failure"):
        vs.lmms_answers(tmp_path, "bench_vqa", [])
