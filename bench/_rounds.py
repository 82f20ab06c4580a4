"""What the side-by-side benches share: rotating the order of the sides, and the machine's load."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def rotate(sides: Sequence[T], round_no: int) -> list[T]:
    """The order of the sides in round `round_no`: each goes first in turn, so a drift in the
    machine's load hits every side alike (ABC, BCA, CAB, ...)."""
    k = round_no % len(sides) if sides else 0
    return [*sides[k:], *sides[:k]]


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages (None where the OS does not say)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None
