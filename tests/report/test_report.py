"""Leaderboard reports: tables, CSV, Markdown and HTML from run directories built with the pydantic models."""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

import pytest

from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.eventlog import Event, EventLog, SampleRecord
from omnibench.errors import DataError
from omnibench.report import load_results, markdown_table, write_report
from omnibench.results import MetricValue, Results, RunInfo, SampleScore, TaskResult

ROOT = Path(__file__).resolve().parents[2]
EVIL_MODEL = "<script>alert(1)</script>"
EVIL_TEXT = "<img src=x onerror=alert(2)>"


def result(task: str, model: str, value: float | None, headline: str = "accuracy", *, n_samples: int = 100,
           n_errors: int = 0, n_unscored: int = 0, extra: dict[str, float] | None = None, **kw) -> TaskResult:
    metrics = {headline: MetricValue(value=value, ci_low=None if value is None else max(0.0, value - 0.05),
                                     ci_high=None if value is None else min(1.0, value + 0.05), n=n_samples - n_errors - n_unscored)}
    metrics.update({k: MetricValue(value=v, ci_low=v, ci_high=v, n=n_samples) for k, v in (extra or {}).items()})
    return TaskResult(task=task, model=model, headline=headline, metrics=metrics, n_samples=n_samples,
                      n_scored=n_samples - n_errors - n_unscored, n_errors=n_errors, n_unscored=n_unscored, **kw)


def write_run(run_dir: Path, results: list[TaskResult], info: RunInfo | None = None) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "results.json").write_text(Results(results=results).model_dump_json(), encoding="utf-8")
    if info is not None:
        (run_dir / "run.json").write_text(info.model_dump_json(), encoding="utf-8")
    return run_dir


def alert_sample(i: int, task: str = "synth_pa") -> Sample:
    return Sample(id=f"pa<{i}>", task=task, video=VideoRef(path=f"videos/v{i}.mp4", end=20.0),
                  turns=[Query(t=1.0, text="Tell me when the red circle appears", kind="alert_request",
                               target=[8.0, 11.0]),
                         Query(t=None, text="Are you still there?", kind="noise")],
                  metadata={"video_id": f"v{i}"})


def stream_record(sample: Sample, model: str, text: str = "now!", protocol: str = "streaming") -> SampleRecord:
    return SampleRecord(sample_id=sample.id, task=sample.task, model=model, stream_s=20.0,
                        settings={"protocol": protocol, "mode": "lockstep"},
                        events=[Event(kind="query", t=1.0, turn=0, text="Tell me"),
                                Event(kind="emission", t=9.0, turn=None, text=text, refers_to=8.5, done=True),
                                Event(kind="query", t=20.0, turn=1, text="Are you still there?")])


def write_stream_run(run_dir: Path, model: str, n: int, *, text: str = "now!", protocol: str = "streaming",
                     shards: int = 1) -> Path:
    """A synth_pa run with samples, sharded event logs, per-sample scores and results."""
    from omnibench.engine.evaluate import slug

    samples = [alert_sample(i) for i in range(n)]
    (run_dir / "samples").mkdir(parents=True, exist_ok=True)
    (run_dir / "samples" / "synth_pa.jsonl").write_text("".join(s.model_dump_json() + "\n" for s in samples))
    for i, s in enumerate(samples):
        log = EventLog(run_dir / "logs" / "synth_pa" / f"{slug(model)}.shard{i % shards}of{shards}.jsonl")
        log.append(stream_record(s, model, text, protocol))
    scores = [SampleScore(sample_id=s.id, video_id=s.video_id, values={"accuracy": 1.0}, explanation="alert in window")
              for s in samples]
    (run_dir / "scores" / "synth_pa").mkdir(parents=True, exist_ok=True)
    (run_dir / "scores" / "synth_pa" / f"{slug(model)}.jsonl").write_text("".join(x.model_dump_json() + "\n" for x in scores))
    return write_run(run_dir, [result("synth_pa", model, 1.0, n_samples=n, extra={"precision": 0.5})],
                     RunInfo(model=model, tasks=["synth_pa"], mode="lockstep", versions={"omnibench": "0.1.0"}))


def omnimmi_run(tmp_path: Path, model: str = "mine") -> Path:
    parts = {"omnimmi_sg": 0.10, "omnimmi_ap": 0.40, "omnimmi_md": 0.05, "omnimmi_si": 0.25}
    results = [result(t, model, v, judge_model="gpt-4o-2024-08-06") for t, v in parts.items()]
    results.append(result("omnimmi_pt", model, 0.60, headline="silence"))
    return write_run(tmp_path / "omni", results)


def sample_files(board: Path) -> dict[str, str]:
    """Each samples/*.js file beside index.html, decoded: its name -> the HTML it hands the page."""
    import json
    import re

    out = {}
    for path in sorted((board / "samples").glob("*.js")):
        call = re.fullmatch(r"omnibenchSamples\((\d+),(\".*\")\);\n", path.read_text(encoding="ascii"), re.S)
        assert call, f"{path.name} is not one omnibenchSamples(i, json-string) call"
        out[path.name] = json.loads(call.group(2))
    return out


