"""omnibench tasks as lmms-eval tasks: a folder of task YAMLs + JSONL docs, and the hooks they name.

`task_dir()` materializes the folder on demand under $OMNIBENCH_CACHE/lmms_tasks/<key>/ (what
`omnibench lmms-eval-path` prints, for `lmms-eval --include_path`). Each doc is one turn of one
omnibench sample, in the offline form omnibench runs: the clip up to the query time, and the
prompt `task.prompts.offline(sample, turn, answers)`.

Multi-turn samples (SG, MD, noise, stop): lmms-eval asks each doc independently, so the earlier
turns' *reference* answers stand in for the model's own (in the prompt history and for
##ANSWER##). omnibench's offline run feeds the model's own answers; the two agree exactly on
single-turn tasks (AP, SI, PT) and may differ on multi-turn ones.

Every doc carries its sample (JSON), so scoring (`omnibench.lmms.scoring`) rebuilds the exact
omnibench sample and runs the task's own scorers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from omnibench import __version__
from omnibench.data.schema import Message, Sample
from omnibench.task import Task

PREFIX = "omnibench_"
FORMAT = "1"                    # bump when the docs or YAML layout change
SPLIT = "test"
HOOKS = "omnibench.lmms.tasks"
SCORING = "omnibench.lmms.scoring"


@dataclass(frozen=True)
class LmmsTaskSpec:
    """One omnibench task offered to lmms-eval, and the score values it reports."""

    task: str
    family: str                                  # "synth", "omnimmi", "ovobench", "streamingbench": its settings
    metrics: tuple[str, ...]

    @property
    def lmms_name(self) -> str:
        return PREFIX + self.task


_CHOICE = ("accuracy", "turn_accuracy")
_JUDGE = ("accuracy", "score")
_JUDGE_MULTI = ("accuracy", "score", "turn_accuracy", "step_accuracy")
# PA (alerting) is streaming-only: it has no offline form to offer lmms-eval.
SPECS: tuple[LmmsTaskSpec, ...] = (
    LmmsTaskSpec("synth_sg", "synth", _CHOICE),
    LmmsTaskSpec("synth_ap", "synth", _CHOICE),
    LmmsTaskSpec("synth_md", "synth", _CHOICE),
    LmmsTaskSpec("synth_si", "synth", _CHOICE),
    LmmsTaskSpec("synth_pt", "synth", ("silence",)),
    # the interruption tasks' offline form (synth_noise / synth_stop are streaming only)
    LmmsTaskSpec("noise_rejection_offline", "synth", ("balanced_accuracy", "noise_ignored", "followup_answered",
                 "noise_replied", "followup_missed", "derailed")),
    LmmsTaskSpec("stop_turn_offline", "synth", ("balanced_accuracy", "stopped", "continued", "never_started",
                 "words_after_stop", "false_stop")),
    LmmsTaskSpec("omnimmi_sg", "omnimmi", _JUDGE_MULTI),
    LmmsTaskSpec("omnimmi_ap", "omnimmi", _JUDGE),
    LmmsTaskSpec("omnimmi_md", "omnimmi", _JUDGE_MULTI),
    LmmsTaskSpec("omnimmi_si", "omnimmi", _JUDGE),
    LmmsTaskSpec("omnimmi_pt", "omnimmi", ("silence",)),
    LmmsTaskSpec("synth_forward", "synth", ("accuracy", "count_accuracy", "event_accuracy")),
    # the peer benchmarks' offline forms (StreamingBench's proactive task is streaming only)
    *(LmmsTaskSpec(f"ovobench_{code}", "ovobench", ("accuracy",)) for code in
      ("epm", "asi", "hld", "ojr", "stu", "ocr", "atr", "acr", "fpd", "rec", "ssr", "crr")),
    LmmsTaskSpec("streamingbench_real", "streamingbench", (
        "accuracy", "object_recognition", "attribute_recognition", "action_recognition", "counting",
        "text_rich_understanding", "spatial_understanding", "event_understanding", "causal_reasoning",
        "prospective_reasoning", "clips_summarize")),
    LmmsTaskSpec("streamingbench_omni", "streamingbench", (
        "accuracy", "emotion_recognition", "scene_understanding", "source_discrimination", "multimodal_alignment",
        "misleading_context_understanding", "anomaly_context_understanding")),
    LmmsTaskSpec("streamingbench_sqa", "streamingbench", ("accuracy",)),
)


def spec_for(task: str) -> LmmsTaskSpec:
    for spec in SPECS:
        if spec.task == task:
            return spec
    raise KeyError(f"omnibench task {task!r} has no lmms-eval form")


# -- materialization -------------------------------------------------------------------------

def default_settings() -> dict[str, dict[str, Any]]:
    """Task settings per family, from the environment (the CLI command takes no flags)."""
    from omnibench.data import omnimmi, ovobench, streamingbench
    from omnibench.errors import DataError

    root = omnimmi.video_root(os.environ.get("OMNIBENCH_OMNIMMI_DIR") or None)
    try:      # OVO-Bench's annotations are the user's own copy ($OMNIBENCH_OVOBENCH_DIR or the download cache)
        ovo: str | None = str(ovobench.annotation_file().parent)
    except DataError:
        ovo = None
    sb = streamingbench.video_root()
    return {"synth": {"seed": int(os.environ.get("OMNIBENCH_LMMS_SEED", "0"))},
            "omnimmi": {"data_dir": str(root) if root else None},
            "ovobench": {"data_dir": ovo}, "streamingbench": {"data_dir": str(sb) if sb else None}}


def task_dir(settings: dict[str, dict[str, Any]] | None = None, specs: tuple[LmmsTaskSpec, ...] = SPECS,
             cache: Path | None = None) -> Path:
    """The folder of task YAMLs for these settings, written once (atomically) and then reused.

    The folder name hashes the docs themselves, so a regenerated suite or new annotations get
    a fresh folder instead of stale docs.
    """
    from omnibench.cache import cache_dir

    settings = settings if settings is not None else default_settings()
    docs = render_docs(settings, specs)
    key = json.dumps({"format": FORMAT, "version": __version__, "specs": [asdict(s) for s in specs],
                      "docs": docs}, sort_keys=True)
    out = Path(cache or cache_dir()) / "lmms_tasks" / f"{__version__}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    if (out / "complete.json").exists():
        return out
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    write_files(tmp, docs, specs, final=out)
    (tmp / "complete.json").write_text(json.dumps({"settings": settings, "format": FORMAT}), encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def write_task_dir(out: Path, settings: dict[str, dict[str, Any]],
                   specs: tuple[LmmsTaskSpec, ...] = SPECS) -> list[str]:
    """Write the task folder at `out` (no caching); returns the lmms-eval task names."""
    return write_files(out, render_docs(settings, specs), specs, final=out)


def render_docs(settings: dict[str, dict[str, Any]], specs: tuple[LmmsTaskSpec, ...]) -> dict[str, str]:
    """{lmms-eval task name: JSONL text of its docs}, one doc per turn of every sample. A task whose
    annotations are not on this machine (OVO-Bench's are the user's own copy) is left out."""
    from omnibench.errors import DataError
    from omnibench.rundir import build_task

    out = {}
    for spec in specs:
        family_settings = dict(settings.get(spec.family, {}))
        task = build_task(spec.task, family_settings)
        try:
            samples = task.samples()
        except DataError:
            if spec.family != "ovobench":
                raise
            continue
        docs = [doc for sample in samples for doc in sample_docs(task, sample, family_settings, spec.metrics)]
        out[spec.lmms_name] = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
    return out


def write_files(out: Path, docs: dict[str, str], specs: tuple[LmmsTaskSpec, ...], *, final: Path) -> list[str]:
    """`<task>.jsonl` + `<task>.yaml` per spec and a group YAML per family; YAMLs point into `final`."""
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[str]] = {}
    for spec in specs:
        if spec.lmms_name not in docs:          # not available here (render_docs)
            continue
        docs_name = f"{spec.lmms_name}.jsonl"
        (out / docs_name).write_text(docs[spec.lmms_name], encoding="utf-8")
        (out / f"{spec.lmms_name}.yaml").write_text(task_yaml(spec, final / docs_name), encoding="utf-8")
        written.setdefault(spec.family, []).append(spec.lmms_name)
    for family, names in written.items():
        lines = [f"group: {PREFIX}{family}", "task:", *(f"  - {n}" for n in names)]
        (out / f"{PREFIX}{family}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [n for names in written.values() for n in names]


def reference_answers(sample: Sample) -> list[str]:
    """The target text of every turn ("" where the target is not text): history for later turns."""
    return [q.target if isinstance(q.target, str) else "" for q in sample.turns]


def sample_docs(task: Task, sample: Sample, settings: dict[str, Any],
                metrics: tuple[str, ...]) -> list[dict[str, Any]]:
    """One lmms-eval doc per turn: the prompt, the video omnibench would show, and the sample."""
    from omnibench.engine.offline import clip_for, clip_start, resolve_video

    root = Path(task.data_root) if task.data_root else None
    answers = reference_answers(sample)
    sample_json = sample.model_dump_json()
    docs = []
    for turn, query in enumerate(sample.turns):
        end = query.t if query.t is not None else sample.video.end
        video, span = "", None
        if root is not None:
            clip = clip_for(sample, end)
            if clip and resolve_video(root, clip).exists():
                video = str(resolve_video(root, clip))          # a pre-cut clip is shown whole
            else:
                video = str(resolve_video(root, sample.video.path))
                span = [clip_start(sample, end), end]
        history = task.prompts.history(sample, turn, answers)
        docs.append({
            "doc_id": f"{sample.id}#{turn}", "task": task.name, "sample_id": sample.id, "turn": turn,
            "n_turns": len(sample.turns), "prompt": task.prompts.offline(sample, turn, answers),
            "turn_taking": task.turn_taking,
            "video": video, "span": json.dumps(span),
            "history": json.dumps([m.model_dump() for m in history]),
            "target": query.target if isinstance(query.target, str) else json.dumps(query.target),
            "sample": sample_json, "settings": json.dumps(settings, sort_keys=True), "metrics": json.dumps(metrics),
        })
    return docs


def task_yaml(spec: LmmsTaskSpec, docs_path: Path) -> str:
    """The lmms-eval task config. Strings are JSON-quoted, which YAML reads as they are."""
    from omnibench.scoring.metrics import lower_is_better  # the one list of metrics where less is better

    q = json.dumps
    metrics = "".join(
        f"  - metric: {m}\n    aggregation: !function {SCORING}.aggregate\n"
        f"    higher_is_better: {'false' if lower_is_better(m) else 'true'}\n" for m in spec.metrics)
    return (
        f"task: {spec.lmms_name}\n"
        f"dataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    {SPLIT}: {q(str(docs_path))}\n"
        f"test_split: {SPLIT}\n"
        f"output_type: generate_until\n"
        f"doc_to_visual: !function {HOOKS}.doc_to_visual\n"
        f"doc_to_text: !function {HOOKS}.doc_to_text\n"
        f"doc_to_messages: !function {HOOKS}.doc_to_messages\n"
        f"doc_to_target: target\n"
        f"process_results: !function {SCORING}.process_results\n"
        f"generation_kwargs:\n  max_new_tokens: 256\n  temperature: 0\n  do_sample: false\n"
        f"metric_list:\n{metrics}"
        f"metadata:\n  version: {q(FORMAT)}\n  omnibench_task: {q(spec.task)}\n  omnibench_version: {q(__version__)}\n"
    )


# -- hooks named by the YAMLs ------------------------------------------------------------------

def doc_to_visual(doc: dict[str, Any], lmms_eval_specific_kwargs: dict | None = None) -> list[str]:
    """The video omnibench shows for this turn (the pre-cut clip when there is one)."""
    return [doc["video"]] if doc.get("video") else []


def doc_to_text(doc: dict[str, Any], lmms_eval_specific_kwargs: dict | None = None) -> str:
    return doc["prompt"]


def doc_history(doc: dict[str, Any]) -> list[Message]:
    return [Message.model_validate(m) for m in json.loads(doc.get("history") or "[]")]


def doc_to_messages(doc: dict[str, Any], lmms_eval_specific_kwargs: dict | None = None) -> list[dict]:
    """Chat form: the task's history messages, then the user turn with the video and the prompt."""
    messages = [{"role": m.role, "content": [{"type": "text", "text": m.text}]} for m in doc_history(doc)]
    content: list[dict[str, Any]] = [{"type": "video", "url": v} for v in doc_to_visual(doc)]
    content.append({"type": "text", "text": doc["prompt"]})
    return [*messages, {"role": "user", "content": content}]
