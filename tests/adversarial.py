"""Rerun the hostile-input cases of issue 24, each in its own process under a time and memory limit.

    python -m tests.adversarial            # every case; last line: {"cases": N, "crashes": 0, ...}
    python -m tests.adversarial CASE       # one case, in this process

A case is a crash when its process dies or prints a traceback, a hang when it runs past
TIMEOUT_S, a leak when a secret appears in any file it wrote, and wrong when its own check fails.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

TIMEOUT_S = 60
MEMORY_BYTES = 4 * 2**30
MODEL_KEY = "sk-model-ADVERSARIAL-1111222233334444"
ENV_KEY = "sk-env-ADVERSARIAL-5555666677778888"
JUDGE_KEY = "sk-judge-ADVERSARIAL-999900001111"
SECRETS = (MODEL_KEY, ENV_KEY, JUDGE_KEY)
CASES: dict = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def cli(*argv: str) -> tuple[int, str]:
    """omnibench's CLI in this process: (exit code, stderr + stdout)."""
    from omnibench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, err.getvalue() + out.getvalue()


def clean_failure(code: int, text: str, *needles: str) -> tuple[bool, str]:
    ok = code != 0 and "Traceback" not in text and all(n in text for n in needles)
    said = [line.strip() for line in text.splitlines() if "error" in line] or text.strip().splitlines() or [f"exit {code}"]
    return ok, said[-1][:200]


def register(name: str, samples, scorers=(), protocols=("offline",), data_root=None):
    from omnibench import registry
    from omnibench.task import Prompts, Task

    @registry.task(name, hidden=True)
    def factory():
        return Task(name=name, samples=lambda: list(samples), protocols=protocols, scorers=list(scorers),
                    headline="accuracy", prompts=Prompts(), data_root=data_root)
    return name


def text_samples(task: str, n: int = 3, **query):
    from omnibench.data.schema import Query, Sample, VideoRef

    q = {"t": 1.0, "text": "question?", "target": "a1", "choices": ["a1", "zzz"], **query}
    return [Sample(id=f"s{i}", task=task, video=VideoRef(path=f"v{i}.mp4"), turns=[Query(**q)]) for i in range(n)]


def run(work: Path, task: str, model_obj, **kw):
    from omnibench.engine.evaluate import Evaluation
    from omnibench.scoring.run_scores import score_run

    out = work / "run"
    [status] = Evaluation(model=kw.pop("model", "m"), out=out, model_obj=model_obj, progress=False, **kw).run([task])
    return status, score_run(out, tasks=[task]), out


def records(out: Path, task: str):
    from omnibench.engine.eventlog import EventLog

    return [r for p in (out / "logs" / task).glob("*.jsonl") for r in EventLog(p).records()]


class Answer:
    needs_video = False

    def __init__(self, text: str):
        self.text = text

    def generate(self, request):
        return self.text


class Watcher:
    fps, needs_video = 1.0, True

    def reset(self, info):
        pass

    def feed(self, t, frame):
        pass

    def ask(self, t, query):
        pass

    def poll(self, t):
        return []


# -- crashes -----------------------------------------------------------------------------------------
@case
def surrogate_in_answer(work):
    task = register("adv_surrogate", text_samples("adv_surrogate"))
    status, _, out = run(work, task, Answer("yes \ud83d"))
    texts = [r.answer(0) for r in records(out, task)]
    return status.errors == 0 and texts == ["yes \ufffd"] * 3, f"answers {texts[:1]}"


def _replay_file(work: Path, content: bytes) -> tuple[bool, str]:
    path = work / "si_M_0.json"
    path.write_bytes(b'{"video": "a.mp4", "question": "q", "pred": "x"}\n' + content + b"\n")
    return clean_failure(*cli("run", "--tasks", "omnimmi_si", "--model", "replay", "--model-args", f"path={path}",
                              "--out", str(work / "run"), "--quiet"), "si_M_0.json", "line 2")


@case
def replay_5000_digit_integer(work):
    return _replay_file(work, b'{"video": "a.mp4", "pred": ' + b"7" * 5000 + b"}")