def samples_html(board: Path) -> str:
    return "".join(sample_files(board).values())


def section(markdown: str, heading: str) -> str:
    """The text under one '## heading', up to the next heading."""
    return markdown.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]


def test_omnimmi_columns_line_up_with_the_paper_and_average_our_parts(tmp_path):
    md = markdown_table(load_results([omnimmi_run(tmp_path)]))
    table = section(md, "OmniMMI (CVPR 2025) columns (measured here: value [95% CI] n)")
    assert "| model | SG avg | AP | MD avg | SI | PA | PT | avg w/o P |" in table
    # (10 + 40 + 5 + 25) / 4 from our parts; PA not run shows –; every measured cell has its CI and n
    assert ("| mine | 10.00 [5.0, 15.0] n=100/100 | 40.00 [35.0, 45.0] n=100/100 | 5.00 [0.0, 10.0] n=100/100 | "
            "25.00 [20.0, 30.0] n=100/100 | – | 60.00 [55.0, 65.0] n=100/100 | 20.00 n=400/400 |") in table
    assert "Judge: gpt-4o-2024-08-06" in md
    assert "Reported by OmniMMI" not in md                      # the CLI's table leaves reference rows out


def test_avg_wo_p_needs_all_four_parts(tmp_path):
    run = write_run(tmp_path / "r", [result("omnimmi_sg", "half", 0.2), result("omnimmi_ap", "half", 0.4)])
    table = section(markdown_table(load_results([run])), "OmniMMI (CVPR 2025) columns")
    assert "| half | 20.00 [15.0, 25.0] n=100/100 | 40.00 [35.0, 45.0] n=100/100 | – | – | – | – | – |" in table


def test_reported_rows_are_marked_apart_and_kept_as_published(tmp_path):
    paths = write_report([omnimmi_run(tmp_path)], tmp_path / "board")
    md = paths["md"].read_text(encoding="utf-8")
    reported = section(md, "Reported by OmniMMI (CVPR 2025) (published reference rows, not measured here)")
    # M4's published avg w/o P is 12.46 although its parts average 13.00: kept as published
    assert "| reported | M4 | video | Qwen2-7B | 32 / 1 fps | 5.67 | 35.67 | 1.67 | 9.00 | 25.50 | 62.00 | 12.46 |" in reported
    assert "| reported | GPT-4o | video | - | 50 | 15.00 | 39.50 | 12.33 | 17.00 | ✗ | ✗ | 20.96 |" in reported
    assert "M4" not in md.split("## Reported")[0]               # never mixed into measured rows
    rows = list(csv.DictReader(io.StringIO(paths["csv"].read_text(encoding="utf-8"))))
    reported_rows = [r for r in rows if r["source"] == "reported"]
    assert len({r["model"] for r in reported_rows}) == 25 and len(reported_rows) == 25 * 7
    m4 = {r["metric"]: r["value"] for r in reported_rows if r["model"] == "M4"}
    assert (m4["avg_wo_p"], m4["pa"]) == ("12.46", "25.50")
    assert next(r for r in reported_rows if r["model"] == "GPT-4o" and r["metric"] == "pa")["value"] == ""
    page = paths["html"].read_text(encoding="utf-8")
    table = page.split('id="published-omnimmi"')[1].split("</table>")[0]
    measured_body = table.split('<tbody class="measured">')[1].split("</tbody>")[0]
    assert "mine" in measured_body and "Gemini" not in measured_body
    assert "Measured here — value, 95% CI, n" in measured_body and "n=100/100" in measured_body
    assert "[5.0, 15.0]" in measured_body                       # measured rows carry their CI, published ones none
    reported_body = table.split('<tbody class="reported">')[1]
    assert reported_body.count('<tr class="reported"><td class="model"><span class="badge">reported</span>') == 25
    assert 'class="n"' not in reported_body and "not measured here" in reported_body
    assert "Gemini-1.5-Pro <small>(group: video · LLM: - · frames: 128)</small>" in reported_body


