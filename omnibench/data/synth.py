"""The synthetic streaming suite: short generated videos with exact answers for every task family.

Deterministic from a seed (numpy Generators seeded per task and sample, single-threaded x264),
so the same seed gives the same annotations and frames. Each task is its own part, generated only
when asked for (`--tasks synth_pt` writes its 50 videos, not the suite), and parts of other sizes sit
side by side instead of replacing each other. Layout under the suite root:

    {task}-{n}/annotations.json   list of Sample records (video paths relative to the suite root)
    {task}-{n}/videos/{task}_{k}.mp4    320x240, 10 fps, H.264
    {task}-{n}/audio/synth_si_{k}.wav   the SI dialogue in distinct voices (only where espeak-ng exists)
    {task}-{n}/manifest.json      version, seed, task, n, audio (espeak-ng was there), sha256 and size of every file

A part is written into a temporary directory and renamed into place, and its manifest is checked
(version, seed, task, n, every file's hash) before it is reused, so a killed or corrupted
generation is regenerated instead of evaluated. A spoken part written without espeak-ng says so
and is rebuilt, with its audio, once espeak-ng is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from omnibench.data.schema import Sample, VideoRef
from omnibench.errors import DataError, OmnibenchError
from omnibench.progress import progress as progress_bar

SYNTH_VERSION = "3"   # 3: one part per task and size; x264 preset superfast
SYNTH_TASKS = ("synth_pa", "synth_sg", "synth_ap", "synth_md", "synth_si", "synth_pt", "synth_noise", "synth_stop",
               "synth_forward")
# the interruption families (synth_noise, synth_stop; noise_rejection and stop_turn build on them)
# get more videos: two samples per video, and 110 videos give a 95% CI half-width under 10 points
# at 50% even when both samples of a video go the same way (1.96 * sqrt(0.25 / 110) = 0.093)
INTERRUPTION_TASKS = ("synth_noise", "synth_stop")
N_INTERRUPTION = 110
# every other task: enough videos that any model's headline 95% CI is narrower than 30 points
# (2 * 1.96 * sqrt(0.25 / 50) = 0.277 at a 50% rate), the board's bar for ranking models by a task
N_PER_TASK = 50
SPOKEN_TASKS = ("synth_si",)   # parts with audio, written only where espeak-ng exists (Manifest.audio)

__all__ = ["INTERRUPTION_TASKS", "N_INTERRUPTION", "N_PER_TASK", "SYNTH_TASKS", "SYNTH_VERSION", "SynthSuite",
           "default_root", "ensure_suite", "generate", "load_suite", "task_counts"]


BUILDERS: dict[str, Any] | None = None   # task name -> scene builder; None: the task definitions in omnibench.tasks.synth_scenes


def task_counts(n_per_task: int = N_PER_TASK, n_interruption: int = N_INTERRUPTION) -> dict[str, int]:
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
    task: str
    n: int
    audio: bool                      # espeak-ng was there: a spoken task's part has its audio
    files: dict[str, FileEntry]


def part_name(task: str, n: int) -> str:
    return f"{task}-{n}"


def default_root(seed: int) -> Path:
    """~/.cache/omnibench/synth/<version>-<seed>; OMNIBENCH_CACHE replaces ~/.cache/omnibench."""
    from omnibench.cache import cache_dir

    return cache_dir() / "synth" / f"{SYNTH_VERSION}-{seed}"


def _sha256(path: Path) -> str:
    """sha256 of the file, cached by stat: every task of every model of the main job checks its part."""
    from omnibench.fingerprint import file_digest

    return file_digest(path)


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


def _build_sample(task: str, k: int, seed: int, part: Path, name: str, audio: bool) -> Sample:
    """Render sample k of `task` into the folder `part` of part `name`; its paths are relative to the suite root."""
    from omnibench.data._synth_render import FPS, encode
    from omnibench.tasks.synth_scenes import BUILDERS as TASK_BUILDERS  # task definitions live in tasks/

    builders = BUILDERS if BUILDERS is not None else TASK_BUILDERS

    # one independent stream per (seed, task, sample): adding a task or sample changes no other
    rng = np.random.default_rng([seed, SYNTH_TASKS.index(task), k])
    built = builders[task](rng)
    video_id = f"{task}_{k:03d}"
    rel = f"videos/{video_id}.mp4"
    encode(part / rel, built.scene)
    duration = round(built.scene.n_frames / FPS, 3)
    metadata = {"video_id": video_id, "duration": duration, "fps": FPS, "frames": built.scene.n_frames,
                "seed": seed, **built.metadata}
    if task == "synth_si":
        audio_rel = f"audio/{video_id}.wav"
        spoken = audio and _speak_dialogue(built, part / audio_rel, duration)
        metadata["audio"] = f"{name}/{audio_rel}" if spoken else None
    return Sample(id=f"{task}-{k:03d}", task=task, video=VideoRef(path=f"{name}/{rel}", end=duration),
                  turns=built.turns, history=built.history, metadata=metadata)


def _write_part(part: Path, task: str, seed: int, n: int, bar) -> list[Sample]:
    """Write the part of `task` with n samples into the (temporary) folder `part`."""
    from omnibench.data.tts import espeak_available

    for sub in ("videos", "audio"):
        (part / sub).mkdir(parents=True, exist_ok=True)
    audio = espeak_available()
    if task in SPOKEN_TASKS and not audio:
        print(f"omnibench: note: {part_name(task, n)} is written without its spoken dialogue: espeak-ng is not "
              "installed (apt-get install espeak-ng); the part is rebuilt with it once it is", file=sys.stderr,
              flush=True)

    def build(k: int) -> Sample:
        sample = _build_sample(task, k, seed, part, part_name(task, n), audio)
        bar.update(1)
        return sample

    # threads, not processes: x264 and numpy release the GIL for much of the work, and a process
    # pool would re-import an unguarded __main__ (spawn) or fork a process holding threads (torch)
    with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1))) as pool:
        samples = list(pool.map(build, range(n)))
    records = [s.model_dump(mode="json") for s in samples]
    (part / "annotations.json").write_text(json.dumps(records, indent=1) + "\n")
    files = sorted(p for p in part.rglob("*") if p.is_file())
    manifest = Manifest(version=SYNTH_VERSION, seed=seed, task=task, n=n, audio=audio,
                        files={p.relative_to(part).as_posix(): FileEntry(sha256=_sha256(p), size=p.stat().st_size)
                               for p in files})
    # written last: a directory without a manifest is never taken for a part
    (part / "manifest.json").write_text(manifest.model_dump_json(indent=1) + "\n")
    return samples


def _replace_dir(new: Path, out: Path) -> None:
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / "suite")
        os.replace(new, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, out)


def _generate_part(root: Path, task: str, seed: int, n: int, bar) -> list[Sample]:
    out = root / part_name(task, n)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=root))
    try:
        samples = _write_part(tmp, task, seed, n, bar)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return samples


def _check_sizes(seed: int, n_per_task: int, n_interruption: int) -> None:
    if seed < 0 or n_per_task < 1 or n_interruption < 1:
        raise OmnibenchError(f"synthetic suite needs seed >= 0, n_per_task >= 1 and n_interruption >= 1, "
                             f"got {seed}, {n_per_task} and {n_interruption}")


def _counts(tasks: Iterable[str] | None, n_per_task: int, n_interruption: int) -> dict[str, int]:
    counts = task_counts(n_per_task, n_interruption)
    wanted = list(tasks) if tasks is not None else list(SYNTH_TASKS)
    unknown = [t for t in wanted if t not in counts]
    if unknown:
        raise OmnibenchError(f"no synthetic task {unknown[0]!r}; the suite has {', '.join(SYNTH_TASKS)}")
    return {t: counts[t] for t in wanted}


def generate(out: Path, *, seed: int = 0, n_per_task: int = N_PER_TASK, n_interruption: int = N_INTERRUPTION,
             progress: bool = False, tasks: Iterable[str] | None = None) -> SynthSuite:
    """Write fresh parts for `tasks` (default: all) to the suite root `out`, replacing those there."""
    out = Path(out)
    _check_sizes(seed, n_per_task, n_interruption)
    counts = _counts(tasks, n_per_task, n_interruption)
    if out.exists() and (not out.is_dir() or any(not _is_ours(p) for p in out.iterdir())):
        raise OmnibenchError(f"{out} exists and is not a synthetic suite; give a new or empty directory")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    bar = progress_bar(sum(counts.values()), "synthetic suite", unit="video", enabled=progress)
    try:
        samples = {task: _generate_part(out, task, seed, n, bar) for task, n in counts.items()}
    except BaseException:
        if created and not any(out.iterdir()):   # finished parts are kept: they are valid
            out.rmdir()
        raise
    finally:
        bar.close()
    return SynthSuite(root=out, seed=seed, samples=samples)


def _is_ours(path: Path) -> bool:
    """A part folder (finished or being written) or a part's lock file."""
    name = path.name.lstrip(".").split(".tmp-")[0].split(".old-")[0].removesuffix(".lock")
    task, _, n = name.rpartition("-")
    return task in SYNTH_TASKS and n.isdigit()


