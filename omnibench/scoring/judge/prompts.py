"""Versioned judge prompts. The version goes into every cache key and every result.

`omnimmi-v1` asks what OmniMMI's judge asks (reference: evaluations/evaluate.py, `openai_eval`),
in our own words: a system message setting the grader role (meaningful match, synonyms and
paraphrases count), and a user message giving Question / Correct Answer / Predicted Answer and
asking for a dict with 'pred' ('yes' or 'no') and an integer 'score' from 0 to 5.

A prompt file (`--judge-prompt FILE`) is JSON: {"version": "...", "system": "...", "user": "..."}.
The user template names the inputs as {question}, {answer} and {prediction}; they are filled by
plain replacement (never str.format, so braces in a model's answer or a template are harmless).
A file without "version" gets `file:<stem>-<sha256[:10]>`, so editing it invalidates the cache.
`omnibench data reference-prompts PATH` writes such a file with the reference's own wording, read
from the user's OmniMMI checkout (omnibench.reference_prompts); `--reference omnimmi` uses it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from omnibench.errors import ConfigError

SLOTS = ("{question}", "{answer}", "{prediction}")


@dataclass(frozen=True)
class JudgePrompt:
    version: str
    system: str
    user: str  # template with {question}, {answer}, {prediction}

    @property
    def sha256(self) -> str:
        """The prompt's text (system and user template), hashed: what the judge cache keys on."""
        return hashlib.sha256(json.dumps([self.system, self.user]).encode("utf-8", "surrogatepass")).hexdigest()

    def messages(self, question: str, answer: str, prediction: str) -> list[dict[str, str]]:
        # one pass over the template, so text inside an input is never re-substituted
        values = {"{question}": question, "{answer}": answer, "{prediction}": prediction}
        parts: list[str] = []
        rest = self.user
        while True:
            hits = [(rest.find(slot), slot) for slot in SLOTS if slot in rest]
            if not hits:
                parts.append(rest)
                break
            at, slot = min(hits)
            parts += [rest[:at], values[slot]]
            rest = rest[at + len(slot):]
        return [{"role": "system", "content": self.system}, {"role": "user", "content": "".join(parts)}]


OMNIMMI_V1 = JudgePrompt(
    version="omnimmi-v1",
    system=(
        "You grade answers to questions about videos. Decide whether the predicted answer means "
        "the same as the correct answer.\n"
        "Guidelines:\n"
        "- Judge meaning, not wording: synonyms and paraphrases that say the same thing are a match.\n"
        "- Judge whether the prediction is correct with respect to the correct answer."
    ),
    user=(
        "Here is a question about a video, its correct answer, and a predicted answer.\n\n"
        "Question: {question}\n"
        "Correct Answer: {answer}\n"
        "Predicted Answer: {prediction}\n\n"
        "Reply with a verdict and a score. The verdict 'pred' is the string 'yes' if the prediction "
        "matches the correct answer in meaning and 'no' otherwise. The 'score' is an INTEGER from 0 "
        "to 5 (5 = the best match), not a string. Write the reply as a Python dictionary with exactly "
        "the keys 'pred' and 'score', with no code block, explanation or other text, for example: "
        "{'pred': 'no', 'score': 1}"
    ),
)

BUILTIN_PROMPTS: dict[str, JudgePrompt] = {OMNIMMI_V1.version: OMNIMMI_V1}


class _PromptFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str | None = None
    system: str
    user: str


def load_prompt(spec: str | Path | JudgePrompt = "omnimmi-v1") -> JudgePrompt:
    """A built-in prompt by version name, or a JSON prompt file (see the module docstring)."""
    if isinstance(spec, JudgePrompt):
        return spec
    if str(spec) in BUILTIN_PROMPTS:
        return BUILTIN_PROMPTS[str(spec)]
    path = Path(spec)
    if not path.exists():
        raise ConfigError(f"unknown judge prompt {str(spec)!r}: not one of {sorted(BUILTIN_PROMPTS)} "
                          "and not a file")
    from omnibench.safejson import loads, read_text  # bad bytes, huge ints, deep nesting: DataError with the line

    text = read_text(path)
    try:
        data = _PromptFile.model_validate(loads(text, file=path))
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"judge prompt file {path}: expected JSON with 'system' and 'user' "
                          f"(and optional 'version'): {exc}") from exc
    missing = [slot for slot in SLOTS if slot not in data.user]
    if missing:
        raise ConfigError(f"judge prompt file {path}: field 'user' lacks {', '.join(missing)}")
    version = data.version or f"file:{path.stem}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"
    return JudgePrompt(version=version, system=data.system, user=data.user)
