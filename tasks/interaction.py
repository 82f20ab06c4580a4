"""Interruption tasks: a second utterance arrives while the model answers; decide what it was.

Balanced detection with hard negatives, two samples per video (same question, same moment):
- noise family (noise_rejection, synth_noise): "What colour is the square?", then noise (a remark,
  half of them question-like lures) or a real follow-up (the circle's colour, half indirect).
- stop family (stop_turn, synth_stop): the long describe question, then a true stop or a lure.
The second turn has the same kind ("noise" / "stop": the slot) and the same choices in both
samples of a pair, so nothing but its words tells them apart; metadata["interruption"] says what
it is (noise | followup | stop | lure). Since every video holds one sample of each class, the
mean of per-sample correctness is the balanced accuracy, in every bootstrap resample of videos.

noise_rejection / stop_turn draw from the benchmark pools (noise also from OmniMMI's turn-taking
remarks); synth_noise / synth_stop from the curated pools only, with their own draws. Streaming
only; the offline form (the second utterance as a last turn) is a task of its own
(`*_offline`), so streaming and offline numbers never share a cell.
"""

from __future__ import annotations

import hashlib
import random
from functools import lru_cache

from omnibench.data.schema import Query, Sample
from omnibench.registry import task
from omnibench.task import Task, prompt_overrides
from omnibench.tasks import phrases
from omnibench.tasks.omnimmi_prompts import QuestionPrompts

FAMILY = {"noise_rejection": "noise", "synth_noise": "noise", "noise_rejection_offline": "noise",
          "stop_turn": "stop", "synth_stop": "stop", "stop_turn_offline": "stop"}
CLASSES = {"noise": ("noise", "followup"), "stop": ("stop", "lure")}
COLOURS = ("red", "green", "blue", "yellow", "purple")   # the suite's SHAPE_COLOURS, the answer choices
METRIC_DOCS = {
    "balanced_accuracy": "Mean of the two class accuracies (each video holds one sample of each class); "
                         "0.5 is what a model that treats every second utterance alike gets.",
    "noise_ignored": "Noise samples: the first answer is right and kept, and the remark got no reply.",
    "followup_answered": "Follow-up samples: the first answer is right (or was under way and was cut by the "
                         "follow-up) and the follow-up got the right answer.",
    "noise_replied": "Noise samples: the model said something in reply to the remark.",
    "followup_missed": "Follow-up samples: the follow-up got no reply at all.",
    "derailed": "The first answer was wrong, missing, or (noise samples) cut off by the remark.",
    "stopped": "True stops: an answer was under way when the stop came and at most N words followed.",
    "continued": "Lures: an answer was under way when the lure came and it went on.",
    "never_started": "No answer was under way when the second utterance came (counted as a failure).",
    "words_after_stop": "True stops: words the model said after the stop (any turn).",
    "false_stop": "Lures: the answer was cut at the lure.",
}


def _rng(*parts: object) -> random.Random:
    return random.Random(int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16], 16))


@lru_cache(maxsize=1)
def omnimmi_remarks() -> tuple[str, ...]:
    """OmniMMI's turn-taking remarks (its PT final turns), from the packaged annotation file."""
    from omnibench.data import omnimmi

    return tuple(dict.fromkeys(s.turns[-1].text for s in omnimmi.load("pt")))


def pools(name: str) -> dict[str, tuple[str, ...]]:
    """The texts each class of task `name` draws from (noise: plain remarks and lures)."""
    name = name.removesuffix("_offline")      # the offline variant says the same words
    if FAMILY[name] == "stop":
        return {"stop": phrases.STOPS, "lure": phrases.STOP_LURES}
    remarks = phrases.NOISE if name == "synth_noise" else tuple(dict.fromkeys(phrases.NOISE + omnimmi_remarks()))
    return {"noise": remarks, "noise_lure": phrases.NOISE_LURES,
            "followup": tuple(text for _, text in phrases.FOLLOWUPS)}


def draw(name: str, seed: int, base_id: str, cls: str) -> str:
    """The second utterance of the `cls` sample built on `base_id` (depends on ids only, not on videos)."""
    name = name.removesuffix("_offline")
    pool = pools(name)
    rng = _rng(seed, name, base_id, cls)
    if cls == "noise":      # half plain remarks, half question-like lures
        return rng.choice(pool["noise_lure"] if rng.random() < 0.5 else pool["noise"])
    return rng.choice(pool[cls])


