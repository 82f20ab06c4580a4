"""Every sample of every task and model: question as asked, reference, answer, verdict, error, timeline.

The page loads them per (task, model) on demand: each group is a small script file beside
index.html (samples/NN-task-model.js) that hands its escaped HTML to the page's own script
(page_script.SCRIPT; a <script src> works from file://, where fetch() of a local file does not).
A group's HTML is built here with every data string escaped, then written as one JSON string
literal, so nothing in it can end the literal or run as code. Each sample is one block carrying
data-task / data-model / data-outcome, which the page filters by task, model, outcome and text,
and pages through. The filter state lives in the URL hash (#task=..&model=..&failures=1&q=..&page=N).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from omnibench.data.schema import Sample
from omnibench.engine.eventlog import EventLog, SampleRecord
from omnibench.report.runs import LoadedRun
from omnibench.report.tables import task_order
from omnibench.report.timeline import MAX_TEXT, answer_text, asked, axis_end, e, sample_figure, true_kind
from omnibench.results import SampleScore, TaskResult

PER_PAGE = 25
SAMPLES_DIR = "samples"          # beside index.html
EMPTY = "(empty)"


@dataclass
class TaskModelSamples:
    task: str
    model: str
    headline: str
    samples: list[Sample]
    records: dict[str, SampleRecord]
    scores: dict[str, SampleScore]
    problems: Counter = field(default_factory=Counter)      # error / unscored reason -> samples


def _jsonl(path: Path, model: type[Sample] | type[SampleScore]) -> list:
    if not path.exists():
        return []
    return [model.model_validate(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def collect(runs: list[LoadedRun]) -> list[TaskModelSamples]:
    """Per (task, model), from the run given last (as merge_results): samples, records over all shards, scores."""
    from omnibench.engine.evaluate import slug
    from omnibench.rundir import samples_path

    latest: dict[tuple[str, str], tuple[LoadedRun, TaskResult]] = {}
    for run in runs:
        for r in run.results:
            latest[(r.task, r.model)] = (run, r)
    out = []
    for (task, model), (run, r) in sorted(latest.items(), key=lambda kv: (task_order(kv[0][0]), kv[0][1])):
        records: dict[str, SampleRecord] = {}
        for path in sorted((run.run_dir / "logs" / task).glob(f"{slug(model)}.shard*.jsonl")):
            for rec in EventLog(path).records():
                if rec.model == model:
                    records.setdefault(rec.sample_id, rec)
        own = samples_path(run.run_dir, task, model)     # per label; older run dirs: one file per task
        samples = [s for s in _jsonl(own if own.exists() else run.run_dir / "samples" / f"{task}.jsonl", Sample)
                   if s.id in records]
        scores = {s.sample_id: s for s in _jsonl(run.run_dir / "scores" / task / f"{slug(model)}.jsonl", SampleScore)}
        group = TaskModelSamples(task, model, r.headline, samples, records, scores)
        for s in samples:
            reason = problem(records[s.id], scores.get(s.id))
            if reason:
                group.problems[reason] += 1
        out.append(group)
    return out


def problem(record: SampleRecord, score: SampleScore | None) -> str | None:
    if record.status == "error" or (score is not None and score.error):
        return f"error: {record.error or (score.error if score is not None else '')}"
    if score is not None and score.unscored:
        return f"unscored: {score.unscored}"
    return None


def outcome(record: SampleRecord, score: SampleScore | None, headline: str) -> tuple[str, float | None]:
    """pass / fail / error / unscored / not scored, and the sample's headline value."""
    if record.status == "error" or (score is not None and score.error):
        return "error", None
    if score is None:
        return "not scored", None
    if score.unscored:
        return "unscored", None
    value = score.values.get(headline)
    if value is None:
        known = [v for v in score.values.values() if v is not None]
        value = min(known) if known else None
    if value is None:
        return "not scored", None
    return ("pass" if value >= 1 - 1e-9 else "fail"), value


def _logged_prompt(record: SampleRecord, turn: int) -> str | None:
    return next((ev.text for ev in record.events if ev.kind == "query" and ev.turn == turn and ev.text), None)


def _text_cell(text: str, css: str) -> str:
    if not text:
        return f'<td class="{css} empty">{EMPTY}</td>'
    return f'<td class="{css}">{e(text[:MAX_TEXT * 4])}</td>'


