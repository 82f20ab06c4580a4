from __future__ import annotations

import math
import random

import pytest
import torch

from omnibench.m4.inference.multiplex import PREFIX, MultiplexDecoder, channel_mask, noise_test
from omnibench.m4.model.config import NoiseTestSettings

QUESTION = "what is happening?"


def _decoder(pipeline, prefix, positions="continue", n=24, cls=MultiplexDecoder):
    d = cls(pipeline.model, pipeline.chat, channel_positions=positions, max_new_tokens=n)
    d.start(prefix)
    return d


def _fresh(pipeline, prefix, text, positions="continue"):
    d = _decoder(pipeline, prefix, positions)
    d.ask(pipeline.chat.query_ids(text), force="query")
    return d.generate()


def test_mask_allows_exactly_prefix_or_same_channel_and_not_later():
    rng = random.Random(0)
    for _ in range(50):
        keys = [PREFIX] * rng.randint(0, 4) + [rng.randint(1, 3) for _ in range(rng.randint(1, 8))]
        n_new = rng.randint(1, len(keys))
        mask = channel_mask(keys, keys[-n_new:])[0, 0]
        for i in range(n_new):
            q = len(keys) - n_new + i
            for k in range(len(keys)):
                allowed = (keys[k] == PREFIX or keys[k] == keys[q]) and k <= q
                assert (mask[i, k] == 0) == allowed


def test_noise_test_formula():
    logits = torch.tensor([2.0, 0.0, -1.0, 0.5])
    p = torch.softmax(logits, -1)
    h = float(-(p * torch.log(p + 1e-5)).sum())
    is_noise, p_start, threshold, entropy = noise_test(logits, 1, NoiseTestSettings())
    assert math.isclose(entropy, h, rel_tol=1e-6)
    assert math.isclose(threshold, min(0.09, 0.3 * math.exp(-h)), rel_tol=1e-6)
    assert is_noise == (float(p[1]) > threshold)
    assert not noise_test(logits, 1, NoiseTestSettings(cap=1.0, scale=1e9))[0]


def test_noise_leaves_the_answer_token_for_token_identical(pipeline, prefix):
    plain = _fresh(pipeline, prefix, QUESTION)
    assert len(plain) >= 12
    d = _decoder(pipeline, prefix)
    d.ask(pipeline.chat.query_ids(QUESTION), force="query")
    out = d.generate(5)
    cache_before = d.cache.get_seq_length()
    decision = d.ask(pipeline.chat.query_ids("lovely weather today"), force="noise")
    assert decision.kind == "noise"
    assert d.cache.get_seq_length() == cache_before + 1          # only the pending answer token stayed
    out += d.generate(4)
    assert d.ask(pipeline.chat.query_ids("hmm, ok"), force="noise").kind == "noise"   # a second one
    out += d.generate()
    assert out == plain


def test_unforced_decision_follows_the_noise_test(pipeline, prefix):
    d = _decoder(pipeline, prefix)
    d.ask(pipeline.chat.query_ids(QUESTION), force="query")
    d.generate(3)
    decision = d.ask(pipeline.chat.query_ids("by the way"))
    assert (decision.kind == "noise") == (decision.p_start > decision.threshold)


def test_switch_answers_the_new_query_as_a_fresh_decode(pipeline, prefix):
    new = "what colour is it?"
    expected = _fresh(pipeline, prefix, new, positions="restart")
    d = _decoder(pipeline, prefix, positions="restart")
    d.ask(pipeline.chat.query_ids(QUESTION), force="query")
    d.generate(6)
    assert d.ask(pipeline.chat.query_ids(new), force="query").kind == "query"
    assert d.generate() == expected


def test_noise_then_switch_in_one_answer(pipeline, prefix):
    new = "count the shapes"
    expected = _fresh(pipeline, prefix, new, positions="restart")
    d = _decoder(pipeline, prefix, positions="restart")
    d.ask(pipeline.chat.query_ids(QUESTION), force="query")
    d.generate(3)
    d.ask(pipeline.chat.query_ids("nice"), force="noise")
    d.generate(2)
    d.ask(pipeline.chat.query_ids(new), force="query")
    assert d.generate() == expected


