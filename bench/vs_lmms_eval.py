"""omnibench vs lmms-eval: the same samples, the same checkpoint, each tool through its own qwen2_5_vl class.

Work: `bench_vqa` (50 single-question samples) and `bench_multiturn` (10 samples x 3 turns, each
follow-up built on the model's own previous answer), every sample its own 8-frame 224x224 H.264
video at 2 fps, every question asked at its end, so both tools give the model all 8 frames
(bench/_vs_lmms_tasks.py). The model: a tiny random-weight Qwen2.5-VL built from its config and
saved with its processor files (bench/_vs_lmms_model.py), bfloat16 on both sides, greedy, at most
256 new tokens.

- omnibench: `omnibench run --model qwen2_5_vl --protocol offline` (CLI main, with the two bench
  tasks registered in-process), one process per task;
- lmms-eval 0.7.3 CLI in its own venv (.venv-lmms, built as .ci/run builds it), `--model qwen2_5_vl`:
  bench_vqa through its default (chat) class; bench_multiturn with `--force_simple`, because only
  the simple class implements `generate_until_multi_round` (the model's own answers fed back).
  lmms-eval exits 0 even when a task fails, so its results file and per-sample log are checked.

Then the same requests stage by stage in each venv (decode, preprocess, model) to say where the
time goes. Last line: {"omnibench_over_lmms_eval_speedup", "omnibench_s", "lmms_eval_s",
"answers_equal", "answers_equal_by_task", "stages"}.
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

TASKS = ("bench_vqa", "bench_multiturn")


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
            n = 1 if task == "bench_vqa" else 3
            out[record.sample_id] = [record.answer(k).strip() for k in range(n)]
    return out


def lmms_answers(out: Path, task: str, ids: list[str]) -> dict[str, list[str]]:
    """Answers from lmms-eval's --log_samples file, after checking its results file has the task.

    lmms-eval 0.7.3 logs `doc_id` as the doc's index in the dataset (our JSONL order) and the
    answer (a list of answers for multi-round tasks) as `filtered_resps`."""
    results = [p for p in out.rglob("*_results.json") if task in json.loads(p.read_text()).get("results", {})]
    samples = list(out.rglob(f"*_samples_{task}.jsonl"))
    if not results or not samples:
        sys.exit(f"lmms-eval wrote no results for {task} under {out} (it exits 0 on failure): see its log")
    answers = {}
    for line in samples[0].read_text().splitlines():
        row = json.loads(line)
        resps = row["filtered_resps"]
        while isinstance(resps, list) and len(resps) == 1 and isinstance(resps[0], list):
            resps = resps[0]
        resps = resps if isinstance(resps, list) else [resps]
        answers[ids[int(row["doc_id"])]] = [str(r).strip() for r in resps]
    return answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lmms-venv", default=str(ROOT / ".venv-lmms"))
    parser.add_argument("--keep", default=None, help="keep the work folder here")
    args = parser.parse_args()
    lmms_python, lmms_cli = Path(args.lmms_venv) / "bin" / "python", Path(args.lmms_venv) / "bin" / "lmms-eval"
    if not lmms_cli.exists():
        sys.exit(f"{lmms_cli} not found: build lmms-eval's venv as .ci/run does")
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="bench-vs-lmms-"))
    root, ckpt = tmp / "data", tmp / "ckpt"
    work.write_videos(root, n_single=50, n_multi=10)
    subprocess.run([str(lmms_python), str(HERE / "_vs_lmms_model.py"), "build", str(ckpt)], check=True,
                   capture_output=True)
    include = lmms_task_dir(root, tmp / "lmms_tasks")
    ids = {t: [s["id"] for s in specs] for t, specs in json.loads((root / "samples.json").read_text()).items()}
    pixels = tiny.PIXELS
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "BENCH_VS_LMMS_ROOT": str(root)}

    ours_s, theirs_s, equal, ours_split, theirs_split = 0.0, 0.0, {}, {}, {}
    for task in TASKS:
        # fresh caches: no response cache, no datasets cache carried between runs or tools
        run_env = {**env, "OMNIBENCH_CACHE": str(tmp / f"cache-{task}"), "HF_HOME": str(tmp / f"hf-{task}")}
        ours = [sys.executable, str(HERE / "_vs_lmms_tasks.py"), "run", "--tasks", task, "--model", "qwen2_5_vl",
                "--model-args", f"pretrained={ckpt},device=cpu,dtype=bfloat16,num_frames={work.FRAMES},"
                f"min_pixels={pixels},max_pixels={pixels}", "--protocol", "offline", "--out", str(tmp / f"ours-{task}"),
                "--quiet"]
        theirs = [str(lmms_cli), "--model", "qwen2_5_vl", "--model_args",
                  f"pretrained={ckpt},device=cpu,device_map=cpu,max_num_frames={work.FRAMES},"
                  f"min_pixels={pixels},max_pixels={pixels}", "--tasks", task, "--include_path", str(include),
                  "--batch_size", "1", "--output_path", str(tmp / f"lmms-{task}"), "--log_samples",
                  *(["--force_simple"] if task == "bench_multiturn" else [])]
        t_ours = run_timed(ours, run_env, tmp / f"ours-{task}.log")
        t_theirs = run_timed(theirs, run_env, tmp / f"lmms-{task}.log")
        a, b = omnibench_answers(tmp / f"ours-{task}", task), lmms_answers(tmp / f"lmms-{task}", task, ids[task])
        if set(a) != set(b):
            sys.exit(f"{task}: the tools answered different samples ({len(a)} vs {len(b)})")
        same = sum(a[k] == b[k] for k in a)
        equal[task] = f"{same}/{len(a)}"
        ours_split[task], theirs_split[task] = round(t_ours, 2), round(t_theirs, 2)
        ours_s, theirs_s = ours_s + t_ours, theirs_s + t_theirs
        print(f"{task}: omnibench {t_ours:.1f} s, lmms-eval {t_theirs:.1f} s, answers equal {same}/{len(a)}", flush=True)

    stages = {"omnibench": json.loads(subprocess.run(
                  [sys.executable, str(HERE / "_vs_lmms_model.py"), "stages-omnibench", str(ckpt), str(root)],
                  check=True, capture_output=True, text=True, env=env).stdout.splitlines()[-1]),
              "lmms_eval": json.loads(subprocess.run(
                  [str(lmms_python), str(HERE / "_vs_lmms_model.py"), "stages-lmms", str(ckpt), str(root)],
                  check=True, capture_output=True, text=True, env=env).stdout.splitlines()[-1])}
    for tool, split in stages.items():
        print(f"{tool} on 10 bench_vqa requests: " + ", ".join(f"{k} {v}" for k, v in split.items()))
    print(f"wall: omnibench {ours_s:.1f} s {ours_split}, lmms-eval {theirs_s:.1f} s {theirs_split}")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"omnibench_over_lmms_eval_speedup": round(theirs_s / ours_s, 3),
                      "omnibench_s": round(ours_s, 2), "lmms_eval_s": round(theirs_s, 2),
                      "answers_equal": all(v.split("/")[0] == v.split("/")[1] for v in equal.values()),
                      "answers_equal_by_task": equal, "stages": stages}))


if __name__ == "__main__":
    main()
