"""Reading a 10-minute 1280x720 H.264 video (B-frames) at 1 fps: our reader against the decoders a
user would pick instead, each at ours' thread count and at its own best setting, and against the
OmniMMI reference's re-encode.

Sides (bench/_video_sides.py), each in a fresh process of its own and timed the same way, inside
the process after its imports, from opening the file to the last 1 fps frame in hand as full-size
RGB (1280x720):
- ours: `VideoReader.iter_frames(fps=1)` as the library runs it (PyAV, FFmpeg's automatic thread
  count with frame threading: CPUs + 1 on this machine; the JSON gives the count the decoder reported);
- torchcodec: `VideoDecoder(num_ffmpeg_threads=N).get_frames_played_at`, 60 timestamps a call;
- decord2: `VideoReader(num_threads=N).get_batch` at the frame indices shown at each second;
  each peer at N = ours' count (`speedup_vs_X`) and at every setting of SETTINGS, the fastest median
  being its best (`speedup_vs_X_best`, `threads_X_best`; 0 lets FFmpeg or decord choose).
- our reader at 336 px against (b) the reference's way, ffmpeg re-encoding to 1 fps at 336 px then
  reading every frame of that file, and (c) the floor, `ffmpeg -vf fps=1 -f null -` (every frame decoded).
All sides run REPEATS rounds, the order rotating each round (load drifts hit each side alike); the
figures are medians. `cpu_s` (CPU time of all the side's threads) is reported beside each wall
time: it barely moves with the machine's load, where wall times of multi-threaded sides do.
Every run of every side must return ours' frames: the same count, the same presentation times
(within TIME_TOLERANCE_S), and pixels within PIXEL_TOLERANCE (YUV->RGB rounding differs between
FFmpeg builds) on every CHECK_EVERY-th frame; a side that does not is reported with the reason and
no figure. A peer that cannot be run gets null and the reason.

The video is generated on first run and cached under bench/.cache/. Peers: importable by this
interpreter or lmms-eval's venv (.venv-lmms/bin/pip install torchcodec: its PyPI wheel links CUDA
torch libraries, which the CPU torch here lacks; decoding runs on the CPU), or in
bench/.cache/peers/{torchcodec,decord2} (pip install --target bench/.cache/peers/decord2 decord2:
it installs as `decord` and would shadow decord 0.6).
Last line: one JSON object, `speedup_vs_torchcodec` ... `threads_*` first, then what each side ran with.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _rounds import load_average, median, rotate  # noqa: E402

ROOT = HERE.parent
CACHE = HERE / ".cache"
VIDEO = CACHE / "video_read_10min_1280x720.mp4"
PEERS = CACHE / "peers"
SIDES = HERE / "_video_sides.py"
CHECK_EVERY = 60
PIXEL_TOLERANCE = 3
TIME_TOLERANCE_S = 1e-3
BATCH = 60
REPEATS = 3
# each peer's settings: "equal" is ours' thread count; 1 is torchcodec's default, 0 decord's (and FFmpeg's "choose")
SETTINGS: dict[str, list[str | int]] = {"torchcodec": ["equal", 1, 0], "decord2": ["equal", 0, 1]}


def make_video(seconds: int = 600) -> Path:
    if not VIDEO.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"generating {VIDEO} (once, a few minutes)...", flush=True)
        tmp = VIDEO.with_suffix(".tmp.mp4")
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=1280x720:rate=30", "-t", str(seconds), "-c:v", "libx264",
                        "-preset", "veryfast", "-bf", "3", "-g", "250", "-pix_fmt", "yuv420p", str(tmp)],
                       check=True)
        tmp.rename(VIDEO)
    return VIDEO


def child_cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def reencode(video: Path) -> dict:
    """The reference's way: ffmpeg re-encodes to 1 fps at 336 px into a temp file, then every frame is read."""
    import av

    cpu0, start = time.process_time() + child_cpu_seconds(), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "1fps_336.mp4"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(video), "-vf",
                        "fps=1,scale=336:336:force_original_aspect_ratio=decrease:force_divisible_by=2", "-c:v", "libx264",
                        "-an", str(out)], check=True)
        with av.open(str(out)) as container:
            n = sum(1 for frame in container.decode(video=0) if frame.to_ndarray(format="rgb24") is not None)
    return {"seconds": time.perf_counter() - start, "cpu_s": time.process_time() + child_cpu_seconds() - cpu0,
            "frames": n}


def ffmpeg_decode(video: Path) -> dict:
    cpu0, start = child_cpu_seconds(), time.perf_counter()
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(video), "-vf", "fps=1", "-f", "null", "-"], check=True)
    return {"seconds": time.perf_counter() - start, "cpu_s": child_cpu_seconds() - cpu0}


