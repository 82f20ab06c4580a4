"""omnibench: evaluation harness for streaming video / omni language models."""

__version__ = "0.1.0"

__all__ = ["__version__"]
