"""Rule scorers, the LLM judge, and metrics with confidence intervals."""

from omnibench.scoring.base import Score, Scorer

__all__ = ["Score", "Scorer"]
