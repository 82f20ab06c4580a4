"""gemini_live through the real `google-genai` SDK against the local Live fake, in --mode realtime."""

from __future__ import annotations

import pytest

pytest.importorskip("google.genai", reason="the gemini extra (google-genai) is not installed")
pytest.importorskip("cryptography", reason="the Live fake serves TLS: needs cryptography for its certificate")

from omnibench import registry
from omnibench.engine.evaluate import Evaluation
from omnibench.engine.eventlog import EventLog
from omnibench.scoring.run_scores import score_run
from tests.models.fake_gemini_live import FakeGeminiLive
from tests.models.live_script import Script


@pytest.fixture
def live(monkeypatch):
    """A Live fake the SDK trusts (SSL_CERT_FILE is read when the client is built)."""
    servers = []

    def start(script: Script | None = None) -> FakeGeminiLive:
        server = FakeGeminiLive(script or Script()).__enter__()
        monkeypatch.setenv("SSL_CERT_FILE", str(server.cert_file))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def run_live(tmp_path, server, task: str, speed: float = 10.0, **args):
    model_args = {"base_url": server.base_url, "api_key": "g-test-secret", "fps": 2, "speed": speed, **args}
    Evaluation(model="gemini_live", model_args=model_args, out=tmp_path, mode="realtime", limit=1, progress=False,
               task_settings={"n_per_task": 1}).run([task])
    records = [r for path in (tmp_path / "logs" / task).glob("*.jsonl") for r in EventLog(path).records()]
    return records, score_run(tmp_path, tasks=[task])[0]


def test_setup_and_alert_on_red_frame(tmp_path, live):
    server = live()
    sample = registry.get_task("synth_pa", n_per_task=1).samples()[0]
    start, end = next(q.window for q in sample.turns if q.kind == "alert_request")
    (record,), result = run_live(tmp_path, server, "synth_pa", proactive=True)
    assert record.status == "ok", record.error
    assert server.paths[0] == "/ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent"
    setup = server.setups[0]
    assert setup["model"] == "models/gemini-live-2.5-flash-preview"
    assert setup["generationConfig"]["responseModalities"] == ["TEXT"]
    assert "live video" in setup["systemInstruction"]["parts"][0]["text"]
    alerts = [e for e in record.emissions() if e.text and e.turn in (None, 0)]
    assert any(start - 0.5 <= e.t <= end + 2.0 for e in alerts)
    assert record.settings["clock"] == "wall" and 0.9 <= record.settings["real_time_factor"] <= 1.6
    assert record.settings["usage"]["frames"] == server.frames > 0
    assert record.settings["usage"]["input_tokens"] >= 258
    assert "accuracy" in result.metrics
    assert "g-test-secret" not in "".join(p.read_text() for p in tmp_path.rglob("*.json*"))


def test_proactive_audio_passes_over_a_remark(tmp_path, live):
    script = dict(word_s=0.03, answer_words=20)
    (proactive,), kept = run_live(tmp_path / "a", live(Script(**script)), "synth_noise", speed=5, proactive=True)
    (plain,), derailed = run_live(tmp_path / "b", live(Script(**script)), "synth_noise", speed=5, proactive=False)
    assert proactive.status == plain.status == "ok"
    assert kept.n_scored == derailed.n_scored == 1             # the first synth_noise sample is a remark
    assert plain.settings["interruptions"] >= 1
    assert proactive.settings["first_response_s"][0] is not None


def test_stop_interrupts_and_silences(tmp_path, live):
    server = live(Script(word_s=0.03, answer_words=40))
    (record,), result = run_live(tmp_path, server, "synth_stop", speed=5)
    assert record.status == "ok", record.error
    assert record.settings["interruptions"] >= 1
    assert result.metrics["stopped"].value == 1.0        # the first synth_stop sample is a true stop


def test_manual_activity_framing_when_turn_detection_is_off(tmp_path, live):
    server = live()
    (record,), _ = run_live(tmp_path, server, "synth_noise", speed=5, turn_detection=False)
    assert record.status == "ok", record.error
    from tests.models.fake_gemini_live import field

    detection = field(field(server.setups[0], "realtimeInputConfig"), "automaticActivityDetection")
    assert detection["disabled"] is True
    kinds = [next(iter(m.get("realtime_input", m.get("realtimeInput", {}))), None) for m in server.script.log]
    i = kinds.index("text")
    assert kinds[i - 1] in ("activity_start", "activityStart") and kinds[i + 1] in ("activity_end", "activityEnd")


def test_drop_reconnects_once_then_quota_is_an_error(tmp_path, live):
    server = live(Script(drop_after_frames=5))
    (record,), _ = run_live(tmp_path / "a", server, "synth_pa")
    assert record.status == "ok", record.error
    assert server.connections == 2 and len(server.setups) == 2
    (limited,), result = run_live(tmp_path / "b", live(Script(rate_limit=True)), "synth_pa")
    assert limited.status == "error" and "rate limit or quota" in limited.error and "quota" in limited.error
    assert result.n_errors == 1


def test_spoken_turn_goes_in_as_16khz_pcm(tmp_path, live):
    from omnibench.data.tts import espeak_available

    if not espeak_available():
        pytest.skip("needs espeak-ng for the spoken turns")
    server = live()
    (record,), _ = run_live(tmp_path, server, "synth_noise", speed=5, audio=True)
    assert record.status == "ok", record.error
    assert server.audio_bytes and all(m == "audio/pcm;rate=16000" for m, _ in server.audio_bytes)
    assert all(0.3 < n / 2 / 16000 < 10 for _, n in server.audio_bytes)
    assert any(e.text for e in record.emissions())     # the fake answers what it hears
