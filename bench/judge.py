"""Judge throughput: our client vs a thread pool and a process pool at equal concurrency, then cache-served re-runs.

Against the local fake OpenAI server (127.0.0.1, in a process of its own) answering each call after 100 ms:
1. 1,000 judge calls through JudgeClient (asyncio, CONCURRENCY requests in flight, its SQLite cache on,
   fresh each round, as a user runs it);
2. the peer a user would write today: a thread pool of CONCURRENCY threads sharing one synchronous
   openai client (simple-evals' `map_with_progress` does this);
3. the OmniMMI reference's way (`--num_tasks`): a `multiprocessing.Pool` of CONCURRENCY workers,
   each a blocking client of its own. The pool is started and every worker has built its client
   before the clock starts (forking 64 processes on a 2-core machine is not judging), so only the
   calls are timed; the start-up is reported apart (`process_pool_start_s`);
   1, 2 and 3 run REPEATS rounds, the order rotating each round; each figure is the median, and
   every peer's verdicts must equal ours call for call;
4. one at a time (a plain synchronous client), timed on a slice and scaled to 1,000;
5. the same 1,000 again from the cache (must make 0 requests);
6. `omnibench score` on a run directory holding all 2,290 OmniMMI queries (a `replay` run of
   dummy answers over the six tasks; 1,890 of them judged, PA and PT are rule-scored): once to
   prime the judge cache, then again with the warm cache, end to end as a user runs it (a fresh
   process: imports, reading the logs, scoring, writing results). Goal < 5 s, 0 requests.
Last line: JSON with the figures, `speedup_vs_thread_pool` and `speedup_vs_process_pool` first, and
what each side ran with (`concurrency_ours`, `concurrency_thread_pool`, `concurrency_process_pool`).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _rounds import load_average, rotate  # noqa: E402

from omnibench.scoring.judge import JudgeClient, parse_verdict  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402

N_CALLS = 1000
SERIAL_SLICE = 120
DELAY_S = 0.1
FILES = ROOT / "omnibench" / "data" / "omnimmi_files"
CONCURRENCY = 64
REPEATS = 5
OMNIMMI_TASKS = ("sg", "ap", "md", "si", "pa", "pt")


def reply(body: dict) -> str:
    # deterministic verdict from the prompt, so cached and fresh runs can be compared
    return "{'pred': 'yes', 'score': 4}" if len(body["messages"][1]["content"]) % 2 else "{'pred': 'no', 'score': 1}"


def omnimmi_items() -> list[tuple[str, str, str]]:
    """One (question, answer, dummy prediction) per OmniMMI query: 704 SG + 786 MD + 200 x 4."""
    items: list[tuple[str, str, str]] = []
    for path in sorted(FILES.glob("*.json")):
        for n, rec in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            if "qa" in rec:
                pairs = [(qa["question"], qa["answer"]) for qa in rec["qa"]]
            elif "conversation" in rec:  # PT: the final (noise) turn; the expected reply is silence
                pairs = [(next(iter(rec["conversation"][-1].values())), "(silence)")]
            else:
                pairs = [(rec["question"], rec["answer"])]
            items += [(str(q), str(a), f"dummy answer {path.stem} {n}.{i}") for i, (q, a) in enumerate(pairs)]
    return items


def serial_baseline(server: FakeOpenAI, client: JudgeClient, items) -> float:
    import openai

    plain = openai.OpenAI(base_url=server.base_url, api_key="bench", max_retries=0)
    start = time.perf_counter()
    for item in items:
        out = plain.chat.completions.create(model=client.model, messages=client.prompt.messages(*item), temperature=0)
        parse_verdict(out.choices[0].message.content)
    plain.close()
    return time.perf_counter() - start


def thread_pool_baseline(base_url: str, model: str, jobs: list[list[dict]],
                         concurrency: int = CONCURRENCY) -> tuple[float, list]:
    """What simple-evals does: `concurrency` threads, one shared synchronous client, blocking calls."""
    from concurrent.futures import ThreadPoolExecutor

    import openai

    plain = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)

    def judge(messages: list[dict]) -> tuple[bool | None, float | None]:
        out = plain.chat.completions.create(model=model, messages=messages, temperature=0)
        return parse_verdict(out.choices[0].message.content)

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        verdicts = list(pool.map(judge, jobs))
    seconds = time.perf_counter() - start
    plain.close()
    return seconds, verdicts


_worker_client = None


def _pool_init(base_url: str, ready) -> None:
    import openai

    global _worker_client
    _worker_client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)
    ready.wait()


def _pool_judge(job: tuple[str, list[dict]]) -> tuple[bool | None, float | None]:
    model, messages = job
    out = _worker_client.chat.completions.create(model=model, messages=messages, temperature=0)
    pred, score = parse_verdict(out.choices[0].message.content)
    return pred, score


def process_pool_baseline(base_url: str, model: str, jobs: list[list[dict]],
                          concurrency: int = CONCURRENCY) -> tuple[float, float, list]:
    """The reference's way: (start-up s, calls s, verdicts). `concurrency` processes, each a blocking
    client, one call at a time; the clock starts once every worker is up with its client."""
    fork = multiprocessing.get_context("fork")
    ready = fork.Barrier(concurrency + 1)
    start = time.perf_counter()
    with fork.Pool(concurrency, initializer=_pool_init, initargs=(base_url, ready)) as pool:
        ready.wait()
        up = time.perf_counter()
        verdicts = pool.map(_pool_judge, [(model, messages) for messages in jobs], chunksize=1)
        done = time.perf_counter()
    return up - start, done - up, verdicts


def check_same(name: str, peer: list, ours: list) -> None:
    """A peer must give our verdicts, call for call (the server's reply depends on the prompt)."""
    theirs = [tuple(v) for v in peer]
    mine = [(v.pred, v.score) for v in ours]
    if len(theirs) != len(mine):
        raise AssertionError(f"{name}: {len(theirs)} verdicts for {len(mine)} calls")
    wrong = [i for i, (a, b) in enumerate(zip(theirs, mine)) if a != b]
    if wrong:
        raise AssertionError(f"{name}: verdicts differ from ours on {len(wrong)} call(s), first at {wrong[0]}: "
                             f"{theirs[wrong[0]]} vs {mine[wrong[0]]}")


def cpu_seconds() -> float:
    """CPU time of this process (all its threads) and of its reaped children (the pool's workers)."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def summary(times: dict[str, list[float]], pool_starts: list[float], **rest) -> dict:
    """The last line: ratios first, then each side's median and what it ran with."""
    med = {side: statistics.median(values) for side, values in times.items()}
    serial_s = rest.pop("serial_s")
    return {
        "speedup_vs_thread_pool": round(med["thread_pool"] / med["ours"], 2),
        "speedup_vs_process_pool": round(med["process_pool"] / med["ours"], 2),
        "speedup_vs_serial": round(serial_s / med["ours"], 2),
        "concurrency_ours": CONCURRENCY, "concurrency_thread_pool": CONCURRENCY,
        "concurrency_process_pool": CONCURRENCY, "calls": N_CALLS, "server_delay_s": DELAY_S,
        "repeats": len(times["ours"]), "ours_s": round(med["ours"], 3), "thread_pool_s": round(med["thread_pool"], 3),
        "process_pool_s": round(med["process_pool"], 3),
        "process_pool_start_s": round(statistics.median(pool_starts), 3) if pool_starts else None,
        "runs_s": {side: [round(v, 3) for v in values] for side, values in times.items()},
        # CPU seconds per round (client side; the pool's include its workers' start-up): a wall time that
        # grows while these stay put is the machine's load, not the side
        "cpu_s": {side: round(statistics.median(values), 3) for side, values in rest.pop("cpu").items()},
        "ours_retries": rest.pop("retries"),
        "serial_s_est": round(serial_s, 2), "serial_calls_measured": SERIAL_SLICE,
        "cached_requests": rest.pop("cached_requests"), "cached_s": round(rest.pop("cached_s"), 4),
        **rest.pop("rescore"),
        "load_average": load_average(),
        "ran_with": {"ours": f"JudgeClient, asyncio, {CONCURRENCY} in flight, SQLite cache on",
                     "thread_pool": f"ThreadPoolExecutor({CONCURRENCY}), one shared openai.OpenAI",
                     "process_pool": f"multiprocessing.Pool({CONCURRENCY}), fork, one openai.OpenAI per worker, "
                                     "start-up not timed"},
    }


def replay_run(tmp: Path) -> Path:
    """A run directory of every OmniMMI query: `replay` of dummy answers over the six tasks."""
    from omnibench import registry

    preds = tmp / "omnimmi_dummy_preds.jsonl"
    with preds.open("w", encoding="utf-8") as fh:
        for code in OMNIMMI_TASKS:
            task = f"omnimmi_{code}"
            for sample in registry.get_task(task).samples():
                if code == "pa":
                    fh.write(json.dumps({"sample_id": sample.id, "task": task, "alerts": [1.0]}) + "\n")
                    continue
                for turn in range(len(sample.turns)):
                    fh.write(json.dumps({"sample_id": sample.id, "task": task, "turn": turn,
                                         "text": f"dummy answer {sample.id} {turn}"}) + "\n")
    run = tmp / "omnimmi_replay_run"
    subprocess.run([sys.executable, "-m", "omnibench.cli", "run", "--model", "replay", "--model-args",
                    f"path={preds}", "--tasks", ",".join(f"omnimmi_{c}" for c in OMNIMMI_TASKS), "--out", str(run),
                    "--no-score", "--quiet"], check=True, capture_output=True, env=_score_env(tmp, None))
    return run


def _score_env(tmp: Path, base_url: str | None) -> dict[str, str]:
    # HOME too: the judge cache lives under ~/.cache/omnibench; never touch the user's
    env = {**os.environ, "HOME": str(tmp / "home"), "OMNIBENCH_CACHE": str(tmp / "cache"),
           "OMNIBENCH_JUDGE_API_KEY": "bench", "OMNIBENCH_JUDGE_MODEL": "bench-judge"}
    if base_url:
        env["OMNIBENCH_JUDGE_BASE_URL"] = base_url
    return env


def score_run(run: Path, tmp: Path, base_url: str) -> tuple[float, dict]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "omnibench.cli", "score", str(run), "--json"], check=True,
                         capture_output=True, text=True, env=_score_env(tmp, base_url))
    return time.perf_counter() - start, json.loads(out.stdout)


