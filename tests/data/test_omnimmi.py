"""The OmniMMI loader on the real annotation files and on broken copies of them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from omnibench.data import omnimmi
from omnibench.errors import DataError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "omnimmi"
COUNTS = {"sg": (300, 704, 300), "ap": (200, 200, 200), "md": (300, 786, 300), "si": (200, 200, 78),
          "pa": (200, 200, 200), "pt": (200, 200, 200)}
MEAN_TURNS = {"sg": 2.35, "ap": 1.0, "md": 2.62, "si": 1.0, "pa": 1.0, "pt": 1.0}


def _raw(code: str) -> list[dict]:
    return json.loads((omnimmi.annotations_dir() / omnimmi.TASK_FILES[code]).read_text())


# -- the real files --------------------------------------------------------------------------------
@pytest.mark.parametrize("data_dir", [None, SHARED])
def test_counts_match_the_published_files(data_dir):
    if data_dir is not None and not data_dir.exists():
        pytest.skip("needs ../shared/data/omnimmi beside the checkout")
    rows = {r.task.lower(): r for r in omnimmi.stats(data_dir)}
    assert {code: (r.records, r.queries, r.videos) for code, r in rows.items()} == COUNTS
    assert {code: round(r.mean_turns, 2) for code, r in rows.items()} == MEAN_TURNS
    assert all(r.mean_video_s is None for r in rows.values())   # no videos here


def test_shared_copy_loads_to_the_same_samples():
    if not SHARED.exists():
        pytest.skip("needs ../shared/data/omnimmi beside the checkout")
    for code in omnimmi.TASK_FILES:
        assert omnimmi.load(code, SHARED) == omnimmi.load(code)


def test_every_sample_is_well_formed():
    for code in omnimmi.TASK_FILES:
        raw, samples = _raw(code), omnimmi.load(code)
        assert [s.id for s in samples] == [f"{code}-{i:04d}" for i in range(len(raw))]
        for index, (sample, record) in enumerate(zip(samples, raw)):
            assert sample.task == f"omnimmi_{code}" and sample.video.path == f"videos/{record['video']}"
            assert sample.metadata["video_id"] == record["video"].removesuffix(".mp4")
            assert sample.metadata["record"] == index
            for q in sample.turns:
                assert q.t is None or (isinstance(q.t, float) and q.t >= 0)
                assert isinstance(q.text, str) and q.text
            if code in ("sg", "md"):
                _check_turns(code, sample, record)
            else:
                assert len(sample.turns) == 1 and not sample.video.clips
            q = sample.turns[0]
            if code == "ap":
                assert (q.t, q.kind, q.target, q.choices) == (None, "question", record["answer"], record["vocab"])
            elif code == "si":
                assert (q.t, q.kind, q.target) == (record["timestamp"], "question", record["answer"])
            elif code == "pa":
                assert (q.t, q.kind) == (0.0, "alert_request") and q.window == tuple(map(float, record["answer"]))
                assert all(isinstance(x, float) for x in q.target) and q.window[0] <= q.window[1]
            elif code == "pt":
                _check_conversation(sample, record)
            if code != "pt":
                assert sample.history == []


def _check_turns(code, sample, record):
    assert len(sample.turns) == len(record["qa"])
    stem = record["video"].removesuffix(".mp4")
    previous_t = 0.0
    for k, (q, qa) in enumerate(zip(sample.turns, record["qa"])):
        s, e = map(float, qa["timestamp"].split("--"))
        assert (q.t, q.text, q.target, q.kind) == (e, qa["question"], qa["answer"], "question")
        assert q.span_start == min(s, e) and q.span_start <= q.t and q.t >= previous_t
        previous_t = q.t
        # the reference's clip name: {stem}_{int(end)}.mp4
        assert sample.video.clips[str(int(e))] == f"clips/{stem}_{int(e)}.mp4"
        # dependencies only where the slot is, always on the previous turn
        assert (q.depends_on is not None) == (code == "md" and k > 0 and "##ANSWER##" in q.text)
        assert q.depends_on in (None, k - 1)


def _check_conversation(sample, record):
    *earlier, last = record["conversation"]
    (q,) = sample.turns
    assert (q.t, q.kind, q.target, q.text) == (None, "noise", None, last["human"])
    assert [m.role for m in sample.history] == ["user", "assistant"] * len(earlier)
    assert [m.text for m in sample.history] == [x for ex in earlier for x in (ex["human"], ex["assistant"])]


def test_known_quirks_of_the_published_files_are_kept_and_noted():
    sg = omnimmi.load("sg")[83]   # '733.9744 -- 733.82586': reversed span, asked at its written end
    assert sg.turns[2].t == sg.turns[2].span_start == 733.82586
    assert "reversed" in sg.metadata["notes"][0]
    md = omnimmi.load("md")[200]  # ##ANSWER## in its first turn: nothing earlier to fill it with
    assert "##ANSWER##" in md.turns[0].text and md.turns[0].depends_on is None
    assert "no earlier answer" in md.metadata["notes"][0]
    assert sum(q.depends_on is not None for s in omnimmi.load("md") for q in s.turns) == 474


def test_task_names_and_unknown_codes():
    assert omnimmi.load("omnimmi_pa") == omnimmi.load("pa")
    with pytest.raises(DataError, match="unknown OmniMMI task 'xx'"):
        omnimmi.load("xx")


# -- broken copies ---------------------------------------------------------------------------------
def _broken(tmp_path: Path, code: str, mutate) -> Path:
    records = _raw(code)
    mutate(records)
    (tmp_path / omnimmi.TASK_FILES[code]).write_text(json.dumps(records))
    return tmp_path


def _set(index, **values):
    return lambda r: r[index].update(values)


@pytest.mark.parametrize("code,mutate,index,field,message", [
    ("ap", lambda r: r[5].pop("answer"), 5, "answer", "missing field"),
    ("sg", lambda r: r[4]["qa"][1].pop("timestamp"), 4, "qa[1].timestamp", "missing field"),
    ("pt", lambda r: r[8].pop("conversation"), 8, "conversation", "missing field"),
    ("si", _set(7, timestamp="soon"), 7, "timestamp", "expected a number, got str"),
    ("si", _set(7, timestamp=True), 7, "timestamp", "expected a number, got bool"),
    ("sg", lambda r: r[3]["qa"][0].update(answer=4), 3, "qa[0].answer", "expected a string, got int"),
    ("ap", _set(6, vocab="stir"), 6, "vocab", "expected a list"),
    ("ap", _set(6, vocab=["stir", 3]), 6, "vocab[1]", "expected a string"),
    ("md", lambda r: r.__setitem__(2, ["not", "an object"]), 2, None, "must be a JSON object"),
    ("pa", _set(3, video="/etc/passwd"), 3, "video", "relative"),
    ("pa", _set(3, video="C:\\videos\\a.mp4"), 3, "video", "relative"),
    ("pa", _set(4, video="../../x.mp4"), 4, "video", r"'\.\.'"),
    ("si", _set(4, video="a/../../x.mp4"), 4, "video", r"'\.\.'"),
    ("sg", _set(2, qa=[]), 2, "qa", "must not be empty"),
    ("ap", _set(2, vocab=[]), 2, "vocab", "must not be empty"),
    ("pt", _set(2, conversation=[]), 2, "conversation", "must not be empty"),
    ("sg", lambda r: r[2]["qa"][0].update(question=""), 2, "qa[0].question", "must not be empty"),
    ("md", lambda r: r[9]["qa"][1].update(timestamp="1 to 2"), 9, "qa[1].timestamp", "start -- end"),
    ("md", lambda r: r[9]["qa"][1].update(timestamp="-1 -- 2"), 9, "qa[1].timestamp", "start -- end"),
    ("sg", lambda r: r[0]["qa"][2].update(timestamp="1.0 -- 2.0"), 0, "qa", "stream order"),
    ("pa", _set(1, answer=[9, 3]), 1, "answer", "ends before"),
    ("pa", _set(1, answer=[3]), 1, "answer", "at least 2"),
    ("pa", _set(1, answer=[-3, 4]), 1, "answer[0]", "greater than or equal to 0"),
    ("pa", _set(1, answer=[float("nan"), 4]), 1, "answer[0]", "finite"),
    ("pt", lambda r: r[0]["conversation"][-1].update(assistant="hi"), 0, "conversation", "noise remark"),
    ("pt", lambda r: r[0]["conversation"][0].pop("assistant"), 0, "conversation", r"conversation\[0\]"),
])
def test_broken_records_name_file_index_and_field(tmp_path, code, mutate, index, field, message):
    data_dir = _broken(tmp_path, code, mutate)
    with pytest.raises(DataError, match=message) as info:
        omnimmi.load(code, data_dir)
    error = info.value
    assert error.file == str(tmp_path / omnimmi.TASK_FILES[code])
    assert (error.index, error.field) == (index, field)
    assert f"record {index}" in str(error) and omnimmi.TASK_FILES[code] in str(error)


@pytest.mark.parametrize("content,message", [
    ("{not json", "not valid JSON"), ('{"video": "a.mp4"}', "must be a JSON list"), ("[]", "holds no records"),
])
def test_unusable_files_are_refused_even_when_lenient(tmp_path, content, message):
    (tmp_path / omnimmi.TASK_FILES["ap"]).write_text(content)
    for lenient in (False, True):
        with pytest.raises(DataError, match=message) as info:
            omnimmi.load("ap", tmp_path, lenient=lenient)
        assert info.value.file.endswith("action_prediction.json") and info.value.index is None


def test_lenient_mode_skips_and_reports(tmp_path):
    data_dir = _broken(tmp_path, "ap", lambda r: (r[5].pop("answer"), r[6].update(vocab="x")))
    skipped: list[DataError] = []
    with pytest.warns(UserWarning, match="skipped 2 unusable record"):
        samples = omnimmi.load("ap", data_dir, lenient=True, skipped=skipped)
    assert len(samples) == 198 and [(e.index, e.field) for e in skipped] == [(5, "answer"), (6, "vocab")]
    assert "ap-0005" not in {s.id for s in samples} and "ap-0007" in {s.id for s in samples}  # ids stay stable


def test_data_dir_without_annotations_uses_the_packaged_ones(tmp_path):
    (tmp_path / "videos").mkdir()
    assert omnimmi.load("si", tmp_path) == omnimmi.load("si")
    with pytest.raises(DataError, match="does not exist"):
        omnimmi.load("si", tmp_path / "nowhere")


# -- videos, download, statistics --------------------------------------------------------------
def test_missing_videos_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIBENCH_OMNIMMI_DIR", str(tmp_path))
    assert omnimmi.video_root(None) is None
    with pytest.raises(DataError) as info:
        omnimmi.require_videos(None)
    for hint in ("omnibench data download omnimmi --out DIR", "--data-dir", "OMNIBENCH_OMNIMMI_DIR", str(tmp_path)):
        assert hint in str(info.value)
    (tmp_path / "videos").mkdir()
    assert omnimmi.require_videos(None) == tmp_path


def test_an_explicit_data_dir_wins_over_the_environment(tmp_path, monkeypatch):
    env_dir, arg_dir = tmp_path / "env", tmp_path / "arg"
    for d in (env_dir, arg_dir):
        (d / "videos").mkdir(parents=True)
    monkeypatch.setenv("OMNIBENCH_OMNIMMI_DIR", str(env_dir))
    assert omnimmi.video_root(arg_dir) == arg_dir
    assert omnimmi.video_root(tmp_path / "empty") == env_dir
    monkeypatch.delenv("OMNIBENCH_OMNIMMI_DIR")
    cache = omnimmi._default_dir()
    assert cache.name == "omnimmi" and omnimmi.video_root(None) is None  # the isolated test cache is empty


def test_download_without_network_is_a_clear_error(tmp_path, monkeypatch):
    import huggingface_hub

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(DataError, match="could not download ColorfulAI/OmniMMI") as info:
        omnimmi.download(tmp_path / "out")
    assert "network is unreachable" in str(info.value) and "--data-dir" in str(info.value)


def test_download_asks_the_hub_for_the_dataset(tmp_path, monkeypatch):
    import huggingface_hub

    calls = []
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda **kw: calls.append(kw) or kw["local_dir"])
    assert omnimmi.download(tmp_path / "out", token="t0k") == tmp_path / "out"
    assert calls == [{"repo_id": "ColorfulAI/OmniMMI", "repo_type": "dataset",
                      "local_dir": str(tmp_path / "out"), "token": "t0k"}]


def test_download_without_huggingface_hub_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)   # import now fails
    with pytest.raises(DataError, match="pip install huggingface_hub"):
        omnimmi.download(tmp_path)


def test_stats_read_video_durations_when_videos_are_present(tmp_path):
    from tests.videos import make_video

    (tmp_path / "videos").mkdir()
    pa = omnimmi.load("pa")
    make_video(tmp_path / pa[0].video.path, seconds=2.0, fps=10)
    make_video(tmp_path / pa[1].video.path, seconds=3.0, fps=10)
    (tmp_path / pa[2].video.path).write_bytes(b"not a video")   # unreadable: left out of the mean
    rows = {r.task: r for r in omnimmi.stats(tmp_path)}
    assert rows["PA"].videos_found == 2 and rows["PA"].mean_video_s == pytest.approx(2.5, abs=0.15)
    assert rows["SG"].mean_video_s is None and rows["SG"].videos_found == 0
    table = omnimmi.format_stats(list(rows.values()))
    assert "(2/200)" in table


def test_format_stats_is_an_aligned_table():
    lines = omnimmi.format_stats(omnimmi.stats()).splitlines()
    assert lines[0].split() == ["task", "records", "queries", "videos", "mean", "turns", "mean", "video", "s"]
    assert [line.split()[0] for line in lines[2:]] == ["SG", "AP", "MD", "SI", "PA", "PT"]
    assert len({len(line) for line in lines}) == 1
    assert lines[4].split()[1:5] == ["300", "786", "300", "2.62"]
