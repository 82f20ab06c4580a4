"""Where the tests find OVO-Bench's and StreamingBench's published files: ../shared/data beside the checkout.

OVO-Bench's annotations are CC BY-NC-SA 4.0 and never enter this repository; CI places the shared
copies beside the checkout, as on the development machines.
"""

from __future__ import annotations

from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
OVO_DIR = SHARED / "ovobench"
SB_DIR = SHARED / "streamingbench"
GEMINI = OVO_DIR / "results" / "Gemini"


def need(path: Path) -> Path:
    """`path`, or a failure that says where the shared data is expected (never a silent skip)."""
    if not path.exists():
        raise AssertionError(f"{path} is missing: the peer benchmark tests read ../shared/data beside the checkout")
    return path
