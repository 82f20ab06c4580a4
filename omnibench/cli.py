"""`omnibench` and `python run_eval.py`: run, score, report, list, data."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from omnibench.errors import OmnibenchError

BASELINES = ("silent", "chatty", "random", "blind")
# lmms-eval's spellings, accepted so its users feel at home
ALIASES = {"--model_args": "--model-args", "--output_path": "--out", "--output": "--out",
           "--max_errors": "--max-errors", "--data_dir": "--data-dir"}


def _run_parser(sub) -> None:
    p = sub.add_parser("run", help="evaluate one model on tasks")
    p.add_argument("--tasks", default="synth", help="task and group names, comma-separated")
    p.add_argument("--model", required=True)
    p.add_argument("--model-args", default="", help="key=value,... given to the adapter")
    p.add_argument("--out", default=None, help="run directory (default runs/<model>)")
    p.add_argument("--shard", default=None, help="i/n (default: RANK/WORLD_SIZE, else 0/1)")
    p.add_argument("--mode", choices=("lockstep", "realtime"), default="lockstep")
    p.add_argument("--protocol", choices=("offline", "streaming"), default=None)
    p.add_argument("--limit", type=int, default=None, help="first N samples of each task")
    p.add_argument("--max-errors", type=int, default=None, help="stop once more samples than this failed")
    p.add_argument("--timeout", type=float, default=None, help="seconds per model call")
    _task_options(p)
    p.add_argument("--no-score", action="store_true", help="only run; score later with `omnibench score`")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _task_options(p) -> None:
    p.add_argument("--data-dir", default=None, help="OmniMMI directory (annotations, videos/, clips/)")
    p.add_argument("--lenient", action="store_true", help="skip broken records (reported) instead of failing")
    p.add_argument("--seed", type=int, default=0, help="synthetic suite seed")
    p.add_argument("--judge-model", default=None)
    p.add_argument("--judge-base-url", default=None)
    p.add_argument("--judge-prompt", default=None, help="judge prompt name or file")
    p.add_argument("--prompts", default=None, help="JSON file overriding task prompts")
    p.add_argument("--time", choices=("spoken", "claimed"), default=None,
                   help="score alerts at the time the model spoke (default) or the time it claimed")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omnibench", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    _run_parser(sub)
    p = sub.add_parser("score", help="re-score a run from its event logs")
    p.add_argument("run_dir")
    p.add_argument("--json", action="store_true")
    p.add_argument("--tasks", default=None)
    _task_options(p)
    p = sub.add_parser("report", help="leaderboard (CSV, Markdown, HTML) from runs")
    p.add_argument("run_dirs", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--title", default="omnibench leaderboard")
    p = sub.add_parser("list", help="list tasks or models")
    p.add_argument("what", choices=("tasks", "models"))
    data = sub.add_parser("data", help="datasets: stats, probe, synth, download").add_subparsers(dest="data_cmd", required=True)
    p = data.add_parser("stats")
    p.add_argument("dir", nargs="?", default=None)
    p.add_argument("--lenient", action="store_true")
    p = data.add_parser("probe")
    p.add_argument("video")
    p.add_argument("--fps", type=float, default=1.0)
    p.add_argument("--backend", default="auto", choices=("auto", "decord", "pyav"))
    p = data.add_parser("synth")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--n-per-task", type=int, default=6)
    p = data.add_parser("download")
    p.add_argument("dataset", choices=("omnimmi",))
    p.add_argument("--out", required=True)
    sub.add_parser("lmms-eval-path", help="print the folder of omnibench's lmms-eval task YAMLs")
    return parser


def task_settings(args) -> dict:
    judge = {k: v for k, v in (("model", args.judge_model), ("base_url", args.judge_base_url),
                               ("prompt", args.judge_prompt)) if v}
    return {"data_dir": args.data_dir, "lenient": args.lenient or None, "seed": args.seed,
            "judge": judge or None, "prompts_file": args.prompts, "alert_time": args.time}


def cmd_run(args) -> int:
    from omnibench import registry
    from omnibench.engine.evaluate import Evaluation, slug
    from omnibench.engine.shard import parse_shard
    from omnibench.scoring.run_scores import score_run

    tasks = registry.resolve_tasks(args.tasks)
    out = Path(args.out or Path("runs") / slug(args.model))
    model_args = registry.parse_model_args(args.model_args)
    evaluation = Evaluation(model=args.model, model_args=model_args, out=out, shard=parse_shard(args.shard),
                            mode=args.mode, limit=args.limit, max_errors=args.max_errors,
                            protocol=args.protocol, timeout_s=args.timeout, task_settings=task_settings(args),
                            progress=not args.quiet)
    runs = evaluation.run(tasks)
    for r in runs:
        print(f"{r.task}: {r.done_before + r.ran}/{r.total} samples ({r.ran} run now, {r.errors} errors)")
    if args.no_score or evaluation.shard[1] > 1:
        print(f"event logs in {out}; score with: omnibench score {out}")
        return 0
    results = score_run(out, task_settings=task_settings(args), tasks=tasks)
    from omnibench.report import markdown_table

    print(markdown_table(results))
    return 0


def cmd_score(args) -> int:
    from omnibench import registry
    from omnibench.scoring.run_scores import score_run

    tasks = registry.resolve_tasks(args.tasks) if args.tasks else None
    results = score_run(args.run_dir, task_settings=task_settings(args), tasks=tasks)
    if args.json:
        print(json.dumps({r.task: {"model": r.model, **{k: v.model_dump() for k, v in r.metrics.items()},
                                   "n_samples": r.n_samples, "n_errors": r.n_errors,
                                   "n_unscored": r.n_unscored} for r in results}, indent=2))
    else:
        from omnibench.report import markdown_table

        print(markdown_table(results))
    return 0


def cmd_report(args) -> int:
    from omnibench.report import load_results, markdown_table, write_report

    paths = write_report([Path(d) for d in args.run_dirs], Path(args.out), title=args.title)
    print(markdown_table(load_results([Path(d) for d in args.run_dirs])))
    print("\n" + "\n".join(f"wrote {p}" for p in paths.values()))
    return 0


def cmd_list(args) -> int:
    from omnibench import registry

    entries = registry.tasks() if args.what == "tasks" else registry.models()
    width = max((len(n) for n in entries), default=0)
    for name, entry in entries.items():
        group = f" [{entry.group}]" if entry.group else ""
        print(f"{name:<{width}}  {entry.description}{group}")
    return 0


def cmd_data(args) -> int:
    if args.data_cmd == "stats":
        from omnibench.data import omnimmi

        print(omnimmi.format_stats(omnimmi.stats(args.dir)))
    elif args.data_cmd == "probe":
        from omnibench.data.video import probe

        info = probe(args.video, fps=args.fps, backend=args.backend)
        print(json.dumps(info, indent=2, default=str))
        return 1 if "error" in info else 0
    elif args.data_cmd == "synth":
        from omnibench.data.synth import generate

        suite = generate(Path(args.out), seed=args.seed, n_per_task=args.n_per_task, progress=True)
        print(f"wrote {sum(len(v) for v in suite.samples.values())} samples to {suite.root}")
    elif args.data_cmd == "download":
        from omnibench.data import omnimmi

        print(f"downloaded to {omnimmi.download(args.out)}")
    return 0


def cmd_lmms_eval_path(args) -> int:
    """The folder of omnibench's lmms-eval task YAMLs, written on first use (see omnibench.lmms.tasks)."""
    from omnibench.lmms.tasks import default_settings, task_dir

    settings = default_settings()
    if not settings["omnimmi"]["data_dir"]:
        print("omnibench: OmniMMI videos not found: the omnibench_omnimmi_* docs have no video "
              "(set OMNIBENCH_OMNIMMI_DIR, then run this again)", file=sys.stderr)
    print(task_dir(settings))
    return 0


