from __future__ import annotations

import numpy as np
import torch

from omnibench.m4.inference.spotter import HighlightSpotter, LastLayerQueries, last_layer_attention
from omnibench.m4.model.config import SpotterSettings, tiny_config
from omnibench.m4.model.modeling import build_model, new_cache

MARKER = 0     # embedding dimension the rigged last layer keys on


def _rigged_model():
    """Layer 0 passes embeddings through; the last layer's query is a constant on the slowest rotary
    pair and its key reads one embedding dimension, so a frame carrying that dimension wins attention."""
    model = build_model(tiny_config(vocab_size=259), seed=7)
    layers = model.decoder_layers
    with torch.no_grad():
        layers[0].self_attn.o_proj.weight.zero_()
        layers[0].mlp.down_proj.weight.zero_()
        attn = layers[-1].self_attn
        d = attn.head_dim
        slow = d // 2 - 1                                  # lowest rotary frequency: ~position-free
        attn.q_proj.weight.zero_()
        attn.q_proj.bias.zero_()
        attn.k_proj.weight.zero_()
        attn.k_proj.bias.zero_()
        attn.q_proj.bias.view(-1, d)[:, slow] = 4.0
        attn.k_proj.weight.view(-1, d, attn.k_proj.weight.shape[1])[:, slow, MARKER] = 4.0
    return model


def _run(model, pipeline, frame_embeds, query="tell me when the red ball appears", settings=None):
    chat = pipeline.chat
    cache = new_cache(model)
    model.forward_embeds(model.embed(chat.head_ids), cache)
    spotter = HighlightSpotter(model, chat, settings or SpotterSettings())
    spotter.set_query(query)
    alerts = []
    for i, embeds in enumerate(frame_embeds):
        alert = spotter.step(cache, embeds, len(chat.head_ids), i)
        assert cache.get_seq_length() == len(chat.head_ids) + (i + 1) * embeds.shape[1]   # query cropped off
        if alert:
            alerts.append((i, alert))
    return alerts


def test_spotter_alerts_once_on_the_planted_frame(pipeline):
    model = _rigged_model()
    plain = torch.zeros(1, 4, model.config.hidden_size)
    plain[..., 1:] = 0.3
    planted = plain.clone()
    planted[..., MARKER] = 30.0
    frames = [plain] * 2 + [planted] + [plain] * 12
    alerts = _run(model, pipeline, frames)
    assert len(alerts) == 1
    step, alert = alerts[0]
    assert alert.frame == 2 and alert.count == 5
    assert step > 4                                        # after warm-up, once counted > 4 times
    assert max(alert.scores) == alert.scores[2]


def test_spotter_stays_silent_on_uniform_frames(pipeline):
    model = _rigged_model()
    plain = torch.zeros(1, 4, model.config.hidden_size)
    plain[..., 1:] = 0.3
    assert _run(model, pipeline, [plain] * 15) == []


def test_spotter_stays_silent_on_uniform_real_frames(pipeline):
    gray = np.full((32, 48, 3), 128, dtype=np.uint8)
    embeds = pipeline.frame_embeddings([gray])
    assert _run(pipeline.model, pipeline, [embeds] * 15) == []


def test_settings_change_the_rule():
    spotter = HighlightSpotter(None, None, SpotterSettings(alpha=1.0, count=1, warmup=2))
    scores = torch.tensor([0.1, 0.1, 0.9, 0.1])
    assert spotter.update(scores, 2) is None               # still warming up
    assert spotter.update(scores, 4) is None               # count 1 does not exceed 1
    alert = spotter.update(scores, 4)
    assert alert is not None and alert.frame == 2 and alert.count == 2
    assert spotter.update(scores, 4) is None               # never twice for one frame


def test_last_layer_scores_match_eager_attention(pipeline, prefix):
    """Our hook + cached keys give the weights eager attention would, with sdpa left on."""
    eager = build_model(pipeline.config.model_copy(update={"attn_implementation": "eager"}), seed=0)
    model = pipeline.model
    assert model.language_model.config._attn_implementation == "sdpa"
    query = pipeline.chat.query_ids("when does it move?")
    embeds = torch.cat([prefix, model.embed(query)], dim=1)
    cache = new_cache(model)
    model.forward_embeds(prefix, cache)
    with LastLayerQueries(model) as capture:
        model.forward_embeds(model.embed(query), cache)
    rows = [len(query) - 1, pipeline.chat.alert_row(len(query))]
    ours = last_layer_attention(model, capture.queries, cache, rows)
    reference = eager.forward_embeds(embeds, new_cache(eager), output_attentions=True).attentions[-1][0].mean(0)
    assert torch.allclose(ours, reference[[prefix.shape[1] + r for r in rows]], atol=1e-6)


def _salient(frames: int, hot: list[int]):
    """Scores for `frames` frames where the `hot` ones stand far above the rest (salient at alpha 1)."""
    scores = torch.zeros(frames)
    scores[hot] = 10.0
    return scores


def test_ties_go_to_the_lowest_frame_here_and_to_the_earliest_to_reach_the_count_in_reference_mode():
    """Frame 7 reaches count 5 first, frame 3 later: the reference's MaxHeapDict keeps 7 on top (its
    entry was pushed first), so 3 never alerts at that count; we alert 3 too (lowest frame on a tie)."""
    def alerts(tie_break):
        spotter = HighlightSpotter(None, None, SpotterSettings(alpha=1.0, count=4, warmup=0, tie_break=tie_break))
        fired = []
        for _step in range(5):
            alert = spotter.update(_salient(8, [7]), 8)
            fired += [alert.frame] if alert else []
        for _step in range(5):
            alert = spotter.update(_salient(8, [3]), 8)
            fired += [alert.frame] if alert else []
        return fired

    assert alerts("lowest_frame") == [7, 3]
    assert alerts("earliest") == [7]
