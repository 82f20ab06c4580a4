"""Fuzz (hypothesis): prediction lines, annotation records and judge replies never crash a run,
and nothing reaches disk unsanitised (invalid Unicode, secrets)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnibench import sanitize
from omnibench.data import omnimmi
from omnibench.engine.eventlog import Event, EventLog, SampleRecord
from omnibench.errors import DataError
from omnibench.models.replay import PredictionStore, read_records
from omnibench.scoring.judge import VerdictParseError, parse_verdict

SECRET = "sk-fuzz-SECRET-5555aaaa9999"
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# text as models, files and judges produce it: any code point, lone surrogates included
texts = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=80)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), texts)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(texts, inner, max_size=4)), max_leaves=12)
record_keys = st.sampled_from(["video", "question", "answer", "pred", "qa", "conversation", "sample_id", "turn",
                               "text", "alerts", "task", "timestamp", "span", "human"])
records = st.dictionaries(record_keys, values, max_size=6)
lines = st.one_of(
    records.map(lambda r: json.dumps(r, allow_nan=True)),
    records.map(repr),                                   # Python-literal lines, as other harnesses write
    st.binary(max_size=120).map(lambda b: b.decode("latin-1")),
    st.sampled_from(['{"pred": ' + "9" * 5000 + "}", "[" * 5000, '{"alerts": [NaN, -1, 1e999]}', "\x00"]),
)


@pytest.fixture(autouse=True)
def _secret(monkeypatch):
    monkeypatch.setattr(sanitize, "_registered", {SECRET})


@FUZZ
@given(st.lists(lines, min_size=1, max_size=5))
def test_prediction_files_give_predictions_or_a_data_error(tmp_path, file_lines):
    path = tmp_path / "pa_M_0.json"
    path.write_bytes("\n".join(file_lines).encode("utf-8", "surrogatepass"))
    try:
        read_records(path)
        PredictionStore(path, "auto")
    except DataError as exc:
        assert "pa_M_0.json" in str(exc)


@FUZZ
@given(st.lists(st.one_of(records, values), min_size=1, max_size=4), st.sampled_from(["sg", "ap", "md", "si", "pa", "pt"]))
def test_annotation_records_give_samples_or_a_data_error(tmp_path, items, code):
    path = tmp_path / omnimmi.TASK_FILES[code]
    path.write_text(json.dumps(items, allow_nan=True, ensure_ascii=True), encoding="utf-8")
    try:
        omnimmi.load(code, tmp_path)
    except DataError as exc:
        assert path.name in str(exc)


@FUZZ
@given(st.one_of(texts, records.map(repr), records.map(lambda r: json.dumps(r, allow_nan=True)),
                 st.tuples(texts, texts).map(lambda p: '{"pred": %s, "score": %s}' % (json.dumps(p[0]), p[1]))))
def test_judge_replies_give_a_verdict_or_a_parse_error(reply):
    try:
        pred, score = parse_verdict(reply)
    except VerdictParseError:
        return
    assert isinstance(pred, bool) and 0 <= score <= 5


@FUZZ
@given(texts, texts)
def test_nothing_reaches_an_event_log_unsanitised(tmp_path, answer, error):
    log = EventLog(tmp_path / "log.jsonl")
    log.append(SampleRecord(sample_id="s", task="t", model="m", error=f"{error} key={SECRET}",
                            events=[Event(kind="emission", t=1.0, text=answer + SECRET, data={answer: [SECRET]})]))
    raw = log.path.read_bytes()
    raw.decode("utf-8")                                   # strict: no surrogate made it to disk
    assert SECRET.encode() not in raw
    assert list(log.records())[-1].events[0].text.endswith("***")