def _read_manifest(part: Path) -> Manifest:
    path = part / "manifest.json"
    try:
        return Manifest.model_validate_json(path.read_text())
    except FileNotFoundError as e:
        raise DataError("no manifest: not a synthetic suite part (or an unfinished one)", file=str(path)) from e
    except ValidationError as e:
        first = e.errors()[0]
        raise DataError(first["msg"], file=str(path), field=".".join(map(str, first["loc"]))) from e


def part_problem(root: Path, task: str, seed: int, n: int) -> str | None:
    """Why the part of `task` with n samples under `root` cannot be reused (None when it can)."""
    part = Path(root) / part_name(task, n)
    try:
        manifest = _read_manifest(part)
    except (DataError, OSError, ValueError) as e:
        return str(e)
    found, expected = (manifest.version, manifest.seed, manifest.task, manifest.n), (SYNTH_VERSION, seed, task, n)
    if found != expected:
        return f"manifest is for (version, seed, task, n) {found}, wanted {expected}"
    if task in SPOKEN_TASKS and not manifest.audio:
        from omnibench.data.tts import espeak_available

        if espeak_available():
            return f"{part.name} was written without audio (no espeak-ng then); espeak-ng is installed now"
    for rel, entry in manifest.files.items():
        path = part / rel
        if not path.is_file() or path.stat().st_size != entry.size or _sha256(path) != entry.sha256:
            return f"{part.name}/{rel} is missing or changed"
    return None


