"""Samples, loaders, video reading, the synthetic suite and TTS."""

from omnibench.data.schema import Message, Query, Sample, VideoRef

__all__ = ["Message", "Query", "Sample", "VideoRef"]