def turns_table(sample: Sample, record: SampleRecord) -> str:
    rows = []
    for i, q in enumerate(sample.turns):
        when = "end" if q.t is None else f"{q.t:g} s"
        target = "" if q.target is None else str(q.target)
        question = asked(sample, record, i)
        prompt = _logged_prompt(record, i)
        sent = (f'<details class="prompt"><summary>prompt sent</summary>{e(prompt[:MAX_TEXT * 4])}</details>'
                if prompt and prompt.strip() != question.strip() else "")
        kind = true_kind(sample, i)
        slot = f' title="asked in the {e(q.kind)} slot"' if kind != q.kind else ""
        rows.append(f"<tr><td>{i}</td><td>{e(when)}</td><td{slot}>{e(kind)}</td>"
                    f"<td>{e(question[:MAX_TEXT * 4])}{sent}</td>"
                    f'<td class="ref">{e(target[:MAX_TEXT * 4])}</td>{_text_cell(answer_text(record, i), "ans")}</tr>')
    return ('<table class="qa"><tr><th>#</th><th>at</th><th>kind</th><th>question as asked</th><th>reference</th>'
            "<th>model answer</th></tr>" + "".join(rows) + "</table>")


def sample_block(group: TaskModelSamples, sample: Sample, axis: float) -> str:
    record, score = group.records[sample.id], group.scores.get(sample.id)
    label, value = outcome(record, score, group.headline)
    shown = label if value is None or label == "pass" else f"{label} ({value:g})"
    return (f'<section class="s" data-task="{e(group.task)}" data-model="{e(group.model)}" data-outcome="{e(label)}">'
            f'<h3><span class="o {e(label.replace(" ", "-"))}">{e(shown)}</span> <code>{e(sample.id)}</code> · '
            f'{e(group.task)} · {e(group.model)} <small>video {e(sample.video.path)}</small></h3>'
            f"{video_issues_html(record)}{turns_table(sample, record)}{sample_figure(sample, record, score, axis)}"
            "</section>")


def video_issues_html(record: SampleRecord) -> str:
    """The damage the video reader met on this sample (note_video_issues): its score may rest on concealed frames."""
    if not record.video_issues:
        return ""
    lines = "".join(f"<li>{e(line[:MAX_TEXT])}</li>" for line in record.video_issues)
    return f'<div class="warn video-issues"><b>video damage</b> met reading this sample\'s video<ul>{lines}</ul></div>'


def axes(groups: list[TaskModelSamples]) -> dict[tuple[str, str], float]:
    """One axis per (task, sample id) over every model's record, so models line up on the same sample."""
    records: dict[tuple[str, str], list[SampleRecord]] = {}
    samples: dict[tuple[str, str], Sample] = {}
    for g in groups:
        for s in g.samples:
            records.setdefault((g.task, s.id), []).append(g.records[s.id])
            samples[(g.task, s.id)] = s
    return {k: axis_end(samples[k], recs) for k, recs in records.items()}


@dataclass
class SampleFile:
    """One group's samples, written beside index.html."""

    group: TaskModelSamples
    path: str                    # relative to index.html
    size: int                    # bytes
    failures: int


def write_sample_files(groups: list[TaskModelSamples], out_dir: Path) -> list[SampleFile]:
    """samples/NN-task-model.js for each group with samples; stale files of an earlier report are removed."""
    from omnibench.rundir import slug

    folder = Path(out_dir) / SAMPLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.js"):
        old.unlink()
    axis = axes(groups)
    from omnibench.sanitize import scrub  # secrets and invalid Unicode never reach a report

    files = []
    for i, g in enumerate(gr for gr in groups if gr.samples):
        html = "".join(sample_block(g, s, axis[(g.task, s.id)]) for s in g.samples)
        name = f"{i:02d}-{slug(g.task)}-{slug(g.model)}.js"
        # ensure_ascii: the literal holds no raw non-ASCII (U+2028 and kin), nothing but escaped text
        text = f"omnibenchSamples({i},{json.dumps(scrub(html), ensure_ascii=True)});\n"
        (folder / name).write_text(text, encoding="ascii")
        failures = sum(1 for s in g.samples if outcome(g.records[s.id], g.scores.get(s.id), g.headline)[0] != "pass")
        files.append(SampleFile(g, f"{SAMPLES_DIR}/{name}", len(text), failures))
    return files


