"""The page's tables as HTML: the board (grouped, collapsible columns), metric definitions, published benchmarks.

Every string from data goes through e() (html.escape, quote=True). The board fits a 1280 px screen:
headline columns only by default, secondary metrics and whole task groups shown or hidden by
checkboxes (pure CSS, no script), labels broken at underscores, error reasons in tooltips.
"""

from __future__ import annotations

from omnibench.report.definitions import (
    CHANCE_DEFINITION,
    CI_DEFINITION,
    LOWER_DEFINITION,
    RANK_CI_DEFINITION,
    RANK_DEFINITION,
    UNDECIDED_DEFINITION,
    VS_NEXT_DEFINITION,
    metric_definition,
    metric_label,
)
from omnibench.report.tables import (
    MISSING,
    Cell,
    Column,
    Leaderboard,
    ModelRow,
    PublishedTable,
    ci_text,
    count_text,
    fmt_pct,
    reported_text,
)
from omnibench.report.timeline import e


def _label(text: str) -> str:
    """Escaped, with a line-break opportunity after each underscore (balanced_<wbr>accuracy)."""
    return "_<wbr>".join(e(part) for part in text.split("_"))


def _bar(value: float | None, chance: float | None) -> str:
    """The value as a bar on 0-100, with a tick at the chance level."""
    if value is None:
        return ""
    fill = f'<i style="width:{min(max(value, 0.0), 100.0):.1f}%"></i>'
    tick = f'<b style="left:{min(max(chance, 0.0), 100.0):.1f}%"></b>' if chance is not None else ""
    return f'<span class="bar">{fill}{tick}</span>'


def _counts(cell: Cell) -> str:
    bad = [f"{k} {label}" for k, label in ((cell.n_errors, "err"), (cell.n_unscored, "unscored")) if k]
    out = f'<span class="n">n={cell.n}/{cell.n_samples}</span>'
    return out + (f'<span class="n bad">{e(" · ".join(bad))}</span>' if bad else "")


def _value_cell(cell: Cell | None, col: Column, group: int, reasons: str = "") -> str:
    css = f'{"h" if col.headline else "sec"} g{group}' + (" undecided" if col.undecided else "")
    if cell is None:
        return f'<td class="{css}" title="not run">{MISSING}</td>'
    tips = [f"{col.task} · {col.metric}: {count_text(cell)}", *([reasons] if reasons else []),
            *([f"not ranked: {col.undecided}"] if col.undecided else [])]
    ci = f'<span class="ci">{e(ci_text(cell))}</span>' if ci_text(cell) else ""
    body = (f'<span class="v">{e(fmt_pct(cell.value))}</span>{_bar(cell.value, col.chance)}{ci}{_counts(cell)}'
            if col.headline else f'<span class="v">{e(fmt_pct(cell.value))}</span>{ci}')
    return f'<td class="{css}" title="{e(" — ".join(tips))}">{body}</td>'


def _head(col: Column, group: int) -> str:
    css = f'{"h" if col.headline else "sec"} g{group}' + (" undecided" if col.undecided else "")
    metric = metric_label(col.metric)
    tip = f"{col.task} · {metric}: {col.definition}"
    extra = ""
    if col.headline:
        if col.chance is not None:
            tip += f" — chance {col.chance:.1f}"
            extra += f'<small class="chance">chance {col.chance:.0f}</small>'
        if col.undecided:
            tip += f" — not ranked: {col.undecided}"
            extra += '<small class="nr">not ranked</small>'
    name = _label(col.short_task) if col.headline else ""
    label = _label(metric) if col.headline else f"({_label(metric)})"
    return f'<th class="{css}" title="{e(tip)}">{name}<small>{label}</small>{extra}</th>'


