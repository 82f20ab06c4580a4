"""`omnibench` and `python run_eval.py`: run, score, report, list, data."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omnibench.cli_args import alias, build_parser, device_arg, lmms_task_names, run_parser, task_settings, unexpected
from omnibench.errors import ConfigError, OmnibenchError

BOARD_TASKS = "synth,noise_rejection,stop_turn"   # the main job's tasks: the default board


def cmd_run(args) -> int:
    from omnibench import registry
    from omnibench.engine.distributed import job_from_env
    from omnibench.engine.evaluate import Evaluation, failure_summary, slug
    from omnibench.engine.executor import sigterm_interrupts
    from omnibench.engine.shard import parse_shard
    from omnibench.sanitize import invalid_unicode_count

    unicode_before = invalid_unicode_count()
    if args.batch_size not in (None, "1"):
        raise ConfigError(f"--batch_size {args.batch_size}: omnibench does not batch requests; each adapter "
                          "declares how many calls may run at once (max_concurrency). Drop the flag or give 1.")
    tasks = registry.resolve_tasks(lmms_task_names(args.tasks))
    out = Path(args.out or Path("runs") / slug(args.model))
    model_args = device_arg(args.model, args.device, registry.parse_model_args(args.model_args, args.model))
    if args.lenient and args.model == "replay":
        model_args.setdefault("lenient", True)     # bad alert times skipped and reported, not fatal
    if args.data_dir and args.model == "replay":
        model_args.setdefault("data_dir", args.data_dir)   # OmniMMI's files are matched against the same annotations
    settings = task_settings(args)
    from omnibench import reference

    job = job_from_env(parse_shard(args.shard))
    reference.check_resume(out, args.reference)
    if args.reference:
        settings = reference.task_settings(args.reference, settings)
        model_args, model_note = reference.m4_model_args(args.model, model_args, args.reference)
        if job.lead:
            reference.record(out, args.reference, settings, model_note)
            print(f"reference mode {args.reference}: {settings['reference_note']}; {model_note}")
    if job.world > 1 and job.lead:
        print(f"omnibench: {job.describe()}", file=sys.stderr)
    with sigterm_interrupts():
        evaluation = Evaluation(model=args.model, model_args=model_args, out=out, job=job,
                                mode=args.mode, limit=args.limit, max_errors=args.max_errors,
                                protocol=args.protocol, timeout_s=args.timeout or None, task_settings=settings,
                                progress=not args.quiet, keep_errors=args.keep_errors,
                                rerun_changed=args.rerun_changed, cache=args.cache, check_judge=not args.no_score,
                                video_issues=args.video_issues, label=args.label,
                                **({"max_stream_s": args.max_stream_s} if args.max_stream_s else {}),
                                **({"start_timeout_s": args.start_timeout} if args.start_timeout else {}))
        runs = evaluation.run(tasks)
    if job.dynamic and not job.lead:             # rank 0 speaks for the job: it merged every rank's logs
        return 0
    for r in runs:
        print(f"{r.task}: {r.done_before + r.ran}/{r.total} samples ({r.ran} run now, {len(r.failed)} failed)")
    if replaced := invalid_unicode_count() - unicode_before:
        print(f"{replaced} invalid Unicode code point(s) in answers or files read were stored as U+FFFD",
              file=sys.stderr)
    failed = [(sid, err) for r in runs for sid, err in r.failed.items()]
    if failed:
        print(f"{len(failed)} sample(s) failed; most common reasons:", file=sys.stderr)
        for line in failure_summary(failed):
            print(f"  {line}", file=sys.stderr)
        print("rerun the same command to retry them (--keep-errors keeps them)", file=sys.stderr)
    code = 1 if failed and not args.allow_errors else 0
    if args.no_score or (job.world > 1 and not job.dynamic):
        print(f"event logs in {out}; score with: omnibench score {out}")
        return code
    results = _score(out, settings, tasks)           # under torchrun: rank 0 alone (and the judge with it)
    from omnibench.report import markdown_table

    print(markdown_table(results))
    return max(code, _say_what_went_unscored(results))


def check_run_dir(run_dir: Path) -> None:
    """A run directory that `score` can read: it exists and holds at least one event log."""
    if not run_dir.is_dir():
        raise ConfigError(f"no run directory {run_dir}: give the --out folder of an `omnibench run` "
                          f"(e.g. omnibench run --model blind --tasks synth --out {run_dir})")
    logs = run_dir / "logs"
    if not (logs.is_dir() and any(logs.glob("*/*.jsonl"))):
        raise ConfigError(f"{run_dir} has no event logs ({logs}/TASK/*.jsonl): the run stopped before any sample "
                          "finished, or this is not a run directory. Rerun the `omnibench run` command that "
                          "made it (it resumes), then score it.")


def _score(run_dir, settings: dict, tasks, **options):
    """score_run, then each result says which reference mode (and whose wording) produced it."""
    from omnibench.reference import stamp_results
    from omnibench.scoring.run_scores import score_run

    results = score_run(run_dir, task_settings=settings, tasks=tasks, **options)
    if settings.get("reference"):
        stamp_results(run_dir, settings)
        for r in results:
            r.settings.update(reference=settings["reference"], reference_note=settings.get("reference_note", ""))
    return results


def cmd_score(args) -> int:
    from omnibench import registry
    from omnibench.reference import score_settings

    check_run_dir(Path(args.run_dir))
    tasks = registry.resolve_tasks(lmms_task_names(args.tasks)) if args.tasks else None
    results = _score(args.run_dir, score_settings(args.run_dir, args.reference, task_settings(args)), tasks,
                     judge_url_from_run=args.judge_url_from_run, force=args.force)
    if args.json:
        print(json.dumps({r.task: {"model": r.model, **{k: v.model_dump() for k, v in r.metrics.items()},
                                   "n_samples": r.n_samples, "n_errors": r.n_errors,
                                   "n_unscored": r.n_unscored} for r in results}, indent=2))
    else:
        from omnibench.report import markdown_table

        print(markdown_table(results))
    return _say_what_went_unscored(results)


def _say_what_went_unscored(results) -> int:
    """Why samples stayed unscored, judges that failed, results kept (on stderr); 1 when the scoring failed."""
    for line in results.notes():
        print(f"omnibench: {line}", file=sys.stderr)
    return 1 if results.failed else 0


def _rescore_stale(run_dirs: list[Path], rescore: bool) -> None:
    """Score again each run whose logs are newer than its results.json (or that has none), with the recorded
    settings and the user's judge; without `rescore`, a stale run is an error."""
    from omnibench.reference import score_settings
    from omnibench.report.runs import stale_reason

    for run_dir in run_dirs:
        why = stale_reason(run_dir)
        if why is None:
            continue
        if not rescore:
            raise ConfigError(f"{run_dir}: {why}; its numbers are stale. Run `omnibench score {run_dir}` (or drop "
                              "--no-rescore), then report again.")
        print(f"omnibench: {run_dir}: {why}; scoring it again", file=sys.stderr)
        check_run_dir(run_dir)
        if _say_what_went_unscored(_score(run_dir, score_settings(run_dir, None, {}), None)):
            raise ConfigError(f"{run_dir}: scoring it again did not give complete results (see above); fix that "
                              f"and run `omnibench score {run_dir}`, then report again")


