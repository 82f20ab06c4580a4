"""Run identity: what can change an answer, and nothing else (DESIGN.md section 4).

`RunSpec.run_id(task)` hashes
- the model: its factory (module:qualname), the settings that change answers (runtime-only ones,
  declared by the adapter as `runtime_settings` plus `RUNTIME_SETTINGS`, are left out), its weights
  fingerprint, the code of the adapter's own modules (plugins as built-ins) and the versions of the
  libraries that compute answers;
- the task: its version, prompts (content) and input settings (paths, scoring-only settings left
  out), its own modules' code;
- the omnibench modules that build what the model is given (engine, data readers, prompts);
- mode and forced protocol.
Each record also carries the hash of its sample (with each video's content fingerprint), so one
swapped video reruns exactly its samples. Not in it: scoring code, the data root's path, omnibench's
version or unrelated files of the checkout (code is compared by syntax tree: a comment is not code).

The label (`--label`, else `default_label`) names a row for people and is not identity.
"""

from __future__ import annotations

import functools
import inspect
import re
import subprocess
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from omnibench import __version__
from omnibench.cache import stable_hash
from omnibench.errors import ConfigError
from omnibench.fingerprint import module_code
from omnibench.peer_reference import SCORING_ONLY as PEER_SCORING_ONLY
from omnibench.sanitize import is_secret

LIBRARIES = ("torch", "transformers", "av", "decord", "numpy", "lmms_eval")   # they compute frames and answers
# settings that never change an answer, whatever the adapter (adapters add their own: runtime_settings)
RUNTIME_SETTINGS = frozenset({
    "timeout", "timeout_s", "request_timeout", "request_timeout_s", "call_timeout_s", "concurrency",
    "max_concurrency", "workers", "device", "base_url", "host", "port", "progress", "verbose", "response_cache",
})
# task settings that only change how answers are scored, or only where files are (their content is hashed)
SCORING_ONLY = frozenset({"judge", "alert_time", "drop_first_second", "lenient", "online_answers",
                          "count_empty_alerts"}) | PEER_SCORING_ONLY
PATH_SETTINGS = frozenset({"data_dir", "prompts_file", "reference_note"})
# omnibench modules that build what a model is given (their imports inside omnibench are followed)
INPUT_MODULES = ("omnibench.engine.evaluate", "omnibench.engine.stream", "omnibench.engine.offline",
                 "omnibench.task", "omnibench.data.video", "omnibench.data.tts")
# harness code that never shapes a model's input: neither hashed nor followed
HARNESS_ONLY = (
    "omnibench.scoring", "omnibench.report", "omnibench.cli", "omnibench.cli_args", "omnibench.results",
    "omnibench.rundir", "omnibench.identity", "omnibench.fingerprint", "omnibench.cache", "omnibench.sanitize",
    "omnibench.safejson", "omnibench.registry", "omnibench.progress", "omnibench.reference_prompts",
    "omnibench.engine.lock", "omnibench.engine.eventlog", "omnibench.engine.executor", "omnibench.engine.wrapper",
    "omnibench.lmms.check", "omnibench.lmms.scoring", "omnibench.lmms.tasks", "omnibench.m4.training",
)
_LABEL_VALUE = re.compile(r"[A-Za-z0-9_.+-]{1,24}")
_PATH_NAME = re.compile(r"(path|dir|file|checkpoint|ckpt|pretrained|url|repo|root|model_id)", re.I)
MAX_LABEL = 64


# -- settings and labels ------------------------------------------------------------------------

def public_settings(settings: dict[str, Any], declared: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """Settings without secrets; URL values without userinfo or secret query parameters."""
    return {k: (public_url(v) if isinstance(v, str) and "://" in v else v)
            for k, v in settings.items() if not is_secret(k, declared)}


def secret_values(settings: dict[str, Any], declared: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """The values of a model's secret settings (for the text scrubber); short values are left out."""
    return [str(v) for k, v in settings.items() if is_secret(k, declared) and v is not None and len(str(v)) >= 4]


def public_url(url: str | None) -> str | None:
    """A URL without user:password and without secret query parameters."""
    from urllib.parse import urlsplit, urlunsplit

    if not url:
        return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    netloc = (parts.hostname or "") + (f":{port}" if port else "")
    query = "&".join(q for q in parts.query.split("&") if q and not is_secret(q.split("=", 1)[0]))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def split_settings(settings: dict[str, Any], runtime: frozenset[str] | set[str]) -> tuple[dict, dict]:
    """(settings that can change an answer, runtime-only settings)."""
    skip = RUNTIME_SETTINGS | set(runtime)
    return ({k: v for k, v in settings.items() if k not in skip}, {k: v for k, v in settings.items() if k in skip})


def model_label(name: str, settings: dict[str, Any]) -> str:
    """A short row name: `name(k=v,...)` over short plain values; never a path, URL or port.

    Settings naming paths or endpoints, and values that look like them, are left out (they are in the
    run id: two such runs differ there, and `--label` tells them apart on the board)."""
    shown = {k: v for k, v in sorted(settings.items())
             if not _PATH_NAME.search(k) and (isinstance(v, (bool, int, float)) or
                                            (isinstance(v, str) and _LABEL_VALUE.fullmatch(v)))}
    label = name if not shown else f"{name}(" + ",".join(f"{k}={v}" for k, v in shown.items()) + ")"
    return label if len(label) <= MAX_LABEL else f"{name}-{stable_hash(shown)[:8]}"


def check_label(label: str) -> str:
    """A label given with --label: one line, 1 to 120 characters; anything shaped like a secret masked."""
    from omnibench.sanitize import scrub

    if not label.strip() or len(label) > 120 or any(c in label for c in "\n\r\t"):
        raise ConfigError(f"--label {scrub(label)!r}: give a name of 1 to 120 characters on one line")
    return scrub(label.strip())


# -- code -----------------------------------------------------------------------------------------

def factory_source(obj: Any) -> str:
    """`module:qualname` of a model factory (a class or function), or of an instance's class."""
    target = obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj)
    return f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', type(target).__name__)}"


def code_of(*objects: Any, with_input_modules: bool = False) -> dict[str, str]:
    """{module: code digest} of the modules defining `objects` and of what they import (see the module
    docstring); omnibench's input-building modules too when asked."""
    starts = [factory_source(o).split(":")[0] for o in objects if o is not None]
    starts += list(INPUT_MODULES) if with_input_modules else []
    return module_code([s for s in starts if s and s != "?" and s != "__main__"], stop=HARNESS_ONLY)


@functools.lru_cache(maxsize=1)
def libraries() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for lib in LIBRARIES:
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:
            pass
    return out


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Provenance for people (not identity): omnibench's version and, in a checkout, its git revision."""
    out = {"omnibench": __version__}
    root = Path(__file__).resolve().parents[1]
    if (root / ".git").exists():
        try:
            rev = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                 timeout=10).stdout.strip()
            if rev:
                out["git"] = rev
        except (OSError, subprocess.SubprocessError):
            pass
    return out