def _score_cells(row: ModelRow, decided: list[str]) -> str:
    """The rank score [CI] (and how many decided tasks it rests on, when not all), then the comparison below."""
    rank = row.rank
    if rank is None:
        score = f'<td class="score" title="no decided task">{MISSING}</td>'
    else:
        ci = (f'<span class="ci">[{rank.ci_low:.1f}, {rank.ci_high:.1f}]</span>'
              if rank.ci_low is not None and rank.ci_high is not None else "")
        part = (f'<span class="n bad">on {row.ranked_tasks} of {len(decided)} tasks</span>'
                if row.ranked_tasks < len(decided) else "")
        score = f'<td class="score"><span class="v">{rank.value:.2f}</span>{ci}{part}</td>'
    if row.vs_next is None:
        return score + "<td></td>"
    d = row.vs_next.difference
    mark, css = ("≠", "sig") if d.excludes_zero else ("≈", "same")
    ci = f'<span class="ci">[{d.ci_low:+.1f}, {d.ci_high:+.1f}]</span>' if d.ci_low is not None else ""
    tip = (f"{row.model} minus {row.vs_next.other}: {d.value:+.2f} on {row.vs_next.tasks} task(s) and their shared "
           f"videos; the 95% CI {'excludes' if d.excludes_zero else 'includes'} 0")
    return score + f'<td class="vs {css}" title="{e(tip)}"><span class="v">{mark} {d.value:+.1f}</span>{ci}</td>'


def leaderboard_table(board: Leaderboard, problems: dict[tuple[str, str], str] | None = None) -> str:
    """Column toggles, then the table: model (sticky), score [CI], vs next, each group's task columns."""
    problems = problems or {}
    groups = list(dict.fromkeys(c.group for c in board.columns))
    gi = {g: i for i, g in enumerate(groups)}
    first = {c.key for i, c in enumerate(board.columns) if i == 0 or board.columns[i - 1].group != c.group}
    toggles = "".join(f'<input type="checkbox" id="col-g{i}" checked><label for="col-g{i}">{e(g)}</label> '
                      for i, g in enumerate(groups))
    hide = "".join(f"#col-g{i}:not(:checked)~.wrap .g{i}{{display:none}}" for i in range(len(groups)))
    group_row = "".join(f'<th class="{"h" if c.headline else "sec"} g{gi[c.group]} grp">'
                        f'{e(c.group) if c.key in first else ""}</th>' for c in board.columns)
    head = "".join(_head(c, gi[c.group]) for c in board.columns)
    body = "".join(f'<tr><td class="model">{e(r.model)}</td>{_score_cells(r, board.decided)}'
                   + "".join(_value_cell(r.cells.get(c.key), c, gi[c.group], problems.get((c.task, r.model), ""))
                             for c in board.columns) + "</tr>" for r in board.rows)
    # the checkboxes are siblings before .wrap: the CSS rules (~) show or hide columns without a script
    return (f'<div class="board"><style>{hide}</style><span class="toggles">columns:</span>{toggles}'
            '<input type="checkbox" id="col-sec"><label for="col-sec">secondary metrics</label>'
            '<div class="wrap" id="board-wrap"><table id="leaderboard"><thead>'
            f'<tr class="groups"><th class="model"></th><th class="score"></th><th></th>{group_row}</tr>'
            f'<tr><th class="model">model</th><th class="score" title="{e(RANK_DEFINITION)}; {e(RANK_CI_DEFINITION)}">'
            f'score<small>rank [95% CI]</small></th><th title="{e(VS_NEXT_DEFINITION)}">vs next<small>Δ [95% CI]</small>'
            f'</th>{head}</tr></thead><tbody class="measured">{body}</tbody></table></div></div>')


