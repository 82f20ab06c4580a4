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
