"""One registry for tasks and models: decorators plus entry points.

Built-in tasks and models live in the `omnibench.tasks` and `omnibench.models` packages and are
imported the first time the registry is read, never at `import omnibench`. Outside packages add
their own through the entry-point groups `omnibench.tasks` and `omnibench.models`: the entry
point may name a module (imported so its decorators run) or a factory (registered under the
entry point's name).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from omnibench.errors import ConfigError


@dataclass
class Entry:
    name: str
    factory: Callable[..., Any]
    description: str = ""
    group: str | None = None
    hidden: bool = False          # registered for tests, not listed to users
    board: bool = False           # a model of the default board (`python run_eval.py` with no flags)
    board_tasks: tuple[str, ...] | None = None   # the board tasks it takes (None: all of them)

    @property
    def source(self) -> str:
        return f"{getattr(self.factory, '__module__', '?')}:{getattr(self.factory, '__qualname__', self.factory)}"


_TASKS: dict[str, Entry] = {}
_MODELS: dict[str, Entry] = {}
_loaded = False
_loading = False


def _add(table: dict[str, Entry], entry: Entry, kind: str) -> None:
    """A second, different factory under one name is an error naming both (a re-import replaces)."""
    old = table.get(entry.name)
    if old is not None and old.factory is not entry.factory and old.source != entry.source:
        raise ConfigError(f"{kind} name {entry.name!r} is registered twice: by {old.source} and by {entry.source}")
    table[entry.name] = entry


def _first_line(obj: Any) -> str:
    doc = getattr(obj, "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def task(name: str, *, group: str | None = None, description: str = "", hidden: bool = False):
    """Register a task factory: a function returning a `Task`."""
    def register(fn):
        _add(_TASKS, Entry(name, fn, description or _first_line(fn), group, hidden), "task")
        fn.registry_name = name
        return fn
    return register


def model(name: str, *, description: str = "", hidden: bool = False, board: bool = False,
          board_tasks: tuple[str, ...] | None = None):
    """Register a model adapter class (or factory) taking keyword settings."""
    def register(cls):
        _add(_MODELS, Entry(name, cls, description or _first_line(cls), None, hidden, board, board_tasks), "model")
        cls.registry_name = name
        return cls
    return register


def _import_package_modules(package: str) -> None:
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")


def _load_entry_points(group: str, table: dict[str, Entry]) -> None:
    from importlib.metadata import entry_points

    kind = group.rsplit(".", 1)[-1].rstrip("s")
    for ep in entry_points(group=group):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not hide the others
            warnings.warn(f"omnibench: entry point {ep.name!r} ({ep.value}) in group {group!r} failed to load "
                          f"and is skipped: {type(exc).__name__}: {exc}", stacklevel=2)
            continue
        known = table.get(ep.name)
        if callable(obj) and not inspect.ismodule(obj) and not (known and known.factory is obj):
            _add(table, Entry(ep.name, obj, _first_line(obj)), kind)


def load() -> None:
    """Import built-ins and plugins once (a failed load is tried again next time, not left half done)."""
    global _loaded, _loading
    if _loaded or _loading:
        return
    _loading = True
    try:
        _import_package_modules("omnibench.tasks")
        _import_package_modules("omnibench.models")
        _load_entry_points("omnibench.tasks", _TASKS)
        _load_entry_points("omnibench.models", _MODELS)
        _loaded = True
    finally:
        _loading = False


def tasks(include_hidden: bool = False) -> dict[str, Entry]:
    load()
    return {k: v for k, v in sorted(_TASKS.items()) if include_hidden or not v.hidden}


def models(include_hidden: bool = False) -> dict[str, Entry]:
    load()
    return {k: v for k, v in sorted(_MODELS.items()) if include_hidden or not v.hidden}


def board_models() -> list[str]:
    """The models of the default board, in registration order."""
    load()
    return [name for name, entry in _MODELS.items() if entry.board and not entry.hidden]


def groups() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, entry in tasks().items():
        if entry.group:
            out.setdefault(entry.group, []).append(name)
    return out


def resolve_tasks(spec: str | list[str]) -> list[str]:
    """Task and group names (comma-separated) to task names, in order, without repeats."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    all_tasks, all_groups = tasks(include_hidden=True), groups()
    out: list[str] = []
    for raw in (n.strip() for n in names):
        if not raw:
            continue
        found = all_groups.get(raw) or ([raw] if raw in all_tasks else None)
        if not found:
            raise ConfigError(f"unknown task or group {raw!r}; `omnibench list tasks` shows them")
        out += [n for n in found if n not in out]
    return out


def get_task(name: str, **settings: Any):
    entry = tasks(include_hidden=True).get(name)
    if entry is None:
        raise ConfigError(f"unknown task {name!r}; `omnibench list tasks` shows them")
    return entry.factory(**settings)


def get_model(name: str, **settings: Any):
    if name.startswith("lmms:"):   # any lmms-eval model, see omnibench.lmms.from_lmms
        from omnibench.lmms.from_lmms import make_model

        return make_model(name, **settings)
    entry = models(include_hidden=True).get(name)
    if entry is None:
        raise ConfigError(f"unknown model {name!r}; `omnibench list models` shows them")
    try:
        inspect.signature(entry.factory).bind(**settings)
    except TypeError as exc:      # the settings do not fit; a TypeError raised inside the adapter surfaces as is
        raise ConfigError(f"bad settings for model {name!r}: {exc}") from exc
    except ValueError:            # no signature to check (a builtin)
        pass
    return entry.factory(**settings)


def parse_model_args(text: str | None) -> dict[str, Any]:
    """`a=1,b=x,c=true` -> {'a': 1, 'b': 'x', 'c': True} (numbers and booleans typed, never eval'd)."""
    out: dict[str, Any] = {}
    for part in (p for p in (text or "").split(",") if p.strip()):
        if "=" not in part:
            raise ConfigError(f"model argument {part!r} is not key=value")
        key, value = (s.strip() for s in part.split("=", 1))
        out[key] = _typed(value)
    return out


def _typed(value: str) -> Any:
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value
