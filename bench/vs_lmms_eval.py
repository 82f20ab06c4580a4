"""omnibench vs lmms-eval: the same samples, the same checkpoint, the same torch build, each tool
through its own qwen2_5_vl class.

Work: `bench_vqa` (N_SINGLE single-question samples) and `bench_multiturn` (N_MULTI samples x 3
turns, each follow-up built on the model's own previous answer), every sample its own 8-frame
224x224 H.264 video at 2 fps, every question asked at its end, so both tools give the model all 8
frames (bench/_vs_lmms_tasks.py). The model: a random-weight Qwen2.5-VL built from its config and
saved with its processor files (bench/_vs_lmms_model.py, size `wide` by default: wide enough that
`model.generate`, not process start-up, takes most of each run), bfloat16 on both sides, greedy,
at most 256 new tokens.

Both tools run in lmms-eval's venv (.venv-lmms, built as .ci/run builds it: torch 2.14.1, with
omnibench installed into it), each in a process of its own started through bench/_vs_lmms_launch.py,
which records the torch each imported (`torch_ours`, `torch_lmms_eval`) and its thread count:
- omnibench: `omnibench run --model qwen2_5_vl --protocol offline --no-cache`, one process per task;
- lmms-eval 0.7.3's CLI, `--model qwen2_5_vl`: bench_vqa through its default (chat) class;
  bench_multiturn with `--force_simple`, because only the simple class implements
  `generate_until_multi_round` (the model's own answers fed back). That path gives the processor no
  clip timing (transformers then assumes 24 fps); the launcher hands it the clips' 2 fps, as its chat
  class does, so both tools ask the same question (see _vs_lmms_launch.py). qwen_vl_utils reads
  the videos with decord, as in the venv .ci/run builds (FORCE_QWENVL_VIDEO_READER).
  lmms-eval exits 0 even when a task fails, so its results file and per-sample log are checked.
Each (tool, task) run starts with fresh caches; REPEATS rounds, the order rotating each round; the
figures are medians of each tool's per-round total. Every answer of every sample must be equal
(`answers_equal`; the first difference is shown otherwise).

Then the same requests stage by stage in each tool's own calls (decode, preprocess, model) to say
where the time goes and how much of a run the model takes (`model_share_*`). Last line:
{"omnibench_over_lmms_eval_speedup", "omnibench_s", "lmms_eval_s", "answers_equal", "torch_ours",
"torch_lmms_eval", "threads_ours", "threads_lmms_eval", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import _vs_lmms_model as tiny  # noqa: E402
import _vs_lmms_tasks as work  # noqa: E402
from _rounds import load_average, median, rotate  # noqa: E402

TASKS = ("bench_vqa", "bench_multiturn")
N_SINGLE, N_MULTI, REPEATS = 12, 4, 2


def lmms_task_dir(root: Path, out: Path) -> Path:
    """YAML + docs + hooks for lmms-eval's --include_path, from the same samples.json."""
    specs = json.loads((root / "samples.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "_vs_lmms_hooks.py", out / "_vs_lmms_hooks.py")
    for task in TASKS:
        docs = [{"doc_id": s["id"], "video": str(root / "videos" / s["video"]), "questions": s["questions"],
                 "target": ""} for s in specs[task]]
        (out / f"{task}.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
        hooks = "_vs_lmms_hooks"
        multi = task == "bench_multiturn"
        (out / f"{task}.yaml").write_text(
            f"task: {task}\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {json.dumps(str(out / f'{task}.jsonl'))}\n"
            f"test_split: test\noutput_type: {'generate_until_multi_round' if multi else 'generate_until'}\n"
            f"doc_to_visual: !function {hooks}.doc_to_visual\ndoc_to_text: !function {hooks}.doc_to_text\n"
            + ("" if multi else f"doc_to_messages: !function {hooks}.doc_to_messages\n")
            + f"doc_to_target: target\nprocess_results: !function {hooks}.process_results\n"
            "generation_kwargs:\n  max_new_tokens: 256\n  temperature: 0\n  do_sample: false\n"
            "metric_list:\n  - metric: answered\n    aggregation: mean\n    higher_is_better: true\n"
            "metadata:\n  version: 0.0\n")
    return out


def run_timed(cmd: list[str], env: dict[str, str], log: Path) -> float:
    start = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{log.read_text()[-3000:]}")
    return seconds


def omnibench_answers(run_dir: Path, task: str) -> dict[str, list[str]]:
    from omnibench.engine.eventlog import EventLog

    out = {}
    for path in (run_dir / "logs" / task).glob("*.jsonl"):
        for record in EventLog(path).records():
            if record.status != "ok":
                sys.exit(f"omnibench: {task}/{record.sample_id} failed: {record}")
            n = 1 if task == "bench_vqa" else work.MULTI_TURNS
            out[record.sample_id] = [record.answer(k).strip() for k in range(n)]
    return out


def lmms_answers(out: Path, task: str, ids: list[str]) -> dict[str, list[str]]:
    """Answers from lmms-eval's --log_samples file, after checking its results file has the task.

    lmms-eval 0.7.3 logs `doc_id` as the doc's index in the dataset (our JSONL order) and the
    answer as `filtered_resps`: a list for single-turn tasks, and for multi-round ones the str() of
    the tuple of the rounds' answers, read back here as a Python literal (never evaluated)."""
    import ast

    results = [p for p in out.rglob("*_results.json") if task in json.loads(p.read_text()).get("results", {})]
    samples = list(out.rglob(f"*_samples_{task}.jsonl"))
    if not results or not samples:
        sys.exit(f"lmms-eval wrote no results for {task} under {out} (it exits 0 on failure): see its log")
    answers = {}
    for line in samples[0].read_text().splitlines():
        row = json.loads(line)
        resps = row["filtered_resps"]
        if task == "bench_multiturn":
            try:
                resps = ast.literal_eval(resps) if isinstance(resps, str) else resps  # safe: literals only
            except (ValueError, SyntaxError):
                resps = None
            if not isinstance(resps, (tuple, list)) or not all(isinstance(r, str) for r in resps):
                sys.exit(f"{samples[0]}: doc_id {row['doc_id']}: filtered_resps is not a tuple of answers")
        while isinstance(resps, list) and len(resps) == 1 and isinstance(resps[0], list):
            resps = resps[0]
        resps = list(resps) if isinstance(resps, (tuple, list)) else [resps]
        answers[ids[int(row["doc_id"])]] = [str(r).strip() for r in resps]
    return answers


def compare_answers(ours: dict[str, list[str]], theirs: dict[str, list[str]]) -> tuple[int, dict | None]:
    """(samples whose every answer is equal, the first that differs: its id, turn and both answers)."""
    if set(ours) != set(theirs):
        missing = sorted(set(ours) ^ set(theirs))
        return 0, {"sample": missing[0], "why": f"answered by one tool only ({len(missing)} samples)"}
    same, first = 0, None
    for sample_id in sorted(ours):
        a, b = ours[sample_id], theirs[sample_id]
        if a == b:
            same += 1
        elif first is None:
            turn = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            first = {"sample": sample_id, "turn": turn, "omnibench": a[turn] if turn < len(a) else None,
                     "lmms_eval": b[turn] if turn < len(b) else None}
    return same, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lmms-venv", default=str(ROOT / ".venv-lmms"))
    parser.add_argument("--size", choices=sorted(tiny.SIZES), default="wide", help="the model (default wide)")
    parser.add_argument("--n-single", type=int, default=N_SINGLE)
    parser.add_argument("--n-multi", type=int, default=N_MULTI)
    parser.add_argument("--repeats", type=int, default=REPEATS, help="rounds of every (tool, task) run")
    parser.add_argument("--keep", default=None, help="keep the work folder here")
    parser.add_argument("--lmms-as-shipped", action="store_true",
                        help="no clip timing for lmms-eval's multi-round path (its multi-turn answers then differ)")
    args = parser.parse_args()
    python = str(Path(args.lmms_venv) / "bin" / "python")
    if not (Path(args.lmms_venv) / "bin" / "lmms-eval").exists():
        sys.exit(f"{args.lmms_venv}/bin/lmms-eval not found: build lmms-eval's venv as .ci/run does")
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="bench-vs-lmms-"))
    root, ckpt = tmp / "data", tmp / "ckpt"
    load_before = load_average()
    work.write_videos(root, n_single=args.n_single, n_multi=args.n_multi)
    subprocess.run([python, str(HERE / "_vs_lmms_model.py"), "build", str(ckpt), args.size], check=True,
                   capture_output=True)
    include = lmms_task_dir(root, tmp / "lmms_tasks")
    ids = {t: [s["id"] for s in specs] for t, specs in json.loads((root / "samples.json").read_text()).items()}
    pixels = tiny.PIXELS
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "BENCH_VS_LMMS_ROOT": str(root), "FORCE_QWENVL_VIDEO_READER": "decord",
           **({"BENCH_VS_LMMS_AS_SHIPPED": "1"} if args.lmms_as_shipped else {})}
    launch = [python, str(HERE / "_vs_lmms_launch.py")]

    def command(tool: str, task: str, out: Path) -> list[str]:
        if tool == "omnibench":
            return [*launch, "omnibench", "run", "--tasks", task, "--model", "qwen2_5_vl", "--model-args",
                    f"pretrained={ckpt},device=cpu,dtype=bfloat16,num_frames={work.FRAMES},"
                    f"min_pixels={pixels},max_pixels={pixels}", "--protocol", "offline", "--out", str(out),
                    "--no-cache", "--quiet"]
        return [*launch, "lmms-eval", "--model", "qwen2_5_vl", "--model_args",
                f"pretrained={ckpt},device=cpu,device_map=cpu,max_num_frames={work.FRAMES},"
                f"min_pixels={pixels},max_pixels={pixels}", "--tasks", task, "--include_path", str(include),
                "--batch_size", "1", "--output_path", str(out), "--log_samples",
                *(["--force_simple"] if task == "bench_multiturn" else [])]

    runs = [(tool, task) for task in TASKS for tool in ("omnibench", "lmms_eval")]
    seconds: dict[tuple[str, str], list[float]] = {run: [] for run in runs}
    answers: dict[tuple[str, str], dict[str, list[str]]] = {}
    sides: dict[str, dict] = {}
    for k in range(args.repeats):
        for tool, task in rotate(runs, k):
            name = f"{tool}-{task}-{k}"
            # fresh caches: no response cache, no datasets cache carried between runs or tools
            run_env = {**env, "OMNIBENCH_CACHE": str(tmp / f"cache-{name}"), "HF_HOME": str(tmp / f"hf-{name}"),
                       "BENCH_VS_LMMS_SIDE_INFO": str(tmp / f"side-{name}.json")}
            out = tmp / name
            seconds[(tool, task)].append(run_timed(command(tool, task, out), run_env, tmp / f"{name}.log"))
            got = omnibench_answers(out, task) if tool == "omnibench" else lmms_answers(out, task, ids[task])
            if answers.setdefault((tool, task), got) != got:
                sys.exit(f"{tool} {task}: round {k + 1} answered otherwise than round 1 (not deterministic)")
            sides[tool] = json.loads((tmp / f"side-{name}.json").read_text())
            print(f"round {k + 1}/{args.repeats} {tool:>9} {task:<16} {seconds[(tool, task)][-1]:7.1f} s", flush=True)

    equal, first_difference = {}, None
    for task in TASKS:
        same, first = compare_answers(answers[("omnibench", task)], answers[("lmms_eval", task)])
        equal[task] = f"{same}/{len(answers[('omnibench', task)])}"
        first_difference = first_difference or (first and {"task": task, **first})
    totals = {tool: [sum(seconds[(tool, task)][k] for task in TASKS) for k in range(args.repeats)]
              for tool in ("omnibench", "lmms_eval")}
    n_stage = min(10, args.n_single)
    stages = {tool: json.loads(subprocess.run(
                  [python, str(HERE / "_vs_lmms_model.py"), f"stages-{tool.split('_')[0]}", str(ckpt), str(root),
                   str(n_stage)], check=True, capture_output=True, text=True, env=env).stdout.splitlines()[-1])
              for tool in ("omnibench", "lmms_eval")}
    requests = args.n_single + work.MULTI_TURNS * args.n_multi
    ours_s, theirs_s = median(totals["omnibench"]), median(totals["lmms_eval"])
    for tool, split in stages.items():
        print(f"{tool} on {n_stage} bench_vqa requests: " + ", ".join(f"{k} {v}" for k, v in split.items()))
    print(f"answers equal: {equal}; wall per round: omnibench {totals['omnibench']}, lmms-eval {totals['lmms_eval']}")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({
        "omnibench_over_lmms_eval_speedup": round(theirs_s / ours_s, 3),
        "omnibench_s": round(ours_s, 2), "lmms_eval_s": round(theirs_s, 2),
        "answers_equal": first_difference is None, "answers_equal_by_task": equal,
        "first_difference": first_difference,
        "torch_ours": sides["omnibench"]["torch"], "torch_lmms_eval": sides["lmms_eval"]["torch"],
        "threads_ours": sides["omnibench"]["torch_threads"], "threads_lmms_eval": sides["lmms_eval"]["torch_threads"],
        "model": {"size": args.size, **tiny.SIZES[args.size], "params": stages["omnibench"].get("params")},
        "requests": requests, "repeats": args.repeats,
        "runs_s": {f"{tool}/{task}": [round(v, 2) for v in values] for (tool, task), values in seconds.items()},
        # how much of a run the model's own work is: per-request generate time x requests / wall
        "model_share_ours": round(stages["omnibench"]["model_s"] / n_stage * requests / ours_s, 3),
        "model_share_lmms_eval": round(stages["lmms_eval"]["model_s"] / n_stage * requests / theirs_s, 3),
        "stages": stages, "load_average": {"before": load_before, "after": load_average()},
        "ran_with": {"omnibench": f"{python}, torch {sides['omnibench']['torch']}, "
                                  f"{sides['omnibench']['torch_threads']} threads, bfloat16, greedy",
                     "lmms_eval": f"{python}, torch {sides['lmms_eval']['torch']}, "
                                  f"{sides['lmms_eval']['torch_threads']} threads, bfloat16, greedy, decord reader"},
    }))


if __name__ == "__main__":
    main()
