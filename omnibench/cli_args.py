"""What the command line accepts: the parsers, typed flag values, lmms-eval's spellings, error texts."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = "`omnibench` and `python run_eval.py`: run, score, report, list, data."   # omnibench --help

# lmms-eval's spellings, accepted so its users feel at home (same meaning as the flag they map to)
ALIASES = {"--model_args": "--model-args", "--output_path": "--out", "--output": "--out",
           "--max_errors": "--max-errors", "--data_dir": "--data-dir"}
ALIAS_HELP = ("lmms-eval spellings: --model_args, --output_path/--output, --max_errors, --data_dir are aliases; "
              "--log_samples is accepted (every sample is always logged); --batch_size 1 is accepted (larger "
              "batches: the adapter declares its concurrency); --device D is given to the model as device=D; "
              "a float --limit that is a whole number counts samples; task names may carry lmms-eval's "
              "omnibench_ prefix (omnibench_synth_pa = synth_pa).")


def positive_int(text: str) -> int:
    """--limit and friends: a whole number >= 1; lmms-eval's '5.0' is 5, its fraction '0.1' is refused."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a whole number of samples, e.g. 5") from None
    if 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"{text} is a fraction (lmms-eval reads it as a share of each task); omnibench counts samples: "
            "give a whole number, e.g. --limit 5")
    if value != int(value) or value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number >= 1 (e.g. --limit 5)")
    return int(value)


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative; give 0 or more")
    return value


def lmms_task_names(spec: str) -> str:
    """lmms-eval's task names for omnibench tasks carry the omnibench_ prefix: strip it where it names one of ours."""
    from omnibench import registry
    from omnibench.lmms.tasks import PREFIX

    known = set(registry.tasks(include_hidden=True)) | set(registry.groups())
    names = [n.strip() for n in spec.split(",")]
    return ",".join(n[len(PREFIX):] if n.startswith(PREFIX) and n not in known and n[len(PREFIX):] in known else n
                    for n in names)


def device_arg(model: str, device: str | None, model_args: dict) -> dict:
    """lmms-eval's --device: the model's device= setting, for models that take one."""
    import inspect

    from omnibench import registry

    if device is None or "device" in model_args:
        return model_args
    entry = registry.models(include_hidden=True).get(model)
    params = inspect.signature(entry.factory).parameters if entry else {}
    takes = model.startswith("lmms:") or "device" in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if not takes:
        print(f"omnibench: note: --device {device} ignored: model {model!r} takes no device setting",
              file=sys.stderr)
        return model_args
    return {**model_args, "device": device}


def alias(arg: str) -> str:
    head, eq, tail = arg.partition("=")
    return ALIASES.get(head, head) + eq + tail


def unexpected(exc: BaseException) -> str:
    """One paragraph for an error omnibench did not raise on purpose."""
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"no such file or directory: {exc.filename}. Check the path and run the command again."
    if isinstance(exc, PermissionError) and exc.filename:
        return f"permission denied: {exc.filename}. Check the path's permissions and run the command again."
    if isinstance(exc, ModuleNotFoundError):
        return (f"{exc}: an optional dependency is missing. Install the extra that brings it "
                "(pip install -e '.[models]' for torch and transformers; see pyproject.toml) and run the "
                "command again.")
    return (f"unexpected {type(exc).__name__}: {exc}. Run the command again with --debug for the traceback "
            "and report it if it looks like a bug.")


