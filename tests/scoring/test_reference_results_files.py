"""The reference's judged files are read like every file we did not write: a bad one is a DataError naming it."""

from __future__ import annotations

import pytest

from omnibench.errors import DataError
from omnibench.scoring.reference_results import read_judged


def judged_folder(tmp_path, body: bytes):
    folder = tmp_path / "gpt4o"
    folder.mkdir()
    (folder / "v0##0.json").write_text('[{"pred": "yes", "score": 5}, {}]', encoding="utf-8")
    (folder / "v1##1.json").write_bytes(body)
    return folder


def test_a_5000_digit_integer_is_a_data_error_naming_the_file(tmp_path):
    folder = judged_folder(tmp_path, b'[{"pred": "yes",\n "score": ' + b"9" * 5000 + b"}, {}]")
    with pytest.raises(DataError) as caught:
        read_judged(folder, "omnimmi_ap")
    assert str(folder / "v1##1.json") in str(caught.value) and "digits" in str(caught.value)


def test_broken_json_names_the_file_and_line(tmp_path):
    folder = judged_folder(tmp_path, b'[{"pred": "yes",\n "score": }, {}]')
    with pytest.raises(DataError, match=r"v1##1\.json: line 2"):
        read_judged(folder, "ap")


def test_invalid_utf8_and_deep_nesting_name_the_file(tmp_path):
    folder = judged_folder(tmp_path, b'[{"pred": "caf\xe9", "score": 1}, {}]')
    with pytest.raises(DataError, match=r"v1##1\.json: line 1: invalid UTF-8"):
        read_judged(folder, "ap")
    (folder / "v1##1.json").write_bytes(b"[" * 5000 + b"]" * 5000)
    with pytest.raises(DataError, match=r"v1##1\.json: .*nested"):
        read_judged(folder, "ap")


def test_a_good_folder_still_reads(tmp_path):
    folder = judged_folder(tmp_path, b'[{"pred": "no", "score": "2"}, {}]')
    assert [s.sample_id for s in read_judged(folder, "ap")] == ["v0##0", "v1##1"]
