"""The lmms-eval task folder and its scoring glue, in the main env (no lmms_eval import)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from omnibench import registry
from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.evaluate import Evaluation
from omnibench.lmms import scoring
from omnibench.lmms.manifests import class_name, model_for_class
from omnibench.lmms.requests import request_from_doc, request_from_visuals
from omnibench.lmms.tasks import LmmsTaskSpec, doc_to_messages, doc_to_text, doc_to_visual, task_dir, write_task_dir
from omnibench.scoring.rules import choice_match
from omnibench.scoring.run_scores import score_run
from omnibench.task import Task
from omnibench.tasks.omnimmi_prompts import HistoryPrompts, QuestionPrompts
from tests.videos import make_video

COLOURS = ["red", "green", "blue", "yellow"]


def _samples(task: str, n: int, turns: int) -> list[Sample]:
    out = []
    for i in range(n):
        qs = [Query(t=1.0 + k, text=f"Which colour {'is red' if (i + k) % 2 else 'comes now'}, part {k}?",
                    target=COLOURS[(i + k) % 4], choices=COLOURS) for k in range(turns)]
        clips = {"1": f"clips/v{i}_1.mp4"} if i == 0 else {}
        out.append(Sample(id=f"{task}-{i}", task=task, video=VideoRef(path=f"videos/v{i}.mp4", end=3.0, clips=clips),
                          turns=qs, metadata={"video_id": f"v{i}"}))
    return out


@pytest.fixture
def fake_tasks(tmp_path):
    """Two hidden tasks (one single-turn, one multi-turn) over real little videos."""
    root = tmp_path / "data"
    (root / "videos").mkdir(parents=True)
    (root / "clips").mkdir()
    for i in range(3):
        make_video(root / "videos" / f"v{i}.mp4", seconds=3.0, fps=10)
    make_video(root / "clips" / "v0_1.mp4", seconds=1.0, fps=10)
    made = {"lmmsfake_single": (1, QuestionPrompts), "lmmsfake_multi": (2, HistoryPrompts)}
    for name, (turns, prompts) in made.items():
        def factory(name=name, turns=turns, prompts=prompts) -> Task:
            return Task(name=name, samples=lambda: _samples(name, 3, turns), protocols=("offline",),
                        scorers=[choice_match()], headline="accuracy", prompts=prompts(), data_root=str(root))
        registry.task(name, hidden=True)(factory)
    specs = tuple(LmmsTaskSpec(name, "synth", ("accuracy", "turn_accuracy")) for name in made)
    yield specs, root
    for name in made:
        registry._TASKS.pop(name, None)


def _docs(folder: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (folder / f"omnibench_{name}.jsonl").read_text().splitlines()]


def _load_yaml(path: Path) -> dict:
    class Loader(yaml.SafeLoader):
        pass
    Loader.add_constructor("!function", lambda loader, node: ("function", loader.construct_scalar(node)))
    return yaml.load(path.read_text(), Loader=Loader)


def test_yaml_points_at_docs_and_omnibench_hooks(fake_tasks, tmp_path):
    specs, _ = fake_tasks
    out = tmp_path / "tasks"
    names = write_task_dir(out, {"synth": {}}, specs)
    assert names == ["omnibench_lmmsfake_single", "omnibench_lmmsfake_multi"]
    config = _load_yaml(out / "omnibench_lmmsfake_single.yaml")
    assert config["task"] == "omnibench_lmmsfake_single"
    docs_path = Path(config["dataset_kwargs"]["data_files"]["test"])
    assert docs_path.is_absolute() and docs_path == out / "omnibench_lmmsfake_single.jsonl"
    assert config["process_results"] == ("function", "omnibench.lmms.scoring.process_results")
    assert [m["metric"] for m in config["metric_list"]] == ["accuracy", "turn_accuracy"]
    assert all(m["aggregation"] == ("function", "omnibench.lmms.scoring.aggregate") for m in config["metric_list"])
    group = _load_yaml(out / "omnibench_synth.yaml")
    assert group == {"group": "omnibench_synth", "task": names}


def test_docs_carry_omnibench_prompt_and_video(fake_tasks, tmp_path):
    specs, root = fake_tasks
    write_task_dir(tmp_path / "tasks", {"synth": {}}, specs)
    multi = _docs(tmp_path / "tasks", "lmmsfake_multi")
    assert [d["doc_id"] for d in multi[:2]] == ["lmmsfake_multi-0#0", "lmmsfake_multi-0#1"]
    sample = Sample.model_validate_json(multi[1]["sample"])
    # turn 1's prompt has turn 0 with its *reference* answer as history
    assert doc_to_text(multi[1]) == HistoryPrompts().offline(sample, 1, [sample.turns[0].target, ""])
    assert sample.turns[0].target in doc_to_text(multi[1])
    # the pre-cut clip when one exists for the query time, else the video with its span
    assert doc_to_visual(multi[0]) == [str((root / "clips" / "v0_1.mp4").resolve())]
    assert json.loads(multi[0]["span"]) is None
    assert doc_to_visual(multi[1]) == [str((root / "videos" / "v0.mp4").resolve())]
    assert json.loads(multi[1]["span"]) == [0.0, 2.0]
    user = doc_to_messages(multi[1])[-1]
    assert user["role"] == "user" and user["content"][0] == {"type": "video", "url": multi[1]["video"]}


def test_task_dir_is_written_once_per_settings(fake_tasks, tmp_path):
    specs, _ = fake_tasks
    first = task_dir({"synth": {}}, specs, cache=tmp_path)
    again = task_dir({"synth": {}}, specs, cache=tmp_path)
    other = task_dir({"synth": {"x": 1}}, specs, cache=tmp_path)
    assert first == again != other
    assert (first / "complete.json").exists() and (first / "omnibench_lmmsfake_multi.yaml").exists()


def _lmms_score(docs: list[dict], answer) -> dict[str, float]:
    per_metric: dict[str, list] = {}
    for doc in docs:
        for metric, item in scoring.process_results(doc, [answer(doc)]).items():
            per_metric.setdefault(metric, []).append(item)
    return {metric: scoring.aggregate(items) for metric, items in per_metric.items()}


def test_same_predictions_same_numbers_as_omnibench(fake_tasks, tmp_path):
    specs, _ = fake_tasks
    write_task_dir(tmp_path / "tasks", {"synth": {}}, specs[:1])
    docs = _docs(tmp_path / "tasks", "lmmsfake_single")
    run = tmp_path / "run"
    Evaluation(model="blind", out=run, progress=False).run(["lmmsfake_single"])
    ours = score_run(run, tasks=["lmmsfake_single"])[0].metrics
    from omnibench.models.baselines import Blind

    blind = Blind()
    got = _lmms_score(docs, lambda d: blind.generate(request_from_doc(d, blind)))
    assert got == {"accuracy": ours["accuracy"].value, "turn_accuracy": ours["turn_accuracy"].value}
    assert 0.0 < got["accuracy"] < 1.0        # the check can fail both ways


def test_multi_turn_scores_whole_samples_only(fake_tasks, tmp_path):
    specs, _ = fake_tasks
    write_task_dir(tmp_path / "tasks", {"synth": {}}, specs[1:])
    docs = _docs(tmp_path / "tasks", "lmmsfake_multi")
    oracle = _lmms_score(docs, lambda d: d["target"])
    assert oracle == {"accuracy": 1.0, "turn_accuracy": 1.0}
    # sample 0 loses its second turn (a --limit cut): it is left out, not scored as wrong
    cut = _lmms_score([d for d in docs if d["doc_id"] != "lmmsfake_multi-0#1"], lambda d: d["target"])
    assert cut == {"accuracy": 1.0, "turn_accuracy": 1.0}
    wrong_first = _lmms_score(docs, lambda d: "purple" if d["turn"] == 0 else d["target"])
    assert wrong_first == {"accuracy": 0.0, "turn_accuracy": 0.5}
    assert math.isnan(scoring.aggregate([]))


def test_request_from_doc_matches_offline_driver_frames(fake_tasks, tmp_path):
    specs, root = fake_tasks
    write_task_dir(tmp_path / "tasks", {"synth": {}}, specs[1:])
    doc = _docs(tmp_path / "tasks", "lmmsfake_multi")[3]       # sample 1, turn 1: video span [0, 2]

    class Eyes:
        num_frames = 5

        def generate(self, request):
            return ""
    request = request_from_doc(doc, Eyes(), {"max_new_tokens": 7})
    assert request.frames.shape[0] == 5 and request.frame_times[0] == 0.0 and request.frame_times[-1] <= 2.0
    assert (request.sample_id, request.turn, request.max_new_tokens) == ("lmmsfake_multi-1", 1, 7)
    assert request.choices == tuple(COLOURS) and request.kind == "question"


def test_request_from_visuals_reads_video_and_images(tmp_path):
    from PIL import Image

    video = make_video(tmp_path / "v.mp4", seconds=2.0, fps=10)

    class Eyes:
        num_frames = 4
    request = request_from_visuals("what?", [str(video)], Eyes())
    assert request.frames.shape[0] == 4 and request.video_path == str(video)
    images = [Image.fromarray(np.zeros((8, 6, 3), np.uint8)) for _ in range(2)]
    assert request_from_visuals("what?", images, Eyes()).frames.shape == (2, 8, 6, 3)


@pytest.mark.parametrize("name", ["m4", "openai_compat", "m4-tiny", "a_b.c", "x_5f_"])
def test_model_class_names_round_trip(name):
    assert model_for_class(class_name(name)) == name
    assert class_name(name).isidentifier()


def test_requests_follow_declared_capabilities_also_through_the_wrapper(fake_tasks, tmp_path):
    """Used to read needs_video off the raw model: a Capabilities(needs_video=False) model was asked for video."""
    from omnibench.engine.capabilities import Capabilities
    from omnibench.engine.wrapper import GuardedModel

    specs, root = fake_tasks
    write_task_dir(tmp_path / "tasks", {"synth": {}}, specs[1:])
    doc = {**_docs(tmp_path / "tasks", "lmmsfake_multi")[3], "video": ""}
    video = make_video(tmp_path / "v.mp4", seconds=2.0, fps=10)

    class Declared:
        capabilities = Capabilities(needs_video=False, num_frames=4)

        def generate(self, request):
            return ""
    for model in (Declared(), GuardedModel(Declared(), model_id="d")):
        assert request_from_doc(doc, model).frames is None, "no video needed, none asked for"
        assert request_from_visuals("what?", [str(video)], model).frames is None
