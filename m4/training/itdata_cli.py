"""`omnibench m4 build-data`: M4-IT from a LLaVA-style JSON, a Hugging Face dataset, or the synthetic suite."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from omnibench.errors import ConfigError


def _numbers(text: str | None, kind: type) -> dict | None:
    from omnibench.m4.training.itdata import CATEGORIES

    if not text:
        return None
    parts = [kind(x) for x in text.split(",")]
    if len(parts) != len(CATEGORIES):
        raise ConfigError(f"give {len(CATEGORIES)} comma-separated values ({'/'.join(CATEGORIES)}), got {text!r}")
    return dict(zip(CATEGORIES, parts))


NOTES = {"reused_sources": "source conversations used for more than one sample (more samples were asked "
                            "for than there are sources)",
         "duplicate_conversations": "samples word for word identical to another one (a reused source "
                                    "given the same phrase and placement); they weigh twice in training"}


def _say(message: str) -> None:
    print(f"m4 build-data: {message}", file=sys.stderr, flush=True)


def build_data_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="omnibench m4 build-data", description="Build M4-IT (original / interleave / "
                                "noise / stop) from LLaVA-style conversations")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--source", help="LLaVA-style JSON or JSONL file (image paths relative to --image-folder)")
    src.add_argument("--hf", help="a Hugging Face dataset in LLaVA shape, e.g. lmms-lab/LLaVA-NeXT-Data")
    src.add_argument("--synth", type=int, metavar="SEED", help="the synthetic suite of this seed (frames + questions)")
    p.add_argument("--split", default="train", help="the split of --hf to read (default: train)")
    p.add_argument("--limit", type=int, help="read at most this many source records")
    p.add_argument("--image-folder", default=None, help="where images are (or are written, for --hf)")
    p.add_argument("--out", required=True, help="output folder: m4it.json, report.json (and speech/)")
    p.add_argument("--counts", help="original,interleave,noise,stop (default: 2624,2376,2563,2500)")
    p.add_argument("--proportions", help="four weights, with --total")
    p.add_argument("--total", type=int, help="with --proportions: samples in all (default: the published M4-IT total)")
    p.add_argument("--seed", type=int, default=0, help="picks sources, phrases and placements (default: 0)")
    p.add_argument("--phrases", choices=("curated", "llm"), default="curated",
                   help="noise and stop phrases: the curated train split, or written by an LLM (--llm-*)")
    p.add_argument("--llm-model", help="with --phrases llm: the model name at the OpenAI-compatible endpoint")
    p.add_argument("--llm-base-url", help="with --phrases llm: the endpoint (default: OpenAI's)")
    p.add_argument("--llm-concurrency", type=int, default=8, help="with --phrases llm: parallel requests (default: 8)")
    p.add_argument("--noise-reply", choices=("yield", "none"), default="yield",
                   help="the reply to a noise turn: yield = the literal <|im_start|> (the floor is given back), "
                        "none = no reply")
    p.add_argument("--speech", metavar="VOICE", help="speak human turns with the TTS (espeak voice, e.g. en+f3)")
    return p


def main_build_data(argv: list[str] | None = None) -> int:
    from omnibench.m4.training import itdata, phrases

    args = build_data_parser().parse_args(argv)

    out = Path(args.out)
    if args.source:
        _say(f"reading {args.source}")
        records = itdata.load_records(args.source)[: args.limit]
    elif args.hf:
        _say(f"reading {args.hf} (images to {args.image_folder or out / 'images'})")
        records = itdata.load_hf(args.hf, args.image_folder or out / "images", args.split, args.limit)
    else:
        from omnibench.data.synth import ensure_suite
        from omnibench.m4.training.synthdata import synth_source_records

        _say(f"synthetic suite (seed {args.synth})")
        ensure_suite(seed=args.synth, n_per_task=20, progress=sys.stderr.isatty())
        _say("frames and questions")
        records = synth_source_records(out, seed=args.synth)
    _say(f"{len(records)} source records; building M4-IT")
    counts = itdata.resolve_counts(_numbers(args.counts, int), _numbers(args.proportions, float), args.total)
    noise, stop, version = phrases.NOISE_TRAIN, phrases.STOP_TRAIN, None
    if args.phrases == "llm":
        noise, stop, version = _llm_phrases(args)
    built, reused = itdata.build_m4it(records, counts, seed=args.seed, noise_phrases=noise, stop_phrases=stop,
                                      noise_reply=args.noise_reply)
    if args.speech:
        _say(f"speaking {len(built)} samples' human turns ({args.speech})")
    spoken = itdata.add_speech(built, out / "speech", args.speech) if args.speech else 0
    report = itdata.validate(built, noise_reply=args.noise_reply).model_copy(update={
        "reused_sources": reused, "phrase_source": args.phrases, "prompt_version": version, "seed": args.seed})
    path = itdata.write(built, report, out)
    summary = {"out": str(path), "total": report.total, "counts": report.counts, "problems": len(report.problems),
               "duplicate_conversations": report.duplicate_conversations, "reused_sources": reused,
               "speech_files": spoken, "notes": NOTES}
    _say(f"wrote {path}: {report.total} samples {report.counts}; reused_sources {reused} ({NOTES['reused_sources']}); "
         f"duplicate_conversations {report.duplicate_conversations} ({NOTES['duplicate_conversations']})")
    print(json.dumps(summary))
    return 0 if report.ok else 1


def _llm_phrases(args) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Phrases from the LLM, with every benchmark phrase and eval-split phrase removed."""
    from omnibench.m4.training import phrases
    from omnibench.m4.training.phrase_llm import PROMPT_VERSION, PhraseGenerator

    gen = PhraseGenerator(model=args.llm_model, base_url=args.llm_base_url, concurrency=args.llm_concurrency)
    held = (*phrases.NOISE_EVAL, *phrases.STOP_EVAL, *phrases.evaluation_phrases("noise"),
            *phrases.evaluation_phrases("stop"))
    noise = tuple(gen.generate("noise", 300, seed=args.seed, exclude=held))
    stop = tuple(gen.generate("stop", 100, seed=args.seed, exclude=held + noise))
    if not noise or not stop:
        raise ConfigError("the LLM returned no usable phrases; use --phrases curated")
    print(json.dumps({"phrase_llm": gen.model, "prompt_version": PROMPT_VERSION, "usage": vars(gen.usage)}))
    return noise, stop, PROMPT_VERSION
