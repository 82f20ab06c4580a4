"""M4-IT builder: counts, turn shapes, determinism, validation; phrase lists and their train/eval split."""

from __future__ import annotations

import json

import pytest

from omnibench.m4.training import itdata, phrases
from omnibench.m4.training.phrase_llm import PhraseGenerator, parse_list


def _source(n=40, image=True):
    return [{"id": f"s{k}", **({"image": f"img{k}.png"} if image else {}),
             "conversations": [{"from": "human", "value": f"<image>\nWhat is item {k}?"},
                               {"from": "gpt", "value": f"It is item {k}."},
                               {"from": "human", "value": "And then?"}, {"from": "gpt", "value": "Nothing."}]}
            for k in range(n)]


COUNTS = {"original": 5, "interleave": 4, "noise": 6, "stop": 7}


def test_counts_and_a_clean_report():
    built, reused = itdata.build_m4it(_source(), COUNTS, seed=3)
    report = itdata.validate(built)
    assert report.counts == COUNTS and report.total == 22 and reused == 0
    assert report.ok, report.problems
    assert len({r["id"] for r in built}) == len(built)


def test_turn_shapes_per_category():
    built, _ = itdata.build_m4it(_source(), {"original": 3, "interleave": 3, "noise": 20, "stop": 20}, seed=0)
    by = {c: [r for r in built if r["category"] == c] for c in itdata.CATEGORIES}
    for r in by["interleave"]:
        assert r["conversations"][0] == {"from": "human", "value": "<image>"}
        assert r["conversations"][1]["from"] == "human" and "<image>" not in r["conversations"][1]["value"]
    for r in by["stop"]:
        assert r["conversations"][-1] == {"from": "gpt", "value": "<|im_end|>"}
        assert r["conversations"][-2]["value"].replace("<image>\n", "") in phrases.STOP_TRAIN
    for r in by["noise"]:
        k = next(i for i, t in enumerate(r["conversations"]) if t["value"] == itdata.NOISE_REPLY)
        assert r["conversations"][k - 1]["value"].replace("<image>\n", "") in phrases.NOISE_TRAIN
    for r in by["original"]:
        assert len(r["conversations"]) == 4
    # both placements of an interruption occur: right after the image, and after the first answer
    first = sum(r["conversations"][0]["value"].startswith("<image>\n") and r["conversations"][1]["value"]
                == "<|im_end|>" for r in by["stop"])
    assert 0 < first < len(by["stop"])


def test_deterministic_for_a_seed():
    a, _ = itdata.build_m4it(_source(), COUNTS, seed=7)
    b, _ = itdata.build_m4it(_source(), COUNTS, seed=7)
    c, _ = itdata.build_m4it(_source(), COUNTS, seed=8)
    assert a == b and a != c


def test_noise_reply_none_leaves_noise_unanswered():
    built, _ = itdata.build_m4it(_source(), {"original": 0, "interleave": 0, "noise": 10, "stop": 0}, seed=1,
                                 noise_reply="none")
    assert all(t["value"] != itdata.NOISE_REPLY for r in built for t in r["conversations"])
    assert itdata.validate(built, noise_reply="none").ok


def test_reuse_is_counted_and_duplicates_reported():
    built, reused = itdata.build_m4it(_source(3), {"original": 6, "interleave": 0, "noise": 0, "stop": 0}, seed=0)
    report = itdata.validate(built)
    assert reused == 3 and report.duplicate_conversations == 3


def test_validation_names_the_broken_record():
    bad = [{"id": "x", "category": "stop", "image": "a.png",
            "conversations": [{"from": "gpt", "value": "hi"}, {"from": "gpt", "value": "again"}]}]
    report = itdata.validate(bad)
    assert not report.ok
    text = " ".join(report.problems)
    assert "(x)" in text and "human" in text and "two gpt" in text and "<|im_end|>" in text


def test_proportions_add_up():
    counts = itdata.resolve_counts(proportions={"original": 1, "interleave": 1, "noise": 1, "stop": 0}, total=100)
    assert sum(counts.values()) == 100 and counts["stop"] == 0
    # the published per-category counts sum to 10,063, although the paper states 9,963 samples in all
    assert itdata.resolve_counts() == itdata.PUBLISHED_COUNTS and sum(itdata.PUBLISHED_COUNTS.values()) == 10063