def cmd_report(args) -> int:
    from omnibench.report import load_results, markdown_table, write_report
    from omnibench.report.runs import load_runs, merge_warnings

    _rescore_stale([Path(d) for d in args.run_dirs], args.rescore)
    if args.reference:
        from omnibench.reference import recorded

        other = [d for d in args.run_dirs if (recorded(d) or {}).get("reference") != args.reference]
        if other:
            print(f"note: not run with --reference {args.reference}: {', '.join(other)}", file=sys.stderr)
    paths = write_report([Path(d) for d in args.run_dirs], Path(args.out), title=args.title)
    print(markdown_table(load_results([Path(d) for d in args.run_dirs])))
    for warning in merge_warnings(load_runs([Path(d) for d in args.run_dirs])):
        print(f"omnibench: warning: {warning}", file=sys.stderr)
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

        sizes = {"n_per_task": args.n_per_task} if args.n_per_task else {}
        suite = generate(Path(args.out), seed=args.seed, progress=True, **sizes)
        print(f"wrote {sum(len(v) for v in suite.samples.values())} samples to {suite.root}")
    elif args.data_cmd == "reference-prompts" and args.benchmark != "omnimmi":
        from omnibench.peer_prompts import write_reference_prompts as write_peer
        from omnibench.peer_reference import prompts_dir as peer_dir

        print(f"wrote task prompts: {write_peer(args.benchmark, args.path, args.out or peer_dir(args.benchmark))}")
    elif args.data_cmd == "reference-prompts":
        from omnibench.reference import prompts_dir
        from omnibench.reference_prompts import write_reference_prompts

        for kind, path in write_reference_prompts(args.path, args.out or prompts_dir()).items():
            print(f"wrote {kind} prompts: {path}")
    elif args.data_cmd == "reference-scores" and args.benchmark != "omnimmi":
        from omnibench.peer_reference import print_reference_scores

        return print_reference_scores(args.benchmark, args.path, model=args.model, as_json=args.json)
    elif args.data_cmd == "reference-scores":
        from omnibench.scoring.reference_results import aggregate_judged

        if not args.task:
            raise ConfigError("reference-scores --benchmark omnimmi needs --task (ap, si, sg or md)")
        metrics = aggregate_judged(args.path, args.task).metrics
        if args.json:
            print(json.dumps({name: m.value for name, m in metrics.items()}))
        else:
            for name, m in metrics.items():
                print(f"{name:<20} {'-' if m.value is None else f'{m.value:.4f}'}")
    elif args.data_cmd == "download":
        from omnibench.data import omnimmi, ovobench, streamingbench

        if args.dataset == "ovobench":
            out = ovobench.download(args.out, videos=not args.no_videos)
        else:
            out = {"omnimmi": omnimmi, "streamingbench": streamingbench}[args.dataset].download(args.out)
        print(f"downloaded to {out}")
    return 0


