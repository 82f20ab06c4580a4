"""The sanitiser: invalid Unicode is replaced (counted), secrets are masked in every stored text."""

from __future__ import annotations

import json

import pytest

from omnibench import sanitize
from omnibench.engine.evaluate import Evaluation
from omnibench.engine.eventlog import EventLog, SampleRecord
from omnibench.errors import ModelError
from omnibench.scoring.rules import choice_match
from omnibench.scoring.run_scores import score_run
from tests.conftest import text_samples

KEY = "sk-live-0123456789abcdefXYZ"


@pytest.fixture(autouse=True)
def fresh_secrets(monkeypatch):
    monkeypatch.setattr(sanitize, "_registered", set())
    for name in ("OPENAI_API_KEY", "OMNIBENCH_JUDGE_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def every_text_under(root) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in root.rglob("*") if p.is_file())


def test_lone_surrogate_becomes_replacement_character_and_is_counted():
    before = sanitize.invalid_unicode_count()
    assert sanitize.scrub("yes \ud83d") == "yes \ufffd"
    assert sanitize.invalid_unicode_count() == before + 1
    assert sanitize.scrub("ok \ud83d\ude00") == "ok \U0001F600"     # a split pair is joined, not lost


def test_registered_and_environment_secrets_are_masked_inside_text(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "env-key-123456")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-abcdef-99")
    sanitize.register_secrets([KEY, None, "EMPTY"])
    text = sanitize.scrub(f"401: bad key {KEY}; env env-key-123456; tok-abcdef-99; EMPTY stays")
    assert KEY not in text and "env-key-123456" not in text and "tok-abcdef-99" not in text
    assert text.count("***") == 3 and "EMPTY stays" in text


def test_secret_settings_by_whole_name_and_unregistered_bearer_tokens():
    """One secret rule (rundir.is_secret, whole names): `tokenizer=` is a setting, its value stays readable."""
    sanitize.register_secret_settings({"api_key": "abc-secret-value", "model": "gpt-4o-mini-2024",
                                       "tokenizer": "Qwen/Qwen2-7B-Instruct", "my_pin": "pin-4711-xyz"},
                                      declared={"my_pin"})
    text = sanitize.scrub("Authorization: Bearer zz9-unknown-token-1 for abc-secret-value, model gpt-4o-mini-2024 "
                          "with Qwen/Qwen2-7B-Instruct, pin pin-4711-xyz")
    assert text == "Authorization: Bearer *** for ***, model gpt-4o-mini-2024 with Qwen/Qwen2-7B-Instruct, pin ***"


def test_stamping_reference_results_goes_through_the_sanitiser(tmp_path):
    """stamp_results rewrote results.json with a plain dump: a secret stayed, a lone surrogate (a non-UTF-8
    folder name in the note) ended the run with a serialisation error."""
    from omnibench.reference import stamp_results
    from omnibench.results import Results, TaskResult

    sanitize.register_secrets([KEY])
    result = TaskResult(task="omnimmi_si", model="m", headline="accuracy", metrics={}, n_samples=0, n_scored=0,
                        n_errors=0, n_unscored=0, settings={"endpoint": f"https://x/?k={KEY}"})
    (tmp_path / "results.json").write_text(Results(results=[result]).model_dump_json(), encoding="utf-8")
    stamp_results(tmp_path, {"reference": "omnimmi", "reference_note": "prompts from /data/caf\udce9"})
    text = (tmp_path / "results.json").read_text(encoding="utf-8")
    [stamped] = Results.model_validate_json(text).results
    assert KEY not in text and stamped.settings["endpoint"] == "https://x/?k=***"
    assert stamped.settings["reference"] == "omnimmi"
    assert stamped.settings["reference_note"] == "prompts from /data/caf\ufffd"


def test_clean_walks_nested_structures_keys_included():
    sanitize.register_secrets([KEY])
    out = sanitize.clean({"a": [KEY, ("x", f"k={KEY}")], KEY: {"n": 1, "s": "\udc80"}})
    assert out == {"a": ["***", ("x", "k=***")], "***": {"n": 1, "s": "\ufffd"}}


def test_eventlog_append_survives_a_lone_surrogate_and_masks_secrets(tmp_path):
    """Used to raise PydanticSerializationError (surrogates not allowed) and kill the run."""
    sanitize.register_secrets([KEY])
    log = EventLog(tmp_path / "log.jsonl")
    log.append(SampleRecord(sample_id="s", task="t", model="m", status="error", error=f"yes \ud83d {KEY}"))
    [record] = list(log.records())
    assert record.error == "yes \ufffd ***"


class EchoingModel:
    """Answers with a truncated emoji; on some samples fails with a 400 that echoes its key."""

    needs_video = False

    def __init__(self, api_key: str):
        self.api_key = api_key

    def generate(self, request):
        if request.sample_id.endswith("1"):
            raise ModelError(f"BadRequestError: Error code: 400 - invalid key {self.api_key} (Bearer {self.api_key})")
        return "a0 \ud83d"


def test_a_run_stores_no_secret_and_no_invalid_unicode_anywhere(tmp_path, memory_task):
    name = memory_task("t_sanitize", text_samples(4, "t_sanitize"), scorers=[choice_match()], protocols=("offline",))
    out = tmp_path / "run"
    evaluation = Evaluation(model="echo", model_args={"api_key": KEY}, out=out,
                            model_obj=EchoingModel(KEY), progress=False)
    [status] = evaluation.run([name])
    assert status.ran == 4 and status.errors == 1
    score_run(out)
    stored = every_text_under(out)
    assert KEY not in stored and "***" in stored
    for path in out.rglob("*.json*"):
        for line in path.read_text(encoding="utf-8").splitlines():
            json.loads(line) if path.suffix == ".jsonl" else None
    rows = [json.loads(x) for x in (out / "scores" / name).glob("*.jsonl").__next__().read_text().splitlines()]
    assert any(r.get("error") and "***" in r["error"] for r in rows)


class CachedSurrogate:
    """A deterministic adapter (its answers go to the response cache) that answers with a cut emoji."""

    needs_video = False
    deterministic = True

    def generate(self, request):
        return "a0 \ud83d"


def test_surrogates_in_annotations_and_in_cached_answers_are_not_fatal(tmp_path, memory_task):
    """write_samples and the sqlite response cache used to raise on lone surrogates (outside the sample guard)."""
    samples = [s.model_copy(update={"turns": [s.turns[0].model_copy(update={"text": "what \udc80 now?"})]})
               for s in text_samples(2, "t_surrogate_in")]
    name = memory_task("t_surrogate_in", samples, scorers=[choice_match()], protocols=("offline",))
    for _ in range(2):                          # the second run is served from the cache
        [status] = Evaluation(model="cached", out=tmp_path / "run", model_obj=CachedSurrogate(),
                              progress=False).run([name])
        assert status.errors == 0
    stored = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "run" / "samples" / name).glob("*.jsonl"))
    assert "what \ufffd now?" in json.loads(stored.splitlines()[0])["turns"][0]["text"]


