"""The page's per-sample section: every sample of every task and model, outcomes, reasons, warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.eventlog import Event, EventLog, SampleRecord
from omnibench.report import write_report
from omnibench.results import RunInfo, SampleScore
from tests.report.test_report import (
    EVIL_TEXT,
    alert_sample,
    result,
    samples_html,
    stream_record,
    write_run,
    write_stream_run,
)


def test_every_sample_is_shown_with_its_timeline_on_the_samples_axis(tmp_path):
    run = write_stream_run(tmp_path / "r", "streamer", 30)
    write_report([run], tmp_path / "board")
    page = samples_html(tmp_path / "board")
    assert page.count('<section class="s" data-task="synth_pa" data-model="streamer" data-outcome="pass">') == 30
    assert page.count('<figure class="sample">') == 30                      # all 30, not a fixed first 12
    assert "pa&lt;0&gt;" in page and "pa&lt;29&gt;" in page
    assert page.count('class="window"') == 30                                 # the [8, 11] target windows
    assert "ground truth window 8–11 s" in page
    assert "noise at 20 s (video end)" in page                               # Query.t None: drawn at the end
    assert ">noise</text>" in page and 'stroke-dasharray="4 3"' in page      # interruptions cut across lanes
    assert "said at 9 s (unprompted): now!" in page and "claimed the event at 8.5 s" in page
    assert "accuracy=1" in page and "alert in window" in page
    assert "axis 25.0 s" in page                                             # video end 20 s + the 5 s tail


def test_the_axis_is_fixed_by_the_sample_not_by_the_model():
    """A model that keeps talking to 24 s and one that spoke at 9 s get the same axis for the same sample."""
    from omnibench.report.timeline import axis_end

    sample = alert_sample(0)
    early = stream_record(sample, "a")
    late = stream_record(sample, "b")
    late = late.model_copy(update={"stream_s": 25.0, "events": late.events + [
        Event(kind="emission", t=24.0, turn=1, text="still talking", done=True)]})
    assert axis_end(sample, [early]) == axis_end(sample, [late]) == 25.0
    no_end = sample.model_copy(update={"video": VideoRef(path="videos/v0.mp4")})
    assert axis_end(no_end, [early, late]) == 25.0                           # unknown length: longest stream


def judged_run(run, model: str = "judged"):
    from omnibench.engine.evaluate import slug

    samples = [Sample(id=f"q{i}", task="omnimmi_si", video=VideoRef(path=f"v{i}.mp4"),
                      turns=[Query(t=3.0, text=f"Who speaks first? {i}", kind="question", target="the chef")],
                      metadata={"video_id": f"v{i}"}) for i in range(3)]
    (run / "samples").mkdir(parents=True)
    (run / "samples" / "omnimmi_si.jsonl").write_text("".join(s.model_dump_json() + "\n" for s in samples))
    log = EventLog(run / "logs" / "omnimmi_si" / f"{slug(model)}.shard0of1.jsonl")
    log.append(SampleRecord(sample_id="q0", task="omnimmi_si", model=model, settings={"protocol": "offline"},
                            events=[Event(kind="emission", t=3.0, turn=0, text=EVIL_TEXT, done=True)]))
    log.append(SampleRecord(sample_id="q1", task="omnimmi_si", model=model, settings={"protocol": "offline"},
                            events=[Event(kind="emission", t=3.0, turn=0, text="the chef", done=True)]))
    log.append(SampleRecord(sample_id="q2", task="omnimmi_si", model=model, status="error",
                            error="ModelError: CUDA out of memory", settings={"protocol": "offline"}))
    scores = [SampleScore(sample_id="q0", video_id="v0", values={"accuracy": 0.0}, explanation="judge: no (1/5)"),
              SampleScore(sample_id="q1", video_id="v1", values={}, unscored="judge reply unparseable: 'maybe'"),
              SampleScore(sample_id="q2", video_id="v2", values={}, error="ModelError: CUDA out of memory")]
    (run / "scores" / "omnimmi_si").mkdir(parents=True)
    (run / "scores" / "omnimmi_si" / f"{slug(model)}.jsonl").write_text(
        "".join(s.model_dump_json() + "\n" for s in scores))
    return write_run(run, [result("omnimmi_si", model, 0.0, n_samples=3, n_errors=1, n_unscored=1, judge_model="j")])


def test_offline_samples_show_question_reference_answer_and_judge_reason(tmp_path):
    """Judge-scored offline tasks get per-sample views too: the old page had none."""
    run = judged_run(tmp_path / "r")
    index = write_report([run], tmp_path / "board", include_reported=False)["html"].read_text(encoding="utf-8")
    page = samples_html(tmp_path / "board")
    assert page.count('<section class="s"') == 3
    assert "Who speaks first? 0" in page and '<td class="ref">the chef</td>' in page
    assert '<td class="ans">&lt;img src=x onerror=alert(2)&gt;</td>' in page and EVIL_TEXT not in page
    assert "accuracy=0" in page and "judge: no (1/5)" in page and 'data-outcome="fail"' in page
    assert "unscored: judge reply unparseable: &#x27;maybe&#x27;" in page and 'data-outcome="unscored"' in page
    assert "error: ModelError: CUDA out of memory" in page and 'data-outcome="error"' in page
    board = index.split('id="leaderboard"')[1].split("</table>")[0]
    assert "1× error: ModelError: CUDA out of memory" in board                # errors on the board, with reasons
    assert 'id="problems"' in index and "#task=omnimmi_si&amp;model=judged&amp;failures=1" in index


def test_offline_records_get_a_timeline_too(tmp_path):
    """The old page drew timelines for streaming records only: an offline sample showed no time at all."""
    run = write_stream_run(tmp_path / "r", "offline-model", 2, protocol="offline")
    write_report([run], tmp_path / "board")
    page = samples_html(tmp_path / "board")
    assert page.count('<section class="s"') == 2 and page.count('<figure class="sample">') == 2
    assert page.count('<svg') == 2 and "said at 9 s" in page


def test_merged_labels_and_partial_runs_are_warned_about(tmp_path):
    first = write_run(tmp_path / "a", [result("synth_si", "m", 0.1)])
    second = write_run(tmp_path / "b", [result("synth_si", "m", 0.9, n_samples=3)],
                       RunInfo(model="m", tasks=["synth_si"], limit=3))
    (second / "samples").mkdir()
    (second / "samples" / "synth_si.jsonl").write_text("".join(
        alert_sample(i, "synth_si").model_dump_json() + "\n" for i in range(6)))
    paths = write_report([first, second], tmp_path / "board")
    for text in (paths["html"].read_text(encoding="utf-8"), paths["md"].read_text(encoding="utf-8")):
        assert "found in" in text and "under the same model label" in text
        assert "m: partial run, --limit 3 (first 3 samples of each task" in text and "m · synth_si: 3 of 6 samples logged" in text


def test_missing_samples_without_a_limit_are_a_partial_run(tmp_path):
    run = write_stream_run(tmp_path / "r", "m", 2)
    (run / "samples" / "synth_pa.jsonl").write_text("".join(alert_sample(i).model_dump_json() + "\n" for i in range(5)))
    md = write_report([run], tmp_path / "board")["md"].read_text(encoding="utf-8")
    assert "partial run, 2 of 5 samples logged" in md


def test_a_run_json_in_a_newer_layout_still_reports(tmp_path):
    run = write_run(tmp_path / "r", [result("synth_si", "m", 0.5)])
    (run / "run.json").write_text('{"spec": {"model": {"name": "m"}, "limit": 2, "new_field": [1, 2]}}')
    paths = write_report([run], tmp_path / "board")
    assert "partial run, --limit 2" in paths["md"].read_text(encoding="utf-8")


def test_real_time_factors_print_readably():
    from omnibench.report.tables import rtf_text

    assert [rtf_text(x) for x in (2e-06, 0.4234, 3.14159, 42.0, None)] == ["<0.01x", "0.42x", "3.14x", "42x", "–"]


def test_metrics_are_defined_and_the_ranking_score_is_a_column(tmp_path):
    run = write_run(tmp_path / "r", [result("synth_pa", "a", 0.5, extra={"precision": 0.25}),
                                     result("synth_pt", "a", 1.0, headline="silence")])
    page = write_report([run], tmp_path / "board")["html"].read_text(encoding="utf-8")
    board = page.split('id="leaderboard"')[1].split("</table>")[0]
    assert 'title="score = mean of the model' in board and '<td class="score"><span class="v">75.00' in board
    assert 'synth_pa · precision: share of the model&#x27;s alerts' in board
    assert "<dt>silence</dt><dd>share of noise turns the model stayed silent on</dd>" in page


@pytest.mark.parametrize("protocol", ["streaming", "offline"])
def test_video_damage_on_a_record_is_shown_on_its_sample(tmp_path, protocol):
    """note_video_issues puts the reader's damage on the record (evaluate --video-issues report); the page
    showed none of it, so a score from a half-frozen video looked like any other."""
    from omnibench.engine.evaluate import slug

    run = write_stream_run(tmp_path / "r", "streamer", 2, protocol=protocol)
    log = run / "logs" / "synth_pa" / f"{slug('streamer')}.shard0of1.jsonl"
    damaged, clean = list(EventLog(log).records())
    damaged = damaged.model_copy(update={"video_issues": [
        "3 damaged packet(s): the decoder concealed them",
        "frozen: 1 stretch(es) without a new frame, 2.0 s in all (4.00-6.00 s)", EVIL_TEXT]})
    log.write_text(damaged.model_dump_json() + "\n" + clean.model_dump_json() + "\n", encoding="utf-8")
    write_report([run], tmp_path / "board")
    page = samples_html(tmp_path / "board")
    sections = {s.split("<code>")[1].split("</code>")[0]: s.split("</section>")[0]
                for s in page.split('<section class="s"')[1:]}
    assert "video damage" in sections["pa&lt;0&gt;"] and "video damage" not in sections["pa&lt;1&gt;"]
    assert "3 damaged packet(s): the decoder concealed them" in sections["pa&lt;0&gt;"]
    assert "frozen: 1 stretch(es) without a new frame, 2.0 s in all (4.00-6.00 s)" in sections["pa&lt;0&gt;"]
    assert EVIL_TEXT not in page and "&lt;img src=x onerror=alert(2)&gt;" in sections["pa&lt;0&gt;"]


def _one_sample_run(run, sample: Sample, events: list[Event], protocol: str = "streaming", model: str = "m"):
    from omnibench.engine.evaluate import slug

    (run / "samples").mkdir(parents=True)
    (run / "samples" / f"{sample.task}.jsonl").write_text(sample.model_dump_json() + "\n")
    EventLog(run / "logs" / sample.task / f"{slug(model)}.shard0of1.jsonl").append(
        SampleRecord(sample_id=sample.id, task=sample.task, model=model, events=events, stream_s=20.0,
                     settings={"protocol": protocol}))
    return write_run(run, [result(sample.task, model, 0.0, n_samples=1)])


def test_a_dependent_question_is_shown_as_asked_not_with_its_placeholder(tmp_path):
    """MD showed the raw ##ANSWER## placeholder instead of the question the model was asked."""
    md = Sample(id="md-0", task="synth_md", video=VideoRef(path="v.mp4", end=20.0), metadata={"video_id": "v"},
                turns=[Query(t=5.0, text="What colour is the first shape?", target="red"),
                       Query(t=9.0, text="How many ##ANSWER## shapes appear?", target="2", depends_on=0)])
    run = _one_sample_run(tmp_path / "r", md, [Event(kind="emission", t=5.0, turn=0, text="green", done=True),
                                               Event(kind="emission", t=9.0, turn=1, text="3", done=True)],
                          protocol="offline")
    write_report([run], tmp_path / "board")
    page = samples_html(tmp_path / "board")
    assert "How many green shapes appear?" in page and "##ANSWER##" not in page


