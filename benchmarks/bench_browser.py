"""Widgets as a learner feels them: key press → new figure on the page, in JupyterLab.

JupyterLab on a loopback port, headless Chromium (Debian's, driven by Selenium; see
``tests/browser/lab.py``).  For every notebook with widgets: Run All (bar 30 s), then
for every experiment on the page

- **step**: one arrow-key step on its first slider (a dropdown: next option), timed in
  the page from the ``keydown`` to the ``load`` of the new figure's ``<img>``; p50,
  p95 and max over ``STEPS`` steps (bar: p95 ≤ 200 ms; goal 100 ms).  Beside it, the
  kernel's share measured outside the browser: the function, its plot and the PNG, as
  the kernel draws them (``kernel``);
- **jump**: PageUp/PageDown on the first slider (noUiSlider moves five steps): values
  that no step has drawn ahead, so the kernel computes and draws each on request; the
  worst of four is the row (the same 200 ms bar).  Each step row says how many of its
  figures were ready before the key (kept, or drawn ahead; read from the kernels'
  ``RTLIB_REDRAW_TRACE``);
- **drag**: the first slider dragged with the mouse across its whole range for 2 s,
  release → the figure for the final value (bar 300 ms);
- **held key**: the arrow key held for 2 s (a press every 40 ms), last press → the
  figure for the final value, with nothing queued behind it (bar 300 ms).

The machine's load average is in every note: on a shared 2-core machine the same
widget can take twice as long.  ``BENCH_BROWSER_RTLIB=/path`` runs the kernels (and
the kernel-side timing) on another checkout's ``rtlib``: how the "before" column
in ``RESULTS.md`` was measured.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Row

STEPS = int(os.environ.get("BENCH_BROWSER_STEPS", "8"))
STEP_BAR_MS = 200.0
RELEASE_BAR_MS = 300.0
RUN_ALL_BAR_S = 30.0

_TIMING_JS = """
if (!window.__rt) {
  window.__rt = {key: 0, up: 0, loads: []};
  document.addEventListener('keydown', () => { window.__rt.key = performance.now(); }, true);
  // A dropdown's step starts when the page sees the new option (not when WebDriver is asked).
  document.addEventListener('change', e => {
    if (e.target.tagName === 'SELECT') window.__rt.key = performance.now(); }, true);
  document.addEventListener('mouseup', () => { window.__rt.up = performance.now(); }, true);
  document.addEventListener('load', e => {
    const box = e.target.tagName === 'IMG' && e.target.closest('.rtlib-experiment');
    if (box) window.__rt.loads.push([performance.now(), box.className]);
  }, true);
  // What the kernel says it drew: a value whose figure is the very picture on the page
  // already changes no <img>, only this.
  window.__rt.drawn = [];
  new MutationObserver(records => {
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      const box = el && el.closest('.rtlib-experiment');
      if (box && el.closest('.rtlib-experiment-drawn')) window.__rt.drawn.push([performance.now(), box.className]);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


def _load() -> str:
    return "load {:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))]


def kernel_times(names: list[str], rtlib_path: str | None) -> dict[str, float]:
    """Per experiment, best of 4 single steps of its first control (function + plot + PNG),
    drawn as the widget draws them (with its layout memo when the checkout has one)."""
    script = r"""
import json, sys, time, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from rtlib.viz.experiments import Param, freeze_long_lived, load_all
try:
    from rtlib.viz.widgets import render
except ImportError:  # the code before the redraw machinery
    from rtlib.viz.experiments import figure_bundle
    def render(plot):
        fig = plot(); plt.close(fig); return figure_bundle(fig)
try:
    from rtlib.viz.widgets import LayoutMemo
except ImportError:  # the code before layout reuse
    LayoutMemo = None
ex = load_all(); freeze_long_lived()
out = {}
for name in json.loads(sys.argv[1]):
    e = ex[name]
    base = e.defaults()
    pname = next((p for p, s in e.params.items() if isinstance(s, Param)), next(iter(e.params)))
    spec = e.params[pname]
    if isinstance(spec, Param):
        step = spec.step or (spec.high - spec.low) / 100
        other = base[pname] + step if base[pname] + step <= spec.high else base[pname] - step
        other = int(other) if spec.integer else other
    else:
        options = list(spec.options)
        other = options[(options.index(base[pname]) + 1) % len(options)]
    memo = LayoutMemo() if LayoutMemo else None
    args = (memo,) if memo else ()
    render(lambda: e.plot(e(**base)), *args)
    best = 1e9
    for k in range(4):  # what a step costs in the kernel: function + plot + PNG, one step at a time
        values = {**base, pname: other} if k % 2 == 0 else base
        t0 = time.perf_counter()
        render(lambda: e.plot(e(**values)), *args)
        best = min(best, time.perf_counter() - t0)
    out[name] = best * 1000
print(json.dumps(out))
"""
    env = dict(os.environ)
    if rtlib_path:
        env["PYTHONPATH"] = rtlib_path
    res = subprocess.run([sys.executable, "-c", script, json.dumps(names)], capture_output=True, text=True,
                         env=env, timeout=900)
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-2000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def _wait_load_after(lab, name: str, t_from: float, timeout_s: float = 30) -> float:
    """The page time of the first figure load in ``name``'s box after page time ``t_from``;
    when the kernel drew the very picture already shown (no ``<img>`` changes), the time
    its drawn-values marker changed, once a second has passed with no load."""
    def seen():
        rt = lab.js("return [window.__rt.loads, window.__rt.drawn || [], performance.now()];")
        loads, drawn, now = rt
        for t, cls in loads:
            if t > t_from and f"rtlib-experiment-{name}" in cls.split():
                return t
        marks = [t for t, cls in drawn if t > t_from and f"rtlib-experiment-{name}" in cls.split()]
        if marks and now - marks[0] > 1000:
            return marks[0]
        return None
    return lab.wait_for(seen, timeout_s, f"{name}: no figure after the step", poll_s=0.02)


def _last_load_quiet(lab, name: str, t_from: float, quiet_s: float = 1.5, timeout_s: float = 60) -> float | None:
    """Wait until ``name``'s figure stops changing; the page time of its last load (None if none)."""
    deadline = time.monotonic() + timeout_s
    last, last_seen_at = None, time.monotonic()
    while time.monotonic() < deadline:
        loads = [t for t, cls in lab.js("return window.__rt.loads;")
                 if t > t_from and f"rtlib-experiment-{name}" in cls.split()]
        if loads and loads[-1] != last:
            last, last_seen_at = loads[-1], time.monotonic()
        if last is not None and time.monotonic() - last_seen_at > quiet_s:
            return last
        if last is None and time.monotonic() - last_seen_at > 20:
            return None
        time.sleep(0.05)
    return last


class Trace:
    """What the kernels did for each request (``RTLIB_REDRAW_TRACE``, see
    :func:`rtlib.viz.widgets._trace`): whether a step's figure had to be drawn for it, or
    was ready (kept, or drawn ahead while the learner looked)."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def drawn_since_mark(self) -> bool | None:
        """True if a figure was drawn on request since :meth:`mark` (or the request waited
        for the helper process to finish drawing it ahead: not ready before the key either);
        None if the kernel left no trace (a checkout without one)."""
        if not self.path.exists():
            return None
        with open(self.path) as fh:
            fh.seek(self.offset)
            events = [json.loads(line)[1] for line in fh if line.strip()]
        return None if not events else ("plotted" in events or "awaited" in events)


def step_times(lab, name: str, trace: Trace) -> list[tuple[float, bool | None]]:
    """``STEPS`` arrow-key steps (a dropdown: next option), back and forth: (ms, drawn on request)."""
    ctls = lab.controls(name)
    index = next((i for i, c in enumerate(ctls) if c["kind"] == "slider"), 0)
    times = []
    for k in range(STEPS):
        ctl = lab.controls(name)[index]
        if ctl["kind"] == "slider":
            key = "left" if ctl["now"] >= ctl["max"] else ("right" if ctl["now"] <= ctl["min"] or k % 2 == 0 else "left")
        else:
            key = "right"
        times.append(_timed_step(lab, name, trace, lambda: lab.step(name, index, key)))
    return times


def _timed_step(lab, name: str, trace: Trace, press) -> tuple[float, bool | None]:
    lab.js("window.__rt.key = 0; window.__rt.loads = []; window.__rt.drawn = [];")
    trace.mark()
    press()
    t_key = lab.wait_for(lambda: lab.js("return window.__rt.key;"), 10, "no keydown seen")
    t_fig = _wait_load_after(lab, name, t_key)
    time.sleep(0.3)
    return t_fig - t_key, trace.drawn_since_mark()


JUMPS = int(os.environ.get("BENCH_BROWSER_JUMPS", "4"))


def jump_times(lab, name: str, trace: Trace, jumps: int = JUMPS) -> list[tuple[float, bool | None]]:
    """PageUp/PageDown on the first slider (five steps at once, as noUiSlider moves): values
    no step has drawn ahead, so the kernel computes and draws each on request."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    ctls = lab.controls(name)
    if "slider" not in [c["kind"] for c in ctls]:
        return []
    index = [c["kind"] for c in ctls].index("slider")
    times, up = [], None
    for _ in range(jumps):
        ctl = lab.controls(name)[index]
        if up is None or (up and ctl["now"] >= ctl["max"]) or (not up and ctl["now"] <= ctl["min"]):
            up = ctl["max"] - ctl["now"] >= ctl["now"] - ctl["min"]
        box = lab.driver.find_element(By.CSS_SELECTOR, f".rtlib-experiment-{name}")
        handle = box.find_elements(By.CSS_SELECTOR, ".widget-slider, .widget-dropdown")[index] \
            .find_element(By.CSS_SELECTOR, ".noUi-handle")
        times.append(_timed_step(lab, name, trace,
                                 lambda: handle.send_keys(Keys.PAGE_UP if up else Keys.PAGE_DOWN)))
    return times


def drag_release(lab, name: str) -> float | None:
    """Mouse drag of the first slider across its range in 2 s; release → last figure (ms)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    box = lab.driver.find_element(By.CSS_SELECTOR, f".rtlib-experiment-{name}")
    sliders = box.find_elements(By.CSS_SELECTOR, ".widget-slider")
    if not sliders:
        return None
    handle = sliders[0].find_element(By.CSS_SELECTOR, ".noUi-handle")
    track = sliders[0].find_element(By.CSS_SELECTOR, ".noUi-target, .slider")
    width = track.size["width"]
    ctl = lab.controls(name)[[c["kind"] for c in lab.controls(name)].index("slider")]
    direction = -1 if ctl["now"] - ctl["min"] > ctl["max"] - ctl["now"] else 1
    lab.js("window.__rt.up = 0; window.__rt.loads = [];")
    moves = 20
    chain = ActionChains(lab.driver, duration=int(1000 / moves)).click_and_hold(handle)  # 20 x (50 + 50 ms) = 2 s
    for _ in range(moves):
        chain.move_by_offset(int(direction * width / moves), 0).pause(1.0 / moves)
    chain.release().perform()
    t_up = lab.js("return window.__rt.up;")
    t_last = _last_load_quiet(lab, name, t_up - 5)
    return None if t_last is None else max(0.0, t_last - t_up)


def held_key(lab, name: str) -> float | None:
    """Arrow key pressed every 40 ms for 2 s on the first slider; last press → last figure (ms)."""
    ctls = lab.controls(name)
    if "slider" not in [c["kind"] for c in ctls]:
        return None
    index = [c["kind"] for c in ctls].index("slider")
    ctl = ctls[index]
    key = "left" if ctl["now"] - ctl["min"] > ctl["max"] - ctl["now"] else "right"
    lab.js("window.__rt.loads = [];")
    t_end = time.monotonic() + 2.0
    while time.monotonic() < t_end:
        lab.step(name, index, key)
        time.sleep(0.04)
    t_key = lab.js("return window.__rt.key;")
    t_last = _last_load_quiet(lab, name, 0)
    return None if t_last is None else max(0.0, t_last - t_key)


def run() -> list[Row]:
    from tests.browser.lab import NOTEBOOKS, ROOT, BrowserUnavailable, Lab, expected_experiments, find_browser

    try:
        find_browser()
    except BrowserUnavailable as exc:
        return [Row("browser benchmark skipped", 0, "", note=str(exc))]
    rtlib_path = os.environ.get("BENCH_BROWSER_RTLIB") or None
    which = f"rtlib from {rtlib_path}" if rtlib_path else "rtlib from this checkout"
    chapters = [p for p in NOTEBOOKS if expected_experiments(json.loads(p.read_text()))]
    only = os.environ.get("BENCH_BROWSER_ONLY")
    if only:
        chapters = [p for p in chapters if any(o in p.name for o in only.split(","))]
    names = [n for p in chapters for n in expected_experiments(json.loads(p.read_text()))]
    kernel = kernel_times(names, rtlib_path)
    rows = []
    trace = Trace(Path(tempfile.mkdtemp(prefix="rtlib-bench-")) / "redraw.jsonl")
    env = {"RTLIB_REDRAW_TRACE": str(trace.path), **({"PYTHONPATH": rtlib_path} if rtlib_path else {})}
    if os.environ.get("RTLIB_DRAW_AHEAD"):  # (compare: thread, or 0 for none)
        env["RTLIB_DRAW_AHEAD"] = os.environ["RTLIB_DRAW_AHEAD"]
    with Lab(notebooks=chapters, env=env) as lab:
        for path in chapters:
            rel = str(path.relative_to(ROOT))
            load_before = _load()
            lab.open(rel)
            run_s = lab.run_all(300)
            lab.wait_for(lambda: all(b["drawn"] for b in lab.experiments()), 60, f"{rel}: widgets not drawn")
            rows.append(Row(f"{path.name}: open → Run All done", run_s, "s", bar=RUN_ALL_BAR_S, higher_is_better=False,
                            note=f"{which}; {load_before}"))
            lab.js(_TIMING_JS)
            for box in lab.experiments():
                name = box["name"]
                try:
                    rows += measure(lab, name, kernel, which, trace)
                except Exception as exc:  # noqa: BLE001 - one widget's failure is a row, not the end
                    rows.append(Row(f"{name}: not measured", 0, "", note=f"{type(exc).__name__}: {exc}"[:300]))
            lab.shutdown_kernels()
    lab.cleanup()
    return rows


def _ready_note(steps) -> str:
    known = [d for _, d in steps if d is not None]
    if not known:
        return ""
    return f"; {sum(1 for d in known if not d)} of {len(known)} figures ready before the key"


def measure(lab, name: str, kernel: dict, which: str, trace: Trace) -> list[Row]:
    """Step, jump, drag and held-key rows for experiment ``name`` on the open page."""
    rows = []
    steps = step_times(lab, name, trace)
    times = [t for t, _ in steps]
    note = (f"p50 {statistics.median(times):.0f} ms, max {max(times):.0f} ms over {len(times)} steps"
            f"{_ready_note(steps)}; kernel step (function + plot + PNG) {kernel.get(name, float('nan')):.0f} ms; "
            f"{which}; {_load()}")
    rows.append(Row(f"{name}: key → figure p95", _pct(times, 0.95), "ms", bar=STEP_BAR_MS,
                    higher_is_better=False, note=note))
    jumps = jump_times(lab, name, trace)
    if jumps:
        jt = [t for t, _ in jumps]
        rows.append(Row(f"{name}: PageUp/Down (5 steps) → figure, max", max(jt), "ms", bar=STEP_BAR_MS,
                        higher_is_better=False,
                        note=f"p50 {statistics.median(jt):.0f} ms over {len(jt)} jumps{_ready_note(jumps)}; "
                             f"{which}; {_load()}"))
    drag = drag_release(lab, name)
    if drag is not None:
        rows.append(Row(f"{name}: 2 s mouse drag, release → final figure", drag, "ms", bar=RELEASE_BAR_MS,
                        higher_is_better=False, note=f"{which}; {_load()}"))
    held = held_key(lab, name)
    if held is not None:
        rows.append(Row(f"{name}: arrow key held 2 s, last press → final figure", held, "ms",
                        bar=RELEASE_BAR_MS, higher_is_better=False, note=f"{which}; {_load()}"))
    return rows
