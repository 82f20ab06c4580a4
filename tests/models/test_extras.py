"""Adapters with an optional extra say which one is missing when they are built, once, with the pip
line; not once per sample from inside a session ("No module named 'google'")."""

from __future__ import annotations

import sys

import pytest

from omnibench import registry
from omnibench.engine.evaluate import Evaluation
from omnibench.errors import ConfigError

# adapter, its extra in pyproject.toml, a module of that extra, the model args it is built with
# (openai_compat needs only openai, a core dependency)
MISSING = [("gemini_live", "gemini", "google.genai", {"api_key": "g-key"}),
           ("openai_realtime", "realtime", "websockets", {"api_key": "sk-key"}),
           ("openai_realtime", "realtime", "openai", {"api_key": "sk-key"})]


@pytest.mark.parametrize("name,extra,module,args", MISSING)
def test_a_missing_extra_fails_when_the_adapter_is_built(monkeypatch, name, extra, module, args):
    monkeypatch.setitem(sys.modules, module, None)          # what `import` meets when the package is absent
    with pytest.raises(ConfigError, match=rf'pip install "omnibench\[{extra}\]"') as err:
        registry.get_model(name, **args)
    assert module in str(err.value) and "key" not in str(err.value).replace(module, "")


def test_a_run_without_the_extra_stops_before_any_sample(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.genai", None)
    with pytest.raises(ConfigError, match="gemini"):
        Evaluation(model="gemini_live", model_args={"api_key": "g-key"}, out=tmp_path, mode="realtime",
                   progress=False)
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize("name,variables", [("gemini_live", ("GEMINI_API_KEY", "GOOGLE_API_KEY")),
                                            ("openai_realtime", ("OPENAI_API_KEY",))])
def test_a_missing_key_fails_when_the_adapter_is_built(monkeypatch, name, variables):
    for variable in variables:
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ConfigError, match=variables[0]):
        registry.get_model(name)
