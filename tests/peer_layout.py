"""Small OVO-Bench and StreamingBench data directories laid out like theirs, on generated videos.

Every video is a tests.videos counter video (frame i shows i), so a test can tell which frames a
model saw. The answer keys are returned from here, to the test: test models answer from them by
(sample id, turn), never from what the harness hands the model.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.videos import make_video

FPS = 10
SIZE = (64, 48)


def ovo_records() -> list[dict]:
    """One record per task: nine questions at 3.4 s, three forward records with unsorted probes."""
    choice = [{"id": i, "task": code, "video": f"Ego4D/clips/v{i % 2}.mp4", "realtime": 3.4,
               "question": f"What is shown ({code})?", "options": ["red", "green", "blue", "white"], "gt": i % 4,
               "answer": ["red", "green", "blue", "white"][i % 4]}
              for i, code in enumerate(("EPM", "ASI", "HLD", "OJR", "STU", "OCR", "ATR", "ACR", "FPD"))]
    forward = [
        {"id": 9, "task": "REC", "video": "COIN/jump.mp4", "activity": "jumping", "start_times": [1], "end_times": [5],
         "test_info": [{"realtime": 2, "count": 0}, {"realtime": 5.5, "count": 2}, {"realtime": 4, "count": 1}]},
        {"id": 10, "task": "SSR", "video": "COIN/jump.mp4", "tutorial": "T", "all_steps": ["a", "b"],
         "start_time": [1, 4], "end_time": [3, 6],
         "test_info": [{"realtime": 2, "step": "a", "type": 1}, {"realtime": 1.5, "step": "b", "type": 0},
                       {"realtime": 5, "step": "b", "type": 1}]},
        {"id": 11, "task": "CRR", "video": "COIN/jump.mp4", "question": "What does he do next?", "answer": "jumps",
         "ask_time": 1, "clue_time": 4, "test_info": [{"realtime": 1, "type": 0}, {"realtime": 4.5, "type": 1}]},
    ]
    return choice + forward


def write_ovobench(root: Path) -> Path:
    for name in ("Ego4D/clips/v0.mp4", "Ego4D/clips/v1.mp4", "COIN/jump.mp4"):
        (root / "src_videos" / name).parent.mkdir(parents=True, exist_ok=True)
        make_video(root / "src_videos" / name, seconds=7.0, fps=FPS, size=SIZE)
    (root / "ovo_bench_new.json").write_text(json.dumps(ovo_records()), encoding="utf-8")
    return root


def sb_files() -> dict[str, list]:
    def q(stamp, answer="B", kind="Object Recognition", question="What is on screen?"):
        return {"task_type": kind, "question": question, "time_stamp": stamp, "answer": answer,
                "options": ["A. a cat.", "B. a dog.", "C. a cow.", "D. a hen."], "required_ability": "memory"}

    return {
        "real": [{"time": "[0:00:00 - 0:00:10]", "video_path": "./videos/sample_1_real.mp4",
                  "questions": [q("00:00:05", "C", "Counting"), q("00:00:02")]},
                 {"time": "[0:00:00 - 0:00:10]", "video_path": "./videos/sample_1_real.mp4",
                  "questions": [q("00:00:04", "A", "Counting", "How many?")]}],
        "omni": [{"time": "[0:00:00 - 0:00:10]", "video_path": "./videos/sample_2_Emotion_Recognition.mp4",
                  "questions": [q("00:00:03", "D", "Emotion Recognition")]}],
        "sqa": [[{"video_path": "./videos/sample_3_sqa.mp4", "questions": [q("00:00:02", "A", "Sequential Question Answering")]},
                 {"video_path": "./videos/sample_3_sqa.mp4", "questions": [q("00:00:05", "B", "Sequential Question Answering",
                                                                            "And the one before?")]}]],
        "proactive": [{"video_path": "./videos/sample_4_proactive.mp4", "questions": [
            {"task_type": "Proactive Output", "question": 'When the counter passes 40, output "forty".',
             "time_stamp": "00:00:01", "ground_truth_time_stamp": "00:00:04", "ground_truth_output": "forty",
             "required_ability": "working memory"}]}],
    }


def write_streamingbench(root: Path) -> Path:
    (root / "videos").mkdir(parents=True, exist_ok=True)
    for name in ("sample_1_real", "sample_2_Emotion_Recognition", "sample_3_sqa", "sample_4_proactive"):
        make_video(root / "videos" / f"{name}.mp4", seconds=7.0, fps=FPS, size=SIZE)
    for subset, data in sb_files().items():
        (root / f"questions_{subset}.json").write_text(json.dumps(data), encoding="utf-8")
    return root
