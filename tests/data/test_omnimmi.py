"""The OmniMMI loader on the real annotation files and on broken copies of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnibench.data import omnimmi
from omnibench.errors import DataError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "omnimmi"
COUNTS = {"sg": (300, 704, 300), "ap": (200, 200, 200), "md": (300, 786, 300), "si": (200, 200, 78),
          "pa": (200, 200, 200), "pt": (200, 200, 200)}


@pytest.mark.parametrize("data_dir", [None, SHARED])
def test_counts_match_the_published_files(data_dir):
    if data_dir is not None and not data_dir.exists():
        pytest.skip("needs ../shared/data/omnimmi beside the checkout")
    rows = {r.task.lower(): (r.records, r.queries, r.videos) for r in omnimmi.stats(data_dir)}
    assert rows == COUNTS


def test_every_sample_is_well_formed():
    for code in omnimmi.TASK_FILES:
        raw = json.loads((omnimmi.annotations_dir() / omnimmi.TASK_FILES[code]).read_text())
        samples = omnimmi.load(code)
        assert len({s.id for s in samples}) == len(samples) == len(raw)
        for sample, record in zip(samples, raw):
            assert sample.task == f"omnimmi_{code}" and sample.video.path == f"videos/{record['video']}"
            if code in ("sg", "md"):
                assert [q.text for q in sample.turns] == [qa["question"] for qa in record["qa"]]
                for k, (q, qa) in enumerate(zip(sample.turns, record["qa"])):
                    s, e = map(float, qa["timestamp"].split("--"))
                    assert q.t == e and q.target == qa["answer"]
                    assert sample.video.clips[str(int(e))] == f"clips/{record['video'][:-4]}_{int(e)}.mp4"
                    assert (q.depends_on == k - 1) == (code == "md" and k > 0 and "##ANSWER##" in q.text)
            elif code == "ap":
                assert sample.turns[0].choices == record["vocab"] and sample.turns[0].t is None
            elif code == "si":
                assert sample.turns[0].t == record["timestamp"] and sample.turns[0].target == record["answer"]
            elif code == "pa":
                q = sample.turns[0]
                assert q.kind == "alert_request" and q.window == tuple(map(float, record["answer"]))
                assert q.window[0] <= q.window[1]
            elif code == "pt":
                q = sample.turns[0]
                assert q.kind == "noise" and q.text == record["conversation"][-1]["human"] and q.t is None
                assert len(sample.history) == sum(len(c) for c in record["conversation"][:-1])


def _broken(tmp_path: Path, code: str, mutate) -> Path:
    records = json.loads((omnimmi.annotations_dir() / omnimmi.TASK_FILES[code]).read_text())
    mutate(records)
    (tmp_path / omnimmi.TASK_FILES[code]).write_text(json.dumps(records))
    return tmp_path


@pytest.mark.parametrize("code,mutate,field,message", [
    ("ap", lambda r: r[5].pop("answer"), "answer", "missing field"),
    ("si", lambda r: r[7].update(timestamp="soon"), "timestamp", "expected"),
    ("pa", lambda r: r[3].update(video="/etc/passwd"), "video", "relative"),
    ("pa", lambda r: r[4].update(video="../../x.mp4"), "video", ".."),
    ("sg", lambda r: r[2].update(qa=[]), "qa", "empty"),
    ("md", lambda r: r[9]["qa"][1].update(timestamp="1 to 2"), "qa[1].timestamp", "start -- end"),
    ("pa", lambda r: r[1].update(answer=[9, 3]), "answer", "ends before"),
])
def test_broken_records_name_file_index_and_field(tmp_path, code, mutate, field, message):
    data_dir = _broken(tmp_path, code, mutate)
    with pytest.raises(DataError, match=message) as info:
        omnimmi.load(code, data_dir)
    error = info.value
    assert error.file.endswith(omnimmi.TASK_FILES[code]) and error.field == field and error.index is not None


def test_non_json_file_is_refused(tmp_path):
    (tmp_path / omnimmi.TASK_FILES["ap"]).write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        omnimmi.load("ap", tmp_path)


def test_lenient_mode_skips_and_reports(tmp_path):
    data_dir = _broken(tmp_path, "ap", lambda r: (r[5].pop("answer"), r[6].update(vocab="x")))
    skipped: list[DataError] = []
    with pytest.warns(UserWarning, match="skipped 2"):
        samples = omnimmi.load("ap", data_dir, lenient=True, skipped=skipped)
    assert len(samples) == 198 and [e.index for e in skipped] == [5, 6]


def test_missing_videos_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIBENCH_OMNIMMI_DIR", str(tmp_path))
    with pytest.raises(DataError, match="omnibench data download omnimmi"):
        omnimmi.require_videos(None)
    (tmp_path / "videos").mkdir()
    assert omnimmi.require_videos(None) == tmp_path


def test_download_without_network_is_a_clear_error(tmp_path, monkeypatch):
    import huggingface_hub

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(DataError, match="could not download ColorfulAI/OmniMMI"):
        omnimmi.download(tmp_path)
