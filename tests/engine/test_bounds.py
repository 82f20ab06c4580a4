"""Stream bounds: untrusted times never make a stream run for ever."""

from __future__ import annotations

import time

import pytest

from omnibench import registry
from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.bounds import stream_end
from omnibench.engine.evaluate import Evaluation
from omnibench.errors import DataError
from omnibench.task import Prompts, Task


def _sample(turns, **video):
    return Sample(id="s1", task="t_bounds", video=VideoRef(path="v.mp4", **video), turns=turns)


@pytest.mark.parametrize("turns", [
    [Query(t=1e20, text="who speaks?", target="x")],                                       # SI timestamp
    [Query(t=1.0, kind="alert_request", text="tell me", target=[5.0, 1e9])],               # PA window end
], ids=["si-1e20", "pa-window-1e9"])
def test_a_video_less_stream_past_the_budget_is_a_sample_error_not_a_hang(tmp_path, turns):
    """Used to run for ever, growing ~3 GB a minute, for replay / blind / random watch=false."""
    task = Task(name="t_bounds", samples=lambda: [], protocols=("streaming",), scorers=[], headline="x",
                prompts=Prompts())
    model = registry.get_model("silent", watch=False)
    evaluation = Evaluation(model="silent", model_obj=model, out=tmp_path, progress=False)
    start = time.monotonic()
    record = evaluation.run_sample(task, _sample(turns), "streaming")
    assert record.status == "error" and "more than --max-stream-s 14400" in record.error
    assert time.monotonic() - start < 5
    evaluation.max_stream_s = 2e9                     # raised budget: the window end is honoured
    if turns[0].window:
        assert evaluation.stream_plan(task, _sample(turns), model).duration == 1e9


def test_stream_end_takes_the_furthest_time_without_video_and_caps_by_the_video_with_it():
    sample = _sample([Query(t=3.0, text="q"), Query(t=1.0, kind="alert_request", text="a", target=[2.0, 7.5])], end=4.0)
    assert stream_end(sample) == 7.5
    assert stream_end(sample, video_s=3.2) == 3.2        # the sample's end is past the real video
    assert stream_end(_sample([Query(t=1.0, text="q")]), video_s=9.0) == 9.0
    with pytest.raises(DataError, match="more than --max-stream-s 5"):
        stream_end(sample, max_stream_s=5)
    with pytest.raises(DataError, match="metadata.duration"):
        stream_end(Sample(id="s", task="t", video=VideoRef(path="v.mp4"), turns=[Query(t=1.0, text="q")],
                          metadata={"duration": "inf"}))
