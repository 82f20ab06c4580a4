"""Start one side of bench/vs_lmms_eval.py and record what it ran with.

    python bench/_vs_lmms_launch.py omnibench ARGS...   # `omnibench run` with the bench tasks registered
    python bench/_vs_lmms_launch.py lmms-eval ARGS...   # lmms-eval's CLI

At exit the side writes {"torch": torch.__version__, "torch_threads": ..., "python": ...} of the torch
it imported to $BENCH_VS_LMMS_SIDE_INFO, so the bench reports the build each side really used.

One change to lmms-eval, made to compare like with like: its multi-round path (`qwen2_5_vl`'s
`generate_until_multi_round`, the only one that feeds the model its own answers) hands the
processor bare frame tensors without their timing, so transformers assumes 24 fps
(`VideoMetadata.sampled_fps`) and tells the model 2/24 s per temporal patch where the bench's 2 fps
clips need 2/2; its single-turn chat path passes the timing and is left alone. Here the processor
gets the timing of the bench's clips (FPS frames per second, every frame kept), the metadata
lmms-eval's chat path builds itself. The time this costs is nil; without it the two tools ask the
model different questions and their multi-turn answers cannot be compared.
BENCH_VS_LMMS_AS_SHIPPED=1 (the bench's --lmms-as-shipped) leaves lmms-eval as it is, to see that.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def record_side() -> None:
    out = os.environ.get("BENCH_VS_LMMS_SIDE_INFO")
    torch = sys.modules.get("torch")
    if out and torch is None:
        # omnibench runs the model in a worker process: same interpreter, environment and thread settings
        import torch
    if out and torch is not None:
        Path(out).write_text(json.dumps({"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                                         "python": sys.executable}))


class _TimedProcessor:
    """The checkpoint's processor; a call with videos and no metadata gets the bench clips' timing."""

    def __init__(self, processor, fps: float):
        self._processor, self._fps = processor, fps

    def __call__(self, *args, videos=None, video_metadata=None, **kwargs):
        if videos is not None and video_metadata is None:
            video_metadata = [{"fps": self._fps, "total_num_frames": len(v), "frames_indices": list(range(len(v)))}
                              for v in videos]
        return self._processor(*args, videos=videos, video_metadata=video_metadata, **kwargs)

    def __getattr__(self, name):
        return getattr(self._processor, name)


def give_multi_round_its_timing() -> None:
    from _vs_lmms_tasks import FPS
    from lmms_eval.models.simple.qwen2_5_vl import Qwen2_5_VL

    plain = Qwen2_5_VL.generate_until_multi_round

    def generate_until_multi_round(self, requests):
        if not isinstance(self.processor, _TimedProcessor):
            self.processor = _TimedProcessor(self.processor, FPS)
        return plain(self, requests)

    Qwen2_5_VL.generate_until_multi_round = generate_until_multi_round


if __name__ == "__main__":
    side, *args = sys.argv[1:]
    atexit.register(record_side)
    if side == "lmms-eval":
        if not os.environ.get("BENCH_VS_LMMS_AS_SHIPPED"):
            give_multi_round_its_timing()
        from lmms_eval.cli.dispatch import main as lmms_eval_main

        sys.argv = ["lmms-eval", *args]
        sys.exit(lmms_eval_main())
    else:
        from _vs_lmms_tasks import register

        register(Path(os.environ["BENCH_VS_LMMS_ROOT"]))
        from omnibench.cli import main

        sys.exit(main(args))
