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
from pathlib import Path
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


def parse_model_args(text: str | None, model: str | None = None) -> dict[str, Any]:
    """`a=1,b=x` -> settings typed by the model factory's annotations (never eval'd, never guessed).

    A `str` setting stays the text given (`checkpoint=0001`, `revision=1.10`, `tag=nan`); `int`,
    `float` and `bool` are parsed strictly (an unannotated setting: as its default's type); None only
    where the annotation allows it and the text is empty (`fault=`). A repeated key, or a key the factory does not take, is an error listing the
    keys it takes. Without a model (or for `lmms:` models, which lmms-eval types itself by guessing,
    as its own command line does) values stay text, except lmms-eval's guesses for `lmms:`.
    """
    pairs = _key_values(text, "model argument")
    if model is not None and model.startswith("lmms:"):
        return {k: _lmms_guess(v) for k, v in pairs}
    entry = models(include_hidden=True).get(model) if model else None
    if entry is None:
        return dict(pairs)
    params, hints, open_ended = _factory_parameters(entry.factory)
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key not in params and not open_ended:
            raise ConfigError(f"model {model!r} takes no setting {key!r}; it takes: {', '.join(sorted(params)) or 'none'}")
        out[key] = _typed(f"model {entry.name!r}", key, value, hints.get(key, inspect.Parameter.empty))
    return out


def parse_task_args(text: str | None) -> dict[str, Any]:
    """`--task-args clip_end=ceil,context_s=60`: each value typed as the task factories that take that
    setting annotate it (or by their default's type); where no factory says (`context_s=None`), read
    as lmms-eval reads `key=value` text, as these settings always were."""
    out: dict[str, Any] = {}
    for key, value in _key_values(text, "task argument"):
        hints = [h[key] for entry in tasks(include_hidden=True).values()
                 for names, h, _ in [_factory_parameters(entry.factory)]
                 if key in names and h[key] is not inspect.Parameter.empty]
        out[key] = _typed("--task-args", key, value, hints[0]) if hints else _lmms_guess(value)
    return out


def _key_values(text: str | None, what: str) -> list[tuple[str, str]]:
    """`a=1,b=x` as (key, text) pairs; not key=value, or a key given twice, is an error."""
    pairs: list[tuple[str, str]] = []
    for part in (p for p in (text or "").split(",") if p.strip()):
        if "=" not in part:
            raise ConfigError(f"{what} {part!r} is not key=value")
        key, value = (s.strip() for s in part.split("=", 1))
        if key in dict(pairs):
            raise ConfigError(f"{what} {key!r} is given twice ({key}={dict(pairs)[key]} and {key}={value}); "
                              "give it once")
        pairs.append((key, value))
    return pairs


def _factory_parameters(factory: Callable[..., Any]) -> tuple[set[str], dict[str, Any], bool]:
    """(keyword parameter names, their resolved annotations, whether **kwargs is taken)."""
    import typing

    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return set(), {}, True
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # an annotation that does not resolve: those settings stay text
        hints = {}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = {n: p for n, p in signature.parameters.items() if p.kind in kinds}
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())
    # no annotation: the default's type says it (`sleep=0.0` is a float), else the text stays text
    typed = {n: hints.get(n, type(p.default) if type(p.default) in (bool, int, float) else inspect.Parameter.empty)
             for n, p in params.items()}
    return set(params), typed, open_ended


_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def _typed(owner: str, key: str, text: str, annotation: Any) -> Any:
    """`text` as the annotation says; a ConfigError naming the setting and the type it wants."""
    import types
    import typing

    origin = typing.get_origin(annotation)
    members = typing.get_args(annotation) if origin in (typing.Union, types.UnionType) else (annotation,)
    if text == "" and type(None) in members:
        return None
    wanted = [m for m in members if m is not type(None)]
    problems = []
    for member in wanted:
        if member in (inspect.Parameter.empty, Any, str) or member is typing.Any:
            return text
        try:
            return _parse_as(member, text)
        except ValueError as exc:
            problems.append(str(exc))
    if any(getattr(m, "__fspath__", None) or m is Path for m in wanted):
        return text
    allowed = " or ".join(problems) + (" (or empty for None)" if type(None) in members else "")
    raise ConfigError(f"{owner}: setting {key}={text!r} is not {allowed}")


def _parse_as(kind: Any, text: str) -> Any:
    import math
    import re
    import typing

    if typing.get_origin(kind) is typing.Literal:
        if text in [str(v) for v in typing.get_args(kind)]:
            return next(v for v in typing.get_args(kind) if str(v) == text)
        raise ValueError("one of " + ", ".join(map(str, typing.get_args(kind))))
    if kind is bool:
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise ValueError("true or false")
    if kind is int:
        if re.fullmatch(r"[+-]?\d+", text.strip()) and len(text) < 40:
            return int(text)
        raise ValueError("a whole number")
    if kind is float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if math.isfinite(value) and text.strip().lower() not in ("nan", "inf", "-inf", "infinity"):
            return value
        raise ValueError("a finite number")
    if kind is str:
        return text
    raise ValueError(f"a {getattr(kind, '__name__', kind)} (not settable from text)")


def _lmms_guess(value: str) -> Any:
    """lmms-eval's own reading of `key=value` text: booleans, None, numbers, else text."""
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
