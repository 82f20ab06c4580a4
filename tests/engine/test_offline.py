"""Offline driver (##ANSWER##, history, silence head) and the OfflineAsStreaming bridge."""

from __future__ import annotations

import pytest

from omnibench.data.schema import Message, Query, Sample, VideoRef
from omnibench.engine.offline import OfflineAsStreaming, clip_for, run_offline
from omnibench.engine.stream import StreamPlan, StreamRunner, clock_frames, query_times
from omnibench.engine.wrapper import GuardedModel
from omnibench.task import Prompts
from omnibench.tasks.omnimmi_prompts import HistoryPrompts, TurnTakingPrompts


class Echo:
    needs_video = False

    def __init__(self):
        self.requests = []

    def generate(self, request):
        self.requests.append(request)
        return f"ans{request.turn}"


def md_sample() -> Sample:
    return Sample(id="md", task="t", video=VideoRef(path="v.mp4", end=10.0), turns=[
        Query(t=2.0, text="What task?", target="cook"),
        Query(t=5.0, text="First step of ##ANSWER##?", target="x", depends_on=0),
        Query(t=8.0, text="After ##ANSWER##?", target="y", depends_on=1),
    ])


def test_answer_placeholder_is_filled_with_the_models_own_previous_answer():
    model = Echo()
    record = run_offline(GuardedModel(model, model_id="e"), Prompts(), md_sample(), video_root=None, model_label="e")
    assert [r.prompt for r in model.requests] == ["What task?", "First step of ans0?", "After ans1?"]
    assert [r.end for r in model.requests] == [2.0, 5.0, 8.0]
    assert record.answer(2) == "ans2" and record.query_time(1) == 5.0


def test_state_grounding_prompt_carries_the_running_history():
    model = Echo()
    run_offline(GuardedModel(model, model_id="e"), HistoryPrompts(), md_sample(), video_root=None, model_label="e")
    assert model.requests[2].prompt == ("user\nWhat task?\nassistant\nans0\n"
                                        "user\nFirst step of ##ANSWER##?\nassistant\nans1\n"
                                        "user\nAfter ##ANSWER##?\nassistant\n")


def test_turn_taking_prompt_is_the_last_two_entries_and_the_head_can_stay_silent():
    sample = Sample(id="pt", task="t", video=VideoRef(path="v.mp4"), history=[
        Message(role="user", text="q1"), Message(role="assistant", text="a1"),
        Message(role="user", text="q2"), Message(role="assistant", text="a2")],
        turns=[Query(text="Nice weather.", kind="noise")])
    assert TurnTakingPrompts().offline(sample, 0, []) == "human\nq2\nassistant\na2\nhuman\nNice weather.\n"

    class Polite(Echo):
        def should_respond(self, request):
            return 0.2

    record = run_offline(GuardedModel(Polite(), model_id="p"), TurnTakingPrompts(), sample, video_root=None,
                         model_label="p", turn_taking=True)
    assert record.answer(0) == "" and record.emissions(0)[0].data == {"p_respond": 0.2}


def test_the_turn_taking_head_is_asked_on_every_turn_alike_so_it_cannot_tell_noise_by_being_asked():
    """Used to be consulted only on noise/stop turns: a head that always said 'silent' was told which
    turns were noise by being asked at all."""
    sample = Sample(id="n", task="t", video=VideoRef(path="v.mp4"),
                    turns=[Query(t=1.0, text="What colour is the square?", target="red"),
                           Query(t=2.0, text="Nice weather.", kind="noise")])

    class Shy(Echo):
        def should_respond(self, request):
            return 0.0

    record = run_offline(GuardedModel(Shy(), model_id="s"), Prompts(), sample, video_root=None, model_label="s",
                         turn_taking=True)
    assert [e.data for e in record.emissions()] == [{"p_respond": 0.0}, {"p_respond": 0.0}]
    plain = run_offline(GuardedModel(Shy(), model_id="s"), Prompts(), sample, video_root=None, model_label="s")
    assert all(e.data is None for e in plain.emissions()) and plain.answer(0)


def test_clips_are_found_by_end_time():
    sample = Sample(id="c", task="t", video=VideoRef(path="videos/a.mp4", clips={"13": "clips/a_13.mp4"}),
                    turns=[Query(t=13.0, text="q")])
    assert clip_for(sample, 13.0) == clip_for(sample, 13.7) == "clips/a_13.mp4" and clip_for(sample, 12.0) is None


def test_bridge_turns_yes_answers_into_alerts_at_poll_times():
    class Watcher:
        needs_video = False

        def __init__(self):
            self.prompts = []

        def generate(self, request):
            self.prompts.append(request.prompt)
            return "Yes." if request.end >= 3.0 else "no"

    sample = Sample(id="pa", task="t", video=VideoRef(path="v.mp4", end=5.0),
                    turns=[Query(t=0.0, text="Tell me when.", kind="alert_request", target=[3.0, 4.0])])
    watcher = Watcher()
    prompts = Prompts()
    bridge = GuardedModel(OfflineAsStreaming(GuardedModel(watcher, model_id="w"), prompts, sample, every=1.0),
                          model_id="b")
    runner = StreamRunner(bridge, prompts, tail_s=0.0)
    record = runner.run(sample, StreamPlan(5.0, clock_frames(5.0, 1.0), query_times(sample, 5.0)), model_label="w")
    alerts = [e.t for e in record.emissions(None)]
    assert alerts == [3.0, 4.0, 5.0]
    assert all("yes or no" in p for p in watcher.prompts) and len(watcher.prompts) == 6


