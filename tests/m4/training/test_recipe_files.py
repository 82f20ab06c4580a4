"""Recipe files we did not write: every unreadable one is a ConfigError naming the file (and the line where known)."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnibench.errors import ConfigError
from omnibench.m4.training.recipe import load_recipe


def recipe_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_recipe(str(path))
    message = str(caught.value)
    assert str(path) in message
    return message


def test_invalid_utf8_names_the_file_and_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: latin1\ndescription: caf\xe9\n")
    message = recipe_error(path)
    assert "line 2" in message and "UTF-8" in message


@pytest.mark.parametrize("name, text", [
    ("deep.yaml", "name: deep\ntiny: " + "[" * 5000 + "]" * 5000 + "\n"),
    ("deep.json", '{"name": "deep", "tiny": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"),
], ids=["yaml", "json"])
def test_deep_nesting_is_a_config_error_not_a_recursion_error(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert "nested" in recipe_error(path)


def test_broken_yaml_names_the_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nlearning_rate: [1e-5\nseed: 3\n", encoding="utf-8")
    assert "line 3" in recipe_error(path)


def test_a_5000_digit_integer_is_a_config_error(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("name: huge\nseed: " + "9" * 5000 + "\n", encoding="utf-8")
    assert "digits" in recipe_error(path)


def test_a_recipe_that_is_not_a_mapping_is_a_config_error(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- name: a\n- name: b\n", encoding="utf-8")
    assert "mapping" in recipe_error(path)