@case
def replay_100k_deep_nesting(work):
    return _replay_file(work, b'{"video": "a.mp4", "pred": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")


@case
def replay_invalid_utf8(work):
    return _replay_file(work, b'{"video": "a.mp4", "pred": "caf\xe9"}')


@case
def replay_nul_bytes(work):
    return _replay_file(work, b'{"video": "a.mp4", "pred": "x\x00"}')


def _probe_fps(work, fps):
    from tests.videos import make_video

    video = make_video(work / "v.mp4", seconds=1.0)
    return clean_failure(*cli("data", "probe", str(video), "--fps", fps), "fps must be")


for _fps in ("0", "-1", "nan", "inf", "100000"):
    CASES[f"probe_fps_{_fps}"] = (lambda f: lambda work: _probe_fps(work, f))(_fps)


# -- unbounded time and memory ---------------------------------------------------------------------
def slideshow(path: Path, frames: int = 1000, gap_s: int = 3600) -> Path:
    import av

    from tests.videos import frame_pixels

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=1)
        stream.width, stream.height = 160, 120
        tick = Fraction(1, 10)
        stream.pix_fmt, stream.time_base = "yuv420p", tick
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(frame_pixels(i), format="rgb24")
            frame.pts, frame.time_base = i * gap_s * 10, tick
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@case
def probe_1000_frames_an_hour_apart(work):
    video = slideshow(work / "hours.mp4")
    return clean_failure(*cli("data", "probe", str(video)), "use a lower --fps")


@case
def run_on_1000_frames_an_hour_apart(work):
    from omnibench.data.schema import Query, Sample, VideoRef

    slideshow(work / "hours.mp4")
    task = register("adv_hours", [Sample(id="s0", task="adv_hours", video=VideoRef(path="hours.mp4"),
                                         turns=[Query(t=1.0, text="q", target="x")])],
                    protocols=("streaming",), data_root=str(work))
    status, _, out = run(work, task, Watcher())
    [record] = records(out, task)
    return record.status == "error" and "max-stream-s" in record.error, record.error[:160]


def _videoless(work, name, **query):
    from omnibench import registry

    task = register(name, text_samples(name, 1, **query), protocols=("streaming",))
    status, _, out = run(work, task, registry.get_model("silent", watch=False))
    [record] = records(out, task)
    return record.status == "error" and "max-stream-s" in record.error, record.error[:160]


@case
def pa_window_end_1e9(work):
    return _videoless(work, "adv_pa", kind="alert_request", target=[5.0, 1e9], choices=None)


@case
def si_timestamp_1e20(work):
    return _videoless(work, "adv_si", t=1e20)


# -- secrets ---------------------------------------------------------------------------------------
@case
def openai_compat_400_echoing_the_key(work):
    from omnibench import registry
    from omnibench.data.schema import Query, Sample, VideoRef
    from tests.fake_openai import FakeOpenAI, FakeReply
    from tests.videos import make_video

    make_video(work / "v.mp4", seconds=2.0)
    task = register("adv_openai", [Sample(id=f"s{i}", task="adv_openai", video=VideoRef(path="v.mp4"),
                                          turns=[Query(t=1.0, text="q", target="x")]) for i in range(2)],
                    data_root=str(work))
    os.environ["OPENAI_API_KEY"] = ENV_KEY
    echo = lambda body: FakeReply(status=400, body=json.dumps(  # noqa: E731
        {"error": {"message": f"bad request for key {MODEL_KEY} (env {ENV_KEY}, Bearer {MODEL_KEY})"}}))
    with FakeOpenAI(echo) as server:
        args = {"base_url": server.base_url, "api_key": MODEL_KEY, "num_frames": 2}
        model = registry.get_model("openai_compat", **args)
        status, _, out = run(work, task, model, model="openai_compat", model_args=args)
    errors = [r.error for r in records(out, task)]
    return status.errors == 2 and all("***" in e for e in errors), errors[0][:160]


def _judged(work, handler):
    from omnibench.scoring.judge import JudgeClient, judge_turns
    from omnibench.scoring.rules import choice_match
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI(handler) as server:
        rule = register("adv_rule", text_samples("adv_rule"), scorers=[choice_match()])
        judged = register("adv_judged", text_samples("adv_judged"), scorers=[judge_turns(lambda: JudgeClient(
            model="j", base_url=server.base_url, api_key=JUDGE_KEY, use_cache=False, max_retries=0))])
        from omnibench.engine.evaluate import Evaluation
        from omnibench.report import write_report
        from omnibench.scoring.run_scores import score_run

        out = work / "run"
        Evaluation(model="m", out=out, model_obj=Answer("a1"), progress=False).run([rule, judged])
        results = {r.task: r for r in score_run(out, tasks=[rule, judged])}
        write_report([out], work / "report")
    rows = [json.loads(x) for p in (out / "scores" / judged).glob("*.jsonl") for x in p.read_text().splitlines()]
    return results, rows