def test_run_says_how_many_invalid_code_points_it_replaced(tmp_path, memory_task, capsys):
    from omnibench import registry
    from omnibench.cli import main

    name = memory_task("t_count_fffd", text_samples(3, "t_count_fffd"), scorers=[choice_match()], protocols=("offline",))

    @registry.model("t_cut_emoji", hidden=True)
    class CutEmoji:
        needs_video = False

        def generate(self, request):
            return "a0 \ud83d"

    try:
        assert main(["run", "--model", "t_cut_emoji", "--tasks", name, "--out", str(tmp_path / "run"), "--quiet"]) == 0
    finally:
        registry._MODELS.pop("t_cut_emoji", None)
    err = capsys.readouterr().err.splitlines()
    assert any(line.endswith("invalid Unicode code point(s) in answers or files read were stored as U+FFFD")
               and int(line.split()[0]) >= 3 for line in err), err      # one an answer, at least


@pytest.mark.parametrize("text, masked", [
    ("http://user:hunter2-pass@judge.local:8000/v1", "http://***@judge.local:8000/v1"),
    ("https://tok3n-only@host/v1", "https://***@host/v1"),
    ("https://x.openai.azure.com/v1?api-version=2024&api-key=abc123def456", "https://x.openai.azure.com/v1?api-version=2024&api-key=***"),
    ("https://host/v1?key=AIzaSyD-123456&alt=json", "https://host/v1?key=***&alt=json"),
    ("--model-args api_key=abc123def456,base_url=http://h", "--model-args api_key=***,base_url=http://h"),
    ('{"api_key": "abc123def456", "model": "m"}', '{"api_key": "***", "model": "m"}'),
    ("header api-key: abc123def456", "header api-key: ***"),
    ('{"authorization": "Basic c29tZW9uZTpodW50ZXIy"}', '{"authorization": "***"}'),
    ("authorization: Basic c29tZW9uZTpodW50ZXIy", "authorization: Basic ***"),
    ('api_key="abc123def456" # quoted', 'api_key="***" # quoted'),
    ("https://u:" + "p" * 5000 + "@host/v1", "https://***@host/v1"),
], ids=["userinfo", "user-only", "query-api-key", "query-key", "argv", "json", "header", "basic-json",
        "basic-header", "quoted-assign", "long-userinfo"])
def test_secret_shaped_text_is_masked_without_registration(text, masked):
    assert sanitize.scrub(text) == masked


def test_settings_named_like_secrets_only_by_whole_name_stay_readable():
    text = "max_tokens=5 tokens_per_poll=3 keyframes=2 monkey=1 api_key_file=x.txt; a basic understanding"
    assert sanitize.scrub(text) == text


def test_the_terminal_is_scrubbed_too(monkeypatch, capsys):
    """Everything a command prints goes through the scrubber (stdout and stderr)."""
    import sys

    sanitize.register_secrets([KEY])
    with sanitize.scrubbed_terminal():
        print(f"key {KEY} on stdout")
        print("url http://u:p4ssw0rd-x@h/v1 on stderr", file=sys.stderr)
    out, err = capsys.readouterr()
    assert KEY not in out and "***" in out and "p4ssw0rd-x" not in err


def test_masking_inside_json_text_nested_in_json_keeps_it_valid_json():
    """A server's JSON error body stored inside a record's JSON: escaped quotes, and values never eat a backslash."""
    body = json.dumps({"authorization": "Basic c29tZW9uZTpodW50ZXIy", "api_key": "zzz123456789", "url":
                       "http://u:pw-123456@h/v1?token=t0k3n-9999&x=1"})
    text = sanitize.scrub(json.dumps({"error": f"400: {body}"}))
    inner = json.loads(json.loads(text)["error"][5:])
    assert inner == {"authorization": "***", "api_key": "***", "url": "http://***@h/v1?token=***&x=1"}