def cmd_lmms_eval_path(args) -> int:
    """The folder of omnibench's lmms-eval task YAMLs, written on first use (see omnibench.lmms.tasks)."""
    from omnibench.lmms.tasks import default_settings, task_dir

    settings = default_settings()
    if not settings["omnimmi"]["data_dir"]:
        print("omnibench: OmniMMI videos not found: the omnibench_omnimmi_* docs have no video "
              "(set OMNIBENCH_OMNIMMI_DIR, then run this again)", file=sys.stderr)
    if not settings["ovobench"]["data_dir"]:
        print("omnibench: OVO-Bench annotations not found: no omnibench_ovobench_* tasks (set "
              "OMNIBENCH_OVOBENCH_DIR or run `omnibench data download ovobench`, then run this again)", file=sys.stderr)
    print(task_dir(settings))
    return 0


def main_job(debug: bool = False, *, models: tuple[str, ...] | None = None, limit: int | None = None,
             n_per_task: int | None = None, root: Path = Path(".")) -> int:
    """No arguments: the synthetic suite x the built-in baselines (and m4-tiny), then the leaderboard.

    The suite's default sizes (data.synth.N_PER_TASK videos a task, N_INTERRUPTION for the
    interruption tasks) keep every task's headline CI narrower than the board's 30 points.
    `models`, `limit` and `n_per_task` narrow it (the fast test runs one model on a small suite);
    `root` holds runs/ and leaderboards/.
    """
    from omnibench import registry
    from omnibench.data.synth import N_INTERRUPTION, N_PER_TASK, ensure_suite
    from omnibench.engine.evaluate import Evaluation
    from omnibench.errors import ConfigError
    from omnibench.report import load_results, markdown_table, write_report
    from omnibench.scoring.run_scores import score_run

    started = time.perf_counter()
    settings = {"seed": 0, **({"n_per_task": n_per_task} if n_per_task else {})}
    if limit is None:              # the whole suite up front, with its progress bar
        ensure_suite(seed=0, progress=True, n_per_task=n_per_task or N_PER_TASK,
                     n_interruption=n_per_task or N_INTERRUPTION)
        print(f"synthetic suite ready ({time.perf_counter() - started:.0f} s)", flush=True)
    board = registry.resolve_tasks(BOARD_TASKS)
    run_dirs = []
    for name in models or registry.board_models():
        entry = registry.models(include_hidden=True).get(name)
        takes = entry.board_tasks if entry is not None and entry.board_tasks else board
        tasks = [t for t in board if t in takes]
        out = Path(root) / "runs" / "synth" / name
        print(f"== {name}", flush=True)
        model_start = time.perf_counter()
        if name == "m4-tiny" and importlib.util.find_spec("torch") is None:
            print("omnibench: m4-tiny skipped: it needs torch, which is not installed. Install the models "
                  "extra (pip install -e '.[models]', see the README for a CPU-only torch) and run this again.",
                  file=sys.stderr)
            continue
        # baselines that ignore the frames skip decoding them (`watch`: a runtime setting, the same answers)
        args = {"watch": False} if "watch" in getattr(entry.factory if entry else None, "runtime_settings", ()) else {}
        try:
            evaluation = Evaluation(model=name, model_args=args, out=out, limit=limit, task_settings=settings,
                                    rerun_changed=True)
        except ConfigError as exc:       # e.g. m4-tiny without its checkpoint
            print(f"omnibench: {name} skipped: {exc}", file=sys.stderr, flush=True)
            continue
        left = evaluation.pending(tasks)          # a resume with nothing left starts no process, loads no model
        processes = _processes_for(limit, out, tasks, evaluation.model.caps.needs_video)
        if not left:
            evaluation.model.close()
            print(f"{name}: every sample is answered (resumed from {out})", flush=True)
        elif processes > 1:
            evaluation.model.close()
            _run_in_shards(name, out, tasks, limit, processes, n_per_task, args)
        else:
            evaluation.run(tasks)
        score_run(out, task_settings=settings, tasks=tasks)
        print(f"{name}: run and scored ({time.perf_counter() - model_start:.0f} s)", flush=True)
        run_dirs.append(out)
    paths = write_report(run_dirs, Path(root) / "leaderboards" / "synth", title="omnibench synthetic suite")
    print(markdown_table(load_results(run_dirs)))
    print("\n" + "\n".join(f"wrote {p}" for p in paths.values()))
    print(f"main job: {time.perf_counter() - started:.0f} s")
    return 0


