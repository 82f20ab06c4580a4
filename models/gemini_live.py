"""Gemini Live API as a streaming model (`google-genai` SDK, `client.aio.live.connect`; extra `gemini`).

Frames go in as realtime video input (JPEG, longest side `max_side`) at the adapter's `fps`;
each user turn as realtime text, or as 16 kHz PCM16 audio (the TTS wav, resampled) when
`audio=true`. With `turn_detection=false` the API's automatic activity detection is disabled
and each turn is framed by activityStart / activityEnd. `proactive=true` sets the proactive
audio option, which lets the model leave input not meant for it unanswered.

The Live API does not tie a model turn to a user turn: a model turn that starts while a user
turn waits for its reply answers that turn; any other is unprompted (an alert). `interrupted`
from the server (the user spoke over the model) is recorded as an interruption.

    omnibench run --model gemini_live --model-args model=gemini-live-2.5-flash-preview,proactive=true \
        --tasks synth_pa,noise_rejection,stop_turn --mode realtime

The key comes from `api_key=` or GEMINI_API_KEY / GOOGLE_API_KEY and never reaches a log.
"""

from __future__ import annotations

import os
import time
from typing import Any

from omnibench.errors import ConfigError
from omnibench.models._extras import require_extra
from omnibench.models._live import LiveAdapter
from omnibench.models.openai_realtime import DEFAULT_INSTRUCTIONS
from omnibench.registry import model


@model("gemini_live", description="Gemini Live API over its websocket: realtime video frames, live replies")
class GeminiLive(LiveAdapter):
    sample_rate = 16000

    def __init__(self, model: str = "gemini-live-2.5-flash-preview", api_key: str | None = None,
                 base_url: str | None = None, voice: str | None = None, instructions: str = DEFAULT_INSTRUCTIONS,
                 proactive: bool = False, modalities: str = "text", fps: float = 1.0, max_side: int = 512,
                 audio: bool = False, turn_detection: bool = True, api_version: str | None = None,
                 speed: float = 1.0, send_timeout_s: float = 10.0):
        require_extra("gemini_live", "gemini", "google.genai", "websockets")
        super().__init__(fps=fps, max_side=max_side, audio=audio, speed=speed, send_timeout_s=send_timeout_s)
        if modalities not in ("text", "audio"):
            raise ConfigError(f"gemini_live: modalities must be 'text' or 'audio', got {modalities!r}")
        self.model_name, self.base_url, self.voice, self.api_version = model, base_url, voice, api_version
        self.instructions, self.proactive, self.modalities = instructions, bool(proactive), modalities
        self.turn_detection = bool(turn_detection)
        self._key = api_key or os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
        if not self._key:
            raise ConfigError("gemini_live: no API key; pass api_key=... or set GEMINI_API_KEY")

    def __repr__(self) -> str:  # never the key
        return f"GeminiLive(model={self.model_name!r}, base_url={self.base_url!r})"

    def connect_config(self):
        from google.genai import types

        config: dict = {"response_modalities": [self.modalities.upper()], "system_instruction": self.instructions}
        if self.proactive:
            config["proactivity"] = {"proactive_audio": True}
        if not self.turn_detection:
            config["realtime_input_config"] = {"automatic_activity_detection": {"disabled": True}}
        if self.modalities == "audio":
            config["output_audio_transcription"] = {}
            if self.voice:
                config["speech_config"] = {"voice_config": {"prebuilt_voice_config": {"voice_name": self.voice}}}
        return types.LiveConnectConfig(**config)

    async def _open(self) -> None:
        from google import genai
        from google.genai import types

        options: dict[str, Any] = {k: v for k, v in (("base_url", self.base_url), ("api_version", self.api_version))
                                   if v}
        client = genai.Client(api_key=self._key, http_options=types.HttpOptions(**options) if options else None)
        self._manager: Any = client.aio.live.connect(model=self.model_name, config=self.connect_config())
        self._session = await self._manager.__aenter__()
        self.replying: int | None = None     # the turn the current model turn answers
        self.in_model_turn = False

    async def _close(self) -> None:
        manager = getattr(self, "_manager", None)
        if manager is not None:
            self._manager = None
            await manager.__aexit__(None, None, None)

    async def _send_frame(self, jpeg: bytes) -> None:
        from google.genai import types

        await self._session.send_realtime_input(video=types.Blob(data=jpeg, mime_type="image/jpeg"))
        self.count(frames=1)

    async def _send_turn(self, turn: int) -> None:
        from google.genai import types

        if not self.turn_detection:
            await self._session.send_realtime_input(activity_start=types.ActivityStart())
        pcm = self.spoken(turn)
        if pcm is not None:
            await self._session.send_realtime_input(audio=types.Blob(data=pcm, mime_type="audio/pcm;rate=16000"))
            if self.turn_detection:
                await self._session.send_realtime_input(audio_stream_end=True)
        else:
            await self._session.send_realtime_input(text=self.turns[turn].text)
        if not self.turn_detection:
            await self._session.send_realtime_input(activity_end=types.ActivityEnd())

    async def _receive(self) -> None:
        while True:
            async for message in self._session.receive():
                self._handle(message)
            if self._session is None:
                return

    def _handle(self, message) -> None:
        if message.usage_metadata is not None:
            u = message.usage_metadata
            self.count(input_tokens=u.prompt_token_count, output_tokens=u.response_token_count,
                       total_tokens=u.total_token_count, responses=1)
        if message.go_away is not None:
            self.count(go_away=1)
        content = message.server_content
        if content is None:
            return
        text = "".join(p.text or "" for p in (content.model_turn.parts or [])) if content.model_turn else ""
        if content.output_transcription is not None and content.output_transcription.text:
            text += content.output_transcription.text
        if text:
            if not self.in_model_turn:
                self.in_model_turn = True
                self.replying = self.waiting.pop() if self.waiting else None
                self.waiting.clear()       # earlier unanswered turns were passed over
            self.emit(text, self.replying, done=False)
        if content.interrupted:
            self.interruptions.append(time.perf_counter())
        if content.turn_complete or content.interrupted:
            if self.in_model_turn:
                self.emit("", self.replying, done=True)
            self.in_model_turn, self.replying = False, None
