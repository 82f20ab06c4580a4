"""bench/vs_lmms_eval.py: it reads lmms-eval's answers right, refuses a run lmms-eval silently failed,
finds the first answer that differs, and its launcher hands lmms-eval's multi-round path the clip timing."""

from __future__ import annotations

import json
import sys
import types

import pytest

from tests.bench._load import load


def write_log(tmp_path, task: str, rows: list[dict]) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "x_results.json").write_text(json.dumps({"results": {task: {}}}))
    (out / f"x_samples_{task}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_lmms_eval_sample_log_maps_to_our_sample_ids(tmp_path):
    vs = load("vs_lmms_eval")
    write_log(tmp_path, "bench_vqa", [{"doc_id": 1, "filtered_resps": ["a red square "]},
                                      {"doc_id": 0, "filtered_resps": ["x"]}])
    assert vs.lmms_answers(tmp_path, "bench_vqa", ["q0", "q1"]) == {"q0": ["x"], "q1": ["a red square"]}


def test_multi_round_answers_are_read_from_the_tuple_lmms_eval_logs_as_text(tmp_path):
    vs = load("vs_lmms_eval")
    # lmms-eval 0.7.3 logs a multi-round result, a tuple of the rounds' answers, as its str()
    rows = [{"doc_id": 1, "filtered_resps": str(("it's red", 'a "square"', "c"))},
            {"doc_id": 0, "filtered_resps": str(("x", "y", "z"))}]
    write_log(tmp_path, "bench_multiturn", rows)
    assert vs.lmms_answers(tmp_path, "bench_multiturn", ["m0", "m1"]) == {
        "m0": ["x", "y", "z"], "m1": ["it's red", 'a "square"', "c"]}


def test_a_multi_round_log_entry_that_is_not_a_tuple_of_answers_is_refused(tmp_path):
    vs = load("vs_lmms_eval")
    write_log(tmp_path, "bench_multiturn", [{"doc_id": 0, "filtered_resps": "__import__('os').system('x')"}])
    with pytest.raises(SystemExit, match="doc_id 0.*not a tuple of answers"):
        vs.lmms_answers(tmp_path, "bench_multiturn", ["m0"])


def test_lmms_eval_without_results_file_is_a_failure(tmp_path):
    vs = load("vs_lmms_eval")
    with pytest.raises(SystemExit, match="exits 0 on failure"):
        vs.lmms_answers(tmp_path, "bench_vqa", [])


def test_answers_must_be_equal_on_every_turn_of_every_sample():
    vs = load("vs_lmms_eval")
    ours = {"m0": ["red", "left", "two"], "m1": ["blue", "up", "one"]}
    assert vs.compare_answers(ours, {k: list(v) for k, v in ours.items()}) == (2, None)
    theirs = {"m0": ["red", "left", "two"], "m1": ["blue", "up", "three"]}
    assert vs.compare_answers(ours, theirs) == (1, {"sample": "m1", "turn": 2, "omnibench": "one",
                                                    "lmms_eval": "three"})
    same, first = vs.compare_answers(ours, {"m0": ours["m0"]})
    assert same == 0 and first["sample"] == "m1" and "one tool only" in first["why"]


def test_multi_round_processor_calls_get_the_clip_timing():
    launch = load("_vs_lmms_launch")
    calls = []

    class Processor:                     # stands in for Qwen2_5_VLProcessor.__call__'s keyword interface
        tokenizer = "tok"

        def __call__(self, text=None, videos=None, video_metadata=None, **kwargs):
            calls.append(video_metadata)
            return "inputs"

    timed = launch._TimedProcessor(Processor(), fps=2.0)
    assert timed(text=["q"], videos=[[0] * 8], padding=True) == "inputs"
    assert calls[-1] == [{"fps": 2.0, "total_num_frames": 8, "frames_indices": list(range(8))}]
    given = [{"fps": 30.0, "total_num_frames": 4}]
    timed(text=["q"], videos=[[0] * 4], video_metadata=given)
    assert calls[-1] is given                           # metadata lmms-eval passed itself is kept
    timed(text=["q"])
    assert calls[-1] is None                            # no video, nothing added
    assert timed.tokenizer == "tok"                     # everything else is the processor's own


def test_each_side_records_the_torch_it_imported(tmp_path, monkeypatch):
    launch = load("_vs_lmms_launch")
    out = tmp_path / "side.json"
    monkeypatch.setenv("BENCH_VS_LMMS_SIDE_INFO", str(out))
    # stands in for torch: the two attributes the launcher reads
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(__version__="2.14.1+cu130",
                                                                   get_num_threads=lambda: 2))
    launch.record_side()
    assert json.loads(out.read_text()) == {"torch": "2.14.1+cu130", "torch_threads": 2, "python": sys.executable}
