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
    # scoring settings are recorded for `score`, and are not the identity of the answers
    assert specs[0.0].differences(specs[1.0], "t_judged_temp") == []
    assert specs[0.0].run_id("t_judged_temp") == specs[1.0].run_id("t_judged_temp")
    assert specs[0.0].run_id("t_judged_temp") == specs[1.0].run_id("t_judged_temp"), "answers are shared"


# -- identity is what changes answers, and nothing else (issue 29) -------------------------------

PLUGIN = '''
class PluginModel:
    """An adapter from outside omnibench (an entry point's module)."""
    needs_video = False
    deterministic = True
    weights_fingerprint = "w"
    calls = 0

    def generate(self, request):
        PluginModel.calls += 1  # a comment
        return "a0"
'''


def _plugin(tmp_path, monkeypatch, source: str = PLUGIN):
    import importlib
    import sys

    (tmp_path / "plug_adapter.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    if "plug_adapter" in sys.modules:
        return importlib.reload(sys.modules["plug_adapter"])
    return importlib.import_module("plug_adapter")


def test_a_comment_edit_reruns_nothing_and_a_code_edit_in_a_plugin_adapter_is_a_different_run(tmp_path, monkeypatch,
                                                                                                memory_task):
    name = memory_task("t_plug", text_samples(3, "t_plug"), protocols=("offline",))
    module = _plugin(tmp_path / "src", monkeypatch) if (tmp_path / "src").mkdir() is None else None
    first = Evaluation(model="plug", out=tmp_path / "run", model_obj=module.PluginModel(), cache=False, progress=False)
    assert first.run([name])[0].ran == 3
    assert "plug_adapter" in first.spec.code
    module = _plugin(tmp_path / "src", monkeypatch, PLUGIN.replace("# a comment", "# another comment, longer")
                     .replace('"""An adapter', '"""Reworded: an adapter'))
    again = Evaluation(model="plug", out=tmp_path / "run", model_obj=module.PluginModel(), cache=False, progress=False)
    assert again.run([name])[0].ran == 0 and again.spec.run_id(name) == first.spec.run_id(name)
    module = _plugin(tmp_path / "src", monkeypatch, PLUGIN.replace('return "a0"', 'return "a1"'))
    with pytest.raises(Exception, match=r"differs in: code \(plug_adapter\)"):
        Evaluation(model="plug", out=tmp_path / "run", model_obj=module.PluginModel(), cache=False,
                   progress=False).run([name])


def test_the_response_cache_misses_when_the_adapters_code_changed(tmp_path, monkeypatch, memory_task):
    """A fresh --out with --cache served the old code's answers: the cache key held no adapter code."""
    name = memory_task("t_plug_cache", text_samples(2, "t_plug_cache"), protocols=("offline",))
    (tmp_path / "src").mkdir()
    module = _plugin(tmp_path / "src", monkeypatch)
    Evaluation(model="plug", out=tmp_path / "a", model_obj=module.PluginModel(), cache=True, progress=False).run([name])
    module = _plugin(tmp_path / "src", monkeypatch, PLUGIN.replace('return "a0"', 'return "a1"'))
    module.PluginModel.calls = 0
    Evaluation(model="plug", out=tmp_path / "b", model_obj=module.PluginModel(), cache=True, progress=False).run([name])
    assert module.PluginModel.calls == 2


def test_identity_hashes_the_modules_that_build_the_input_not_scoring_reports_or_the_checkout(tmp_path, monkeypatch,
                                                                                             memory_task):
    from omnibench import fingerprint

    name = memory_task("t_code", text_samples(1, "t_code"), protocols=("offline",))
    evaluation = Evaluation(model="rec", out=tmp_path, model_obj=Recorder(), progress=False)
    evaluation.run([name])
    code = {**evaluation.spec.code, **evaluation.spec.task_specs[name].code}
    assert {"omnibench.engine.stream", "omnibench.engine.offline", "omnibench.data.video", "omnibench.task",
            "tests.engine.test_identity", "tests.conftest"} <= set(code)
    assert not [m for m in code if m.startswith(("omnibench.report", "omnibench.scoring", "omnibench.cli"))]
    assert "git_diff" not in evaluation.spec.versions and "omnibench" not in evaluation.spec.model_identity()
    # the same module with a comment added is the same code; with a changed line it is not
    real = fingerprint.module_file("omnibench.engine.stream")
    edited = tmp_path / "stream.py"
    edited.write_text(real.read_text() + "\n# a comment added at the end\n")
    assert fingerprint.code_digest(edited) == fingerprint.code_digest(real)
    edited.write_text(real.read_text() + "\nREALTIME_FACTOR_CAP = 2\n")
    assert fingerprint.code_digest(edited) != fingerprint.code_digest(real)


def test_the_data_roots_path_is_not_identity(tmp_path):
    from omnibench import registry
    from omnibench.task import Prompts, Task

    @registry.task("t_moved", hidden=True)
    def factory(data_dir=None):
        return Task(name="t_moved", samples=lambda: text_samples(2, "t_moved"), protocols=("offline",), scorers=[],
                    headline="accuracy", prompts=Prompts())

    try:
        for mount in ("/mnt/a/omnimmi", "/data/b/omnimmi"):
            runs = Evaluation(model="rec", out=tmp_path, model_obj=Recorder(), progress=False,
                              task_settings={"data_dir": mount}).run(["t_moved"])
        assert runs[0].ran == 0
    finally:
        registry._TASKS.pop("t_moved", None)


class Watching(Recorder):
    runtime_settings = frozenset({"watch"})


def test_runtime_settings_are_not_identity_and_the_default_label_holds_no_path_or_port(tmp_path, memory_task):
    name = memory_task("t_runtime", text_samples(2, "t_runtime"), protocols=("offline",))
    first = Evaluation(model="rec", out=tmp_path, model_obj=Watching(), progress=False, model_args={
        "watch": False, "base_url": "http://localhost:8001/v1", "timeout": 30, "checkpoint": "/ckpt/run-7",
        "temperature": 0.5})
    first.run([name])
    second = Evaluation(model="rec", out=tmp_path, model_obj=Watching(), progress=False, model_args={
        "watch": True, "base_url": "http://localhost:9002/v1", "timeout": 90, "checkpoint": "/ckpt/run-7",
        "temperature": 0.5})
    assert second.run([name])[0].ran == 0
    assert first.label == second.label == "rec(temperature=0.5)"
    assert first.spec.model_args == {"checkpoint": "/ckpt/run-7", "temperature": 0.5}
    assert first.spec.runtime_args["base_url"] == "http://localhost:8001/v1"
    assert len(model_label("m4", {"alpha": 0.5, "checkpoint": "/a/b", "note": "x" * 80})) <= 64


def test_a_label_names_the_row_and_is_not_identity(tmp_path, memory_task, capsys):
    from omnibench import registry
    from omnibench.cli import main

    name = memory_task("t_label", text_samples(2, "t_label"), protocols=("offline",))
    evaluation = Evaluation(model="rec", out=tmp_path / "a", model_obj=Recorder(), label="baseline A", progress=False)
    evaluation.run([name])
    assert (tmp_path / "a" / "logs" / name / f"{slug('baseline A')}.shard0of1.jsonl").exists()
    assert json.loads((tmp_path / "a" / "run.json").read_text())["model"] == "baseline A"
    assert registry.models(include_hidden=True)["random"]
    assert main(["run", "--model", "random", "--model-args", "watch=false", "--tasks", name, "--out",
                 str(tmp_path / "b"), "--label", "rnd", "--quiet", "--protocol", "offline", "--no-score"]) == 0
    assert [p.name for p in (tmp_path / "b" / "logs" / name).iterdir()] == ["rnd.shard0of1.jsonl"]


def test_weights_are_fingerprinted_by_every_byte_and_a_restored_mtime_fools_nothing(tmp_path, monkeypatch):
    import os

    from omnibench import fingerprint

    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    weights = ckpt / "model.safetensors"
    weights.write_bytes(b"\0" * (70 << 20))
    before = fingerprint_path(ckpt)
    stat = weights.stat()
    with open(weights, "r+b") as fh:           # one byte in the middle, then the old mtime put back
        fh.seek(35 << 20)
        fh.write(b"\1")
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert fingerprint_path(ckpt) != before
    reads = []
    monkeypatch.setattr(fingerprint, "_sha256_file", lambda path: reads.append(path) or "x")
    fingerprint._memo.clear()
    fingerprint_path(ckpt)
    assert reads == [], "an unchanged file is not read again (its digest is cached by size, mtime and ctime)"


def test_a_swapped_video_reruns_exactly_its_samples(tmp_path):
    """Videos replaced at the same path: the rerun said `0 run now` and kept the old answers."""
    from omnibench import registry
    from omnibench.data.schema import Query, Sample, VideoRef
    from omnibench.task import Prompts, Task
    from tests.videos import make_video

    root = tmp_path / "data"
    root.mkdir()
    for name in ("v0.mp4", "v1.mp4"):
        make_video(root / name, seconds=2.0, size=(32, 24))
    samples = [Sample(id=f"s{i}", task="t_videos", video=VideoRef(path=video),
                      turns=[Query(t=1.0, text="q?", target="a", choices=["a", "b"])])
               for i, video in enumerate(["v0.mp4", "v0.mp4", "v1.mp4"])]

    @registry.task("t_videos", hidden=True)
    def factory():
        return Task(name="t_videos", samples=lambda: samples, protocols=("offline",), scorers=[],
                    headline="accuracy", prompts=Prompts(), data_root=str(root))

    class Looking(Recorder):
        needs_video = True
        num_frames = 2

        def generate(self, request):
            self.calls += 1
            return "a"

    try:
        assert Evaluation(model="rec", out=tmp_path / "run", model_obj=Looking(), cache=False,
                          progress=False).run(["t_videos"])[0].ran == 3
        make_video(root / "v1.mp4", seconds=2.0, size=(32, 24), pattern="noise")
        with pytest.raises(DataError, match="s2"):
            Evaluation(model="rec", out=tmp_path / "run", model_obj=Looking(), cache=False,
                       progress=False).run(["t_videos"])
        model = Looking()
        [status] = Evaluation(model="rec", out=tmp_path / "run", model_obj=model, cache=False, rerun_changed=True,
                              progress=False).run(["t_videos"])
        assert status.ran == 1 and model.calls == 1
    finally:
        registry._TASKS.pop("t_videos", None)
