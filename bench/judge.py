"""Judge throughput: concurrent client vs the reference's process pool, then cache-served re-runs.

Against the local fake OpenAI server (127.0.0.1, in a process of its own) answering each call after 100 ms:
1. 1,000 judge calls through JudgeClient (concurrency 64);
2. the reference-style baseline on the same 1,000 calls: a `multiprocessing.Pool` of 64 workers
   (the OmniMMI reference parallelises its judge this way, `--num_tasks`), each worker making
   blocking calls with its own synchronous openai client; timed end to end, pool start included;
   1 and 2 alternate REPEATS times, each figure the median;
3. one at a time (a plain synchronous client), timed on a slice and scaled to 1,000;
4. the same 1,000 again from the cache (must make 0 requests);
5. `omnibench score` on a run directory holding all 2,290 OmniMMI queries (a `replay` run of
   dummy answers over the six tasks; 1,890 of them judged, PA and PT are rule-scored): once to
   prime the judge cache, then again with the warm cache, end to end as a user runs it (a fresh
   process: imports, reading the logs, scoring, writing results). Goal < 5 s, 0 requests.
Last line: JSON with the figures.
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

from omnibench.scoring.judge import JudgeClient, parse_verdict  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402

N_CALLS = 1000
SERIAL_SLICE = 120
DELAY_S = 0.1
FILES = ROOT / "omnibench" / "data" / "omnimmi_files"
CONCURRENCY = 64
REPEATS = 3
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


_worker_client = None


def _pool_init(base_url: str) -> None:
    import openai

    global _worker_client
    _worker_client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)


def _pool_judge(job: tuple[str, list[dict]]) -> tuple[bool | None, float | None]:
    model, messages = job
    out = _worker_client.chat.completions.create(model=model, messages=messages, temperature=0)
    pred, score = parse_verdict(out.choices[0].message.content)
    return pred, score


def process_pool_baseline(server: FakeOpenAI, client: JudgeClient, items) -> tuple[float, list]:
    """The reference's way: N processes, each a blocking client, one call at a time per process."""
    jobs = [(client.model, client.prompt.messages(*item)) for item in items]
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(CONCURRENCY, initializer=_pool_init,
                                                  initargs=(server.base_url,)) as pool:
        verdicts = pool.map(_pool_judge, jobs, chunksize=1)
    return time.perf_counter() - start, verdicts


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
    calls = [(f"What happens at step {i}?", f"answer {i}", f"prediction {i}") for i in range(N_CALLS)]
    with tempfile.TemporaryDirectory() as tmp, ServerProcess() as server:
        settings = {"model": "bench-judge", "base_url": server.base_url, "api_key": "bench",
                    "concurrency": CONCURRENCY}
        cache_a = Path(tmp) / "a.sqlite"

        # ours and the pool, alternated REPEATS times on the same calls (fresh cache each time): medians
        ours, pools = [], []
        for k in range(REPEATS):
            client = JudgeClient(cache_path=Path(tmp) / f"r{k}.sqlite" if k else cache_a, **settings)
            before = server.count
            start = time.perf_counter()
            fresh = client.judge_many(calls)
            ours.append(time.perf_counter() - start)
            assert server.count - before == N_CALLS and all(v.pred is not None for v in fresh)
            before = server.count
            pool_s, pooled = process_pool_baseline(server, client, calls)
            pools.append(pool_s)
            assert server.count - before == N_CALLS
            assert pooled == [(v.pred, v.score) for v in fresh], "pool and client verdicts differ"
        concurrent_s, pool_s = statistics.median(ours), statistics.median(pools)

        serial_slice_s = serial_baseline(server, client, calls[:SERIAL_SLICE])
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

    print(f"{N_CALLS} calls at {DELAY_S * 1000:.0f} ms: concurrent({CONCURRENCY}) {concurrent_s:.2f}s, process pool"
          f"({CONCURRENCY}) {pool_s:.2f}s, one at a time {serial_s:.1f}s (measured {serial_slice_s:.2f}s on "
          f"{SERIAL_SLICE}), from cache {cached_s:.3f}s ({cached_requests} requests)")
    print(f"`omnibench score` on a run of {len(items)} OmniMMI queries: priming {prime_s:.2f}s "
          f"({prime_requests} judge requests), warm cache {rescore_s:.2f}s ({rescore_requests} requests)")
    print(json.dumps({
        "speedup_vs_process_pool": round(pool_s / concurrent_s, 2), "concurrent_s": round(concurrent_s, 3),
        "process_pool_s": round(pool_s, 3), "repeats": REPEATS, "speedup_vs_serial": round(serial_s / concurrent_s, 2),
        "serial_s_est": round(serial_s, 2), "serial_calls_measured": SERIAL_SLICE,
        "cached_requests": cached_requests, "cached_s": round(cached_s, 4),
        "rescore_queries": len(items), "judged_queries": prime_requests, "rescore_requests": rescore_requests,
        "rescore_run_s": round(rescore_s, 3), "prime_run_s": round(prime_s, 2),
    }))

if __name__ == "__main__":
    main()
