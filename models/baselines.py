"""The reference baselines of every leaderboard (and the test suite's mocks)."""

from __future__ import annotations

import hashlib
import random
import re

from omnibench.engine.protocols import Emission, OfflineRequest, StreamInfo, UserTurn
from omnibench.registry import model

_WORD = re.compile(r"[a-z0-9]+")
INTERRUPTION_BOARD = ("synth_noise", "synth_stop", "noise_rejection", "stop_turn")
_QUESTION_WORDS = ("what", "who", "which", "when", "where", "why", "how", "is ", "are ", "does ", "do ", "can ",
                   "could ", "tell ", "describe", "choose", "signal", "notify", "alert", "let me know")


def _rng(seed: int, *parts: object) -> random.Random:
    """Per-sample randomness, so a resumed or sharded run draws the same numbers."""
    key = "|".join(str(p) for p in (seed, *parts))
    return random.Random(int(hashlib.sha256(key.encode()).hexdigest()[:16], 16))


class _Streaming:
    """Shared stream bookkeeping: the k-th ask is turn k."""

    fps = 1.0
    needs_video = True

    def reset(self, info: StreamInfo) -> None:
        self.info = info
        self.turns: list[UserTurn] = []
        self.unanswered: list[int] = []

    def feed(self, t: float, frame) -> None:
        pass

    def ask(self, t: float, turn: UserTurn) -> None:
        self.turns.append(turn)
        self.unanswered.append(len(self.turns) - 1)


@model("silent", description="Never speaks: perfect at staying quiet, zero at everything else", board=True)
class Silent(_Streaming):
    runtime_settings = frozenset({"watch"})     # watch=False: the same answers without decoding (not identity)

    def __init__(self, watch: bool = True):
        self.needs_video = watch   # watch=False skips decoding: same answers, faster

    def generate(self, request: OfflineRequest) -> str:
        return ""

    def poll(self, t: float) -> list[Emission]:
        return []


@model("chatty", description="Answers every turn at once with a fixed text and alerts every second", board=True)
class Chatty(_Streaming):
    runtime_settings = frozenset({"watch"})

    def __init__(self, text: str = "Sure, here is what I see.", every: float = 1.0, watch: bool = True):
        self.text, self.every, self.needs_video = text, every, watch

    def reset(self, info: StreamInfo) -> None:
        super().reset(info)
        self.last_alert = float("-inf")

    def generate(self, request: OfflineRequest) -> str:
        return self.text

    def poll(self, t: float) -> list[Emission]:
        out = [Emission(self.text, turn=i) for i in self.unanswered]
        self.unanswered = []
        if t - self.last_alert + 1e-9 >= self.every:
            self.last_alert = t
            out.append(Emission("alert", turn=None, refers_to=t))
        return out


@model("random", description="Seeded random alerts, random choice from the vocabulary, random yes/no", board=True)
class RandomModel(_Streaming):
    runtime_settings = frozenset({"watch"})

    def __init__(self, seed: int = 0, alert_rate: float = 0.1, watch: bool = True):
        self.seed, self.alert_rate, self.needs_video = seed, alert_rate, watch

    def _answer(self, sample_id: str, turn: int, choices: tuple[str, ...] | None) -> str:
        rng = _rng(self.seed, sample_id, turn)
        if choices:
            return rng.choice(choices)
        return rng.choice(["", "yes", "no"])     # "" = stays silent

    def generate(self, request: OfflineRequest) -> str:
        return self._answer(request.sample_id, request.turn, request.choices)

    def poll(self, t: float) -> list[Emission]:
        out = []
        for i in self.unanswered:
            q = self.turns[i]
            if q.kind != "alert_request":
                text = self._answer(self.info.sample_id, i, q.choices)
                if text:
                    out.append(Emission(text, turn=i))
        self.unanswered = []
        if _rng(self.seed, self.info.sample_id, "alert", round(t, 3)).random() < self.alert_rate:
            out.append(Emission("alert", turn=None, refers_to=t))
        return out


@model("blind", description="Sees no frames: answers from the text alone", board=True)
class Blind:
    needs_video = False
    deterministic = True

    def generate(self, request: OfflineRequest) -> str:
        # from the words alone: a statement (no question mark, no question word) gets no reply
        words = (request.utterance or request.prompt).strip().lower()
        if "?" not in words and not words.startswith(_QUESTION_WORDS):
            return ""
        if request.choices:
            said = set(_WORD.findall(request.prompt.lower()))
            # the choice sharing most words with the question, ties to the first listed
            return max(request.choices, key=lambda c: len(said & set(_WORD.findall(c.lower()))))
        if "yes or no" in request.prompt.lower():
            return "no"
        return "I cannot tell without seeing the video."


class _OneLongAnswer(_Streaming):
    """Answers the first question with a long answer, one word a poll (the first choice offered, when
    there are choices, then words that name none), and treats every later utterance alike."""

    needs_video = False
    words = 60

    def reset(self, info: StreamInfo) -> None:
        super().reset(info)
        self.left: list[str] = []

    def ask(self, t: float, turn: UserTurn) -> None:
        super().ask(t, turn)
        if len(self.turns) == 1:
            lead = [turn.choices[0]] if turn.choices else []
            self.left = [*lead, *(["and", "then", "it", "goes", "on"] * self.words)][: self.words]
        else:
            self.second_utterance()

    def second_utterance(self) -> None:
        pass

    def poll(self, t: float) -> list[Emission]:
        if not self.left:
            return []
        word = self.left.pop(0)
        return [Emission(word + " ", turn=0, done=not self.left)]


@model("never_stop", board=True, board_tasks=INTERRUPTION_BOARD,
       description="Streams a long first answer and ignores every later utterance (stop and lure alike)")
class NeverStop(_OneLongAnswer):
    pass


@model("always_stop", board=True, board_tasks=INTERRUPTION_BOARD,
       description="Streams a long first answer and stops at any later utterance, saying nothing after it")
class AlwaysStop(_OneLongAnswer):
    def second_utterance(self) -> None:
        self.left = []