def test_synth_only_runs_show_headlines_and_secondary_metrics_without_reference_rows(tmp_path):
    run = write_run(tmp_path / "r", [
        result("synth_pa", "alerter", 0.5, extra={"precision": 0.25}),
        result("synth_pt", "alerter", 0.875, headline="silence", n_errors=2, n_unscored=1),
        result("synth_pt", "quiet", 1.0, headline="silence"),
    ])
    paths = write_report([run], tmp_path / "board")
    md = paths["md"].read_text(encoding="utf-8")
    assert "| model | score [95% CI] | vs next | synth_pa accuracy | synth_pa (precision) | synth_pt silence |" in md
    assert ("| alerter | 68.75 |  | 50.00 [45.0, 55.0] n=100/100 | 25.00 [25.0, 25.0] | "
            "87.50 [82.5, 92.5] n=97/100 (2 err, 1 unscored) |") in md
    assert "| quiet | 100.00 (on 1 of 2 tasks) |  | – | – | 100.00 [95.0, 100.0] n=100/100 |" in md
    assert md.index("| alerter") < md.index("| quiet")        # scored on both tasks: ahead of a one-task mean
    assert "reported" not in md and "OmniMMI" not in md
    rows = list(csv.DictReader(io.StringIO(paths["csv"].read_text(encoding="utf-8"))))
    value = {(r["model"], r["task"], r["metric"]): r for r in rows}
    assert value[("alerter", "synth_pa", "accuracy")]["value"] == "50.0000"       # percent, as in the tables
    assert value[("alerter", "synth_pa", "precision")]["value"] == "25.0000"
    assert value[("alerter", "board", "score")]["value"] == "68.7500"
    assert value[("alerter", "synth_pt", "silence")]["errors"] == "2"
    assert value[("alerter", "synth_pa", "accuracy")]["headline"] == "1"
    assert value[("alerter", "synth_pa", "precision")]["headline"] == "0"
    assert all(r["source"] == "measured" for r in rows) and len(rows) == 4 + 2     # 4 metrics, 2 scores
    assert not any(c.lstrip().startswith(("{", "[")) for r in rows for c in r.values() if c)   # no JSON in cells
    forced = write_report([run], tmp_path / "forced", include_reported=True)["md"].read_text(encoding="utf-8")
    assert "| reported | M4 | video |" in forced


def test_runs_merge_later_wins_and_settings_show_shards_without_secrets(tmp_path):
    first = write_run(tmp_path / "a", [result("synth_si", "m", 0.1)])
    second = write_stream_run(tmp_path / "b", "m", 4, shards=2)
    write_run(second, [result("synth_pa", "m", 1.0, n_samples=4, settings={
        "protocol": "streaming", "api_key": "sk-live-123", "judge": {"Auth_Token": "tok-456", "model": "j"}}),
        result("synth_si", "m", 0.9)], RunInfo(model="m", tasks=["synth_pa"], mode="realtime",
                                                model_args={"api_key": "***"}, versions={"omnibench": "0.1.0"}))
    results = {r.task: r for r in load_results([first, second])}
    assert results["synth_si"].metrics["accuracy"].value == 0.9
    assert results["synth_pa"].settings["shards"] == "2/2" and results["synth_pa"].settings["mode"] == "realtime"
    paths = write_report([first, second], tmp_path / "board")
    for path in paths.values():
        text = path.read_text(encoding="utf-8")
        assert "sk-live-123" not in text and "tok-456" not in text and "api_key" not in text
    assert "shards=2/2" in paths["md"].read_text(encoding="utf-8")
    assert "omnibench 0.1.0" in paths["html"].read_text(encoding="utf-8")


def test_untrusted_strings_are_escaped_everywhere(tmp_path):
    run = write_stream_run(tmp_path / "r", EVIL_MODEL, 2, text=EVIL_TEXT)
    write_run(run, [result("synth_pa", EVIL_MODEL, 1.0, n_samples=2, judge_model='<b onmouseover="x">j</b>',
                           settings={"protocol": 'streaming"><script>alert(3)</script>'})])
    paths = write_report([run], tmp_path / "board")
    page, md = paths["html"].read_text(encoding="utf-8"), paths["md"].read_text(encoding="utf-8")
    samples = samples_html(tmp_path / "board")
    files = [p.read_text(encoding="ascii") for p in (tmp_path / "board" / "samples").glob("*.js")]
    for raw in (EVIL_MODEL, EVIL_TEXT, "<script>alert(3)", "<b onmouseover", 'id="pa<0>"', "pa<0>"):
        assert raw not in page and raw not in md and raw not in samples and not any(raw in f for f in files)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(2)&gt;" in samples
    assert "&lt;script>alert(1)&lt;/script>" in md                          # Markdown: only tag openers escaped
    from omnibench.report.page_script import SCRIPT

    assert "pa&lt;0&gt;" in samples and page.lower().count("<script") == 1    # only the page's own script
    assert f"<script>{SCRIPT}</script>" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert len(files) == 1 and all(f.startswith("omnibenchSamples(0,") for f in files)


def test_csv_neutralises_formulas_in_model_names(tmp_path):
    run = write_run(tmp_path / "r", [result("synth_si", "=HYPERLINK(\"http://x\")", 0.5)])
    rows = list(csv.DictReader(io.StringIO(write_report([run], tmp_path / "b")["csv"].read_text(encoding="utf-8"))))
    assert rows[0]["model"] == "'=HYPERLINK(\"http://x\")"


def test_a_run_without_results_names_the_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="omnibench score") as err:
        load_results([tmp_path / "empty"])
    assert "results.json" in str(err.value)


def test_packaged_reported_leaderboard_matches_the_repository_copy():
    packaged = (resources.files("omnibench.data.omnimmi_files") / "reported_leaderboard.csv").read_text(encoding="utf-8")
    assert packaged == (ROOT / "leaderboards" / "reported_omnimmi.csv").read_text(encoding="utf-8")
