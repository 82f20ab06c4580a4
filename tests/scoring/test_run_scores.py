"""Scoring a run: recorded settings reused, per-scorer values kept apart, changed samples refused."""

from __future__ import annotations

import json

import pytest

from omnibench import registry
from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.evaluate import Evaluation
from omnibench.engine.protocols import Emission
from omnibench.errors import DataError
from omnibench.scoring.base import Score
from omnibench.scoring.run_scores import score_run
from omnibench.task import Prompts, Task
from tests.conftest import text_samples


def _alert_samples(n: int) -> list[Sample]:
    return [Sample(id=f"p{i}", task="t_claimed", video=VideoRef(path=f"v{i}.mp4", end=8.0),
                   turns=[Query(t=0.0, text="tell me when", kind="alert_request", target=[3.0, 4.0])],
                   metadata={"video_id": f"v{i}"}) for i in range(n)]


class LateAlerter:
    """Speaks at 5 s, claiming the event happened at 3.5 s: right when claimed, wrong when spoken."""

    fps = 1.0
    needs_video = False

    def reset(self, info):
        self.said = False

    def feed(self, t, frame):
        pass

    def ask(self, t, query):
        pass

    def poll(self, t):
        if t >= 5.0 and not self.said:
            self.said = True
            return [Emission("now", turn=None, refers_to=3.5)]
        return []


@pytest.fixture
def claimed_task():
    from omnibench.scoring.rules import alert_timing

    @registry.task("t_claimed", hidden=True)
    def factory(alert_time=None):
        return Task(name="t_claimed", samples=lambda: _alert_samples(3), protocols=("streaming",),
                    scorers=[alert_timing(time=alert_time or "spoken")], headline="accuracy", prompts=Prompts(),
                    metric_docs={"accuracy": "the first alert fell in the window"})

    yield "t_claimed"
    registry._TASKS.pop("t_claimed", None)


def test_score_equals_results_json_for_a_claimed_time_run(tmp_path, claimed_task):
    Evaluation(model="late", out=tmp_path, model_obj=LateAlerter(), task_settings={"alert_time": "claimed"},
               progress=False).run([claimed_task])
    first = score_run(tmp_path, task_settings={"alert_time": "claimed"})[0]
    assert first.metrics["accuracy"].value == 1.0
    again = score_run(tmp_path)[0]            # no flag: the recorded setting is used
    assert again.metrics["accuracy"].value == 1.0 and again.task_settings["alert_time"] == "claimed"
    spoken = score_run(tmp_path, task_settings={"alert_time": "spoken"})[0]   # a flag overrides, and says so
    assert spoken.metrics["accuracy"].value == 0.0
    stored = json.loads((tmp_path / "results.json").read_text())["results"][0]
    assert stored["task_settings"]["alert_time"] == "spoken"


def test_results_carry_the_tasks_own_metric_definitions(tmp_path, claimed_task):
    Evaluation(model="late", out=tmp_path, model_obj=LateAlerter(), progress=False).run([claimed_task])
    assert score_run(tmp_path)[0].metric_docs == {"accuracy": "the first alert fell in the window"}
    stored = json.loads((tmp_path / "results.json").read_text())["results"][0]
    assert stored["metric_docs"] == {"accuracy": "the first alert fell in the window"}   # the report reads these


def test_scorers_keep_their_values_apart(tmp_path, memory_task):
    def first(sample, record):
        return Score(values={"false_stop": 1.0, "a": 1.0})

    def second(sample, record):
        if sample.id == "s000":
            return Score(values={"false_stop": None, "b": None}, unscored="judge down")
        return Score(values={"false_stop": 0.0, "b": 0.5})

    name = memory_task("t_two", text_samples(3, "t_two"), [first, second], protocols=("offline",), headline="a")
    from omnibench.models.baselines import Blind

    Evaluation(model="blind", out=tmp_path, model_obj=Blind(), progress=False).run([name])
    result = score_run(tmp_path)[0]
    assert result.metrics["first/false_stop"].value == 1.0 and result.metrics["first/false_stop"].n == 3
    assert result.metrics["second/false_stop"].value == 0.0 and result.metrics["second/false_stop"].n == 2
    assert result.metrics["a"].n == 3, "one scorer's unscored leaves the other's values counted"


def test_score_refuses_records_of_a_changed_sample(tmp_path, memory_task):
    name = memory_task("t_edit", text_samples(2, "t_edit"), protocols=("offline",))
    from omnibench.models.baselines import Blind

    Evaluation(model="blind", out=tmp_path, model_obj=Blind(), progress=False).run([name])
    path = tmp_path / "samples" / name / "blind.jsonl"
    lines = path.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["turns"][0]["target"] = "changed"
    path.write_text("\n".join([lines[0], json.dumps(edited)]) + "\n")
    with pytest.raises(DataError, match="s001"):
        score_run(tmp_path)


def test_a_run_dir_without_its_samples_file_says_how_to_mend_it(tmp_path, memory_task):
    name = memory_task("t_nosamples", text_samples(3, "t_nosamples"), protocols=("offline",))
    Evaluation(model="blind", out=tmp_path, progress=False).run([name])
    (tmp_path / "samples" / name / "blind.jsonl").unlink()
    with pytest.raises(DataError, match="rerun the run command into it") as err:
        score_run(tmp_path)
    assert f"{name}/blind.jsonl" in str(err.value)