def peer_python(name: str) -> tuple[list[str] | None, dict[str, str], str]:
    """(interpreter, env, reason if none): this interpreter or lmms-eval's venv, alone or with the peer folder."""
    env = dict(os.environ)
    lmms = str(ROOT / ".venv-lmms" / "bin" / "python")     # where torchcodec's CUDA-linked wheel loads
    candidates = [(sys.executable, None), (lmms, None)]
    if (PEERS / name).is_dir():
        candidates += [(sys.executable, PEERS / name), (lmms, PEERS / name)]
    check = ("import torchcodec.decoders" if name == "torchcodec" else
             "import sys, decord; sys.exit(int(decord.__version__.split('.')[0]) < 1)")
    reasons = []
    for python, path in candidates:
        trial = {**env, **({"PYTHONPATH": str(path)} if path else {})}
        proc = subprocess.run([python, "-c", check], env=trial, capture_output=True, text=True) \
            if Path(python).exists() else None
        if proc is not None and proc.returncode == 0:
            return [python], trial, ""
        reasons.append(f"{python}{' + ' + str(path) if path else ''}: "
                       + ((proc.stderr.strip().splitlines() or ["decord 0.6, not decord2"])[-1] if proc else "missing"))
    return None, env, "; ".join(reasons)


def run_side(side: str, python: list[str], env: dict[str, str], cfg: dict) -> dict:
    """One run of a side in a fresh process: its JSON line plus the kept frames, or {"error": why}."""
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "frames.npz"
        start = time.perf_counter()
        proc = subprocess.run([*python, str(SIDES), side, json.dumps({**cfg, "out": str(out)})], env=env,
                              capture_output=True, text=True, cwd=ROOT)
        process_s = time.perf_counter() - start
        if proc.returncode != 0:
            return {"error": f"{side} failed: {proc.stderr.strip()[-300:]}"}
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        with np.load(out) as saved:
            result["frames"] = {int(k): saved[k] for k in saved.files}
    result["process_s"] = round(process_s, 3)       # with interpreter start and imports: not the figure
    return result


def compare(reference: dict, other: dict) -> tuple[str, int | None]:
    """('' or what differs, worst pixel difference) between ours and another side's run."""
    import numpy as np

    mine, theirs = reference["times"], other["times"]
    if len(mine) != len(theirs):
        return f"{len(theirs)} frames where ours gives {len(mine)}", None
    off = [i for i, (a, b) in enumerate(zip(mine, theirs)) if abs(a - b) > TIME_TOLERANCE_S]
    if off:
        return f"frame times differ at {len(off)} of {len(mine)} targets (first at {off[0]} s: {theirs[off[0]]} vs {mine[off[0]]})", None
    if set(reference["frames"]) != set(other["frames"]):
        return "kept frames differ", None
    worst = max((int(np.abs(other["frames"][k].astype(int) - reference["frames"][k].astype(int)).max())
                 for k in reference["frames"]), default=0)
    if worst > PIXEL_TOLERANCE:
        return f"pixels differ by up to {worst} (tolerance {PIXEL_TOLERANCE})", worst
    return "", worst


