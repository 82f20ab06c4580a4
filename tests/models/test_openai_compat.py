"""The OpenAI-compatible adapter, checked request by request against a local fake server."""

from __future__ import annotations

import base64
import io
import wave

import numpy as np
import pytest

from omnibench.data.schema import Message, Query, Sample, VideoRef
from omnibench.engine.offline import run_offline
from omnibench.engine.protocols import OfflineRequest
from omnibench.engine.wrapper import GuardedModel
from omnibench.errors import ModelError
from omnibench.task import Prompts
from tests.fake_openai import FakeOpenAI, FakeReply
from tests.videos import frame_pixels, make_video, read_index

pytest.importorskip("openai")
Image = pytest.importorskip("PIL.Image")


def adapter(server: FakeOpenAI, **settings):
    from omnibench.models.openai_compat import OpenAICompatible

    return OpenAICompatible(base_url=server.base_url, api_key="sk-test-secret", **settings)


def decoded_images(body: dict) -> list:
    parts = body["messages"][-1]["content"]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert all(u.startswith("data:image/jpeg;base64,") for u in urls)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(u.split(",", 1)[1]))).convert("RGB")) for u in urls]


def frames(indices, size=(160, 120)) -> np.ndarray:
    return np.stack([frame_pixels(i, size) for i in indices])


def test_request_carries_frames_in_order_then_prompt_and_settings():
    with FakeOpenAI(handler=lambda body: "a red square") as server:
        model = adapter(server, model="served-model", max_tokens=33, temperature=0.0, max_side=64)
        answer = model.generate(OfflineRequest(prompt="What moves?", frames=frames([1, 4, 9, 16])))
        body = server.bodies[0]
    assert answer == "a red square"
    assert body["model"] == "served-model" and body["max_tokens"] == 33 and body["temperature"] == 0.0
    images = decoded_images(body)
    assert [read_index(img) for img in images] == [1, 4, 9, 16]          # count and order
    assert all(max(img.shape[:2]) == 64 for img in images)                # resized to max_side
    assert body["messages"][-1]["content"][-1] == {"type": "text", "text": "What moves?"}
    assert server.requests[0].headers["authorization"] == "Bearer sk-test-secret"


def test_history_comes_before_the_question_and_request_settings_apply():
    with FakeOpenAI(handler=lambda body: "ok") as server:
        model = adapter(server, model="m", system="Be brief.")
        history = [Message(role="user", text="hi"), Message(role="assistant", text="hello")]
        model.generate(OfflineRequest(prompt="and now?", history=history, max_new_tokens=7, temperature=0.5))
        body = server.bodies[0]
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert body["messages"][1]["content"] == "hi" and body["messages"][2]["content"] == "hello"
    assert body["max_tokens"] == 7 and body["temperature"] == 0.5
    assert body["messages"][-1]["content"] == [{"type": "text", "text": "and now?"}]   # no frames given


def test_audio_part_only_when_enabled(tmp_path):
    wav = tmp_path / "q.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000), w.writeframes(b"\x00\x00" * 1600)
    request = OfflineRequest(prompt="q", frames=frames([2]), audio=str(wav))
    with FakeOpenAI(handler=lambda body: "ok") as server:
        adapter(server, audio=True).generate(request)
        adapter(server, audio=False).generate(request)
        with_audio, without = server.bodies
    kinds = [p["type"] for p in with_audio["messages"][-1]["content"]]
    assert kinds == ["image_url", "input_audio", "text"]
    part = with_audio["messages"][-1]["content"][1]["input_audio"]
    assert part["format"] == "wav" and base64.b64decode(part["data"]) == wav.read_bytes()
    assert [p["type"] for p in without["messages"][-1]["content"]] == ["image_url", "text"]


def test_usage_is_counted_and_the_key_never_shows(monkeypatch):
    with FakeOpenAI(handler=lambda body: "12345678") as server:
        model = adapter(server)
        model.generate(OfflineRequest(prompt="x"))
        model.generate(OfflineRequest(prompt="y"))
    assert model.usage["requests"] == 2
    assert model.last_usage["completion_tokens"] == 2          # the fake counts chars / 4
    assert model.usage["total_tokens"] == 2 * model.last_usage["total_tokens"] > 0
    assert "sk-test-secret" not in repr(model) and "sk-test-secret" not in str(vars(model))


