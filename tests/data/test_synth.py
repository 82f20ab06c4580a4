"""The synthetic suite: deterministic, events visible exactly in their windows, answers consistent."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from omnibench.data import _synth_render, synth
from omnibench.data._synth_render import COLOURS, FPS, Scene, decode, text_mask
from omnibench.data.schema import Query
from omnibench.data.synth import (
    SYNTH_TASKS,
    SYNTH_VERSION,
    default_root,
    ensure_suite,
    generate,
    load_suite,
    part_name,
    part_problem,
)
from omnibench.errors import DataError, OmnibenchError
from omnibench.tasks import phrases
from omnibench.tasks.synth_scenes import SG_STATES, Built


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("synth") / "a", seed=3, n_per_task=2, n_interruption=2)


def frame_time(i: int) -> float:
    return i / FPS


def near_boundary(t: float, window) -> bool:
    return min(abs(t - window[0]), abs(t - window[1])) <= 1.0 / FPS + 1e-9


def colour_mask(frame: np.ndarray, colour: str, tol: int = 60) -> np.ndarray:
    diff = np.abs(frame.astype(int) - np.array(COLOURS[colour])).max(axis=2)
    return diff < tol


def is_red_circle(frame: np.ndarray) -> bool:
    mask = colour_mask(frame, "red")
    if mask.sum() < 300:
        return False
    ys, xs = np.nonzero(mask)
    fill = mask.sum() / ((ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1))
    return 0.68 < fill < 0.9   # a disc fills pi/4 of its box; squares ~1, triangles ~0.5


# -- layout and determinism ------------------------------------------------------------------

def test_suite_layout_and_manifest(suite):
    root = suite.root
    assert set(suite.samples) == set(SYNTH_TASKS)
    for task in SYNTH_TASKS:
        part = part_name(task, 2)
        manifest = json.loads((root / part / "manifest.json").read_text())
        assert (manifest["version"], manifest["seed"], manifest["task"], manifest["n"]) == (SYNTH_VERSION, 3, task, 2)
        assert "annotations.json" in manifest["files"]
        assert len(suite.samples[task]) == 2
        for sample in suite.samples[task]:
            assert sample.task == task
            assert sample.video_id == sample.metadata["video_id"]
            assert (root / sample.video.path).is_file()
            assert sample.video.path.startswith(f"{part}/") and sample.video.path[len(part) + 1:] in manifest["files"]
            assert sample.video.end == sample.metadata["duration"]
            assert isinstance(sample.metadata["events"], list)
            for q in sample.turns:
                assert q.t is None or 0 <= q.t <= sample.video.end
                if q.kind == "question" and isinstance(q.target, str):
                    assert q.choices and q.target in q.choices
    assert load_suite(root, n_per_task=2, n_interruption=2).samples == suite.samples


def test_same_seed_same_suite(suite, tmp_path):
    again = generate(tmp_path / "b", seed=3, n_per_task=2, n_interruption=2)
    for task in SYNTH_TASKS:
        name = f"{part_name(task, 2)}/annotations.json"
        assert (again.root / name).read_bytes() == (suite.root / name).read_bytes()
    for rel in ("synth_pa-2/videos/synth_pa_000.mp4", "synth_sg-2/videos/synth_sg_001.mp4"):
        first, second = decode(suite.root / rel), decode(again.root / rel)
        assert len(first) == len(second) and all(np.array_equal(a, b) for a, b in zip(first, second))


def test_other_seed_other_suite(suite, tmp_path, monkeypatch):
    monkeypatch.setattr(_synth_render, "encode", lambda path, scene: path.write_bytes(b""))   # annotations only
    other = generate(tmp_path / "c", seed=4, n_per_task=2, n_interruption=2)
    for task in SYNTH_TASKS:
        assert other.samples[task] != suite.samples[task]


def test_default_root_honours_cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNIBENCH_CACHE", str(tmp_path))
    assert default_root(7) == tmp_path / "synth" / f"{SYNTH_VERSION}-7"


# -- pixels: each event is on screen exactly in its window -----------------------------------

def test_red_circle_visible_exactly_in_alert_window(suite):
    for sample in suite.samples["synth_pa"]:
        window = sample.turns[0].window
        assert [list(window)] == sample.metadata["events"]
        frames = decode(suite.root / sample.video.path)
        assert len(frames) == sample.metadata["frames"]
        for i, frame in enumerate(frames):
            t = frame_time(i)
            inside = window[0] <= t <= window[1]
            if is_red_circle(frame) != inside:
                assert near_boundary(t, window), f"{sample.id}: frame {i} (t={t}) red circle={not inside}"


def _square(frame: np.ndarray, colour: str) -> tuple[np.ndarray, float, float, int]:
    mask = colour_mask(frame, colour)
    ys, xs = np.nonzero(mask)
    return mask, xs.mean(), ys.mean(), int(mask.sum())


def test_square_shows_each_state_inside_its_segment(suite):
    checked = set()
    for task in ("synth_sg", "synth_pt", "synth_noise", "synth_stop"):
        for sample in suite.samples[task]:
            frames = decode(suite.root / sample.video.path)
            colour = sample.metadata["colour"]
            for start, end, state in sample.metadata["states"]:
                a = int(round(start * FPS))
                if end - start < 1.0 or a == 0:
                    continue
                m0, x0, y0, n0 = _square(frames[a + 2], colour)
                m1, x1, y1, n1 = _square(frames[a + 7], colour)
                dx, dy, growth = x1 - x0, y1 - y0, n1 / n0
                same = (m0 & m1).sum() / (m0 | m1).sum()
                expected = {
                    "moving left": dx < -8 and abs(dy) < 2, "moving right": dx > 8 and abs(dy) < 2,
                    "moving up": dy < -8 and abs(dx) < 2, "moving down": dy > 8 and abs(dx) < 2,
                    "growing": growth > 1.15, "shrinking": growth < 0.87,
                    "spinning": abs(dx) < 2 and abs(dy) < 2 and same < 0.95 and 0.85 < growth < 1.15,
                    "still": same > 0.98,
                }[state]
                assert expected, f"{sample.id}: {state} at {start}s: dx={dx:.1f} dy={dy:.1f} " \
                                 f"growth={growth:.2f} iou={same:.2f}"
                checked.add(state)
    assert len(checked) >= 5


def test_captions_visible_exactly_while_spoken(suite):
    for sample in suite.samples["synth_si"]:
        frames = decode(suite.root / sample.video.path)
        windows = [line[:2] for line in sample.metadata["lines"]]
        for i, frame in enumerate(frames):
            t = frame_time(i)
            text = (colour_mask(frame[-60:], "white", tol=40)).sum() > 100
            inside = [w for w in windows if w[0] <= t <= w[1]]
            if text != bool(inside):
                assert any(near_boundary(t, w) for w in windows), f"{sample.id}: frame {i} caption={text}"


# -- answers match the generated content -----------------------------------------------------

def _state_at(sample, t: float) -> str:
    return next(s for a, b, s in sample.metadata["states"] if a <= t <= b)


def test_questions_have_exact_answers(suite):
    s = suite.samples
    for sample in s["synth_sg"]:
        assert 2 <= len(sample.turns) <= 3
        times = [q.t for q in sample.turns]
        assert times == sorted(times)
        for q in sample.turns:
            assert q.target == _state_at(sample, q.t) and q.choices == list(SG_STATES)
            assert q.span_start <= q.t - 1.0 + 1e-9
    for sample in s["synth_ap"]:
        q, cycle, seen = sample.turns[0], sample.metadata["cycle"], sample.metadata["sequence"]
        assert q.t is None and q.target == cycle[len(seen) % len(cycle)] and len(seen) >= 2 * len(cycle)
    for sample in s["synth_md"]:
        first, second = sample.turns
        shapes = sample.metadata["shapes"]
        assert second.depends_on == 0 and "##ANSWER##" in second.text
        key = 2 if "colour" in first.text else 3
        assert first.target == shapes[0][key]
        assert second.target == str(sum(item[key] == first.target for item in shapes))
    for sample in s["synth_si"]:
        lines = {line[3]: (line[1], line[2]) for line in sample.metadata["lines"]}
        for q in sample.turns:
            said = q.text.split("'")[1]
            end, name = lines[said]
            assert q.target == name and q.t > end
    for sample in s["synth_pt"]:
        assert sample.history and sample.turns[-1].kind == "noise" and sample.turns[-1].t is None
        assert sample.turns[-1].text in phrases.NOISE
    for task in ("synth_noise", "synth_stop"):   # the base the interruption tasks add a second utterance to
        for sample in s[task]:
            question, at = sample.turns[0], sample.metadata["interrupt_at"]
            assert question.kind == "question"
            assert 1.0 - 1e-9 <= at - question.t <= 2.0 + 1e-9 and at + 1.0 <= sample.video.end
    for sample in s["synth_noise"]:
        square, circle = sample.turns
        assert square.target == sample.metadata["colour"] != circle.target == sample.metadata["circle_colour"]
    assert all(len(s_.turns) == 1 and s_.turns[0].target is None for s_ in s["synth_stop"])   # a long answer


def test_phrase_lists_are_curated():
    follow = tuple(text for _, text in phrases.FOLLOWUPS)
    for pool in (phrases.NOISE, phrases.NOISE_LURES, phrases.STOPS, phrases.STOP_LURES, follow):
        assert len(pool) >= 12 and len(set(pool)) == len(pool)
    every = [*phrases.NOISE, *phrases.NOISE_LURES, *phrases.STOPS, *phrases.STOP_LURES, *follow]
    assert len(set(every)) == len(every)      # no text in two classes


def test_font_draws_distinct_glyphs():
    a, b = text_mask("A"), text_mask("B")
    assert a.shape == (14, 12) and a.any() and not np.array_equal(a, b)
    assert text_mask("AB").shape == (14, 24)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_dialogue_audio_is_spoken_at_caption_times(suite):
    from omnibench.data.tts import read_wav

    for sample in suite.samples["synth_si"]:
        audio, rate = read_wav(suite.root / sample.metadata["audio"])
        assert abs(len(audio) / rate - sample.video.end) < 0.01
        for start, _end, _, _ in sample.metadata["lines"]:
            assert np.abs(audio[int(start * rate):int((start + 1.0) * rate)]).max() > 1000
        silent_until = int(sample.metadata["lines"][0][0] * rate)
        assert np.abs(audio[:silent_until]).max() == 0


# -- caching, validation, atomic writes ------------------------------------------------------

def tiny(rng) -> Built:
    """A one-second scene: ensure_suite's bookkeeping does not need real content."""
    scene = Scene(10)
    scene.static("circle", "red", 0, 9, 100, 100, float(rng.integers(20, 40)))
    return Built(scene, [Query(t=0.5, text="q", target="a", choices=["a", "b"])],
                 {"events": [], "lines": [], "voices": {}})


