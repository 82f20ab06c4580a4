"""The LLM judge over real HTTP: the openai client against tests/fake_openai.py."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.eventlog import Event, SampleRecord
from omnibench.errors import ConfigError, JudgeError
from omnibench.scoring.judge import (
    JudgeClient,
    VerdictParseError,
    judge_turns,
    judgment_key,
    load_prompt,
    parse_verdict,
)
from tests.fake_openai import FakeOpenAI, FakeReply

KEY = "sk-test-SECRET-1234567890"
YES = "{'pred': 'yes', 'score': 5}"


@pytest.fixture(autouse=True)
def _no_judge_env(monkeypatch):
    for name in ("OMNIBENCH_JUDGE_MODEL", "OMNIBENCH_JUDGE_BASE_URL", "OMNIBENCH_JUDGE_API_KEY",
                 "OMNIBENCH_JUDGE_API_VERSION", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def make_client(server: FakeOpenAI, tmp_path, **kw) -> JudgeClient:
    settings = {"model": "judge-test", "base_url": server.base_url, "api_key": KEY,
                "cache_path": tmp_path / "judge.sqlite", "backoff_s": 0.01, "max_retries": 3, "timeout_s": 5}
    settings.update(kw)
    return JudgeClient(**settings)


def fields(body: dict) -> dict[str, str]:
    """Question / Correct Answer / Predicted Answer as the judge was shown them."""
    text = body["messages"][1]["content"]
    return {k: re.search(rf"^{k}: (.*)$", text, re.M).group(1)
            for k in ("Question", "Correct Answer", "Predicted Answer")}


def exact_match(body: dict) -> str:
    f = fields(body)
    same = f["Correct Answer"].lower() == f["Predicted Answer"].lower()
    return json.dumps({"pred": "yes" if same else "no", "score": 5 if same else 1})


# --- the request -------------------------------------------------------------------------------
def test_request_is_system_then_user_at_temperature_zero(tmp_path):
    with FakeOpenAI(handler=lambda body: YES) as server:
        verdicts = make_client(server, tmp_path).judge_many([("What is he doing?", "Cutting wood", "chopping")])
        body, headers = server.requests[0].json, server.requests[0].headers
    assert verdicts[0].pred is True and verdicts[0].score == 5 and not verdicts[0].cached
    assert body["model"] == "judge-test" and body["temperature"] == 0
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert fields(body) == {"Question": "What is he doing?", "Correct Answer": "Cutting wood",
                            "Predicted Answer": "chopping"}
    assert "'pred'" in body["messages"][1]["content"] and "'score'" in body["messages"][1]["content"]
    assert headers["authorization"] == f"Bearer {KEY}"


def test_braces_in_a_prediction_are_sent_verbatim(tmp_path):
    with FakeOpenAI(handler=lambda body: YES) as server:
        make_client(server, tmp_path).judge_many([("q {answer}", "a", "{question} {0} }{")])
        assert fields(server.requests[0].json) == {"Question": "q {answer}", "Correct Answer": "a",
                                                   "Predicted Answer": "{question} {0} }{"}


def test_empty_prediction_is_no_without_a_call(tmp_path):
    with FakeOpenAI(handler=lambda body: YES) as server:
        client = make_client(server, tmp_path)
        verdicts = client.judge_many([("q", "a", ""), ("q", "a", "  \n")])
        assert server.count == 0
    assert [(v.pred, v.score) for v in verdicts] == [(False, 0), (False, 0)]
    assert "empty prediction" in verdicts[0].reason and client.usage["skipped_empty"] == 2


# --- retries -----------------------------------------------------------------------------------
def _sequence(*replies):
    """A handler answering with `replies` in turn, then YES."""
    queue, lock = list(replies), threading.Lock()

    def handler(body):
        with lock:
            return queue.pop(0) if queue else YES
    return handler


def test_429_waits_for_retry_after(tmp_path):
    with FakeOpenAI(handler=_sequence(FakeReply(status=429, headers={"Retry-After": "1"}))) as server:
        start = time.monotonic()
        verdicts = make_client(server, tmp_path).judge_many([("q", "a", "p")])
        elapsed = time.monotonic() - start
        assert server.count == 2
    assert verdicts[0].pred is True
    assert 0.95 <= elapsed < 3.0  # our own backoff is 0.01 s: only Retry-After explains a 1 s wait


def test_500_and_garbage_bodies_are_retried(tmp_path):
    replies = (FakeReply(status=500), FakeReply(status=503), FakeReply(body="<html>bad gateway</html>"))
    with FakeOpenAI(handler=_sequence(*replies)) as server:
        client = make_client(server, tmp_path)
        verdicts = client.judge_many([("q", "a", "p")])
        assert server.count == 4
    assert verdicts[0].pred is True and client.usage["retries"] == 3


def test_timeout_is_retried(tmp_path):
    with FakeOpenAI(handler=_sequence(FakeReply(text=YES, delay_s=3.0))) as server:
        start = time.monotonic()
        verdicts = make_client(server, tmp_path, timeout_s=0.3).judge_many([("q", "a", "p")])
        assert time.monotonic() - start < 2.5
        assert server.count == 2
    assert verdicts[0].pred is True


def test_unparseable_reply_is_retried_then_unscored_with_reason(tmp_path):
    with FakeOpenAI(handler=lambda body: "The answer looks right to me.") as server:
        client = make_client(server, tmp_path, max_retries=2)
        verdicts = client.judge_many([("q", "a", "p")])
        assert server.count == 3
    assert verdicts[0].pred is None and verdicts[0].score is None
    assert "3 attempts" in verdicts[0].reason and "'pred'" in verdicts[0].reason
    assert client.usage["unscored"] == 1
    # an unscored verdict is not cached: the next run asks again
    with FakeOpenAI(handler=lambda body: YES) as server:
        assert make_client(server, tmp_path).judge_many([("q", "a", "p")])[0].pred is True
        assert server.count == 1


def test_persistent_5xx_gives_up_after_bounded_retries(tmp_path):
    with FakeOpenAI(handler=lambda body: FakeReply(status=502)) as server:
        verdict = make_client(server, tmp_path, max_retries=2).judge_many([("q", "a", "p")])[0]
        assert server.count == 3
    assert verdict.pred is None and "HTTP 502" in verdict.reason


# --- parsing -----------------------------------------------------------------------------------
@pytest.mark.parametrize("reply, expected", [
    ("{'pred': 'no', 'score': 2}", (False, 2)),
    ('{"pred": "yes", "score": 4}', (True, 4)),
    ("{'pred': 'yes', 'score': 4.8}", (True, 4)),          # int() truncation, as the reference
    ("```python\n{'pred': 'Yes.', 'score': '3'}\n```", (True, 3)),
    ("Sure. {'score': 0, 'pred': 'no'} Hope that helps", (False, 0)),
    ('{"pred": true, "score": 5}', (True, 5)),
])
def test_replies_parse_without_eval(reply, expected):
    assert parse_verdict(reply) == expected


@pytest.mark.parametrize("reply", [
    "", "yes", "{'pred': 'maybe', 'score': 3}", "{'pred': 'yes', 'score': 7}", "{'pred': 'yes'}",
    "{'pred': __import__('os').system('touch /tmp/pwned'), 'score': 1}", "{'pred': 'yes', 'score': 'high'}",
])
def test_bad_replies_raise_parse_errors(reply):
    with pytest.raises(VerdictParseError):
        parse_verdict(reply)


def test_dict_literal_reply_over_http(tmp_path):
    with FakeOpenAI(handler=lambda body: "{'pred': 'no', 'score': 2}") as server:
        verdict = make_client(server, tmp_path).judge_many([("q", "a", "p")])[0]
    assert (verdict.pred, verdict.score) == (False, 2)


# --- cache, secrets, concurrency ---------------------------------------------------------------
def test_second_run_is_served_from_cache(tmp_path):
    items = [(f"q{i}", "a", f"p{i}") for i in range(20)] + [("q0", "a", "p0")]  # a duplicate is asked once
    with FakeOpenAI(handler=lambda body: YES) as server:
        first = make_client(server, tmp_path).judge_many(items)
        assert server.count == 20
        again = make_client(server, tmp_path)
        second = again.judge_many(items)
        assert server.count == 20
    assert [(v.pred, v.score) for v in first] == [(v.pred, v.score) for v in second]
    assert all(v.cached for v in second) and again.usage["cached_hits"] == 21 and again.usage["requests"] == 0


def test_cache_key_covers_endpoint_model_prompt_parameters_and_inputs():
    def key(endpoint="http://a/v1", model="m", prompt="p1", params=None, q="q", a="a", p="p"):
        return judgment_key(endpoint, model, prompt, params or {"temperature": 0.0}, q, a, p)

    variants = {key(), key(endpoint="http://b/v1"), key(model="m2"), key(prompt="p2"),
                key(params={"temperature": 1.0}), key(params={"temperature": 0.0, "max_tokens": 5}), key(p="p2"),
                key(q="q|a", a="")}
    assert len(variants) == 8


def test_a_judge_at_another_endpoint_under_the_same_model_name_is_asked_again(tmp_path):
    """The cache key had no endpoint: judge B got 0 requests and judge A's verdicts were reported."""
    with FakeOpenAI(handler=lambda body: YES) as a, FakeOpenAI(handler=lambda body: YES) as b:
        make_client(a, tmp_path).judge_many([("q", "a", "p")])
        second = make_client(b, tmp_path).judge_many([("q", "a", "p")])
        assert a.count == 1 and b.count == 1 and not second[0].cached


