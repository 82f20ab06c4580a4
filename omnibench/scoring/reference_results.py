"""The reference's judged results through our metrics: put the published verdicts next to ours.

OmniMMI's evaluate.py writes one file per item into `<output_dir>/<task>/<model>/gpt4o/`, named
`<video stem>##<index>.json` and holding `[verdicts, eval_set]`: for AP and SI the verdicts are
one judge reply {"pred", "score"}; for SG and MD {"qa": [reply, ...]}, one per turn. A reply
counts as yes when "yes" is in its lower-cased 'pred', its score is int(score), as the reference
counts them. Each item becomes a Score exactly as our judge scorer makes it, and the aggregates
come from omnibench.scoring.metrics, with the video as the bootstrap cluster.
"""

from __future__ import annotations

from pathlib import Path

from omnibench.errors import DataError
from omnibench.results import SampleScore, TaskResult
from omnibench.safejson import load_json

MULTI_TURN = ("sg", "md")
SINGLE = ("ap", "si")


def _verdict(reply, where: str):
    from omnibench.scoring.judge.client import Verdict

    if not isinstance(reply, dict) or "pred" not in reply or "score" not in reply:
        raise DataError("a judge reply must be an object with 'pred' and 'score'", file=where)
    try:
        score = int(reply["score"])   # the reference's int(): 4.8 -> 4, "3" -> 3
    except (TypeError, ValueError):
        raise DataError(f"score {reply['score']!r} is not a number", file=where) from None
    return Verdict("yes" in str(reply["pred"]).lower(), score)


def _no_client():
    """Verdicts read from the reference's files are combined, never asked for: no judge is built."""
    raise AssertionError("read_judged combines stored verdicts; it never calls a judge")


def read_judged(folder: str | Path, task: str) -> list[SampleScore]:
    """One SampleScore per judged file in `folder` (the reference's gpt4o/ directory of `task`)."""
    from omnibench.scoring.judge.scorer import JudgeTurns

    code = task.removeprefix("omnimmi_")
    if code not in MULTI_TURN + SINGLE:
        raise DataError(f"task {task!r} has no judged results; expected one of {', '.join(MULTI_TURN + SINGLE)}")
    files = sorted(Path(folder).glob("*.json"))
    if not files:
        raise DataError("holds no judged .json files", file=str(folder))
    combine = JudgeTurns(_no_client, per_turn=code in MULTI_TURN)._combine
    out = []
    for path in files:
        data = load_json(path)     # bad bytes, huge numbers, deep nesting: a DataError naming file and line
        if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], dict)):
            raise DataError("expected [verdicts, eval_set] as the reference writes it", file=str(path))
        if code in MULTI_TURN:
            replies = data[0].get("qa")
            if not isinstance(replies, list):
                raise DataError("field 'qa' of the verdicts must be a list", file=str(path))
        else:
            replies = [data[0]]
        score = combine(None, [_verdict(r, str(path)) for r in replies], None if replies else "no verdicts")
        stem = path.stem.rsplit("##", 1)[0]
        out.append(SampleScore(sample_id=path.stem, video_id=stem, values=score.values, weights=score.weights,
                               explanation=score.explanation, unscored=score.unscored))
    return out


def aggregate_judged(folder: str | Path, task: str, *, model: str = "reference") -> TaskResult:
    """The reference's aggregates of one task's judged files, computed by our metrics."""
    from omnibench.scoring.metrics import summarize

    name = task if task.startswith("omnimmi_") else f"omnimmi_{task}"
    result = summarize(name, model, "accuracy", read_judged(folder, task))
    result.settings = {"source": str(folder), "verdicts": "the reference's judged files (gpt4o/*.json)"}
    return result
