"""`--reference omnimmi` end to end: run, then score, give the reference's formulas' numbers to 1e-9."""

from __future__ import annotations

import json

import pytest

from omnibench import reference
from omnibench.cli import main
from tests.fake_openai import FakeOpenAI
from tests.reference_fixture import judge_handler, reference_numbers, write_checkout, write_data

TASKS = "omnimmi_sg,omnimmi_md,omnimmi_ap,omnimmi_si,omnimmi_pa,omnimmi_pt"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))   # the judge cache lives under ~/.cache
    monkeypatch.delenv("OMNIBENCH_OMNIMMI_DIR", raising=False)
    monkeypatch.setenv("OMNIBENCH_JUDGE_API_KEY", "test-key")
    with FakeOpenAI(handler=judge_handler) as server:
        monkeypatch.setenv("OMNIBENCH_JUDGE_BASE_URL", server.base_url)
        yield tmp_path, server


def _run(tmp_path, *extra):
    data, preds = write_data(tmp_path / "files")
    out = tmp_path / "run"
    argv = ["run", "--tasks", TASKS, "--model", "replay", "--model-args", f"path={preds},format=omnimmi",
            "--data-dir", str(data), "--out", str(out), "--no-score", "--quiet", *extra]
    assert main(argv) == 0
    return out


def _scores(capsys, out, *extra) -> dict:
    capsys.readouterr()
    assert main(["score", str(out), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_reference_run_then_score_gives_the_reference_numbers(env, capsys):
    tmp_path, server = env
    assert main(["data", "reference-prompts", str(write_checkout(tmp_path / "OmniMMI"))]) == 0
    out = _run(tmp_path, "--reference", "omnimmi")
    got = _scores(capsys, out)   # no flag: the run's recorded reference settings are used
    want = reference_numbers()
    for code, metrics in want.items():
        for name, value in metrics.items():
            assert got[f"omnimmi_{code}"][name]["value"] == pytest.approx(value, abs=1e-9), (code, name)
    # rows 2-4: empty predictions were sent, with no temperature, in the checkout's wording
    bodies = server.bodies
    assert any("Predicted Answer: \n" in b["messages"][-1]["content"] for b in bodies)
    assert all("temperature" not in b for b in bodies)
    assert all(b["messages"][0]["content"].startswith("Stand-in grader.") for b in bodies)
    results = json.loads((out / "results.json").read_text())["results"]
    assert all(r["settings"]["reference"] == "omnimmi" for r in results)
    assert all("read from the reference checkout" in r["settings"]["reference_note"] for r in results)


def test_default_mode_differs_from_the_reference_on_the_same_files(env, capsys):
    tmp_path, server = env
    out = _run(tmp_path)
    got = _scores(capsys, out)
    want = reference_numbers()
    # rows 2-3: empty predictions are no/0 without a call, so the judged aggregates move
    assert got["omnimmi_ap"]["score"]["value"] != pytest.approx(want["ap"]["score"])
    assert not any("Predicted Answer: \n" in b["messages"][-1]["content"] for b in server.bodies)
    assert all(b.get("temperature") == 0 for b in server.bodies)
    # row 7: spoken time is the replayed alert's own time here, so PA agrees; the setting is what differs
    assert not (out / reference.RECORD_FILE).exists()


def test_reference_mode_without_prompts_says_so_in_every_result(env, capsys):
    tmp_path, server = env
    out = _run(tmp_path, "--reference", "omnimmi")
    _scores(capsys, out)
    results = json.loads((out / "results.json").read_text())["results"]
    assert len(results) == 6
    assert all("omnibench's wording" in r["settings"]["reference_note"] for r in results)
    assert all(b["messages"][0]["content"].startswith("You grade answers") for b in server.bodies)


def test_report_notes_runs_not_made_in_reference_mode(env, capsys):
    tmp_path, _ = env
    out = _run(tmp_path)
    _scores(capsys, out)
    assert main(["report", str(out), "--out", str(tmp_path / "lb"), "--reference", "omnimmi"]) == 0
    assert "not run with --reference omnimmi" in capsys.readouterr().err


def test_m4_rows_are_switched_on_only_for_m4_models():
    args, note = reference.m4_model_args("replay", {"path": "x"})
    assert args == {"path": "x"} and "not an M4 model" in note
    args, note = reference.m4_model_args("m4-tiny", {"max_new_tokens": 8})
    assert args == {"reference": "omnimmi", "max_new_tokens": 8} and "on" in note


def test_unknown_reference_mode_is_refused():
    with pytest.raises(Exception, match="unknown reference mode"):
        reference.task_settings("lmms", {})


def test_a_run_resumes_only_in_the_mode_it_was_made_in(env, capsys):
    tmp_path, _ = env
    out = _run(tmp_path, "--reference", "omnimmi")
    data = tmp_path / "files" / "data"
    argv = ["run", "--tasks", "omnimmi_pt", "--model", "replay", "--model-args", f"path={tmp_path / 'files' / 'preds'}",
            "--data-dir", str(data), "--out", str(out), "--no-score", "--quiet"]
    assert main(argv) == 2
    assert "was run with --reference omnimmi" in capsys.readouterr().err
    assert main([*argv, "--reference", "omnimmi"]) == 0


def test_rows_1_2_3_and_6_are_each_a_flag_of_their_own():
    from omnibench.cli_args import build_parser, task_settings
    from omnibench.rundir import build_task

    args = build_parser().parse_args(["run", "--model", "blind", "--tasks", "omnimmi_si", "--si-input", "whole",
                                      "--ask-times", "reference", "--judge-empty", "--judge-temperature", "none"])
    settings = task_settings(args)
    assert settings["si_input"] == "whole" and settings["ask_times"] == "reference"
    assert settings["judge"] == {"judge_empty": True, "temperature": None}
    task = build_task("omnimmi_si", settings)
    assert task.build_settings["si_input"] == "whole" and task.build_settings["ask_times"] == "reference"
    judge = next(s.client for s in task.scorers if hasattr(s, "client"))
    assert judge.judge_empty is True and judge.temperature is None
    defaults = task_settings(build_parser().parse_args(["run", "--model", "blind", "--tasks", "omnimmi_si"]))
    assert defaults["si_input"] is None and defaults["ask_times"] is None and defaults["judge"] is None
    assert build_task("omnimmi_si", defaults).build_settings.get("si_input") is None


@pytest.mark.parametrize("value", ["3", "-0.5", "hot"])
def test_a_judge_temperature_outside_0_to_2_is_refused(value, capsys):
    from omnibench.cli_args import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["score", "runs/x", "--judge-temperature", value])
    assert "--judge-temperature" in capsys.readouterr().err
