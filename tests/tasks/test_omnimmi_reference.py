"""Rows 1, 5, 6 and 7 of the README's differences table, each in our mode and in reference mode."""

from __future__ import annotations

import pytest

from omnibench import reference
from omnibench.data import omnimmi
from omnibench.engine.eventlog import Event, SampleRecord
from omnibench.engine.stream import query_times
from omnibench.reference_prompts import write_reference_prompts
from omnibench.rundir import build_task
from tests.reference_fixture import write_checkout, write_data

REF = reference.task_settings("omnimmi", {})


@pytest.fixture
def data(tmp_path):
    return write_data(tmp_path / "files")[0]


def _samples(name, data, **settings):
    return build_task(name, {"data_dir": str(data), **settings}).samples()


# row 1: SI offline input
def test_si_offline_input_is_causal_here_and_the_whole_video_in_reference_mode(data):
    ours = _samples("omnimmi_si", data)
    ref = _samples("omnimmi_si", data, si_input=REF["si_input"])
    assert [s.turns[0].t for s in ours] == [12.4, 30.0, 5.7]     # clip [0, timestamp]
    assert [s.turns[0].t for s in ref] == [None, None, None]     # t=None: the whole video
    # the streaming ask stays at the timestamp when only the input changes
    alone = omnimmi.load("si", data, si_input="whole")
    assert query_times(alone[0], 60.0, fps=2.0) == [12.5]


# row 5: AP prompt wording
def test_ap_prompt_is_ours_by_default_and_the_checkouts_in_reference_mode(data, tmp_path):
    paths = write_reference_prompts(write_checkout(tmp_path / "OmniMMI"), tmp_path / "prompts")
    ours = build_task("omnimmi_ap", {"data_dir": str(data)})
    ref = build_task("omnimmi_ap", {"data_dir": str(data), "prompts_file": str(paths["tasks"])})
    sample = ours.samples()[0]
    assert ours.prompts.offline(sample, 0, []) == (
        "What is the next step? Choose the next step from this list of steps: ['add eggs', 'stir'].")
    assert ref.prompts.offline(sample, 0, []) == "What is the next step?; stand-in: pick one of ['add eggs', 'stir']."
    settings = reference.task_settings("omnimmi", {}, prompts=tmp_path / "prompts")
    assert settings["prompts_file"] == str(paths["tasks"])


# row 6: streaming ask times
def test_ask_times_are_video_and_span_end_here_and_the_reference_loops_in_reference_mode(data):
    fps = 2.0
    ap_ours, ap_ref = _samples("omnimmi_ap", data)[0], _samples("omnimmi_ap", data, ask_times="reference")[0]
    assert query_times(ap_ours, 20.0, fps) == [20.0]
    assert query_times(ap_ref, 20.0, fps) == [(int(20.0 * fps) - 5) / fps]              # frame N-5
    sg_ours, sg_ref = _samples("omnimmi_sg", data)[0], _samples("omnimmi_sg", data, ask_times="reference")[0]
    assert query_times(sg_ours, 30.0, fps) == [4.0, 9.0, 15.0]                            # span ends
    assert query_times(sg_ref, 30.0, fps) == [2.0, 6.5, 12.0]                             # span midpoints
    si_ours, si_ref = _samples("omnimmi_si", data)[0], _samples("omnimmi_si", data, ask_times="reference")[0]
    assert query_times(si_ours, 60.0, fps) == [12.4]
    assert query_times(si_ref, 60.0, fps) == [int(12.4 * fps) / fps]                      # frame int(ts*fps)
    # the offline clips of SG still end at the span end in reference mode
    assert [q.t for q in sg_ref.turns] == [4.0, 9.0, 15.0]
    assert REF["ask_times"] == "reference"


def test_reference_ask_times_keep_turn_order_and_the_video_bounds():
    plan = [{"at_least": 5.0}, {"at_least": 3.0}, {"frames_before_end": 100}, {"frame_of": 99.0}]
    assert reference.stream_ask_times(plan, 10.0, 1.0) == [5.0, 5.0, 5.0, 10.0]


# row 7: PA alert time
def _alert_record(sample):
    return SampleRecord(sample_id=sample.id, task=sample.task, model="m", events=[
        Event(kind="query", t=0.0, turn=0, text="q"),
        Event(kind="emission", t=25.0, text="now", refers_to=12.0, done=True)])


def test_pa_scores_the_spoken_time_here_and_the_claimed_time_in_reference_mode(data):
    ours = build_task("omnimmi_pa", {"data_dir": str(data)})
    ref = build_task("omnimmi_pa", {"data_dir": str(data), "alert_time": REF["alert_time"]})
    sample = ours.samples()[0]                                       # window [10, 20]
    assert ours.scorers[0](sample, _alert_record(sample)).values["accuracy"] == 0.0   # spoke at 25
    assert ref.scorers[0](sample, _alert_record(sample)).values["accuracy"] == 1.0    # claimed 12


# row 12 for any streaming model: the reference's PA loop ignores alerts at int(t) == 0
def test_pa_keeps_a_first_second_alert_here_and_drops_it_in_reference_mode(data):
    ours = build_task("omnimmi_pa", {"data_dir": str(data)})
    ref = build_task("omnimmi_pa", {"data_dir": str(data), "drop_first_second": REF["drop_first_second"]})
    sample = ours.samples()[0]                                       # window [10, 20]
    record = SampleRecord(sample_id=sample.id, task=sample.task, model="m", events=[
        Event(kind="query", t=0.0, turn=0, text="q"), Event(kind="emission", t=0.6, text="now", done=True),
        Event(kind="emission", t=12.0, text="now", done=True)])
    assert ours.scorers[0](sample, record).values["accuracy"] == 0.0      # first alert at 0.6, outside
    assert ref.scorers[0](sample, record).values["accuracy"] == 1.0       # 0.6 dropped: first alert at 12
    assert ref.scorers[0](sample, record).values["precision"] == 1.0


