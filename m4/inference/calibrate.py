"""Fit the noise test's constants to a checkpoint on held-out phrases (never the benchmark's own).

M4's test calls a new turn noise when p[<|im_start|>] > min(cap, scale * exp(-H)); cap 0.09 and
scale 0.3 suit the published 7B model's probabilities. A small model trained from scratch has its
own scale, so `calibrate` replays the decoder's situation (an interruption arriving while the
model answers) for the validation phrases: the eval parts of m4/training/phrases.py minus every phrase a
benchmark task uses, plus real questions that must still be answered. It picks the (cap, scale)
with the best balanced accuracy, ties going to the published constants, and writes it into the
checkpoint's config.json; the report keeps the accuracy at the published constants too.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CAPS = (0.02, 0.05, 0.09, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
SCALES = (0.3, 1.0)
DESCRIBE = "Describe everything you have seen in the video so far, in as much detail as you can."


@dataclass(frozen=True)
class Observation:
    kind: str                 # what the turn is: "noise", "stop" or "query"
    p_start: float
    entropy: float
    first_is_end: bool        # the turn's most likely first token is <|im_end|>


def validation_phrases() -> dict[str, list[str]]:
    from omnibench.m4.training.phrases import NOISE_EVAL, STOP_EVAL, evaluation_phrases, normalize

    benchmark = {normalize(p) for p in (*evaluation_phrases("noise"), *evaluation_phrases("stop"))}
    return {"noise": [p for p in NOISE_EVAL if normalize(p) not in benchmark],
            "stop": [p for p in STOP_EVAL if normalize(p) not in benchmark]}


def observe(pipeline: Any, frames: list, turns: dict[str, list[str]], questions: list[str],
            answer_tokens: int = 8) -> list[Observation]:
    """One observation per turn: noise/stop land in a running answer; questions arrive in silence."""
    import torch

    def outcome(decoder, text: str, kind: str) -> Observation:
        row = decoder.ask(pipeline.chat.query_ids(text), force="query")   # not noise: "stop" iff <|im_end|> first
        return Observation(kind, row.p_start, row.entropy, row.kind == "stop")

    prefix, tail = pipeline._conversation_embeds(frames, DESCRIBE, [])
    out: list[Observation] = []
    with torch.no_grad():
        for kind, texts in turns.items():
            for text in texts:
                decoder = pipeline.decoder(max_new_tokens=64)
                decoder.start(prefix)
                decoder.ask(tail, force="query")
                decoder.generate(limit=answer_tokens)
                out.append(outcome(decoder, text, kind))
        idle = pipeline._conversation_embeds(frames, "", [])[0]
        for text in questions:
            decoder = pipeline.decoder(max_new_tokens=8)
            decoder.start(idle)
            out.append(outcome(decoder, text, "query"))
    return out


def score_validation(pipeline: Any, frames: list, questions: list[str]) -> dict[str, float]:
    """Per kind, the share of the validation phrases decided right at the pipeline's own noise settings."""
    noise = pipeline.config.noise
    return accuracy(observe(pipeline, frames, validation_phrases(), questions), noise.cap, noise.scale)


def decide(obs: Observation, cap: float, scale: float) -> str:
    if obs.p_start > min(cap, scale * math.exp(-obs.entropy)):
        return "noise"
    return "stop" if obs.first_is_end else "query"


def accuracy(observations: list[Observation], cap: float, scale: float) -> dict[str, float]:
    """Per kind: share decided right (a question must be answered, i.e. not taken for noise)."""
    out = {}
    for kind in ("noise", "stop", "query"):
        mine = [o for o in observations if o.kind == kind]
        if mine:
            right = [(decide(o, cap, scale) == kind) if kind != "query" else decide(o, cap, scale) != "noise"
                     for o in mine]
            out[kind] = sum(right) / len(mine)
    out["balanced"] = sum(out.values()) / len(out)
    return out


def best_settings(observations: list[Observation], default: tuple[float, float] = (0.09, 0.3)) -> tuple[float, float]:
    def key(setting):
        cap, scale = setting
        return (round(accuracy(observations, cap, scale)["balanced"], 9),
                -abs(math.log(cap / default[0])) - abs(math.log(scale / default[1])))
    return max([(c, s) for c in CAPS for s in SCALES], key=key)


def calibrate(checkpoint: str | Path, frames: list, questions: list[str], write: bool = True) -> dict:
    """Observe, choose, and (if `write`) store the noise settings in the checkpoint's config.json."""
    from omnibench.m4.inference.pipeline import M4Pipeline

    pipeline = M4Pipeline.from_checkpoint(str(checkpoint))
    observations = observe(pipeline, frames, validation_phrases(), questions)
    default = (pipeline.config.noise.cap, pipeline.config.noise.scale)
    cap, scale = best_settings(observations, default)
    report = {"published": {"cap": default[0], "scale": default[1], **accuracy(observations, *default)},
              "chosen": {"cap": cap, "scale": scale, **accuracy(observations, cap, scale)},
              "n": {k: sum(o.kind == k for o in observations) for k in ("noise", "stop", "query")}}
    if write:
        path = Path(checkpoint) / "config.json"
        config = json.loads(path.read_text(encoding="utf-8"))
        config.setdefault("m4", {})["noise"] = {"cap": cap, "scale": scale}
        path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return report
