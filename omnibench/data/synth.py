"""The synthetic streaming suite: short generated videos with exact answers for every task family.

Deterministic from a seed (numpy Generators seeded per task and sample, single-threaded x264),
so the same seed gives the same annotations and frames. Layout under the suite root:

    annotations/{task}.json   list of Sample records
    videos/{task}_{k}.mp4     320x240, 10 fps, H.264
    audio/synth_si_{k}.wav    the SI dialogue spoken in distinct voices (only where espeak-ng exists)
    manifest.json             version, seed, n_per_task, n_interruption, sha256 and size of every file

A suite is written into a temporary directory and renamed into place, and the manifest is
checked (version, seed, n, every file's hash) before a suite is reused, so a killed or
corrupted generation is regenerated instead of evaluated.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ValidationError

from omnibench.data.schema import Sample, VideoRef
from omnibench.errors import DataError, OmnibenchError

SYNTH_VERSION = "2"
SYNTH_TASKS = ("synth_pa", "synth_sg", "synth_ap", "synth_md", "synth_si", "synth_pt", "synth_noise", "synth_stop")
# the interruption families (synth_noise, synth_stop; noise_rejection and stop_turn build on them)
# get more videos: two samples per video, and 110 videos give a 95% CI half-width under 10 points
# at 50% even when both samples of a video go the same way (1.96 * sqrt(0.25 / 110) = 0.093)
INTERRUPTION_TASKS = ("synth_noise", "synth_stop")
N_INTERRUPTION = 110

__all__ = ["INTERRUPTION_TASKS", "N_INTERRUPTION", "SYNTH_TASKS", "SYNTH_VERSION", "SynthSuite",
           "default_root", "ensure_suite", "generate", "load_suite", "task_counts"]


BUILDERS = None   # task name -> scene builder; None: the task definitions in omnibench.tasks.synth_scenes


def task_counts(n_per_task: int, n_interruption: int = N_INTERRUPTION) -> dict[str, int]:
    """Videos per task: n_per_task, the interruption families n_interruption."""
    return {t: n_interruption if t in INTERRUPTION_TASKS else n_per_task for t in SYNTH_TASKS}


@dataclass
class SynthSuite:
    root: Path
    seed: int
    samples: dict[str, list[Sample]]


class FileEntry(BaseModel):
    sha256: str
    size: int


class Manifest(BaseModel):
    version: str
    seed: int
    n_per_task: int
    n_interruption: int
    tasks: list[str]
    audio: bool
    files: dict[str, FileEntry]


def default_root(seed: int) -> Path:
    """~/.cache/omnibench/synth/<version>-<seed>; OMNIBENCH_CACHE replaces ~/.cache/omnibench."""
    from omnibench.cache import cache_dir

    return cache_dir() / "synth" / f"{SYNTH_VERSION}-{seed}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _speak_dialogue(built, path: Path, duration: float) -> bool:
    """Write the SI lines, each in its speaker's voice, at their caption times; False without espeak-ng."""
    from omnibench.data.tts import EspeakTTS, espeak_available, read_wav, write_wav

    if not espeak_available():
        return False
    tts, track, rate = EspeakTTS(), None, 22050
    lines = built.metadata["lines"]
    for j, (start, _, name, line) in enumerate(lines):
        voice, voice_rate = read_wav(tts.synthesize(line, built.metadata["voices"][name]))
        if track is None:
            rate = voice_rate
            track = np.zeros(int(round(duration * rate)), dtype=np.int16)
        begin = int(round(start * rate))
        next_start = int(round(lines[j + 1][0] * rate)) if j + 1 < len(lines) else len(track)
        stop = min(len(track), begin + len(voice), next_start)   # a line never runs into the next one
        track[begin:stop] = voice[:stop - begin]
    write_wav(path, track if track is not None else np.zeros(1, dtype=np.int16), rate)
    return True


def _build_sample(task: str, k: int, seed: int, root: Path, audio: bool) -> Sample:
    from omnibench.data._synth_render import FPS, encode
    builders = BUILDERS
    if builders is None:
        from omnibench.tasks.synth_scenes import BUILDERS as builders   # task definitions live in tasks/

    # one independent stream per (seed, task, sample): adding a task or sample changes no other
    rng = np.random.default_rng([seed, SYNTH_TASKS.index(task), k])
    built = builders[task](rng)
    video_id = f"{task}_{k:03d}"
    rel = f"videos/{video_id}.mp4"
    encode(root / rel, built.scene)
    duration = round(built.scene.n_frames / FPS, 3)
    metadata = {"video_id": video_id, "duration": duration, "fps": FPS, "frames": built.scene.n_frames,
                "seed": seed, **built.metadata}
    if task == "synth_si":
        audio_rel = f"audio/{video_id}.wav"
        metadata["audio"] = audio_rel if audio and _speak_dialogue(built, root / audio_rel, duration) else None
    return Sample(id=f"{task}-{k:03d}", task=task, video=VideoRef(path=rel, end=duration), turns=built.turns,
                  history=built.history, metadata=metadata)


