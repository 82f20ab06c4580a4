"""The run directory: paths, stored samples, run identity (RunSpec) and the secret rule.

Layout:
    RUN_DIR/run.json                                   RunSpec of the latest run (no secrets)
    RUN_DIR/samples/{task}.jsonl                       the Samples evaluated
    RUN_DIR/logs/{task}/{slug(label)}.shard{i}of{n}.jsonl   SampleRecords
    RUN_DIR/scores/{task}/{slug(label)}.jsonl          SampleScores
    RUN_DIR/results.json                               Results

Identity: every setting that can change an answer (model name, non-secret settings, weights
fingerprint, code and library versions, task prompts and settings, mode, protocol) enters
`RunSpec.run_id(task)`; each record carries that id and the hash of the sample it answered, so
resume never pairs an answer with a different model, setting or question.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, Field

from omnibench import __version__
from omnibench.cache import stable_hash
from omnibench.data.schema import Sample
from omnibench.errors import DataError
from omnibench.peer_reference import SCORING_ONLY as PEER_SCORING_ONLY

# whole setting names only: `max_tokens` or `tokens_per_poll` are settings, not secrets
DEFAULT_SECRET_NAMES = frozenset({
    "api_key", "apikey", "key", "password", "passwd", "token", "secret", "access_token", "auth_token",
    "hf_token", "client_secret", "secret_key", "private_key", "credentials", "authorization", "bearer_token",
    "session_token", "api_token",
})
LIBRARIES = ("torch", "transformers", "av", "openai")


def is_secret(name: str, declared: frozenset[str] | set[str] = frozenset()) -> bool:
    lowered = str(name).lower()
    return lowered in DEFAULT_SECRET_NAMES or lowered in {d.lower() for d in declared}


def public_settings(settings: dict[str, Any], declared: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if not is_secret(k, declared)}


def secret_values(settings: dict[str, Any], declared: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """The values of a model's secret settings (for the text scrubber); short values are left out."""
    return [str(v) for k, v in settings.items() if is_secret(k, declared) and v is not None and len(str(v)) >= 4]


def public_url(url: str | None) -> str | None:
    """A URL without user:password and without secret query parameters."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    query = "&".join(q for q in parts.query.split("&") if q and not is_secret(q.split("=", 1)[0]))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def model_label(name: str, settings: dict[str, Any]) -> str:
    """`name(k=v,...)` over the public settings, sorted; every setting shown, none cut."""
    return name if not settings else f"{name}(" + ",".join(f"{k}={v}" for k, v in sorted(settings.items())) + ")"


def slug(label: str) -> str:
    """A file name for a label. Changed or long labels get a hash suffix, so two labels never share one."""
    clean = re.sub(r"[^A-Za-z0-9._=-]+", "_", label)
    if clean == label and len(label) <= 100:
        return label
    return f"{clean[:80]}-{hashlib.sha256(label.encode()).hexdigest()[:12]}"


def sample_hash(sample: Sample) -> str:
    """Hash of what a sample asks (spoken-query audio paths left out: they depend on the cache dir)."""
    data = sample.model_dump(mode="json")
    for turn in data.get("turns", []):
        turn.pop("audio", None)
    return stable_hash(data)[:16]


def check_unique_ids(task: str, samples: list[Sample]) -> None:
    seen: set[str] = set()
    dupes = sorted({s.id for s in samples if s.id in seen or seen.add(s.id)})
    if dupes:
        raise DataError(f"task {task}: sample ids must be unique; repeated: {', '.join(dupes[:10])}")


def write_samples(path: Path, samples: list[Sample]) -> None:
    """The samples of a task, stored once so score/report need neither data nor task code."""
    from omnibench.sanitize import dump_json  # invalid Unicode in annotations is not fatal

    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(dump_json(s) + "\n" for s in samples)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def load_samples(run_dir: Path, task: str) -> list[Sample]:
    path = Path(run_dir) / "samples" / f"{task}.jsonl"
    if not path.exists():
        raise DataError(f"no samples stored for task {task}: this run directory is damaged or was not made "
                        f"by `omnibench run`; rerun the run command into it (finished samples are kept)",
                        file=str(path))
    out = []
    for index, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        try:
            out.append(Sample.model_validate(json.loads(line)))
        except Exception as exc:
            raise DataError(f"bad sample: {exc}", file=str(path), index=index) from exc
    check_unique_ids(task, out)
    return out


# -- provenance ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def code_versions() -> dict[str, str]:
    """omnibench and library versions; the git revision (and a hash of uncommitted source changes)
    when omnibench runs from a checkout."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"omnibench": __version__}
    for lib in LIBRARIES:
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:
            pass
    root = Path(__file__).resolve().parents[1]
    if (root / ".git").exists():
        try:
            git = ["git", "-C", str(root)]
            out["git"] = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                                        timeout=10).stdout.strip()
            diff = subprocess.run([*git, "diff", "HEAD", "--", "omnibench", "tasks", "models", "m4"],
                                  capture_output=True, timeout=20).stdout
            if diff:
                out["git_diff"] = hashlib.sha256(diff).hexdigest()[:12]
        except (OSError, subprocess.SubprocessError):
            pass
    return out


