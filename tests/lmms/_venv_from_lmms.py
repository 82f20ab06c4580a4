"""Run inside .venv-lmms by test_lmms_eval.py: lmms-eval models driven by omnibench.

Prints one JSON line: a simple model (`dummy`) on an offline task and, through the
OfflineAsStreaming bridge, on a streaming-only task; a chat model (`openai`, against a local
fake server) with history and frames.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # for tests.fake_openai

from omnibench.data.schema import Message
from omnibench.engine.evaluate import Evaluation
from omnibench.engine.eventlog import EventLog
from omnibench.engine.protocols import OfflineRequest
from omnibench.lmms.from_lmms import make_model
from tests.fake_openai import FakeOpenAI

out = Path(sys.argv[1])
# decode_num_frames makes dummy decode every video it gets: a bad temp video fails the call
dummy = make_model("lmms:dummy", response="yes", decode_num_frames=2, num_frames=4)
evaluation = Evaluation(model="lmms:dummy", model_args={"response": "yes"}, out=out, limit=2, progress=False,
                        task_settings={"seed": 0}, model_obj=dummy)
runs = evaluation.run(["synth_ap", "synth_pa"])
records = {r.task: list(EventLog(r.log_paths[0]).records()) for r in runs}

seen: list[dict] = []
with FakeOpenAI(handler=lambda body: seen.append(body) or "blue") as server:
    chat = make_model("lmms:openai", model_version="fake", base_url=server.base_url, api_key="test",
                      max_frames_num=2, httpx_trust_env=False)
    frames = np.random.default_rng(0).integers(0, 255, (3, 33, 47, 3), dtype=np.uint8)   # odd sizes on purpose
    reply = chat.generate(OfflineRequest(prompt="What colour?", frames=frames, frame_times=[0.0, 0.5, 1.0],
                                         history=[Message(role="user", text="hi"),
                                                  Message(role="assistant", text="hello")]))
messages = seen[0]["messages"] if seen else []
print(json.dumps({
    "errors": [rec.error for recs in records.values() for rec in recs if rec.status == "error"],
    "answers": [rec.answer(0) for rec in records["synth_ap"]],
    "protocols": sorted({rec.settings.get("protocol") for rec in records["synth_pa"]}),
    "alerts": sum(1 for rec in records["synth_pa"] for e in rec.emissions(None)),
    "chat_simple": chat.is_simple, "chat_reply": reply,
    "chat_roles": [m["role"] for m in messages],
    "chat_last": [c.get("type") for c in messages[-1]["content"]] if messages else [],
}))
