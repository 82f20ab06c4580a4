"""safejson: malformed JSON/JSONL is a DataError naming the file and line, never a traceback."""

from __future__ import annotations

import pytest

from omnibench.errors import DataError
from omnibench.safejson import iter_jsonl, load_json, loads


@pytest.mark.parametrize("line, reason", [
    ('{"a": ' + "1" * 5000 + "}", "digits"),
    ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested deeper"),
    ('{"a": NaN}', "non-finite"),
    ('{"a": 1e999}', "out of range"),
    ('{"a": ', "not valid JSON"),
], ids=["huge-int", "deep", "nan", "overflow", "torn"])
def test_bad_lines_name_file_and_line(tmp_path, line, reason):
    path = tmp_path / "x.jsonl"
    path.write_text('{"ok": 1}\n\n' + line + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"x.jsonl.*line 3.*{reason}"):
        list(iter_jsonl(path))


def test_bad_bytes_name_the_line(tmp_path):
    path = tmp_path / "x.json"
    path.write_bytes(b'[\n{"a": "ok"},\n{"a": "\xff"}]')
    with pytest.raises(DataError, match=r"x.json.*line 3: invalid UTF-8"):
        load_json(path)
    path.write_bytes(b'[\n\n{"a": "\x00"}]')
    with pytest.raises(DataError, match=r"x.json.*line 3: NUL byte"):
        load_json(path)


def test_brackets_inside_strings_do_not_count_as_nesting_and_nonfinite_is_opt_in():
    assert loads('{"a": "' + "[" * 1000 + '"}') == {"a": "[" * 1000}
    assert loads("[NaN]", nonfinite=True)[0] != loads("[NaN]", nonfinite=True)[0]
    with pytest.raises(DataError, match="nested deeper than 3"):
        loads("[[[[1]]]]", max_depth=3)


def test_prompt_files_are_read_safely(tmp_path):
    from omnibench.scoring.judge import load_prompt
    from omnibench.task import prompt_overrides

    bad = tmp_path / "prompts.json"
    bad.write_bytes(b'{"t": {"offline": "\xff"}}')
    with pytest.raises(DataError, match=r"prompts.json.*line 1: invalid UTF-8"):
        prompt_overrides(bad, "t")
    bad.write_text('{"system": "s", "user": ' + "[" * 5000 + "]" * 5000 + "}")
    with pytest.raises(DataError, match=r"prompts.json.*nested deeper"):
        load_prompt(bad)
