"""A failing judge (401, no key, a reply echoing the key) never costs other scores and never stores the key."""

from __future__ import annotations

import json

import pytest

from omnibench import sanitize
from omnibench.engine.evaluate import Evaluation
from omnibench.report import write_report
from omnibench.scoring.judge import JudgeClient, judge_turns
from omnibench.scoring.rules import choice_match
from omnibench.scoring.run_scores import score_run
from tests.conftest import text_samples
from tests.fake_openai import FakeOpenAI, FakeReply

KEY = "sk-judge-SECRET-0987654321abc"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.setattr(sanitize, "_registered", set())
    for name in ("OMNIBENCH_JUDGE_MODEL", "OMNIBENCH_JUDGE_BASE_URL", "OMNIBENCH_JUDGE_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


class Answers:
    needs_video = False

    def generate(self, request):
        return "a1"


def run_two_tasks(tmp_path, memory_task, client_factory):
    rule = memory_task("t_rule", text_samples(3, "t_rule"), scorers=[choice_match()], protocols=("offline",))
    judged = memory_task("t_judged", text_samples(3, "t_judged"), scorers=[judge_turns(client_factory)],
                         protocols=("offline",))
    out = tmp_path / "run"
    Evaluation(model="m", out=out, model_obj=Answers(), progress=False).run([rule, judged])
    return out, {r.task: r for r in score_run(out, tasks=[rule, judged])}


def rows(out, task):
    return [json.loads(x) for p in (out / "scores" / task).glob("*.jsonl") for x in p.read_text().splitlines()]


def every_text_under(root) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in root.rglob("*") if p.is_file())


def test_a_401_echoing_the_key_leaves_rule_tasks_scored_and_judged_ones_unscored_with_the_reason(tmp_path, memory_task):
    """Used to abort the whole `score` command; the echoed key reached scores/ and index.html."""
    echo = json.dumps({"error": {"message": f"Incorrect API key provided: Bearer {KEY}", "code": "invalid_api_key"}})
    with FakeOpenAI(lambda body: FakeReply(status=401, body=echo)) as server:
        out, results = run_two_tasks(tmp_path, memory_task, lambda: JudgeClient(
            model="j", base_url=server.base_url, api_key=KEY, use_cache=False, max_retries=0))
    assert results["t_rule"].metrics["accuracy"].value == pytest.approx(1 / 3)
    judged = rows(out, "t_judged")
    assert len(judged) == 3 and all("HTTP 401" in r["unscored"] for r in judged)
    write_report([out], tmp_path / "report")
    stored = every_text_under(tmp_path)
    assert KEY not in stored and "***" in stored


def test_no_judge_key_leaves_rule_tasks_scored(tmp_path, memory_task):
    out, results = run_two_tasks(tmp_path, memory_task, lambda: JudgeClient(model="j", use_cache=False))
    assert results["t_rule"].metrics["accuracy"].value == pytest.approx(1 / 3)
    assert all("no judge API key" in r["unscored"] for r in rows(out, "t_judged"))


def test_a_judge_reply_echoing_the_authorization_header_is_unscored_and_masked(tmp_path, memory_task):
    reply = f"I received: Authorization: Bearer {KEY}. I cannot judge this."
    with FakeOpenAI(lambda body: reply) as server:
        out, _ = run_two_tasks(tmp_path, memory_task, lambda: JudgeClient(
            model="j", base_url=server.base_url, api_key=KEY, use_cache=False, max_retries=0))
    judged = rows(out, "t_judged")
    assert all(r["unscored"] and "Bearer ***" in r["unscored"] for r in judged)
    write_report([out], tmp_path / "report")
    assert KEY not in every_text_under(tmp_path)