def main_job(debug: bool = False) -> int:
    """No arguments: the synthetic suite x the built-in baselines, then the leaderboard."""
    from omnibench.data.synth import ensure_suite
    from omnibench.engine.evaluate import Evaluation
    from omnibench.report import load_results, markdown_table, write_report
    from omnibench.scoring.run_scores import score_run
    from omnibench.models.m4 import tiny_checkpoint
    from omnibench import registry

    ensure_suite(seed=0, progress=True)
    tasks = registry.resolve_tasks("synth,noise_rejection,stop_turn")
    run_dirs = []
    for name in BASELINES + (("m4-tiny",) if tiny_checkpoint() is not None else ()):
        out = Path("runs") / "synth" / name
        print(f"== {name}", flush=True)
        Evaluation(model=name, out=out, task_settings={"seed": 0}).run(tasks)
        score_run(out, task_settings={"seed": 0}, tasks=tasks)
        run_dirs.append(out)
    paths = write_report(run_dirs, Path("leaderboards") / "synth", title="omnibench synthetic suite")
    print(markdown_table(load_results(run_dirs)))
    print("\n" + "\n".join(f"wrote {p}" for p in paths.values()))
    return 0


def _m4_command(verb: str, argv: list[str]) -> int:
    """`omnibench m4 train --recipe NAME [key=value ...]` and `omnibench m4 build-data ...`."""
    from omnibench.m4.training import train

    return train.main_train(argv) if verb == "train" else train.main_build_data(argv)


COMMANDS = {"run": cmd_run, "score": cmd_score, "report": cmd_report, "list": cmd_list, "data": cmd_data,
            "lmms-eval-path": cmd_lmms_eval_path}


def _alias(arg: str) -> str:
    head, eq, tail = arg.partition("=")
    return ALIASES.get(head, head) + eq + tail


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    argv = [_alias(a) if a.startswith("--") else a for a in argv]
    debug = "--debug" in argv
    try:
        if not [a for a in argv if a != "--debug"]:
            return main_job(debug)
        rest = [a for a in argv if a != "--debug"]
        if rest[0] == "m4" and len(rest) > 1 and rest[1] in ("train", "build-data"):
            return _m4_command(rest[1], rest[2:])
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except OmnibenchError as exc:
        if debug:
            raise
        print(f"omnibench: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:          # `omnibench ... | head`
        return 0
    except KeyboardInterrupt:
        print("omnibench: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


def run_eval_main() -> int:
    """`python run_eval.py [flags]`: the flags of `omnibench run` (no flags: the main job)."""
    argv = sys.argv[1:]
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("--debug"):
        argv = ["run", *argv]
    elif argv and argv[0] == "--debug" and len(argv) > 1 and argv[1] not in COMMANDS:
        argv = ["--debug", "run", *argv[1:]]
    return main(argv)


if __name__ == "__main__":
    sys.exit(main())
