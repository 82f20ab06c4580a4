"""The board answers "who is better, and is it real": rank score with a CI, each row against the next,
undecided tasks left out, direction marks, chance levels; and it says the same thing in CSV, Markdown, HTML."""

from __future__ import annotations

import csv
import io
import random

from omnibench.report import build_leaderboard, markdown_table, write_report
from omnibench.results import MetricValue, TaskResult
from tests.report.test_report import result, write_run


def measured(task: str, model: str, rate: float, videos: int = 100, *, headline: str = "accuracy", seed: int = 0,
             chance: float | None = None, extra: dict[str, float] | None = None) -> TaskResult:
    """A result as `score` records it: exactly round(rate * videos) right, on videos drawn at random per model."""
    from omnibench.results import SampleScore
    from omnibench.scoring.metrics import summarize

    right = set(random.Random(f"{task}{model}{seed}").sample(range(videos), round(rate * videos)))
    scores = [SampleScore(sample_id=f"{task}-{k}", video_id=f"{task}-v{k}",
                          values={headline: float(k in right), **(extra or {})}) for k in range(videos)]
    r = summarize(task, model, headline, scores, n_boot=400)
    r.chance = chance
    return r


def test_tasks_with_too_few_samples_are_greyed_and_left_out_of_the_score(tmp_path):
    """Six of ten synthetic tasks had 6 samples (CIs like [16.7, 83.3]) and counted like the 220-sample ones."""
    results = [measured("synth_noise", "a", 0.8, 110), measured("synth_stop", "a", 0.6, 110),
               measured("synth_sg", "a", 0.0, 6),                          # 6 videos: cannot decide anything
               measured("synth_noise", "b", 0.5, 110), measured("synth_stop", "b", 0.5, 110),
               measured("synth_sg", "b", 1.0, 6)]
    board = build_leaderboard(results)
    sg = next(c for c in board.headlines if c.task == "synth_sg")
    assert sg.undecided and "6 videos" in sg.undecided and board.decided == ["synth_noise", "synth_stop"]
    a = next(r for r in board.rows if r.model == "a")
    assert a.score == (80 + 60) / 2                                         # synth_sg's 0 does not pull it down
    run = write_run(tmp_path / "r", results)
    paths = write_report([run], tmp_path / "board")
    md = paths["md"].read_text(encoding="utf-8")
    assert "synth_sg accuracy (not ranked)" in md and "| synth_sg | accuracy | – | no: 6 videos (fewer than 43) |" in md
    page = paths["html"].read_text(encoding="utf-8")
    assert '<th class="h g0 undecided" title="synth_sg · accuracy' in page
    assert page.count('class="h g0 undecided"') == 1 + 2                      # the head and both rows' cells


def test_a_task_any_model_is_too_uncertain_on_is_not_ranked():
    wide = result("t_wide", "a", 0.5, n_samples=200)
    wide.metrics["accuracy"] = MetricValue(value=0.5, ci_low=0.3, ci_high=0.65, n=200)   # 35 points
    board = build_leaderboard([wide, result("t_wide", "b", 0.5, n_samples=200), result("t_ok", "a", 0.5)])
    reasons = {c.task: c.undecided for c in board.headlines}
    assert reasons["t_ok"] is None and reasons["t_wide"] == "CI 35 points wide for a (over 30)"


def test_the_score_has_a_ci_and_each_row_is_compared_with_the_next(tmp_path):
    """The score column had no CI and nothing said whether two rows differ."""
    results = []
    for model, rate in (("strong", 0.8), ("close", 0.78), ("weak", 0.3)):
        results += [measured(t, model, rate, 120, seed=1) for t in ("t_one", "t_two")]
    board = build_leaderboard(results)
    assert [r.model for r in board.rows] == ["strong", "close", "weak"]
    strong, close, weak = board.rows
    assert strong.rank.ci_low < strong.score < strong.rank.ci_high
    assert strong.vs_next.other == "close" and not strong.vs_next.difference.excludes_zero   # 2 points: noise
    assert close.vs_next.other == "weak" and close.vs_next.difference.excludes_zero          # 48 points: real
    assert close.vs_next.difference.ci_low > 30 and weak.vs_next is None
    md = markdown_table(results)
    assert "| model | score [95% CI] | vs next |" in md
    row = next(line for line in md.splitlines() if line.startswith("| close |"))
    assert f"| {close.score:.2f} [{close.rank.ci_low:.1f}, {close.rank.ci_high:.1f}] | ≠ +" in row
    assert next(line for line in md.splitlines() if line.startswith("| strong |")).split(" | ")[2].startswith("≈ +")
    page = write_report([write_run(tmp_path / "r", results)], tmp_path / "board")["html"].read_text(encoding="utf-8")
    assert '<td class="vs sig" title="close minus weak' in page and '<td class="vs same" title="strong minus close' in page


def test_lower_is_better_metrics_are_marked_and_a_lower_is_better_headline_ranks_the_right_way(tmp_path):
    """noise_replied, followup_missed, never_started, false_stop looked like the others: silent's 100 read as good."""
    from omnibench.report.definitions import LOWER_IS_BETTER

    assert {"noise_replied", "followup_missed", "never_started", "false_stop", "derailed"} <= LOWER_IS_BETTER
    results = [measured("synth_noise", m, 0.5, 110, headline="balanced_accuracy",
                        extra={"noise_replied": v, "followup_missed": 1 - v}) for m, v in (("talker", 1.0), ("mute", 0.0))]
    paths = write_report([write_run(tmp_path / "r", results)], tmp_path / "board")
    md, page = paths["md"].read_text(encoding="utf-8"), paths["html"].read_text(encoding="utf-8")
    assert "synth_noise (noise_replied ↓)" in md and "synth_noise (followup_missed ↓)" in md
    assert "(noise_<wbr>replied ↓)" in page and "↓ = lower is better" in page
    misses = [measured("t_miss", m, rate, 100, headline="false_stop") for m, rate in (("often", 0.9), ("rarely", 0.1))]
    board = build_leaderboard(misses)
    assert [r.model for r in board.rows] == ["rarely", "often"]            # fewer false stops ranks first
    assert board.rows[0].score == 100 - 100 * misses[1].metrics["false_stop"].value


