"""Chat formatting derived from the tokenizer's own chat template: nothing hard-coded.

The prompt LongVA/M4 sees for a video is one user turn whose content is "<image>\\n{question}":

    <|im_start|>system\\n{system}<|im_end|>\\n<|im_start|>user\\n <image> \\n{query}<|im_end|>\\n<|im_start|>assistant\\n
    \\_____________________ head ________________________/ frames \\__________ query part ____________/

`head` plus the frame embeddings is the shared prefix; the query part opens a channel (a question,
an interruption, or the alerting query). Rendering the template once with sentinels gives those
pieces, the special token ids and the alerting row, for any ChatML-like tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_SLOT = "\u2063QUERY\u2063"       # invisible separator: never in real text


@dataclass(frozen=True)
class Conversation:
    """Token ids around one media placeholder: head, [media embeddings], tail."""

    head: list[int]
    tail: list[int]


class ChatFormat:
    """Token-level view of a ChatML template for the M4 prompts."""

    def __init__(self, tokenizer: Any, system_prompt: str = "You are a helpful assistant.",
                 image_token: str = "<image>", start_token: str = "<|im_start|>", end_token: str = "<|im_end|>",
                 speech_token: str = "<speech>"):
        self.tokenizer = tokenizer
        self.system_prompt = system_prompt
        self.image_token = image_token
        self.speech_token = speech_token
        self.im_start_id = self._special_id(start_token)
        self.im_end_id = self._special_id(end_token)
        rendered = self.render([{"role": "user", "content": f"{image_token}\n{_SLOT}"}])
        if rendered.count(image_token) != 1 or rendered.count(_SLOT) != 1:
            raise ValueError("the tokenizer's chat template does not keep user content verbatim")
        head, rest = rendered.split(image_token)
        self._query_before, self._query_after = rest.split(_SLOT)
        self.head_ids = self.encode(head)
        tail_ids = self.encode(self._query_after)
        if self.im_start_id not in tail_ids:
            raise ValueError("the chat template's generation prompt does not start with the turn-start token")
        # the row of the <|im_start|> that opens the assistant header, counted from the end
        self.alert_row_from_end = len(tail_ids) - max(i for i, t in enumerate(tail_ids) if t == self.im_start_id)

    def _special_id(self, token: str) -> int:
        token_id = self.tokenizer.convert_tokens_to_ids(token)
        if token_id is None or token_id == getattr(self.tokenizer, "unk_token_id", -1):
            raise ValueError(f"tokenizer has no special token {token!r}")
        return int(token_id)

    def render(self, messages: list[dict[str, str]], generation_prompt: bool = True) -> str:
        full = [{"role": "system", "content": self.system_prompt}, *messages]
        return self.tokenizer.apply_chat_template(full, tokenize=False, add_generation_prompt=generation_prompt)

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    # the pieces -------------------------------------------------------------------------------
    @property
    def prefix_text_length(self) -> int:
        """Tokens before the frames (the reference hard-codes 13 for its template)."""
        return len(self.head_ids)

    def prefix_length(self, num_frames: int, tokens_per_frame: int) -> int:
        return len(self.head_ids) + num_frames * tokens_per_frame

    def query_ids(self, text: str) -> list[int]:
        """A channel's opening: '\\n{text}<|im_end|>\\n<|im_start|>assistant\\n' as the template spells it."""
        return self.encode(self._query_before + text + self._query_after)

    def query_head_ids(self, text: str) -> list[int]:
        """'\n{text}': what precedes a spoken alert query's speech (the reference's audio PA loop)."""
        return self.encode(self._query_before + text)

    def spoken_query_tail(self) -> list[int]:
        """What follows a spoken query's speech tokens in a channel opening: '<|im_end|>\n<|im_start|>assistant\n'
        (the reference's streaming audio model puts the speech right after the frames)."""
        return self.encode(self._query_after)

    def chatml_turn_ids(self, text: str) -> list[int]:
        """A channel's opening as a prompt of its own: system prompt, the user turn, the assistant header
        (how M4's turn-taking demo templates a new query; `interruption_prompt="chatml"`)."""
        return self.encode(self.render([{"role": "user", "content": text}]))

    def alert_row(self, query_length: int) -> int:
        """Index, within the query part, of the row whose attention scores frames."""
        return query_length - self.alert_row_from_end

    def conversation(self, prompt: str, history: list[tuple[str, str]] = ()) -> Conversation:
        """Earlier (role, text) turns plus the prompt; the media placeholder opens the first user turn."""
        messages = [{"role": role, "content": text} for role, text in history] + [{"role": "user", "content": prompt}]
        first_user = next(i for i, m in enumerate(messages) if m["role"] == "user")
        messages[first_user] = {"role": "user", "content": f"{self.image_token}\n{messages[first_user]['content']}"}
        head, tail = self.render(messages).split(self.image_token, 1)
        return Conversation(self.encode(head), self.encode(tail))

    def spoken_conversation(self, history: list[tuple[str, str]] = (), text: str = "") -> tuple[list[int], list[int], list[int]]:
        """The reference's audio evaluation layout, ids around the two media: (head, middle, tail) for

        <|im_start|>user\n<image><|im_end|>\n [history] <|im_start|>user\n<speech>\n{text}<|im_end|>\n<|im_start|>assistant\n
        (text is empty in the reference: the question is only heard)."""
        messages = [{"role": "user", "content": self.image_token},
                    *({"role": role, "content": t} for role, t in history),
                    {"role": "user", "content": f"{self.speech_token}\n{text}"}]
        head, rest = self.render(messages).split(self.image_token, 1)
        middle, tail = rest.split(self.speech_token, 1)
        return self.encode(head), self.encode(middle), self.encode(tail)
