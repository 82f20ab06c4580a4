"""A run directory is a file a user may receive: endpoints and keys come from the user, never from it,
and no secret is written to any file or printed, on any path (a run, a score, a report, a killed
run, a refused second run, servers echoing the key, URLs with userinfo or key parameters)."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from omnibench import sanitize
from tests.fake_openai import FakeOpenAI, FakeReply
from tests.secret_run import make_data, register

ENV_KEY = "sk-envOPENAI-planted-0123456789"          # OPENAI_API_KEY
JUDGE_KEY = "judge-key-planted-ABCDEF012345"          # OMNIBENCH_JUDGE_API_KEY
MODEL_KEY = "model-key-planted-9876543210"           # --model-args api_key=
USER_PASS = "userinfo-pass-planted-4242"               # http://user:PASS@ in the model's base_url
QUERY_KEY = "query-key-planted-7777"                   # ?api-key= in the model's base_url
JUDGE_PASS = "judge-pass-planted-5151"                 # userinfo in the judge's base_url
JUDGE_QUERY = "judge-query-planted-6161"               # ?key= in the judge's base_url
# userinfo travels as an `Authorization: Basic base64(user:password)` header: that is a credential too
BASIC = [base64.b64encode(f"someone:{p}".encode()).decode()[:24] for p in (USER_PASS, JUDGE_PASS)]
PLANTED = (ENV_KEY, JUDGE_KEY, MODEL_KEY, USER_PASS, QUERY_KEY, JUDGE_PASS, JUDGE_QUERY, *BASIC)
ROOT = Path(__file__).resolve().parents[1]


def echo(server: FakeOpenAI, status: int) -> FakeReply:
    """An error reply repeating the request's path and headers (the key, any basic auth), as some servers do."""
    got = server.requests[-1]
    return FakeReply(status=status, body=json.dumps({"error": {"message": f"bad request {got.path} with headers "
                                                               f"{json.dumps(got.headers)}"}}))


def answers(server: FakeOpenAI):
    def reply(body) -> str | FakeReply:
        prompt = json.dumps(body)
        return echo(server, 400) if "question of 1?" in prompt else ("a0" if "question of 0?" in prompt else "a2")
    return reply


def verdicts(server: FakeOpenAI):
    return lambda body: '{"pred": "yes", "score": 5}' if "a0" in json.dumps(body) else echo(server, 400)


def with_userinfo(url: str, password: str) -> str:
    return url.replace("http://", f"http://someone:{password}@")


def cli(*argv: str) -> tuple[int, str]:
    from omnibench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue() + err.getvalue()


def leaks(texts: list[str], *roots: Path) -> list[str]:
    found = [f"printed: ...{t[max(0, t.find(s) - 60):t.find(s) + 40]!r}" for t in texts for s in PLANTED if s in t]
    for root in roots:
        for path in (p for p in root.rglob("*") if p.is_file()):
            data = path.read_bytes()
            found += [f"{path.relative_to(root.parent)} holds {s}" for s in PLANTED if s.encode() in data]
            found += [f"file name {path}" for s in PLANTED if s in str(path)]
    return found


@pytest.fixture
def planted(tmp_path, monkeypatch):
    monkeypatch.setattr(sanitize, "_registered", set())
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    monkeypatch.setenv("OMNIBENCH_JUDGE_API_KEY", JUDGE_KEY)
    monkeypatch.setenv("OMNIBENCH_CACHE", str(tmp_path / "cache"))
    data = make_data(tmp_path / "data")
    register(data)
    yield data
    from omnibench import registry

    registry._TASKS.pop("t_secret", None)