@pytest.mark.parametrize(("cls", "slot", "shown"), [("followup", "noise", "follow-up"), ("noise", "noise", "noise"),
                                                    ("lure", "stop", "lure"), ("stop", "stop", "stop")])
def test_an_interruption_shows_its_true_class_not_its_slot(tmp_path, cls, slot, shown):
    """Follow-ups were shown as kind `noise` and lures as `stop` (the slot both classes of a pair share)."""
    sample = Sample(id=f"x-{cls}", task="noise_rejection", video=VideoRef(path="v.mp4", end=20.0),
                    metadata={"video_id": "v", "interruption": cls},
                    turns=[Query(t=4.0, text="What colour is the square?", target="red"),
                           Query(t=5.0, text="And the circle?", kind=slot)])
    run = _one_sample_run(tmp_path / "r", sample, [Event(kind="query", t=4.0, turn=0, text="What colour is the square?"),
                                                   Event(kind="emission", t=4.0, turn=0, text="red", done=True),
                                                   Event(kind="query", t=5.0, turn=1, text="And the circle?")])
    write_report([run], tmp_path / "board")
    page = samples_html(tmp_path / "board")
    kind_cell = f'<td title="asked in the {slot} slot">{shown}</td>' if shown != slot else f"<td>{shown}</td>"
    assert f"<td>1</td><td>5 s</td>{kind_cell}" in page
    assert 'class="mark" fill="#' in page and f">{shown}</text>" in page          # the timeline names it too
    assert f"user · {shown} #1" in page                                            # and the transcript


