"""The two tasks bench/vs_lmms_eval.py gives both harnesses (bench/_vs_lmms_launch.py registers them).

Every sample has its own short video of FRAMES frames at FPS frames per second, and every
question is asked at the end of it, so both tools show the model every frame: omnibench's
offline driver samples `num_frames=FRAMES` over the clip, lmms-eval's qwen2_5_vl reads the file
at 2 fps through qwen_vl_utils and keeps `max_num_frames=FRAMES`. Multi-turn samples feed the
model's own previous answer into the next question (##ANSWER##), which lmms-eval does with
`generate_until_multi_round`; neither side sends chat history.
"""

from __future__ import annotations

import json
from pathlib import Path

FRAMES, FPS, SIZE = 8, 2.0, 224
QUESTIONS = ["What colour is the square?", "Where does the square move?", "How many shapes are in the video?",
             "What is in the video?", "Is the square moving left or right?"]
FOLLOW_UP = "You said: ##ANSWER##. What happens next in the video?"
MULTI_TURNS = 3                      # a question, then follow-ups on the model's own answer


def write_videos(root: Path, n_single: int, n_multi: int) -> dict[str, list[dict]]:
    """Videos (PyAV, H.264) and the sample specs both tools read: {task: [{id, video, questions}]}."""
    import av
    import numpy as np

    (root / "videos").mkdir(parents=True, exist_ok=True)
    specs: dict[str, list[dict]] = {"bench_vqa": [], "bench_multiturn": []}
    rng = np.random.default_rng(0)
    for i in range(n_single + n_multi):
        path = root / "videos" / f"v{i:03d}.mp4"
        background, colour = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=int(FPS))
            stream.width = stream.height = SIZE
            stream.pix_fmt = "yuv420p"
            x0, y0 = rng.integers(0, SIZE - 64, 2)
            for k in range(FRAMES):
                frame = np.empty((SIZE, SIZE, 3), np.uint8)
                frame[:] = background
                x = (x0 + 12 * k) % (SIZE - 48)
                frame[y0:y0 + 48, x:x + 48] = colour
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        if i < n_single:
            specs["bench_vqa"].append({"id": f"q{i:03d}", "video": path.name, "questions": [QUESTIONS[i % len(QUESTIONS)]]})
        else:
            specs["bench_multiturn"].append({"id": f"m{i:03d}", "video": path.name,
                                             "questions": [QUESTIONS[i % len(QUESTIONS)]] + [FOLLOW_UP] * (MULTI_TURNS - 1)})
    (root / "samples.json").write_text(json.dumps(specs), encoding="utf-8")
    return specs


def register(root: Path) -> None:
    from omnibench import registry
    from omnibench.data.schema import Query, Sample, VideoRef
    from omnibench.scoring.rules import exact_match
    from omnibench.task import Task

    specs = json.loads((root / "samples.json").read_text(encoding="utf-8"))
    duration = FRAMES / FPS

    def samples(name: str) -> list[Sample]:
        return [Sample(id=s["id"], task=name, video=VideoRef(path=f"videos/{s['video']}", end=duration),
                       turns=[Query(t=None, text=q, target="", depends_on=k - 1 if "##ANSWER##" in q else None)
                              for k, q in enumerate(s["questions"])],
                       metadata={"video_id": s["video"]})
                for s in specs[name]]

    for name in specs:
        def factory(name=name) -> Task:
            return Task(name=name, samples=lambda: samples(name), protocols=("offline",),
                        scorers=[exact_match()], headline="accuracy", data_root=str(root))
        registry.task(name, hidden=True)(factory)