@case
def judge_reply_echoing_authorization(work):
    results, rows = _judged(work, lambda body: f"Authorization: Bearer {JUDGE_KEY} -- no verdict")
    return all(r["unscored"] for r in rows), rows[0]["unscored"][:160]


@case
def judge_401_keeps_rule_scores(work):
    from tests.fake_openai import FakeReply

    results, rows = _judged(work, lambda body: FakeReply(status=401, body=json.dumps(
        {"error": {"message": f"Incorrect API key provided: {JUDGE_KEY}"}})))
    rule = results["adv_rule"].metrics["accuracy"].value
    return rule == 1.0 and all("401" in r["unscored"] for r in rows), f"rule accuracy {rule}"


# -- silently wrong --------------------------------------------------------------------------------
@case
def judge_unclear_verdicts_unscored(work):
    from omnibench.scoring.judge import VerdictParseError, parse_verdict

    wrong = []
    for pred in ("unknown", "not sure", "I do not know", "none", "maybe"):
        try:
            wrong.append((pred, parse_verdict(json.dumps({"pred": pred, "score": 0}))))
        except VerdictParseError:
            pass
    return not wrong, f"read as a verdict: {wrong}"


@case
def replay_nonfinite_alert_times(work):
    found = []
    for bad in ("NaN", "Infinity", "-Infinity", "-5"):
        path = work / f"pa_M_{len(found)}.json"
        path.write_text('{"video": "a.mp4", "question": "q", "answer": [1, 2], "pred": [%s]}\n' % bad)
        found.append(clean_failure(*cli("run", "--tasks", "omnimmi_pa", "--model", "replay", "--model-args",
                                        f"path={path}", "--out", str(work / "run"), "--quiet"),
                                   path.name, "finite")[0])
    return all(found), f"refused {sum(found)}/4"


@case
def corrupt_middle_third_reported(work):
    import numpy as np

    from omnibench.data.schema import Query, Sample, VideoRef
    from tests.videos import make_video

    path = make_video(work / "bad.mp4", seconds=9.0, fps=10, pattern="noise")
    data = bytearray(path.read_bytes())
    a, b = len(data) // 3, 2 * len(data) // 3
    data[a:b] = np.random.default_rng(0).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    task = register("adv_bad_video", [Sample(id="s0", task="adv_bad_video", video=VideoRef(path="bad.mp4"),
                                             turns=[Query(t=1.0, text="q", target="x")])],
                    protocols=("streaming",), data_root=str(work))
    run(work, task, Watcher())
    [record] = records(work / "run", task)
    return bool(record.video_issues), "; ".join(record.video_issues or ["no issues reported"])[:160]


@case
def same_command_twice(work):
    import threading

    from omnibench.engine.evaluate import Evaluation
    from omnibench.engine.lock import RunLockedError

    task = register("adv_twice", text_samples("adv_twice"))
    started = threading.Event()

    class Slow(Answer):
        def generate(self, request):
            started.set()
            time.sleep(0.2)
            return self.text

    first = threading.Thread(target=lambda: Evaluation(model="m", out=work, model_obj=Slow("a1"),
                                                       progress=False).run([task]))
    first.start()
    started.wait(10)
    try:
        Evaluation(model="m", out=work, model_obj=Slow("a1"), progress=False).run([task])
        refused = False
    except RunLockedError:
        refused = True
    first.join()
    lines = sum(len(p.read_text().splitlines()) for p in (work / "logs" / task).glob("*.jsonl"))
    return refused and lines == 3, f"refused={refused}, {lines} log lines for 3 samples"


# -- issue 29: unbounded reads, foreign endpoints -----------------------------------------------------
@case
def annotation_linked_to_dev_zero(work):
    (work / "data").mkdir()
    (work / "data" / "speaker_identification.json").symlink_to("/dev/zero")
    return clean_failure(*cli("run", "--tasks", "omnimmi_si", "--model", "blind", "--data-dir", str(work / "data"),
                              "--out", str(work / "run"), "--quiet"), "not a regular file")


