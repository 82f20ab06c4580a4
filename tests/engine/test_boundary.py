"""The sealed boundary: nothing a model is handed can hold what it is scored against."""

from __future__ import annotations

import dataclasses
import typing

import numpy
import pytest

from omnibench.data.schema import Message, Query, Sample, VideoRef
from omnibench.engine import protocols
from omnibench.engine.boundary import offline_request, stream_info, user_turn
from omnibench.engine.protocols import OfflineRequest, StreamInfo, UserTurn

FORBIDDEN_NAMES = {"sample", "target", "window", "metadata", "label", "interruption", "answer", "query"}
FORBIDDEN_TYPES = ("Sample", "Query", "VideoRef")


@pytest.mark.parametrize("kind", [OfflineRequest, StreamInfo, UserTurn, protocols.Emission])
def test_model_facing_types_have_no_field_that_could_hold_the_answer_key(kind):
    hints = typing.get_type_hints(kind, {**vars(protocols), "np": numpy, "Message": Message})
    for field in dataclasses.fields(kind):
        assert field.name not in FORBIDDEN_NAMES, (kind.__name__, field.name)
        assert not any(name in str(hints[field.name]) for name in FORBIDDEN_TYPES), (kind.__name__, field.name)


def test_what_the_harness_builds_from_a_sample_keeps_only_what_a_person_would_hear():
    sample = Sample(id="s1", task="t", video=VideoRef(path="v.mp4", start=1.0), metadata={"interruption": "lure"},
                    turns=[Query(t=2.0, text="What colour? ##ANSWER##", target="red", choices=["red", "blue"]),
                           Query(t=3.0, text="Stop talking.", kind="stop", depends_on=None),
                           Query(t=4.0, text="Now!", kind="alert_request", target=[4.0, 5.0])])
    request = offline_request(sample, 0, "prompt", end=2.0, history=[])
    assert (request.utterance, request.choices, request.kind, request.start, request.end) == \
        ("What colour? ##ANSWER##", ("red", "blue"), "question", 1.0, 2.0)
    assert user_turn(sample.turns[1]) == UserTurn("Stop talking.", "question")
    assert user_turn(sample.turns[2]).kind == "alert_request"
    info = stream_info(sample, 9.0, 1.0)
    assert (info.sample_id, info.task, info.duration) == ("s1", "t", 9.0)
    assert "red" not in repr(request).replace("('red', 'blue')", "") and "lure" not in repr(info)


def test_the_type_checker_rejects_an_adapter_that_reaches_for_the_answer(tmp_path):
    api = pytest.importorskip("mypy.api", reason="needs mypy (the test extra installs it)")
    cheat = tmp_path / "cheat.py"
    cheat.write_text(
        "from omnibench.engine.protocols import OfflineRequest, StreamInfo, UserTurn\n\n\n"
        "class Peeker:\n"
        "    def generate(self, request: OfflineRequest) -> str:\n"
        "        return str(request.sample.turns[0].target)\n\n"
        "    def reset(self, info: StreamInfo) -> None:\n"
        "        self.label = info.metadata['interruption']\n\n"
        "    def ask(self, t: float, turn: UserTurn) -> None:\n"
        "        self.answer = turn.target\n")
    out, _, code = api.run([str(cheat), "--follow-imports=silent", "--ignore-missing-imports", "--no-incremental",
                            "--cache-dir", str(tmp_path / ".mypy")])
    assert code == 1
    for attribute in ('"OfflineRequest" has no attribute "sample"', '"StreamInfo" has no attribute "metadata"',
                      '"UserTurn" has no attribute "target"'):
        assert attribute in out
