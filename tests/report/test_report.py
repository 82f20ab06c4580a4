"""Leaderboard tables and the HTML page: content, OmniMMI columns, reference rows apart, escaping."""

from __future__ import annotations

from pathlib import Path

from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.eventlog import Event, EventLog, SampleRecord
from omnibench.report import load_results, markdown_table, write_report
from omnibench.results import MetricValue, Results, TaskResult

EVIL = "<script>document.title='pwned'</script>"


def result(task: str, model: str, value: float, headline: str = "accuracy", **kw) -> TaskResult:
    return TaskResult(task=task, model=model, headline=headline, n_samples=10, n_scored=10, n_errors=0, n_unscored=0,
                      metrics={headline: MetricValue(value=value, ci_low=value - 0.1, ci_high=value + 0.1, n=10)}, **kw)


def write_run(run_dir: Path, results: list[TaskResult]) -> Path:
    run_dir.mkdir(parents=True)
    (run_dir / "results.json").write_text(Results(results=results).model_dump_json())
    return run_dir


def test_omnimmi_columns_average_and_reported_rows(tmp_path):
    parts = {"omnimmi_sg": 0.1, "omnimmi_ap": 0.4, "omnimmi_md": 0.05, "omnimmi_si": 0.25}
    results = [result(t, "mine", v, judge_model="gpt-4o-2024-08-06") for t, v in parts.items()]
    results.append(result("omnimmi_pt", "mine", 0.6, headline="silence"))
    run = write_run(tmp_path / "r", results)
    table = markdown_table(load_results([run]))
    header, _, mine = table.splitlines()[:3]
    assert header.split(" | ")[1:8] == ["SG avg", "AP", "MD avg", "SI", "PA", "PT", "avg w/o P |"]
    cells = [c.strip() for c in mine.split("|")[1:-1]]
    assert cells[0] == "mine" and cells[1].startswith("10.00") and cells[5] == "–" and cells[6].startswith("60.00")
    assert cells[7] == "20.00"                                     # (10 + 40 + 5 + 25) / 4, from our parts
    assert "| M4 (reported) |" not in table and "| M4 | 5.67 | 35.67 | 1.67 | 9.00 | 25.50 | 62.00 | 12.46 |" in table
    assert "| GPT-4o | 15.00 | 39.50 | 12.33 | 17.00 | ✗ | ✗ | 20.96 |" in table
    assert "judge: gpt-4o-2024-08-06" in table


def test_files_are_written_and_csv_keeps_measured_and_reported_apart(tmp_path):
    run = write_run(tmp_path / "r", [result("omnimmi_ap", "mine", 0.5)])
    paths = write_report([run], tmp_path / "board")
    rows = paths["csv"].read_text().splitlines()
    assert rows[1].startswith("measured,mine,omnimmi_ap,accuracy,0.5")
    assert any(r.startswith("reported,M4,AP,published,0.3567") for r in rows)
    assert "mine" in paths["md"].read_text() and paths["html"].read_text().startswith("<!doctype html>")


def test_untrusted_strings_are_escaped_in_the_page(tmp_path):
    run = write_run(tmp_path / "r", [result("synth_pa", EVIL, 1.0)])
    sample = Sample(id="s<1>", task="synth_pa", video=VideoRef(path="v.mp4", end=10.0),
                    turns=[Query(t=0.0, text="Tell me <b>when</b>", kind="alert_request", target=[2.0, 4.0])])
    (run / "samples").mkdir()
    (run / "samples" / "synth_pa.jsonl").write_text(sample.model_dump_json() + "\n")
    EventLog(run / "logs" / "synth_pa" / "m.shard0of1.jsonl").append(SampleRecord(
        sample_id="s<1>", task="synth_pa", model=EVIL, stream_s=10.0,
        events=[Event(kind="query", t=0.0, turn=0, text="Tell me"),
                Event(kind="emission", t=3.0, text='<img src=x onerror="alert(1)">', refers_to=2.5)]))
    page = write_report([run], tmp_path / "board")["html"].read_text()
    assert EVIL not in page and "<img src=x" not in page and "&lt;script&gt;" in page
    assert "<svg" in page and "claimed 2.5 s" in page and "s&lt;1&gt;" in page
