"""StreamSession: M4 watching a video at 1 fps, answering token by token, alerting on its own.

One KV cache holds the prefix (system + frames seen so far). A question opens a channel on top of
it through the MultiplexDecoder; answers advance a few tokens per poll, so a later turn (noise,
stop or a new question) lands mid-answer. Frames that arrive while an answer is being spoken are
held back and appended when the turn ends (the channels are cropped off first). An alert request
installs a HighlightSpotter that scores every appended frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from omnibench.m4.inference.spotter import Alert, HighlightSpotter
from omnibench.m4.model.modeling import new_cache


@dataclass(frozen=True)
class StreamOutput:
    text: str                    # a delta of the answer to `turn`
    turn: int | None             # None: an unprompted alert
    done: bool = True
    refers_to: float | None = None


@dataclass
class _Answer:
    turn: int
    tokens: list[int] = field(default_factory=list)
    sent: str = ""


class StreamSession:
    def __init__(self, pipeline: Any, *, tokens_per_poll: int = 16, temperature: float = 0.0,
                 seed: int | None = None, judge_idle_turns: bool = True, max_new_tokens: int | None = None):
        self.pipeline = pipeline
        self.model, self.chat = pipeline.model, pipeline.chat
        self.tokens_per_poll = tokens_per_poll
        self.judge_idle_turns = judge_idle_turns     # a turn arriving in silence takes the noise test too
        self.decoder = pipeline.decoder(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
        self.reset()

    def reset(self) -> None:
        self.cache = new_cache(self.model)
        head = self.chat.head_ids
        self.model.forward_embeds(self.model.embed(head), self.cache)
        self.frames_start = len(head)
        self.frame_times: list[float] = []
        self.held: list[tuple[float, torch.Tensor]] = []
        self.pending: list[tuple[int, str, Any]] = []
        self.outputs: list[StreamOutput] = []
        self.spotter: HighlightSpotter | None = None
        self.current: _Answer | None = None
        self.decoder.attach(self.cache, self.prefix_len)

    @property
    def prefix_len(self) -> int:
        return self.frames_start + len(self.frame_times) * self.model.tokens_per_frame

    # the protocol, in M4's own terms ------------------------------------------------------------
    def feed(self, t: float, frame: Any) -> None:
        embeds = self.pipeline.frame_embeddings([frame])
        if self.current is not None:
            self.held.append((t, embeds))
        else:
            self._append_frame(t, embeds)

    def ask(self, turn: int, text: str, *, alert_request: bool = False, speech: Any = None) -> None:
        """A user turn; `speech` (a 16 kHz waveform, audio model only) replaces the text as the query.
        The spotter reads the alert request as text, or as text plus its speech (`spoken_query`)."""
        if alert_request:
            settings = self.model.config.spotter
            self.spotter = HighlightSpotter(self.model, self.chat, settings)
            heard = self.pipeline.speech_embeddings(speech) if settings.spoken_query and speech is not None else None
            self.spotter.set_query(text, heard)
        else:
            self.pending.append((turn, text, speech))

    def poll(self) -> list[StreamOutput]:
        out, self.outputs = self.outputs, []
        for turn, text, speech in self.pending:
            out += self._insert(turn, text, speech)
        self.pending = []
        if self.current is not None:
            out += self._advance()
        return out

    # internals --------------------------------------------------------------------------------
    def _append_frame(self, t: float, embeds: torch.Tensor) -> None:
        alert: Alert | None = None
        if self.spotter is not None:
            alert = self.spotter.step(self.cache, embeds, self.frames_start, len(self.frame_times))
        else:
            self.model.forward_embeds(embeds.view(1, -1, embeds.shape[-1]), self.cache)
        self.frame_times.append(t)
        self.decoder.attach(self.cache, self.prefix_len)
        if alert is not None:
            spoken = self._speak_alert(alert)
            # reference quirk (drop_second_zero): the OmniMMI PA loop discards claims with int(t) == 0
            if not (self.spotter.settings.drop_second_zero and int(spoken.refers_to) == 0):
                self.outputs.append(spoken)

    def _speak_alert(self, alert: Alert) -> StreamOutput:
        """The response after an alert: a short answer to the alert query, from the cache."""
        self.decoder.ask(self.spotter.query, force="query")
        tokens = self.decoder.generate(limit=self.spotter.settings.response_tokens)
        self.decoder.end_turn()
        return StreamOutput(self.chat.decode(tokens), None, True, self.frame_times[alert.frame])

    def _insert(self, turn: int, text: str, speech: Any = None) -> list[StreamOutput]:
        force = None if (self.current is not None or self.judge_idle_turns) else "query"
        decision = self.decoder.ask(self._channel_opening(text, speech), force=force)
        if decision.kind == "noise":
            return []
        out: list[StreamOutput] = []
        if self.current is not None:          # interrupted: the old answer ends where it was
            out.append(StreamOutput(self._delta(final=True), self.current.turn, True))
            self.current = None
        if decision.kind == "query":
            self.current = _Answer(turn)
        else:
            self._flush_held()
        return out

    def _channel_opening(self, text: str, speech: Any) -> list[int] | torch.Tensor:
        if speech is not None:
            return self.pipeline.spoken_query(speech)
        if self.current is not None and self.model.config.interruption_prompt == "chatml":
            return self.chat.chatml_turn_ids(text)      # an interruption as a prompt of its own (M4's demo)
        return self.chat.query_ids(text)

    def _advance(self) -> list[StreamOutput]:
        answer = self.current
        finished = False
        for _ in range(self.tokens_per_poll):
            token = self.decoder.step()
            if token is None:
                finished = True
                break
            answer.tokens.append(token)
        delta = self._delta(final=finished)
        if finished:
            self.current = None
            self._flush_held()
            return [StreamOutput(delta, answer.turn, True), *self._take_outputs()]
        return [StreamOutput(delta, answer.turn, False)] if delta else []

    def _delta(self, final: bool) -> str:
        answer = self.current
        text = self.chat.decode(answer.tokens)
        if not final:
            text = text.rstrip("\ufffd")        # hold back a half-decoded multi-byte character
        delta = text[len(answer.sent):] if text.startswith(answer.sent) else text
        answer.sent = text
        return delta

    def _flush_held(self) -> None:
        self.decoder.end_turn()
        held, self.held = self.held, []
        for t, embeds in held:
            self._append_frame(t, embeds)

    def _take_outputs(self) -> list[StreamOutput]:
        out, self.outputs = self.outputs, []
        return out
