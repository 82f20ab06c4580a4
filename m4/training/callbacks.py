"""Trainer callbacks (duck-typed, so importing this needs no transformers): the command's wall-clock
budget, shared out over its stages, with a cosine over time; and model selection on the validation phrases."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any


class _Callback:
    def __getattr__(self, name: str):            # every callback event not defined: no-op
        if name.startswith("on_"):
            return lambda *a, **k: None
        raise AttributeError(name)


# max_minutes shared out over the stages of `m4 train` (each stops at its share, doing less)
DATA_SHARE = 0.35          # data building (suite parts, frames, M4-IT) ends by 35% of the budget
VISION_SHARE = 0.15        # vision pretraining, its rendering included, takes at most 15%
VALIDATION_SHARE = 0.08    # one validation pass at most 8%; the first pass fixes the items every pass scores
SAVE_RESERVE_S = 3.0       # kept after the final validation pass for saving the checkpoint


class TimeBudget(_Callback):
    """The command's wall-clock budget (max_minutes) and, as a TrainerCallback (duck-typed), the stop
    of training in time for the final validation pass and the save; keeps every logged loss.

    The budget counts from `start` (the command's start; default: now). The stages before training
    end by their shares (`at`, `left`); training stops once the time left is less than `stop_reserve()`:
    1.25 x the longest validation pass so far (`reserve_s`, set by the snapshot selector), before any
    pass the final pass's share (`expected_s`), plus SAVE_RESERVE_S. With `time_cosine`, the learning
    rate follows warmup + cosine over the training time left, so the schedule ends on time however
    fast the machine is (a step-based cosine cut by the budget would stop at a high learning rate on a
    busy machine). What a stage cut is said by `warn` (stderr) and kept in `warnings` (the summary).
    """

    def __init__(self, minutes: float | None, time_cosine: bool = False, warmup: float = 0.03,
                 start: float | None = None):
        now = time.monotonic()
        self.limit = None if minutes is None else minutes * 60.0
        self.time_cosine = time_cosine and self.limit is not None
        self.warmup = warmup
        self.start = now if start is None else start
        self.train_start = now
        self.reserve_s = 0.0
        self.expected_s = 0.0
        self.save_s = SAVE_RESERVE_S if self.limit is not None else 0.0
        self.losses: list[float] = []
        self.warnings: list[str] = []
        self.base_lrs: list[float] | None = None

    @property
    def deadline(self) -> float | None:
        return None if self.limit is None else self.start + self.limit

    def at(self, share: float) -> float | None:
        """The moment `share` of the budget is spent (None without a budget)."""
        return None if self.limit is None else self.start + share * self.limit

    def left(self) -> float:
        return math.inf if self.deadline is None else self.deadline - time.monotonic()

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        print(f"m4 train: warning: {text}", file=sys.stderr, flush=True)

    def stop_reserve(self) -> float:
        return (self.reserve_s or self.expected_s) + self.save_s

    def training_left(self) -> float:
        """Seconds of training left before the reserve for the final validation and the save."""
        return self.left() - self.stop_reserve()

    def done(self) -> float:
        """Share of the training time used (0..1); 0 without a budget."""
        if self.deadline is None:
            return 0.0
        span = max(1.0, self.deadline - self.reserve_s - self.save_s - self.train_start)
        return min(1.0, (time.monotonic() - self.train_start) / span)

    def on_train_begin(self, args, state, control, **kwargs):
        self.train_start = time.monotonic()
        return control

    def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
        if not self.time_cosine or optimizer is None:
            return control
        if self.base_lrs is None:
            self.base_lrs = [g["lr"] for g in optimizer.param_groups]
        done = self.done()
        if done < self.warmup:
            factor = done / self.warmup
        else:
            factor = 0.5 * (1 + math.cos(math.pi * (done - self.warmup) / (1 - self.warmup)))
        for group, base in zip(optimizer.param_groups, self.base_lrs):
            group["lr"] = base * max(factor, 0.01)
        return control

    def on_step_end(self, args, state, control, **kwargs):
        if self.deadline is not None and time.monotonic() + self.stop_reserve() > self.deadline:
            control.should_training_stop = True
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.losses.append(float(logs["loss"]))
            left = "" if self.limit is None else f", {max(0.0, self.left()) / 60:.1f} min left"
            print(f"m4 train: step {state.global_step}, loss {float(logs['loss']):.3f}{left}", file=sys.stderr,
                  flush=True)


class SnapshotSelector(_Callback):
    """TrainerCallback (duck-typed): at the recipe's `select_at` points (shares of the run), score the
    model on the validation phrases (held out from training and from every benchmark task) and keep
    the best snapshot; a tie goes to the later one. Model selection on held-out data, never on a benchmark.

    A pass goes round by round (a noise phrase, a stop phrase, a question and a colour scene a round).
    Under a budget the first pass stops at its share (VALIDATION_SHARE) and every later pass scores
    the same rounds, so the passes compare; a point is skipped when the training time left is under
    twice what a pass takes. The final pass, after training, always runs (the budget keeps room for it)."""

    def __init__(self, model: Any, tokenizer: Any, frames: list, questions: list[str], *, points: list[float],
                 budget: TimeBudget, seen: Callable[[Any, int], Iterator[tuple[int, int]]] | None = None,
                 seen_scenes: int = 20):
        self.model, self.tokenizer, self.frames, self.questions = model, tokenizer, frames, questions
        # (pipeline, n) -> (answered right, asked) for each of n scenes of questions about the frames
        self.seen, self.seen_scenes = seen, seen_scenes
        self.points, self.budget = sorted(points), budget
        self.scores: list[dict] = []
        self.best: tuple[float, int, dict] | None = None      # (balanced accuracy, step, weights)
        self.rounds: int | None = None                         # fixed by the first pass
        self.longest_s = 0.0                                    # the longest pass so far
        self.pass_limit_s = None if budget.limit is None else VALIDATION_SHARE * budget.limit
        if self.pass_limit_s is not None:
            budget.expected_s = 1.25 * self.pass_limit_s       # the final pass, before any pass is measured

    @property
    def selected_step(self) -> int | None:
        return self.best[1] if self.best else None

    def progress(self, state) -> float:
        steps = state.global_step / state.max_steps if state.max_steps > 0 else 0.0
        return max(steps, self.budget.done())

    def on_step_end(self, args, state, control, **kwargs):
        done = self.progress(state)
        if self.points and done >= self.points[0]:
            self.points = [p for p in self.points if p > done]
            pass_s = self.longest_s or self.pass_limit_s
            if pass_s is not None and self.budget.training_left() < 2 * pass_s:
                self.budget.warn(f"validation at {min(done, 1.0):.0%} of the run skipped: "
                                 f"{self.budget.training_left():.0f} s of training left, a pass takes about {pass_s:.0f} s")
            else:
                self.score(state.global_step, done)
        return control

    def score(self, step: int, done: float) -> None:
        from omnibench.m4.inference.pipeline import M4Pipeline

        print(f"m4 train: validation at {min(done, 1.0):.0%} of the run (step {step}) ...", file=sys.stderr,
              end="", flush=True)
        began = time.monotonic()
        until = None
        if self.rounds is None and self.pass_limit_s is not None:   # the first pass: its share of what is left
            until = began + max(0.0, min(self.pass_limit_s, self.budget.left() - self.budget.save_s))
        self.model.eval()
        pipeline = M4Pipeline.build(self.model, self.tokenizer)
        result, rounds, items, total = self._validate(pipeline, until)
        self.model.train()
        if self.rounds is None:
            self.rounds = rounds
            if items < total:
                self.budget.warn(f"validation scores {items} of {total} items ({rounds} round(s)), what its share "
                                 f"of max_minutes ({VALIDATION_SHARE:.0%}) held; every pass scores the same ones")
        took = time.monotonic() - began
        self.longest_s = max(self.longest_s, took)
        # the final validation runs after training: the budget keeps room for the longest pass seen
        self.budget.reserve_s = 1.25 * self.longest_s
        print(f" balanced {result['balanced']:.3f} ({took:.0f} s)", file=sys.stderr, flush=True)
        self.scores.append({"step": step, "progress": round(min(done, 1.0), 3), **result, "items": items})
        if self.best is None or result["balanced"] >= self.best[0]:
            weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.best = (result["balanced"], step, weights)

    def _validate(self, pipeline: Any, until: float | None) -> tuple[dict[str, float], int, int, int]:
        """(scores, rounds, items scored, items in all): the first `self.rounds` rounds, or (first pass)
        rounds while `until` has not passed (at least one)."""
        from omnibench.m4.inference import calibrate

        phrases = calibrate.validation_phrases()
        noise, stop, questions = phrases["noise"], phrases["stop"], self.questions
        n_scenes = self.seen_scenes if self.seen is not None else 0
        scenes = self.seen(pipeline, n_scenes) if self.seen is not None else iter(())
        todo = self.rounds if self.rounds is not None else max(len(noise), len(stop), len(questions), n_scenes, 1)
        observations: list = []
        right = asked = items = rounds = 0
        while rounds < todo and not (rounds and until is not None and time.monotonic() >= until):
            r = slice(rounds, rounds + 1)
            observations += calibrate.observe(pipeline, self.frames, {"noise": noise[r], "stop": stop[r]}, questions[r])
            items += len(noise[r]) + len(stop[r]) + len(questions[r])
            if rounds < n_scenes:
                got, of = next(scenes)
                right, asked, items = right + got, asked + of, items + 1
            rounds += 1
        settings = pipeline.config.noise
        result = calibrate.accuracy(observations, settings.cap, settings.scale)
        if asked:                 # a snapshot must also read its frames: one more kind in the mean
            result["seen"] = right / asked
            kinds = [v for k, v in result.items() if k != "balanced"]
            result["balanced"] = sum(kinds) / len(kinds)
        return result, rounds, items, len(noise) + len(stop) + len(questions) + n_scenes

    def finish(self, step: int) -> None:
        """The final weights compete too; then the model holds the best snapshot's weights."""
        if not self.scores or self.scores[-1]["step"] != step:
            self.score(step, 1.0)
        assert self.best is not None            # score() always sets it
        self.model.load_state_dict(self.best[2])
