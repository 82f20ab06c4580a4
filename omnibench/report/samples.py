"""Every sample of every task and model on the page: question, reference, answer, verdict, error.

Each sample is one escaped HTML block carrying data-task / data-model / data-outcome; a small fixed
script (allowed by its hash in the page's CSP, it never reads data as code) filters them by task,
model, outcome and text, and pages through them. Without the script every sample is still shown.
The filter state lives in the URL hash (#task=..&model=..&failures=1&q=..&page=N), so a view can be linked.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from omnibench.data.schema import Sample
from omnibench.engine.eventlog import EventLog, SampleRecord
from omnibench.report.tables import LoadedRun, task_order
from omnibench.report.timeline import MAX_TEXT, axis_end, e, sample_figure, verdict_html
from omnibench.results import SampleScore, TaskResult

STREAMING = ("streaming", "bridge")
PER_PAGE = 25
FAILED = ("fail", "error", "unscored", "not scored")


@dataclass
class TaskModelSamples:
    task: str
    model: str
    headline: str
    samples: list[Sample]
    records: dict[str, SampleRecord]
    scores: dict[str, SampleScore]
    problems: Counter = field(default_factory=Counter)      # error / unscored reason -> samples


def _jsonl(path: Path, model: type) -> list:
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
        return f"error: {record.error or score.error}"
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


def _answer(record: SampleRecord, turn: int) -> str:
    try:
        return record.answer(turn)
    except (IndexError, KeyError, ValueError):
        return ""


def turns_table(sample: Sample, record: SampleRecord) -> str:
    rows = []
    for i, q in enumerate(sample.turns):
        when = "end" if q.t is None else f"{q.t:g} s"
        target = "" if q.target is None else str(q.target)
        rows.append(f'<tr><td>{i}</td><td>{e(when)}</td><td>{e(q.kind)}</td><td>{e(q.text[:MAX_TEXT * 4])}</td>'
                    f'<td class="ref">{e(target[:MAX_TEXT * 4])}</td>'
                    f'<td class="ans">{e(_answer(record, i)[:MAX_TEXT * 4])}</td></tr>')
    return ('<table class="qa"><tr><th>#</th><th>at</th><th>kind</th><th>question</th><th>reference</th>'
            "<th>model answer</th></tr>" + "".join(rows) + "</table>")


def sample_block(group: TaskModelSamples, sample: Sample, axis: float) -> str:
    record, score = group.records[sample.id], group.scores.get(sample.id)
    label, value = outcome(record, score, group.headline)
    shown = label if value is None or label == "pass" else f"{label} ({value:g})"
    streaming = record.settings.get("protocol") in STREAMING
    body = (sample_figure(sample, record, score, axis) if streaming
            else verdict_html(record, score))
    return (f'<section class="s" data-task="{e(group.task)}" data-model="{e(group.model)}" data-outcome="{e(label)}">'
            f'<h3><span class="o {e(label.replace(" ", "-"))}">{e(shown)}</span> <code>{e(sample.id)}</code> · '
            f'{e(group.task)} · {e(group.model)} <small>video {e(sample.video.path)}</small></h3>'
            f"{video_issues_html(record)}{turns_table(sample, record)}{body}</section>")


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


def _options(values: list[str], everything: str) -> str:
    return f'<option value="">{e(everything)}</option>' + "".join(
        f'<option value="{e(v)}">{e(v)}</option>' for v in values)


def samples_section(groups: list[TaskModelSamples]) -> str:
    if not any(g.samples for g in groups):
        return ""
    axis = axes(groups)
    tasks = sorted({g.task for g in groups}, key=task_order)
    models = sorted({g.model for g in groups})
    total = sum(len(g.samples) for g in groups)
    blocks = "".join(sample_block(g, s, axis[(g.task, s.id)]) for g in groups for s in g.samples)
    controls = (f'<div class="filters" id="filters"><label>task <select id="f-task">{_options(tasks, "all tasks")}'
                f'</select></label> <label>model <select id="f-model">{_options(models, "all models")}</select></label>'
                ' <label><input type="checkbox" id="f-fail"> failures only (fail, error, unscored)</label>'
                ' <label>search <input type="search" id="f-q" placeholder="id, question, answer, reason"></label>'
                ' <button id="f-prev" type="button">&larr; prev</button> <button id="f-next" type="button">next '
                f'&rarr;</button> <span id="f-count">{total} samples</span></div>')
    legend = ('<p class="legend"><b>Outcome</b>: pass = headline value 1 for this sample; fail = below 1 (value '
              'shown); error = the model call failed (reason shown); unscored = the scorer or judge could not '
              "decide (reason shown). Streaming samples show a timeline on the sample's own axis (video length "
              "plus the 5 s tail, the same for every model): truth = target window, user = turns (noise/stop "
              "dashed across lanes), model = when it spoke, ◇ = time it claimed, ✕ = error. A yellow box lists "
              "damage the video reader met on that sample (concealed packets, frozen stretches).</p>")
    return (f'<h2 id="samples-h">Samples ({total})</h2>{legend}{controls}'
            f'<div id="samples">{blocks}</div>')


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


SCRIPT = """(function(){
var all=Array.prototype.slice.call(document.querySelectorAll('#samples .s'));
var $=function(id){return document.getElementById(id);};
var task=$('f-task'),model=$('f-model'),fail=$('f-fail'),q=$('f-q'),count=$('f-count'),page=0,per=%d;
if(!task)return;
function fromHash(){var h={};location.hash.replace(/^#/,'').split('&').forEach(function(kv){
var i=kv.indexOf('=');if(i>0){try{h[kv.slice(0,i)]=decodeURIComponent(kv.slice(i+1));}catch(err){}}});
if('task' in h)task.value=h.task;if('model' in h)model.value=h.model;fail.checked=h.failures==='1';
if('q' in h)q.value=h.q;page=parseInt(h.page||'1',10)-1||0;}
function keep(el){if(task.value&&el.getAttribute('data-task')!==task.value)return false;
if(model.value&&el.getAttribute('data-model')!==model.value)return false;
if(fail.checked&&el.getAttribute('data-outcome')==='pass')return false;
var s=q.value.trim().toLowerCase();return !s||el.textContent.toLowerCase().indexOf(s)>=0;}
function draw(){var shown=all.filter(keep),pages=Math.max(1,Math.ceil(shown.length/per));
page=Math.min(Math.max(page,0),pages-1);all.forEach(function(el){el.hidden=true;});
shown.slice(page*per,(page+1)*per).forEach(function(el){el.hidden=false;});
count.textContent=shown.length+' of '+all.length+' samples · page '+(page+1)+' of '+pages;}
function changed(){page=0;draw();}
[task,model,fail].forEach(function(x){x.addEventListener('change',changed);});q.addEventListener('input',changed);
$('f-prev').addEventListener('click',function(){page-=1;draw();});
$('f-next').addEventListener('click',function(){page+=1;draw();});
window.addEventListener('hashchange',function(){fromHash();draw();});
fromHash();draw();})();""" % PER_PAGE


def script_hash() -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