def _serve(conn) -> None:
    """The fake judge server in a process of its own: it must not share the GIL with the client measured."""
    with FakeOpenAI(handler=reply, delay_s=DELAY_S) as server:
        conn.send(server.base_url)
        while conn.recv() == "count":
            conn.send(server.count)


class ServerProcess:
    """FakeOpenAI in a forked process; `count` asks it how many requests it has answered."""

    def __enter__(self) -> ServerProcess:
        self._conn, child = multiprocessing.get_context("fork").Pipe()
        self._process = multiprocessing.get_context("fork").Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        self.base_url = self._conn.recv()
        return self

    @property
    def count(self) -> int:
        self._conn.send("count")
        return self._conn.recv()

    def __exit__(self, *exc) -> None:
        self._conn.send("stop")
        self._process.join(10)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS, help="rounds of the three sides (median reported)")
    args = parser.parse_args()
    calls = [(f"What happens at step {i}?", f"answer {i}", f"prediction {i}") for i in range(N_CALLS)]
    with tempfile.TemporaryDirectory() as tmp, ServerProcess() as server:
        settings = {"model": "bench-judge", "base_url": server.base_url, "api_key": "bench",
                    "concurrency": CONCURRENCY}
        cache_a = Path(tmp) / "a.sqlite"
        first = JudgeClient(cache_path=cache_a, **settings)
        jobs = [first.prompt.messages(*item) for item in calls]

        # every side on the same calls, REPEATS rounds in rotating order (ours: a fresh cache each round)
        times: dict[str, list[float]] = {"ours": [], "thread_pool": [], "process_pool": []}
        cpu: dict[str, list[float]] = {side: [] for side in times}
        pool_starts: list[float] = []
        fresh: list = []
        retries = 0
        for k in range(args.repeats):
            for side in rotate(list(times), k):
                before = server.count
                cpu_before = cpu_seconds()
                if side == "ours":
                    client = first if k == 0 else JudgeClient(cache_path=Path(tmp) / f"r{k}.sqlite", **settings)
                    start = time.perf_counter()
                    verdicts = client.judge_many(calls)
                    times[side].append(time.perf_counter() - start)
                    assert all(v.pred is not None for v in verdicts), "the fake judge's replies did not parse"
                    fresh = fresh or verdicts
                    retries += client.usage["retries"]
                elif side == "thread_pool":
                    seconds, verdicts = thread_pool_baseline(server.base_url, first.model, jobs)
                    times[side].append(seconds)
                else:
                    start_s, seconds, verdicts = process_pool_baseline(server.base_url, first.model, jobs)
                    times[side].append(seconds)
                    pool_starts.append(start_s)
                cpu[side].append(cpu_seconds() - cpu_before)
                assert server.count - before == N_CALLS, f"{side} made {server.count - before} requests"
                if side != "ours":          # round 0 starts with ours, so `fresh` is there
                    check_same(side, verdicts, fresh)
        ours_s, thread_s, pool_s = (statistics.median(times[s]) for s in ("ours", "thread_pool", "process_pool"))

        serial_slice_s = serial_baseline(server, first, calls[:SERIAL_SLICE])
        serial_s = serial_slice_s / SERIAL_SLICE * N_CALLS

        before = server.count
        start = time.perf_counter()
        cached = JudgeClient(cache_path=cache_a, **settings).judge_many(calls)
        cached_s = time.perf_counter() - start
        cached_requests = server.count - before
        assert [(v.pred, v.score) for v in cached] == [(v.pred, v.score) for v in fresh]

        items = omnimmi_items()
        run = replay_run(Path(tmp))
        before = server.count
        prime_s, primed = score_run(run, Path(tmp), server.base_url)
        prime_requests = server.count - before
        rescore_s, rescored = score_run(run, Path(tmp), server.base_url)
        rescore_requests = server.count - prime_requests - before
        assert rescored == primed, "re-scoring from the warm cache changed the scores"
        assert rescore_requests == 0

    print(f"{N_CALLS} calls at {DELAY_S * 1000:.0f} ms, {CONCURRENCY} in flight, medians of {args.repeats}: ours "
          f"{ours_s:.2f}s, thread pool {thread_s:.2f}s, process pool {pool_s:.2f}s (+{statistics.median(pool_starts):.2f}s to start "
          f"it), one at a time {serial_s:.1f}s (measured {serial_slice_s:.2f}s on {SERIAL_SLICE}), from cache "
          f"{cached_s:.3f}s ({cached_requests} requests)")
    print(f"`omnibench score` on a run of {len(items)} OmniMMI queries: priming {prime_s:.2f}s "
          f"({prime_requests} judge requests), warm cache {rescore_s:.2f}s ({rescore_requests} requests)")
    print(json.dumps(summary(times, pool_starts, cpu=cpu, retries=retries, serial_s=serial_s, cached_s=cached_s, cached_requests=cached_requests,
                             rescore={"rescore_queries": len(items), "judged_queries": prime_requests,
                                      "rescore_requests": rescore_requests, "rescore_run_s": round(rescore_s, 3),
                                      "prime_run_s": round(prime_s, 2)})))


if __name__ == "__main__":
    main()
