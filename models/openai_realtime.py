"""OpenAI Realtime API as a streaming model (`openai` SDK, `client.realtime.connect`; extra `realtime`).

Each frame goes onto the conversation as a user message with one `input_image` (JPEG, longest
side `max_side`) at the adapter's `fps`. Each user turn is a message with `input_text`, or with
`input_audio` (the TTS wav as 24 kHz PCM16) when `audio=true`, followed by `response.create`
whose `metadata.turn` ties the reply to the turn; a response without that metadata (the server's
own turn detection, or the model speaking up) is unprompted unless it follows a turn the server
committed. With `turn_detection=true` spoken turns go through `input_audio_buffer.append` and
the server's VAD decides when to answer. A turn spoken while a response runs cancels it first
(`interrupt=true`, what server VAD's `interrupt_response` does) or waits for it to end.

    omnibench run --model openai_realtime --model-args model=gpt-realtime,fps=1 \
        --tasks synth_pa,noise_rejection,stop_turn --mode realtime

The key comes from `api_key=` or OPENAI_API_KEY and never reaches a log.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from omnibench.errors import ConfigError
from omnibench.models._extras import require_extra
from omnibench.models._live import LiveAdapter, rate_limited
from omnibench.registry import model

DEFAULT_INSTRUCTIONS = ("You are watching a live video with the user. Answer briefly when the user asks you "
                        "something. When the user asks to be told about an event, say so the moment you see "
                        "it. Stay silent when a remark is not meant for you, and stop when told to stop.")


@model("openai_realtime", description="OpenAI Realtime API over its websocket: frames as images, live replies")
class OpenAIRealtime(LiveAdapter):
    # Any: the wire events go out as plain dicts and come in read by their `type`, not the SDK's unions
    _conn: Any = None

    def __init__(self, model: str = "gpt-realtime", api_key: str | None = None, base_url: str | None = None,
                 voice: str | None = None, instructions: str = DEFAULT_INSTRUCTIONS, modalities: str = "text",
                 fps: float = 1.0, max_side: int = 512, audio: bool = False, turn_detection: bool = False,
                 interrupt: bool = True, speed: float = 1.0, send_timeout_s: float = 10.0):
        require_extra("openai_realtime", "realtime", "openai", "websockets")
        super().__init__(fps=fps, max_side=max_side, audio=audio, speed=speed, send_timeout_s=send_timeout_s)
        if modalities not in ("text", "audio"):
            raise ConfigError(f"openai_realtime: modalities must be 'text' or 'audio', got {modalities!r}")
        self.model_name, self.base_url, self.voice = model, base_url, voice
        self.instructions, self.modalities = instructions, modalities
        self.turn_detection, self.interrupt = bool(turn_detection), bool(interrupt)
        self._key = api_key or os.environ.get("OPENAI_API_KEY")
        if not self._key:
            raise ConfigError("openai_realtime: no API key; pass api_key=... or set OPENAI_API_KEY")

    def __repr__(self) -> str:  # never the key
        return f"OpenAIRealtime(model={self.model_name!r}, base_url={self.base_url!r})"

    def session_config(self) -> dict:
        audio: dict = {"input": {"format": {"type": "audio/pcm", "rate": 24000},
                                 "turn_detection": {"type": "server_vad", "interrupt_response": self.interrupt}
                                 if self.turn_detection else None}}
        if self.voice:
            audio["output"] = {"voice": self.voice}
        return {"type": "realtime", "instructions": self.instructions, "output_modalities": [self.modalities],
                "audio": audio}

    async def _open(self) -> None:
        import openai

        client = openai.AsyncOpenAI(api_key=self._key, base_url=self.base_url, max_retries=0)
        self._conn = await client.realtime.connect(model=self.model_name).enter()
        self.responses: dict[str, int | None] = {}
        self.active: str | None = None
        self.committed: list[int] = []       # spoken turns the server VAD took in, awaiting its response
        self.deferred: list[int] = []        # turns waiting for the running response to end (interrupt=false)
        await self._conn.send({"type": "session.update", "session": self.session_config()})

    async def _close(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            self._conn = None
            await conn.close()

    async def _send_frame(self, jpeg: bytes) -> None:
        url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
        await self._conn.send({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_image", "image_url": url}]}})
        self.count(frames=1)

    async def _send_turn(self, turn: int) -> None:
        if self.active and self.interrupt:
            await self._conn.send({"type": "response.cancel"})
        pcm, text = self.spoken(turn), self.turns[turn].text
        if pcm is not None and self.turn_detection:   # the server's VAD hears it and answers by itself
            step = 24000 * 2 // 2                        # half-second chunks
            for i in range(0, len(pcm), step):
                await self._conn.send({"type": "input_audio_buffer.append",
                                       "audio": base64.b64encode(pcm[i:i + step]).decode()})
            self.committed.append(turn)
            return
        content = ({"type": "input_audio", "audio": base64.b64encode(pcm).decode(), "transcript": text}
                   if pcm is not None else {"type": "input_text", "text": text})
        await self._conn.send({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [content]}})
        if self.active and not self.interrupt:
            self.deferred.append(turn)
            return
        await self._respond(turn)

    async def _respond(self, turn: int) -> None:
        await self._conn.send({"type": "response.create", "response": {"metadata": {"turn": str(turn)}}})

    async def _receive(self) -> None:
        async for event in self._conn:
            kind = getattr(event, "type", "")
            if kind == "response.created":
                self._started(event.response)
            elif kind in ("response.output_text.delta", "response.output_audio_transcript.delta"):
                turn = self.responses.get(event.response_id)
                if event.delta:
                    self.emit(event.delta, turn, done=False)
            elif kind == "response.done":
                await self._finished(event.response)
            elif kind == "input_audio_buffer.speech_started" and self.active:
                self.interruptions.append(self._now())
            elif kind == "error":      # rate limits and quota end the sample; a refused event is counted
                error = event.error
                reason = f"{getattr(error, 'code', None) or getattr(error, 'type', '')}: {error.message}"
                if rate_limited(reason):
                    self.fail(reason)
                    return
                self.count(api_errors=1)

    def _started(self, response) -> None:
        metadata = getattr(response, "metadata", None) or {}
        turn = int(metadata["turn"]) if "turn" in metadata else (self.committed.pop(0) if self.committed else None)
        self.responses[response.id] = turn
        self.active = response.id
        if turn in self.waiting:
            self.waiting.remove(turn)

    async def _finished(self, response) -> None:
        turn = self.responses.get(response.id)
        details = getattr(response, "status_details", None)
        if getattr(response, "status", "") == "failed" and rate_limited(str(details)):
            self.fail(f"response failed: {details}")
        if getattr(response, "status", "") == "cancelled":
            self.interruptions.append(self._now())
        self.emit("", turn, done=True)
        usage = getattr(response, "usage", None)
        if usage is not None:
            details = getattr(usage, "input_token_details", None)
            self.count(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                       total_tokens=usage.total_tokens, responses=1,
                       image_tokens=getattr(details, "image_tokens", 0) if details else 0)
        if self.active == response.id:
            self.active = None
        if self.deferred and self.active is None:
            await self._respond(self.deferred.pop(0))

    @staticmethod
    def _now() -> float:
        import time

        return time.perf_counter()