def test_phrase_lists_are_big_and_varied():
    assert len(phrases.NOISE_ALL) >= 200 and len(phrases.STOP_ALL) >= 50
    lengths = [len(p.split()) for p in phrases.NOISE_ALL]
    assert min(lengths) == 1 and max(lengths) >= 15
    norm = [phrases.normalize(p) for p in phrases.NOISE_ALL + phrases.STOP_ALL]
    assert len(set(norm)) == len(norm)


def test_train_and_eval_phrases_never_overlap():
    for train, held in ((phrases.NOISE_TRAIN, phrases.NOISE_EVAL), (phrases.STOP_TRAIN, phrases.STOP_EVAL)):
        assert train and held
        assert not {phrases.normalize(p) for p in train} & {phrases.normalize(p) for p in held}
    bench = phrases.evaluation_phrases("noise") + phrases.evaluation_phrases("stop")
    assert bench, "the benchmark's own phrase lists were not found"
    train = {phrases.normalize(p) for p in phrases.NOISE_TRAIN + phrases.STOP_TRAIN}
    assert not train & {phrases.normalize(p) for p in bench}


def test_build_data_command(tmp_path, capsys):
    from omnibench.m4.training.itdata_cli import main_build_data

    src = tmp_path / "llava.json"
    src.write_text(json.dumps(_source(10)))
    code = main_build_data(["--source", str(src), "--out", str(tmp_path / "out"), "--counts", "2,2,3,3", "--seed", "1"])
    assert code == 0
    built = json.loads((tmp_path / "out" / "m4it.json").read_text())
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert len(built) == 10 and report["counts"] == {"original": 2, "interleave": 2, "noise": 3, "stop": 3}
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["total"] == 10 and set(summary["notes"]) == {"reused_sources", "duplicate_conversations"}
    assert "m4 build-data: reading" in captured.err and "reused_sources" in captured.err   # progress: stderr


def test_llm_reply_parsing_is_safe():
    assert parse_list('```json\n["a", "b", 3]\n```') == ["a", "b"]
    assert parse_list("__import__('os').system('x')") is None
    assert parse_list('{"a": 1}') is None


def test_llm_generator_caches_and_records_usage(tmp_path):
    pytest.importorskip("openai")
    from tests.fake_openai import FakeOpenAI

    reply = json.dumps([f"remark number {k}" for k in range(5)] + ["Oh well, it is what it is."])
    with FakeOpenAI(handler=lambda body: reply) as server:
        gen = PhraseGenerator(model="m", base_url=server.base_url, api_key="k", per_call=5, concurrency=2,
                              cache_path=tmp_path / "c.sqlite")
        got = gen.generate("noise", 5, exclude=phrases.evaluation_phrases("noise"))
        calls = server.count
        again = PhraseGenerator(model="m", base_url=server.base_url, api_key="k", per_call=5,
                                cache_path=tmp_path / "c.sqlite").generate("noise", 5)
        assert server.count == calls                       # served from the cache
    assert got == again == [f"remark number {k}" for k in range(5)]
    assert gen.usage.requests == calls and gen.usage.prompt_tokens > 0
    assert "k" not in repr(gen).replace("PhraseGenerator", "")


def test_phrase_augmentation_keeps_the_phrase_and_is_seeded():
    plain, _ = itdata.build_m4it(_source(), {"original": 0, "interleave": 0, "noise": 0, "stop": 30}, seed=2)
    aug, _ = itdata.build_m4it(_source(), {"original": 0, "interleave": 0, "noise": 0, "stop": 30}, seed=2, augment=1.0)
    again, _ = itdata.build_m4it(_source(), {"original": 0, "interleave": 0, "noise": 0, "stop": 30}, seed=2, augment=1.0)
    assert aug == again and aug != plain
    said = [t["value"].replace("<image>\n", "") for r in aug for t in r["conversations"] if t["from"] == "human"]
    core = {phrases.normalize(p) for p in phrases.STOP_TRAIN}
    assert all(any(c in phrases.normalize(s) for c in core) for s in said if "item" not in s)


def test_mixing_joins_a_short_noise_aside_to_both_kinds_and_keeps_the_category():
    counts = {"original": 0, "interleave": 0, "noise": 40, "stop": 40}
    mixed, _ = itdata.build_m4it(_source(), counts, seed=4, mix=1.0)
    assert mixed == itdata.build_m4it(_source(), counts, seed=4, mix=1.0)[0]
    noise = {phrases.normalize(p) for p in phrases.NOISE_TRAIN}
    stop = {phrases.normalize(p) for p in phrases.STOP_TRAIN}
    for record in mixed:
        turn = next(t["value"].replace("<image>\n", "") for t in record["conversations"]
                    if t["from"] == "human" and "item" not in t["value"])
        said = phrases.normalize(turn)
        own = stop if record["category"] == "stop" else noise
        assert any(p in said for p in own) and any(p in said and p != said for p in noise), turn
        assert (record["conversations"][-1]["value"] == "<|im_end|>") == (record["category"] == "stop")


