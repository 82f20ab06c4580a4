"""The LLM judge client: any OpenAI-compatible chat endpoint, async, bounded, cached.

Settings come from arguments, else the environment: OMNIBENCH_JUDGE_MODEL (default
gpt-4o-2024-08-06, the reference's Azure judge; its OpenAI path used gpt-4-turbo),
OMNIBENCH_JUDGE_BASE_URL, OMNIBENCH_JUDGE_API_KEY (then OPENAI_API_KEY), and
OMNIBENCH_JUDGE_API_VERSION (only for classic Azure deployments: switches to AzureOpenAI with
base_url as the endpoint; Azure's /openai/v1/ endpoint works without it). The API key never
appears in reprs, usage, reasons, logs or exception text. Each call waits `timeout_s` (default
60, OMNIBENCH_JUDGE_TIMEOUT) and is tried `attempts` times (default 5, OMNIBENCH_JUDGE_ATTEMPTS).
`parse`: "strict" (ours) or "reference" (how evaluate.py reads a reply; judge/parse.py).

Differences from the reference judge (evaluations/evaluate.py), on purpose:
- temperature 0 (the reference sends none, i.e. the API default 1.0), so re-runs agree;
  temperature=None sends none (reference mode);
- a reply that cannot be parsed is asked again, then recorded unscored with the reason (the
  reference loops forever for AP/SI and silently drops the turn for SG/MD);
- an empty (or whitespace) prediction is judged no/0 without a call. The reference sends it to
  the judge (a missing SG/MD answer becomes ""), whose answer to an empty prediction is no/0;
  pass judge_empty=True to send it anyway.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from omnibench.errors import JudgeError
from omnibench.sanitize import register_secrets, register_url_secrets
from omnibench.scoring.judge.cache import JudgmentCache, default_cache_path, judgment_key
from omnibench.scoring.judge.parse import PARSE_MODES, ParseMode, VerdictParseError, parse_verdict
from omnibench.scoring.judge.prompts import JudgePrompt, load_prompt

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4o-2024-08-06"
REFERENCE_MODEL = "gpt-4-turbo"     # the reference's OpenAI path (its Azure path used DEFAULT_MODEL)
DEFAULT_TIMEOUT_S, DEFAULT_ATTEMPTS = 60.0, 5
# USD per 1k (prompt, completion) tokens; for the usage estimate only
KNOWN_PRICES_PER_1K: dict[str, tuple[float, float]] = {
    "gpt-4o-2024-08-06": (0.0025, 0.01),
    "gpt-4-turbo": (0.01, 0.03),
    "gpt-4o-mini": (0.00015, 0.0006),
}
_RETRY_STATUS = {408, 409, 429}
_FATAL_STATUS = {401, 403, 404}  # wrong key or model: every call would fail the same way


@dataclass
class Verdict:
    """One judged (question, answer, prediction). pred None = unscored; `reason` says why."""

    pred: bool | None
    score: int | None
    reason: str = ""
    cached: bool = False


class _Secret:
    """Holds the API key; prints as *** everywhere."""

    def __init__(self, value: str | None):
        self._value = value or None

    def reveal(self) -> str | None:
        return self._value

    def scrub(self, text: str) -> str:
        return text.replace(self._value, "***") if self._value and len(self._value) >= 4 else text

    def __repr__(self) -> str:
        return "***" if self._value else "None"

    __str__ = __repr__


class JudgeClient:
    """Judges (question, answer, prediction) triples; see the module docstring for settings."""

    def __init__(self, *, model: str | None = None, base_url: str | None = None, api_key: str | None = None,
                 prompt: str | Path | JudgePrompt = "omnimmi-v1", concurrency: int = 16,
                 max_retries: int | None = None, timeout_s: float | None = None, attempts: int | None = None,
                 parse: ParseMode = "strict", reask_unparsed: bool = True, cache_path: str | Path | None = None, use_cache: bool = True,
                 price_per_1k: tuple[float, float] | None = None, api_version: str | None = None,
                 backoff_s: float = 1.0, max_backoff_s: float = 60.0, judge_empty: bool = False,
                 temperature: float | None = 0.0):
        env = os.environ
        self.model: str = model or env.get("OMNIBENCH_JUDGE_MODEL") or DEFAULT_MODEL
        self.base_url: str | None = base_url or env.get("OMNIBENCH_JUDGE_BASE_URL") or None
        self.api_version = api_version or env.get("OMNIBENCH_JUDGE_API_VERSION") or None
        self._key = _Secret(api_key or env.get("OMNIBENCH_JUDGE_API_KEY") or env.get("OPENAI_API_KEY"))
        register_secrets([self._key.reveal()])   # masked in every text stored (omnibench.sanitize)
        register_url_secrets(self.base_url)      # a password or key inside the URL too
        self.prompt: JudgePrompt = load_prompt(prompt)
        self.prompt_version: str = self.prompt.version
        timeout_s = timeout_s if timeout_s is not None else _env_number("OMNIBENCH_JUDGE_TIMEOUT", DEFAULT_TIMEOUT_S)
        if attempts is None:   # max_retries: the older spelling of attempts - 1
            attempts = max_retries + 1 if max_retries is not None else int(
                _env_number("OMNIBENCH_JUDGE_ATTEMPTS", DEFAULT_ATTEMPTS))
        if concurrency < 1 or attempts < 1 or not timeout_s > 0 or parse not in PARSE_MODES:
            raise JudgeError("judge settings: concurrency >= 1, attempts >= 1, timeout > 0 and parse strict|reference "
                             "are required")
        self.concurrency, self.max_retries, self.timeout_s = concurrency, attempts - 1, float(timeout_s)
        self.parse = parse
        # False: a reply that cannot be read is final (the reference's SG/MD loop drops the turn at once)
        self.reask_unparsed = reask_unparsed
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self.judge_empty = judge_empty
        # judge_progress on stderr, off under --quiet (the CLI sets OMNIBENCH_QUIET for the command)
        self.progress = not os.environ.get("OMNIBENCH_QUIET")
        self.temperature = temperature  # None: send none, so the API default applies (the reference)
        self.price_per_1k = price_per_1k or KNOWN_PRICES_PER_1K.get(self.model)
        self._cache_path = Path(cache_path) if cache_path else default_cache_path()
        self._cache: JudgmentCache | None = None
        self._use_cache = use_cache
        self._usage_lock = threading.Lock()
        self._usage = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "cached_hits": 0,
                       "retries": 0, "unscored": 0, "skipped_empty": 0, "unreachable": 0}
        self._unreachable_reason = ""

    def __repr__(self) -> str:
        return (f"JudgeClient(model={self.model!r}, base_url={self.endpoint!r}, prompt={self.prompt_version!r}, "
                f"concurrency={self.concurrency}, api_key={self._key!r})")

    @property
    def usage(self) -> dict:
        with self._usage_lock:
            out: dict = dict(self._usage)
        cost = None
        if self.price_per_1k:
            cost = round(out["prompt_tokens"] / 1000 * self.price_per_1k[0]
                         + out["completion_tokens"] / 1000 * self.price_per_1k[1], 6)
        out["est_cost_usd"] = cost
        return out

    @property
    def cache(self) -> JudgmentCache | None:
        if self._use_cache and self._cache is None:
            self._cache = JudgmentCache(self._cache_path)
        return self._cache

    @property
    def request_params(self) -> dict:
        """Every parameter of a judge request besides the model and the messages (the cache key holds them)."""
        return {} if self.temperature is None else {"temperature": self.temperature}

    @property
    def endpoint(self) -> str:
        """Where verdicts come from, for messages and the cache key (no userinfo, no secret parameters)."""
        from omnibench.identity import public_url

        where = public_url(self.base_url) or "https://api.openai.com/v1"
        return f"{where} (Azure api-version {self.api_version})" if self.api_version else where

    def key(self, question: str, answer: str, prediction: str) -> str:
        """A verdict is another judgment when any of these differ: endpoint, model, the prompt's text,
        the request's parameters, how the reply is read, or the item judged."""
        reading = {**self.request_params, "parse": self.parse}      # another reading of a reply, another verdict
        return judgment_key(self.endpoint, self.model, self.prompt.sha256, reading, question, answer, prediction)

    def unreachable(self) -> str | None:
        """Why judge calls got no reply (connection refused, timeouts), or None when every call was answered."""
        with self._usage_lock:
            lost, reason = self._usage["unreachable"], self._unreachable_reason
        return f"judge {self.model} at {self.endpoint} could not be reached for {lost} item(s): {reason}" if lost else None

    # --- entry points ----------------------------------------------------------------------
    def judge_many(self, items: list[tuple[str, str, str]]) -> list[Verdict]:
        """Verdicts for (question, answer, prediction) triples, in order. Runs its own event loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.ajudge_many(items))
        # called from inside an event loop (a notebook): run ours on a helper thread
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self.ajudge_many(items)).result()

    async def ajudge_many(self, items: list[tuple[str, str, str]]) -> list[Verdict]:
        items = [(str(q), str(a), "" if p is None else str(p)) for q, a, p in items]
        keys = [self.key(*item) for item in items]
        verdicts: dict[str, Verdict] = {}
        for key, (_, _, prediction) in zip(keys, items):
            if not prediction.strip() and not self.judge_empty:
                verdicts[key] = Verdict(False, 0, reason="empty prediction: judged no/0 without a call")
        self._count("skipped_empty", sum(1 for k in keys if k in verdicts))
        cache = self.cache
        if cache is not None:
            for key, (pred, score) in cache.get_many(k for k in keys if k not in verdicts).items():
                verdicts[key] = Verdict(pred, score, cached=True)
            self._count("cached_hits", sum(1 for k in keys if verdicts.get(k, Verdict(None, None)).cached))
        pending = {k: item for k, item in zip(keys, items) if k not in verdicts}  # duplicates judged once
        if pending:
            verdicts.update(await self._judge_pending(pending))
        return [verdicts[k] for k in keys]

    # --- the calls -------------------------------------------------------------------------
    async def _judge_pending(self, pending: dict[str, tuple[str, str, str]]) -> dict[str, Verdict]:
        client = self._async_openai()
        gate = asyncio.Semaphore(self.concurrency)
        bar = judge_progress(len(pending), self.model, enabled=self.progress)

        async def one(key: str, item: tuple[str, str, str]) -> tuple[str, Verdict]:
            async with gate:
                verdict = await self._judge_one(client, item)
            bar.update(1)
            if verdict.pred is None:
                self._count("unscored", 1)
            elif self.cache is not None and verdict.score is not None:
                self.cache.put_many([(key, verdict.pred, verdict.score, self.model, self.prompt_version)])
            return key, verdict

        try:
            done = await asyncio.gather(*(one(k, item) for k, item in pending.items()))
        finally:
            bar.close()
            await client.close()
        return dict(done)

    async def _judge_one(self, client, item: tuple[str, str, str]) -> Verdict:
        import openai

        messages = self.prompt.messages(*item)
        reason = ""
        no_reply = False                  # the last attempt got no HTTP reply at all
        delay = 0.0
        for attempt in range(self.max_retries + 1):
            if attempt:
                self._count("retries", 1)
                log.debug("judge retry %d in %.2fs: %s", attempt, delay, reason)
                await asyncio.sleep(delay)
            delay = self._backoff(attempt)
            self._count("requests", 1)
            no_reply = False
            try:
                reply = await client.chat.completions.create(model=self.model, messages=messages,
                                                             **self.request_params)
            except openai.APIStatusError as exc:
                status = exc.status_code
                message = self._key.scrub(str(getattr(exc, "message", exc)))
                if status in _FATAL_STATUS:
                    raise JudgeError(f"judge {self.model} at {self.endpoint} refused the "
                                     f"request (HTTP {status}): {message}; check the judge model, base URL and "
                                     "API key (OMNIBENCH_JUDGE_*)") from None
                if status in _RETRY_STATUS or status >= 500:
                    reason = f"HTTP {status} from the judge"
                    delay = self._retry_after(exc.response.headers, attempt)
                    continue
                return Verdict(None, None, reason=f"judge rejected the request (HTTP {status}): {message}")
            except openai.APITimeoutError:
                reason, no_reply = f"judge timed out after {self.timeout_s:g}s", True
                continue
            except openai.APIConnectionError as exc:
                reason, no_reply = f"cannot reach the judge: {self._key.scrub(str(exc.__cause__ or exc))}", True
                continue
            except (openai.OpenAIError, ValueError) as exc:  # e.g. a 200 whose body is not JSON
                reason = f"unusable judge response: {self._key.scrub(str(exc))[:200]}"
                continue
            self._record_tokens(reply)
            try:
                text = reply.choices[0].message.content if getattr(reply, "choices", None) else None
                pred, score = parse_verdict(text if isinstance(text, str) else None, self.parse)
            except VerdictParseError as exc:
                reason = str(exc)
                if not self.reask_unparsed:
                    return Verdict(None, None, reason=f"unscored (not asked again): {reason}")
                continue
            except (AttributeError, IndexError, TypeError):  # body parsed into something odd
                reason = f"unusable judge response: {str(reply)[:200]!r}"
                continue
            return Verdict(pred, score)
        if no_reply:
            with self._usage_lock:
                self._usage["unreachable"] += 1
                self._unreachable_reason = reason
        return Verdict(None, None, reason=f"unscored after {self.max_retries + 1} attempts: {reason}")

    def _async_openai(self):
        key = self._key.reveal()
        if not key and not self.base_url:
            raise JudgeError("no judge API key: set OMNIBENCH_JUDGE_API_KEY (or OPENAI_API_KEY), or point "
                             "OMNIBENCH_JUDGE_BASE_URL at a server that needs none")
        import openai

        common = {"api_key": key or "EMPTY", "timeout": self.timeout_s, "max_retries": 0}  # we retry ourselves
        if self.api_version:
            return openai.AsyncAzureOpenAI(azure_endpoint=self.base_url, api_version=self.api_version, **common)
        return openai.AsyncOpenAI(base_url=self.base_url, **common)

    # --- helpers ---------------------------------------------------------------------------
    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * 2 ** attempt) * random.uniform(0.75, 1.0)

    def _retry_after(self, headers, attempt: int) -> float:
        """The server's Retry-After (seconds, milliseconds or an HTTP date), else our backoff."""
        try:
            if headers.get("retry-after-ms"):
                return min(self.max_backoff_s, float(headers["retry-after-ms"]) / 1000)
            value = headers.get("retry-after")
            if value:
                try:
                    seconds = float(value)
                except ValueError:
                    seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
                return min(self.max_backoff_s, max(0.0, seconds))
        except (TypeError, ValueError, OverflowError):
            pass
        return self._backoff(attempt)

    def _record_tokens(self, reply) -> None:
        usage = getattr(reply, "usage", None)
        if usage is not None:
            self._count("prompt_tokens", int(getattr(usage, "prompt_tokens", 0) or 0))
            self._count("completion_tokens", int(getattr(usage, "completion_tokens", 0) or 0))

    def _count(self, name: str, n: int) -> None:
        with self._usage_lock:
            self._usage[name] += n

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None


def _env_number(name: str, default: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise JudgeError(f"{name}={text!r} is not a number") from None


def judge_progress(total: int, model: str, *, enabled: bool = True):
    """Judge scoring is otherwise a long silence: a bar on a terminal, else one line."""
    from omnibench.progress import progress

    return progress(total, f"judge {model}", unit="call", enabled=enabled)
