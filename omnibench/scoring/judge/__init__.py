"""The LLM judge: an OpenAI-compatible client (async, retried, cached), prompts, reply parsing, scorer."""

from omnibench.scoring.judge.cache import JudgmentCache, judgment_key
from omnibench.scoring.judge.client import DEFAULT_MODEL, JudgeClient, Verdict
from omnibench.scoring.judge.parse import VerdictParseError, parse_verdict
from omnibench.scoring.judge.prompts import BUILTIN_PROMPTS, OMNIMMI_V1, JudgePrompt, load_prompt
from omnibench.scoring.judge.scorer import JudgeTurns, judge_turns

__all__ = [
    "BUILTIN_PROMPTS", "DEFAULT_MODEL", "OMNIMMI_V1", "JudgeClient", "JudgePrompt", "JudgeTurns",
    "JudgmentCache", "Verdict", "VerdictParseError", "judge_turns", "judgment_key", "load_prompt",
    "parse_verdict",
]
