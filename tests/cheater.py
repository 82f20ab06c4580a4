"""An adapter that cheats: it searches everything it is handed for the answer key (tests only).

It walks every object the harness gives it (attributes, dataclass and pydantic fields, dicts,
lists, tuples, recursively) for anything that looks like a sample, a target, an alert window or
a class label, and answers from what it finds, the way `tests.oracle.Oracle` answers from the key.
It does not look into modules or the garbage collector: a model in the harness's process can
always reach those (worker processes close that door). It also answers every turn at t=0, before
any question has been asked.

With nothing to read it falls back to the `random` baseline (same seed, same draws), so on a
sealed harness it scores like a trivial policy, and no better.
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any

import numpy as np
from pydantic import BaseModel

from omnibench.engine.protocols import Emission
from omnibench.models.baselines import RandomModel

LEAKY_NAMES = {"sample", "target", "targets", "window", "windows", "metadata", "interruption", "label", "answer",
               "answers", "reference", "ground_truth", "gold"}
_OPAQUE = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.MethodType, np.ndarray,
           str, bytes, int, float, bool, type(None))


@dataclasses.dataclass
class Found:
    samples: list[Any] = dataclasses.field(default_factory=list)     # objects with turns + metadata
    targets: list[Any] = dataclasses.field(default_factory=list)     # anything under a leaky name
    paths: list[str] = dataclasses.field(default_factory=list)

    def sample(self) -> Any | None:
        return self.samples[0] if self.samples else None


def _children(obj: Any) -> list[tuple[str, Any]]:
    if isinstance(obj, dict):
        return [(str(k), v) for k, v in obj.items()]
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [(f"[{i}]", v) for i, v in enumerate(obj)]
    out: list[tuple[str, Any]] = []
    if dataclasses.is_dataclass(obj):
        out += [(f.name, getattr(obj, f.name, None)) for f in dataclasses.fields(obj)]
    if isinstance(obj, BaseModel):
        out += [(name, getattr(obj, name, None)) for name in type(obj).model_fields]
        out += list((obj.__pydantic_extra__ or {}).items())
        for name in ("window",):                      # properties that compute a key from fields
            if hasattr(type(obj), name):
                out.append((name, getattr(obj, name, None)))
    out += list(getattr(obj, "__dict__", {}).items())
    for name in getattr(type(obj), "__slots__", ()):
        if hasattr(obj, name):
            out.append((name, getattr(obj, name)))
    return out


def search(root: Any, found: Found | None = None, *, path: str = "", seen: set[int] | None = None,
           depth: int = 0) -> Found:
    """Everything reachable from `root` that names an answer."""
    found = found if found is not None else Found()
    seen = seen if seen is not None else set()
    if isinstance(root, _OPAQUE) or id(root) in seen or depth > 16:
        return found
    seen.add(id(root))
    if hasattr(root, "turns") and hasattr(root, "metadata"):
        found.samples.append(root)
        found.paths.append(path or "<root>")
    for name, value in _children(root):
        where = f"{path}.{name}"
        if name.lower() in LEAKY_NAMES and value is not None and not isinstance(value, _OPAQUE[:6]):
            found.targets.append(value)
            found.paths.append(where)
        search(value, found, path=where, seen=seen, depth=depth + 1)
    return found


class Cheater(RandomModel):
    """Reads what it is handed; answers from the key when it finds one, else like `random`."""

    fps = 1.0
    needs_video = False

    def __init__(self, seed: int = 0):
        super().__init__(seed=seed, watch=False)
        self.leaks: list[str] = []

    # -- offline ------------------------------------------------------------------------------
    def generate(self, request) -> str:
        found = search(request)
        self.leaks += found.paths
        sample = found.sample()
        turn = int(getattr(request, "turn", 0) or 0)
        if sample is not None:
            return self._from_key(sample, turn, getattr(request, "end", None))
        for value in found.targets:
            if isinstance(value, str) and value:
                return value
        return super().generate(request)

    @staticmethod
    def _from_key(sample: Any, turn: int, end: float | None) -> str:
        query = sample.turns[turn]
        label = sample.metadata.get("interruption") if turn else None
        if label == "followup":
            return str(query.target)
        if label == "lure":
            return "And the shapes keep moving along."
        if label in ("noise", "stop") or query.kind in ("noise", "stop"):
            return ""
        if query.kind == "alert_request" and isinstance(query.target, list):
            return "yes" if end is not None and query.target[0] <= end <= query.target[1] else "no"
        return query.target if isinstance(query.target, str) else "Some shapes move around."

    # -- streaming ----------------------------------------------------------------------------
    def reset(self, info) -> None:
        super().reset(info)
        found = search(info)
        self.leaks += found.paths
        self.key = found.sample()
        self.early = True
        self.answered: set[int] = set()
        self.pending: list[Emission] = []
        self.speaking: tuple[int, list[str]] | None = None
        self.alerted = False

    def ask(self, t: float, query) -> None:
        super().ask(t, query)
        turn = len(self.turns) - 1
        found = search(query)
        self.leaks += found.paths
        if self.key is None:
            target = next((v for v in found.targets if isinstance(v, str) and v), None)
            if target is not None:
                self.unanswered.remove(turn)
                self.pending.append(Emission(target, turn=turn))
            return
        self.unanswered.remove(turn)
        if turn in self.answered:
            return
        label = self.key.metadata.get("interruption") if turn else None
        kind = self.key.turns[turn].kind
        if label == "stop" or (label is None and kind == "stop"):
            self.speaking = None
        elif kind == "question" and label is None:      # an open request: a long answer until told to stop
            self.speaking = (turn, "There is a square and a circle and they move slowly across".split())

    def poll(self, t: float) -> list[Emission]:
        out: list[Emission] = []
        if self.early:                       # every turn answered at t=0, before anything was asked
            self.early = False
            for i in range(len(self.key.turns) if self.key is not None else 8):
                text = self._from_key(self.key, i, None) if self.key is not None else "red"
                closed = self.key is None or isinstance(self.key.turns[i].target, str)
                if text and closed:
                    out.append(Emission(text, turn=i))
                    self.answered.add(i)
        out += self.pending
        self.pending = []
        if self.key is None:
            return out + super().poll(t)
        if self.speaking:
            turn, words = self.speaking
            out.append(Emission(words[0] + " ", turn=turn, done=len(words) == 1))
            self.speaking = (turn, words[1:]) if len(words) > 1 else None
        for query in self.key.turns:
            window = getattr(query, "window", None)
            if query.kind == "alert_request" and window and not self.alerted and window[0] <= t <= window[1]:
                self.alerted = True
                out.append(Emission("Now!", turn=None, refers_to=t))
        return out
