"""The registry: decorators, groups, and plugins from another installed package via entry points."""

from __future__ import annotations

import importlib
import sys
from typing import Literal

import pytest

from omnibench import registry
from omnibench.errors import ConfigError

PLUGIN = '''
from omnibench.registry import task, model
from omnibench.task import Task, Prompts

@task("plugin_task", group="plugin_group", description="A task from an outside package")
def plugin_task():
    return Task(name="plugin_task", samples=list, protocols=("offline",), scorers=[], headline="x")

class PluginModel:
    """A model from an outside package"""
    needs_video = False
    def generate(self, request):
        return "plugged"
'''


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A package installed the way pip installs one: module + dist-info with entry_points.txt."""
    (tmp_path / "obplugin.py").write_text(PLUGIN)
    info = tmp_path / "obplugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: obplugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[omnibench.tasks]\nplugin_task = obplugin:plugin_task\n\n"
                                           "[omnibench.models]\nplugin_model = obplugin:PluginModel\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    monkeypatch.setattr(registry, "_loaded", False)
    yield
    registry._TASKS.pop("plugin_task", None)
    registry._MODELS.pop("plugin_model", None)
    sys.modules.pop("obplugin", None)


def test_outside_packages_add_tasks_and_models_by_entry_point(installed_plugin):
    assert registry.tasks()["plugin_task"].description == "A task from an outside package"
    assert registry.resolve_tasks("plugin_group") == ["plugin_task"]
    assert registry.models()["plugin_model"].description == "A model from an outside package"
    assert registry.get_model("plugin_model").generate(None) == "plugged"


def test_builtins_are_listed_with_descriptions():
    assert {"silent", "chatty", "random", "blind", "replay", "m4", "openai_compat"} <= set(registry.models())
    assert registry.resolve_tasks("omnimmi") == ["omnimmi_ap", "omnimmi_md", "omnimmi_pa", "omnimmi_pt",
                                                "omnimmi_sg", "omnimmi_si"]
    assert all(entry.description for entry in registry.tasks().values())


def test_model_args_are_never_evaluated_and_without_a_model_stay_text():
    assert registry.parse_model_args("a=1,b=2.5,c=true,d=none,e=__import__('os')") == {
        "a": "1", "b": "2.5", "c": "true", "d": "none", "e": "__import__('os')"}
    with pytest.raises(ConfigError, match="key=value"):
        registry.parse_model_args("oops")


@pytest.fixture
def typed_model():
    @registry.model("t_typed", hidden=True)
    class Typed:
        def __init__(self, checkpoint: str = "", revision: str | None = None, tag: str = "", fault: str | None = "x",
                     seed: int = 0, rate: float = 0.5, watch: bool = True, limit: int | None = 3,
                     fmt: Literal["a", "b"] = "a"):
            pass

    yield "t_typed"
    registry._MODELS.pop("t_typed", None)


def test_model_args_are_typed_by_the_factorys_annotations(typed_model):
    parsed = registry.parse_model_args("checkpoint=0001,revision=1.10,tag=nan,fault=None,seed=7,rate=1e-3,"
                                       "watch=false,fmt=b", typed_model)
    assert parsed == {"checkpoint": "0001", "revision": "1.10", "tag": "nan", "fault": "None", "seed": 7,
                      "rate": 0.001, "watch": False, "fmt": "b"}
    assert type(parsed["seed"]) is int and type(parsed["rate"]) is float
    assert registry.parse_model_args("limit=,fault=", typed_model) == {"limit": None, "fault": None}


@pytest.mark.parametrize("text, message", [
    ("seed=1.5", "seed='1.5' is not a whole number"),
    ("seed=", "seed='' is not a whole number"),
    ("rate=nan", "rate='nan' is not a finite number"),
    ("watch=maybe", "watch='maybe' is not true or false"),
    ("limit=None", r"limit='None' is not a whole number \(or empty for None\)"),
    ("fmt=c", "fmt='c' is not one of a, b"),
    ("seed=1,seed=2", "'seed' is given twice"),
    ("sed=1", "takes no setting 'sed'; it takes: checkpoint, fault, fmt, limit, rate, revision, seed, tag, watch"),
])
def test_bad_model_args_name_the_setting_and_what_it_takes(typed_model, text, message):
    with pytest.raises(ConfigError, match=message):
        registry.parse_model_args(text, typed_model)


def test_lmms_eval_models_keep_lmms_evals_own_reading():
    assert registry.parse_model_args("pretrained=x,max_frames_num=8", "lmms:llava") == {
        "pretrained": "x", "max_frames_num": 8}


def _install(tmp_path, monkeypatch, module: str, code: str, entry_points: str):
    (tmp_path / f"{module}.py").write_text(code)
    info = tmp_path / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    monkeypatch.setattr(registry, "_loaded", False)


def test_a_broken_entry_point_warns_naming_it_and_the_others_load(tmp_path, monkeypatch):
    _install(tmp_path, monkeypatch, "obbroken", "raise ImportError('missing dependency xyz')\n",
             "[omnibench.models]\nbroken_model = obbroken:Model\n")
    try:
        with pytest.warns(UserWarning, match="broken_model.*missing dependency xyz"):
            names = registry.models()
        assert "blind" in names and registry._loaded
    finally:
        sys.modules.pop("obbroken", None)


def test_a_duplicate_name_is_an_error_naming_both_sources():
    @registry.model("t_dup_model", hidden=True)
    class First:
        pass

    try:
        with pytest.raises(ConfigError, match=r"t_dup_model.*First.*Second"):
            @registry.model("t_dup_model", hidden=True)
            class Second:
                pass
    finally:
        registry._MODELS.pop("t_dup_model", None)


def test_an_adapters_own_type_error_surfaces_as_itself():
    @registry.model("t_typeerror", hidden=True)
    class Buggy:
        def __init__(self, size: int = 1):
            None + size

    try:
        with pytest.raises(TypeError, match="unsupported operand"):
            registry.get_model("t_typeerror")
        with pytest.raises(ConfigError, match="bad settings"):
            registry.get_model("t_typeerror", colour="red")
    finally:
        registry._MODELS.pop("t_typeerror", None)


def test_the_default_board_comes_from_the_registry_and_the_core_imports_no_models():
    import re
    from pathlib import Path

    assert {"silent", "chatty", "random", "blind", "m4-tiny"} <= set(registry.board_models())
    core = Path(registry.__file__).parent
    pattern = re.compile(r"^\s*(from|import) omnibench\.(models|m4)\b", re.M)
    # cli.py's `omnibench m4 train` dispatches to the m4 package on purpose
    offenders = [str(p) for p in core.rglob("*.py") if p.name != "cli.py" and pattern.search(p.read_text())]
    assert not offenders


def test_task_args_are_typed_by_the_task_factories():
    assert registry.parse_task_args("seed=01,n_per_task=3") == {"seed": 1, "n_per_task": 3}   # synth: seed: int
    with pytest.raises(ConfigError, match="--task-args: setting seed='x' is not a whole number"):
        registry.parse_task_args("seed=x")
    with pytest.raises(ConfigError, match="'seed' is given twice"):
        registry.parse_task_args("seed=1,seed=2")