def run_parser(sub, prog: str | None = None) -> argparse.ArgumentParser:
    p = sub.add_parser("run", help="evaluate one model on tasks, then score it", description=(
        "Evaluate one model on tasks: event logs, per-sample scores and results.json in the run directory. "
        "Rerunning the same command resumes."), epilog=ALIAS_HELP, **({"prog": prog} if prog else {}))
    p.add_argument("--tasks", default="synth", help="task and group names, comma-separated (default: synth); "
                                                     "`omnibench list tasks` shows them")
    p.add_argument("--model", required=True, help="model name (`omnibench list models`) or lmms:<lmms-eval model>")
    p.add_argument("--model-args", default="", help="key=value,... given to the adapter")
    p.add_argument("--out", default=None, help="run directory (default runs/<model>)")
    p.add_argument("--label", default=None, help="the row's name on the board (default: the model's name and its "
                                                 "short answer-changing settings; never a path or a port)")
    p.add_argument("--shard", default=None, help="i/n: a static split by sample id hash, for processes started "
                   "by hand (under torchrun leave it out: ranks then take samples as they free up)")
    p.add_argument("--mode", choices=("lockstep", "realtime"), default="lockstep",
                   help="lockstep: the stream waits for the model (default); realtime: compute time moves the clock")
    p.add_argument("--protocol", choices=("offline", "streaming"), default=None,
                   help="override the task's protocol (offline models take streaming tasks through the bridge)")
    p.add_argument("--limit", type=positive_int, default=None, help="first N samples of each task (N >= 1)")
    p.add_argument("--n-per-task", type=positive_int, default=None, metavar="N",
                   help="synthetic tasks: N generated videos per task (the interruption tasks: N videos, two "
                        "samples each); default: the suite's sizes (50; interruption tasks 110)")
    p.add_argument("--max-errors", type=non_negative_int, default=None,
                   help="stop once more samples than this failed")
    p.add_argument("--timeout", type=float, default=600.0,
                   help="seconds per model call (default 600; 0: no limit). A local model's call past it "
                        "stops its worker process; a new one starts for the next call")
    p.add_argument("--start-timeout", type=float, default=None,
                   help="seconds a local model's worker may take to build the model (default 900)")
    p.add_argument("--keep-errors", action="store_true", help="do not retry samples that failed before")
    p.add_argument("--allow-errors", action="store_true", help="exit 0 even when samples failed")
    p.add_argument("--rerun-changed", action="store_true",
                   help="answer again samples (or a model/settings/code) that changed since their answers were logged")
    p.add_argument("--cache", action=argparse.BooleanOptionalAction, default=None,
                   help="response cache (default: on only for deterministic models with fingerprinted weights)")
    p.add_argument("--max-stream-s", type=float, default=None,
                   help="fail a sample whose stream would last longer (default 4 h; video streams end with the video)")
    p.add_argument("--video-issues", choices=("report", "error"), default="report",
                   help="samples whose video is damaged (decode errors, frozen stretches): report, or count as errors")
    _task_options(p)
    read_limit_option(p)
    p.add_argument("--no-score", action="store_true", help="only run; score later with `omnibench score`")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--device", default=None, help="lmms-eval spelling: given to the model as device=D "
                                                   "(ignored, with a note, by models that take no device)")
    p.add_argument("--batch_size", "--batch-size", default=None, help="lmms-eval spelling: only 1 is accepted; "
                   "concurrency is declared by each adapter (max_concurrency)")
    p.add_argument("--log_samples", "--log-samples", action="store_true",
                   help="lmms-eval spelling: accepted; every sample is always logged")
    return p