def test_ensure_suite_regenerates_only_when_damaged(tmp_path, monkeypatch):
    monkeypatch.setattr(synth, "BUILDERS", {task: tiny for task in SYNTH_TASKS})
    root = tmp_path / "suite"
    first = ensure_suite(seed=1, root=root, n_per_task=1, n_interruption=1, progress=False)
    manifest = root / "synth_sg-1" / "manifest.json"
    other = root / "synth_pa-1" / "manifest.json"
    stamp = manifest.stat().st_mtime_ns, manifest.stat().st_ino
    again = ensure_suite(seed=1, root=root, n_per_task=1, n_interruption=1, progress=False)
    assert (manifest.stat().st_mtime_ns, manifest.stat().st_ino) == stamp and again.samples == first.samples

    video = root / first.samples["synth_sg"][0].video.path
    video.unlink()
    kept = other.stat().st_ino
    ensure_suite(seed=1, root=root, n_per_task=1, n_interruption=1, progress=False)
    assert video.is_file() and manifest.stat().st_ino != stamp[1]
    assert other.stat().st_ino == kept                      # only the damaged part is regenerated

    stamp = manifest.stat().st_ino
    data = bytearray(video.read_bytes())
    data[len(data) // 2] ^= 0xFF   # same size, different content
    video.write_bytes(bytes(data))
    ensure_suite(seed=1, root=root, n_per_task=1, n_interruption=1, progress=False)
    assert manifest.stat().st_ino != stamp and decode(video)

    stamp = manifest.stat().st_ino
    ensure_suite(seed=1, root=root, n_per_task=2, n_interruption=2, progress=False)   # another size: beside it
    assert manifest.stat().st_ino == stamp and len(load_suite(root, n_per_task=2, n_interruption=2)
                                                   .samples["synth_pa"]) == 2
    assert part_problem(root, "synth_sg", 1, 1) is None and part_problem(root, "synth_sg", 1, 2) is None


def test_one_task_asked_for_writes_only_its_part(tmp_path, monkeypatch):
    monkeypatch.setattr(synth, "BUILDERS", {task: tiny for task in SYNTH_TASKS})
    suite = ensure_suite(seed=1, root=tmp_path, n_per_task=3, tasks=["synth_pt"], progress=False)
    assert list(suite.samples) == ["synth_pt"] and len(suite.samples["synth_pt"]) == 3
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["synth_pt-3"]
    with pytest.raises(OmnibenchError, match="no synthetic task 'synth_xx'"):
        ensure_suite(seed=1, root=tmp_path, tasks=["synth_xx"], progress=False)


def test_killed_generation_leaves_nothing_behind(tmp_path, monkeypatch):
    real, calls = synth._build_sample, []

    def dies(*args):
        calls.append(args)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(synth, "_build_sample", dies)
    with pytest.raises(KeyboardInterrupt):
        generate(tmp_path / "suite", seed=0, n_per_task=1, n_interruption=1)
    # the two parts finished before the kill are whole and kept; the third left nothing
    assert sorted(os.listdir(tmp_path / "suite")) == ["synth_pa-1", "synth_sg-1"]
    assert all(part_problem(tmp_path / "suite", t, 0, 1) is None for t in ("synth_pa", "synth_sg"))


def test_generate_refuses_a_foreign_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OmnibenchError, match="not a synthetic suite"):
        generate(tmp_path, seed=0, n_per_task=1, n_interruption=1)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_load_suite_names_file_record_and_field(suite, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(suite.root, root)
    path = root / "synth_sg-2" / "annotations.json"
    records = json.loads(path.read_text())
    records[1]["turns"][0]["kind"] = "shout"
    path.write_text(json.dumps(records))
    with pytest.raises(DataError) as err:
        load_suite(root, n_per_task=2, n_interruption=2)
    assert "synth_sg-2/annotations.json" in str(err.value) and "record 1" in str(err.value)
    assert "turns.0.kind" in str(err.value)
    with pytest.raises(DataError, match="manifest"):
        load_suite(tmp_path / "nowhere")


def test_concurrent_ensure_generates_once(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    built = []

    def counted(rng):
        built.append(1)
        return tiny(rng)

    monkeypatch.setattr(synth, "BUILDERS", {task: counted for task in SYNTH_TASKS})
    with ThreadPoolExecutor(3) as pool:
        suites = list(pool.map(lambda _: ensure_suite(seed=2, root=tmp_path / "s", n_per_task=1, n_interruption=1, progress=False),
                               range(3)))
    assert len(built) == len(SYNTH_TASKS) and all(s.samples == suites[0].samples for s in suites)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (apt-get install espeak-ng)")
def test_the_dialogue_part_records_it_has_no_audio_and_is_rebuilt_once_espeak_ng_is_there(tmp_path, monkeypatch,
                                                                                        capsys):
    """Without espeak-ng the SI part is written without its spoken dialogue, says so and records it in
    its manifest; once espeak-ng is on the PATH, the cached part is rebuilt with the audio."""
    espeak_dir = os.path.dirname(shutil.which("espeak-ng"))
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))                 # espeak-ng hidden
    silent = ensure_suite(seed=5, root=tmp_path / "suite", n_per_task=1, tasks=["synth_si"], progress=False)
    assert silent.samples["synth_si"][0].metadata["audio"] is None
    assert json.loads((tmp_path / "suite" / "synth_si-1" / "manifest.json").read_text())["audio"] is False
    assert "espeak-ng" in capsys.readouterr().err
    assert part_problem(tmp_path / "suite", "synth_si", 5, 1) is None        # still valid while espeak-ng is missing

    monkeypatch.setenv("PATH", espeak_dir)
    assert "espeak-ng" in (part_problem(tmp_path / "suite", "synth_si", 5, 1) or "")
    spoken = ensure_suite(seed=5, root=tmp_path / "suite", n_per_task=1, tasks=["synth_si"], progress=False)
    audio = spoken.samples["synth_si"][0].metadata["audio"]
    assert audio and (tmp_path / "suite" / audio).is_file()
    assert json.loads((tmp_path / "suite" / "synth_si-1" / "manifest.json").read_text())["audio"] is True
