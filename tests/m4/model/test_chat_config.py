from __future__ import annotations

import pytest

from omnibench.m4.model.chat import ChatFormat
from omnibench.m4.model.chatml_tokenizer import build_chatml_tokenizer
from omnibench.m4.model.config import M4Config, longva_7b_config, tiny_config


def test_constants_come_from_the_tokenizer_and_its_template():
    tok = build_chatml_tokenizer()
    chat = ChatFormat(tok)
    assert chat.im_start_id == tok.convert_tokens_to_ids("<|im_start|>")
    assert chat.im_end_id == tok.eos_token_id
    head = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    assert tok.decode(chat.head_ids) == head
    assert chat.prefix_length(32, 144) == len(chat.head_ids) + 32 * 144
    q = chat.query_ids("where is the cat?")
    assert tok.decode(q) == "\nwhere is the cat?<|im_end|>\n<|im_start|>assistant\n"
    row = chat.alert_row(len(q))
    assert q[row] == chat.im_start_id and tok.decode(q[row + 1:]) == "assistant\n"
    assert len(q) - row == 11          # "assistant\n" is 10 bytes here; Qwen2's BPE gives the reference's 3


def test_a_different_system_prompt_changes_the_derived_prefix_length():
    tok = build_chatml_tokenizer()
    assert len(ChatFormat(tok, system_prompt="Hi.").head_ids) < len(ChatFormat(tok).head_ids)


def test_conversation_puts_the_image_in_the_first_user_turn():
    tok = build_chatml_tokenizer()
    conv = ChatFormat(tok).conversation("and now?", [("user", "what?"), ("assistant", "a dog")])
    assert tok.decode(conv.head).endswith("<|im_start|>user\n")
    assert tok.decode(conv.tail) == ("\nwhat?<|im_end|>\n<|im_start|>assistant\na dog<|im_end|>\n"
                                     "<|im_start|>user\nand now?<|im_end|>\n<|im_start|>assistant\n")


def test_missing_special_token_is_refused():
    tok = build_chatml_tokenizer()
    with pytest.raises(ValueError, match="special token"):
        ChatFormat(tok, start_token="<|nope|>")


def test_real_sizes_give_144_tokens_per_frame():
    cfg = longva_7b_config()
    assert cfg.tokens_per_frame == 144 and cfg.frame_size == 336 and cfg.hidden_size == 3584


def test_config_round_trips_through_the_longva_json():
    cfg = tiny_config(audio=True, channel_positions="restart")
    assert M4Config.from_longva_json(cfg.to_longva_json()) == cfg


def test_released_style_config_without_vision_sizes_gets_clip_l14_336():
    data = {"hidden_size": 3584, "vocab_size": 152064, "num_hidden_layers": 28, "model_type": "llava_qwen",
            "mm_vision_tower": "openai/clip-vit-large-patch14-336", "mm_hidden_size": 1024,
            "mm_projector_type": "mlp2x_gelu", "mm_spatial_pool_stride": 2, "mm_spatial_pool_mode": "average",
            "mm_vision_select_layer": -2, "image_aspect_ratio": "anyres", "image_grid_pinpoints": [[336, 672]]}
    cfg = M4Config.from_longva_json(data)
    assert cfg.vision["hidden_size"] == 1024 and cfg.tokens_per_frame == 144
    assert "mm_hidden_size" not in cfg.text and "image_grid_pinpoints" not in cfg.text
    with pytest.raises(ValueError, match="mm_vision_tower"):
        M4Config.from_longva_json({**data, "mm_vision_tower": "some/siglip"})


def test_a_tokenizer_learnt_from_text_reads_words_and_still_round_trips_anything():
    from omnibench.m4.model.chatml_tokenizer import train_chatml_tokenizer

    texts = ["Please stop talking now.", "Stop, stop.", "Where did I put my glasses?"] * 20
    tok = train_chatml_tokenizer(texts, 400)
    again = train_chatml_tokenizer(texts, 400)
    assert tok.get_vocab() == again.get_vocab()
    assert len(tok("Please stop talking now.")["input_ids"]) <= 6          # whole words, not letters
    odd = "Ünïcode 😀 never seen <|im_end|>"
    ids = tok(odd)["input_ids"]
    assert tok.decode(ids) == odd and ids[-1] == tok.convert_tokens_to_ids("<|im_end|>")
    ChatFormat(tok)                                                      # its template is ChatML, as M4 needs
