"""`replay`: plays back predictions made elsewhere, so they are scored here like any run.

Two file formats, one JSON object per line (a file holding one JSON list is read too):
- omnibench: {"sample_id", "turn", "text"} or {"sample_id", "alerts": [seconds, ...]}, optional "task".
- omnimmi: the reference's own prediction files `{task}_{model}_{chunk}.json`: each line is the
  annotation record plus "pred" (SG/MD: a "pred" in each qa entry, missing = ""; PA: a list of
  alert times, or one number in older files; PT: the reply text, or 1 = silent / 0 = replied as
  its online inference writes). Records are shuffled, so they are matched to samples by content:
  video plus the question(s) (PT: the final human turn), and by task when the file name says it.

Lines are JSON, or a Python-literal-looking dict read by a small parser here (the reference
eval()s them; nothing is evaluated). Reference PA numbers come out exactly with the PA task's
`alert_time=claimed`: each alert carries its stored time in `refers_to`.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from omnibench.data.schema import Sample
from omnibench.engine.protocols import Emission, OfflineRequest, StreamInfo, UserTurn
from omnibench.errors import ModelError
from omnibench.literal import parse_literal
from omnibench.models._predictions import (
    Format,
    MatchReport,
    Prediction,
    PredictionStore,
    read_records,
)
from omnibench.registry import model

__all__ = ["Format", "MatchReport", "Prediction", "PredictionStore", "Replay", "parse_literal", "read_records"]


def _flag(value: Any) -> bool:
    """A model argument given as text on the command line ("true", "0") or as a bool."""
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")



@model("replay", description="Plays back stored predictions (omnibench JSONL; OmniMMI's, OVO-Bench's or "
                             "StreamingBench's own prediction files)")
class Replay:
    """Answers with the stored prediction of each (task, sample id, turn), offline or streaming; needs no video."""

    needs_video = False
    replays_predictions = True   # its streams replay a loop run elsewhere: live-loop scoring rules skip them

    def __init__(self, path: str, format: Format = "auto", fps: float = 1.0, lenient: bool = False,
                 data_dir: str | None = None, model: str | None = None):
        """`model`: format=streamingbench, the key holding the replies (found when the file has one)."""
        self.store = PredictionStore(path, format, lenient=_flag(lenient), data_dir=data_dir, model=model)
        self.fps = float(fps)

    def match(self, samples: list[Sample]) -> MatchReport:
        return self.store.match(samples)

    @staticmethod
    def _text(pred: Prediction, sample_id: str, turn: int) -> str:
        if turn not in pred.texts:
            raise ModelError(f"replay: prediction {pred.source} has no answer for sample {sample_id} turn {turn}")
        return pred.texts[turn]

    def generate(self, request: OfflineRequest) -> str:
        pred = self.store.find(request.task, request.sample_id)
        if pred.alerts is not None and not pred.texts:
            raise ModelError(f"replay: sample {request.sample_id} has alert times only; run it streaming")
        return self._text(pred, request.sample_id, request.turn)

    def reset(self, info: StreamInfo) -> None:
        self.sample_id, self.duration = info.sample_id, info.duration
        self.pred = self.store.find(info.task, info.sample_id)
        said = self.pred.alert_texts or ["alert"] * len(self.pred.alerts or [])
        self.alerts = deque(zip(self.pred.alerts or [], said))
        self.kinds: list[str] = []                  # the k-th ask is turn k (the runner's contract)
        self.unanswered: list[int] = []

    def feed(self, t: float, frame) -> None:
        pass

    def ask(self, t: float, turn: UserTurn) -> None:
        self.unanswered.append(len(self.kinds))
        self.kinds.append(turn.kind)

    def poll(self, t: float) -> list[Emission]:
        out = []
        for turn in self.unanswered:
            if self.kinds[turn] == "alert_request" and turn not in self.pred.texts:
                continue
            text = self._text(self.pred, self.sample_id, turn)
            if text:
                out.append(Emission(text=text, turn=turn, done=True))
        self.unanswered = []
        # in stored order (the reference scores preds[0] and preds[-1] as given); alerts stored
        # past the stream's end are said at the first poll after it, still carrying their time
        while self.alerts and (self.alerts[0][0] <= t + 1e-9 or t > self.duration + 1e-9):
            at, text = self.alerts.popleft()
            out.append(Emission(text=text, turn=None, done=True, refers_to=at))
        return out
