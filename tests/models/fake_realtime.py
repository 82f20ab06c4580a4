"""A local OpenAI Realtime API server for tests (websockets on 127.0.0.1), scripted by `Script`.

Speaks the documented GA event schema closely enough that `openai.AsyncOpenAI(base_url=...)`
`.realtime.connect()` talks to it unmodified: `session.created` on connect, `session.update` ->
`session.updated`, `conversation.item.create` -> `conversation.item.added` (input_image,
input_text, input_audio), `response.create` -> `response.created`, `response.output_text.delta`
(or `response.output_audio_transcript.delta` for audio output), `response.done` with usage and
the request's metadata; `response.cancel` -> `response.done` status `cancelled`; a second
`response.create` while one runs -> `error` `conversation_already_has_active_response`, as the
real API answers. A red frame starts an unprompted response (no metadata).

    with FakeRealtime(Script()) as server:
        adapter = OpenAIRealtime(base_url=server.base_url, api_key="test")
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
from urllib.parse import parse_qs, urlparse

from tests.models.live_script import LocalServer, Script, tokens

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):06d}"


class FakeRealtime(LocalServer):
    name = "fake realtime server"

    def __init__(self, script: Script | None = None, max_seconds: float = 60.0):
        super().__init__(max_seconds)
        self.script = script or Script()
        self.connections = 0
        self.dropped = False
        self.frames = 0
        self.headers: list[dict] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _session(self, ws) -> None:
        self.connections += 1
        request = ws.request
        self.headers.append({"path": urlparse(request.path).path, "query": parse_qs(urlparse(request.path).query),
                             "authorization": request.headers.get("Authorization", "")})
        state = {"modalities": ["audio"], "active": None, "last_user": "", "metadata": None}
        send = lambda event: ws.send(json.dumps({"event_id": _id("event"), **event}))  # noqa: E731
        await send({"type": "session.created", "session": {"type": "realtime", "id": _id("sess"),
                                                           "object": "realtime.session"}})
        async for raw in ws:
            event = json.loads(raw)
            self.script.log.append(event)
            kind = event.get("type")
            if kind == "session.update":
                state["modalities"] = event["session"].get("output_modalities") or ["audio"]
                await send({"type": "session.updated", "session": event["session"]})
            elif kind == "conversation.item.create":
                item = {**event["item"], "id": event["item"].get("id") or _id("item"), "status": "completed"}
                await send({"type": "conversation.item.added", "previous_item_id": None, "item": item})
                for part in item.get("content", []):
                    if part["type"] in ("input_text", "input_audio"):
                        state["last_user"] = part.get("text") or part.get("transcript") or ""
                    if part["type"] == "input_image" and await self._frame(ws, part, state, send):
                        return
            elif kind == "response.create":
                if state["active"] is not None:
                    await send({"type": "error", "error": {"type": "invalid_request_error",
                                                           "code": "conversation_already_has_active_response",
                                                           "message": "Conversation already has an active response"}})
                    continue
                if self.script.rate_limit:
                    await send({"type": "error", "error": {"type": "rate_limit_error", "code": "rate_limit_exceeded",
                                                           "message": "Rate limit reached for requests"}})
                    continue
                metadata = (event.get("response") or {}).get("metadata")
                text = state["last_user"]
                kind_of = self.script.kind(text)
                reply = self.script.reply(text) if kind_of == "question" else ""
                self._start(state, send, reply, metadata)
            elif kind == "response.cancel" and state["active"] is not None:
                _, task = state["active"]
                state["active"] = None         # in order: the next event finds no active response
                task.cancel()
            elif kind == "input_audio_buffer.append":
                await send({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": _id("item")})

    async def _frame(self, ws, part, state, send) -> bool:
        self.frames += 1
        jpeg = base64.b64decode(part["image_url"].split(",", 1)[1])
        red = self.script.shows_alert_colour(jpeg)
        if red and not state.get("red") and state["active"] is None:
            self._start(state, send, self.script.alert_text, None)
        state["red"] = red
        if self.script.drop_after_frames and self.frames >= self.script.drop_after_frames and not self.dropped:
            self.dropped = True
            ws.transport.abort()           # an abrupt drop, as a lost network gives
            return True
        return False

    def _start(self, state, send, text: str, metadata) -> None:
        response_id = _id("resp")
        task = asyncio.ensure_future(self._respond(state, send, response_id, text, metadata))
        state["active"] = (response_id, task)

    async def _respond(self, state, send, response_id: str, text: str, metadata) -> None:
        audio = state["modalities"] == ["audio"]
        delta_type = "response.output_audio_transcript.delta" if audio else "response.output_text.delta"
        base = {"id": response_id, "object": "realtime.response", "metadata": metadata,
                "output_modalities": state["modalities"]}
        status, said = "completed", []
        try:
            await send({"type": "response.created", "response": {**base, "status": "in_progress", "output": []}})
            await asyncio.sleep(self.script.answer_delay_s)
            item_id = _id("item")
            for k, word in enumerate(text.split()):
                said.append(word)
                await send({"type": delta_type, "response_id": response_id, "item_id": item_id, "output_index": 0,
                            "content_index": 0, "delta": ("" if k == 0 else " ") + word})
                await asyncio.sleep(self.script.word_s)
        except asyncio.CancelledError:
            status = "cancelled"
        except Exception:               # the client went away mid-answer
            return
        finally:
            if state["active"] is not None and state["active"][0] == response_id:
                state["active"] = None
        frames_in = self.frames
        usage = {"total_tokens": 0, "input_tokens": frames_in * self.script.image_tokens + tokens(state["last_user"]),
                 "output_tokens": tokens(" ".join(said)),
                 "input_token_details": {"image_tokens": frames_in * self.script.image_tokens,
                                         "text_tokens": tokens(state["last_user"]), "cached_tokens": 0}}
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        try:
            await send({"type": "response.done", "response": {**base, "status": status, "output": [],
                                                              "usage": usage}})
        except Exception:
            pass
        self.script.log.append({"type": "fake.response", "status": status, "at": time.perf_counter(),
                                "said": " ".join(said)})
