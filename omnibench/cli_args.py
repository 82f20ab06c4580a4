"""Command-line values and lmms-eval's spellings: typed flag values, aliases, one-paragraph error texts."""

from __future__ import annotations

import argparse
import sys

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
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a whole number of samples, e.g. 5")
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
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
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
