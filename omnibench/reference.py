"""`--reference omnimmi`: every deliberate divergence from the OmniMMI reference harness, switched at once.

Each row of the README's "Where omnibench differs" table maps to one task, judge or model setting
here; every one is also settable on its own. Reference mode reproduces the reference's behaviour
even where we think it is a bug, when it changes numbers on valid input (rows 6 and 12).

    row 1  SI offline input          si_input="whole"            (ours: "causal", [0, timestamp])
    row 2  empty prediction          judge.judge_empty=True      (ours: no/0 without a call)
    row 3  judge sampling            judge.temperature=None      (ours: 0)
    row 4  judge prompt wording      judge.prompt=<file written by `omnibench data reference-prompts`>
    row 5  AP prompt wording         prompts_file=<same>         (ours: our sentence)
    row 6  streaming ask times       ask_times="reference"       (ours: "ours", video end / span end)
    row 7  PA alert time             alert_time="claimed"        (ours: "spoken")
    rows 8-12, 16, 20, 22-24  M4     m4_reference_settings() of the M4 adapter, when it has one
    row 12 for any model             drop_first_second="live"    (alerts at int(t) == 0 dropped on streams run
                                                                  here, as its loop does; never on replayed files)
    row 13 judge reply reading       judge.parse="reference"     (ours: "strict")
    row 14 judge model               judge.model="gpt-4-turbo"   (ours: gpt-4o-2024-08-06; a model the user names wins)
    row 15 empty M4 highlights       count_empty_alerts=True     (ours: an alert must say something)
    row 17 MD online ##ANSWER##      online_answer_slot="keep"   (ours: "fill")
    row 18 PT online input           pt_online_input="conversation"  (ours: "remark")
    row 19 online answers            online_answers="first"      (ours: "joined", with a 5 s tail)
    row 21 missing pre-cut clip      missing_clip="error"        (ours: "cut", [0, end] of the video)
    row 25 spoken instruction text   spoken_form="reference"     (ours: "as_written"; audio-input models)

The run directory keeps `reference.json` (the mode and the settings it applied), so `omnibench
score RUN` scores a reference run the reference's way without the flag again.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from omnibench.cache import cache_dir
from omnibench.errors import ConfigError
from omnibench.scoring.judge.client import REFERENCE_MODEL

MODES = ("omnimmi", "ovobench", "streamingbench")   # the peers' rows: omnibench.peer_reference
RECORD_FILE = "reference.json"
JUDGE_PROMPT_FILE = "judge_prompt.json"
TASK_PROMPTS_FILE = "task_prompts.json"
OUR_WORDING = ("reference prompts not found: judge and AP prompts use omnibench's wording "
               "(run `omnibench data reference-prompts PATH-TO-OMNIMMI-CHECKOUT` to use the reference's)")


# the reference's value of each task setting (the user's explicit choice wins)
REFERENCE_TASK_SETTINGS: dict[str, Any] = {
    "si_input": "whole", "ask_times": "reference", "alert_time": "claimed", "drop_first_second": "live",
    "count_empty_alerts": True, "online_answer_slot": "keep", "pt_online_input": "conversation",
    "online_answers": "first", "missing_clip": "error", "spoken_form": "reference",
}


def prompts_dir() -> Path:
    """Where `omnibench data reference-prompts` writes its files by default."""
    return cache_dir() / "reference" / "omnimmi"


def check_mode(mode: str | None) -> str | None:
    if mode is not None and mode not in MODES:
        raise ConfigError(f"unknown reference mode {mode!r}; known: {', '.join(MODES)}")
    return mode


def task_settings(mode: str, given: dict[str, Any], *, prompts: Path | None = None) -> dict[str, Any]:
    """`given` (the user's task settings) with the reference's task and judge rows filled in; the user's explicit
    choices win. The result carries `reference` (the mode) and `reference_note` (whose wording)."""
    check_mode(mode)
    if mode != "omnimmi":
        from omnibench import peer_reference

        return peer_reference.task_settings(mode, given, prompts=prompts)
    folder = prompts or prompts_dir()
    judge_prompt, task_prompts = folder / JUDGE_PROMPT_FILE, folder / TASK_PROMPTS_FILE
    out = dict(given)
    judge = dict(out.get("judge") or {})
    judge.setdefault("temperature", None)          # row 3: the API default, as the reference sends none
    judge.setdefault("judge_empty", True)          # row 2: empty predictions go to the judge
    judge.setdefault("parse", "reference")         # row 13: literal of the whole reply, "yes" in pred.lower()
    if "model" not in judge and not os.environ.get("OMNIBENCH_JUDGE_MODEL"):
        judge["model"] = REFERENCE_MODEL           # row 14: its OpenAI path's judge
    notes = []
    if "prompt" not in judge:                      # row 4
        if judge_prompt.is_file():
            judge["prompt"] = str(judge_prompt)
        else:
            notes.append("judge")
    out["judge"] = judge
    if not out.get("prompts_file"):                # row 5
        if task_prompts.is_file():
            out["prompts_file"] = str(task_prompts)
        else:
            notes.append("AP")
    for key, value in REFERENCE_TASK_SETTINGS.items():          # rows 1, 6, 7, 12, 15, 17-19, 21
        if out.get(key) is None:
            out[key] = value
    out["reference"] = mode
    out["reference_note"] = (OUR_WORDING.replace("judge and AP", " and ".join(notes)) if notes
                             else f"judge and AP prompts read from the reference checkout ({folder})")
    return out


def m4_model_args(model: str, given: dict[str, Any], mode: str = "omnimmi") -> tuple[dict[str, Any], str]:
    """The M4 rows for M4 models: the adapter's own reference preset under the user's model args.

    The M4 adapter owns what those rows mean (and which apply to M4-Audio); this only switches its
    preset on, when it has one.
    """
    if not model.startswith("m4"):
        return dict(given), "not an M4 model: the M4 rows do not apply"
    if mode != "omnimmi":
        return dict(given), f"the M4 rows are OmniMMI's M4 settings: not applied in {mode} mode"
    # the adapter's own setting switches its preset on (explicit model args still win inside it)
    return {"reference": mode, **given}, "M4 rows: M4 reference settings on (model setting reference=%s)" % mode


def record(run_dir: Path, mode: str, settings: dict[str, Any], model_note: str = "") -> None:
    """Write RUN/reference.json: the mode and every setting it applied (no secrets are in them)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    from omnibench.sanitize import clean

    body = clean({"reference": mode, "task_settings": settings, "model": model_note})
    (run_dir / RECORD_FILE).write_text(json.dumps(body, indent=2, default=str), encoding="utf-8")


def recorded(run_dir: str | Path) -> dict[str, Any] | None:
    """What `record` wrote for this run, or None for a run not made in reference mode."""
    path = Path(run_dir) / RECORD_FILE
    if not path.is_file():
        return None
    from omnibench.safejson import load_json

    data = load_json(path)
    if not isinstance(data, dict) or data.get("reference") not in MODES or not isinstance(data.get("task_settings"), dict):
        raise ConfigError(f"{path}: expected {{'reference': one of {MODES}, 'task_settings': {{...}}}}")
    return data


def check_resume(run_dir: str | Path, mode: str | None) -> None:
    """A run directory resumes only in the mode it was made in (its logs would mix otherwise)."""
    before = (recorded(run_dir) or {}).get("reference")
    if before != mode and (before or any(Path(run_dir).glob("logs/*/*"))):
        raise ConfigError(f"{run_dir} was run {'with --reference ' + before if before else 'without --reference'}; "
                          f"rerun it the same way, or pass another --out")


def score_settings(run_dir: str | Path, mode: str | None, given: dict[str, Any]) -> dict[str, Any]:
    """The task settings `score` uses: the recorded reference settings (or `mode`'s) under the user's."""
    check_mode(mode)
    rec = recorded(run_dir)
    if rec is not None:
        base = dict(rec["task_settings"])
        if isinstance(base.get("judge"), dict):     # the endpoint is the user's, never the run directory's
            base["judge"] = {k: v for k, v in base["judge"].items() if k != "base_url"}
        explicit = {k: v for k, v in given.items() if v is not None and k not in ("seed",)}
        if explicit.get("judge"):
            base["judge"] = {**(base.get("judge") or {}), **explicit.pop("judge")}
        return {**base, **explicit}
    return task_settings(mode, given) if mode else given


def stamp_results(run_dir: str | Path, settings: dict[str, Any]) -> None:
    """Say in every result of results.json which reference mode (and whose wording) produced it."""
    if not settings.get("reference"):
        return
    from omnibench.results import Results
    from omnibench.sanitize import dump_json

    path = Path(run_dir) / "results.json"
    if not path.is_file():
        return
    from omnibench.safejson import read_text

    results = Results.model_validate_json(read_text(path))
    for r in results.results:
        r.settings["reference"] = settings["reference"]
        r.settings["reference_note"] = settings.get("reference_note", "")
    path.write_text(dump_json(results, indent=2), encoding="utf-8")


# -- row 6: when the reference's online loop asks ---------------------------------------------------

def stream_ask_times(plan: list[dict[str, float]], duration: float, fps: float) -> list[float]:
    """Turn times from a sample's `stream_ask` metadata (written by the OmniMMI loader in reference
    mode), on a stream of `duration` seconds read at `fps` frames per second.

    {"frames_before_end": k}: frame max(0, int(duration * fps) - k) (AP);
    {"frame_of": ts}: frame int(ts * fps) (SI);
    {"at_least": s}: the first frame at or after s seconds (SG/MD span midpoints).
    Turns stay in order: a turn is never asked before the one before it, as in the reference loop.
    """
    out: list[float] = []
    for spec in plan:
        if "frames_before_end" in spec:
            t = max(0, int(duration * fps) - int(spec["frames_before_end"])) / fps
        elif "frame_of" in spec:
            t = int(float(spec["frame_of"]) * fps) / fps
        elif "at_least" in spec:
            t = math.ceil(float(spec["at_least"]) * fps - 1e-9) / fps
        else:
            raise ConfigError(f"stream_ask entry {spec!r}: expected frames_before_end, frame_of or at_least")
        out.append(min(max(t, out[-1] if out else 0.0), duration))
    return out
