"""Run identity: settings that change answers never share results; changed samples are refused."""

from __future__ import annotations

import json

import pytest

from omnibench.engine.evaluate import Evaluation
from omnibench.engine.eventlog import EventLog
from omnibench.errors import DataError
from omnibench.rundir import fingerprint_path, is_secret, model_label, secret_values, slug
from omnibench.scoring.rules import choice_match
from tests.conftest import text_samples


class Recorder:
    """Deterministic offline mock with fingerprinted weights; counts its calls."""

    needs_video = False
    deterministic = True

    def __init__(self, fingerprint: str = "w1", **settings):
        self.weights_fingerprint, self.settings, self.calls = fingerprint, settings, 0

    def generate(self, request):
        self.calls += 1
        return f"a{int(request.sample_id[1:])}"


def test_secret_rule_matches_whole_names_only():
    assert is_secret("api_key") and is_secret("Token") and is_secret("password")
    assert not any(is_secret(n) for n in ("max_tokens", "max_new_tokens", "tokens_per_poll", "keyframes"))
    assert is_secret("org", {"org"})
    assert secret_values({"api_key": "sk-abcdef", "max_tokens": 5}) == ["sk-abcdef"]
    assert model_label("m", {"max_tokens": 50}) == "m(max_tokens=50)"


def test_labels_are_never_cut_into_a_collision():
    long_a, long_b = "m(" + "x" * 150 + "a)", "m(" + "x" * 150 + "b)"
    assert slug(long_a) != slug(long_b)
    assert slug("a/b") != slug("a_b") and slug("blind") == "blind"


def test_settings_that_change_answers_give_different_run_ids_and_no_cache_hit(tmp_path, memory_task):
    name = memory_task("t_id", text_samples(3, "t_id"), [choice_match()], protocols=("offline",))
    first, second, again = Recorder(), Recorder(), Recorder()
    a = Evaluation(model="rec", model_args={"max_tokens": 2}, out=tmp_path / "a", model_obj=first, cache=True,
                   progress=False)
    a.run([name])
    b = Evaluation(model="rec", model_args={"max_tokens": 50}, out=tmp_path / "b", model_obj=second, cache=True,
                   progress=False)
    b.run([name])
    assert first.calls == 3 and second.calls == 3, "max_tokens=50 must not be served max_tokens=2 answers"
    assert a.spec.run_id(name) != b.spec.run_id(name)
    spec = json.loads((tmp_path / "b" / "run.json").read_text())
    assert spec["model_args"] == {"max_tokens": 50} and spec["model"] == "rec(max_tokens=50)"
    Evaluation(model="rec", model_args={"max_tokens": 2}, out=tmp_path / "c", model_obj=again, cache=True,
               progress=False).run([name])
    assert again.calls == 0, "an identical run shares the cached answers"


def test_a_changed_checkpoint_file_misses_the_cache(tmp_path, memory_task):
    name = memory_task("t_ckpt", text_samples(2, "t_ckpt"), [choice_match()], protocols=("offline",))
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "model.safetensors").write_bytes(b"weights-1")
    old = Recorder(fingerprint_path(ckpt))
    Evaluation(model="rec", out=tmp_path / "a", model_obj=old, progress=False).run([name])   # cache on by default
    (ckpt / "model.safetensors").write_bytes(b"weights-2")
    new = Recorder(fingerprint_path(ckpt))
    Evaluation(model="rec", out=tmp_path / "b", model_obj=new, progress=False).run([name])
    assert old.calls == 2 and new.calls == 2
    same = Recorder(fingerprint_path(ckpt))
    Evaluation(model="rec", out=tmp_path / "c", model_obj=same, progress=False).run([name])
    assert same.calls == 0


def test_no_cache_for_models_without_a_weights_fingerprint(tmp_path, memory_task):
    name = memory_task("t_nofp", text_samples(2, "t_nofp"), protocols=("offline",))
    for out in ("a", "b"):
        model = Recorder(None)
        Evaluation(model="rec", out=tmp_path / out, model_obj=model, progress=False).run([name])
        assert model.calls == 2