def test_bridge_follows_the_models_declared_capabilities():
    """Used to read needs_video/num_frames off the raw model: Capabilities(...) came through as 16 frames."""
    import numpy as np

    from omnibench.engine.capabilities import Capabilities

    class FourFrames:
        capabilities = Capabilities(num_frames=4)

        def __init__(self):
            self.requests = []

        def generate(self, request):
            self.requests.append(request)
            return "ok"

    class Blind(FourFrames):
        capabilities = Capabilities(needs_video=False, num_frames=4)

    sample = Sample(id="q", task="t", video=VideoRef(path="v.mp4", end=9.0), turns=[Query(t=9.0, text="q?")])
    frames = [(float(t), np.full((2, 2, 3), t, np.uint8)) for t in range(10)]
    for model, shown in ((FourFrames(), 4), (Blind(), None)):
        bridge = GuardedModel(OfflineAsStreaming(GuardedModel(model, model_id="m"), Prompts(), sample), model_id="b")
        StreamRunner(bridge, Prompts(), tail_s=0.0).run(sample, StreamPlan(9.0, iter(frames), [9.0]), model_label="m")
        request = model.requests[0]
        assert (None if request.frames is None else len(request.frames)) == shown


@pytest.mark.parametrize("policy, status", [("report", "ok"), ("error", "error")])
def test_video_damage_met_by_the_offline_driver_is_on_the_record_once(tmp_path, policy, status):
    """Used to be dropped: only the streaming path recorded what the video reader met."""
    from omnibench import registry
    from omnibench.data.video import VideoReader
    from omnibench.engine.evaluate import Evaluation
    from omnibench.engine.eventlog import EventLog
    from omnibench.task import Task
    from tests.data.test_video_hostile import corrupt_middle
    from tests.videos import make_video

    corrupt_middle(tmp_path / "bad.mp4")
    make_video(tmp_path / "ok.mp4", seconds=3.0)
    samples = [Sample(id="bad", task="t_offdmg", video=VideoRef(path="bad.mp4"),   # two turns, same clip read twice
                      turns=[Query(t=8.0, text="what?", target="x"), Query(t=8.0, text="and?", target="x")]),
               Sample(id="ok", task="t_offdmg", video=VideoRef(path="ok.mp4"), turns=[Query(t=2.0, text="what?")])]

    class Looks:
        def generate(self, request):
            return "x"

    name = f"t_offdmg_{policy}"
    registry.task(name, hidden=True)(lambda: Task(name=name, samples=lambda: samples, protocols=("offline",),
                                                  scorers=[], headline="x", prompts=Prompts(), data_root=str(tmp_path)))
    try:
        Evaluation(model="l", out=tmp_path / "run", model_obj=Looks(), progress=False, video_issues=policy).run([name])
    finally:
        registry._TASKS.pop(name, None)
    records = {r.sample_id: r for p in (tmp_path / "run" / "logs" / name).glob("*.jsonl")
               for r in EventLog(p).records()}
    with VideoReader(tmp_path / "bad.mp4") as reader:
        reader.sample(count=16, end=8.0)                       # what one turn's read meets
        once = reader.issues.summary()
    assert any("damaged packet" in x for x in once)
    assert records["bad"].status == status and records["bad"].video_issues == once, "counted once, not per turn"
    assert records["ok"].status == "ok" and records["ok"].video_issues is None
    if policy == "error":
        assert "damaged video" in records["bad"].error


def test_an_adapter_that_reads_video_itself_gets_a_clip_cut_at_the_question_never_the_source(tmp_path):
    """Used to be the whole source file: nothing stopped such an adapter from reading past `end`."""
    from omnibench.data.video import VideoReader
    from tests.videos import make_video, read_index

    make_video(tmp_path / "v.mp4", seconds=4.0, fps=10)
    sample = Sample(id="c", task="t", video=VideoRef(path="v.mp4"),
                    turns=[Query(t=1.0, text="what now?"), Query(t=2.5, text="and now?")])

    class Reader:
        video_input = "clip"

        def __init__(self):
            self.seen = []

        def generate(self, request):
            assert request.frames is None and request.video_path != str(tmp_path / "v.mp4")
            with VideoReader(request.video_path) as reader:
                self.seen.append(read_index(reader.sample(fps=10.0).array[-1]))
            return "ok"

    model = Reader()
    run_offline(GuardedModel(model, model_id="r"), Prompts(), sample, video_root=tmp_path, model_label="r")
    assert model.seen == [10, 25]          # the last frame each clip holds is the one shown at the question
