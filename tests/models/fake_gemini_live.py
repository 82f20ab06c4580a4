"""A local Gemini Live API server for tests (websockets over TLS on 127.0.0.1), scripted by `Script`.

google-genai with an API key always dials `wss://<base_url host>/ws/google.ai.generativelanguage.
<version>.GenerativeService.BidiGenerateContent`, so the fake serves TLS with a self-signed
certificate for 127.0.0.1; point SSL_CERT_FILE at `server.cert_file` before building the client
(the SDK reads that variable), and the SDK connects unmodified. Protocol copied from the API
reference: the first message is `setup` (answered by `setupComplete`), then `realtimeInput`
(`video` / `audio` blobs, `text`, `activityStart` / `activityEnd`, `audioStreamEnd`); replies are
`serverContent` with `modelTurn.parts[].text` (or `outputTranscription` for audio output),
`turnComplete`, `interrupted`, and `usageMetadata`. New user input while the model speaks
interrupts it, except that with `proactivity.proactiveAudio` a remark not meant for the model
is passed over silently. A rate-limited session is closed with code 1011 and a quota reason,
as the API does.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import ssl
import tempfile
import time
from pathlib import Path

from tests.models.live_script import LocalServer, Script, tokens


def self_signed(directory: Path) -> tuple[Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def field(message: dict, camel: str):
    """A field under its lowerCamel or snake_case name: proto JSON accepts both, and the SDK sends both."""
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return message.get(camel, message.get(snake))


def b64(data: str) -> bytes:
    """Standard or URL-safe base64 (proto JSON accepts both; the SDK sends URL-safe)."""
    data = data.replace("-", "+").replace("_", "/")
    return base64.b64decode(data + "=" * (-len(data) % 4))


class FakeGeminiLive(LocalServer):
    name = "fake gemini live server"

    def __init__(self, script: Script | None = None, max_seconds: float = 60.0):
        super().__init__(max_seconds)
        self.script = script or Script()
        self.connections, self.frames, self.dropped = 0, 0, False
        self.setups: list[dict] = []
        self.paths: list[str] = []
        self.audio_bytes: list[tuple[str, int]] = []
        self._dir = Path(tempfile.mkdtemp(prefix="fake-gemini-"))
        self.cert_file, self._key_file = self_signed(self._dir)

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _ssl(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self._key_file)
        return context

    async def _session(self, ws) -> None:
        self.connections += 1
        self.paths.append(ws.request.path)
        setup = json.loads(await ws.recv())["setup"]
        self.setups.append(setup)
        if self.script.rate_limit:
            await ws.close(1011, "RESOURCE_EXHAUSTED: You exceeded your current quota")
            return
        await ws.send(json.dumps({"setupComplete": {}}))
        audio_out = field(field(setup, "generationConfig") or {}, "responseModalities") == ["AUDIO"]
        state = {"task": None, "red": False, "proactive": bool(field(field(setup, "proactivity") or {}, "proactiveAudio")),
                 "audio_out": audio_out, "heard": ""}
        async for raw in ws:
            message = json.loads(raw)
            self.script.log.append(message)
            realtime = field(message, "realtimeInput") or {}
            if "video" in realtime:
                if await self._frame(ws, b64(realtime["video"]["data"]), state):
                    return
            elif "text" in realtime:
                await self._user(ws, realtime["text"], state)
            elif "audio" in realtime:
                blob = realtime["audio"]
                self.audio_bytes.append((field(blob, "mimeType"), len(b64(blob["data"]))))
                await self._user(ws, "", state, spoken=True)

    async def _frame(self, ws, jpeg: bytes, state) -> bool:
        self.frames += 1
        red = self.script.shows_alert_colour(jpeg)
        if red and not state["red"] and not self._speaking(state):
            self._speak(ws, state, self.script.alert_text)
        state["red"] = red
        if self.script.drop_after_frames and self.frames >= self.script.drop_after_frames and not self.dropped:
            self.dropped = True
            ws.transport.abort()
            return True
        return False

    async def _user(self, ws, text: str, state, spoken: bool = False) -> None:
        kind = "question" if spoken else self.script.kind(text)
        state["heard"] = text
        if kind == "remark" and state["proactive"]:
            return                                   # proactive audio: not meant for the model, passed over
        if self._speaking(state):
            state["task"].cancel()
            await ws.send(json.dumps({"serverContent": {"interrupted": True}}))
        if kind == "stop":
            return
        self._speak(ws, state, self.script.reply(text) if kind == "question" else "Okay.")

    @staticmethod
    def _speaking(state) -> bool:
        return state["task"] is not None and not state["task"].done()

    def _speak(self, ws, state, text: str) -> None:
        state["task"] = asyncio.ensure_future(self._turn(ws, state, text))

    async def _turn(self, ws, state, text: str) -> None:
        try:
            await self._say(ws, state, text)
        except Exception:       # the client went away mid-turn
            pass

    async def _say(self, ws, state, text: str) -> None:
        await asyncio.sleep(self.script.answer_delay_s)
        said = []
        for k, word in enumerate(text.split()):
            piece = ("" if k == 0 else " ") + word
            said.append(word)
            content = ({"outputTranscription": {"text": piece}} if state["audio_out"]
                       else {"modelTurn": {"role": "model", "parts": [{"text": piece}]}})
            await ws.send(json.dumps({"serverContent": content}))
            await asyncio.sleep(self.script.word_s)
        await ws.send(json.dumps({"serverContent": {"generationComplete": True}}))
        await ws.send(json.dumps({"serverContent": {"turnComplete": True}}))
        prompt = self.frames * self.script.image_tokens + tokens(state["heard"])
        out = tokens(" ".join(said))
        await ws.send(json.dumps({"usageMetadata": {"promptTokenCount": prompt, "responseTokenCount": out,
                                                    "totalTokenCount": prompt + out}}))
        self.script.log.append({"type": "fake.turn", "at": time.perf_counter(), "said": " ".join(said)})
