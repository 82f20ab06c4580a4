"""Trainer callbacks (duck-typed, so importing this needs no transformers): a wall-clock budget with a
cosine over time, and model selection on the validation phrases."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any


class _Callback:
    def __getattr__(self, name: str):            # every callback event not defined: no-op
        if name.startswith("on_"):
            return lambda *a, **k: None
        raise AttributeError(name)


class TimeBudget(_Callback):
    """TrainerCallback (duck-typed): stop in time for the wall-clock budget; keep every logged loss.

    The budget counts from `start` (the command's start, so data building is inside it; default:
    now) and includes the validation still to come: training stops once the time left is less than
    `reserve_s`, which the snapshot selector sets to its longest validation pass so far (the final
    one runs after training). With `time_cosine`, the learning rate follows warmup + cosine over the
    training time left, so the schedule ends on time however fast the machine is (a step-based cosine
    cut by the budget would stop at a high learning rate on a busy machine).
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
        self.losses: list[float] = []
        self.base_lrs: list[float] | None = None

    @property
    def deadline(self) -> float | None:
        return None if self.limit is None else self.start + self.limit

    def done(self) -> float:
        """Share of the training time used (0..1); 0 without a budget."""
        if self.deadline is None:
            return 0.0
        span = max(1.0, self.deadline - self.reserve_s - self.train_start)
        return min(1.0, (time.monotonic() - self.train_start) / span)

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
        if self.deadline is not None and time.monotonic() + self.reserve_s > self.deadline:
            control.should_training_stop = True
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.losses.append(float(logs["loss"]))
            if self.limit is not None:
                left = max(0.0, self.deadline - time.monotonic())
                print(f"m4 train: step {state.global_step}, loss {float(logs['loss']):.3f}, "
                      f"{left / 60:.1f} min left", file=sys.stderr, flush=True)


class SnapshotSelector(_Callback):
    """TrainerCallback (duck-typed): at the recipe's `select_at` points (shares of the run), score the
    model on the validation phrases (held out from training and from every benchmark task) and keep
    the best snapshot; a tie goes to the later one. Model selection on held-out data, never on a benchmark."""

    def __init__(self, model: Any, tokenizer: Any, frames: list, questions: list[str], *, points: list[float],
                 budget: TimeBudget, seen: Callable[[Any], float] | None = None):
        self.model, self.tokenizer, self.frames, self.questions = model, tokenizer, frames, questions
        self.seen = seen          # pipeline -> share of questions about the frames answered right
        self.points, self.budget = sorted(points), budget
        self.scores: list[dict] = []
        self.best: tuple[float, int, dict] | None = None      # (balanced accuracy, step, weights)

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
            self.score(state.global_step, done)
        return control

    def score(self, step: int, done: float) -> None:
        from omnibench.m4.inference.calibrate import score_validation
        from omnibench.m4.inference.pipeline import M4Pipeline

        print(f"m4 train: validation at {min(done, 1.0):.0%} of the run (step {step}) ...", file=sys.stderr,
              end="", flush=True)
        began = time.monotonic()
        self.model.eval()
        pipeline = M4Pipeline.build(self.model, self.tokenizer)
        result = score_validation(pipeline, self.frames, self.questions)
        if self.seen is not None:        # a snapshot must also read its frames: one more kind in the mean
            result["seen"] = self.seen(pipeline)
            kinds = [v for k, v in result.items() if k != "balanced"]
            result["balanced"] = sum(kinds) / len(kinds)
        self.model.train()
        took = time.monotonic() - began
        # the final validation runs after training: the budget keeps room for the longest pass seen
        self.budget.reserve_s = max(self.budget.reserve_s, 1.25 * took)
        print(f" balanced {result['balanced']:.3f} ({took:.0f} s)", file=sys.stderr, flush=True)
        self.scores.append({"step": step, "progress": round(min(done, 1.0), 3), **result})
        if self.best is None or result["balanced"] >= self.best[0]:
            weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.best = (result["balanced"], step, weights)

    def finish(self, step: int) -> None:
        """The final weights compete too; then the model holds the best snapshot's weights."""
        if not self.scores or self.scores[-1]["step"] != step:
            self.score(step, 1.0)
        self.model.load_state_dict(self.best[2])
