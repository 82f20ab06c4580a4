"""Every OVO-Bench and StreamingBench task end to end on generated videos laid out like theirs, both protocols.

The test models answer from the test's own answer key by (sample id, turn) and record what they
were given: which frames (each frame shows its index), when each question came, the clip's end.
"""

from __future__ import annotations

import math

import pytest

from omnibench.data import ovobench, streamingbench
from omnibench.engine.evaluate import Evaluation
from omnibench.engine.protocols import Emission
from omnibench.scoring.run_scores import score_run
from tests.peer_layout import FPS, write_ovobench, write_streamingbench
from tests.videos import read_index

OVO_TASKS = [ovobench.task_name(c) for c in ovobench.TASKS]
SB_CHOICE = ["streamingbench_real", "streamingbench_omni", "streamingbench_sqa"]


@pytest.fixture(scope="module")
def ovo_dir(tmp_path_factory):
    return write_ovobench(tmp_path_factory.mktemp("ovo"))


@pytest.fixture(scope="module")
def sb_dir(tmp_path_factory):
    return write_streamingbench(tmp_path_factory.mktemp("sb"))


def answer_key(samples) -> dict[tuple[str, int], str]:
    return {(s.id, i): str(q.target) for s in samples for i, q in enumerate(s.turns) if isinstance(q.target, str)}


class KeyedOffline:
    """Answers each request from the key; records the clip it was shown."""

    num_frames = 4

    def __init__(self, key, alerts=None):
        self.key, self.alerts, self.seen = key, alerts or {}, []

    def generate(self, request) -> str:
        shown = [read_index(f) / FPS for f in request.frames] if request.frames is not None else []
        self.seen.append((request.sample_id, request.turn, request.end, shown, request.prompt))
        if request.sample_id in self.alerts:                   # proactive, through the bridge
            gt, output = self.alerts[request.sample_id]
            if "yes or no" in request.prompt:
                return "yes" if shown and max(shown) >= gt else "no"
            return f"It is {output} now."
        return self.key[(request.sample_id, request.turn)]


class KeyedStreaming:
    """Answers each question as it is asked; says a proactive output once the frame of its moment is fed."""

    fps = 2.0

    def __init__(self, key, alerts=None):
        self.key, self.alerts, self.asks, self.fed = key, alerts or {}, [], {}

    def reset(self, info) -> None:
        self.sid, self.turn, self.queue, self.done = info.sample_id, 0, [], False

    def feed(self, t, frame) -> None:
        self.fed[self.sid] = max(self.fed.get(self.sid, 0.0), read_index(frame) / FPS)
        if self.sid in self.alerts and not self.done and t >= self.alerts[self.sid][0]:
            self.done = True
            self.queue.append(Emission(f"{self.alerts[self.sid][1]}!", turn=None))

    def ask(self, t, query) -> None:
        self.asks.append((self.sid, self.turn, t))
        if (self.sid, self.turn) in self.key:
            self.queue.append(Emission(self.key[(self.sid, self.turn)], turn=self.turn))
        self.turn += 1

    def poll(self, t):
        out, self.queue = self.queue, []
        return out


def _run(tmp_path, tasks, model, settings, protocol=None):
    out = tmp_path / "run"
    Evaluation(model="keyed", model_obj=model, out=out, task_settings=settings, progress=False,
               protocol=protocol).run(tasks)
    return {r.task: r for r in score_run(out, task_settings=settings, tasks=tasks)}


def test_ovobench_offline_clips_end_at_each_question_and_probe(ovo_dir, tmp_path):
    samples = [s for code in ovobench.TASKS for s in ovobench.load(code, ovo_dir)]
    model = KeyedOffline(answer_key(samples))
    results = _run(tmp_path, OVO_TASKS, model, {"data_dir": str(ovo_dir)})
    assert {t: r.metrics["accuracy"].value for t, r in results.items()} == dict.fromkeys(OVO_TASKS, 1.0)
    ends = {(sid, turn): end for sid, turn, end, _, _ in model.seen}
    assert ends[("epm-0000", 0)] == 3.4
    assert [ends[("rec-0009", k)] for k in range(3)] == [2.0, 4.0, 5.5]      # probes in time order
    for sid, turn, end, shown, _ in model.seen:                                # never a frame after the question
        assert shown and max(shown) <= end + 1e-9 and max(shown) >= end - 1 / FPS - 1e-9, (sid, turn)
    prompt = next(p for sid, _, _, _, p in model.seen if sid == "ssr-0010")
    assert '"b"' in prompt and "yes or no" in prompt