def summary(runs: dict[tuple[str, str], list[dict]], threads_ours: int | None, reasons: dict[str, str],
            extra: dict | None = None) -> dict:
    """The last line, from every run of every (side, setting): medians, ratios, best settings."""
    def med(side: str, setting: str = "", key: str = "seconds") -> float | None:
        return median([r[key] for r in runs.get((side, setting), []) if "error" not in r])

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a and b else None

    ours_s = med("ours")
    out: dict = {}
    peers: dict = {}
    for peer in SETTINGS:
        by_setting = {setting: med(peer, setting) for (side, setting) in runs if side == peer}
        timed = {s: v for s, v in by_setting.items() if v is not None}
        equal = str(threads_ours)
        best = min(timed, key=lambda s: timed[s]) if timed else None
        out[f"speedup_vs_{peer}"] = ratio(timed.get(equal), ours_s)
        out[f"speedup_vs_{peer}_best"] = ratio(timed.get(best), ours_s) if best else None
        peers[peer] = {"threads": threads_ours if equal in timed else None,
                       "threads_best": int(best) if best is not None else None,
                       "s": round(timed[equal], 3) if equal in timed else None,
                       "best_s": round(timed[best], 3) if best else None,
                       "cpu_s": med(peer, equal, "cpu_s"), "s_by_threads": {s: round(v, 3) for s, v in timed.items()},
                       "max_pixel_diff": max((r.get("max_pixel_diff", 0) for r in runs.get((peer, equal), [])
                                              if "error" not in r), default=None),
                       "reason": reasons.get(peer)}
    for peer in SETTINGS:
        out[f"threads_{peer}"] = peers[peer]["threads"]
        out[f"threads_{peer}_best"] = peers[peer]["threads_best"]
    out["threads_ours"] = threads_ours
    ours_336, reenc, floor = med("ours_336"), med("reencode"), med("ffmpeg_decode")
    out.update({
        "speedup_vs_reencode": ratio(reenc, ours_336), "ratio_vs_ffmpeg_decode": ratio(ours_336, floor),
        "cpu_ratio_vs_torchcodec": ratio(peers["torchcodec"]["cpu_s"], med("ours", key="cpu_s")),
        "cpu_ratio_vs_decord2": ratio(peers["decord2"]["cpu_s"], med("ours", key="cpu_s")),
        "ours_s": ours_s and round(ours_s, 3), "ours_cpu_s": med("ours", key="cpu_s"),
        "ours_336_s": ours_336 and round(ours_336, 3), "reencode_s": reenc and round(reenc, 3),
        "ffmpeg_decode_s": floor and round(floor, 3),
        "repeats": max((len(v) for v in runs.values()), default=0),
        **{k: v for peer in SETTINGS for k, v in
           ((f"{peer}_{key}", peers[peer][key]) for key in ("s", "best_s", "cpu_s", "s_by_threads",
                                                            "max_pixel_diff", "reason"))},
    })
    return {**out, **(extra or {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS, help="rounds of every side (medians reported)")
    parser.add_argument("--video", type=Path, default=None, help="another video (a quick check); default: "
                        "the cached 10-minute one, made on first run")
    args = parser.parse_args()
    video = args.video or make_video()
    video.read_bytes()                              # in the page cache before any side is timed
    load_before = load_average()
    interpreters: dict[str, tuple[list[str], dict[str, str]]] = {"ours": ([sys.executable], dict(os.environ))}
    reasons: dict[str, str] = {}
    for peer in SETTINGS:
        python, env, why = peer_python(peer)
        if python is None:
            reasons[peer] = f"{peer} not importable: {why}"[:400]
            print(reasons[peer], flush=True)
        else:
            interpreters[peer] = (python, env)
    sides = [("ours", ""), ("ours_336", ""), ("reencode", ""), ("ffmpeg_decode", "")]
    sides += [(peer, str(s)) for peer in SETTINGS if peer in interpreters for s in SETTINGS[peer]]
    runs: dict[tuple[str, str], list[dict]] = {}
    reference: dict | None = None
    versions: dict[str, str] = {}
    threads_ours: int | None = None
    for k in range(args.repeats):
        for side, setting in rotate(sides, k):           # round 0 starts with ours: the reference and its threads
            if setting == "equal":
                setting = str(threads_ours)
            cfg = {"video": str(video), "every": CHECK_EVERY, "batch": BATCH,
                   "threads": int(setting) if setting else None}
            if side == "reencode":
                result = reencode(video)
            elif side == "ffmpeg_decode":
                result = ffmpeg_decode(video)
            else:
                python, env = interpreters["ours" if side.startswith("ours") else side]
                result = run_side("ours" if side.startswith("ours") else side, python, env,
                                  {**cfg, "size": 336 if side == "ours_336" else None})
            if side == "ours" and reference is None and "error" not in result:
                reference, threads_ours = result, result["threads"]
            if "times" in result and side != "ours_336" and reference is not None:
                why, worst = compare(reference, result)
                result["max_pixel_diff"] = worst
                if why:
                    result = {"error": f"{side} at threads={setting or 'default'}: {why}"}
            if side == "ours_336" and "times" in result and reference and result["times"] != reference["times"]:
                result = {"error": "ours at 336 px returned other frame times than at full size"}
            if "error" in result and result["error"] not in reasons.get(side, ""):     # every failing setting, once
                reasons[side] = "; ".join(filter(None, [reasons.get(side), result["error"]]))
            if "version" in result:
                versions[side] = result["version"]
            runs.setdefault((side, setting), []).append(result)
            shown = result.get("error") or f"{result['seconds']:7.2f} s (cpu {result['cpu_s']:6.2f} s)"
            print(f"round {k + 1}/{args.repeats} {side:>13} {('threads=' + setting) if setting else '':<10} {shown}",
                  flush=True)
    if reference is None:
        sys.exit("ours failed: " + str(runs.get(("ours", ""), [{}])[0].get("error")))
    frames_in_video = _frame_count(video)
    extra = {
        "video": video.name, "frames": len(reference["times"]), "frames_in_video": frames_in_video,
        "frames_decoded_ours": reference.get("decoded"), "pixel_tolerance": PIXEL_TOLERANCE,
        "load_average": {"before": load_before, "after": load_average()},
        "ran_with": {
            "ours": f"{versions.get('ours')}, thread_type AUTO, {threads_ours} threads (FFmpeg's choice)",
            "torchcodec": f"{versions.get('torchcodec')} under {interpreters.get('torchcodec', ([None],))[0][0]}, "
                          f"num_ffmpeg_threads {SETTINGS['torchcodec']} ('equal' = {threads_ours})",
            "decord2": f"{versions.get('decord2')}, num_threads {SETTINGS['decord2']} ('equal' = {threads_ours})",
            "reencode": "ffmpeg CLI (system build), its own threads", "ffmpeg_decode": "ffmpeg CLI, its own threads"},
    }
    print(json.dumps(summary(runs, threads_ours, reasons, extra)))


def _frame_count(video: Path) -> int | None:
    import av

    with av.open(str(video)) as container:
        return container.streams.video[0].frames or None


if __name__ == "__main__":
    main()