def _load_part(root: Path, task: str, n: int) -> list[Sample]:
    part = Path(root) / part_name(task, n)
    _read_manifest(part)
    path = part / "annotations.json"
    try:
        records = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read annotations: {e}", file=str(path)) from e
    if not isinstance(records, list):
        raise DataError("annotations must be a list of samples", file=str(path))
    samples = []
    for index, record in enumerate(records):
        try:
            samples.append(Sample.model_validate(record))
        except ValidationError as e:
            first = e.errors()[0]
            raise DataError(first["msg"], file=str(path), index=index,
                            field=".".join(map(str, first["loc"]))) from e
    return samples


def load_suite(root: Path, *, n_per_task: int = N_PER_TASK, n_interruption: int = N_INTERRUPTION,
               tasks: Iterable[str] | None = None) -> SynthSuite:
    """Read generated parts; every record is validated, errors name file, record and field."""
    root = Path(root)
    samples = {task: _load_part(root, task, n) for task, n in _counts(tasks, n_per_task, n_interruption).items()}
    seeds = {s.metadata.get("seed") for items in samples.values() for s in items}
    seed = seeds.pop() if len(seeds) == 1 else None
    return SynthSuite(root=root, seed=int(seed) if seed is not None else -1, samples=samples)


@contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """One process at a time checks or writes a part (parallel shards share the cache)."""
    try:
        import fcntl
    except ImportError:   # no flock (Windows): generation is still atomic, only maybe repeated
        yield
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_suite(seed: int = 0, root: Path | None = None, n_per_task: int = N_PER_TASK, progress: bool = True,
                 n_interruption: int = N_INTERRUPTION, tasks: Iterable[str] | None = None) -> SynthSuite:
    """The parts of `tasks` (default: all) for `seed`, each generated only when missing, stale or damaged."""
    root = Path(root) if root is not None else default_root(seed)
    _check_sizes(seed, n_per_task, n_interruption)
    counts = _counts(tasks, n_per_task, n_interruption)
    stale = {t: n for t, n in counts.items() if part_problem(root, t, seed, n) is not None}
    bar = progress_bar(sum(stale.values()), "synthetic suite", unit="video",
                       enabled=progress and any(stale.values()))
    samples: dict[str, list[Sample]] = {}
    try:
        for task, n in counts.items():
            with _exclusive(root / f".{part_name(task, n)}.lock"):
                if part_problem(root, task, seed, n) is None:
                    try:
                        samples[task] = _load_part(root, task, n)
                        continue
                    except DataError:
                        pass   # hashes match but the records do not parse (schema changed): regenerate
                samples[task] = _generate_part(root, task, seed, n, bar)
    finally:
        bar.close()
    return SynthSuite(root=root, seed=seed, samples=samples)