def test_an_edited_prompt_file_keeping_its_version_is_asked_again(tmp_path):
    prompt = tmp_path / "judge_prompt.json"
    user = "Question: {question}\nCorrect Answer: {answer}\nPredicted Answer: {prediction}"
    prompt.write_text(json.dumps({"version": "mine-1", "system": "Grade strictly.", "user": user}))
    with FakeOpenAI(handler=lambda body: YES) as server:
        make_client(server, tmp_path, prompt=prompt).judge_many([("q", "a", "p")])
        prompt.write_text(json.dumps({"version": "mine-1", "system": "Grade leniently.", "user": user}))
        again = make_client(server, tmp_path, prompt=prompt).judge_many([("q", "a", "p")])
        assert server.count == 2 and not again[0].cached
        make_client(server, tmp_path, prompt=prompt, temperature=1.0).judge_many([("q", "a", "p")])
        assert server.count == 3


def test_a_fully_cached_run_needs_no_api_key(tmp_path):
    with FakeOpenAI(handler=lambda body: YES) as server:
        make_client(server, tmp_path).judge_many([("q", "a", "p")])
        url = server.base_url
    offline = JudgeClient(model="judge-test", base_url=url, cache_path=tmp_path / "judge.sqlite")
    assert offline.judge_many([("q", "a", "p")])[0].cached
    with pytest.raises(JudgeError, match="OMNIBENCH_JUDGE_API_KEY"):
        JudgeClient(model="judge-test", cache_path=tmp_path / "judge.sqlite").judge_many([("q", "a", "new")])


