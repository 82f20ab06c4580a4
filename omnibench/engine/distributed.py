"""torchrun is the distributed engine: one plan, a shared cursor, one meeting at the end.

Under torchrun (WORLD_SIZE > 1, one node or many, c10d rendezvous) and without `--shard`, the
ranks of a run share torch.distributed's own store (the one the rendezvous made). Rank 0 plans
each task (what is left to run, longest stream first, and the run's sequence number) and
publishes the plan there, so every rank works from the same list whatever its view of a shared
file system. Each rank then takes its next sample from the task's cursor (an atomic `add`), only
when it is free for one, so ranks finish within about one sample of each other. At the end all
ranks meet; rank 0 merges, scores and reports. A rank that dies leaves the samples it claimed and
did not finish without a record: the next run retries them.

Without torchrun, `--shard i/n` is a static split by a hash of the sample id (shard.py), and one
process takes everything in order.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any

from omnibench import errors
from omnibench.errors import ConfigError, OmnibenchError

WAIT_S = 30.0                      # store waits are retried in steps of this long
_invocations = itertools.count()   # runs made by this process (each gets its own keys in the store)


class Job:
    """This process's place in a run: its rank among `world`, and whether work is shared through
    a store (torchrun) or split statically (`--shard i/n`, or one process)."""

    def __init__(self, rank: int = 0, world: int = 1, store: Any = None):
        self.rank, self.world, self.store = rank, world, store
        self._seq = itertools.count()

    @property
    def dynamic(self) -> bool:
        return self.store is not None

    @property
    def shard(self) -> tuple[int, int]:
        """The static shard this process takes ((0, 1): everything, also for every torchrun rank)."""
        return (0, 1) if self.dynamic else (self.rank, self.world)

    @property
    def lead(self) -> bool:
        return self.rank == 0

    def describe(self) -> str:
        if self.dynamic:
            return f"rank {self.rank} of {self.world} (torchrun: samples handed out as ranks free up)"
        if self.world > 1:
            return (f"shard {self.rank}/{self.world}: a static split by sample id hash (under torchrun, "
                    "without --shard, ranks share the work as they free up)")
        return "one process"

    def publish(self, key: str, make: Callable[[], Any]) -> Any:
        """`make()` on rank 0, its JSON value to every rank. An OmnibenchError there is raised on every rank."""
        if not self.dynamic:
            return make()
        if self.lead:
            try:
                value = make()
            except OmnibenchError as exc:
                self.store.set(key, json.dumps({"error": str(exc), "kind": type(exc).__name__}))
                raise
            self.store.set(key, json.dumps({"value": value}))
            return value
        self._wait(key)
        message = json.loads(self.store.get(key))
        if "error" in message:
            kind = getattr(errors, message["kind"], OmnibenchError)
            raise (kind if isinstance(kind, type) and issubclass(kind, OmnibenchError) else OmnibenchError)(
                f"(from rank 0) {message['error']}")
        return message["value"]

    def claims(self, key: str, items: list) -> Iterator:
        """The items this process runs: under torchrun each the next one off the shared cursor."""
        if not self.dynamic:
            yield from items
            return
        while (index := int(self.store.add(key, 1)) - 1) < len(items):
            yield items[index]

    def add(self, key: str, amount: int = 1) -> int:
        """A counter shared by every rank, after adding `amount` (0 reads it)."""
        return int(self.store.add(key, amount)) if self.dynamic else 0

    def next_seq(self) -> int:
        """A number for the next record: increasing over the whole run (all ranks)."""
        return int(self.store.add("seq", 1)) if self.dynamic else next(self._seq)

    def meet(self, name: str) -> None:
        """Wait until every rank got here."""
        if not self.dynamic:
            return
        if int(self.store.add(f"meet/{name}", 1)) == self.world:
            self.store.set(f"meet/{name}/all", "1")
        self._wait(f"meet/{name}/all")

    def _wait(self, key: str) -> None:
        while True:
            try:
                self.store.wait([key], timedelta(seconds=WAIT_S))
                return
            except Exception as exc:          # the store's timeout (its type differs by torch version)
                if "timeout" not in str(exc).lower() and "timed out" not in str(exc).lower():
                    raise


def job_from_env(shard: tuple[int, int] | None = None) -> Job:
    """`--shard i/n` given: that static shard. Else under torchrun: this rank of a shared-cursor job.
    Else one process."""
    if shard is not None:
        return Job(*shard)
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return Job()
    rank = int(os.environ.get("RANK", "0") or 0)
    return Job(rank, world, _store(rank, world))


def _store(rank: int, world: int) -> Any:
    """torch.distributed's own store for this job, with keys of this run only."""
    try:
        import torch.distributed as dist
    except ImportError as exc:
        raise ConfigError("WORLD_SIZE > 1 but torch is not installed: torchrun runs need torch "
                          "(or give --shard i/n for a static split)") from exc
    if dist.is_initialized():
        store = dist.distributed_c10d._get_default_store()    # the program made its process group already
    else:
        store, _, _ = next(iter(dist.rendezvous("env://", rank, world, timeout=timedelta(minutes=30))))
    run = os.environ.get("TORCHELASTIC_RUN_ID", "run")
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    return dist.PrefixStore(f"omnibench/{run}/{attempt}/{next(_invocations)}/", store)


def longest_first(items: Iterable, seconds: Callable[[Any], float | None], key: Callable[[Any], str]) -> list:
    """Items by estimated stream seconds, longest first (ties by key); an item with no estimate
    counts as the mean of the others, so unknown lengths are spread among the known ones."""
    items = list(items)
    known = {key(i): s for i in items if (s := seconds(i)) is not None}
    mean = sum(known.values()) / len(known) if known else 0.0
    return sorted(items, key=lambda i: (-known.get(key(i), mean), key(i)))


def stream_estimate(sample: Any) -> float | None:
    """A sample's stream seconds from its annotation alone (no video is opened); None when it names no
    time (the whole video, whose length is not known before it is opened)."""
    from omnibench.engine.bounds import stream_end
    from omnibench.errors import DataError

    if sample.video.end is None and not sample.metadata.get("duration") and all(q.t is None for q in sample.turns):
        return None
    try:
        return stream_end(sample, None, None)
    except DataError:
        return None
