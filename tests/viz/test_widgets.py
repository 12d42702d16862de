"""The redraw machinery: coalescing without backlog, errors shown, layouts reused only when they fit."""

from __future__ import annotations

import io
import threading
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

import rtlib.viz  # noqa: E402,F401  (the house style)
from rtlib.viz.experiments import load_all  # noqa: E402
from rtlib.viz.widgets import LayoutMemo, Redrawer, figure_png  # noqa: E402


@pytest.fixture(autouse=True)
def _ahead_without_settling(monkeypatch):
    """Tests call _draw_ahead right after a request; the wait for values to settle is tested apart."""
    from rtlib.viz import widgets

    monkeypatch.setattr(widgets, "SETTLE_BEFORE_AHEAD_S", 0.0)


def _two_panels(top: float, title: str = "t", ylabel: str = "y [1]"):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(6, 3), layout="constrained")
    for ax in (ax1, ax2):
        ax.plot([0, 1], [0, top])
        ax.set_xlabel("time [s]")
    ax1.set_ylabel("rate [kbit/s]")
    ax2.set_title(title)
    ax2.set_ylabel(ylabel)
    plt.close(fig)
    return fig


def _size(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size


def _inside(extents, size, slack_px: float = 1.0) -> bool:
    w, h = size
    return all(x0 >= -slack_px and y0 >= -slack_px and x1 <= w + slack_px and y1 <= h + slack_px
               for x0, y0, x1, y1 in extents)


def _disjoint(a, b) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


# A y label three lines tall: the right panel needs room to its left, where the left panel is.
WIDE_LABEL = "queueing delay\nat the bottleneck\n[ms]"


def test_same_figure_twice_reuses_the_layout_and_gives_the_same_pixels():
    memo = LayoutMemo()
    first = figure_png(_two_panels(10), memo)
    second = figure_png(_two_panels(10), memo)
    assert (memo.layouts, memo.reused) == (1, 1)
    assert first == second


def test_reused_layout_matches_a_full_layout_of_the_same_figure():
    memo = LayoutMemo()
    figure_png(_two_panels(10), memo)
    reused = figure_png(_two_panels(12), memo)
    assert memo.reused == 1
    full = figure_png(_two_panels(12))
    a = np.asarray(Image.open(io.BytesIO(reused)).convert("L"), dtype=int)
    b = np.asarray(Image.open(io.BytesIO(full)).convert("L"), dtype=int)
    assert a.shape == b.shape
    assert np.mean(a != b) < 0.01  # same layout; at most a few anti-aliased pixels differ


def test_a_part_that_grows_gets_a_new_layout_and_stays_inside_and_apart():
    memo = LayoutMemo()
    figure_png(_two_panels(10), memo)
    png = figure_png(_two_panels(10, ylabel=WIDE_LABEL), memo)
    assert memo.layouts == 2 and memo.reused == 0
    assert _inside(memo.last_extents, _size(png))
    left, right = memo.last_extents[:2]
    assert _disjoint(left, right)


def test_growth_check_is_what_keeps_parts_apart(monkeypatch):
    """With the check disabled, the same growth overlaps the panels: the guard can fail."""
    monkeypatch.setattr(LayoutMemo, "fits", lambda self, extents: True)
    memo = LayoutMemo()
    figure_png(_two_panels(10), memo)
    figure_png(_two_panels(10, ylabel=WIDE_LABEL), memo)
    assert memo.reused == 1
    left, right = memo.last_extents[:2]
    assert not _disjoint(left, right)


def test_a_different_shape_is_laid_out_afresh():
    memo = LayoutMemo()
    figure_png(_two_panels(10), memo)
    fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
    ax.plot([0, 1])
    plt.close(fig)
    figure_png(fig, memo)
    assert memo.layouts == 2 and memo.reused == 0


def _next_value(spec):
    if hasattr(spec, "options"):
        options = list(spec.options)
        return options[(options.index(spec.default) + 1) % len(options)]
    step = spec.step or (spec.high - spec.low) / 100
    value = spec.default + step if spec.default + step <= spec.high else spec.default - step
    return int(value) if spec.integer else value


@pytest.mark.parametrize("name", sorted(n for n, e in load_all().items() if e.plot is not None))
def test_one_slider_step_draws_every_part_inside_the_image(name):
    """Each experiment: default, then one step of its first control, as a learner's first move."""
    exp = load_all()[name]
    first = next(iter(exp.params))
    memo = LayoutMemo()
    for values in (exp.defaults(), {**exp.defaults(), first: _next_value(exp.params[first])}):
        fig = exp.plot(exp(**values))
        plt.close(fig)
        png = figure_png(fig, memo)
        assert _inside(memo.last_extents, _size(png)), f"{name} at {values}: a part lies outside the image"
    assert memo.layouts + memo.reused == 2


def test_redrawer_coalesces_a_burst_and_ends_on_the_last_value():
    shown, drawn, errors = [], [], []
    gate = threading.Event()

    def plot(values):
        gate.wait(5)
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, values["x"]])
        return fig

    r = Redrawer(plot, shown.append, drawn.append, errors.append)
    for x in range(20):
        r.request({"x": x}, wait=False)
    gate.set()
    deadline = time.monotonic() + 20
    while (not drawn or drawn[-1] != '{"x": 19}') and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    assert drawn[-1] == '{"x": 19}'
    assert r.draws <= 2  # the first value, then only the latest: no backlog
    assert errors and errors[-1] == ""