def _task_options(p) -> None:
    p.add_argument("--data-dir", default=None, help="OmniMMI directory (annotations, videos/, clips/)")
    p.add_argument("--lenient", action="store_true", help="skip broken records (reported) instead of failing")
    p.add_argument("--seed", type=int, default=None, help="synthetic suite seed (default 0)")
    p.add_argument("--judge-model", default=None, help="judge model name (default: $OMNIBENCH_JUDGE_MODEL)")
    p.add_argument("--judge-base-url", default=None,
                   help="OpenAI-compatible judge endpoint (default: $OMNIBENCH_JUDGE_BASE_URL)")
    p.add_argument("--judge-prompt", default=None, help="judge prompt name or file")
    p.add_argument("--prompts", default=None, help="JSON file overriding task prompts")
    p.add_argument("--time", choices=("spoken", "claimed"), default=None,
                   help="score alerts at the time the model spoke (default) or the time it claimed")
    # rows 1, 2, 3, 6 and 12 of the README's reference table, each on its own (--reference sets them all)
    p.add_argument("--si-input", choices=("causal", "whole"), default=None,
                   help="OmniMMI SI offline input: the clip up to the question (default) or the whole video")
    p.add_argument("--ask-times", choices=("ours", "reference"), default=None,
                   help="OmniMMI streaming ask times: ours (default) or the reference's frame arithmetic")
    p.add_argument("--drop-first-second", nargs="?", const="always", choices=("never", "live", "always"),
                   default=None, help="OmniMMI PA alerts at int(t) == 0: never dropped (default), dropped on "
                   "streams run here as the reference's PA loop does (live), or on every record, replayed "
                   "prediction files too (always; the bare flag)")
    p.add_argument("--count-empty-alerts", action="store_true", default=None,
                   help="OmniMMI PA: a highlight a model claims (a time) counts even when it says nothing, as the "
                        "reference counts every M4 highlight")
    p.add_argument("--online-answers", choices=("joined", "first"), default=None,
                   help="OmniMMI streaming answers: everything said for a turn (default), or the reference's "
                        "loop: the first response, none after the last frame")
    p.add_argument("--online-answer-slot", choices=("fill", "keep"), default=None,
                   help="OmniMMI MD streaming: fill ##ANSWER## with the model's answer (default) or keep it, as the "
                        "reference's online loop does")
    p.add_argument("--pt-online-input", choices=("remark", "conversation"), default=None,
                   help="OmniMMI PT streaming: the final remark (default) or the whole conversation (the reference)")
    p.add_argument("--spoken-form", choices=("as_written", "reference"), default=None,
                   help="OmniMMI, audio-input models: the instruction spoken as written (default) or as the "
                        "reference's M4-Audio harness gives it to its TTS (numbers as words, '-' as 'to')")
    p.add_argument("--missing-clip", choices=("cut", "error"), default=None,
                   help="OmniMMI SG/MD offline without the pre-cut clip: read [0, end] of the video (default) or fail "
                        "(the reference reads clips/ only)")
    p.add_argument("--judge-empty", action="store_true", default=None,
                   help="send empty predictions to the judge (default: scored no/0 without a call)")
    p.add_argument("--judge-temperature", type=_temperature, default=None, metavar="T|none",
                   help="judge sampling temperature (default 0); 'none' sends none, so the API default applies")
    p.add_argument("--judge-timeout", type=_positive_seconds, default=None, metavar="S",
                   help="seconds one judge call may take (default 60, $OMNIBENCH_JUDGE_TIMEOUT)")
    p.add_argument("--judge-attempts", type=positive_int, default=None, metavar="N",
                   help="tries per judged answer before it is unscored (default 5, $OMNIBENCH_JUDGE_ATTEMPTS)")
    p.add_argument("--judge-parse", choices=("strict", "reference"), default=None,
                   help="judge replies: strict (default; the verdict object, clear yes/no, score 0..5) or as "
                        "OmniMMI's evaluate.py reads them (the whole reply a literal, 'yes' anywhere in pred)")
    p.add_argument("--task-args", default=None, metavar="K=V,...",
                   help="task settings by name (the OVO-Bench and StreamingBench rows of the README's differences "
                        "tables, e.g. clip_end=ceil,context_s=60); a task takes the ones it knows")
    _reference_option(p)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0")
    return value


def _temperature(text: str) -> float | str:
    if text.lower() == "none":
        return "none"
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 2.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a temperature in [0, 2] or 'none'")
    return value


def read_limit_option(p) -> None:
    p.add_argument("--max-read-mb", type=positive_int, default=None, metavar="N",
                   help="largest file (JSONL: line) read from a data root or run directory, in MiB (default 256)")


def _reference_option(p) -> None:
    p.add_argument("--reference", choices=("omnimmi", "ovobench", "streamingbench"), default=None,
                   help="that benchmark's reference behaviour for every row of its table in the README's "
                        "'Where omnibench differs' sections (recorded in the run)")


