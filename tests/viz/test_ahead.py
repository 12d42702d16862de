"""The helper process that draws figures ahead: the figure it draws is the kernel's figure."""

from __future__ import annotations

import copy
import threading
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import rtlib.viz  # noqa: E402,F401  (the house style)
from rtlib.viz.ahead import AheadProcess  # noqa: E402
from rtlib.viz.experiments import get_experiment  # noqa: E402
from rtlib.viz.widgets import LayoutMemo, Redrawer, figure_png, value_key  # noqa: E402


@pytest.fixture(scope="module")
def helper():
    proc = AheadProcess()
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(autouse=True)
def _ahead_without_settling(monkeypatch):
    """Tests call _draw_ahead right after a request; the wait for values to settle is tested apart."""
    from rtlib.viz import widgets

    monkeypatch.setattr(widgets, "SETTLE_BEFORE_AHEAD_S", 0.0)


def _wait(predicate, timeout_s=90.0):
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return predicate()


def test_a_figure_drawn_ahead_is_byte_for_byte_the_kernels(helper):
    exp = get_experiment("latency_budget")
    memo = LayoutMemo()
    base = exp.defaults()
    fig = exp.plot(exp(**base))
    plt.close(fig)
    figure_png(fig, memo)  # the widget's first figure: its layout
    pname = next(iter(exp.params))
    spec = exp.params[pname]
    values = {**base, pname: spec.default + (spec.step or 1) if spec.default < spec.high else spec.low}
    got = {}
    done = threading.Event()

    def on_done(key, png, title, memo_after, layouts_before):
        got.update(key=key, png=png, title=title, layouts=(layouts_before, memo_after.layouts))
        done.set()

    helper.want("widget", exp.func.__module__, "latency_budget", value_key(values), values, memo, on_done)
    assert done.wait(90), "the helper drew nothing"
    fig = exp.plot(exp(**values))
    plt.close(fig)
    mine = figure_png(fig, copy.deepcopy(memo))
    assert got["key"] == value_key(values)
    assert got["png"] == mine
    assert got["layouts"] == (1, 1)  # it drew into the widget's layout


def test_an_unknown_experiment_fails_quietly_and_the_helper_goes_on(helper):
    failed = helper.failed
    called = []
    helper.want("w", "rtlib.viz.experiments", "no_such_experiment", "k", {}, LayoutMemo(), lambda *a: called.append(a))
    assert _wait(lambda: helper.failed > failed)
    assert called == [] and helper.usable()


def test_a_redrawer_with_a_name_gets_its_next_step_from_the_helper(helper, monkeypatch):
    import rtlib.viz.ahead as ahead
    from rtlib.viz.experiments import neighbours

    monkeypatch.setattr(ahead, "_PROCESS", helper)
    exp = get_experiment("feel_delay")
    r = Redrawer(exp.plot, lambda b: None, lambda d: None, lambda e: None, compute=lambda v: exp(**v),
                 neighbours=lambda v, prev: neighbours(exp, v, prev), ahead_name="feel_delay",
                 ahead_module=exp.func.__module__)
    r.request(exp.defaults(), wait=True)
    r._draw_ahead()
    assert _wait(lambda: r.ahead == 2)
    step = neighbours(exp, exp.defaults(), None)[0]
    r.request(step, wait=True)
    assert (r.draws, r.reused) == (1, 1)  # drawn by the helper, not here


