"""A local OpenAI-compatible chat server for tests and benchmarks (stdlib only, 127.0.0.1).

    with FakeOpenAI(handler=lambda body: '{"pred": "yes", "score": 5}') as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test")
        ...
        assert server.count == 1

`handler(request_json)` returns the reply text, or a `FakeReply` to send something else: an HTTP
error (`FakeReply(status=429, headers={"Retry-After": "1"})`), a raw body that is not a chat
completion (`FakeReply(body="<html>garbage")`), or a slow reply (`FakeReply(text=..., delay_s=5)`).
A handler that raises makes a 500. `delay_s` delays every reply (for timeouts and concurrency).
`batch_step_s` serves chat requests as a continuous-batching engine does (vLLM, SGLang): at each
step every request waiting joins one batch, the step takes that long whatever the batch size, and
`batches` lists the sizes.
The server runs in a daemon thread and is shut down on exit; `stop()` is idempotent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeReply:
    """What the server sends back: a chat reply `text` (status 200), or an error / raw `body`."""

    text: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str | bytes | None = None  # sent verbatim when given (garbage, error JSON)
    delay_s: float = 0.0


@dataclass
class ReceivedRequest:
    """One request as received; header names are lower-cased."""

    path: str
    headers: dict[str, str]
    json: Any


Handler = Callable[[Any], "str | FakeReply"]


def _chat_completion(text: str, model: str, prompt_chars: int) -> dict:
    # token counts are rough (chars / 4) but deterministic, so usage accounting can be asserted
    prompt_tokens = max(1, prompt_chars // 4)
    completion_tokens = max(1, len(text) // 4)
    return {
        "id": f"chatcmpl-fake-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
            "logprobs": None,
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class _ThreadingServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # bench opens many connections at once


class FakeOpenAI:
    """OpenAI-compatible `POST /v1/chat/completions` on a random free port of 127.0.0.1."""

    def __init__(self, handler: Handler | None = None, delay_s: float = 0.0, batch_step_s: float = 0.0):
        self.handler: Handler = handler or (lambda body: '{"pred": "yes", "score": 5}')
        self.delay_s = delay_s
        self.batch_step_s = batch_step_s
        self.batches: list[int] = []
        self.requests: list[ReceivedRequest] = []
        self._lock = threading.Lock()
        self._server: _ThreadingServer | None = None
        self._thread: threading.Thread | None = None
        self._waiting: list[threading.Event] = []
        self._batch_cond = threading.Condition()
        self._running = False

    def _schedule(self) -> None:
        """The engine loop: take every waiting request as one batch, run a step, answer them all."""
        while True:
            with self._batch_cond:
                self._batch_cond.wait_for(lambda: self._waiting or not self._running)
                if not self._running:
                    return
                batch, self._waiting = self._waiting, []
            time.sleep(self.batch_step_s)
            self.batches.append(len(batch))
            for done in batch:
                done.set()

    def _join_batch(self) -> None:
        done = threading.Event()
        with self._batch_cond:
            self._waiting.append(done)
            self._batch_cond.notify_all()
        done.wait(30)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        if self._server is not None:
            return self
        fake = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the openai client (httpx) expects
            # one write per reply and no Nagle: split header/body writes meet delayed ACKs (+40 ms)
            wbufsize = -1
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    fake._send(self, 200, json.dumps({"object": "list", "data": []}), {})
                else:
                    fake._send(self, 404, json.dumps({"error": {"message": "not found"}}), {})

        if self.batch_step_s:
            self._running = True
            threading.Thread(target=self._schedule, daemon=True).start()
        self._server = _ThreadingServer(("127.0.0.1", 0), _RequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._batch_cond:
            self._running = False
            self._batch_cond.notify_all()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- views -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not running; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    @property
    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.json for r in self.requests]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    # --- serving ---------------------------------------------------------------------------
    def _handle(self, http: BaseHTTPRequestHandler) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        with self._lock:
            self.requests.append(ReceivedRequest(
                http.path, {k.lower(): v for k, v in http.headers.items()}, body))
        if not http.path.rstrip("/").endswith("/chat/completions"):
            self._send(http, 404, json.dumps({"error": {"message": f"no route {http.path}"}}), {})
            return
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.batch_step_s:
            self._join_batch()
        try:
            reply = self.handler(body)
        except Exception as exc:  # a failing handler is a server error, as in the wild
            self._send(http, 500, json.dumps({"error": {"message": f"handler failed: {exc}"}}), {})
            return
        if isinstance(reply, str):
            reply = FakeReply(text=reply)
        if reply.delay_s:
            time.sleep(reply.delay_s)
        if reply.body is not None:
            payload = reply.body
        elif reply.status != 200:
            payload = json.dumps({"error": {"message": f"fake error {reply.status}",
                                            "type": "fake", "code": str(reply.status)}})
        else:
            model = body.get("model", "fake") if isinstance(body, dict) else "fake"
            prompt_chars = len(json.dumps(body.get("messages", []))) if isinstance(body, dict) else 0
            payload = json.dumps(_chat_completion(reply.text or "", model, prompt_chars))
        self._send(http, reply.status, payload, reply.headers)

    @staticmethod
    def _send(http: BaseHTTPRequestHandler, status: int, payload: str | bytes,
              headers: dict[str, str]) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        try:
            http.send_response(status)
            http.send_header("Content-Type", "application/json")
            http.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                http.send_header(key, value)
            http.end_headers()
            http.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # client gave up (timeout test)
            pass
