"""The one text sanitiser and the one secret rule: every text that reaches disk or the terminal goes through here.

Two things are fixed, never fatal:
- invalid Unicode (lone surrogates such as a truncated emoji `"yes \\ud83d"`, which UTF-8 cannot
  encode) becomes U+FFFD; each replacement is counted (`invalid_unicode_count()`);
- secrets become `***` wherever they appear inside a text: values given to `register_secrets`,
  values of settings `is_secret` names secret (`register_secret_settings`), the environment's
  `*_API_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD` variables (read at each call, so a key set after
  import is still caught), and text shaped like a credential even when nobody registered it (a
  judge, a server or another process may echo what we never saw): `Bearer <token>`, an
  `Authorization: Basic <base64>` header, `sk-...` keys,
  URL userinfo (`http://user:pass@host`), and secret-named assignments (`?api-key=`, `&key=`,
  `token=...` on a command line, `"api_key": "..."` in JSON, an `api-key:` header).

The secret rule (`is_secret`) matches whole setting names (`api_key`, `token`, ...; `-` and `_`
alike), so `max_tokens` or `tokens_per_poll` are settings, not secrets.

API: `is_secret(name)`, `register_secrets(values)`, `register_secret_settings(settings)`,
`scrub(text) -> str`, `clean(obj)` (nested dicts/lists/tuples, keys too), `dump_json(model, **kw)`
(a pydantic model as sanitised JSON text), `scrubbed_terminal()` (stdout and stderr scrubbed while
a command runs).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
MIN_SECRET_LEN = 6              # shorter values ("EMPTY", "1") would mask ordinary words
_SECRET_ENV = re.compile(r"(^|_)(API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD)$", re.I)
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# whole setting names only; "-" and "_" are one character here (api-key, api_key)
SECRET_NAMES = frozenset({
    "api_key", "apikey", "key", "password", "passwd", "token", "secret", "access_token", "auth_token",
    "hf_token", "client_secret", "secret_key", "private_key", "credentials", "authorization", "bearer_token",
    "session_token", "api_token", "x_api_key", "sig", "signature",
})
_NAME = "|".join(sorted((n.replace("_", "[-_]") for n in SECRET_NAMES), key=len, reverse=True))
# credentials nobody registered: shapes (one pass over the text, each kind in its own group)
_Q = r"\\{0,3}[\"']"     # a quote, maybe escaped (a JSON text inside a JSON string): values never take a backslash
_SHAPED = re.compile(
    rf"(?P<bearer>\b(?i:bearer)\s+|(?i:authorization)(?:{_Q})?\s*[:=]\s*(?:{_Q})?(?i:basic)\s+)[A-Za-z0-9._~+/=-]{{8,}}"
    r"|\bsk-[A-Za-z0-9_-]{16,}"
    r"|(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/@?#\"'<>\\]+@"                 # URL userinfo
    rf"|(?P<assign>(?<![\w.-])(?i:{_NAME})=(?:{_Q})?)[^\s,&;\"'<>#\\]+"            # ?api-key=..., token="..."
    rf"|(?P<json>{_Q}(?i:{_NAME}){_Q}\s*:\s*{_Q})[^\"\\]+"                           # "api_key": "..."
    r"|(?P<header>(?<![\w-])(?i:x-api-key|api-key|api_key|apikey):\s*)[^\s\"',;\\]+")


def is_secret(name: str, declared: frozenset[str] | set[str] = frozenset()) -> bool:
    """Whether a setting of this name holds a secret: the default names or `declared` (whole names)."""
    lowered = str(name).lower().replace("-", "_")
    return lowered in SECRET_NAMES or lowered in {d.lower().replace("-", "_") for d in declared}


_lock = threading.Lock()
_registered: set[str] = set()
_invalid = 0


def register_secrets(values: Iterable[Any]) -> None:
    """Mask these values from now on (None, non-strings and short values are ignored)."""
    with _lock:
        for value in values:
            if isinstance(value, str) and len(value.strip()) >= MIN_SECRET_LEN:
                _registered.add(value.strip())


def register_secret_settings(settings: Mapping[str, Any], declared: Iterable[str] = ()) -> None:
    """Mask the values of secret settings: whole names by `is_secret` (api_key=, token=, ..., plus
    `declared`), so `tokenizer=` or `max_tokens=` stay readable; and the credentials inside URL values."""
    names = frozenset(declared)
    register_secrets(v for k, v in settings.items() if isinstance(k, str) and is_secret(k, names))
    for value in settings.values():
        if isinstance(value, str) and "://" in value:
            register_url_secrets(value)


def register_url_secrets(url: str | None) -> None:
    """Mask a URL's password (or its user, when it has no password: then the user is the token) and its
    secret-named query values wherever they appear alone (a server may echo them)."""
    from urllib.parse import parse_qsl, urlsplit

    if not url or "://" not in url:
        return
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return
    register_secrets([password if password else user])
    register_secrets(v for k, v in parse_qsl(parts.query, keep_blank_values=False) if is_secret(k))


def known_secrets() -> list[str]:
    """Registered and environment secrets, longest first (a key containing another is masked whole)."""
    env = (v.strip() for k, v in os.environ.items() if _SECRET_ENV.search(k))
    with _lock:
        values = set(_registered)
    values.update(v for v in env if len(v) >= MIN_SECRET_LEN)
    return sorted(values, key=len, reverse=True)


def invalid_unicode_count() -> int:
    """How many invalid code points were replaced since the process started."""
    return _invalid


def fix_unicode(text: str) -> str:
    """Surrogate pairs joined into their character, lone surrogates replaced by U+FFFD (counted)."""
    global _invalid
    if not _SURROGATE.search(text):
        return text
    fixed = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    added = fixed.count("\ufffd") - text.count("\ufffd")
    with _lock:
        _invalid += max(added, 0)
    return fixed


@functools.lru_cache(maxsize=32)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern | None:
    return re.compile("|".join(re.escape(s) for s in secrets)) if secrets else None


def _unshape(match: re.Match) -> str:
    kept = next((g for g in ("bearer", "scheme", "assign", "json", "header") if match.group(g)), None)
    return (match.group(kept) if kept else "") + MASK + ("@" if kept == "scheme" else "")


# every credential shape holds one of these (lower-cased), with at most `before` characters of it ahead
_ANCHORS = (("bearer", 0), ("basic", 40), ("sk-", 0), ("://", 40), ("key", 24), ("token", 24), ("secret", 24),
            ("passw", 24), ("credentials", 8), ("authorization", 8), ("sig", 8))
_AFTER = 4096            # a credential ends within this many characters of its anchor
_USERINFO = re.compile(r"[^\s/@?#\"'<>\\]*")   # what the `scheme` shape allows between "://" and its "@"


def _window_end(text: str, anchor: str, at: int) -> int:
    if anchor == "://":   # only URL userinfo follows it: the window ends at its "@" (every page's SVG has a URL)
        run = _USERINFO.match(text, at + 3)
        return (run.end() if run else at + 3) + 1
    return at + len(anchor) + _AFTER


def _unshaped(text: str) -> str:
    """Credential shapes masked. The regex runs only near the anchors found by plain substring search
    (a long stream's record is megabytes of frame events; one regex pass over it costs a second)."""
    lower = text.lower()
    spans = []
    for anchor, before in _ANCHORS:
        at = lower.find(anchor)
        while at >= 0:
            spans.append((max(0, at - before), _window_end(text, anchor, at)))
            at = lower.find(anchor, at + 1)
    if not spans:
        return text
    spans.sort()
    merged = [list(spans[0])]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, done = [], 0
    for start, end in merged:
        out += [text[done:start], _SHAPED.sub(_unshape, text[start:end])]
        done = end
    out.append(text[done:])
    return "".join(out)


def _masker(secrets: list[str]):
    pattern = _pattern(tuple(secrets))

    def mask(text: str) -> str:
        text = fix_unicode(text)
        if pattern is not None:
            text = pattern.sub(MASK, text)
        return _unshaped(text)
    return mask


def scrub(text: str) -> str:
    """`text` with invalid Unicode replaced and every known secret masked."""
    if not isinstance(text, str):
        text = str(text)
    return _masker(known_secrets())(text)


def clean(obj: Any) -> Any:
    """A copy of a nested dict/list/tuple structure with every string (keys too) scrubbed."""
    mask = _masker(known_secrets())

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return mask(value)
        if isinstance(value, Mapping):
            return {(mask(k) if isinstance(k, str) else k): walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, tuple):
            return tuple(walk(v) for v in value)
        return value
    return walk(obj)


def dump_json(model, **kwargs) -> str:
    """`model.model_dump_json(**kwargs)`, sanitised. Fast path: dump, then mask secrets in the text
    (also their JSON-escaped forms); a dump that fails on invalid Unicode is cleaned first."""
    try:
        text = model.model_dump_json(**kwargs)
    except ValueError:           # PydanticSerializationError: surrogates not allowed
        dump_kw = {k: v for k, v in kwargs.items() if k in ("exclude_none", "include", "exclude", "by_alias")}
        copy = type(model).model_validate(clean(model.model_dump(**dump_kw)))
        text = copy.model_dump_json(**kwargs)
    secrets = known_secrets()
    forms = sorted({f for s in secrets for f in (s, json.dumps(s)[1:-1])}, key=len, reverse=True)
    return _masker(forms)(text)


class _ScrubbingStream:
    """A text stream whose writes go through `scrub` (everything else is the wrapped stream's)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(scrub(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def scrubbed_terminal():
    """stdout and stderr scrubbed while the block runs: every line a command prints (messages, warnings,
    logging, progress) passes the same scrubber as every file it writes."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _ScrubbingStream(sys.stdout), _ScrubbingStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
