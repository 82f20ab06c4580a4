"""The m4 adapter on real (generated) frames: offline answer, turn-taking, streaming answers,
interruptions arriving through ask() mid-answer, and alerts."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from omnibench import registry
from omnibench.data.schema import Query
from omnibench.engine.protocols import OfflineRequest, StreamInfo, is_offline, is_streaming
from omnibench.errors import ConfigError
from tests.videos import frame_pixels

FRAMES = np.stack([frame_pixels(i, (80, 60)) for i in range(20)])
NEVER_NOISE = {"noise_cap": 1.0, "noise_scale": 1e9}
ALWAYS_NOISE = {"noise_scale": 0.0}


def _m4(**settings):
    return registry.get_model("m4", tiny=True, max_new_tokens=12, tokens_per_poll=3, **settings)


def _stream(model, asks, seconds=6, info_task="t"):
    """Feed a frame per second, ask at the given times, poll after every step; returns emissions."""
    model.reset(StreamInfo(sample_id="s", task=info_task, duration=seconds, fps=1.0))
    out = []
    for t in range(seconds):
        model.feed(float(t), FRAMES[t])
        for when, query in asks:
            if when == t:
                model.ask(float(t), query)
        out += [(t, e) for e in model.poll(float(t))]
    return out


def _text(emissions, turn):
    return "".join(e.text for _, e in emissions if e.turn == turn)


def test_needs_a_checkpoint_or_tiny():
    with pytest.raises(ConfigError):
        registry.get_model("m4")


def test_offline_answer_and_turn_taking():
    model = _m4()
    assert is_offline(model) and is_streaming(model)
    request = OfflineRequest(prompt="What is shown?", frames=FRAMES, max_new_tokens=8)
    answer = model.generate(request)
    assert isinstance(answer, str) and answer == model.generate(request)      # greedy: deterministic
    p = model.should_respond(request)
    assert 0.0 <= p <= 1.0
    assert _m4(**ALWAYS_NOISE).should_respond(request) == 0.0
    assert _m4(**NEVER_NOISE).should_respond(request) > 0.99


def test_streaming_answer_arrives_in_deltas_then_done():
    model = _m4(judge_idle_turns=False)
    emissions = _stream(model, [(1, Query(t=1, text="What is shown?"))])
    mine = [e for _, e in emissions if e.turn == 0]
    assert mine and mine[-1].done and not any(e.done for e in mine[:-1])
    assert len(mine) > 2                                            # 12 tokens at 3 per poll


def test_noise_mid_answer_changes_nothing():
    question = (1, Query(t=1, text="What is shown?"))
    plain = _stream(_m4(judge_idle_turns=False, **ALWAYS_NOISE), [question])
    noisy = _stream(_m4(judge_idle_turns=False, **ALWAYS_NOISE),
                    [question, (2, Query(t=2, text="I love this song", kind="noise"))])
    assert _text(noisy, 0) == _text(plain, 0) and _text(noisy, 1) == ""
    assert sum(e.done for _, e in noisy if e.turn == 0) == 1


def test_a_real_query_mid_answer_ends_the_old_turn_and_answers_the_new():
    emissions = _stream(_m4(**NEVER_NOISE), [(1, Query(t=1, text="What is shown?")),
                                              (2, Query(t=2, text="And the colour?"))], seconds=8)
    first = [e for _, e in emissions if e.turn == 0]
    second = [e for _, e in emissions if e.turn == 1]
    assert first[-1].done and sum(e.done for e in first) == 1
    assert second and second[-1].done
    assert max(t for t, e in emissions if e.turn == 0) <= min(t for t, e in emissions if e.turn == 1)


def test_noise_while_silent_gets_no_reply():
    emissions = _stream(_m4(**ALWAYS_NOISE), [(1, Query(t=1, text="nice weather", kind="noise"))])
    assert emissions == []


def test_alert_request_alerts_with_the_frame_time():
    model = _m4(alpha=-100.0, count=0, warmup=1, alert_tokens=4)      # every frame salient: the first counted one fires
    emissions = _stream(model, [(0, Query(t=0, text="Tell me when the light turns red", kind="alert_request"))])
    alerts = [e for _, e in emissions if e.turn is None]
    assert alerts and all(e.done for e in alerts)
    assert alerts[0].refers_to in {float(t) for t in range(6)}
    request = Query(t=0, text="Tell me when it turns red", kind="alert_request")
    silent = _stream(_m4(alpha=100.0), [(0, request)], seconds=4)
    assert silent == []


@pytest.mark.parametrize("protocol", ["offline", "streaming"])
def test_runs_through_the_engine_on_a_generated_video(tmp_path, protocol):
    from omnibench.data.schema import Sample, VideoRef
    from omnibench.engine.evaluate import Evaluation
    from omnibench.engine.eventlog import EventLog
    from omnibench.task import Prompts, Task
    from tests.videos import make_video

    make_video(tmp_path / "v.mp4", seconds=4.0, fps=5, size=(80, 60))
    sample = Sample(id="s0", task="t_m4", video=VideoRef(path="v.mp4"),
                    turns=[Query(t=1.0, text="What is shown?"), Query(t=2.0, text="So?", kind="noise")])

    @registry.task("t_m4", hidden=True)
    def factory() -> Task:
        return Task(name="t_m4", samples=lambda: [sample], protocols=(protocol,), scorers=[], headline="x",
                    prompts=Prompts(), data_root=str(tmp_path))

    try:
        Evaluation(model="m4", model_args={"tiny": True, "max_new_tokens": 6, "judge_idle_turns": False},
                   out=tmp_path / "run", progress=False).run(["t_m4"])
    finally:
        registry._TASKS.pop("t_m4", None)
    records = [r for p in (tmp_path / "run" / "logs" / "t_m4").glob("*.jsonl") for r in EventLog(p).records()]
    assert len(records) == 1
    kinds = {e.kind for e in records[0].events}
    assert "error" not in kinds and "query" in kinds
    if protocol == "streaming":
        assert "frame" in kinds and any(e.kind == "emission" and e.turn == 0 for e in records[0].events)


def test_m4_tiny_loads_the_shipped_or_pointed_checkpoint_and_says_how_to_build_one(tmp_path, monkeypatch):
    from omnibench.m4.inference.pipeline import M4Pipeline
    from omnibench.m4.model.checkpoint import save_checkpoint

    tiny = M4Pipeline.tiny(seed=5)
    save_checkpoint(tiny.model, tmp_path / "ckpt", tiny.tokenizer)
    monkeypatch.setenv("OMNIBENCH_M4_TINY", str(tmp_path / "ckpt"))
    model = registry.get_model("m4-tiny", tokens_per_poll=3)
    assert model.pipeline.config.text == tiny.config.text
    monkeypatch.delenv("OMNIBENCH_M4_TINY")
    import omnibench.m4 as m4_pkg

    monkeypatch.setattr(m4_pkg, "checkpoints_dir", lambda: tmp_path / "none")
    with pytest.raises(ConfigError, match="m4 train --recipe tiny_cpu"):
        registry.get_model("m4-tiny")


def test_the_shipped_m4_tiny_loads_every_weight_on_the_installed_transformers_and_answers(monkeypatch):
    """.ci/transformers_matrix.sh runs this on the lowest and newest transformers allowed."""
    from safetensors.torch import load_file

    from omnibench.models.m4 import tiny_checkpoint

    monkeypatch.delenv("OMNIBENCH_M4_TINY", raising=False)
    ckpt = tiny_checkpoint()
    assert ckpt is not None, "m4/checkpoints/tiny is missing"
    model = registry.get_model("m4-tiny", tokens_per_poll=4)
    loaded = model.pipeline.model.state_dict()
    stored = load_file(str(ckpt / "model.safetensors"))
    assert len(stored) > 20 and len(loaded) >= len(stored)
    # every stored tensor reached some loaded parameter unchanged, whatever the CLIP layout's names
    loaded_sums = {round(float(v.float().sum()), 3) for v in loaded.values()}
    assert all(round(float(v.float().sum()), 3) in loaded_sums for v in stored.values())
    emissions = _stream(model, [(1, Query(t=1.0, text="What colour is the square?", kind="question"))], seconds=5)
    assert _text(emissions, 0).strip()