def test_api_key_never_leaks(tmp_path, caplog):
    leaky = json.dumps({"error": {"message": f"Incorrect API key provided: {KEY}"}})
    with FakeOpenAI(handler=lambda body: FakeReply(status=401, body=leaky)) as server:
        client = make_client(server, tmp_path)
        with pytest.raises(JudgeError) as failure:
            client.judge_many([("q", "a", "p")])
    with FakeOpenAI(handler=lambda body: FakeReply(status=400, body=leaky)) as server:
        rejected = make_client(server, tmp_path).judge_many([("q", "a", "p")])[0]
    texts = [repr(client), str(client.usage), str(failure.value), repr(failure.value), rejected.reason,
             caplog.text, repr(vars(client))]
    assert "HTTP 401" in str(failure.value) and rejected.pred is None and "HTTP 400" in rejected.reason
    assert all(KEY not in text for text in texts)


def test_calls_run_in_parallel_up_to_the_limit(tmp_path):
    in_flight, peak, lock = [0], [0], threading.Lock()

    def slow(body):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.3)
        with lock:
            in_flight[0] -= 1
        return YES

    with FakeOpenAI(handler=slow) as server:
        start = time.monotonic()
        make_client(server, tmp_path, concurrency=8).judge_many([(f"q{i}", "a", "p") for i in range(16)])
        elapsed = time.monotonic() - start
    assert elapsed < 1.8  # two waves of 0.3 s; one at a time would take 4.8 s
    assert 4 <= peak[0] <= 8


# --- prompts -----------------------------------------------------------------------------------
def test_prompt_file_override(tmp_path):
    path = tmp_path / "strict.json"
    path.write_text(json.dumps({"system": "Be strict.", "user": "Q={question} A={answer} P={prediction}"}))
    prompt = load_prompt(path)
    assert prompt.version.startswith("file:strict-")
    assert prompt.messages("q", "a", "p")[1]["content"] == "Q=q A=a P=p"
    path.write_text(json.dumps({"system": "s", "user": "no slots"}))
    with pytest.raises(ConfigError, match="question"):
        load_prompt(path)
    with pytest.raises(ConfigError, match="unknown judge prompt"):
        load_prompt("omnimmi-v9")