def source_task(name: str) -> str:
    return "synth_noise" if FAMILY[name] == "noise" else "synth_stop"


def interruption_texts(name: str, seed: int = 0, n: int | None = None) -> set[str]:
    """The exact second utterances the samples of `name` use for `seed` (n videos; default: the suite's)."""
    from omnibench.data.synth import N_INTERRUPTION

    source = source_task(name)
    return {draw(name, seed, f"{source}-{k:03d}", cls) for k in range(n or N_INTERRUPTION)
            for cls in CLASSES[FAMILY[name]]}


def pair(base: Sample, name: str, seed: int) -> list[Sample]:
    """The two samples (one per class) built on one base sample of the suite."""
    family = FAMILY[name]
    first = base.turns[0]
    at = float(base.metadata["interrupt_at"])
    out = []
    for cls in CLASSES[family]:
        text = draw(name, seed, base.id, cls)
        if family == "noise":
            target = base.metadata["circle_colour"] if cls == "followup" else None
            second = Query(t=at, text=text, kind="noise", target=target, choices=list(COLOURS))
        else:
            second = Query(t=at, text=text, kind="stop")
        out.append(Sample(id=f"{name}-{base.id.rsplit('-', 1)[-1]}-{cls}", task=name, video=base.video,
                          turns=[first, second], metadata={**base.metadata, "source": base.id,
                                                           "interruption": cls}))
    return out


def build(name: str, seed: int, n_per_task: int | None) -> list[Sample]:
    from omnibench.tasks.synth import suite_samples

    return [s for base in suite_samples(source_task(name), seed, n_per_task)[1] for s in pair(base, name, seed)]


def interruption_task(name: str, *, seed: int, n_per_task: int | None, prompts_file, description: str,
                      offline: bool = False, group: str | None = None, max_words: int = 3) -> Task:
    from omnibench.data.synth import default_root
    from omnibench.scoring.rules import noise_detection, stop_detection

    scorer = noise_detection() if FAMILY[name] == "noise" else stop_detection(max_words=max_words)
    from omnibench.scoring.chance import constant

    task_ = Task(name=name, samples=lambda: build(name, seed, n_per_task), chance=constant(0.5),
                 protocols=("offline",) if offline else ("streaming",), scorers=[scorer],
                 headline="balanced_accuracy", prompts=QuestionPrompts(prompt_overrides(prompts_file, name)),
                 group=group, description=description, data_root=str(default_root(seed)),
                 video_hint="The synthetic suite is generated on first use: run `python run_eval.py` once.",
                 metric_docs=dict(METRIC_DOCS), turn_taking=True)
    return task_


@task("noise_rejection", description="Noise or a real follow-up arrives mid-answer: ignore one, answer the other")
def noise_rejection(seed: int = 0, n_per_task: int | None = None, prompts_file=None) -> Task:
    return interruption_task("noise_rejection", seed=seed, n_per_task=n_per_task, prompts_file=prompts_file,
                             description="Noise or a real follow-up arrives mid-answer (streaming)")


@task("stop_turn", description="A stop or a lure arrives mid-answer: stop at once, or go on")
def stop_turn(seed: int = 0, n_per_task: int | None = None, prompts_file=None, max_words: int = 3) -> Task:
    return interruption_task("stop_turn", seed=seed, n_per_task=n_per_task, prompts_file=prompts_file,
                             description="A stop or a lure arrives mid-answer (streaming)", max_words=max_words)


@task("noise_rejection_offline", description="noise_rejection offline: the second utterance is the last turn")
def noise_rejection_offline(seed: int = 0, n_per_task: int | None = None, prompts_file=None) -> Task:
    return interruption_task("noise_rejection_offline", seed=seed, n_per_task=n_per_task,
                             prompts_file=prompts_file, offline=True,
                             description="Noise or a follow-up as the last turn (offline)")


@task("stop_turn_offline", description="stop_turn offline: the stop or lure is the last turn")
def stop_turn_offline(seed: int = 0, n_per_task: int | None = None, prompts_file=None, max_words: int = 3) -> Task:
    return interruption_task("stop_turn_offline", seed=seed, n_per_task=n_per_task, prompts_file=prompts_file,
                             offline=True, max_words=max_words,
                             description="A stop or a lure as the last turn (offline)")