def _processes_for(limit: int | None, out: Path, tasks: Sequence[str], needs_video: bool = True) -> int:
    """The full board is CPU-bound, one sample at a time per process (video decoding; m4-tiny's streams
    in Python): one engine shard per core. A --limit run, or a model that reads no video, is too small
    to pay for the process starts. A run directory resumes in the shard layout it was started with."""
    from omnibench.rundir import log_layouts

    for task in tasks:
        if found := sorted(log_layouts(out, task)):
            return found[0]
    if limit is not None or not needs_video:
        return 1
    return max(1, min(4, os.cpu_count() or 1))


def _run_in_shards(name: str, out: Path, tasks: list[str], limit: int | None, n: int,
                   n_per_task: int | None = None, model_args: dict[str, Any] | None = None) -> None:
    """`omnibench run --shard i/n` in n processes on one run dir (the torchrun layout), one thread each."""
    import subprocess

    command = [sys.executable, "-m", "omnibench", "run", "--model", name, "--tasks", ",".join(tasks),
               "--out", str(out), "--seed", "0", "--rerun-changed", "--no-score", "--allow-errors", "--quiet"]
    command += ["--limit", str(limit)] if limit is not None else []
    command += ["--n-per-task", str(n_per_task)] if n_per_task is not None else []
    command += ["--model-args", ",".join(f"{k}={v}" for k, v in model_args.items())] if model_args else []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    print(f"{name}: {n} processes (engine shards), one per core", flush=True)
    shards = [subprocess.Popen([*command, "--shard", f"{i}/{n}"], env=env) for i in range(n)]
    try:
        codes = [p.wait() for p in shards]
    except KeyboardInterrupt:           # the shards got the Ctrl-C too: let them save their logs
        for p in shards:
            p.wait()
        raise
    if any(codes):
        raise OmnibenchError(f"{name}: a shard process exited with {max(codes)}; rerun `python run_eval.py` "
                             "to resume (what finished is kept)")