@case
def replay_file_is_a_fifo(work):
    os.mkfifo(work / "si_M_0.json")
    return clean_failure(*cli("run", "--tasks", "omnimmi_si", "--model", "replay", "--model-args",
                              f"path={work / 'si_M_0.json'}", "--out", str(work / "run"), "--quiet"), "FIFO")


@case
def replay_alert_time_10_to_the_400(work):
    path = work / "pa_M_0.json"
    path.write_text('{"video": "a.mp4", "question": "q", "answer": [1, 2], "pred": [1%s]}\n' % ("0" * 400))
    return clean_failure(*cli("run", "--tasks", "omnimmi_pa", "--model", "replay", "--model-args", f"path={path}",
                              "--out", str(work / "run"), "--quiet"), "pa_M_0.json:1", "alert time")


@case
def score_a_run_dir_naming_a_foreign_judge(work):
    from omnibench.engine.evaluate import Evaluation
    from omnibench.scoring.judge import JudgeClient, judge_turns
    from tests.fake_openai import FakeOpenAI

    os.environ["OMNIBENCH_JUDGE_API_KEY"] = JUDGE_KEY
    with FakeOpenAI(lambda body: '{"pred": "yes", "score": 5}') as theirs:
        from omnibench import registry
        from omnibench.task import Prompts, Task

        @registry.task("adv_foreign", hidden=True)
        def factory(judge=None):
            return Task(name="adv_foreign", samples=lambda: text_samples("adv_foreign"), protocols=("offline",),
                        scorers=[judge_turns(lambda: JudgeClient(**(judge or {})))], headline="accuracy",
                        prompts=Prompts())

        Evaluation(model="m", out=work / "run", model_obj=Answer("a1"), progress=False, check_judge=True,
                   task_settings={"judge": {"base_url": theirs.base_url}}).run(["adv_foreign"])
        code, text = cli("score", str(work / "run"), "--quiet")
        ok, said = clean_failure(code, text, "this run was judged at")
        return ok and theirs.count == 0, f"{theirs.count} request(s) to the recorded judge; {said}"


# -- driver ----------------------------------------------------------------------------------------
def run_one(name: str, work: Path) -> None:
    ok, detail = CASES[name](work)
    print(json.dumps({"ok": bool(ok), "detail": str(detail)}))


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    tally = {"cases": 0, "crashes": 0, "hangs": 0, "secrets": 0, "wrong": 0}
    for name in CASES:
        with tempfile.TemporaryDirectory(prefix=f"adv-{name}-") as tmp:
            env = {**os.environ, "PYTHONPATH": str(root), "OMNIBENCH_CACHE": str(Path(tmp) / "cache")}
            env.pop("OPENAI_API_KEY", None)
            start = time.monotonic()
            try:
                proc = subprocess.run([sys.executable, "-m", "tests.adversarial", name, tmp], cwd=root, env=env,
                                      capture_output=True, text=True, timeout=TIMEOUT_S, preexec_fn=_limit_memory)
                outcome = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else None
                verdict = "ok" if outcome and outcome["ok"] else ("wrong" if outcome else "crash")
                detail = outcome["detail"] if outcome else (proc.stderr.strip().splitlines() or ["?"])[-1][:160]
            except subprocess.TimeoutExpired:
                verdict, detail = "hang", f"still running after {TIMEOUT_S} s"
            leaked = [s for s in SECRETS for p in Path(tmp).rglob("*") if p.is_file() and s.encode() in p.read_bytes()]
            tally["cases"] += 1
            if verdict != "ok":
                tally[{"crash": "crashes", "hang": "hangs", "wrong": "wrong"}[verdict]] += 1
            tally["secrets"] += bool(leaked)
            print(f"{verdict:5} {'LEAK ' if leaked else ''}{name:38} {time.monotonic() - start:5.1f}s  {detail}")
    print(json.dumps(tally))
    return 0 if tally["crashes"] == tally["hangs"] == tally["secrets"] == tally["wrong"] == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) == 3:
        run_one(sys.argv[1], Path(sys.argv[2]))
    else:
        sys.exit(main())