def fingerprint_path(path: str | Path) -> str:
    """Hash of a checkpoint file or folder: names and contents of every file (large ones by size,
    mtime and their first and last MiB, so a 15 GB checkpoint is not read whole)."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        if stat.st_size <= 64 << 20:
            digest.update(file.read_bytes())
        else:
            with open(file, "rb") as fh:
                digest.update(fh.read(1 << 20))
                fh.seek(-(1 << 20), os.SEEK_END)
                digest.update(fh.read())
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


class TaskSpec(BaseModel):
    name: str
    version: str = "1"
    prompts_version: str = "1"
    prompts_sha256: str = ""               # hash of the prompt templates used
    settings: dict[str, Any] = Field(default_factory=dict)   # what the task was built with (scoring settings)
    samples_sha256: str = ""               # over the hashes of the samples evaluated
    n_samples: int = 0


class RunSpec(BaseModel):
    """What a run is; written to run.json. `run_id(task)` keys resume and the response cache."""

    model: str                             # label: name(settings)
    model_name: str
    model_args: dict[str, Any] = Field(default_factory=dict)   # every setting but the secrets
    weights_fingerprint: str | None = None
    capabilities: dict[str, Any] = Field(default_factory=dict)
    tasks: list[str] = Field(default_factory=list)
    task_specs: dict[str, TaskSpec] = Field(default_factory=dict)
    mode: str = "lockstep"
    protocol: str | None = None
    shard: str = "0/1"
    limit: int | None = None
    versions: dict[str, str] = Field(default_factory=dict)

    def model_identity(self) -> dict[str, Any]:
        """Everything about the model and code that can change an answer (the response-cache scope)."""
        return {"model": self.model_name, "settings": self.model_args, "weights": self.weights_fingerprint,
                "versions": self.versions}

    def run_id(self, task: str) -> str:
        spec = self.task_specs.get(task)
        prompt = spec.model_dump(include={"name", "version", "prompts_version", "prompts_sha256"}) if spec else task
        settings = {k: v for k, v in (spec.settings if spec else {}).items() if k not in SCORING_ONLY}
        return stable_hash({**self.model_identity(), "task": prompt, "task_settings": settings,
                            "mode": self.mode, "protocol": self.protocol})[:16]

    def differences(self, other: RunSpec, task: str) -> list[str]:
        """Names of the identity fields in which `other` differs (for messages)."""
        mine, theirs = self.model_identity(), other.model_identity()
        out = [k for k in mine if mine[k] != theirs[k]]
        a, b = self.task_specs.get(task), other.task_specs.get(task)
        if (a and a.model_dump(exclude={"samples_sha256", "n_samples"})) != \
                (b and b.model_dump(exclude={"samples_sha256", "n_samples"})):
            out.append(f"task {task} prompts/settings")
        out += [k for k in ("mode", "protocol") if getattr(self, k) != getattr(other, k)]
        return out


def build_task(name: str, settings: dict[str, Any]):
    """Build a task, passing only the settings its factory accepts (data_dir, judge, ...).

    The settings passed are kept on the task (`build_settings`): run.json records them and
    `score` rebuilds the task with them."""
    import inspect

    from omnibench import registry

    factory = registry.tasks(include_hidden=True)[name].factory
    accepted = inspect.signature(factory).parameters
    used = {k: v for k, v in settings.items() if k in accepted and v is not None}
    task = registry.get_task(name, **used)
    task.build_settings = json.loads(json.dumps(used, default=str))
    return task


# task settings that only change how answers are scored, not what the model is asked
SCORING_ONLY = frozenset({"judge", "alert_time", "drop_first_second", "lenient", "online_answers",
                          "count_empty_alerts"}) | PEER_SCORING_ONLY


def spec_path(run_dir: Path, label: str) -> Path:
    return Path(run_dir) / "specs" / f"{slug(label)}.json"


def write_spec(run_dir: Path, spec: RunSpec) -> None:
    from omnibench.sanitize import dump_json

    for path in (Path(run_dir) / "run.json", spec_path(run_dir, spec.model)):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(dump_json(spec, indent=2), encoding="utf-8")
        tmp.replace(path)


def read_spec(run_dir: Path, label: str) -> RunSpec | None:
    """The spec recorded for this model label (specs/…, else run.json when its label matches)."""
    for path in (spec_path(run_dir, label), Path(run_dir) / "run.json"):
        if path.exists():
            try:
                spec = RunSpec.model_validate_json(path.read_text(encoding="utf-8"))
            except ValueError:
                continue                   # an older run.json (RunInfo): no identity recorded
            if spec.model == label:
                return spec
    return None
