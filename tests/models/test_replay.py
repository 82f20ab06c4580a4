"""replay: OmniMMI's own prediction files give the reference's numbers; omnibench's own format; parsing.

The fixture files in tests/fixtures/omnimmi_preds/ are real annotation records (the first few of
each packaged file, shuffled) plus hand-written predictions; the expected numbers below are
worked out by hand from those predictions with the reference's formulas.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.evaluate import Evaluation
from omnibench.engine.eventlog import EventLog
from omnibench.engine.protocols import OfflineRequest, StreamInfo, UserTurn
from omnibench.errors import ConfigError, DataError, ModelError
from omnibench.models.replay import Replay, parse_literal, read_records
from omnibench.scoring.run_scores import score_run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "omnimmi_preds"


def run(tmp_path, task: str, path: Path, limit: int, protocol: str | None = None, **settings):
    out = tmp_path / f"{task}-{protocol}"
    Evaluation(model="replay", model_args={"path": str(path), "format": "omnimmi"}, out=out, limit=limit,
               protocol=protocol, task_settings=settings, progress=False).run([task])
    [result] = score_run(out, task_settings=settings, tasks=[task])
    return result, out


# -- OmniMMI prediction files through the real tasks ----------------------------------------------

def test_pa_lists_of_alert_times_give_the_reference_accuracy_precision_iou(tmp_path):
    result, _ = run(tmp_path, "omnimmi_pa", FIXTURES / "pa_M4Online_0.json", 5, alert_time="claimed")
    # record 0 [124,150] preds [130,140,160]: acc 1, prec 2/3, iou (150-130)/(160-124) = 20/36
    # record 1 [38,62]   preds []:            0, 0, 0 (still counted)
    # record 2 [6,36]    preds [2.5,6,36]:    acc 0, prec 2/3 (both bounds inside), iou 30/33.5
    # record 3 [110,132] preds [132,100]:     acc 1, prec 1/2, iou max(0, 100-132)/22 = 0 (order kept)
    # record 4 [104,126] preds [200]:         0, 0, 0 (said after the stream, time kept)
    metrics = {k: v.value for k, v in result.metrics.items()}
    assert result.n_samples == result.n_scored == 5
    assert metrics["accuracy"] == pytest.approx(2 / 5)
    assert metrics["precision"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 2) / 5)
    assert metrics["iou"] == pytest.approx((20 / 36 + 30 / 33.5) / 5)


def test_pa_single_number_files_give_the_reference_accuracy(tmp_path):
    # literal lines; record 0 [124,150] pred 130 hit; record 1 [38,62] pred 0 miss; record 2 [6,36] pred 36 hit
    result, _ = run(tmp_path, "omnimmi_pa", FIXTURES / "single", 3, alert_time="claimed")
    assert result.metrics["accuracy"].value == pytest.approx(2 / 3)


@pytest.mark.parametrize("protocol", ["offline", "streaming"])
def test_pt_text_predictions_are_silent_iff_empty_or_starting_with_the_silence_token(tmp_path, protocol):
    # preds: "" silent, "<2>" silent, "Yes, he escapes..." not, " " not, "<2> the cat..." silent
    result, _ = run(tmp_path, "omnimmi_pt", FIXTURES / "pt_M4_0.json", 5, protocol=protocol)
    assert result.n_scored == 5
    assert result.metrics["silence"].value == pytest.approx(3 / 5)


def test_pt_online_files_with_1_for_silent_and_0_for_replied(tmp_path):
    # record 0 -> 1 (silent), record 1 -> 0 (replied), record 2 -> 1 (silent)
    result, _ = run(tmp_path, "omnimmi_pt", FIXTURES / "online", 3)
    assert result.metrics["silence"].value == pytest.approx(2 / 3)


@pytest.mark.parametrize("protocol", ["offline", "streaming"])
def test_sg_answers_per_turn_a_missing_pred_is_empty_and_a_missing_record_is_an_error_naming_it(tmp_path, protocol):
    out = tmp_path / protocol
    Evaluation(model="replay", model_args={"path": str(FIXTURES), "format": "auto"}, out=out, limit=3,
               protocol=protocol, progress=False).run(["omnimmi_sg"])
    records = {r.sample_id: r for p in (out / "logs" / "omnimmi_sg").glob("*.jsonl") for r in EventLog(p).records()}
    assert [records["sg-0000"].answer(i) for i in range(3)] == ["Connect branches", "", "cut the branches"]
    assert [records["sg-0001"].answer(i) for i in range(2)] == ["Add tea powder.", "Pour water"]
    assert records["sg-0002"].status == "error" and "sg-0002" in records["sg-0002"].error


def test_directory_matches_records_to_samples_by_content_and_reports_the_rest():
    from omnibench.data import omnimmi

    replay = Replay(path=str(FIXTURES))
    report = replay.match(omnimmi.load("pa")[:6] + omnimmi.load("pt")[:5])
    assert report.matched["pa-0003"] == "pa_M4Online_0.json:1"     # shuffled: record 3 is the first line
    assert report.missing == ["pa-0005"]
    assert report.unmatched == ["sg_LongVA_0.json:1", "sg_LongVA_0.json:2"]


# -- streaming behaviour ----------------------------------------------------------------------------

def pa_sample(sid: str = "x1", video: str = "videos/a.mp4", question: str = "Tell me when.") -> Sample:
    return Sample(id=sid, task="omnimmi_pa", video=VideoRef(path=video),
                  turns=[Query(t=0.0, kind="alert_request", text=question, target=[5.0, 8.0])])


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_alerts_are_said_once_their_time_comes_in_stored_order_and_flushed_after_the_end(tmp_path):
    line = json.dumps({"video": "a.mp4", "question": "Tell me when.", "answer": [5, 8], "pred": [6.5, 3.0, 30.0]})
    replay = Replay(path=str(write(tmp_path / "pa_M_0.json", line)))
    replay.store.index([pa_sample()])           # OmniMMI files are matched by content, as the annotations say
    replay.reset(StreamInfo(sample_id="x1", task="omnimmi_pa", duration=8.0, fps=1.0))
    replay.ask(0.0, UserTurn("Tell me when.", kind="alert_request"))
    said = {t: [(e.text, e.turn, e.refers_to) for e in replay.poll(t)] for t in (0.0, 6.0, 7.0, 8.0, 9.0, 10.0)}
    assert said[0.0] == said[6.0] == [] and said[8.0] == [] and said[10.0] == []
    assert said[7.0] == [("alert", None, 6.5), ("alert", None, 3.0)]
    assert said[9.0] == [("alert", None, 30.0)]


# -- omnibench's own format -------------------------------------------------------------------------

def test_own_format_answers_turns_and_alerts_by_sample_id(tmp_path):
    path = write(tmp_path / "preds.jsonl",
                 json.dumps({"sample_id": "q1", "turn": 0, "text": "red"}),
                 json.dumps({"sample_id": "q1", "turn": 1, "text": ""}),
                 json.dumps({"sample_id": "x1", "alerts": [6.0]}))
    replay = Replay(path=str(path), format="omnibench")
    assert replay.generate(OfflineRequest(prompt="", task="t", sample_id="q1", turn=0)) == "red"
    assert replay.generate(OfflineRequest(prompt="", task="t", sample_id="q1", turn=1)) == ""
    replay.reset(StreamInfo(sample_id="x1", task="omnimmi_pa", duration=8.0, fps=1.0))
    assert [e.refers_to for e in replay.poll(6.0)] == [6.0]
    with pytest.raises(ModelError, match="q2"):
        replay.generate(OfflineRequest(prompt="", task="t", sample_id="q2"))
    with pytest.raises(ModelError, match="turn 5"):
        replay.generate(OfflineRequest(prompt="", task="t", sample_id="q1", turn=5))


def test_duplicate_records_go_to_samples_in_the_order_asked_and_never_twice(tmp_path):
    record = {"video": "a.mp4", "question": "What now?", "answer": "x"}
    path = write(tmp_path / "si_M_0.json", json.dumps({**record, "pred": "first"}),
                 json.dumps({**record, "pred": "second"}))
    with pytest.warns(UserWarning, match="repeat"):
        replay = Replay(path=str(path))
    samples = [Sample(id=f"si-{i}", task="omnimmi_si", video=VideoRef(path="videos/a.mp4"),
                      turns=[Query(t=1.0, text="What now?")]) for i in range(3)]
    replay.store.index(samples)
    ask = lambda s: replay.generate(OfflineRequest(prompt="", task=s.task, sample_id=s.id))  # noqa: E731
    assert [ask(samples[1]), ask(samples[0]), ask(samples[1])] == ["first", "second", "first"]
    with pytest.raises(ModelError, match="si-2"):
        ask(samples[2])


def test_file_name_task_keeps_tasks_apart(tmp_path):
    line = json.dumps({"video": "a.mp4", "question": "Tell me when.", "answer": "x", "pred": "hello"})
    replay = Replay(path=str(write(tmp_path / "si_M_0.json", line)))
    replay.store.index([pa_sample()])
    with pytest.raises(ModelError, match="x1"):
        replay.reset(StreamInfo(sample_id="x1", task="omnimmi_pa", duration=8.0, fps=1.0))


# -- parsing ----------------------------------------------------------------------------------------

def test_literal_parser_reads_python_dict_lines():
    text = "{'video': 'a.mp4', \"q\": 'it\\'s\\n\\x41\\u00e9', 'pred': [1, -2.5, 3e1, (4,)], 'n': None, 'ok': True,}"
    assert parse_literal(text) == {"video": "a.mp4", "q": "it's\nAé", "pred": [1, -2.5, 30.0, [4]], "n": None,
                                   "ok": True}


@pytest.mark.parametrize("text", ["__import__('os').system('true')", "{'a': os}", "{'a': 1} junk", "{'a' 1}",
                                  "[1, 2", "{'a': f(1)}", "lambda: 1"])
def test_literal_parser_refuses_anything_that_is_not_a_plain_literal(text):
    with pytest.raises(ValueError):
        parse_literal(text)


def test_bad_lines_name_file_and_line(tmp_path):
    path = write(tmp_path / "pa_M_0.json", json.dumps({"video": "a.mp4", "pred": []}), "open('x').read()")
    with pytest.raises(DataError, match=r"pa_M_0.json.*line 2"):
        read_records(path)
    listed = write(tmp_path / "list.json", json.dumps([{"a": 1}, {"b": 2}]))
    assert read_records(listed) == [(1, {"a": 1}), (2, {"b": 2})]


def test_bad_settings_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="format"):
        Replay(path=str(FIXTURES), format="csv")
    with pytest.raises(ConfigError, match="does not exist"):
        Replay(path=str(tmp_path / "nope"))
    with pytest.raises(DataError, match="alert time"):
        Replay(path=str(write(tmp_path / "pa_M_0.json", json.dumps({"video": "a.mp4", "question": "q",
                                                                    "answer": [1, 2], "pred": ["soon"]}))))


# -- hostile files ----------------------------------------------------------------------------------

@pytest.mark.parametrize("content, reason", [
    (b'{"video": "a.mp4", "pred": ' + b"9" * 5000 + b"}", "digits"),                    # int-string limit
    (b'{"video": "a.mp4", "pred": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested"),
    (b'{"video": "a.mp4", "pred": "caf\xe9"}', "UTF-8"),
    (b'{"video": "a.mp4", "pred": "x"}\x00\x00', "NUL"),
], ids=["huge-int", "deep", "latin1", "nul"])
def test_malformed_files_are_data_errors_naming_file_and_line(tmp_path, content, reason):
    """Used to end with ValueError / RecursionError / UnicodeDecodeError tracebacks."""
    path = tmp_path / "pa_M_0.json"
    path.write_bytes(json.dumps({"video": "b.mp4", "pred": []}).encode() + b"\n" + content + b"\n")
    with pytest.raises(DataError, match=rf"pa_M_0.json.*line 2.*{reason}"):
        read_records(path)


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "-5"])
def test_non_finite_and_negative_alert_times_are_refused_naming_file_and_line(tmp_path, bad):
    """NaN/inf used to become the time the alert was spoken; -5 was accepted."""
    good = json.dumps({"video": "b.mp4", "question": "q", "answer": [1, 2], "pred": [1.5]})
    line = '{"video": "a.mp4", "question": "Tell me when.", "answer": [5, 8], "pred": [6.0, %s]}' % bad
    path = write(tmp_path / "pa_M_0.json", good, line)
    with pytest.raises(DataError, match=r"pa_M_0.json:2: alert time .* finite number of seconds >= 0"):
        Replay(path=str(path))
    own = write(tmp_path / "own.jsonl", '{"sample_id": "x1", "alerts": [%s]}' % bad)
    with pytest.raises(DataError, match=r"own.jsonl:1: alert time"):
        Replay(path=str(own), format="omnibench")


def test_lenient_skips_bad_alert_times_and_reports_them(tmp_path):
    line = '{"video": "a.mp4", "question": "Tell me when.", "answer": [5, 8], "pred": [NaN, 6.0, -5, Infinity]}'
    with pytest.warns(UserWarning, match=r"skipped 3 bad alert time\(s\).*pa_M_0.json:1"):
        replay = Replay(path=str(write(tmp_path / "pa_M_0.json", line)), lenient="true")
    assert len(replay.store.skipped) == 3
    replay.store.index([pa_sample()])
    replay.reset(StreamInfo(sample_id="x1", task="omnimmi_pa", duration=8.0, fps=1.0))
    assert [e.refers_to for e in replay.poll(9.0)] == [6.0]


def test_cli_lenient_flag_reaches_replay(tmp_path):
    from omnibench.cli import main

    line = '{"video": "a.mp4", "question": "Tell me when.", "answer": [5, 8], "pred": [NaN, 6.0]}'
    path = write(tmp_path / "pa_M_0.json", line)
    argv = ["run", "--tasks", "omnimmi_pa", "--model", "replay", "--model-args", f"path={path}",
            "--out", str(tmp_path / "run"), "--limit", "1", "--no-score", "--quiet"]
    assert main(argv) != 0                                   # strict: the NaN is a DataError naming file and line
    with pytest.warns(UserWarning, match="skipped 1 bad alert time"):
        assert main(argv + ["--lenient", "--allow-errors"]) == 0   # the record matches no sample: an error, allowed


def test_omnimmi_files_are_matched_to_the_packaged_annotations_by_task_and_id_alone(tmp_path):
    """The model gets (task, sample id, turn); the store maps OmniMMI's id-less records to ids through the
    same public annotation file the task loads, never through a sample handed to it."""
    from omnibench.data import omnimmi

    sample = omnimmi.load("si")[3]
    record = {"video": sample.video.path.removeprefix("videos/"), "question": sample.turns[0].text,
              "answer": "whatever", "pred": "the man in red"}
    replay = Replay(path=str(write(tmp_path / "si_M_0.json", json.dumps(record))))
    assert replay.generate(OfflineRequest(prompt="?", task="omnimmi_si", sample_id=sample.id)) == "the man in red"