def test_run_score_report_and_failing_servers_leak_no_planted_key(tmp_path, planted):
    printed: list[str] = []
    with FakeOpenAI() as model, FakeOpenAI() as judge:
        model.handler, judge.handler = answers(model), verdicts(judge)
        judge_url = with_userinfo(judge.base_url, JUDGE_PASS)
        model_args = f"model=m,base_url={with_userinfo(model.base_url, USER_PASS)},api_key={MODEL_KEY},num_frames=2"
        code, text = cli("run", "--tasks", "t_secret", "--model", "openai_compat", "--model-args", model_args,
                         "--out", str(tmp_path / "run"), "--judge-base-url", judge_url, "--quiet")
        printed.append(text)
        assert code == 1 and "1 sample(s) failed" in text, text
        assert model.count >= 3 and judge.count >= 1
        assert not leaks(printed, tmp_path / "run", tmp_path / "cache"), "after the run"
        code, text = cli("score", str(tmp_path / "run"), "--judge-base-url", judge_url, "--quiet")
        printed.append(text)
        # a judge URL whose key parameter makes the server answer 404 with the path (and the key) in it
        code, text = cli("score", str(tmp_path / "run"), "--judge-base-url", f"{judge.base_url}?key={JUDGE_QUERY}",
                         "--quiet", "--force")
        printed.append(text)
        judge.handler = lambda body: echo(judge, 401)
        code, text = cli("score", str(tmp_path / "run"), "--judge-base-url", judge_url, "--quiet", "--force")
        printed.append(text)
        assert code != 0
        code, text = cli("report", str(tmp_path / "run"), "--out", str(tmp_path / "board"))
        printed.append(text)
        # a model URL carrying its key as a query parameter (Azure style): the server echoes the path
        code, text = cli("run", "--tasks", "t_secret", "--model", "openai_compat", "--model-args",
                         f"model=m,base_url={model.base_url}?api-key={QUERY_KEY},num_frames=2", "--out",
                         str(tmp_path / "run_query"), "--no-score", "--quiet")
        printed.append(text)
        assert code == 1
    assert (tmp_path / "board" / "index.html").exists()
    assert not leaks(printed, tmp_path / "run", tmp_path / "run_query", tmp_path / "board", tmp_path / "cache")


def test_a_killed_run_and_a_refused_second_copy_leak_no_planted_key(tmp_path, planted):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMNIBENCH_CACHE": str(tmp_path / "cache")}
    with FakeOpenAI(delay_s=60) as model:
        model.handler = answers(model)
        base_url = with_userinfo(model.base_url, USER_PASS)
        command = [sys.executable, "-m", "tests.secret_run", str(planted), "run", "--tasks", "t_secret", "--model",
                   "openai_compat", "--model-args", f"model=m,base_url={base_url},api_key={MODEL_KEY},num_frames=2",
                   "--out", str(tmp_path / "run"), "--no-score"]
        first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while not (tmp_path / "run" / ".lock.shard0of1").exists() and time.monotonic() < deadline:
                assert first.poll() is None, first.stdout.read().decode()
                time.sleep(0.2)
            second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            assert second.returncode == 2 and "is in use by process" in second.stderr, second.stderr
        finally:
            first.send_signal(signal.SIGKILL)
            killed_output = first.communicate(timeout=60)[0].decode(errors="replace")
    assert (tmp_path / "run" / ".lock.shard0of1").exists(), "SIGKILL leaves the lock behind"
    assert not leaks([second.stdout + second.stderr, killed_output], tmp_path / "run", tmp_path / "cache")


def test_score_never_sends_the_users_key_to_an_endpoint_named_by_the_run_directory(tmp_path, planted, monkeypatch):
    """21 of 21 requests with the user's key went to the server the run directory named."""
    with FakeOpenAI(lambda b: '{"pred": "yes", "score": 5}') as theirs, \
            FakeOpenAI(lambda b: '{"pred": "yes", "score": 5}') as mine:
        class Answers:
            needs_video = False

            def generate(self, request):
                return "a0"

        from omnibench.engine.evaluate import Evaluation

        Evaluation(model="m", out=tmp_path / "run", model_obj=Answers(), progress=False, check_judge=True,
                   task_settings={"judge": {"base_url": theirs.base_url}}).run(["t_secret"])
        monkeypatch.setenv("OMNIBENCH_JUDGE_BASE_URL", mine.base_url)
        code, text = cli("score", str(tmp_path / "run"), "--quiet")
        assert code == 2 and theirs.count == 0 and mine.count == 0
        assert theirs.base_url in text and mine.base_url in text and "--judge-url-from-run" in text
        code, text = cli("score", str(tmp_path / "run"), "--quiet", "--judge-base-url", mine.base_url)
        assert code == 0, text
        assert theirs.count == 0 and mine.count == 3
        assert {r.headers["authorization"] for r in mine.requests} == {f"Bearer {JUDGE_KEY}"}
        mine.reset()
        code, text = cli("score", str(tmp_path / "run"), "--quiet", "--judge-url-from-run", "--force")
        assert code == 0, text
        assert mine.count == 0 and theirs.count == 3, "the recorded endpoint only when asked for"
