"""Where a model runs, and what the engine knows of it before it starts.

- A local model built by name runs in worker processes (engine.worker), one per lane.
- An API adapter (it declares `remote = True`: its calls go to a server, with the client's own
  timeouts) runs in this process, as does an instance the caller hands in.

A worker reports the model's profile (capabilities, weights fingerprint, methods) when it has
built the model. The profile is kept in the cache directory, keyed by the model's name and
settings, the code versions, the adapter's source file and the size and times of every file a
path setting names; so a rerun with nothing left to do plans from the kept profile and starts no
worker (it loads no model). A replaced checkpoint or edited adapter changes the key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from omnibench.cache import cache_dir, stable_hash
from omnibench.engine.capabilities import Capabilities
from omnibench.engine.pool import WorkerPool
from omnibench.engine.worker import START_TIMEOUT_S, ModelFactory, Profile
from omnibench.engine.wrapper import GuardedModel

MAX_FILES_STATTED = 10_000        # a path setting naming a huge tree is keyed by its first files
VOLATILE_ENV = ("OMNIBENCH_CACHE", "OMNIBENCH_QUIET")


def runs_remote(name: str) -> bool:
    """The registered adapter declares `remote = True` (class attribute or declared Capabilities)."""
    if name.startswith("lmms:"):
        return False
    from omnibench import registry

    entry = registry.models(include_hidden=True).get(name)
    factory = entry.factory if entry is not None else None
    declared = getattr(factory, "capabilities", None)
    if isinstance(declared, Capabilities):
        return declared.remote
    return getattr(factory, "remote", False) is True


def guarded_model(name: str, settings: dict[str, Any], *, model_obj: Any = None, timeout_s: float | None,
                  start_timeout_s: float | None = START_TIMEOUT_S) -> GuardedModel:
    """The wrapped model, placed: a handed-in instance or an API adapter here, else worker processes."""
    from omnibench import registry

    if model_obj is not None:
        return GuardedModel(model_obj, model_id=name, timeout_s=timeout_s)
    if runs_remote(name):
        return GuardedModel(registry.get_model(name, **settings), model_id=name, timeout_s=timeout_s,
                            rebuild=lambda: registry.get_model(name, **settings))
    factory = ModelFactory(name, dict(settings))
    key = profile_key(factory)
    kept = _read_profile(key)
    pool = WorkerPool(factory, start_timeout_s=start_timeout_s, profile=kept)
    if kept is None:
        _write_profile(key, pool.profile)
    return GuardedModel(pool, model_id=name, timeout_s=timeout_s)


def adapter_of(model: GuardedModel) -> Any:
    """What identity reads the adapter's code from: the instance here, or (in workers) a stand-in class
    named as the worker's adapter class, whose module's code digests go into the run id."""
    if model.pool is None:
        return model.inner
    module, _, qualname = model.pool.profile.source.partition(":")
    return type(qualname.rpartition(".")[2] or "Adapter", (), {"__module__": module, "__qualname__": qualname})


def profile_key(factory: ModelFactory) -> str:
    from omnibench import registry
    from omnibench.identity import code_of, libraries

    entry = registry.models(include_hidden=True).get(factory.name)
    source = code_of(entry.factory) if entry is not None else None      # the adapter's modules, by code
    # omnibench's variables may point a model at its files (OMNIBENCH_M4_TINY): their values count too
    env = {k: v for k, v in sorted(os.environ.items()) if k.startswith("OMNIBENCH_") and k not in VOLATILE_ENV}
    paths = {k: _stat(Path(v)) for k, v in [*sorted(factory.settings.items()), *env.items()]
             if isinstance(v, str) and v and len(v) < 4096 and _exists(v)}
    return stable_hash({"model": factory.name, "settings": factory.settings, "libraries": libraries(),
                        "code": source, "engine": code_of(ModelFactory), "paths": paths, "env": env,
                        "entry": entry.source if entry else None})


def _exists(text: str) -> bool:
    try:
        return os.path.exists(text)
    except (OSError, ValueError):
        return False


def _stat(path: Path) -> list | None:
    """Size, mtime and ctime of a file, or of every file under a folder (ctime: a restored mtime fools nothing)."""
    try:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())[:MAX_FILES_STATTED]
        return [(str(f.relative_to(path)) if f != path else "", (s := f.stat()).st_size, s.st_mtime_ns, s.st_ctime_ns)
                for f in files]
    except OSError:
        return None


def _path(key: str) -> Path:
    return cache_dir() / "profiles" / f"{key[:32]}.json"


def _read_profile(key: str) -> Profile | None:
    try:
        data = json.loads(_path(key).read_text(encoding="utf-8"))
        return Profile(public=dict(data["public"]), methods=tuple(data["methods"]),
                       attributes=dict(data["attributes"]), source=str(data.get("source", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_profile(key: str, profile: Profile) -> None:
    path = _path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"public": profile.public, "methods": list(profile.methods),
                                   "attributes": profile.attributes, "source": profile.source}, default=str),
                       encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass                      # no kept profile: the next run starts a worker to learn it again
