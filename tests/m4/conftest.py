"""Tiny random M4 models and the in-memory ChatML tokenizer, shared by the M4 tests."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="session")
def pipeline():
    from omnibench.m4.inference.pipeline import M4Pipeline

    return M4Pipeline.tiny(seed=0)


@pytest.fixture(scope="session")
def prefix(pipeline):
    """Head + 3 random frames, as (1, P, H) embeddings."""
    generator = torch.Generator().manual_seed(1)
    pixels = torch.randn(3, 3, 56, 56, generator=generator)
    frames = pipeline.model.encode_frames(pixels).reshape(1, -1, pipeline.config.hidden_size)
    return torch.cat([pipeline.model.embed(pipeline.chat.head_ids), frames], dim=1)