# --- the scorer --------------------------------------------------------------------------------
def _sample(task: str, turns: list[tuple[str, str]]) -> Sample:
    return Sample(id=f"{task}-0", task=task, video=VideoRef(path="videos/v.mp4"),
                  turns=[Query(t=float(i + 1), text=q, target=a, depends_on=(i - 1 if "##ANSWER##" in q else None))
                         for i, (q, a) in enumerate(turns)])


def _record(sample: Sample, answers: list[str], status="ok") -> SampleRecord:
    events = [Event(kind="emission", t=float(i + 1), turn=i, text=chunk)
              for i, answer in enumerate(answers) for chunk in (answer[:2], answer[2:])]  # deltas
    return SampleRecord(sample_id=sample.id, task=sample.task, model="m", events=events, status=status,
                        error="boom" if status == "error" else None)


def test_scorer_computes_state_grounding_values(tmp_path):
    sg = _sample("omnimmi_sg", [("Now?", "cut"), ("And now?", "stir"), ("Now?", "fry")])
    with FakeOpenAI(handler=exact_match) as server:
        scorer = judge_turns(lambda: make_client(server, tmp_path))
        all_right, second_wrong = scorer.batch([(sg, _record(sg, ["cut", "stir", "fry"])),
                                                (sg, _record(sg, ["cut", "boil", "fry"]))])
        assert scorer.judge_model() == "judge-test"
    assert all_right.values["accuracy"] == 1.0 and all_right.values["score"] == 5.0
    assert second_wrong.values["accuracy"] == 0.0
    assert second_wrong.values["turn_accuracy"] == pytest.approx(2 / 3)
    assert second_wrong.values["step_accuracy"] == pytest.approx(1 / 3)  # only turn 1 is right so far
    assert [second_wrong.values[f"step_accuracy@{k}"] for k in (1, 2, 3)] == [1.0, 0.0, 0.0]
    assert [second_wrong.values[f"turn_accuracy@{k}"] for k in (1, 2, 3)] == [1.0, 0.0, 1.0]
    assert second_wrong.values["score"] == pytest.approx((5 + 1 + 5) / 3)
    assert second_wrong.weights == {"turn_accuracy": 3.0, "step_accuracy": 3.0}
    assert second_wrong.unscored is None and "turn 2: no 1" in second_wrong.explanation


def test_scorer_single_turn_tasks_get_accuracy_and_score_only(tmp_path):
    ap = _sample("omnimmi_ap", [("What next?", "Add salt")])
    with FakeOpenAI(handler=exact_match) as server:
        score = judge_turns(make_client(server, tmp_path))(ap, _record(ap, ["add salt"]))
    assert score.values == {"accuracy": 1.0, "score": 5.0}


def test_scorer_leaves_answer_slot_as_the_reference_does(tmp_path):
    md = _sample("omnimmi_md", [("What tool?", "knife"), ("What is ##ANSWER## used for?", "cutting")])
    record = _record(md, ["a knife", "cutting"])
    with FakeOpenAI(handler=exact_match) as server:
        judge_turns(make_client(server, tmp_path))(md, record)
        first = [fields(body)["Question"] for body in server.bodies]   # turns are judged concurrently
        judge_turns(make_client(server, tmp_path), fill_answers=True)(md, record)
        second = [fields(body)["Question"] for body in server.bodies[len(first):]]
    assert sorted(first) == ["What is ##ANSWER## used for?", "What tool?"]
    assert second == ["What is a knife used for?"]                  # turn 0 is unchanged: from the cache


def test_scorer_unscored_turn_makes_the_sample_unscored_and_errors_are_not_judged(tmp_path):
    sg = _sample("omnimmi_sg", [("Now?", "cut"), ("And now?", "stir")])

    def flaky(body):
        return "not a verdict" if fields(body)["Correct Answer"] == "stir" else YES

    with FakeOpenAI(handler=flaky) as server:
        scorer = judge_turns(make_client(server, tmp_path, max_retries=1))
        unscored, errored = scorer.batch([(sg, _record(sg, ["cut", "stir"])),
                                          (sg, _record(sg, ["x", "y"], status="error"))])
        assert server.count == 1 + 2  # errored record: no call
    assert unscored.unscored and "turn 2" in unscored.unscored and unscored.values["accuracy"] is None
    assert errored.unscored and "errored" in errored.unscored and errored.values["accuracy"] is None
