"""Models larger than one GPU: HF adapters take device_map (accelerate) and tp_plan (tensor parallel)."""

from __future__ import annotations

import pytest

from omnibench.engine.capabilities import capabilities_of
from omnibench.engine.protocols import OfflineRequest
from omnibench.errors import ModelError
from tests.models.test_hf_adapters import qwen_vl_dir  # noqa: F401 - the tiny checkpoint fixture

torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")


@pytest.mark.parametrize("device_map", ["auto", "cpu", {"": "cpu"}])
def test_a_device_map_places_the_model_and_its_inputs_follow(qwen_vl_dir, device_map, monkeypatch):  # noqa: F811
    """On e49ab22 the adapters had no device_map: a model larger than one GPU could not be loaded."""
    from transformers import Qwen2_5_VLForConditionalGeneration

    from omnibench.models.qwen2_5_vl import Qwen25VL

    asked: list[dict] = []
    real = Qwen2_5_VLForConditionalGeneration.from_pretrained.__func__

    def from_pretrained(cls, path, **settings):
        asked.append(settings)
        return real(cls, path, **settings)

    monkeypatch.setattr(Qwen2_5_VLForConditionalGeneration, "from_pretrained", classmethod(from_pretrained))
    adapter = Qwen25VL(pretrained=qwen_vl_dir, device_map=device_map)
    assert asked[0]["device_map"] == device_map and "tp_plan" not in asked[0]
    assert adapter.device == "cpu" and next(adapter.model.parameters()).device.type == "cpu"
    assert isinstance(adapter.generate(OfflineRequest(prompt="what is in the video ?", max_new_tokens=2)), str)
    assert not capabilities_of(adapter).tensor_parallel


def test_device_map_and_tp_plan_exclude_each_other(qwen_vl_dir):  # noqa: F811
    from omnibench.models.qwen2_5_vl import Qwen25VL

    with pytest.raises(ModelError, match="device_map or tp_plan, not both"):
        Qwen25VL(pretrained=qwen_vl_dir, device_map="auto", tp_plan="auto")


@pytest.mark.slow          # two torchrun ranks each loading the model; .ci/run runs it as a step of its own
def test_tp_plan_splits_the_model_over_two_torchrun_ranks_and_each_sample_is_answered_once(qwen_vl_dir, tmp_path):  # noqa: F811
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.engine.dist_plugin import write_entry_points
    from tests.videos import make_video

    root = Path(__file__).resolve().parents[2]
    (tmp_path / "data").mkdir()
    make_video(tmp_path / "data" / "v.mp4", seconds=3.0, fps=4, size=(64, 48))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(write_entry_points(tmp_path / "plugins"))]),
           "OMP_NUM_THREADS": "1", "OMNIBENCH_PLUGIN_DATA": str(tmp_path / "data")}
    args = f"pretrained={qwen_vl_dir},tp_plan=auto,num_frames=2,min_pixels=3136,max_pixels=3136"
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "omnibench",
                           "run", "--tasks", "t_clip_questions", "--model", "qwen2_5_vl", "--model-args", args,
                           "--out", str(tmp_path / "run"), "--quiet", "--no-score"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    logs = list((tmp_path / "run" / "logs" / "t_clip_questions").glob("*.jsonl"))
    assert len(logs) == 1 and logs[0].name.endswith(".shard0of2.jsonl"), "rank 0 writes; the other rank only computes"
    records = [json.loads(line) for line in logs[0].read_text().splitlines()]
    assert sorted(r["sample_id"] for r in records) == ["q0", "q1", "q2"] and all(r["status"] == "ok" for r in records)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["capabilities"]["tensor_parallel"] is True
