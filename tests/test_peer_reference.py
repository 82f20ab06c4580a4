"""--reference ovobench / streamingbench: their wording read from a checkout, their settings at once, ours by default."""

from __future__ import annotations

import json

import pytest

from omnibench import reference
from omnibench.cli import main
from omnibench.data import ovobench, streamingbench
from omnibench.errors import ConfigError
from omnibench.peer_prompts import write_reference_prompts
from omnibench.rundir import build_task
from tests.peer_layout import ovo_records, sb_files
from tests.peer_reference_fixture import (
    OVO_OPTION,
    OVO_REC_QUESTION,
    OVO_TEMPLATES,
    SB_TEMPLATES,
    write_ovo_checkout,
    write_sb_checkout,
)


@pytest.fixture
def ovo_data(tmp_path):
    (tmp_path / "ovo").mkdir()
    (tmp_path / "ovo" / "ovo_bench_new.json").write_text(json.dumps(ovo_records()))
    return tmp_path / "ovo"


@pytest.fixture
def sb_data(tmp_path):
    (tmp_path / "sb").mkdir()
    for subset, data in sb_files().items():
        (tmp_path / "sb" / f"questions_{subset}.json").write_text(json.dumps(data))
    return tmp_path / "sb"


def _prompt(name, data, settings, turn=0, answers=()):
    task = build_task(name, {"data_dir": str(data), **settings})
    sample = task.samples()[0]
    return task.prompts, sample


def test_ovobench_wording_is_read_from_the_checkout_and_filled_as_the_reference_fills_it(ovo_data, tmp_path):
    path = write_reference_prompts("ovobench", write_ovo_checkout(tmp_path / "OVO-Bench"), tmp_path / "p")
    settings = {"prompts_file": str(path)}
    prompts, epm = _prompt("ovobench_epm", ovo_data, settings)
    q = epm.turns[0]
    options = " | ".join(OVO_OPTION.format(letter=chr(65 + i), text=o) for i, o in enumerate(q.choices)) + " |"
    assert prompts.offline(epm, 0, []) == OVO_TEMPLATES["BR_PROMPT_TEMPLATE"].format(q.text, options)
    prompts, rec = _prompt("ovobench_rec", ovo_data, settings)
    assert prompts.offline(rec, 1, []) == OVO_TEMPLATES["REC_PROMPT_TEMPLATE"].format(
        OVO_REC_QUESTION.format(activity="jumping"))
    prompts, ssr = _prompt("ovobench_ssr", ovo_data, settings)
    assert prompts.offline(ssr, 0, []) == OVO_TEMPLATES["SSR_PROMPT_TEMPLATE"].format("b")
    prompts, crr = _prompt("ovobench_crr", ovo_data, settings)
    assert prompts.offline(crr, 0, []) == OVO_TEMPLATES["CRR_PROMPT_TEMPLATE"].format("What does he do next?")
    ours, _ = _prompt("ovobench_epm", ovo_data, {})
    assert ours.offline(epm, 0, []).startswith("What is shown (EPM)?\nOptions:\nA. red\nB. green")


def test_streamingbench_wording_is_read_from_the_checkout_and_filled_as_the_reference_fills_it(sb_data, tmp_path):
    path = write_reference_prompts("streamingbench", write_sb_checkout(tmp_path / "StreamingBench"), tmp_path / "p")
    settings = {"prompts_file": str(path)}
    prompts, real = _prompt("streamingbench_real", sb_data, settings)
    q = real.turns[0]
    assert prompts.offline(real, 0, []) == SB_TEMPLATES["plain"].format(q.text, *q.choices) + SB_TEMPLATES["plain_suffix"]
    prompts, sqa = _prompt("streamingbench_sqa", sb_data, {**settings, "sqa_context": "gold"})
    first, second = sqa.turns
    context = (SB_TEMPLATES["sqa_start"] + f"At 00:00:02 asked: {first.text}; choices: {', '.join(first.choices[:4])}; "
               f"correct: {first.target}; ")
    assert prompts.offline(sqa, 1, ["D"]) == SB_TEMPLATES["sqa"].format(context, second.text, *second.choices)
    assert prompts.offline(sqa, 0, []) == SB_TEMPLATES["sqa"].format("", first.text, *first.choices)
    assert prompts.history(sqa, 1, ["D"]) == []
    prompts, pro = _prompt("streamingbench_proactive", sb_data, settings)
    query = f'{pro.turns[0].text} Stand-in: time to say "forty"? yes or no.'
    assert prompts.poll(pro, 0) == SB_TEMPLATES["proactive"].format(query)
    assert prompts.alert_answer(pro, 0) == SB_TEMPLATES["proactive"].format(pro.turns[0].text)


