"""OVO-Bench annotations: every published record loads; a broken one is named by file, record and field."""

from __future__ import annotations

import json

import pytest

from omnibench.data import ovobench
from omnibench.errors import DataError
from tests.peer_data import OVO_DIR, need
from tests.peer_layout import ovo_records


def test_every_published_record_loads_into_its_task():
    loaded = ovobench.load_all(need(OVO_DIR))
    counts = {code: len(samples) for code, samples in loaded.items()}
    assert counts == {"EPM": 297, "HLD": 186, "ASI": 148, "OJR": 184, "STU": 178, "OCR": 149, "ATR": 116,
                      "ACR": 109, "FPD": 101, "REC": 82, "CRR": 48, "SSR": 42}
    probes = {code: sum(len(s.turns) for s in loaded[code]) for code in ovobench.FORWARD}
    assert probes == {"REC": 698, "SSR": 629, "CRR": 240}
    for samples in loaded.values():
        for s in samples:
            times = [q.t for q in s.turns]
            assert times == sorted(times) and s.video.path.startswith("src_videos/")


def test_a_choice_record_is_one_lettered_question_at_its_time():
    (first, *_) = ovobench.load("EPM", need(OVO_DIR))
    assert first.id == "epm-0000" and first.task == "ovobench_epm"
    assert first.turns[0].t == 215.0 and first.turns[0].target == "C" and len(first.turns[0].choices) == 4


def test_forward_probes_are_asked_in_time_order_and_keep_their_place(tmp_path):
    (tmp_path / "ovo_bench_new.json").write_text(json.dumps(ovo_records()))
    (ssr,) = ovobench.load("SSR", tmp_path)
    assert [(q.t, q.text, q.target) for q in ssr.turns] == [(1.5, "b", "No"), (2.0, "a", "Yes"), (5.0, "b", "Yes")]
    assert ssr.metadata["probes"] == [1, 0, 2]
    (rec,) = ovobench.load("REC", tmp_path, clip_end="ceil")
    assert [q.t for q in rec.turns] == [2.0, 4.0, 6.0] and rec.video.clips["6"] == "chunked_videos/9_1.mp4"


@pytest.mark.parametrize("change,field", [
    ({"gt": 7}, "gt"), ({"realtime": "3"}, "realtime"), ({"video": "../x.mp4"}, "video"),
    ({"task": "XYZ"}, "task"), ({"options": []}, "options"), ({"realtime": -1}, "realtime"),
])
def test_a_broken_record_names_file_record_and_field(tmp_path, change, field):
    records = ovo_records()
    records[3] = {**records[3], **change}
    (tmp_path / "ovo_bench_new.json").write_text(json.dumps(records))
    with pytest.raises(DataError) as info:
        ovobench.load_all(tmp_path)
    assert (info.value.index, info.value.field) == (3, field) and "ovo_bench_new.json" in str(info.value)


def test_a_broken_probe_and_a_repeated_id_are_named(tmp_path):
    records = ovo_records()
    records[9]["test_info"][1]["count"] = -2
    (tmp_path / "ovo_bench_new.json").write_text(json.dumps(records))
    with pytest.raises(DataError, match=r"record 9, field 'test_info\[1\].count'"):
        ovobench.load_all(tmp_path)
    records = ovo_records()
    records[2]["id"] = 0
    (tmp_path / "ovo_bench_new.json").write_text(json.dumps(records))
    with pytest.raises(DataError, match="id 0 repeats record 0"):
        ovobench.load_all(tmp_path)


def test_lenient_skips_and_reports_broken_records(tmp_path):
    records = ovo_records()
    records[0]["gt"] = 9
    records[10]["test_info"] = []
    (tmp_path / "ovo_bench_new.json").write_text(json.dumps(records))
    skipped: list[DataError] = []
    with pytest.warns(UserWarning, match="skipped 2 unusable record"):
        loaded = ovobench.load_all(tmp_path, lenient=True, skipped=skipped)
    assert [e.index for e in skipped] == [0, 10] and loaded["EPM"] == [] and loaded["SSR"] == []


def test_no_annotations_says_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.delenv("OMNIBENCH_OVOBENCH_DIR", raising=False)
    with pytest.raises(DataError, match="CC BY-NC-SA 4.0 and does not ship.*omnibench data download ovobench"):
        ovobench.load("EPM", tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ovo_bench_new.json").write_text(json.dumps(ovo_records()))
    monkeypatch.setenv("OMNIBENCH_OVOBENCH_DIR", str(tmp_path))   # a checkout's data/ place, found through the env
    assert len(ovobench.load("OCR")) == 1 and ovobench.data_root(None) is None   # no src_videos/ yet


def test_download_joins_the_video_parts_and_keeps_the_annotations(tmp_path, monkeypatch):
    import io
    import tarfile

    import huggingface_hub

    calls = []

    def fake_snapshot(**kwargs):                 # huggingface_hub's: files of the dataset into local_dir
        calls.append(kwargs)
        out = tmp_path / "out"
        (out / "data").mkdir(parents=True, exist_ok=True)
        (out / "data" / "ovo_bench_new.json").write_text(json.dumps(ovo_records()))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            info = tarfile.TarInfo("src_videos/COIN/jump.mp4")
            info.size = 4
            archive.addfile(info, io.BytesIO(b"mp4!"))
        blob = buffer.getvalue()
        (out / "src_videos.tar.partaa").write_bytes(blob[:700])
        (out / "src_videos.tar.partab").write_bytes(blob[700:])
        return kwargs["local_dir"]

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    out = ovobench.download(tmp_path / "out", token="t0k")
    assert (out / "src_videos" / "COIN" / "jump.mp4").read_bytes() == b"mp4!"
    assert not list(out.glob("src_videos.tar.part*")) and ovobench.data_root(out) == out
    assert calls[0]["repo_id"] == "JoeLeelyf/OVO-Bench" and calls[0]["token"] == "t0k"
    assert not any("chunked" in p for p in calls[0]["allow_patterns"])      # 144 GB of clips stay on the hub


def test_download_refuses_an_archive_member_outside_the_folder(tmp_path, monkeypatch):
    import io
    import tarfile

    import huggingface_hub

    def evil(**kwargs):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            info = tarfile.TarInfo("../escaped.mp4")
            info.size = 1
            archive.addfile(info, io.BytesIO(b"x"))
        (tmp_path / "out" / "src_videos.tar.partaa").write_bytes(buffer.getvalue())

    (tmp_path / "out").mkdir()
    monkeypatch.setattr(huggingface_hub, "snapshot_download", evil)
    with pytest.raises(DataError, match="outside"):
        ovobench.download(tmp_path / "out")
    assert not (tmp_path / "escaped.mp4").exists()


def test_download_offline_is_one_clear_error(tmp_path, monkeypatch):
    import huggingface_hub

    def offline(**kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(DataError, match="could not download JoeLeelyf/OVO-Bench.*network is unreachable.*--data-dir"):
        ovobench.download(tmp_path / "out")
