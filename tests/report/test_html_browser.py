"""The HTML page in headless Chromium: the table renders, and a <script> planted in model output never runs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from omnibench.report import write_report
from tests.report.test_report import result, write_run, write_stream_run

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium")
                 if p and Path(p).exists()), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (Debian package: chromium)")

# would leave a visible trace in the DOM if it ran: a changed title and an element with id "pwned"
PLANTED = "<script>document.title='pwned';document.body.insertAdjacentHTML('beforeend','<p id=\"pwned\">x</p>')</script>"


def chromium(page: Path, profile: Path, *extra: str, page_url: str | None = None) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
             f"--user-data-dir={profile}"]
    return subprocess.run([CHROMIUM, *flags, *extra, page_url or page.as_uri()], capture_output=True, text=True,
                          timeout=120)


def test_chromium_runs_scripts_in_this_mode(tmp_path):
    """Control: the same planted script does run in a page that does not escape it, so the next test can fail."""
    page = tmp_path / "control.html"
    page.write_text(f"<!doctype html><html><head><title>t</title></head><body>{PLANTED}</body></html>")
    dom = chromium(page, tmp_path / "profile", "--dump-dom").stdout
    assert '<p id="pwned">x</p>' in dom


def test_page_renders_its_tables_and_planted_scripts_stay_text(tmp_path):
    run = write_stream_run(tmp_path / "r", PLANTED, 3, text=PLANTED)
    write_run(run, [result("synth_pa", PLANTED, 0.5, n_samples=3), result("synth_pa", "honest-model", 0.25),
                    result("synth_pt", "honest-model", 0.75, headline="silence")])
    page = write_report([run], tmp_path / "board", title="browser check")["html"]
    # the planted model's samples load from their file beside the page (strict-dynamic lets the page's script load it)
    dom = chromium(page, tmp_path / "profile", "--dump-dom", "--virtual-time-budget=5000",
                   page_url=page.as_uri() + "#task=synth_pa").stdout
    assert '<table id="leaderboard">' in dom and "honest-model" in dom and "25.00" in dom and "75.00" in dom
    assert dom.count("<tr><td class=\"model\">") >= 2                       # both measured rows rendered
    assert dom.count('<section class="s"') == 3                              # loaded from samples/*.js
    assert "<svg" in dom and 'class="window"' in dom                         # a timeline was drawn
    assert '<p id="pwned">' not in dom and "<title>browser check</title>" in dom   # the element, not the text
    assert "&lt;script&gt;document.title" in dom                             # shown as text, not parsed


def test_page_screenshot_is_not_blank(tmp_path):
    run = write_run(tmp_path / "r", [result("synth_pa", "a", 0.5), result("synth_pa", "b", 0.25)])
    page = write_report([run], tmp_path / "board")["html"]
    shot = tmp_path / "page.png"
    chromium(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,800", "--hide-scrollbars")
    assert shot.exists() and shot.stat().st_size > 5_000
    pil = pytest.importorskip("PIL.Image")
    colours = pil.open(shot).convert("L").getextrema()
    assert colours[0] < 100 < colours[1]                                     # dark text on a light page


MEASURE = """<script>window.addEventListener('load',function(){
var vw=document.documentElement.clientWidth,wrap=document.getElementById('board-wrap');
var r=function(el){var b=el.getBoundingClientRect();return {left:b.left,right:b.right,top:b.top,bottom:b.bottom,
width:b.width,height:b.height};};
var seen=function(el){return getComputedStyle(el).display!=='none';};
var heads=Array.prototype.filter.call(wrap.querySelectorAll('thead tr:last-child th'),seen);
var out={vw:vw,docWidth:document.documentElement.scrollWidth,wrap:r(wrap),overflowX:getComputedStyle(wrap).overflowX,
scrollable:wrap.scrollWidth>wrap.clientWidth,
headline:Array.prototype.map.call(wrap.querySelectorAll('thead tr:last-child th.h'),function(th){
return {text:th.textContent,rect:r(th),shown:seen(th)};}),
secondary:Array.prototype.filter.call(wrap.querySelectorAll('thead tr:last-child th.sec'),seen).length,
cells:Array.prototype.map.call(wrap.querySelectorAll('tbody td'),function(td){return r(td).width;})};
wrap.scrollLeft=wrap.scrollWidth;
out.lastTh=r(heads[heads.length-1]);out.modelTd=r(wrap.querySelector('tbody td.model'));
out.sections=Array.prototype.map.call(document.querySelectorAll('section.s:not([hidden])'),r);
var pre=document.createElement('pre');pre.id='measure';pre.textContent=JSON.stringify(out);document.body.appendChild(pre);
});</script>"""


def wide_board(tmp_path: Path) -> Path:
    """Thirty tasks, two metrics each, a long model name: wider than any screen."""
    tasks = [f"synth_task_{i:02d}" for i in range(30)]
    results = [result(t, m, 0.5, extra={"precision": 0.25}, n_errors=1) for t in tasks
               for m in ("a-model-with-a-rather-long-name-v2.5-instruct", "short")]
    run = write_stream_run(tmp_path / "r", "short", 3)
    write_run(run, results + [result("synth_pa", "short", 1.0, n_samples=3)])
    return write_report([run], tmp_path / "board")["html"]


def measured(page: Path, profile: Path, width: int, fragment: str = "", *, show_secondary: bool = False,
             shot: Path | None = None) -> dict:
    import html
    import json

    copy = page.with_name(f"measure{width}.html")
    text = page.read_text(encoding="utf-8")
    head, _, rest = text.partition('<meta http-equiv="Content-Security-Policy"')
    text = head + rest.split(">", 1)[1]                                     # the copy lets the probe run
    if show_secondary:                                                      # as if the reader ticked the box
        text = text.replace('<input type="checkbox" id="col-sec">', '<input type="checkbox" id="col-sec" checked>')
    copy.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = chromium(copy, profile, "--dump-dom", f"--window-size={width},900", "--virtual-time-budget=5000",
                   page_url=copy.as_uri() + fragment).stdout
    if shot is not None:
        chromium(page, profile, f"--screenshot={shot}", f"--window-size={width},900", "--hide-scrollbars")
    return json.loads(html.unescape(dom.split('<pre id="measure">')[1].split("</pre>")[0]))


@pytest.mark.parametrize("width", [1280, 1920])
def test_board_scrolls_inside_its_container_with_a_sticky_model_column(tmp_path, width):
    m = measured(wide_board(tmp_path), tmp_path / "profile", width, "#task=synth_pa", show_secondary=True)
    assert m["vw"] <= width and m["docWidth"] <= m["vw"], "the page itself must not scroll sideways"
    assert m["wrap"]["right"] <= m["vw"] and m["overflowX"] == "auto" and m["scrollable"]
    assert m["lastTh"]["right"] <= m["wrap"]["right"] + 1                   # the last column is reachable
    assert abs(m["modelTd"]["left"] - m["wrap"]["left"]) <= 2                # the model column stays put
    assert m["sections"] and all(s["right"] <= m["vw"] for s in m["sections"])


def test_every_headline_column_of_the_main_job_board_is_visible_at_1280(tmp_path):
    """At 1280 px 10 of 21 metric columns were visible, labels wrapped to 6 lines, and an in-cell error
    stretched its column past the edge. Now: every headline on screen without scrolling, short heads."""
    from tests.report.board_fixture import write_main_job_like_runs

    runs = write_main_job_like_runs(tmp_path / "runs", logs=False)
    page = write_report(runs, tmp_path / "board")["html"]
    shot = tmp_path / "board-1280.png"
    m = measured(page, tmp_path / "profile", 1280, shot=shot)
    from omnibench import registry
    from omnibench.cli import BOARD_TASKS

    heads = m["headline"]
    assert len(heads) == len(registry.resolve_tasks(BOARD_TASKS)) >= 11 and all(h["shown"] for h in heads)
    off = [h["text"] for h in heads if h["rect"]["left"] < m["wrap"]["left"] or h["rect"]["right"] > m["wrap"]["right"]]
    assert not off, f"headline columns off screen at 1280 px: {off}"
    assert not m["scrollable"] and m["docWidth"] <= m["vw"]
    assert max(h["rect"]["height"] for h in heads) <= 80                   # task, metric, chance: a few lines
    assert max(m["cells"]) <= 140                                           # the long error is a tooltip, not text
    assert m["secondary"] == 0                                              # collapsed until asked for
    from omnibench.report.tables import SECONDARY_METRICS

    secondary = sum(len(SECONDARY_METRICS.get(t, ())) for t in registry.resolve_tasks(BOARD_TASKS))
    assert measured(page, tmp_path / "profile", 1280, show_secondary=True)["secondary"] == secondary == 9
    assert shot.exists() and shot.stat().st_size > 20_000                   # saved for a person to look at


def test_sample_files_of_a_main_job_sized_report_load_from_file_urls(tmp_path):
    """The page was 24.8 MB with every sample inline. Now index.html stays small and each (task, model)
    file loads on demand from file:// (fetch() of local files is blocked; <script src> is not)."""
    from omnibench import registry
    from omnibench.cli import BOARD_TASKS
    from tests.report.board_fixture import write_main_job_like_runs

    runs = write_main_job_like_runs(tmp_path / "runs", ("m4-tiny", "chatty"))   # the full sizes, talkative logs
    page = write_report(runs, tmp_path / "board")["html"]
    files = sorted((tmp_path / "board" / "samples").glob("*.js"))
    assert page.stat().st_size < 2_000_000 and len(files) == 2 * len(registry.resolve_tasks(BOARD_TASKS))
    assert max(f.stat().st_size for f in files) < 5_000_000
    assert "omnibenchSamples" not in page.read_text(encoding="utf-8").split("<script>")[0]   # no sample inline

    def shown(fragment: str) -> tuple[list[str], str]:
        dom = chromium(page, tmp_path / "profile", "--dump-dom", "--virtual-time-budget=10000",
                       page_url=page.as_uri() + fragment).stdout
        ids = [s.split("<code>")[1].split("</code>")[0] for s in dom.split("<section ")[1:]
               if 'hidden=""' not in s.split(">")[0]]
        return ids, dom.split('id="f-count">')[1].split("<")[0]

    assert shown("") == ([], "pick a task to load its samples")             # nothing loaded up front
    ids, count = shown("#task=stop_turn&model=chatty")
    assert len(ids) == 25 and ids[0] == "stop_turn-000-stop" and count.startswith("220 of 220 samples · page 1 of 9")
    ids, count = shown("#task=synth_pa&failures=1&q=CUDA")
    assert sorted(ids) == ["synth_pa-000", "synth_pa-001"] and "2 of " in count


