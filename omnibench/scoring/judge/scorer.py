"""The judge as a scorer: every text-target turn of a sample is judged, then combined per sample.

How the OmniMMI reference (evaluations/evaluate.py) turns verdicts into numbers
------------------------------------------------------------------------------
Per judged pair it keeps the reply dict; "yes" means `"yes" in reply['pred'].lower()`, the score
is `int(reply['score'])`.

AP and SI (one question per item), over the N items:
    accuracy   = (# items judged yes) / N
    mean score = sum(int(score)) / N

SG and MD (several turns per item), over the N items:
    accuracy   = (# items whose every turn is yes) / N                  ("Average accuracy")
    mean score = mean over items of (mean int(score) over the item's turns)   (item-level, unweighted)
    each step accuracy, per turn index k = (# items whose turn k is yes) / (# items with a turn k)
    each accumulate step accuracy, per k = (# items whose turns 0..k are all yes) / (# items with a turn k)
      (the code appends `1 and item_step_acc[k-1][-1]`, i.e. the same item's previous cumulative
      value, so it is "all turns so far yes")

Our Score values, per sample; metrics.aggregate takes the weighted mean over samples, so each
aggregate equals the reference figure named beside it:
    accuracy            1.0 if every judged turn is yes                  -> "Average accuracy"
    score               mean 0-5 score over the sample's turns            -> "Average score"
  multi-turn tasks (SG, MD) add:
    turn_accuracy       share of turns yes, weight = number of turns     -> pooled per-turn accuracy
    step_accuracy       share of k with turns 1..k all yes, weight = turns -> pooled cumulative-step accuracy
    turn_accuracy@k     turn k (1-based) yes, only on samples with >= k turns -> "each step accuracy" k-1
    step_accuracy@k     turns 1..k all yes, same samples                    -> "each accumulate step" k-1
  (the pooled turn/step figures are ours: the reference prints only the per-index ones.)

The judged question is the turn text as written, with `##ANSWER##` left in place: the reference
fills the slot only in the prompt it sends the model (a local variable), and hands the judge the
annotation's question unchanged. `fill_answers=True` fills it with the model's earlier answer.
For AP the question is the bare question, without the vocabulary list, as in the reference.

A turn the judge could not score makes the whole sample unscored (values None, reason given),
instead of the reference's silent drop of that turn; `drop_unscored_turns=True` (reference mode)
drops it as multi_evaluate does, and the item's remaining verdicts are numbered again from 1 as
the reference's enumerate numbers them (an item left with none is unscored: the reference divides
by zero there). Errored records are not judged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from omnibench.errors import JudgeError
from omnibench.scoring.base import Score
from omnibench.scoring.judge.client import JudgeClient, Verdict

if TYPE_CHECKING:
    from omnibench.data.schema import Sample
    from omnibench.engine.eventlog import SampleRecord

ANSWER_SLOT = "##ANSWER##"
MULTI_TURN_TASK_SUFFIXES = ("_sg", "_md")  # OmniMMI SG/MD: per-turn metrics even on 1-turn items


class JudgeTurns:
    """A batch scorer; the client (or a factory for it) is injected and built on first use."""

    scorer_name = "judge"
    metrics = ("accuracy", "score", "turn_accuracy", "step_accuracy")   # plus turn_/step_accuracy@k

    def __init__(self, client: JudgeClient | Callable[[], JudgeClient], *, per_turn: bool | None = None,
                 fill_answers: bool = False, drop_unscored_turns: bool = False, online: str = "joined"):
        self._client = client if isinstance(client, JudgeClient) else None
        self._factory = None if isinstance(client, JudgeClient) else client
        self.per_turn = per_turn
        self.fill_answers = fill_answers
        self.drop_unscored_turns = drop_unscored_turns
        self.online = online      # "first": a live stream's answers as the reference's online loop keeps them
        self.refused: str | None = None      # the judge refused every call (401, no key): said by `score`

    def failures(self) -> list[str]:
        """Why the judge could not be used in this scoring (unreachable, refused); [] when it answered."""
        out = [self.refused] if self.refused else []
        if self._client is not None and (lost := self._client.unreachable()):
            out.append(lost)
        return out

    @property
    def client(self) -> JudgeClient:
        if self._client is None:
            assert self._factory is not None                  # one of the two is always given
            self._client = self._factory()
        return self._client

    def judge_model(self) -> str:
        return self.client.model

    def prompt_version(self) -> str:
        return self.client.prompt_version

    def __call__(self, sample: Sample, record: SampleRecord) -> Score:
        return self.batch([(sample, record)])[0]

    def batch(self, items: list[tuple[Sample, SampleRecord]]) -> list[Score]:
        """One Score per (sample, record); all judge calls of the batch run concurrently."""
        triples: list[tuple[str, str, str]] = []
        plans: list[tuple[list[int], str | None]] = []  # (positions in triples, reason not judged)
        for sample, record in items:
            if record.status == "error":
                plans.append(([], f"not judged: the model errored on this sample ({record.error})"))
                continue
            positions = []
            answers = self._answers(sample, record)
            for i, query in enumerate(sample.turns):
                if isinstance(query.target, str):
                    positions.append(len(triples))
                    triples.append((self._question(sample, answers, i), query.target, answers[i]))
            plans.append((positions, None if positions else "no turn with a text answer to judge"))
        try:
            verdicts = self.client.judge_many(triples) if triples else []
        except JudgeError as exc:  # 401, no key: these samples go unscored, other scorers and tasks still score
            self.refused = str(exc)
            failed = f"not judged: {exc}"
            return [self._combine(sample, [], reason or (failed if positions else None))
                    for (sample, _), (positions, reason) in zip(items, plans)]
        return [self._combine(sample, [verdicts[p] for p in positions], reason)
                for (sample, _), (positions, reason) in zip(items, plans)]

    def _answers(self, sample: Sample, record: SampleRecord) -> list[str]:
        from omnibench.scoring.live_loop import first_answers, is_live

        if self.online == "first" and is_live(record):
            return first_answers(sample.task, len(sample.turns), record)
        return [record.answer(i) for i in range(len(sample.turns))]

    def _question(self, sample: Sample, answers: list[str], turn: int) -> str:
        query = sample.turns[turn]
        if self.fill_answers and query.depends_on is not None:
            return query.text.replace(ANSWER_SLOT, answers[query.depends_on])
        return query.text

    def _is_multi_turn(self, sample: Sample | None, n_turns: int) -> bool:
        if self.per_turn is not None:
            return self.per_turn
        return n_turns > 1 or (sample is not None and sample.task.endswith(MULTI_TURN_TASK_SUFFIXES))

    def _combine(self, sample: Sample | None, verdicts: list[Verdict], not_judged: str | None) -> Score:
        multi = self._is_multi_turn(sample, len(verdicts))
        keys = ["accuracy", "score"] + (["turn_accuracy", "step_accuracy"] if multi else [])
        if not_judged:
            return Score(values=dict.fromkeys(keys), unscored=not_judged)
        extras: dict[str, Any] = {"verdicts": [{"pred": v.pred, "score": v.score, "cached": v.cached, "reason": v.reason}
                               for v in verdicts]}
        failed = [(i, v) for i, v in enumerate(verdicts) if v.pred is None or v.score is None]
        if failed and multi and self.drop_unscored_turns and len(failed) < len(verdicts):
            verdicts = [v for v in verdicts if v.pred is not None and v.score is not None]
            extras["dropped_turns"] = [i + 1 for i, _ in failed]    # as the reference's multi_evaluate
            failed = []
        if failed:
            why = "; ".join(f"turn {i + 1}: {v.reason or 'no verdict'}" for i, v in failed)
            return Score(values=dict.fromkeys(keys), unscored=f"judge gave no verdict: {why}", extras=extras)
        yes = [bool(v.pred) for v in verdicts]
        n = len(verdicts)
        values: dict[str, float | None] = {
            "accuracy": 1.0 if all(yes) else 0.0,
            "score": sum(int(v.score or 0) for v in verdicts) / n,
        }
        weights: dict[str, float] = {}
        if multi:
            cumulative = [all(yes[:k + 1]) for k in range(n)]
            values["turn_accuracy"] = sum(yes) / n
            values["step_accuracy"] = sum(cumulative) / n
            weights.update({"turn_accuracy": float(n), "step_accuracy": float(n)})
            for k in range(n):
                values[f"turn_accuracy@{k + 1}"] = float(yes[k])
                values[f"step_accuracy@{k + 1}"] = float(cumulative[k])
        explanation = ", ".join(
            f"turn {i + 1}: {'yes' if v.pred else 'no'} {v.score}{' (cached)' if v.cached else ''}"
            for i, v in enumerate(verdicts))
        return Score(values=values, explanation=explanation, weights=weights, extras=extras)


def judge_turns(client: JudgeClient | Callable[[], JudgeClient], *, per_turn: bool | None = None,
                fill_answers: bool = False, drop_unscored_turns: bool = False, online: str = "joined") -> JudgeTurns:
    """The judge scorer (see the module docstring for the values and how they match OmniMMI)."""
    return JudgeTurns(client, per_turn=per_turn, fill_answers=fill_answers, drop_unscored_turns=drop_unscored_turns,
                      online=online)