def test_continue_positions_switch_masks_the_old_channel(pipeline, prefix):
    d = _decoder(pipeline, prefix, positions="continue")
    d.ask(pipeline.chat.query_ids(QUESTION), force="query")
    d.generate(6)
    d.ask(pipeline.chat.query_ids("what colour is it?"), force="query")
    assert d.slot_position == list(range(len(d.slot_position)))      # positions continue after the cache
    # the old channel (its question + 6 tokens, the last fed with the new turn) stays, masked out
    assert d.slot_channel.count(1) == len(pipeline.chat.query_ids(QUESTION)) + 6
    assert d.generate() and d.cache.get_seq_length() == prefix.shape[1]


class _StopsWhenTold(MultiplexDecoder):
    stop_next = False

    def _choose(self, logits):
        if self.stop_next:
            self.stop_next = False
            return self.chat.im_end_id
        return super()._choose(logits)


def test_stop_ends_the_turn_and_restores_the_prefix(pipeline, prefix):
    d = _decoder(pipeline, prefix, cls=_StopsWhenTold)
    d.ask(pipeline.chat.query_ids(QUESTION), force="query")
    d.generate(4)
    d.stop_next = True
    decision = d.ask(pipeline.chat.query_ids("stop"), force="query")
    assert decision.kind == "stop" and not d.answering
    assert d.step() is None
    assert d.cache.get_seq_length() == prefix.shape[1]
    # and the decoder is reusable: the next question is answered as from scratch
    d.ask(pipeline.chat.query_ids(QUESTION), force="query")
    assert d.generate() == _fresh(pipeline, prefix, QUESTION)


def test_two_decoders_side_by_side_do_not_share_state(pipeline, prefix):
    a, b = _decoder(pipeline, prefix), _decoder(pipeline, prefix)
    a.ask(pipeline.chat.query_ids(QUESTION), force="query")
    b.ask(pipeline.chat.query_ids("other"), force="query")
    first_a = a.generate(3)
    b.generate(5)
    assert first_a + a.generate() == _fresh(pipeline, prefix, QUESTION)


def test_sampling_is_seeded(pipeline, prefix):
    def sample(seed):
        d = MultiplexDecoder(pipeline.model, pipeline.chat, temperature=1.0, seed=seed, max_new_tokens=10)
        d.start(prefix)
        d.ask(pipeline.chat.query_ids(QUESTION), force="query")
        return d.generate()

    assert sample(5) == sample(5)
    assert sample(5) != sample(6)


def test_a_gapped_training_view_is_exactly_what_an_interruption_sees_mid_answer(pipeline, prefix):
    """sft.position_gap's premise: with "continue" positions an interruption after n answer tokens is
    the prefix followed by its own turn, shifted by (question tail + n) positions."""
    from omnibench.m4.model.modeling import new_cache

    tail, turn = pipeline.chat.query_ids("Describe it."), pipeline.chat.query_ids("Okay, stop.")
    P, n = prefix.shape[1], 5
    decoder = pipeline.decoder(max_new_tokens=32)
    decoder.start(prefix)
    decoder.ask(tail, force="query")
    assert len(decoder.generate(limit=n)) == n
    seen = decoder.ask(turn, force="query")
    gap = len(tail) + n
    with torch.no_grad():
        embeds = torch.cat([prefix, pipeline.model.embed(turn)], dim=1)
        positions = list(range(P)) + list(range(P + gap, P + gap + len(turn)))
        logits = pipeline.model.forward_embeds(embeds, new_cache(pipeline.model), positions=positions).logits[0, -1]
    _, p_start, _, entropy = noise_test(logits, pipeline.chat.im_start_id, pipeline.config.noise)
    assert p_start == pytest.approx(seen.p_start, abs=1e-5) and entropy == pytest.approx(seen.entropy, abs=1e-4)