def board_legend(board: Leaderboard) -> str:
    return (f'<p class="legend"><b>Values</b> in percent; <b>[low, high]</b> {e(CI_DEFINITION)}; <b>n</b> = '
            f"scored/samples, errored and unscored samples counted (never folded into a 0), reasons on hover and "
            f"below; <b>{MISSING}</b> = not run. <b>score</b>: {e(RANK_DEFINITION)}. <b>vs next</b>: "
            f"{e(VS_NEXT_DEFINITION)}. <b>Bars</b>: the value on 0-100, the tick at chance ({e(CHANCE_DEFINITION)}). "
            f"<b>{e(LOWER_DEFINITION)}</b>. <b>Greyed</b>: {e(UNDECIDED_DEFINITION)}. Hover a column for its "
            "definition; tick a box above the table to show secondary metrics.</p>")


def metrics_legend(board: Leaderboard) -> str:
    """Every metric the board's results hold (sample verdicts show them all), once per meaning."""
    meanings: dict[str, dict[str, list[str]]] = {}
    for row in board.rows:
        for task, r in sorted(row.results.items()):
            for metric in r.metrics:
                definition = metric_definition(metric, r.metric_docs)
                tasks = meanings.setdefault(metric_label(metric), {}).setdefault(definition, [])
                if task not in tasks:
                    tasks.append(task)
    terms = [(m if len(by) == 1 else f"{m} ({', '.join(tasks)})", definition)
             for m, by in sorted(meanings.items()) for definition, tasks in by.items()]
    return ('<dl class="metrics"><dt>score (rank)</dt><dd>' + e(RANK_DEFINITION) + "; " + e(RANK_CI_DEFINITION)
            + "</dd><dt>vs next</dt><dd>" + e(VS_NEXT_DEFINITION) + "</dd><dt>chance</dt><dd>"
            + e(CHANCE_DEFINITION) + "</dd><dt>not ranked</dt><dd>" + e(UNDECIDED_DEFINITION) + "</dd>"
            + "".join(f"<dt>{e(term)}</dt><dd>{e(definition)}</dd>" for term, definition in terms) + "</dl>")


def _plain_cell(cell: Cell | None) -> str:
    if cell is None or cell.value is None:
        return f"<td>{MISSING}</td>"
    ci = f'<span class="ci">{e(ci_text(cell))}</span>' if ci_text(cell) else ""
    return f'<td><span class="v">{e(fmt_pct(cell.value))}</span>{ci}{_counts(cell)}</td>'


def published_table(table: PublishedTable) -> str:
    """Our rows in the benchmark's columns (value, CI, n), then its published rows in their own marked section."""
    bench = table.benchmark
    width = len(bench.columns) + 1
    head = "".join(f"<th>{e(c.label)}</th>" for c in bench.columns)
    measured = ""
    if table.measured:
        measured = (f'<tbody class="measured"><tr class="section measured"><td colspan="{width}">Measured here — '
                    f"value, 95% CI, n = scored/samples</td></tr>"
                    + "".join(f'<tr><td class="model">{e(model)}</td>'
                              + "".join(_plain_cell(cells.get(c.key)) for c in bench.columns) + "</tr>"
                              for model, cells in table.measured.items()) + "</tbody>")
    reported = ""
    if table.published:
        reported = (f'<tbody class="reported"><tr class="section"><td colspan="{width}">Reported by {e(bench.title)} '
                    "— published reference numbers, not measured here (no n, no CI)</td></tr>"
                    + "".join(f'<tr class="reported"><td class="model"><span class="badge">reported</span>'
                              f'{e(row.get("model", ""))} <small>'
                              f'({" · ".join(e(label) + ": " + e(row.get(k, "")) for k, label in bench.info)})'
                              "</small></td>"
                              + "".join(f"<td>{e(reported_text(row.get(c.key, ''), c))}</td>" for c in bench.columns)
                              + "</tr>" for row in table.published) + "</tbody>")
    return (f'<div class="wrap"><table class="published" id="published-{e(bench.name)}"><thead><tr>'
            f'<th class="model">model</th>{head}</tr></thead>{measured}{reported}</table></div>'
            f'<p class="sub">{e(bench.note)} ✗ = reported as unable to do the task.</p>')
