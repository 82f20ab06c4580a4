"""openai_realtime through the real `openai` SDK against the local Realtime fake, in --mode realtime."""

from __future__ import annotations

import pytest

pytest.importorskip("websockets", reason="the realtime extra (websockets) is not installed")

from omnibench import registry
from omnibench.engine.evaluate import Evaluation
from omnibench.engine.eventlog import EventLog
from omnibench.errors import ConfigError
from omnibench.scoring.run_scores import score_run
from tests.models.fake_realtime import FakeRealtime
from tests.models.live_script import Script

SPEED = 10.0          # stream seconds per wall second: a 20 s synthetic stream plays in 2 s


def run_live(tmp_path, server, task: str, limit: int = 1, speed: float = SPEED, **args):
    model_args = {"base_url": server.base_url, "api_key": "sk-test-secret", "fps": 2, "speed": speed, **args}
    evaluation = Evaluation(model="openai_realtime", model_args=model_args, out=tmp_path, mode="realtime",
                            limit=limit, progress=False, task_settings={"n_per_task": 1})
    evaluation.run([task])
    records = [r for path in (tmp_path / "logs" / task).glob("*.jsonl") for r in EventLog(path).records()]
    return records, score_run(tmp_path, tasks=[task])[0]


def first_window(task: str):
    sample = registry.get_task(task, n_per_task=1).samples()[0]
    return sample, next(q.window for q in sample.turns if q.kind == "alert_request")


def test_lockstep_refuses_a_live_adapter(tmp_path):
    with FakeRealtime(Script()) as server, pytest.raises(ConfigError, match="--mode realtime"):
        Evaluation(model="openai_realtime", model_args={"base_url": server.base_url, "api_key": "k"},
                   out=tmp_path, mode="lockstep", progress=False).run(["synth_pa"])


def test_alert_spoken_when_the_red_frame_arrives_wall_clock_paced(tmp_path):
    sample, (start, end) = first_window("synth_pa")
    with FakeRealtime(Script()) as server:
        (record,), result = run_live(tmp_path, server, "synth_pa")
    assert record.status == "ok", record.error
    assert record.settings["clock"] == "wall" and record.settings["speed"] == SPEED
    assert 0.9 <= record.settings["real_time_factor"] <= 1.6           # kept pace with the clock
    frames = [e.t for e in record.events if e.kind == "frame"]
    assert len(frames) >= 0.8 * 2 * sample.video.end                     # 2 fps, few dropped
    assert all(b >= a for a, b in zip(frames, frames[1:]))
    unprompted = [e for e in record.emissions(None) if e.text]
    assert unprompted, "the fake speaks up on red frames"
    # the alert comes after the first red frame and no later than the fake's delay allows
    assert any(start - 0.5 <= e.t <= end + 2.0 for e in unprompted)
    assert result.metrics and "accuracy" in result.metrics
    assert record.settings["usage"]["frames"] == len(frames)
    assert server.headers[0]["query"]["model"] == ["gpt-realtime"]
    assert "sk-test-secret" not in (tmp_path / "run.json").read_text()
    assert "sk-test-secret" not in "".join(p.read_text() for p in (tmp_path / "logs").rglob("*.jsonl"))


def test_question_answered_with_latency_and_usage(tmp_path):
    with FakeRealtime(Script(answer_delay_s=0.04)) as server:
        (record,), _ = run_live(tmp_path, server, "synth_noise", speed=5)
    assert record.status == "ok", record.error
    latency = record.settings["first_response_s"][0]
    # 0.04 wall seconds of fake delay = 0.2 stream seconds at speed 5, plus scheduling
    assert latency is not None and 0.15 <= latency <= 0.9
    assert record.answer(0).startswith("I")        # then the remark barges in (interrupt=true)
    events = [e["type"] for e in server.script.log]
    assert "session.update" in events and events.count("response.create") >= 2
    creates = [e for e in server.script.log if e["type"] == "response.create"]
    assert creates[0]["response"]["metadata"] == {"turn": "0"}
    usage = record.settings["usage"]
    assert usage["responses"] >= 1 and usage["input_tokens"] >= usage["image_tokens"] > 0


def test_remark_cuts_the_answer_unless_interrupt_is_off(tmp_path):
    script = Script(word_s=0.03, answer_words=30)
    with FakeRealtime(script) as server:
        (cut,), default = run_live(tmp_path / "a", server, "synth_noise", speed=5)
    with FakeRealtime(Script(word_s=0.03, answer_words=30)) as server:
        (kept,), waiting = run_live(tmp_path / "b", server, "synth_noise", speed=5, interrupt=False)
    assert cut.settings["interruptions"] >= 1            # barge-in: the remark cancelled the answer
    assert waiting.n_scored == default.n_scored == 1
    assert len(kept.answer(0).split()) > len(cut.answer(0).split())


def test_stop_cancels_the_answer(tmp_path):
    with FakeRealtime(Script(word_s=0.05, answer_words=40)) as server:
        (record,), result = run_live(tmp_path, server, "synth_stop", speed=5)
    assert record.status == "ok", record.error
    assert any(e["type"] == "response.cancel" for e in server.script.log)
    assert any(e.get("status") == "cancelled" for e in server.script.log if e["type"] == "fake.response")
    assert record.settings["interruptions"] >= 1
    assert result.metrics["stopped"].value == 1.0        # the first synth_stop sample is a true stop


def test_connection_drop_reconnects_once_with_state_rebuilt(tmp_path):
    with FakeRealtime(Script(drop_after_frames=6)) as server:
        (record,), _ = run_live(tmp_path, server, "synth_pa")
    assert record.status == "ok", record.error
    assert server.connections == 2 and server.dropped
    updates = [e for e in server.script.log if e["type"] == "session.update"]
    assert len(updates) == 2 and updates[1]["session"]["instructions"]        # instructions resent


def test_second_drop_is_a_sample_error_with_the_reason(tmp_path):
    class DropsTwice(FakeRealtime):
        async def _frame(self, ws, part, state, send):
            self.frames += 1
            if self.frames % 3 == 0:
                ws.transport.abort()
                return True
            return False

    with DropsTwice(Script()) as server:
        (record,), result = run_live(tmp_path, server, "synth_pa")
    assert record.status == "error" and "dropped again" in record.error
    assert result.n_errors == 1


def test_rate_limit_surfaces_as_such(tmp_path):
    with FakeRealtime(Script(rate_limit=True)) as server:
        (record,), _ = run_live(tmp_path, server, "synth_noise")
    assert record.status == "error" and "rate limit or quota" in record.error
    assert "rate_limit_exceeded" in record.error


def test_spoken_turn_goes_in_as_24khz_pcm(tmp_path):
    pytest.importorskip("scipy")
    from omnibench.data.tts import espeak_available

    if not espeak_available():
        pytest.skip("needs espeak-ng for the spoken turns")
    with FakeRealtime(Script()) as server:
        (record,), _ = run_live(tmp_path, server, "synth_noise", speed=5, audio=True, interrupt=False)
    assert record.status == "ok", record.error
    audio = [p for e in server.script.log if e["type"] == "conversation.item.create"
             for p in e["item"]["content"] if p["type"] == "input_audio"]
    assert audio
    import base64

    from omnibench.data.tts import read_wav

    sample = registry.get_task("synth_noise", n_per_task=1).samples()[0]
    seconds = [len(base64.b64decode(p["audio"])) / 2 / 24000 for p in audio]
    assert all(0.3 < s < 10 for s in seconds)                            # 16-bit mono at 24 kHz
    assert record.answer(0)
    del read_wav, sample