# -- the spec -------------------------------------------------------------------------------------

class TaskSpec(BaseModel):
    name: str
    version: str = "1"
    prompts_version: str = "1"
    prompts_sha256: str = ""               # hash of the prompt templates used
    settings: dict[str, Any] = Field(default_factory=dict)   # what the task was built with (score rebuilds it so)
    code: dict[str, str] = Field(default_factory=dict)       # the task's own modules: {module: code digest}
    samples_sha256: str = ""               # over the hashes of the samples evaluated (for people: not the run id)
    n_samples: int = 0

    def identity(self) -> dict[str, Any]:
        settings = {k: v for k, v in self.settings.items() if k not in SCORING_ONLY | PATH_SETTINGS}
        return {"name": self.name, "version": self.version, "prompts_version": self.prompts_version,
                "prompts": self.prompts_sha256, "settings": settings, "code": self.code}


class RunSpec(BaseModel):
    """What a run is; written to run.json and specs/. `run_id(task)` keys resume and the response cache."""

    model: str                             # the label: for people, not identity
    model_name: str
    factory: str = ""                      # module:qualname of the adapter
    model_args: dict[str, Any] = Field(default_factory=dict)     # settings that change answers (no secrets)
    runtime_args: dict[str, Any] = Field(default_factory=dict)   # runtime-only settings (recorded, not identity)
    weights_fingerprint: str | None = None
    capabilities: dict[str, Any] = Field(default_factory=dict)
    code: dict[str, str] = Field(default_factory=dict)           # adapter + input-building modules: code digests
    libraries: dict[str, str] = Field(default_factory=dict)
    tasks: list[str] = Field(default_factory=list)
    task_specs: dict[str, TaskSpec] = Field(default_factory=dict)
    mode: str = "lockstep"
    protocol: str | None = None
    shard: str = "0/1"
    limit: int | None = None
    versions: dict[str, str] = Field(default_factory=dict)       # provenance only

    def model_identity(self) -> dict[str, Any]:
        """Everything about the model and code that can change an answer (the response-cache scope)."""
        return {"factory": self.factory or self.model_name, "settings": self.model_args,
                "weights": self.weights_fingerprint, "code": self.code, "libraries": self.libraries}

    def run_id(self, task: str) -> str:
        spec = self.task_specs.get(task)
        return stable_hash({**self.model_identity(), "task": spec.identity() if spec else task,
                            "mode": self.mode, "protocol": self.protocol})[:16]

    def differences(self, other: RunSpec, task: str) -> list[str]:
        """What differs from `other` in the identity of `task`'s answers, for people (modules named)."""
        mine, theirs = self.model_identity(), other.model_identity()
        out = [k for k in ("factory", "settings", "weights", "libraries") if mine[k] != theirs[k]]
        a, b = self.task_specs.get(task), other.task_specs.get(task)
        code = {**self.code, **(a.code if a else {})}
        other_code = {**other.code, **(b.code if b else {})}
        changed = sorted(m for m in code.keys() | other_code.keys() if code.get(m) != other_code.get(m))
        if changed:
            out.append("code (" + ", ".join(changed[:5]) + (", ..." if len(changed) > 5 else "") + ")")
        ta, tb = (a.identity() if a else {}), (b.identity() if b else {})
        out += [f"task {task} {k}" for k in ("version", "prompts_version", "prompts", "settings") if ta.get(k) != tb.get(k)]
        out += [k for k in ("mode", "protocol") if getattr(self, k) != getattr(other, k)]
        return out


def model_spec(name: str, model: Any, settings: dict[str, Any], caps: Any, label: str | None = None) -> RunSpec:
    """The model half of a RunSpec: label, factory, settings split, weights, code and libraries."""
    from omnibench import registry

    entry = registry.models(include_hidden=True).get(name) if not name.startswith("lmms:") else None
    factory = entry.factory if entry is not None else type(model)
    public = public_settings(settings, caps.secrets)
    answers, runtime = split_settings(public, caps.runtime_settings)
    return RunSpec(model=check_label(label) if label else model_label(name, answers), model_name=name,
                   factory=factory_source(factory), model_args=answers, runtime_args=runtime,
                   weights_fingerprint=caps.weights_fingerprint, capabilities=caps.public(),
                   code=code_of(factory, model, with_input_modules=True), libraries=libraries(), versions=versions())
