"""Fetching a peer benchmark (OVO-Bench, StreamingBench) from the Hugging Face Hub, and unpacking it safely.

The same handling as `omnibench data download omnimmi`: huggingface_hub is imported only here, a
missing package, an unwritable folder or any hub failure (offline, 401/404, disk full) ends in one
DataError that says what to do. Archives from the hub are unpacked member by member: a member
that would land outside the target folder (absolute path, '..', a link) is refused, not written.
"""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from omnibench.errors import DataError


def snapshot(repo: str, out_dir: str | Path, *, env: str, token: str | None = None,
             allow_patterns: list[str] | None = None) -> Path:
    """snapshot_download of dataset `repo` into `out_dir`; `env` names the directory variable for the help text."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise DataError(f"downloading {repo} needs the huggingface_hub package: pip install huggingface_hub") from exc
    out = Path(out_dir).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create download directory {out}: {exc.strerror or exc}") from exc
    kwargs: dict[str, Any] = {"repo_id": repo, "repo_type": "dataset", "local_dir": str(out), "token": token}
    if allow_patterns is not None:
        kwargs["allow_patterns"] = allow_patterns
    try:
        snapshot_download(**kwargs)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # offline, DNS, HTTP 401/404, disk full: all end the same way for the user
        raise DataError(
            f"could not download {repo} (a Hugging Face Hub dataset) into {out} ({type(exc).__name__}: {exc}). "
            f"Check the network (and HF_HUB_OFFLINE, HF_ENDPOINT, a token for gated access), or put the files "
            f"in a directory yourself and pass --data-dir or set {env}.") from exc
    return out


def _safe_target(root: Path, name: str, archive: Path) -> Path:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
        raise DataError(f"archive member {name!r} would be written outside {root}; nothing of it was written",
                        file=str(archive))
    return root.joinpath(*parts)


def extract_tar(parts: Iterable[Path], root: Path) -> int:
    """The tar archive split into `parts` (concatenated in name order) unpacked into `root`; files written."""
    parts = sorted(parts)
    if not parts:
        return 0
    joined = root / f".{parts[0].name.split('.tar')[0]}.tar.joined"
    with open(joined, "wb") as out:
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 24)
    written = 0
    try:
        with tarfile.open(joined) as archive:
            for member in archive:
                target = _safe_target(root, member.name, parts[0])
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                elif member.isfile():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with archive.extractfile(member) as src, open(target, "wb") as dst:  # type: ignore[union-attr]
                        shutil.copyfileobj(src, dst, 1 << 20)
                    written += 1
                else:   # links and devices: never followed out of the folder
                    raise DataError(f"archive member {member.name!r} is a link or device; refused", file=str(parts[0]))
    except tarfile.TarError as exc:
        raise DataError(f"not a readable tar archive ({exc})", file=str(parts[0])) from exc
    finally:
        joined.unlink(missing_ok=True)
    return written


def extract_zip(path: Path, root: Path) -> list[Path]:
    """A zip archive unpacked into `root`; the files written."""
    written = []
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                target = _safe_target(root, info.filename, path)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                written.append(target)
    except zipfile.BadZipFile as exc:
        raise DataError(f"not a readable zip archive ({exc})", file=str(path)) from exc
    return written