def test_an_empty_answer_says_so(tmp_path):
    """Empty answers were blank cells, indistinguishable from a missing column."""
    sample = Sample(id="pt-0", task="synth_pt", video=VideoRef(path="v.mp4", end=20.0), metadata={"video_id": "v"},
                    turns=[Query(t=None, text="I wonder what is for dinner.", kind="noise")])
    run = _one_sample_run(tmp_path / "r", sample, [Event(kind="emission", t=20.0, turn=0, text="", done=True)],
                          protocol="offline")
    write_report([run], tmp_path / "board")
    assert '<td class="ans empty">(empty)</td>' in samples_html(tmp_path / "board")


def test_an_emission_that_named_a_turn_before_it_was_asked_is_shown_as_unprompted():
    from omnibench.report.timeline import transcript_html

    sample = Sample(id="s", task="t", video=VideoRef(path="v.mp4", end=4.0),
                    turns=[Query(t=1.0, text="q0?"), Query(t=3.0, text="q1?")])
    record = SampleRecord(sample_id="s", task="t", model="m", events=[
        Event(kind="emission", t=0.0, turn=None, text="early", data={"claimed_turn": 1}),
        Event(kind="query", t=1.0, turn=0, text="q0?"), Event(kind="emission", t=1.0, turn=0, text="a0")])
    html = transcript_html(sample, record)
    assert "unprompted: named turn 1 before it was asked" in html and "model to turn 0" in html