def test_generated_phrases_are_distinct_seeded_and_never_an_evaluation_phrase():
    from omnibench.m4.training import phrase_templates

    for kind in ("noise", "stop"):
        made = phrase_templates.generated(kind, 800, seed=1)
        assert len(made) == 800 and made == phrase_templates.generated(kind, 800, seed=1)
        assert made != phrase_templates.generated(kind, 800, seed=2)
        keys = [phrases.normalize(p) for p in made]
        assert len(set(keys)) == len(keys)
        held = {phrases.normalize(p) for p in (*phrases.evaluation_phrases("noise"), *phrases.evaluation_phrases("stop"),
                                               *phrases.NOISE_EVAL, *phrases.STOP_EVAL)}
        assert not held & set(keys)
        assert not [p for p in made if phrases.wraps_evaluation_phrase(p)]
    # unfiltered, the generator does say evaluation phrases ("Enough.", "Hold on."): the filter matters
    import random

    rng = random.Random(0)
    assert any(phrases.normalize(phrase_templates.stop_phrase(rng)) in held for _ in range(5000))


def test_no_train_phrase_or_built_turn_contains_a_whole_benchmark_phrase():
    """A train phrase, or a filler around one, that rebuilds a benchmark phrase ("Fine, that'll do."
    around "That'll do.") would leak it: every benchmark phrase of three words or more is absent from
    the train parts and from the built noise and stop turns, word for word."""
    bench = {phrases.normalize(p) for kind in ("noise", "stop") for p in phrases.evaluation_phrases(kind)}
    long_ones = [f" {b} " for b in bench if len(b.split()) >= 3]
    assert long_ones and phrases.wraps_evaluation_phrase("Well, " + phrases.evaluation_phrases("stop")[2] + " Ha.")
    for p in phrases.NOISE_TRAIN + phrases.STOP_TRAIN:
        assert not [b for b in long_ones if b in f" {phrases.normalize(p)} "], p
    built, _ = itdata.build_m4it(_source(60), {"original": 0, "interleave": 0, "noise": 600, "stop": 600}, seed=3,
                                 augment=1.0, mix=0.6)
    turns = [t["value"].replace("<image>\n", "") for r in built for t in r["conversations"] if t["from"] == "human"]
    assert not [t for t in turns if phrases.resembles_evaluation_phrase(t)]
    # short ones count exactly (normalised): "halt!" is the benchmark's "Halt.", a train phrase is not
    assert phrases.resembles_evaluation_phrase("halt!") and not phrases.wraps_evaluation_phrase("halt!")
    assert not [p for p in phrases.NOISE_TRAIN + phrases.STOP_TRAIN if phrases.resembles_evaluation_phrase(p)]


def test_the_guard_sees_every_text_the_board_and_omnimmi_say():
    """The texts taken from generated task samples (every interruption task, every seed the board uses:
    0) and OmniMMI's turn-taking remarks (the packaged file and the shared copy) are held out, and no
    M4 training phrase equals one of them."""
    from pathlib import Path

    from omnibench.data import omnimmi
    from omnibench.tasks.interaction import FAMILY, interruption_texts

    held = {phrases.normalize(p) for kind in ("noise", "stop") for p in phrases.evaluation_phrases(kind)}
    board = {t for name in FAMILY for t in interruption_texts(name, seed=0)}
    pt = {s.turns[-1].text for s in omnimmi.load("pt")}
    shared = Path("/work/shared/data/omnimmi/proactive_turntaking.json")
    copies = [omnimmi.load("pt", data_dir=shared.parent)] if shared.exists() else []
    pt |= {s.turns[-1].text for copy in copies for s in copy}
    assert len(board) > 100 and len(pt) > 50
    missing = {t for t in board | pt if phrases.normalize(t) not in held}
    assert not missing, sorted(missing)[:5]
    train = {phrases.normalize(p) for p in phrases.NOISE_TRAIN + phrases.STOP_TRAIN}
    assert not train & {phrases.normalize(t) for t in board | pt}
    # the remarks the issue found in both NOISE_TRAIN and the noise_rejection pool
    assert not train & {phrases.normalize(t) for t in ("Gotcha.", "Indeed.", "Uh-huh.", "Totally.")}
