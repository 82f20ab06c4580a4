"""Offline driver (##ANSWER##, history, silence head) and the OfflineAsStreaming bridge."""

from __future__ import annotations

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
                         model_label="p")
    assert record.answer(0) == "" and record.emissions(0)[0].data == {"p_respond": 0.2}


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
    bridge = GuardedModel(OfflineAsStreaming(GuardedModel(watcher, model_id="w"), prompts, every=1.0), model_id="b")
    runner = StreamRunner(bridge, prompts, tail_s=0.0)
    record = runner.run(sample, StreamPlan(5.0, clock_frames(5.0, 1.0), query_times(sample, 5.0)), model_label="w")
    alerts = [e.t for e in record.emissions(None)]
    assert alerts == [3.0, 4.0, 5.0]
    assert all("yes or no" in p for p in watcher.prompts) and len(watcher.prompts) == 6
