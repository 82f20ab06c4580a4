"""StreamingBench questions: every published question loads; the packaged copies are the published files."""

from __future__ import annotations

import json
import zipfile

import pytest

from omnibench.data import streamingbench
from omnibench.errors import DataError
from tests.peer_data import SB_DIR, need
from tests.peer_layout import sb_files


@pytest.mark.parametrize("subset,videos,questions", [("real", 499, 2500), ("omni", 300, 1500), ("sqa", 50, 250),
                                                      ("proactive", 250, 250)])
def test_every_published_question_loads(subset, videos, questions):
    samples = streamingbench.load(subset, need(SB_DIR))
    assert len(samples) == videos and sum(len(s.turns) for s in samples) == questions
    assert len({s.id for s in samples}) == len(samples)


def test_the_packaged_question_files_are_the_published_ones():
    for subset in streamingbench.SUBSETS:
        name = f"questions_{subset}.json"
        assert (streamingbench.packaged_dir() / name).read_bytes() == (need(SB_DIR) / name).read_bytes()
    assert (streamingbench.packaged_dir() / "LICENSE").read_text().startswith("MIT License")


def test_quirks_of_the_published_files_load_and_are_noted():
    real = {s.id: s for s in streamingbench.load("real", need(SB_DIR))}
    (note,) = real["real-sample_132_real"].metadata["notes"]
    assert "'00:12450'" in note and "12450 s" in note and "[0:12:00 - 0:13:00]" in note
    sqa = [s for s in streamingbench.load("sqa", need(SB_DIR)) if "stream_ask" in s.metadata]
    assert len(sqa) == 1 and [q.t for q in sqa[0].turns] == [404.0, 485.0, 556.0, 644.0, 344.0]   # file order kept
    omni = [q for s in streamingbench.load("omni", need(SB_DIR)) for q in s.turns if len(q.choices) > 4]
    assert len(omni) == 13                                   # options split over entries, kept as published


def test_one_video_is_one_sample_with_its_questions_in_time_order(tmp_path):
    for subset, data in sb_files().items():
        (tmp_path / f"questions_{subset}.json").write_text(json.dumps(data))
    (real,) = streamingbench.load("real", tmp_path)
    assert real.id == "real-sample_1_real" and real.video.path == "videos/sample_1_real.mp4"
    assert [(q.t, q.target) for q in real.turns] == [(2.0, "B"), (4.0, "A"), (5.0, "C")]
    assert real.metadata["task_types"] == ["Object Recognition", "Counting", "Counting"]
    (proactive,) = streamingbench.load("proactive", tmp_path)
    assert proactive.turns[0].kind == "alert_request" and proactive.turns[0].window == (4.0, 4.0)
    assert proactive.metadata["output"] == "forty" and proactive.id == "proactive-sample_4_proactive-0"


@pytest.mark.parametrize("subset,path,change,field", [
    ("real", (0, "questions", 0), {"answer": "E"}, "questions[0].answer"),
    ("real", (0, "questions", 1), {"time_stamp": "1:2:x"}, "questions[1].time_stamp"),
    ("proactive", (0, "questions", 0), {"ground_truth_time_stamp": "00:00:00"}, "questions[0].ground_truth_time_stamp"),
    ("real", (1,), {"video_path": ""}, "video_path"),
])
def test_a_broken_question_names_file_record_and_field(tmp_path, subset, path, change, field):
    data = sb_files()[subset]
    target = data
    for key in path:
        target = target[key]
    target.update(change)
    (tmp_path / f"questions_{subset}.json").write_text(json.dumps(data))
    with pytest.raises(DataError) as info:
        streamingbench.load(subset, tmp_path)
    assert (info.value.index, info.value.field) == (path[0], field) and f"questions_{subset}.json" in str(info.value)
    skipped: list[DataError] = []
    with pytest.warns(UserWarning, match="skipped 1 unusable record"):
        streamingbench.load(subset, tmp_path, lenient=True, skipped=skipped)
    assert len(skipped) == 1


def test_download_lays_the_videos_out_as_their_preprocess_does(tmp_path, monkeypatch):
    import huggingface_hub

    def fake_snapshot(**kwargs):                 # the hub dataset holds zips of sample folders
        out = tmp_path / "out"
        out.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out / "Real Time Visual Understanding_1.zip", "w") as z:
            z.writestr("sample_1/video.mp4", b"real")
            z.writestr("__MACOSX/sample_1/._video.mp4", b"junk")
        with zipfile.ZipFile(out / "Emotion Recognition_1.zip", "w") as z:
            z.writestr("Emotion Recognition/sample_2/clip.mp4", b"omni")
        return kwargs["local_dir"]

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    out = streamingbench.download(tmp_path / "out")
    assert sorted(p.name for p in (out / "videos").iterdir()) == ["sample_1_real.mp4",
                                                                  "sample_2_Emotion_Recognition.mp4"]
    assert streamingbench.video_root(out) == out and not list(out.glob("*.zip"))


def test_download_without_huggingface_hub_says_what_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(DataError, match="pip install huggingface_hub"):
        streamingbench.download(tmp_path)