def _fps(text: str) -> float:
    from omnibench.data.video import check_fps

    try:
        return check_fps(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser(prog: str = "omnibench") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, epilog=(
        "`python run_eval.py` with no arguments runs the main job (synthetic suite x baselines, then the "
        "leaderboard). Add --debug before the command for tracebacks."))
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_parser(sub)
    p = sub.add_parser("score", help="re-score a run from its event logs", description=(
        "Re-score a run directory from its event logs (new judge, new metric); no model runs."))
    p.add_argument("run_dir", help="a run directory written by `omnibench run`")
    p.add_argument("--json", action="store_true", help="print {task: {metric: value}} as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress output (judge calls)")
    p.add_argument("--tasks", default=None, help="only these tasks (default: every task logged in the run)")
    p.add_argument("--force", action="store_true",
                   help="replace results even when the new scoring scored fewer samples (a judge that failed)")
    p.add_argument("--judge-url-from-run", action="store_true",
                   help="send your judge key to the endpoint the run directory records (default: only to "
                        "--judge-base-url or $OMNIBENCH_JUDGE_BASE_URL; a different recorded one is refused)")
    _task_options(p)
    read_limit_option(p)
    p = sub.add_parser("report", help="leaderboard (CSV, Markdown, HTML) from runs",
                       description="Leaderboard and per-sample page from one or more scored run directories.")
    p.add_argument("run_dirs", nargs="+", help="scored run directories")
    p.add_argument("--out", required=True, help="folder for leaderboard.csv, leaderboard.md and index.html")
    p.add_argument("--title", default="omnibench leaderboard", help="page title")
    p.add_argument("--no-rescore", dest="rescore", action="store_false",
                   help="a run whose logs are newer than its results.json is an error (default: score it again)")
    _reference_option(p)
    read_limit_option(p)
    p = sub.add_parser("list", help="list tasks or models")
    p.add_argument("what", choices=("tasks", "models"), help="tasks or models")
    data = sub.add_parser("data", help="datasets: stats, probe, synth, download").add_subparsers(
        dest="data_cmd", required=True, metavar="DATA_COMMAND")
    p = data.add_parser("stats", help="records, queries and videos of the OmniMMI annotations")
    p.add_argument("dir", nargs="?", default=None, help="OmniMMI directory (default: the packaged annotations)")
    p.add_argument("--lenient", action="store_true", help="skip broken records (reported) instead of failing")
    p = data.add_parser("probe", help="what the video reader sees in one video")
    p.add_argument("video", help="video file")
    p.add_argument("--fps", type=_fps, default=1.0, help="frames per second to sample, in (0, 1000] (default 1)")
    p.add_argument("--backend", default="auto", choices=("auto", "decord", "pyav"), help="video reader")
    p = data.add_parser("synth", help="write the synthetic suite to a folder")
    p.add_argument("--seed", type=int, default=0, help="suite seed (default 0)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--n-per-task", type=positive_int, default=None, help="samples per task (default: the suite's, 50)")
    p = data.add_parser("reference-prompts", help="read a reference's prompt wording from your checkout of it")
    p.add_argument("path", help="root of your checkout of the reference repository")
    p.add_argument("--benchmark", choices=("omnimmi", "ovobench", "streamingbench"), default="omnimmi",
                   help="whose checkout: OmniMMI (judge and AP prompts, default), OVO-Bench or StreamingBench")
    p.add_argument("--out", default=None, help="folder to write to (default: where --reference finds them)")
    p = data.add_parser("reference-scores", help="a reference's own result files, scored as it scores them")
    p.add_argument("path", help="omnimmi: its <output_dir>/<task>/<model>/gpt4o folder; ovobench: a results/<model> "
                                "folder; streamingbench: an output JSON of its eval.py")
    p.add_argument("--benchmark", choices=("omnimmi", "ovobench", "streamingbench"), default="omnimmi",
                   help="whose files (default omnimmi)")
    p.add_argument("--task", choices=("ap", "si", "sg", "md"), default=None, help="omnimmi: which task's files")
    p.add_argument("--model", default=None, help="streamingbench: the key holding the replies (found when only one)")
    p.add_argument("--json", action="store_true", help="every metric as one JSON object (default: one per line)")
    p = data.add_parser("download", help="fetch a benchmark's data from the Hugging Face Hub")
    p.add_argument("dataset", choices=("omnimmi", "ovobench", "streamingbench"), help="dataset name")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-videos", action="store_true", help="ovobench: the annotations only (no 44 GB of videos)")
    p = sub.add_parser("m4", help="M4: build-data (M4-IT data), train (SFT recipes); `omnibench m4 train --help`",
                       description="M4 training: `omnibench m4 build-data ...` and `omnibench m4 train --recipe NAME "
                                   "[key=value ...]`; each has its own --help.")
    p.add_argument("verb", choices=("train", "build-data"), help="train or build-data")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="arguments of that command")
    sub.add_parser("lmms-eval-path", help="print the folder of omnibench's lmms-eval task YAMLs")
    return parser


def task_settings(args) -> dict:
    judge = {k: v for k, v in (("model", args.judge_model), ("base_url", args.judge_base_url),
                               ("prompt", args.judge_prompt), ("judge_empty", args.judge_empty)) if v}
    if args.judge_temperature is not None:
        judge["temperature"] = None if args.judge_temperature == "none" else args.judge_temperature
    from omnibench.peer_reference import parse_task_args

    judge.update({k: v for k, v in (("timeout_s", args.judge_timeout), ("attempts", args.judge_attempts),
                                    ("parse", args.judge_parse)) if v is not None})
    return {"data_dir": args.data_dir, "lenient": args.lenient or None, "seed": args.seed,
            "n_per_task": getattr(args, "n_per_task", None),
            "judge": judge or None, "prompts_file": args.prompts, "alert_time": args.time,
            "si_input": args.si_input, "ask_times": args.ask_times, "drop_first_second": args.drop_first_second,
            "count_empty_alerts": args.count_empty_alerts, "online_answers": args.online_answers,
            "online_answer_slot": args.online_answer_slot, "pt_online_input": args.pt_online_input,
            "missing_clip": args.missing_clip, "spoken_form": args.spoken_form, **parse_task_args(args.task_args)}
