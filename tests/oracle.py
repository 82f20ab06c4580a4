"""A model that reads the ground truth: scores 100% where generator and scorers agree (tests only)."""

from __future__ import annotations

from omnibench.engine.protocols import Emission, OfflineRequest, StreamInfo


class Oracle:
    fps = 1.0
    needs_video = False

    # -- offline --------------------------------------------------------------------------
    def generate(self, request: OfflineRequest) -> str:
        query = request.query
        cls = request.sample.metadata.get("interruption") if request.sample is not None and request.turn else None
        if cls == "followup":
            return query.target
        if cls == "lure":
            return "And the shapes keep moving."
        if query.kind in ("noise", "stop"):
            return ""
        if query.kind == "alert_request":
            window = query.window
            return "yes" if window and window[0] <= request.end <= window[1] else "no"
        return query.target if isinstance(query.target, str) else "Some shapes move around."

    # -- streaming ------------------------------------------------------------------------
    def reset(self, info: StreamInfo) -> None:
        self.sample, self.asked, self.speaking, self.alerted = info.sample, 0, None, False
        self.queue: list[Emission] = []

    def feed(self, t: float, frame) -> None:
        pass

    def ask(self, t: float, query) -> None:
        turn = self.asked
        self.asked += 1
        cls = self.sample.metadata.get("interruption") if turn else None   # interruption tasks: what it is
        if cls == "followup":
            self.queue.append(Emission(query.target, turn=turn, done=True))
        elif cls in ("noise", "lure"):
            pass
        elif query.kind == "stop":
            self.speaking = None
        elif query.kind == "question":
            if isinstance(query.target, str):
                self.queue.append(Emission(query.target, turn=turn, done=True))
            else:  # an open request: a long answer, one word per poll, until told to stop
                self.speaking = (turn, "There is a square and a circle and they move slowly across".split())

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