def _m4_command(verb: str, argv: list[str]) -> int:
    """`omnibench m4 train --recipe NAME [key=value ...]` and `omnibench m4 build-data ...`."""
    from omnibench.m4.training import train

    return train.main_train(argv) if verb == "train" else train.main_build_data(argv)


def cmd_m4(args) -> int:
    return _m4_command(args.verb, args.rest)


COMMANDS = {"run": cmd_run, "score": cmd_score, "report": cmd_report, "list": cmd_list, "data": cmd_data,
            "m4": cmd_m4, "lmms-eval-path": cmd_lmms_eval_path}


def guarded(call, *, debug: bool, prog: str) -> int:
    """Run one command: an error is one paragraph on stderr and a non-zero exit; the traceback only under --debug.

    Everything it prints passes the scrubber every file passes (omnibench.sanitize): no key reaches the terminal."""
    from omnibench.sanitize import scrubbed_terminal

    with scrubbed_terminal():
        return _guarded(call, debug=debug, prog=prog)


def _guarded(call, *, debug: bool, prog: str) -> int:
    try:
        return call()
    except OmnibenchError as exc:
        if debug:
            raise
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:          # `omnibench ... | head`
        return 0
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; finished samples are saved, rerun the same command to resume",
              file=sys.stderr, flush=True)
        return 130
    except Exception as exc:
        if debug:
            raise
        print(f"{prog}: error: {unexpected(exc)}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None, prog: str = "omnibench") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    argv = [alias(a) if a.startswith("--") else a for a in argv]
    debug = "--debug" in argv
    rest = [a for a in argv if a != "--debug"]

    def dispatch() -> int:
        if not rest:
            build_parser(prog).print_help()
            return 0
        if rest[0] == "m4" and len(rest) > 1 and rest[1] in ("train", "build-data"):
            return _m4_command(rest[1], rest[2:])
        args = build_parser(prog).parse_args(argv)
        # read deep inside (judge progress, safejson's read limit) and by shard processes: set for this command
        scoped = {"OMNIBENCH_QUIET": "1" if getattr(args, "quiet", False) else None,
                  "OMNIBENCH_MAX_READ_MB": str(args.max_read_mb) if getattr(args, "max_read_mb", None) else None}
        with _environment({k: v for k, v in scoped.items() if v is not None}):
            return COMMANDS[args.command](args)

    return guarded(dispatch, debug=debug, prog=prog)


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    """These environment variables set while the block runs, then restored."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in before.items():
            os.environ.pop(key, None) if old is None else os.environ.update({key: old})


def run_eval_main(argv: list[str] | None = None) -> int:
    """`python run_eval.py [flags]`: the flags of `omnibench run` (no flags: the main job)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = argv[:1] == ["--debug"]
    rest = argv[1:] if debug else argv
    if not rest:
        return guarded(lambda: main_job(debug), debug=debug, prog="run_eval.py")
    if rest[0] in ("-h", "--help"):
        run_parser(argparse.ArgumentParser().add_subparsers(), prog="run_eval.py").print_help()
        print("\nOther commands: python run_eval.py {score,report,list,data,m4} ... (as `omnibench`); "
              "no arguments: the main job.")
        return 0
    if rest[0] not in COMMANDS:
        rest = ["run", *rest]
    return main((["--debug"] if debug else []) + rest, prog="run_eval.py")


if __name__ == "__main__":
    sys.exit(main())