def _options(values: list[str], first: tuple[str, str], last: tuple[str, str] | None = None) -> str:
    options = [first, *((v, v) for v in values), *([last] if last else [])]
    return "".join(f'<option value="{e(v)}">{e(label)}</option>' for v, label in options)


def samples_section(files: list[SampleFile]) -> str:
    """The index of sample files, the filters, and the (empty until a task is picked) sample view."""
    if not files:
        return ""
    tasks = sorted({f.group.task for f in files}, key=task_order)
    models = sorted({f.group.model for f in files})
    total = sum(len(f.group.samples) for f in files)
    megabytes = sum(f.size for f in files) / 1e6
    controls = (f'<div class="filters" id="filters"><label>task <select id="f-task">'
                f'{_options(tasks, ("", "pick a task"), ("*", f"all tasks ({megabytes:.1f} MB)"))}</select></label> '
                f'<label>model <select id="f-model">{_options(models, ("", "all models"))}</select></label>'
                ' <label><input type="checkbox" id="f-fail"> failures only (fail, error, unscored)</label>'
                ' <label>search <input type="search" id="f-q" placeholder="id, question, answer, reason"></label>'
                ' <button id="f-prev" type="button">&larr; prev</button> <button id="f-next" type="button">next '
                f'&rarr;</button> <span id="f-count">pick a task to load its samples</span></div>')
    index = "".join(
        f'<tr data-i="{i}" data-task="{e(f.group.task)}" data-model="{e(f.group.model)}" data-src="{e(f.path)}">'
        f'<td>{e(f.group.task)}</td><td class="model">{e(f.group.model)}</td><td>{len(f.group.samples)}</td>'
        f"<td>{f.failures}</td><td>{f.size / 1e3:.0f} kB</td><td>"
        f'<a href="#task={e(quote(f.group.task))}&amp;model={e(quote(f.group.model))}">show</a></td></tr>'
        for i, f in enumerate(files))
    legend = ('<p class="legend"><b>Outcome</b>: pass = headline value 1 for this sample; fail = below 1 (value '
              'shown); error = the model call failed (reason shown); unscored = the scorer or judge could not '
              "decide (reason shown). <b>kind</b> is the true class of an interruption (noise, follow-up, stop, "
              f"lure); {EMPTY} = the model said nothing. Each sample has a timeline on its own axis (video length "
              "plus the 5 s tail, the same for every model): truth = target window, user = turns (interruptions "
              "dashed across lanes), model = when it spoke, ◇ = time it claimed, ✕ = error. A yellow box lists "
              "damage the video reader met on that sample (concealed packets, frozen stretches). Samples load per "
              f"task from the {SAMPLES_DIR}/ folder beside this page (keep it there).</p>")
    return (f'<h2 id="samples-h">Samples ({total})</h2>{legend}'
            '<noscript><p class="warn">The sample views need JavaScript (the page runs only its own script).</p>'
            '</noscript><details><summary>Sample files</summary><div class="wrap"><table class="runs" '
            'id="sample-index"><thead><tr><th>task</th><th class="model">model</th><th>samples</th><th>not passed</th>'
            f"<th>size</th><th></th></tr></thead><tbody>{index}</tbody></table></div></details>{controls}"
            '<div id="samples"></div>')


def problems_section(groups: list[TaskModelSamples]) -> str:
    """Errors and unscored samples with their reasons, linked to the filtered sample view."""
    rows = []
    for g in groups:
        for reason, n in g.problems.most_common():
            link = f"#task={quote(g.task)}&model={quote(g.model)}&failures=1"
            rows.append(f'<tr><td class="model">{e(g.model)}</td><td>{e(g.task)}</td><td>{n}</td>'
                        f'<td class="reason">{e(reason[:MAX_TEXT])}</td><td><a href="{e(link)}">show</a></td></tr>')
    if not rows:
        return ""
    return ('<h2 id="problems">Errors and unscored samples</h2><div class="wrap"><table class="runs problems">'
            "<thead><tr><th>model</th><th>task</th><th>samples</th><th>reason</th><th></th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div>")
