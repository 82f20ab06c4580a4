"""Rows 2-4 (empty predictions, judge sampling, judge wording) in both modes; the reference's
prompt sentences read from a checkout; the reference's judged files through our metrics."""

from __future__ import annotations

import json

import pytest

from omnibench import reference
from omnibench.errors import ConfigError, DataError
from omnibench.reference_prompts import write_reference_prompts
from omnibench.scoring.judge import JudgeClient
from omnibench.scoring.judge.prompts import OMNIMMI_V1
from omnibench.scoring.reference_results import aggregate_judged
from tests.fake_openai import FakeOpenAI
from tests.reference_fixture import write_checkout

YES = "{'pred': 'yes', 'score': 4.8}"
REF_JUDGE = reference.task_settings("omnimmi", {})["judge"]


def client(server, tmp_path, **kw) -> JudgeClient:
    return JudgeClient(model="judge-test", base_url=server.base_url, api_key="k", cache_path=tmp_path / "j.sqlite",
                       backoff_s=0.01, max_retries=1, timeout_s=5, **kw)


# row 2: empty predictions
def test_empty_prediction_is_no_without_a_call_here_and_sent_in_reference_mode(tmp_path):
    with FakeOpenAI(handler=lambda body: YES) as server:
        [ours] = client(server, tmp_path).judge_many([("q", "a", " ")])
        assert (ours.pred, ours.score, server.count) == (False, 0, 0)
        [ref] = client(server, tmp_path, judge_empty=REF_JUDGE["judge_empty"]).judge_many([("q", "a", "")])
        assert (ref.pred, ref.score, server.count) == (True, 4, 1)


# row 3: judge sampling
def test_temperature_is_zero_here_and_not_sent_in_reference_mode(tmp_path):
    with FakeOpenAI(handler=lambda body: YES) as server:
        client(server, tmp_path).judge_many([("q", "a", "p")])
        client(server, tmp_path, temperature=REF_JUDGE["temperature"]).judge_many([("q", "a", "p")])
        first, second = server.bodies
        assert first["temperature"] == 0
        assert "temperature" not in second    # a verdict at another temperature is not a cache hit
        ours, ref = client(server, tmp_path), client(server, tmp_path, temperature=None)
        assert ours.key("q", "a", "p") != ref.key("q", "a", "p")


# row 4: judge prompt wording
def test_judge_wording_is_ours_here_and_the_checkouts_in_reference_mode(tmp_path):
    paths = write_reference_prompts(write_checkout(tmp_path / "OmniMMI"), tmp_path / "prompts")
    ref_settings = reference.task_settings("omnimmi", {}, prompts=tmp_path / "prompts")
    assert ref_settings["judge"]["prompt"] == str(paths["judge"])
    with FakeOpenAI(handler=lambda body: YES) as server:
        client(server, tmp_path).judge_many([("q1", "a1", "p1")])
        client(server, tmp_path, prompt=ref_settings["judge"]["prompt"]).judge_many([("q1", "a1", "p1")])
        ours, ref = server.bodies
    assert ours["messages"][0]["content"] == OMNIMMI_V1.system
    assert ref["messages"][0]["content"] == "Stand-in grader. Decide whether two answers match."
    assert ref["messages"][1]["content"] == (
        "Grade this pair:\n\nQuestion: q1\nCorrect Answer: a1\nPredicted Answer: p1\n\n"
        "Reply like {'pred': 'yes', 'score': 4.8}.")
    assert json.loads(paths["judge"].read_text())["version"].startswith("omnimmi-reference-")


def test_a_checkout_without_the_expected_structure_is_a_clear_error(tmp_path):
    root = write_checkout(tmp_path / "OmniMMI")
    (root / "evaluations" / "evaluate.py").write_text("def other():\n    return 1\n")
    with pytest.raises(ConfigError, match="no function openai_eval"):
        write_reference_prompts(root, tmp_path / "out")
    (root / "evaluations" / "evaluate.py").write_text(
        "def openai_eval(question, answer, pred):\n    messages = [{'role': 'user', 'content': f'{__import__(1)}'}]\n")
    with pytest.raises(ConfigError, match="unexpected f-string field"):
        write_reference_prompts(root, tmp_path / "out")
    with pytest.raises(ConfigError, match="not found"):
        write_reference_prompts(tmp_path / "nowhere", tmp_path / "out")


# the reference's judged files (gpt4o/<video>##<i>.json) through our metrics
def test_reference_judged_files_give_the_reference_aggregates(tmp_path):
    sg = tmp_path / "sg" / "Model" / "gpt4o"
    sg.mkdir(parents=True)
    items = [[("yes", 5), ("no", 2), ("Yes", 4.8)], [("yes", 3), ("yes", 4)], [("no", 0)]]
    for i, replies in enumerate(items):
        body = [{"qa": [{"pred": p, "score": s} for p, s in replies]}, {"qa": []}]
        (sg / f"vid{i}##{i}.json").write_text(json.dumps(body))
    result = aggregate_judged(sg, "sg")
    m = {k: v.value for k, v in result.metrics.items()}
    assert m["accuracy"] == pytest.approx(1 / 3)                       # only item 1 is all yes
    assert m["score"] == pytest.approx(((5 + 2 + 4) / 3 + 3.5 + 0) / 3)
    assert m["turn_accuracy@1"] == pytest.approx(2 / 3) and m["step_accuracy@1"] == pytest.approx(2 / 3)
    assert m["turn_accuracy@2"] == pytest.approx(1 / 2) and m["step_accuracy@2"] == pytest.approx(1 / 2)
    assert m["turn_accuracy@3"] == 1.0 and m["step_accuracy@3"] == 0.0
    ap = tmp_path / "ap"
    ap.mkdir()
    for i, (p, s) in enumerate([("yes", 4.8), ("no", 1), ("YES.", "3")]):
        (ap / f"v##{i}.json").write_text(json.dumps([{"pred": p, "score": s}, {}]))
    m = {k: v.value for k, v in aggregate_judged(ap, "ap").metrics.items()}
    assert m["accuracy"] == pytest.approx(2 / 3) and m["score"] == pytest.approx((4 + 1 + 3) / 3)
    (ap / "v##9.json").write_text(json.dumps([{"pred": "yes"}, {}]))
    with pytest.raises(DataError, match="v##9.json"):
        aggregate_judged(ap, "ap")


def test_reference_scores_command_prints_every_metric(tmp_path, capsys):
    from omnibench.cli import main

    ap = tmp_path / "ap"
    ap.mkdir()
    for i, (p, s) in enumerate([("yes", 4.8), ("no", 1), ("YES.", "3")]):
        (ap / f"v##{i}.json").write_text(json.dumps([{"pred": p, "score": s}, {}]))
    assert main(["data", "reference-scores", str(ap), "--task", "ap", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["accuracy"] == pytest.approx(2 / 3) and printed["score"] == pytest.approx(8 / 3)
    assert main(["data", "reference-scores", str(ap), "--task", "ap"]) == 0
    lines = dict(line.split() for line in capsys.readouterr().out.splitlines())
    assert lines["accuracy"] == "0.6667" and lines["score"] == "2.6667"
