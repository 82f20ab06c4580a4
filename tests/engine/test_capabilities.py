"""Adapter capabilities: read once, typed, validated when the model is built."""

from __future__ import annotations

import pytest

from omnibench.engine.capabilities import Capabilities, capabilities_of
from omnibench.engine.evaluate import Evaluation
from omnibench.errors import ConfigError


def test_attributes_become_one_typed_object():
    class Api:
        max_concurrency = 8
        transient_errors = (TimeoutError,)
        num_frames = 4
        deterministic = True

    caps = capabilities_of(Api())
    assert caps == Capabilities(max_concurrency=8, transient_errors=(TimeoutError,), num_frames=4, deterministic=True)
    assert caps.public()["transient_errors"] == ["TimeoutError"]


def test_a_bad_declaration_fails_when_the_model_is_built(tmp_path):
    class Bad:
        needs_video = False
        max_concurrency = 0
        transient_errors = ("ConnectionError",)

        def generate(self, request):
            return ""

    with pytest.raises(ConfigError, match="model bad declares bad capabilities.*max_concurrency"):
        Evaluation(model="bad", out=tmp_path, model_obj=Bad(), progress=False)