def test_a_changed_annotation_record_is_refused_on_resume(tmp_path, memory_task):
    samples = text_samples(4, "t_changed")
    name = memory_task("t_changed", samples, [choice_match()], protocols=("offline",))
    Evaluation(model="rec", out=tmp_path, model_obj=Recorder(), progress=False).run([name])
    samples[2] = samples[2].model_copy(update={"metadata": {"video_id": "v2", "note": "edited"}})
    with pytest.raises(DataError, match="s002"):
        Evaluation(model="rec", out=tmp_path, model_obj=Recorder(), progress=False).run([name])
    model = Recorder()
    runs = Evaluation(model="rec", out=tmp_path, model_obj=model, rerun_changed=True, cache=False,
                      progress=False).run([name])
    assert runs[0].ran == 1 and model.calls == 1


def test_a_changed_model_in_the_same_run_dir_is_refused(tmp_path, memory_task):
    name = memory_task("t_other", text_samples(2, "t_other"), protocols=("offline",))
    Evaluation(model="rec", out=tmp_path, model_obj=Recorder("w1"), cache=False, progress=False).run([name])
    with pytest.raises(Exception, match="weights"):
        Evaluation(model="rec", out=tmp_path, model_obj=Recorder("w2"), cache=False, progress=False).run([name])


def test_duplicate_sample_ids_are_a_load_error(tmp_path, memory_task):
    samples = text_samples(3, "t_dup")
    name = memory_task("t_dup", samples + [samples[1]], protocols=("offline",))
    with pytest.raises(DataError, match="s001"):
        Evaluation(model="rec", out=tmp_path, model_obj=Recorder(), progress=False).run([name])


def test_records_carry_the_hash_of_their_sample(tmp_path, memory_task):
    from omnibench.rundir import sample_hash

    samples = text_samples(2, "t_hash")
    name = memory_task("t_hash", samples, protocols=("offline",))
    runs = Evaluation(model="rec", out=tmp_path, model_obj=Recorder(), progress=False).run([name])
    records = {r.sample_id: r for r in EventLog(runs[0].log_paths[0]).records()}
    assert {k: r.sample_hash for k, r in records.items()} == {s.id: sample_hash(s) for s in samples}


def test_declared_secrets_stay_out_of_run_json_and_are_offered_to_the_scrubber(tmp_path, memory_task):
    class Org(Recorder):
        secrets = frozenset({"org_id"})

    name = memory_task("t_org", text_samples(1, "t_org"), protocols=("offline",))
    evaluation = Evaluation(model="rec", model_args={"org_id": "org-12345", "api_key": "sk-999999", "max_tokens": 8},
                            out=tmp_path, model_obj=Org(), progress=False)
    evaluation.run([name])
    text = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert "org-12345" not in text and "sk-999999" not in text and "max_tokens=8" in text
    assert sorted(evaluation.secret_values()) == ["org-12345", "sk-999999"]


def test_the_judge_temperature_is_part_of_the_recorded_scoring_settings(tmp_path):
    """Used to be left out: runs judged at 0 and at 1.0 recorded the same judge, and `score` rebuilt it at 0."""
    from omnibench import registry
    from omnibench.rundir import read_spec
    from omnibench.scoring.judge import JudgeClient, judge_turns
    from omnibench.task import Prompts, Task

    @registry.task("t_judged_temp", hidden=True)
    def factory(judge=None):
        return Task(name="t_judged_temp", samples=lambda: text_samples(1, "t_judged_temp"), protocols=("offline",),
                    scorers=[judge_turns(lambda: JudgeClient(**(judge or {})))], headline="accuracy",
                    prompts=Prompts())

    try:
        specs = {}
        for temperature in (0.0, 1.0, None):
            judge = {"base_url": "http://127.0.0.1:9/v1", "temperature": temperature,
                     "judge_empty": temperature is None}
            out = tmp_path / str(temperature)
            Evaluation(model="rec", out=out, model_obj=Recorder(), check_judge=True, progress=False,
                       task_settings={"judge": judge}).run(["t_judged_temp"])
            specs[temperature] = read_spec(out, "rec")
    finally:
        registry._TASKS.pop("t_judged_temp", None)
    recorded = {t: s.task_specs["t_judged_temp"].settings["judge"]["temperature"] for t, s in specs.items()}
    assert recorded == {0.0: 0.0, 1.0: 1.0, None: None}
    assert [s.task_specs["t_judged_temp"].settings["judge"]["judge_empty"] for s in specs.values()] == [False, False, True]
    assert specs[0.0].differences(specs[1.0], "t_judged_temp") == ["task t_judged_temp prompts/settings"]
    assert specs[0.0].run_id("t_judged_temp") == specs[1.0].run_id("t_judged_temp"), "answers are shared"
