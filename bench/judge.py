"""Judge throughput: concurrent client vs one call at a time, then cache-served re-runs.

Against the local fake OpenAI server answering each call after 100 ms:
1. 1,000 judge calls through JudgeClient (concurrency 64);
2. the one-at-a-time baseline (a plain synchronous openai client, as each worker of the reference
   does), timed on a slice of the same calls and scaled to 1,000 to keep the bench near a minute;
3. the same 1,000 again from the cache (must make 0 requests);
4. all 2,290 OmniMMI queries (packaged annotations read with json, dummy predictions) judged
   once to prime the cache, then re-scored from the cache alone.
Last line: JSON with the figures.
"""

from __future__ import annotations

import json
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


def main() -> None:
    calls = [(f"What happens at step {i}?", f"answer {i}", f"prediction {i}") for i in range(N_CALLS)]
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(handler=reply, delay_s=DELAY_S) as server:
        settings = {"model": "bench-judge", "base_url": server.base_url, "api_key": "bench", "concurrency": 64}
        cache_a, cache_b = Path(tmp) / "a.sqlite", Path(tmp) / "b.sqlite"

        client = JudgeClient(cache_path=cache_a, **settings)
        start = time.perf_counter()
        fresh = client.judge_many(calls)
        concurrent_s = time.perf_counter() - start
        assert server.count == N_CALLS and all(v.pred is not None for v in fresh)

        serial_slice_s = serial_baseline(server, client, calls[:SERIAL_SLICE])
        serial_s = serial_slice_s / SERIAL_SLICE * N_CALLS

        before = server.count
        start = time.perf_counter()
        cached = JudgeClient(cache_path=cache_a, **settings).judge_many(calls)
        cached_s = time.perf_counter() - start
        cached_requests = server.count - before
        assert [(v.pred, v.score) for v in cached] == [(v.pred, v.score) for v in fresh]

        items = omnimmi_items()
        start = time.perf_counter()
        JudgeClient(cache_path=cache_b, **settings).judge_many(items)
        prime_s = time.perf_counter() - start
        before = server.count
        start = time.perf_counter()
        rescored = JudgeClient(cache_path=cache_b, **settings).judge_many(items)
        rescore_s = time.perf_counter() - start
        rescore_requests = server.count - before
        assert all(v.cached for v in rescored)

    print(f"{N_CALLS} calls at {DELAY_S * 1000:.0f} ms: concurrent(64) {concurrent_s:.2f}s, one at a time "
          f"{serial_s:.1f}s (measured {serial_slice_s:.2f}s on {SERIAL_SLICE}), from cache {cached_s:.3f}s "
          f"({cached_requests} requests)")
    print(f"{len(items)} OmniMMI queries: primed in {prime_s:.2f}s, re-scored from cache in {rescore_s:.3f}s "
          f"({rescore_requests} requests)")
    print(json.dumps({
        "speedup": round(serial_s / concurrent_s, 2), "concurrent_s": round(concurrent_s, 3),
        "serial_s_est": round(serial_s, 2), "serial_calls_measured": SERIAL_SLICE,
        "cached_requests": cached_requests, "cached_s": round(cached_s, 4),
        "rescore_queries": len(items), "rescore_requests": rescore_requests,
        "rescore_2290_s": round(rescore_s, 4), "prime_2290_s": round(prime_s, 2),
    }))


if __name__ == "__main__":
    main()