def test_sqa_keeps_the_models_own_answers_here_and_gives_the_gold_ones_in_reference_mode(sb_data):
    prompts, sqa = _prompt("streamingbench_sqa", sb_data, {})
    history = prompts.history(sqa, 1, ["D. a hen."])
    assert [m.role for m in history] == ["user", "assistant"] and history[1].text == "D. a hen."
    assert prompts.offline(sqa, 1, ["D. a hen."]).startswith("And the one before?\nA. a cat.")   # no gold context
    gold, _ = _prompt("streamingbench_sqa", sb_data, {"sqa_context": "gold"})
    assert "was answered A." in gold.offline(sqa, 1, ["D"]) and gold.history(sqa, 1, ["D"]) == []


def test_reference_mode_sets_every_row_and_the_users_settings_win(tmp_path):
    ovo = reference.task_settings("ovobench", {"count_rule": "ours"}, prompts=tmp_path)
    assert (ovo["clip_end"], ovo["choice_rule"], ovo["count_rule"], ovo["yes_no_rule"]) == \
        ("ceil", "substring", "ours", "reference")
    assert "omnibench's wording" in ovo["reference_note"] and "prompts_file" not in ovo
    (tmp_path / "task_prompts.json").write_text("{}")
    sb = reference.task_settings("streamingbench", {}, prompts=tmp_path)
    assert sb["prompts_file"] == str(tmp_path / "task_prompts.json") and sb["unanswered"] == "drop"
    assert (sb["choice_rule"], sb["sqa_context"], sb["proactive_turn"], sb["output_match"]) == \
        ("first_char", "gold", "last", "substring")
    assert reference.m4_model_args("m4-tiny", {}, "ovobench")[0] == {}       # OmniMMI's M4 rows stay off


def test_reference_prompts_command_and_a_checkout_it_cannot_read(tmp_path, capsys):
    checkout = write_ovo_checkout(tmp_path / "OVO-Bench")
    assert main(["data", "reference-prompts", "--benchmark", "ovobench", str(checkout), "--out", str(tmp_path / "o")]) == 0
    assert json.loads((tmp_path / "o" / "task_prompts.json").read_text())["ovobench_ssr"]["question"].count("{step}") == 1
    (checkout / "constant.py").write_text("X = 1\n")
    with pytest.raises(ConfigError, match="no module-level string BR_PROMPT_TEMPLATE"):
        write_reference_prompts("ovobench", checkout, tmp_path / "o")


def test_task_args_reach_the_tasks_and_scoring_rules_stay_out_of_run_identity(ovo_data, sb_data):
    from omnibench.cli_args import build_parser, task_settings
    from omnibench.rundir import SCORING_ONLY

    args = build_parser().parse_args(["run", "--model", "blind", "--task-args", "clip_end=ceil,context_s=60"])
    settings = task_settings(args)
    assert settings["clip_end"] == "ceil" and settings["context_s"] == 60
    assert build_task("ovobench_epm", {**settings, "data_dir": str(ovo_data)}).samples()[0].turns[0].t == 4.0
    assert {"choice_rule", "count_rule", "yes_no_rule", "unanswered", "proactive_turn", "output_match"} <= SCORING_ONLY
    assert ovobench.load("EPM", ovo_data)[0].turns[0].t == 3.4 and streamingbench.SUBSETS