def test_the_chance_level_is_drawn_on_each_headline_column(tmp_path):
    """Nothing marked the 0.5 level of the balanced tasks; now each headline cell carries a tick at chance."""
    results = [measured("stop_turn", "m", 0.6, 110, headline="balanced_accuracy", chance=0.5),
               measured("synth_sg", "m", 0.3, 50, chance=0.0123)]
    paths = write_report([write_run(tmp_path / "r", results)], tmp_path / "board")
    page, md = paths["html"].read_text(encoding="utf-8"), paths["md"].read_text(encoding="utf-8")
    assert page.count('<b style="left:50.0%"></b>') == 1 and page.count('<b style="left:1.2%"></b>') == 1
    assert '<small class="chance">chance 50</small>' in page
    assert "| stop_turn | balanced_accuracy | 50.0 | yes |" in md and "| synth_sg | accuracy | 1.2 | yes |" in md
    rows = list(csv.DictReader(io.StringIO(paths["csv"].read_text(encoding="utf-8"))))
    assert next(r for r in rows if r["task"] == "stop_turn" and r["headline"] == "1")["chance"] == "50.0000"


def test_csv_is_in_the_units_of_the_tables_and_holds_the_score(tmp_path):
    """The CSV was in fractions while Markdown and HTML were in percent, and it had no score column."""
    results = [measured(t, m, rate, 100) for m, rate in (("a", 0.7), ("b", 0.2)) for t in ("t_one", "t_two")]
    paths = write_report([write_run(tmp_path / "r", results)], tmp_path / "board")
    rows = list(csv.DictReader(io.StringIO(paths["csv"].read_text(encoding="utf-8"))))
    md = paths["md"].read_text(encoding="utf-8")
    board = build_leaderboard(results)
    for row in board.rows:
        score = next(r for r in rows if r["model"] == row.model and r["metric"] == "score")
        assert (score["task"], float(score["value"])) == ("board", round(row.score, 4))
        assert f"{float(score['value']):.2f} [{float(score['ci_low']):.1f}, {float(score['ci_high']):.1f}]" in md
        cell = next(r for r in rows if r["model"] == row.model and r["task"] == "t_one" and r["headline"] == "1")
        assert f"| {float(cell['value']):.2f} [{float(cell['ci_low']):.1f}, {float(cell['ci_high']):.1f}] n=" in md
    vs = next(r for r in rows if r["metric"] == "vs_next")
    assert vs["model"] == "a" and vs["settings"] == "next=b" and float(vs["ci_low"]) > 0


def test_markdown_has_no_html_entities_in_its_own_text(tmp_path):
    """The Markdown printed `&lt;0.01x` for a real-time factor below 0.01x."""
    run = write_run(tmp_path / "r", [result("synth_si", "fast", 0.5, rtf=2e-06),
                                     result("synth_si", "a&b <i>x</i>", 0.4)])
    md = write_report([run], tmp_path / "board")["md"].read_text(encoding="utf-8")
    assert "| <0.01x |" in md and "&lt;0.01x" not in md
    assert "a&b &lt;i>x&lt;/i>" in md and "<i>" not in md                   # untrusted markup still neutralised


def test_every_metric_on_the_page_is_defined_derailed_too(tmp_path):
    """`derailed` appeared in sample verdicts and was never defined: the legend covered board columns only."""
    from omnibench import registry
    from omnibench.report.definitions import UNDEFINED

    task = registry.get_task("noise_rejection")
    values = {k: 0.5 for k in ("balanced_accuracy", "noise_ignored", "noise_replied", "followup_answered",
                               "followup_missed", "derailed")}
    r = result("noise_rejection", "m", 0.5, headline="balanced_accuracy", extra=values, metric_docs=task.metric_docs)
    page = write_report([write_run(tmp_path / "r", [r])], tmp_path / "board")["html"].read_text(encoding="utf-8")
    legend = page.split('<dl class="metrics">')[1].split("</dl>")[0]
    for metric in values:
        label = f"{metric} ↓" if metric in ("noise_replied", "followup_missed", "derailed") else metric
        assert f"<dt>{label}</dt>" in legend, metric
    assert "<dt>derailed ↓</dt><dd>The first answer was wrong" in legend and UNDEFINED not in legend


def test_a_row_scored_on_fewer_tasks_ranks_after_the_rows_scored_on_all(tmp_path):
    """never_stop and always_stop run the interruption tasks only: their mean over 4 tasks is no rival
    for a mean over 10, however high."""
    full = [measured(t, "full", 0.3, 100) for t in ("t_a", "t_b", "t_c")]
    part = [measured("t_a", "part", 0.9, 100)]
    board = build_leaderboard(full + part)
    assert [(r.model, r.ranked_tasks) for r in board.rows] == [("full", 3), ("part", 1)]
    assert board.rows[0].vs_next.tasks == 1                                 # compared where both ran
    md = markdown_table(full + part)
    assert "| part | 90.00" in md and "(on 1 of 3 tasks) |" in md
