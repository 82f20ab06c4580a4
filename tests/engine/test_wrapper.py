"""The wrapper every adapter gets: timeout, retries on declared transient errors, cache."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from omnibench.engine.protocols import OfflineRequest
from omnibench.engine.wrapper import GuardedModel, ResponseCache, request_key
from omnibench.errors import ModelError


class Flaky:
    transient_errors = (ConnectionError,)
    deterministic = True

    def __init__(self, failures: int, error=ConnectionError):
        self.failures, self.error, self.calls = failures, error, 0

    def generate(self, request):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error("try again")
        return f"ok {request.prompt}"


def test_declared_transient_errors_are_retried_a_bounded_number_of_times():
    model = Flaky(2)
    guarded = GuardedModel(model, model_id="m", retries=2, backoff_s=0.001)
    assert guarded.generate(OfflineRequest(prompt="p"))[0] == "ok p" and model.calls == 3
    with pytest.raises(ModelError, match="after 2 retries"):
        GuardedModel(Flaky(5), model_id="m", retries=2, backoff_s=0.001).generate(OfflineRequest(prompt="p"))


def test_other_errors_are_not_retried():
    model = Flaky(1, error=ValueError)
    with pytest.raises(ValueError):
        GuardedModel(model, model_id="m", backoff_s=0.001).generate(OfflineRequest(prompt="p"))
    assert model.calls == 1


def test_a_call_past_its_timeout_fails_with_the_model_named():
    class Sleepy:
        def generate(self, request):
            time.sleep(1.0)
            return "late"

    start = time.perf_counter()
    with pytest.raises(ModelError, match="sleepy: call timed out"):
        GuardedModel(Sleepy(), model_id="sleepy", timeout_s=0.1).generate(OfflineRequest(prompt="p"))
    assert time.perf_counter() - start < 0.9


def test_deterministic_answers_are_cached_by_request_content(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    model = Flaky(0)
    guarded = GuardedModel(model, model_id="m", cache=cache)
    frames = np.zeros((2, 4, 4, 3), np.uint8)
    assert guarded.generate(OfflineRequest(prompt="p", frames=frames))[0] == "ok p"
    assert guarded.generate(OfflineRequest(prompt="p", frames=frames.copy()))[0] == "ok p"
    assert model.calls == 1
    other = frames.copy()
    other[0, 0, 0, 0] = 1
    guarded.generate(OfflineRequest(prompt="p", frames=other))
    assert model.calls == 2, "a different frame is a different request"
    assert request_key({"m": 1}, OfflineRequest(prompt="p")) != request_key({"m": 2}, OfflineRequest(prompt="p"))


def test_a_caller_waiting_for_a_lane_returns_when_the_lanes_are_closed():
    """Used to wait forever: close() woke no waiter, and a lane ending after close is never idle again."""
    from omnibench.engine.wrapper import _Lanes

    lanes, release = _Lanes(1, "one"), threading.Event()
    threading.Thread(target=lanes.call, args=(release.wait, (), None), daemon=True).start()
    time.sleep(0.05)                                    # the only lane is busy (not hung)
    outcome: list = []
    waiter = threading.Thread(target=lambda: outcome.append(lanes.call(lambda: "late", (), None)), daemon=True)
    waiter.start()
    time.sleep(0.05)
    lanes.close()
    release.set()
    waiter.join(5)
    assert not waiter.is_alive() and outcome == [None], "closed lanes send the caller to the model's new ones"