def test_score_reuses_the_recorded_reference_settings_and_explicit_flags_win(tmp_path):
    reference.record(tmp_path, "omnimmi", REF)
    given = {"data_dir": None, "alert_time": None, "judge": None, "seed": 0}
    assert reference.score_settings(tmp_path, None, given)["alert_time"] == "claimed"
    assert reference.score_settings(tmp_path, None, {**given, "alert_time": "spoken"})["alert_time"] == "spoken"
    other = tmp_path / "plain"
    other.mkdir()
    assert reference.score_settings(other, None, given) == given
    assert reference.score_settings(other, "omnimmi", given)["alert_time"] == "claimed"


# row 12 on live streams only: a replayed prediction file is scored as evaluate.py scores it
def test_first_second_drop_applies_to_live_streams_and_is_forced_on_files_with_always(data):
    sample = build_task("omnimmi_pa", {"data_dir": str(data)}).samples()[0]       # window [10, 20]
    events = [Event(kind="query", t=0.0, turn=0, text="q"), Event(kind="emission", t=0.6, text="now", done=True),
              Event(kind="emission", t=12.0, text="now", done=True)]
    live = SampleRecord(sample_id=sample.id, task=sample.task, model="m", events=events,
                        settings={"protocol": "streaming"})
    replayed = live.model_copy(update={"settings": {"protocol": "streaming", "replayed": True}})

    def accuracy(record, mode):
        task = build_task("omnimmi_pa", {"data_dir": str(data), "drop_first_second": mode})
        return task.scorers[0](sample, record).values["accuracy"]

    assert REF["drop_first_second"] == "live"
    assert (accuracy(live, "live"), accuracy(replayed, "live")) == (1.0, 0.0)
    assert (accuracy(live, "always"), accuracy(replayed, "always")) == (1.0, 1.0)
    assert (accuracy(live, "never"), accuracy(replayed, None)) == (0.0, 0.0)


# row 15: the reference counts every highlight an M4 claims, even with nothing said
def test_an_empty_claimed_highlight_counts_only_in_reference_mode(data):
    sample = build_task("omnimmi_pa", {"data_dir": str(data)}).samples()[0]
    record = SampleRecord(sample_id=sample.id, task=sample.task, model="m", events=[
        Event(kind="query", t=0.0, turn=0, text="q"), Event(kind="emission", t=13.0, text="", refers_to=12.0)])
    ours = build_task("omnimmi_pa", {"data_dir": str(data), "alert_time": "claimed"})
    ref = build_task("omnimmi_pa", {"data_dir": str(data), "alert_time": "claimed", "count_empty_alerts": True})
    assert ours.scorers[0](sample, record).values["accuracy"] == 0.0
    assert ref.scorers[0](sample, record).values["accuracy"] == 1.0 and REF["count_empty_alerts"] is True


# row 17: MD's ##ANSWER## online
def test_md_online_question_is_filled_here_and_kept_in_reference_mode(data):
    ours = build_task("omnimmi_md", {"data_dir": str(data)})
    ref = build_task("omnimmi_md", {"data_dir": str(data), "online_answer_slot": REF["online_answer_slot"]})
    sample = ours.samples()[0]
    assert ours.prompts.streaming(sample, 1, ["a pen", ""]) == "What is done with a pen?"
    assert ref.prompts.streaming(sample, 1, ["a pen", ""]) == "What is done with ##ANSWER##?"
    assert ref.prompts.offline(sample, 1, ["a pen", ""]) == "What is done with a pen?"    # offline fills it


# row 18: PT's online input
def test_pt_online_input_is_the_remark_here_and_the_conversation_in_reference_mode(data):
    ours = build_task("omnimmi_pt", {"data_dir": str(data)})
    ref = build_task("omnimmi_pt", {"data_dir": str(data), "pt_online_input": REF["pt_online_input"]})
    sample = ours.samples()[0]
    assert ours.prompts.streaming(sample, 0, []) == "Honey, pass me the salt."
    assert ref.prompts.streaming(sample, 0, []) == (
        "human\nWhat is he cooking?\nassistant\nSoup.\nhuman\nHoney, pass me the salt.\n")


# row 21: a missing pre-cut clip
def test_a_missing_clip_reads_the_video_here_and_fails_in_reference_mode(data, tmp_path):
    from omnibench.engine.offline import ClipSource
    from omnibench.errors import DataError

    ours = _samples("omnimmi_sg", data)[0]
    ref = _samples("omnimmi_sg", data, missing_clip=REF["missing_clip"])[0]
    (tmp_path / "videos").mkdir()
    source = ClipSource(tmp_path)
    read = []
    source._sample = lambda relative, **span: read.append((relative, span))   # no decoding needed here
    source.frames(ours, 4.0, count=4, fps=None)
    assert read == [("videos/kitchen.mp4", {"count": 4, "fps": None, "start": 0.0, "end": 4.0})]
    with pytest.raises(DataError, match="clips/kitchen_4.mp4 is missing"):
        source.frames(ref, 4.0, count=4, fps=None)
