"""lmms-eval docs -> omnibench OfflineRequests (no lmms_eval import: testable without it).

For an omnibench doc (it carries its sample) the request is the one omnibench's offline driver
builds: same frames (count/fps of the model, same span or clip), prompt, history, choices, query.
For any other lmms-eval doc: the context as prompt and frames from its visuals.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from omnibench.data.schema import Sample
from omnibench.engine.offline import frame_settings, model_caps, offline_request
from omnibench.engine.protocols import OfflineRequest
from omnibench.errors import DataError
from omnibench.lmms.tasks import doc_history

VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".flv", ".mpg", ".mpeg"}


def is_omnibench_doc(doc: Any) -> bool:
    return isinstance(doc, dict) and "sample" in doc and "turn" in doc and "prompt" in doc


def gen_settings(gen_kwargs: dict | None) -> dict[str, Any]:
    gen = dict(gen_kwargs or {})
    return {"max_new_tokens": int(gen.get("max_new_tokens") or 256),
            "temperature": float(gen.get("temperature") or 0.0)}


def request_from_doc(doc: dict[str, Any], model: Any, gen_kwargs: dict | None = None) -> OfflineRequest:
    """The request omnibench's offline driver would send for this doc's turn."""
    sample = Sample.model_validate_json(doc["sample"])
    turn = int(doc["turn"])
    query = sample.turns[turn]
    span = json.loads(doc.get("span") or "null")
    end = query.t if query.t is not None else sample.video.end
    frames = None
    needs_video = model_caps(model).needs_video
    if needs_video and not doc.get("video"):
        raise DataError(f"lmms-eval doc {doc.get('doc_id')} of task {sample.task} has no video, and this model "
                        "needs one: get the videos (for OmniMMI set OMNIBENCH_OMNIMMI_DIR), then run "
                        "`omnibench lmms-eval-path` again and use the folder it prints")
    if needs_video:
        from omnibench.data.video import VideoReader

        count, fps = frame_settings(model)
        with VideoReader(doc["video"]) as reader:
            frames = reader.sample(count=count, fps=fps) if span is None else \
                reader.sample(count=count, fps=fps, start=span[0], end=span[1])
            if end is None:
                end = reader.duration if span is None else (span[1] or reader.duration)
    return offline_request(sample, turn, doc["prompt"], end=end, history=doc_history(doc),
                           frames=frames.array if frames else None, frame_times=frames.times if frames else (),
                           video_path=doc.get("video") or None, **gen_settings(gen_kwargs))


def request_from_visuals(prompt: str, visuals: list[Any] | None, model: Any, gen_kwargs: dict | None = None,
                         *, task: str = "", sample_id: str = "") -> OfflineRequest:
    """A request for a foreign lmms-eval doc: a video path is sampled, images become frames."""
    frames, times, video_path = None, [], None
    paths = [v for v in (visuals or []) if isinstance(v, (str, Path))]
    images = [v for v in (visuals or []) if hasattr(v, "convert")]   # PIL images
    if paths:
        video_path = str(paths[0])
    if model_caps(model).needs_video:
        if video_path and Path(video_path).suffix.lower() in VIDEO_SUFFIXES:
            from omnibench.data.video import VideoReader

            count, fps = frame_settings(model)
            with VideoReader(video_path) as reader:
                sampled = reader.sample(count=count, fps=fps)
            frames, times = sampled.array, list(sampled.times)
        elif images:
            arrays = [np.asarray(img.convert("RGB")) for img in images]
            same = [a for a in arrays if a.shape == arrays[0].shape]   # frames must stack
            frames, times = np.stack(same), [float(i) for i in range(len(same))]
    return OfflineRequest(prompt=prompt, frames=frames, frame_times=times, video_path=video_path, task=task,
                          sample_id=sample_id, **gen_settings(gen_kwargs))