def test_filters_in_the_page_hide_other_samples(tmp_path):
    from tests.report.test_samples import judged_run

    run = judged_run(tmp_path / "judged")
    write_stream_run(tmp_path / "stream", "streamer", 30)
    page = write_report([run, tmp_path / "stream"], tmp_path / "board", include_reported=False)["html"]

    def visible(fragment: str) -> list[str]:
        dom = chromium(page, tmp_path / "profile", "--dump-dom", "--window-size=1280,900",
                       "--virtual-time-budget=5000", page_url=page.as_uri() + fragment).stdout
        return [s.split('data-outcome="')[1].split('"')[0] + ":" + s.split('data-task="')[1].split('"')[0]
                for s in dom.split("<section ")[1:] if 'hidden=""' not in s.split(">")[0]]

    assert visible("") == []                                                 # samples load when a task is picked
    assert len(visible("#task=*")) == 25                                     # the first page of 33
    assert visible("#task=*&page=2") and len(visible("#task=*&page=2")) == 8
    assert sorted(visible("#task=omnimmi_si&failures=1")) == ["error:omnimmi_si", "fail:omnimmi_si",
                                                              "unscored:omnimmi_si"]
    assert visible("#task=*&model=streamer&failures=1") == []               # every streamer sample passed
    assert visible("#task=*&q=" + "CUDA%20out") == ["error:omnimmi_si"]