def _one_shard_run(run_dir: Path, shards: int, *, drop_log_of: int | None = None) -> Path:
    """A synth_pa run in `shards` shards whose samples all fall in shard 0 (by the run's own sharding):
    every other shard had nothing to do and wrote no log; `drop_log_of` loses that shard's log too."""
    from omnibench.engine.evaluate import slug
    from omnibench.engine.shard import shard_of

    samples = [s for s in (alert_sample(i) for i in range(40)) if shard_of(s.id, shards) == 0][:3]
    (run_dir / "samples").mkdir(parents=True)
    (run_dir / "samples" / "synth_pa.jsonl").write_text("".join(s.model_dump_json() + "\n" for s in samples))
    if drop_log_of != 0:
        log = EventLog(run_dir / "logs" / "synth_pa" / f"{slug('m')}.shard0of{shards}.jsonl")
        for s in samples:
            log.append(stream_record(s, "m"))
    return write_run(run_dir, [result("synth_pa", "m", 1.0, n_samples=len(samples))],
                     RunInfo(model="m", tasks=["synth_pa"]))


def test_a_shard_with_no_samples_is_complete(tmp_path):
    """`--shard 1/2` of a task whose samples all fall in shard 0 has nothing to log; the run is whole."""
    from omnibench.report.runs import load_runs

    (run,) = load_runs([_one_shard_run(tmp_path / "r", 2)])
    assert not [w for w in run.warnings if "partial" in w], run.warnings
    assert run.results[0].settings["shards"] == "2/2"


def test_a_missing_shard_with_samples_is_still_a_partial_run(tmp_path):
    from omnibench.report.runs import load_runs

    run_dir = _one_shard_run(tmp_path / "r", 2, drop_log_of=0)
    from omnibench.engine.evaluate import slug

    (run_dir / "logs" / "synth_pa").mkdir(parents=True)
    (run_dir / "logs" / "synth_pa" / f"{slug('m')}.shard1of2.jsonl").write_text("")
    (run,) = load_runs([run_dir])
    assert any("partial run, only 1/2 shard logs" in w for w in run.warnings), run.warnings
