"""Deterministic work splitting by sample id (--shard i/n, or torchrun's RANK/WORLD_SIZE)."""

from __future__ import annotations

import hashlib
import os

from omnibench.errors import ConfigError


def parse_shard(text: str | None) -> tuple[int, int]:
    """'i/n' -> (i, n); None -> RANK/WORLD_SIZE from the environment, else (0, 1)."""
    if not text:
        world = int(os.environ.get("WORLD_SIZE", "1") or 1)
        rank = int(os.environ.get("RANK", "0") or 0)
        return (rank, world) if world > 1 else (0, 1)
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError as exc:
        raise ConfigError(f"--shard must look like i/n (e.g. 0/4), got {text!r}") from exc
    if not (n >= 1 and 0 <= i < n):
        raise ConfigError(f"--shard {text}: need 0 <= i < n")
    return i, n


def shard_of(sample_id: str, n: int) -> int:
    return int(hashlib.sha256(sample_id.encode()).hexdigest()[:12], 16) % n


def in_shard(sample_id: str, shard: tuple[int, int]) -> bool:
    return shard[1] == 1 or shard_of(sample_id, shard[1]) == shard[0]
