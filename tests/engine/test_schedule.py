"""Work handed out as ranks free up (a shared cursor), in one process: ranks are threads over a store
double; the real torchrun runs are in test_distributed.py."""

from __future__ import annotations

import shutil
import threading
import time
from datetime import timedelta

import pytest

from omnibench.engine.distributed import Job, longest_first
from omnibench.engine.evaluate import Evaluation
from omnibench.engine.eventlog import EventLog
from omnibench.scoring.rules import choice_match
from omnibench.scoring.run_scores import score_run
from tests.conftest import text_samples


class FakeStore:
    """What omnibench uses of torch.distributed's TCPStore, as TCPStore behaves on those calls:
    add(key, n) -> the new int value (a missing key counts from 0); set(key, str); get(key) ->
    bytes, waiting for the key; wait(keys, timeout) raises after the timeout."""

    def __init__(self):
        self.values: dict[str, bytes] = {}
        self.cond = threading.Condition()

    def add(self, key: str, amount: int) -> int:
        with self.cond:
            value = int(self.values.get(key, b"0")) + amount
            self.values[key] = str(value).encode()
            self.cond.notify_all()
            return value

    def set(self, key: str, value: str) -> None:
        with self.cond:
            self.values[key] = value.encode() if isinstance(value, str) else value
            self.cond.notify_all()

    def get(self, key: str) -> bytes:
        self.wait([key], timedelta(seconds=30))
        return self.values[key]

    def wait(self, keys: list[str], timeout: timedelta) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: all(k in self.values for k in keys), timeout.total_seconds()):
                raise RuntimeError("Socket Timeout")


class Answers:
    needs_video = False

    def __init__(self, pause: float = 0.0):
        self.pause, self.asked = pause, []

    def generate(self, request):
        time.sleep(self.pause)
        self.asked.append(request.sample_id)
        i = int(request.sample_id[1:])
        return f"a{i}" if i % 3 else "zzz"


def test_ranks_take_each_sample_once_and_rank_0_sees_the_whole_job(tmp_path, memory_task):
    samples = text_samples(30, "t_cursor")
    name = memory_task("t_cursor", samples, [choice_match()], protocols=("offline",))
    store = FakeStore()
    models = [Answers(pause=0.01 * (r + 1)) for r in range(3)]          # ranks of different speeds
    ranks = [Evaluation(model="m", out=tmp_path / "dist", model_obj=models[r], job=Job(r, 3, store), progress=False)
             for r in range(3)]
    runs: dict[int, list] = {}
    threads = [threading.Thread(target=lambda r=r: runs.__setitem__(r, ranks[r].run([name]))) for r in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    asked = [sid for m in models for sid in m.asked]
    assert sorted(asked) == sorted(s.id for s in samples), "every sample exactly once"
    assert all(m.asked for m in models) and len(models[0].asked) > len(models[2].asked), "the faster rank took more"
    assert runs[0][0].ran == 30 and len(runs[0][0].failed) == 0, "rank 0 reports what every rank did"
    logs = sorted(p.name for p in (tmp_path / "dist" / "logs" / name).glob("*.jsonl"))
    assert logs == ["m.shard0of3.jsonl", "m.shard1of3.jsonl", "m.shard2of3.jsonl"], "one log per rank"
    seqs = sorted(r.seq for p in (tmp_path / "dist" / "logs" / name).glob("*.jsonl") for r in EventLog(p).records())
    assert seqs == list(range(1, 31)), "one sequence over the whole run, whatever the rank"
    Evaluation(model="m", out=tmp_path / "single", model_obj=Answers(), progress=False).run([name])
    merged, alone = score_run(tmp_path / "dist")[0], score_run(tmp_path / "single")[0]
    assert merged.metrics == alone.metrics and merged.n_scored == 30


def ranks_run(out, name: str, models: list, store: FakeStore | None = None) -> dict[int, str]:
    """Each model a rank (a thread) of one job over `store`; {rank: the error it ended with}."""
    store = store or FakeStore()
    ranks = [Evaluation(model="m", out=out, model_obj=m, job=Job(r, len(models), store), progress=False)
             for r, m in enumerate(models)]
    errors: dict[int, str] = {}

    def run(r: int) -> None:
        try:
            ranks[r].run([name])
        except Exception as exc:
            errors[r] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=run, args=(r,)) for r in range(len(models))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_a_plan_error_on_rank_0_reaches_every_rank(tmp_path, memory_task):
    name = memory_task("t_plan_error", text_samples(3, "t_plan_error"), protocols=("offline",))
    assert ranks_run(tmp_path, name, [Answers(), Answers()]) == {}
    changed = [s.model_copy(update={"turns": [q.model_copy(update={"text": "new?"}) for q in s.turns]})
               for s in text_samples(3, "t_plan_error")]
    memory_task("t_plan_error", changed, protocols=("offline",))       # the same ids, other questions
    errors = ranks_run(tmp_path, name, [Answers(), Answers()])
    assert "sample(s) changed since their answers were logged" in errors[0]
    assert errors[1].startswith("DataError: (from rank 0)") and "changed since" in errors[1]


