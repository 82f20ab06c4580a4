"""Training data from the synthetic suite: which questions each video is asked."""

from __future__ import annotations

from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.m4.training.synthdata import _colour_asks


def _sample(metadata: dict, *turns: Query) -> Sample:
    return Sample(id="synth_stop-007", task="synth_stop", video=VideoRef(path="v.mp4", end=14.0),
                  turns=list(turns) or [Query(t=3.0, text="Describe it.")], metadata=metadata)


def test_a_video_showing_a_square_and_a_circle_is_asked_both_colours_with_the_right_answers():
    asks = _colour_asks(_sample({"colour": "red", "circle_colour": "blue"}), seed=1, end=14.0, asked=set())
    assert [(q, a) for _, q, a in asks] == [("What colour is the square?", "red"), ("What colour is the circle?", "blue")]
    assert all(1.0 <= t <= 14.0 for t, _, _ in asks)
    again = _colour_asks(_sample({"colour": "red", "circle_colour": "blue"}), seed=1, end=14.0, asked=set())
    assert again == asks                                     # same seed and sample: same moments


def test_a_colour_the_suite_already_asks_or_does_not_name_is_not_asked_again():
    asks = _colour_asks(_sample({"colour": "green"}), seed=1, end=14.0, asked={"What colour is the square?"})
    assert asks == []
    assert _colour_asks(_sample({"states": []}), seed=1, end=14.0, asked=set()) == []


def test_a_suite_part_that_would_end_past_the_deadline_is_not_started(monkeypatch, tmp_path):
    """Parts are built whole (a half-built part is never cached): one that is not built yet starts only
    when, at the rate the parts before it were built, it ends by `until`; the first one always starts.
    Here a video takes 1 s to build: the first two parts (40 videos each) fit in 100 s, the third does not."""
    from omnibench.data import synth, video
    from omnibench.m4.training import synthdata

    clock = [0.0]
    monkeypatch.setattr(synthdata.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(synth, "part_problem", lambda root, task, seed, n: "not built yet")

    def ensure_suite(seed, n_per_task, tasks, **_):
        (task,) = tasks
        n = synth.task_counts(n_per_task)[task]
        clock[0] += n * 1.0
        samples = [Sample(id=f"{task}-{k:03d}", task=task, video=VideoRef(path="v.mp4", end=14.0),
                          turns=[Query(t=3.0, text="Describe it.")])      # no answer: asks nothing
                   for k in range(n)]
        return synth.SynthSuite(root=tmp_path, seed=seed, samples={task: samples})

    class Reader:
        duration = 14.0

        def __init__(self, path):
            pass

        def sample(self, **_):           # the describe question of a part's first video
            import numpy as np

            return type("Frames", (), {"array": np.zeros((2, 8, 8, 3), dtype=np.uint8)})()

        def close(self):
            pass

    monkeypatch.setattr(synth, "ensure_suite", ensure_suite)
    monkeypatch.setattr(video, "VideoReader", Reader)
    videos = list(synthdata.source_questions(tmp_path, n_per_task=40, describe_every=1000, until=100.0))
    assert len(videos) == 80 and clock[0] == 80.0
    every = sum(synth.task_counts(40).values())
    assert len(list(synthdata.source_questions(tmp_path, n_per_task=40, describe_every=1000))) == every