def _write_suite(root: Path, seed: int, n_per_task: int, n_interruption: int,
                 progress: bool) -> dict[str, list[Sample]]:
    from omnibench.data.tts import espeak_available

    for sub in ("annotations", "videos", "audio"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    audio = espeak_available()
    jobs = [(task, k) for task, n in task_counts(n_per_task, n_interruption).items() for k in range(n)]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc="synthetic suite", unit="video")
    samples: dict[str, list[Sample]] = {task: [] for task in SYNTH_TASKS}
    # serial on purpose: a process pool would re-import an unguarded __main__ (spawn) or fork a
    # process that may already hold threads (torch); the default suite takes seconds anyway
    for task, k in jobs:
        samples[task].append(_build_sample(task, k, seed, root, audio))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    for task, items in samples.items():
        records = [s.model_dump(mode="json") for s in items]
        (root / "annotations" / f"{task}.json").write_text(json.dumps(records, indent=1) + "\n")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    manifest = Manifest(version=SYNTH_VERSION, seed=seed, n_per_task=n_per_task, n_interruption=n_interruption,
                        tasks=list(SYNTH_TASKS),
                        audio=audio, files={p.relative_to(root).as_posix(): FileEntry(sha256=_sha256(p),
                                                                                      size=p.stat().st_size)
                                            for p in files})
    # written last: a directory without a manifest is never taken for a suite
    (root / "manifest.json").write_text(manifest.model_dump_json(indent=1) + "\n")
    return samples


def _replace_dir(new: Path, out: Path) -> None:
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / "suite")
        os.replace(new, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, out)


def generate(out: Path, *, seed: int = 0, n_per_task: int = 6, n_interruption: int = N_INTERRUPTION,
             progress: bool = False) -> SynthSuite:
    """Write a fresh suite to `out` (replacing a suite already there) and return it."""
    out = Path(out)
    if seed < 0 or n_per_task < 1 or n_interruption < 1:
        raise OmnibenchError(f"synthetic suite needs seed >= 0, n_per_task >= 1 and n_interruption >= 1, "
                             f"got {seed}, {n_per_task} and {n_interruption}")
    if out.exists() and not (out / "manifest.json").exists() and (not out.is_dir() or any(out.iterdir())):
        raise OmnibenchError(f"{out} exists and is not a synthetic suite; give a new or empty directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        samples = _write_suite(tmp, seed, n_per_task, n_interruption, progress)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SynthSuite(root=out, seed=seed, samples=samples)


def _read_manifest(root: Path) -> Manifest:
    path = root / "manifest.json"
    try:
        return Manifest.model_validate_json(path.read_text())
    except FileNotFoundError as e:
        raise DataError("no manifest: not a synthetic suite (or an unfinished one)", file=str(path)) from e
    except ValidationError as e:
        first = e.errors()[0]
        raise DataError(first["msg"], file=str(path), field=".".join(map(str, first["loc"]))) from e


def suite_problem(root: Path, seed: int, n_per_task: int, n_interruption: int = N_INTERRUPTION) -> str | None:
    """Why the suite at `root` cannot be reused (None when it can)."""
    try:
        manifest = _read_manifest(root)
    except (DataError, OSError, ValueError) as e:
        return str(e)
    expected = (SYNTH_VERSION, seed, n_per_task, n_interruption, list(SYNTH_TASKS))
    found = (manifest.version, manifest.seed, manifest.n_per_task, manifest.n_interruption, manifest.tasks)
    if found != expected:
        return f"manifest is for (version, seed, n, n_interruption, tasks) {found}, wanted {expected}"
    for rel, entry in manifest.files.items():
        path = root / rel
        if not path.is_file() or path.stat().st_size != entry.size or _sha256(path) != entry.sha256:
            return f"{rel} is missing or changed"
    return None


def load_suite(root: Path) -> SynthSuite:
    """Read a generated suite; every record is validated, errors name file, record and field."""
    root = Path(root)
    manifest = _read_manifest(root)
    samples: dict[str, list[Sample]] = {}
    for task in manifest.tasks:
        path = root / "annotations" / f"{task}.json"
        try:
            records = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise DataError(f"cannot read annotations: {e}", file=str(path)) from e
        if not isinstance(records, list):
            raise DataError("annotations must be a list of samples", file=str(path))
        samples[task] = []
        for index, record in enumerate(records):
            try:
                samples[task].append(Sample.model_validate(record))
            except ValidationError as e:
                first = e.errors()[0]
                raise DataError(first["msg"], file=str(path), index=index,
                                field=".".join(map(str, first["loc"]))) from e
    return SynthSuite(root=root, seed=manifest.seed, samples=samples)


@contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    """One process at a time checks or writes a suite (parallel shards share the cache)."""
    try:
        import fcntl
    except ImportError:   # no flock (Windows): generation is still atomic, only maybe repeated
        yield
        return
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_suite(seed: int = 0, root: Path | None = None, n_per_task: int = 6, progress: bool = True,
                 n_interruption: int = N_INTERRUPTION) -> SynthSuite:
    """The suite for `seed`, generated only when missing, stale or damaged."""
    root = Path(root) if root is not None else default_root(seed)
    with _exclusive(root):
        if suite_problem(root, seed, n_per_task, n_interruption) is None:
            try:
                return load_suite(root)
            except DataError:
                pass   # hashes match but the records do not parse (schema changed): regenerate
        return generate(root, seed=seed, n_per_task=n_per_task, n_interruption=n_interruption, progress=progress)
