"""M4, the reference streaming model of OmniMMI: model, multiplexed decoding, alerting, training."""

from pathlib import Path


def checkpoints_dir() -> Path:
    """Where shipped checkpoints live (m4/checkpoints, installed as omnibench/m4/checkpoints)."""
    return Path(__file__).parent / "checkpoints"