def test_redrawer_shows_an_error_instead_of_a_figure():
    shown, drawn, errors = [], [], []

    def plot(values):
        raise ValueError("loss must be in [0, 1]")

    r = Redrawer(plot, shown.append, drawn.append, errors.append)
    with pytest.raises(ValueError):
        r.request({"loss": 2}, wait=True)
    assert not shown and "loss must be in [0, 1]" in errors[-1]


def _tiny(values):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, values["x"]])
    return fig


def test_a_value_shown_before_is_shown_again_without_drawing():
    shown, drawn, errors = [], [], []
    r = Redrawer(_tiny, shown.append, drawn.append, errors.append)
    for x in (1, 2, 1, 2):
        r.request({"x": x}, wait=True)
    assert (r.draws, r.reused) == (2, 2)
    assert shown[2] is shown[0] and shown[3] is shown[1]
    assert drawn == ['{"x": 1}', '{"x": 2}', '{"x": 1}', '{"x": 2}']


def test_kept_figures_are_bounded_and_the_oldest_goes_first():
    r = Redrawer(_tiny, lambda b: None, lambda d: None, lambda e: None, cache_size=2)
    for x in (1, 2, 3, 1):  # 1 was pushed out by 3: drawn again
        r.request({"x": x}, wait=True)
    assert (r.draws, r.reused) == (4, 0)
    r.request({"x": 3}, wait=True)
    assert r.reused == 1
    with pytest.raises(ValueError, match="cache_size must be an integer in \\[0, 1000\\]"):
        Redrawer(_tiny, print, print, print, cache_size=-1)


def test_a_browser_float_finds_the_figure_of_its_value():
    from rtlib.viz.widgets import value_key

    assert value_key({"p": 0.1 + 0.2}) == value_key({"p": 0.3})
    assert value_key({"p": -0.0}) == value_key({"p": 0.0})
    assert value_key({"p": 0.3}) != value_key({"p": 0.31})


def test_drawing_ahead_makes_the_next_step_a_figure_already_drawn():
    computed = []

    def compute(values):
        computed.append(values["x"])
        return values

    r = Redrawer(_tiny, lambda b: None, lambda d: None, lambda e: None, compute=compute,
                 neighbours=lambda v, prev: [{"x": v["x"] + 1}, {"x": v["x"] - 1}])
    r.request({"x": 5}, wait=True)
    r._draw_ahead()
    assert r.ahead == 2 and computed == [5, 6, 4]
    r.request({"x": 6}, wait=True)
    assert (r.draws, r.reused) == (1, 1) and computed == [5, 6, 4]


def test_drawing_ahead_yields_to_a_request_and_keeps_what_it_computed():
    r = None
    computed = []

    def compute(values):
        computed.append(values["x"])
        if values["x"] == 6:  # the learner moves while the neighbour is being computed
            r.request({"x": 9}, wait=False)  # (the widget is busy: it only waits)
        return values

    shown_values = []
    r = Redrawer(_tiny, lambda b: None, shown_values.append, lambda e: None, compute=compute,
                 neighbours=lambda v, prev: [{"x": v["x"] + 1}, {"x": v["x"] - 1}])
    r.request({"x": 5}, wait=True)
    r._draw_ahead()
    assert r.ahead == 0  # it stopped before plotting 6 ...
    assert shown_values[-1] == '{"x": 9}'  # ... and drew the request at once
    assert computed[:3] == [5, 6, 9]
    from rtlib.viz.widgets import _executor

    _executor().submit(lambda: None).result(10)  # (after 9 it draws 9's neighbours: let it finish)
    r.request({"x": 6}, wait=True)
    assert computed.count(6) == 1  # 6 was computed once: kept for the step that came


