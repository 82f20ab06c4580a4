"""A model that knows the answer key: scores 100% where generator and scorers agree (tests only).

The key is handed over by the test that builds it (`Oracle.for_tasks`), never read from what the
harness gives the model: requests and stream openings carry only (task, sample id).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from omnibench.data.schema import Sample
from omnibench.engine.protocols import Emission, OfflineRequest, StreamInfo, UserTurn


class Oracle:
    fps = 1.0
    needs_video = False

    def __init__(self, key: Iterable[Sample]):
        self.key = {(s.task, s.id): s for s in key}

    @classmethod
    def for_tasks(cls, tasks: Iterable[str], **settings: Any) -> Oracle:
        """The key of these tasks as built with `settings` (the same build the run will make)."""
        from omnibench.rundir import build_task

        return cls(s for name in tasks for s in build_task(name, settings).samples())

    # -- offline --------------------------------------------------------------------------
    def generate(self, request: OfflineRequest) -> str:
        sample = self.key[request.task, request.sample_id]
        query = sample.turns[request.turn]
        cls = sample.metadata.get("interruption") if request.turn else None
        if cls == "followup":
            return str(query.target)
        if cls == "lure":
            return "And the shapes keep moving."
        if query.kind in ("noise", "stop"):
            return ""
        if query.kind == "alert_request":
            window = query.window
            return "yes" if window and request.end is not None and window[0] <= request.end <= window[1] else "no"
        return query.target if isinstance(query.target, str) else "Some shapes move around."

    # -- streaming ------------------------------------------------------------------------
    def reset(self, info: StreamInfo) -> None:
        self.sample = self.key[info.task, info.sample_id]
        self.asked, self.speaking, self.alerted = 0, None, False
        self.queue: list[Emission] = []

    def feed(self, t: float, frame) -> None:
        pass

    def ask(self, t: float, turn: UserTurn) -> None:
        i = self.asked
        self.asked += 1
        query = self.sample.turns[i]
        cls = self.sample.metadata.get("interruption") if i else None   # interruption tasks: what it is
        if cls == "followup":
            self.queue.append(Emission(str(query.target), turn=i, done=True))
        elif cls in ("noise", "lure"):
            pass
        elif query.kind == "stop":
            self.speaking = None
        elif query.kind == "question":
            if isinstance(query.target, str):
                self.queue.append(Emission(query.target, turn=i, done=True))
            else:  # an open request: a long answer, one word per poll, until told to stop
                self.speaking = (i, "There is a square and a circle and they move slowly across".split())

    def poll(self, t: float) -> list[Emission]:
        out, self.queue = self.queue, []
        if self.speaking:
            turn, words = self.speaking
            out.append(Emission(words[0] + " ", turn=turn, done=len(words) == 1))
            self.speaking = (turn, words[1:]) if len(words) > 1 else None
        for query in self.sample.turns:
            window = query.window
            if query.kind == "alert_request" and window and not self.alerted and window[0] <= t <= window[1]:
                self.alerted = True
                out.append(Emission("Now!", turn=None, refers_to=t))
        return out