def test_samples_are_handed_out_longest_stream_first(tmp_path, memory_task):
    lengths = [30.0, 400.0, 5.0, 120.0]
    samples = [s for i, d in enumerate(lengths) for s in text_samples(i + 1, "t_order_len", duration=d)[i:]]
    name = memory_task("t_order_len", samples, protocols=("offline",))
    model = Answers()
    Evaluation(model="m", out=tmp_path, model_obj=model, progress=False).run([name])
    assert model.asked == ["s001", "s003", "s000", "s002"]


def test_longest_streams_first_and_unknown_lengths_count_as_the_mean():
    lengths = {"a": 10.0, "b": None, "c": 100.0, "d": 30.0, "e": 0.0}
    assert longest_first(lengths, lengths.get, key=str) == ["c", "b", "d", "a", "e"]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (apt-get install espeak-ng)")
def test_speech_is_made_only_for_the_samples_a_process_runs(tmp_path, memory_task, isolated_cache):
    """On e49ab22 every shard (every torchrun rank) synthesised every sample's questions."""
    from omnibench.data.tts import EspeakTTS
    from omnibench.engine.shard import in_shard

    class Listener:
        needs_video = False
        accepts_audio = True

        def generate(self, request):
            return "a0"

    samples = text_samples(6, "t_spoken")
    name = memory_task("t_spoken", samples, protocols=("offline",))
    Evaluation(model="l", out=tmp_path, model_obj=Listener(), shard=(0, 2), progress=False).run([name])
    tts = EspeakTTS()
    made = {s.id: tts.cache_path(s.turns[0].text, None).exists() for s in samples}
    assert made == {s.id: in_shard(s.id, (0, 2)) for s in samples}


def test_a_model_split_over_the_ranks_runs_every_sample_on_every_rank_and_rank_0_writes(tmp_path, memory_task):
    """Tensor parallelism (tp_plan): each rank holds a slice, so every rank must take every sample in step."""
    class Slice(Answers):
        tensor_parallel = True

    name = memory_task("t_tp", text_samples(5, "t_tp"), [choice_match()], protocols=("offline",))
    store, models = FakeStore(), [Slice(), Slice()]
    ranks = [Evaluation(model="m", out=tmp_path, model_obj=models[r], job=Job(r, 2, store), progress=False)
             for r in range(2)]
    threads = [threading.Thread(target=ranks[r].run, args=([name],)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert models[0].asked == models[1].asked == [f"s{i:03d}" for i in range(5)]
    assert sorted(p.name for p in (tmp_path / "logs" / name).glob("*.jsonl")) == ["m.shard0of2.jsonl"]
    assert score_run(tmp_path)[0].n_scored == 5