def test_ovobench_reference_clips_end_at_the_next_whole_second(ovo_dir, tmp_path):
    samples = [s for code in ovobench.TASKS for s in ovobench.load(code, ovo_dir, clip_end="ceil")]
    model = KeyedOffline(answer_key(samples))
    results = _run(tmp_path, ["ovobench_epm", "ovobench_rec"], model, {"data_dir": str(ovo_dir), "clip_end": "ceil"})
    assert results["ovobench_epm"].metrics["accuracy"].value == 1.0
    assert sorted(end for _, _, end, _, _ in model.seen) == [2.0, 4.0, 4.0, 6.0]   # ceil(3.4), ceil(2/4/5.5)
    assert max(model.seen[0][3]) > 3.4                                             # the reference's clip runs past it


def test_ovobench_streaming_asks_each_probe_at_its_time(ovo_dir, tmp_path):
    samples = [s for code in ovobench.TASKS for s in ovobench.load(code, ovo_dir)]
    model = KeyedStreaming(answer_key(samples))
    results = _run(tmp_path, OVO_TASKS, model, {"data_dir": str(ovo_dir)})
    assert {t: r.metrics["accuracy"].value for t, r in results.items()} == dict.fromkeys(OVO_TASKS, 1.0)
    asks = {(sid, turn): t for sid, turn, t in model.asks}
    assert [asks[("rec-0009", k)] for k in range(3)] == [2.0, 4.0, 5.5]
    assert [asks[("ssr-0010", k)] for k in range(3)] == [1.5, 2.0, 5.0]
    assert asks[("ocr-0005", 0)] == 3.4


def test_an_offline_model_takes_ovobench_streaming_through_the_bridge(ovo_dir, tmp_path):
    samples = ovobench.load("CRR", ovo_dir)
    model = KeyedOffline(answer_key(samples))
    results = _run(tmp_path, ["ovobench_crr"], model, {"data_dir": str(ovo_dir)}, protocol="streaming")
    assert results["ovobench_crr"].metrics["accuracy"].value == 1.0
    assert [end for _, _, end, _, _ in model.seen] == [1.0, 4.5]          # each probe answered when it is asked


def test_streamingbench_offline_and_streaming_on_generated_videos(sb_dir, tmp_path):
    samples = [s for subset in ("real", "omni", "sqa") for s in streamingbench.load(subset, sb_dir)]
    key = answer_key(samples)
    offline = KeyedOffline(key)
    results = _run(tmp_path / "off", SB_CHOICE, offline, {"data_dir": str(sb_dir)})
    assert {t: r.metrics["accuracy"].value for t, r in results.items()} == dict.fromkeys(SB_CHOICE, 1.0)
    assert results["streamingbench_real"].metrics["counting"].value == 1.0
    real = [(turn, end) for sid, turn, end, _, _ in offline.seen if sid == "real-sample_1_real"]
    assert real == [(0, 2.0), (1, 4.0), (2, 5.0)]        # one video, its questions in time order
    sqa_second = next(p for sid, turn, _, _, p in offline.seen if sid == "sqa-sample_3_sqa" and turn == 1)
    assert "And the one before?" in sqa_second
    streaming = KeyedStreaming(key)
    results = _run(tmp_path / "on", SB_CHOICE, streaming, {"data_dir": str(sb_dir)})
    assert {t: r.metrics["accuracy"].value for t, r in results.items()} == dict.fromkeys(SB_CHOICE, 1.0)
    assert [t for sid, _, t in streaming.asks if sid == "real-sample_1_real"] == [2.0, 4.0, 5.0]


def test_streamingbench_context_window_starts_the_clip_before_the_question(sb_dir, tmp_path):
    samples = streamingbench.load("real", sb_dir)
    model = KeyedOffline(answer_key(samples))
    _run(tmp_path, ["streamingbench_real"], model, {"data_dir": str(sb_dir), "context_s": 2})
    for _, _, end, shown, _ in model.seen:
        assert min(shown) >= end - 2 - 1e-9 and max(shown) <= end + 1e-9


def test_streamingbench_proactive_streaming_and_through_the_bridge(sb_dir, tmp_path):
    (sample,) = streamingbench.load("proactive", sb_dir)
    alerts = {sample.id: (4.0, "forty")}
    results = _run(tmp_path / "on", ["streamingbench_proactive"], KeyedStreaming({}, alerts), {"data_dir": str(sb_dir)})
    metrics = results["streamingbench_proactive"].metrics
    assert metrics["answer_accuracy"].value == 1.0 and metrics["time_f1"].value == 1.0
    bridge = KeyedOffline({}, alerts)
    results = _run(tmp_path / "off", ["streamingbench_proactive"], bridge, {"data_dir": str(sb_dir)})
    assert results["streamingbench_proactive"].metrics["answer_accuracy"].value == 1.0
    polls = [end for _, _, end, _, p in bridge.seen if "yes or no" in p]
    assert polls == [1.0, 2.0, 3.0, 4.0]                 # polled each second from the question; stops once answered
    assert math.isclose(bridge.seen[-1][2], 4.0) and "yes or no" not in bridge.seen[-1][4]
