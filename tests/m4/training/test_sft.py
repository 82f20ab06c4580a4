"""The SFT label mask, placeholder expansion, truncation and the padding collator."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from omnibench.m4.training.sft import (  # noqa: E402
    IGNORE,
    IMAGE_ID,
    SPEECH_ID,
    MediaSizes,
    PaddingCollator,
    SFTDataset,
    TemplateRenderer,
    conversation_turns,
)


@pytest.fixture(scope="module")
def tokenizer():
    from omnibench.m4.model.chatml_tokenizer import build_chatml_tokenizer

    return build_chatml_tokenizer()


def _ids(tok, text):
    return list(tok(text, add_special_tokens=False)["input_ids"])


def test_every_label_of_a_hand_built_conversation(tokenizer):
    tok = tokenizer
    s, e = tok.convert_tokens_to_ids("<|im_start|>"), tok.convert_tokens_to_ids("<|im_end|>")
    nl = _ids(tok, "\n")
    r = TemplateRenderer(tok, system_prompt="Sys.")
    turns = [("user", "<image>\nQ?"), ("assistant", "Ans"), ("user", "aside"), ("user", "Stop."),
             ("assistant", "<|im_end|>")]
    out = r.render(turns, MediaSizes(tokens_per_frame=3), frames=[2])
    x = lambda t: [IGNORE] * len(_ids(tok, t))     # noqa: E731
    want_ids, want_labels = [], []

    def turn(role, body_ids, body_labels):
        header = _ids(tok, role) + nl
        want_ids.extend([s, *header, *body_ids, e, *nl])
        want_labels.extend([s, *[IGNORE] * len(header), *body_labels, e, *nl])

    turn("system", _ids(tok, "Sys."), x("Sys."))
    body = [IMAGE_ID] * 6 + _ids(tok, "\nQ?")
    turn("user", body, [IGNORE] * len(body))                 # user content: nothing supervised
    turn("assistant", _ids(tok, "Ans"), _ids(tok, "Ans"))     # assistant content: all supervised
    turn("user", _ids(tok, "aside"), x("aside"))              # consecutive human turns are fine
    turn("user", _ids(tok, "Stop."), x("Stop."))
    turn("assistant", [e], [e])                              # the literal <|im_end|> reply
    assert out.input_ids == want_ids
    assert out.labels == want_labels
    # the newline after the assistant header is not supervised, the one after <|im_end|> is
    a_start = out.segments[2][1]
    header_len = len(_ids(tok, "assistant")) + len(nl)
    assert out.labels[a_start + header_len] == IGNORE
    assert out.labels[a_start + header_len + 1] == _ids(tok, "Ans")[0]


def test_placeholders_expand_to_frames_and_utterances(tokenizer):
    r = TemplateRenderer(tokenizer)
    out = r.render([("user", "<image>\n<speech>"), ("assistant", "ok")], MediaSizes(144, 300), frames=[3],
                   utterances=[1])
    assert out.input_ids.count(IMAGE_ID) == 3 * 144
    assert out.input_ids.count(SPEECH_ID) == 300
    assert all(out.labels[i] == IGNORE for i, t in enumerate(out.input_ids) if t < 0)


def test_placeholder_without_media_is_an_error(tokenizer):
    with pytest.raises(ValueError, match="placeholders"):
        TemplateRenderer(tokenizer).render([("user", "<image>\nhi")], MediaSizes(4), frames=[])
    with pytest.raises(ValueError, match="no placeholder"):
        TemplateRenderer(tokenizer).render([("user", "hi")], MediaSizes(4), frames=[1])


def test_image_goes_first_when_no_placeholder():
    turns = conversation_turns({"image": "a.png", "conversations": [{"from": "human", "value": "What?"},
                                                                     {"from": "gpt", "value": "X"}]})
    assert turns == [("user", "<image>\nWhat?"), ("assistant", "X")]


def _dataset(tmp_path, tokenizer, max_length=4096):
    from omnibench.m4.model.config import tiny_config

    np.save(tmp_path / "f.npy", np.zeros((5, 20, 30, 3), dtype=np.uint8))
    records = [{"id": "a", "image": "f.npy", "conversations": [{"from": "human", "value": "<image>\nQ"},
                                                               {"from": "gpt", "value": "long answer"}]},
               {"id": "b", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}]
    cfg = tiny_config(vocab_size=len(tokenizer))
    return SFTDataset(records, tokenizer, cfg, media_root=tmp_path, max_length=max_length), cfg


def test_dataset_item_and_collator(tmp_path, tokenizer):
    ds, cfg = _dataset(tmp_path, tokenizer)
    a, b = ds[0], ds[1]
    assert a["pixel_values"].shape == (5, 3, cfg.frame_size, cfg.frame_size)
    assert int((a["input_ids"] == IMAGE_ID).sum()) == 5 * cfg.tokens_per_frame
    assert "pixel_values" not in b
    batch = PaddingCollator(ds.pad_id)([a, b])
    n_a, n_b = len(a["input_ids"]), len(b["input_ids"])
    assert batch["input_ids"].shape == (2, max(n_a, n_b))
    assert batch["attention_mask"][1].sum() == n_b and batch["attention_mask"][0].sum() == n_a
    assert (batch["labels"][1, n_b:] == IGNORE).all() and (batch["input_ids"][1, n_b:] == ds.pad_id).all()
    assert batch["pixel_values"].shape[0] == 5


def test_truncation_never_keeps_half_a_frame(tmp_path, tokenizer):
    ds, cfg = _dataset(tmp_path, tokenizer)
    full = ds[0]
    first_image = int((full["input_ids"] == IMAGE_ID).nonzero()[0])
    ds.max_length = first_image + 2 * cfg.tokens_per_frame + 1      # two frames and one position of the third
    item = ds[0]
    assert int((item["input_ids"] == IMAGE_ID).sum()) == 2 * cfg.tokens_per_frame
    assert item["pixel_values"].shape[0] == 2
    assert len(item["input_ids"]) == len(item["labels"]) == first_image + 2 * cfg.tokens_per_frame


def test_media_path_outside_root_is_refused(tmp_path, tokenizer):
    from omnibench.errors import DataError

    ds, _ = _dataset(tmp_path, tokenizer)
    ds.records = [{"id": "evil", "image": "../x.npy", "conversations": [{"from": "human", "value": "hi"},
                                                                        {"from": "gpt", "value": "x"}]}]
    with pytest.raises(DataError, match="evil"):
        ds[0]


def test_position_gap_starts_right_after_the_first_media_run():
    from omnibench.m4.training.sft import gapped_positions

    ids = [5, 6, IMAGE_ID, IMAGE_ID, IMAGE_ID, 7, 8, IMAGE_ID, 9]
    assert gapped_positions(ids, 10).tolist() == [0, 1, 2, 3, 4, 15, 16, 17, 18]
    assert gapped_positions(ids, 0).tolist() == list(range(9))
    assert gapped_positions([5, 6, 7], 10).tolist() == [0, 1, 2]        # no media, nothing to skip


def test_dataset_with_position_gap_pads_position_ids(tmp_path, tokenizer):
    ds, cfg = _dataset(tmp_path, tokenizer)
    ds.position_gap = 50
    torch.manual_seed(0)
    items = [ds[0] for _ in range(20)]
    gaps = {int(x["position_ids"][-1]) - (len(x["input_ids"]) - 1) for x in items}
    assert len(gaps) > 1 and min(gaps) >= 0 and max(gaps) <= 50          # a fresh gap each time it is drawn
    batch = PaddingCollator(ds.pad_id)([items[0], ds[1]])
    n_b = len(ds[1]["input_ids"])
    assert batch["position_ids"].shape == batch["input_ids"].shape
    assert batch["position_ids"][1, :n_b].tolist() == list(range(n_b))    # no media in record 1: no gap