def test_api_key_falls_back_to_the_environment(monkeypatch):
    from omnibench.models.openai_compat import OpenAICompatible

    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    with FakeOpenAI(handler=lambda body: "ok") as server:
        OpenAICompatible(base_url=server.base_url).generate(OfflineRequest(prompt="x"))
        assert server.requests[0].headers["authorization"] == "Bearer sk-from-env"


def test_rate_limits_are_retried_by_the_wrapper_and_bad_requests_are_not():
    replies = iter([FakeReply(status=429), FakeReply(status=503), "finally"])
    with FakeOpenAI(handler=lambda body: next(replies)) as server:
        guarded = GuardedModel(adapter(server), model_id="api", retries=3, backoff_s=0.0)
        assert guarded.generate(OfflineRequest(prompt="x"))[0] == "finally"
        assert server.count == 3
    with FakeOpenAI(handler=lambda body: FakeReply(status=400)) as server:
        guarded = GuardedModel(adapter(server), model_id="api", retries=3, backoff_s=0.0)
        with pytest.raises(ModelError, match="BadRequest") as err:
            guarded.generate(OfflineRequest(prompt="x"))
        assert server.count == 1 and "sk-test-secret" not in str(err.value)


def test_engine_sends_the_configured_number_of_frames_from_a_real_video(tmp_path):
    make_video(tmp_path / "clip.mp4", seconds=3.0, fps=10)
    sample = Sample(id="s1", task="t", video=VideoRef(path="clip.mp4"),
                    turns=[Query(t=2.0, text="What is shown?")])
    with FakeOpenAI(handler=lambda body: "shapes") as server:
        guarded = GuardedModel(adapter(server, num_frames=5, concurrency=3), model_id="api")
        assert guarded.max_concurrency == 3
        record = run_offline(guarded, Prompts(), sample, video_root=tmp_path, model_label="api")
        body = server.bodies[0]
    assert record.events[-1].text == "shapes"
    indices = [read_index(img) for img in decoded_images(body)]
    assert len(indices) == 5 and indices == sorted(indices) and indices[-1] <= 20   # clip ends at t=2 s
    assert "What is shown?" in body["messages"][-1]["content"][-1]["text"]


def test_frame_fps_setting_makes_the_engine_sample_by_fps():
    with FakeOpenAI() as server:
        model = adapter(server, frame_fps=2.0)
    from omnibench.engine.offline import frame_settings

    assert frame_settings(GuardedModel(model, model_id="api")) == (None, 2.0)


def test_each_call_s_token_usage_is_in_the_event_log_and_the_score_sums_it(tmp_path):
    """The server's `usage` of every call goes into its emission event (Event.data); scoring sums it
    over the task's samples into the result's settings."""
    from omnibench.engine.evaluate import Evaluation
    from omnibench.engine.eventlog import EventLog
    from omnibench.scoring.run_scores import score_run

    with FakeOpenAI(handler=lambda body: "a red square, moving left") as server:
        Evaluation(model="openai_compat", model_args={"base_url": server.base_url, "api_key": "sk-test-secret",
                                                      "num_frames": 2},
                   out=tmp_path, protocol="offline", limit=2, progress=False).run(["synth_sg"])
        calls = server.count
    records = [r for path in (tmp_path / "logs" / "synth_sg").glob("*.jsonl") for r in EventLog(path).records()]
    emissions = [e for r in records for e in r.emissions()]
    assert len(emissions) == calls > 0
    for event in emissions:
        usage = event.data["usage"]
        assert usage["completion_tokens"] == len("a red square, moving left") // 4      # the fake counts chars / 4
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > usage["completion_tokens"]
    (result,) = score_run(tmp_path, tasks=["synth_sg"])
    assert result.settings["usage"] == {key: sum(e.data["usage"][key] for e in emissions)
                                        for key in ("prompt_tokens", "completion_tokens", "total_tokens")}
