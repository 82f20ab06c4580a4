"""One process per run directory and shard: a lock file holding the owner's PID.

Two copies of one command into one run directory would run every sample twice. The lock file
`<run dir>/.lock.shard<i>of<n>` is created atomically (O_EXCL) with the owner's PID, host and
command (scrubbed of secrets); a second process fails with a message naming the first. A lock whose process is gone
(same host, PID not alive) is stale: it is replaced, and the takeover is logged.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from pathlib import Path

from omnibench.errors import DataError, OmnibenchError
from omnibench.safejson import open_regular
from omnibench.sanitize import scrub

log = logging.getLogger(__name__)
MAX_LOCK_BYTES = 1 << 16        # a lock file holds a few hundred bytes; one from elsewhere is not trusted


class RunLockedError(OmnibenchError):
    """Another live process holds the run directory (and shard)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # exists, owned by someone else
        return True
    except (OverflowError, ValueError):
        return False
    return True


class RunLock:
    """Context manager: holds `<run_dir>/.lock.shard<i>of<n>` while the block runs."""

    def __init__(self, run_dir: str | Path, shard: tuple[int, int] = (0, 1)):
        i, n = shard
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / f".lock.shard{i}of{n}"
        self.shard = f"{i}/{n}"
        self.held = False

    def acquire(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # the command is for people (who holds the directory); it passes the scrubber like every file we write
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                 "command": scrub(" ".join(sys.argv))[:500]}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                other = self._read()
                if not self._stale(other):
                    raise RunLockedError(self._message(other)) from None
                log.warning("removing stale lock %s of process %s", self.path, other.get("pid"))
                self._remove_stale(other)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(owner, fh)
                fh.flush()
                os.fsync(fh.fileno())
            self.held = True
            self._one_layout()
            return
        raise RunLockedError(f"cannot take the lock {self.path}: it keeps reappearing; another process "
                             "is starting on this run directory")

    def _one_layout(self) -> None:
        """Shards of another layout (i/m, m != n) must not run beside this one: their samples overlap.
        Checked after taking our own lock, so two layouts starting at once cannot both pass."""
        n = self.path.name.rsplit("of", 1)[1]
        for other in sorted(self.run_dir.glob(".lock.shard*of*")):
            if other.name.rsplit("of", 1)[1] == n or ".stale" in other.name:
                continue
            owner = self._read(other)
            if owner and not self._stale(owner, other):
                self.release()
                raise RunLockedError(f"run directory {self.run_dir} is in use by process {owner.get('pid', '?')} "
                                     f"with shard layout {other.name.rsplit('of', 1)[1]}; this one is layout {n}. "
                                     "A run directory takes one shard layout: wait for it, or use another --out.")

    def release(self) -> None:
        if self.held:
            self.held = False
            if self._read().get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    # -- helpers ------------------------------------------------------------------------------
    def _read(self, path: Path | None = None) -> dict:
        """The owner a lock file names; {} when it is unreadable, not a regular file or oversized."""
        try:
            with open_regular(path or self.path) as fh:
                data = json.loads(fh.read(MAX_LOCK_BYTES))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError, DataError):
            return {}

    def _stale(self, other: dict, path: Path | None = None) -> bool:
        pid = other.get("pid")
        if not isinstance(pid, int) or isinstance(pid, bool):
            # unreadable or half-written: stale once it is old enough that no writer is still at it
            try:
                return time.time() - (path or self.path).stat().st_mtime > 10.0
            except OSError:
                return True
        if other.get("host") not in (None, socket.gethostname()):
            return False                 # another machine's process: we cannot tell, so we wait
        return not _alive(pid)

    def _remove_stale(self, seen: dict) -> None:
        # rename first and look again: if another process replaced the stale lock meanwhile, give it back
        grave = self.path.with_name(f"{self.path.name}.stale{os.getpid()}")
        try:
            os.replace(self.path, grave)
        except FileNotFoundError:
            return
        moved = self._read(grave)
        if isinstance(moved, dict) and moved.get("pid") != seen.get("pid") and isinstance(moved.get("pid"), int) \
                and _alive(moved["pid"]):
            os.replace(grave, self.path)
        else:
            grave.unlink(missing_ok=True)

    def _message(self, other: dict) -> str:
        pid = other.get("pid", "?")
        host = other.get("host", "?")
        started = other.get("started")
        try:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
        except (TypeError, ValueError, OverflowError, OSError):      # a lock file from elsewhere says anything
            when = "?"
        command = scrub(str(other.get("command") or "?"))[:500]
        return (f"run directory {self.run_dir} (shard {self.shard}) is in use by process {pid} on {host}, "
                f"started {when} ({command}); wait for it to finish or stop it. If that process is gone, "
                f"delete {self.path}")
