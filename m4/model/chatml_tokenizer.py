"""In-memory ChatML tokenizers for tiny M4 models (tests, benches, `tiny=True`, tiny_cpu): no download.

`build_chatml_tokenizer`: byte-level BPE with no merges: every byte is a token, so any text
round-trips exactly. `train_chatml_tokenizer`: byte-level BPE whose merges are learnt from the
training text, so common words are single tokens (a tiny model then reads words, not letters) and
any other text still round-trips byte by byte. Both add the ChatML specials; the chat template is
the ChatML one Qwen2 ships (system prompt given explicitly).
"""

from __future__ import annotations

import re

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")


def build_chatml_tokenizer():
    """A PreTrainedTokenizerFast of 256 byte tokens + 3 specials (ids 256..258), ChatML template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    # stable ids: byte order of the GPT-2 byte->unicode table
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet, key=_byte_of))}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens(list(SPECIAL_TOKENS))
    return _chatml(core)


def train_chatml_tokenizer(texts, vocab_size: int = 1024):
    """Byte-level BPE trained on `texts` (deterministic for the same texts in the same order)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    specials = "|".join(map(re.escape, SPECIAL_TOKENS))
    core.train_from_iterator((re.sub(specials, " ", t) for t in texts), trainer=trainer)
    return _chatml(core)


def _chatml(core):
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.chat_template = CHATML_TEMPLATE
    return tok


def _byte_of(ch: str) -> int:
    table = _unicode_to_byte()
    return table[ch]


def _unicode_to_byte() -> dict[str, int]:
    # GPT-2's reversible byte <-> printable-unicode table
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}
