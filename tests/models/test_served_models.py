"""Big offline models through a serving engine (vLLM, SGLang): `openai_compat` sends the clip as one
`video_url` mp4, keeps `concurrency` requests in flight, and a server with continuous batching runs
them together. The server here is a local fake speaking that API (tests/fake_openai.py)."""

from __future__ import annotations

import base64
import io

import av
import numpy as np
import pytest

from omnibench import registry
from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.evaluate import Evaluation
from omnibench.task import Prompts, Task
from tests.fake_openai import FakeOpenAI
from tests.videos import make_video, read_index

pytest.importorskip("openai")


def clip_frames(body: dict) -> list[np.ndarray]:
    parts = body["messages"][-1]["content"]
    assert [p["type"] for p in parts] == ["video_url", "text"], "one video, then the prompt; no images"
    url = parts[0]["video_url"]["url"]
    assert url.startswith("data:video/mp4;base64,")
    with av.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_served_model_gets_the_clip_as_video_url_and_the_server_batches_concurrent_requests(tmp_path):
    make_video(tmp_path / "clip.mp4", seconds=4.0, fps=10)
    samples = [Sample(id=f"s{i}", task="t_served", video=VideoRef(path="clip.mp4"),
                      turns=[Query(t=2.0 + i * 0.2, text=f"What is shown {i}?")]) for i in range(8)]
    registry.task("t_served", hidden=True)(lambda: Task(
        name="t_served", samples=lambda: samples, protocols=("offline",), scorers=[], headline="x",
        prompts=Prompts(), data_root=str(tmp_path)))
    try:
        with FakeOpenAI(handler=lambda body: "shapes", batch_step_s=0.3) as server:
            runs = Evaluation(model="openai_compat", out=tmp_path / "run", progress=False,
                              model_args={"base_url": server.base_url, "model": "served", "video": "video_url",
                                          "num_frames": 4, "concurrency": 4}).run(["t_served"])
            bodies, batches = server.bodies, list(server.batches)
    finally:
        registry._TASKS.pop("t_served", None)
    assert runs[0].ran == 8 and not runs[0].failed
    for body in bodies:
        indices = [read_index(frame[:120, :160]) for frame in clip_frames(body)]
        assert len(indices) == 4 and indices == sorted(indices) and indices[-1] <= 35, "the clip ends at the question"
    assert max(batches) >= 2 and sum(batches) == 8 and len(batches) < 8, f"requests batched: {batches}"