def test_drawing_ahead_is_silent_on_errors_and_the_step_shows_them():
    errors = []

    def compute(values):
        if values["x"] > 5:
            raise ValueError("x must be in [0, 5]")
        return values

    r = Redrawer(_tiny, lambda b: None, lambda d: None, errors.append, compute=compute,
                 neighbours=lambda v, prev: [{"x": v["x"] + 1}])
    r.request({"x": 5}, wait=True)
    r._draw_ahead()
    assert errors == [""] and r.ahead == 0
    with pytest.raises(ValueError):
        r.request({"x": 6}, wait=True)
    assert "x must be in [0, 5]" in errors[-1]


def test_a_new_offset_text_never_meets_a_kept_title():
    """The title keeps its last place only while no y offset text ("1e7") reaches it."""
    title = "a long title that spans the whole width of the axes above"

    def fig_for(scale):
        fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
        ax.plot([0, 1, 2], [0, 2 * scale, 3 * scale])
        ax.set_title(title)
        ax.set_xlabel("time [s]")
        ax.set_ylabel("rate [bit/s]")
        plt.close(fig)
        return fig

    memo = LayoutMemo()
    figure_png(fig_for(1), memo)
    figure_png(fig_for(1e7), memo)
    assert memo.layouts == 2  # the offset text appeared under the kept title: laid out again
    *_, title_box, _left, _right, offset_box = memo.last_extents
    assert offset_box != (0.0, 0.0, 0.0, 0.0) and _disjoint(title_box, offset_box)


def test_drawing_ahead_for_one_widget_yields_to_a_step_on_another():
    from rtlib.viz.widgets import _executor

    other_shown = []
    other = Redrawer(_tiny, lambda b: None, other_shown.append, lambda e: None)

    def compute(values):
        if values["x"] == 6 and not other_shown:
            other.request({"x": 1}, wait=False)  # a step on another widget arrives meanwhile
        return values

    r = Redrawer(_tiny, lambda b: None, lambda d: None, lambda e: None, compute=compute,
                 neighbours=lambda v, prev: [{"x": v["x"] + 1}, {"x": v["x"] - 1}])
    r.request({"x": 5}, wait=True)
    r._draw_ahead()
    assert r.ahead == 0  # it stopped at the phase boundary ...
    for _ in range(3):  # ... the other widget's step is drawn next, then drawing ahead resumes
        _executor().submit(lambda: None).result(10)
    assert other_shown == ['{"x": 1}']
    assert r.ahead == 2


def test_drawing_ahead_waits_while_a_cell_runs_and_can_be_switched_off(monkeypatch):
    from rtlib.viz import widgets

    r = Redrawer(_tiny, lambda b: None, lambda d: None, lambda e: None,
                 neighbours=lambda v, prev: [{"x": v["x"] + 1}])
    r.request({"x": 5}, wait=True)
    monkeypatch.setattr(widgets.KERNEL, "registered", True)
    monkeypatch.setattr(widgets.KERNEL, "running", True)  # Run All is still going
    monkeypatch.setattr(widgets, "QUIET_BEFORE_AHEAD_S", 30.0)  # (its retry stays far away)
    r._draw_ahead()
    assert r.ahead == 0
    monkeypatch.setattr(widgets.KERNEL, "running", False)
    monkeypatch.setattr(widgets.KERNEL, "idle_since", time.monotonic() - 60)
    r._draw_ahead()
    assert r.ahead == 1
    monkeypatch.setenv("RTLIB_DRAW_AHEAD", "0")
    assert not widgets.drawing_ahead_enabled()
    submitted = []
    monkeypatch.setattr(widgets, "_executor", lambda: type("E", (), {"submit": lambda self, f: submitted.append(f)})())
    r._schedule_ahead()
    assert submitted == []


def test_drawing_ahead_waits_until_the_values_settle(monkeypatch):
    """A held key or a drag sends value after value: neighbours of a passing value are not drawn."""
    from rtlib.viz import widgets

    monkeypatch.setattr(widgets, "SETTLE_BEFORE_AHEAD_S", 30.0)  # (its retry stays far away)
    r = Redrawer(_tiny, lambda b: None, lambda d: None, lambda e: None,
                 neighbours=lambda v, prev: [{"x": v["x"] + 1}])
    r.request({"x": 5}, wait=True)
    r._draw_ahead()
    assert r.ahead == 0
    r._last_request_s -= 60
    r._draw_ahead()
    assert r.ahead == 1
