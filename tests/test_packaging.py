"""OVO-Bench's CC BY-NC-SA annotations can never ride inside omnibench's MIT wheel.

setuptools' own selection (build_py.find_data_files with this pyproject.toml) is asked which files
of a package tree it would ship, on a tree with OVO-Bench copies planted where a user or a
helper might leave them; and no file of the real tree that a wheel could take is an OVO-Bench
annotation file, whatever its name.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OVO_CODES = {"EPM", "ASI", "HLD", "OJR", "STU", "OCR", "ATR", "ACR", "FPD", "REC", "SSR", "CRR"}


@pytest.fixture
def build_py(monkeypatch):
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    monkeypatch.chdir(ROOT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")         # "[tool.setuptools] in pyproject.toml is still beta"
        dist = apply_configuration(Distribution(), str(ROOT / "pyproject.toml"))
    cmd = dist.get_command_obj("build_py")
    cmd.ensure_finalized()
    # files a MANIFEST would add go through the same exclude filter (build_py.exclude_data_files);
    # none is listed here, so what is checked is the package-data globs and their exclusions
    cmd.manifest_files = {}
    return cmd


def test_setuptools_leaves_planted_ovobench_copies_out_and_keeps_our_data(build_py, tmp_path):
    record = json.dumps([{"id": 0, "task": "EPM", "video": "v.mp4", "realtime": 1, "question": "q",
                          "options": ["a", "b"], "gt": 0}])
    planted = ["ovo_bench_new.json", "data/ovo_bench_new.json", "data/ovobench/ovo_bench_new.json",
               "data/ovobench_files/annotations.json", "data/OVO-Bench/data/anything.json", "ovobench/x.json",
               "results/OVO_Bench_new.json"]
    for rel in planted + ["data/peer_files/ovobench_reported.csv", "data/streamingbench_files/questions_sqa.json"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(record)
    for package in ("omnibench", "omnibench.tasks"):
        shipped = {os.path.relpath(f, tmp_path) for f in build_py.find_data_files(package, str(tmp_path))}
        assert not shipped & set(planted), (package, shipped & set(planted))
    shipped = {os.path.relpath(f, tmp_path) for f in build_py.find_data_files("omnibench", str(tmp_path))}
    assert {"data/peer_files/ovobench_reported.csv", "data/streamingbench_files/questions_sqa.json"} <= shipped


def _is_ovo_annotation(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, list) and any(isinstance(r, dict) and r.get("task") in OVO_CODES and
                                          ("realtime" in r or "test_info" in r) for r in data[:50])


def test_no_file_a_wheel_could_take_is_an_ovobench_annotation_file(build_py):
    dirs = {"omnibench": ROOT / "omnibench", "omnibench.tasks": ROOT / "tasks", "omnibench.models": ROOT / "models",
            "omnibench.m4": ROOT / "m4"}
    checked = 0
    for package, folder in dirs.items():
        for f in build_py.find_data_files(package, str(folder)):
            if f.endswith(".json"):
                checked += 1
                assert not _is_ovo_annotation(Path(f)), f
    assert checked > 5        # the packaged OmniMMI and StreamingBench files were looked at