def test_a_step_to_the_figure_the_helper_is_drawing_waits_for_it_instead_of_drawing_it_again(helper, monkeypatch):
    import rtlib.viz.ahead as ahead
    from rtlib.viz import widgets
    from rtlib.viz.experiments import neighbours

    monkeypatch.setattr(ahead, "_PROCESS", helper)
    exp = get_experiment("feel_delay")
    shown = []
    r = Redrawer(exp.plot, shown.append, lambda d: None, lambda e: None, compute=lambda v: exp(**v),
                 neighbours=lambda v, prev: neighbours(exp, v, prev), ahead_name="feel_delay",
                 ahead_module=exp.func.__module__)
    r.request(exp.defaults(), wait=True)
    step = neighbours(exp, exp.defaults(), None)[0]
    key = value_key(step)
    sent = threading.Event()
    real_pump = helper._pump

    def pump():  # the step comes while the helper draws its figure
        real_pump()
        if helper.in_flight(r, key) is not None:
            sent.set()

    monkeypatch.setattr(helper, "_pump", pump)
    helper.want(r, exp.func.__module__, "feel_delay", key, step, r.layout, r._drawn_ahead)
    assert sent.wait(30)
    r._draw(step)
    assert (r.draws, r.reused, r.ahead) == (1, 1, 1)  # the helper's figure, not a second draw here
    assert shown[-1] == r._kept(key)
    assert helper.in_flight(r, key) is None
    # a figure the helper is not drawing is drawn here at once, as before
    monkeypatch.setattr(widgets, "HELPER_WAIT_S", 60.0)
    other = neighbours(exp, exp.defaults(), None)[1]
    t0 = time.monotonic()
    r._draw(other)
    assert r.draws == 2 and time.monotonic() - t0 < 30


def test_a_helper_that_stops_wakes_whoever_waits_for_it():
    proc = AheadProcess()
    done = threading.Event()
    proc._jobs[0] = ("k", print, 0, "owner", done)
    assert proc.in_flight("owner", "k") is done and proc.in_flight("other", "k") is None
    proc.stop()
    assert done.is_set() and proc.in_flight("owner", "k") is None


def test_a_dead_helper_leaves_the_widgets_to_draw_ahead_themselves():
    proc = AheadProcess()
    proc.start()
    proc.stop()
    assert not proc.usable()
    called = []
    proc.want("w", "rtlib.quality.delay_feel", "feel_delay", "k", {}, LayoutMemo(), lambda *a: called.append(a))
    time.sleep(0.3)
    assert called == []


def test_the_helper_names_its_kernel(monkeypatch):
    from rtlib.viz import ahead

    monkeypatch.setattr(ahead.sys, "argv", ["ipykernel_launcher.py", "-f", "/run/kernel-1.json"])
    assert ahead._kernel_ident() == ["--for", "/run/kernel-1.json"]
    monkeypatch.setattr(ahead.sys, "argv", ["ipykernel_launcher.py", "--f=/run/kernel-2.json"])
    assert ahead._kernel_ident() == ["--for", "/run/kernel-2.json"]
    monkeypatch.setattr(ahead.sys, "argv", ["pytest"])
    assert ahead._kernel_ident() == []


def _library_experiments():
    from rtlib.viz.experiments import load_all

    return sorted(n for n, e in load_all().items() if e.plot is not None and e.func.__module__.startswith("rtlib."))


@pytest.mark.parametrize("name", _library_experiments())
def test_every_experiment_drawn_ahead_is_the_kernels_figure(helper, name):
    """The helper is another process (another hash seed, its own imports): an experiment
    whose figure depends on either (set order, import-time state) would show a learner two
    different figures for one value."""
    from rtlib.viz.experiments import neighbours

    exp = get_experiment(name)
    memo = LayoutMemo()
    fig = exp.plot(exp(**exp.defaults()))
    plt.close(fig)
    figure_png(fig, memo)
    values = neighbours(exp, exp.defaults(), None)[0]
    got, done = {}, threading.Event()

    def on_done(key, png, title, memo_after, layouts_before):
        got["png"] = png
        done.set()

    helper.want("test", exp.func.__module__, name, value_key(values), values, memo, on_done)
    assert done.wait(120), f"{name}: the helper drew nothing"
    fig = exp.plot(exp(**values))
    plt.close(fig)
    assert got["png"] == figure_png(fig, copy.deepcopy(memo)), f"{name}: the helper's figure differs"


def test_wants_around_a_touched_widget_come_first_and_untouched_pages_top_down():
    proc = AheadProcess()
    proc._proc = object()  # (no process: nothing is sent, the order is what is kept)
    memo = LayoutMemo()
    for widget in ("top", "middle", "bottom"):  # after Run All, nobody touched anything yet
        proc.want(widget, "m", widget, f"{widget}+1", {}, memo, print, urgent=False)
    proc.want("middle", "m", "middle", "middle+2", {}, memo, print, urgent=True)  # the learner steps here
    order = [w[3] for w in reversed(proc._wanted)]  # the order they would be drawn
    assert order == ["middle+2", "top+1", "middle+1", "bottom+1"]
