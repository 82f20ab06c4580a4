"""The one text sanitiser: every text that reaches disk goes through here.

Two things are fixed, never fatal:
- invalid Unicode (lone surrogates such as a truncated emoji `"yes \\ud83d"`, which UTF-8 cannot
  encode) becomes U+FFFD; each replacement is counted (`invalid_unicode_count()`);
- known secrets become `***` wherever they appear inside a text: values given to
  `register_secrets`, values of settings `rundir.is_secret` names secret (`register_secret_settings`),
  and the environment's `*_API_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD` variables (read at each
  call, so a key set after import is still caught). `Bearer <token>` and `sk-...`-shaped keys are
  masked even when nobody registered them: a judge or server may echo a header we never saw.

API: `register_secrets(values)`, `register_secret_settings(settings)`, `scrub(text) -> str`,
`clean(obj)` (nested dicts/lists/tuples, keys too), `dump_json(model, **kw) -> str` (a pydantic
model as sanitised JSON text).
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
MIN_SECRET_LEN = 6              # shorter values ("EMPTY", "1") would mask ordinary words
_SECRET_ENV = re.compile(r"(^|_)(API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD)$", re.I)
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# tokens nobody registered that are still plainly credentials
_SHAPED = re.compile(r"(?P<bearer>\b(?i:bearer)\s+)[A-Za-z0-9._~+/=-]{8,}|\bsk-[A-Za-z0-9_-]{16,}")

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
    """Mask the values of secret settings: whole names by `rundir.is_secret` (api_key=, token=, ...,
    plus `declared`), the one secret-name rule, so `tokenizer=` or `max_tokens=` stay readable."""
    from omnibench.rundir import is_secret  # rundir imports this module's dump_json lazily too

    names = frozenset(declared)
    register_secrets(v for k, v in settings.items() if isinstance(k, str) and is_secret(k, names))


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


def _masker(secrets: list[str]):
    pattern = _pattern(tuple(secrets))

    def mask(text: str) -> str:
        text = fix_unicode(text)
        if pattern is not None:
            text = pattern.sub(MASK, text)
        if "sk-" not in text and "bearer" not in text.lower():    # the common case: skip the slow regex
            return text
        return _SHAPED.sub(lambda m: (m.group("bearer") or "") + MASK, text)
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
