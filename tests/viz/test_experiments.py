import base64

import matplotlib.pyplot as plt
import pytest

from rtlib.viz import Choice, Param, REGISTRY, audio_players, experiment, label_axes, new_figure
from rtlib.viz.experiments import load_all


def _plot(result):
    fig, ax = new_figure()
    ax.plot(result)
    return fig


@experiment("_test_square", plot=_plot, n=Param(5, 1, 50, 1, unit="points", integer=True),
            shape=Choice("square", ("square", "cube")))
def _square(n, shape):
    return [i ** (2 if shape == "square" else 3) for i in range(n)]


def test_registered_experiment_validates_ranges():
    exp = REGISTRY["_test_square"]
    assert exp() == [0, 1, 4, 9, 16]
    assert exp(n=3, shape="cube") == [0, 1, 8]
    with pytest.raises(ValueError, match=r"n must be in \[1, 50\] points, got 51"):
        exp(n=51)
    with pytest.raises(ValueError, match="n must be an integer"):
        exp(n=2.5)
    with pytest.raises(ValueError, match="shape must be one of"):
        exp(shape="tesseract")
    with pytest.raises(ValueError, match="unknown parameter"):
        exp(m=1)


def test_range_points_cover_defaults_and_ends():
    pts = REGISTRY["_test_square"].range_points()
    assert pts[0] == {"n": 5, "shape": "square"}
    assert {"n": 1, "shape": "square"} in pts and {"n": 50, "shape": "square"} in pts
    assert {"n": 5, "shape": "cube"} in pts


def test_show_experiment_draws_default_headless():
    from rtlib.viz import show_experiment

    box = show_experiment("_test_square", n=7)
    slider, out = box.children[0].children[0], box.children[1]
    assert slider.value == 7
    first = out.outputs[0]["data"]["image/png"]
    assert base64.b64decode(first).startswith(b"\x89PNG")
    slider.value = 9  # a slider move redraws through the registered function
    assert len(out.outputs) == 1 and out.outputs[0]["data"]["image/png"] != first


def test_every_registered_experiment_runs_at_its_range_ends():
    for name, exp in load_all().items():
        for point in exp.range_points():
            result = exp(**point)
            if exp.plot is not None:
                plt.close(exp.plot(result))


def test_axis_labels_need_units():
    fig, ax = new_figure()
    label_axes(ax, "delay [ms]", "MOS (1-5)")
    with pytest.raises(ValueError, match="xlabel 'delay' has no unit"):
        label_axes(ax, "delay", "MOS (1-5)")
    plt.close(fig)


def test_audio_players_render_html():
    import numpy as np

    row = audio_players({"tone": (np.sin(np.arange(800) / 3), 8000), "silence": (np.zeros(400), 8000)})
    html = row._repr_html_()
    assert html.count("<audio") == 2 and "tone" in html and "data:audio/wav;base64," in html
    with pytest.raises(ValueError, match="rate_hz"):
        audio_players({"x": (np.zeros(10), 0)})


def test_step_value_moves_like_the_control_and_stops_at_the_ends():
    from rtlib.viz.experiments import Choice, Param, step_value

    p = Param(0.3, 0.0, 0.5, 0.1)
    assert step_value(p, 0.3, 1) == 0.4 and step_value(p, 0.3, -1) == 0.2
    assert step_value(p, 0.5, 1) is None and step_value(p, 0.0, -1) is None
    assert step_value(Param(3, 1, 9, 2, integer=True), 3, 1) == 5
    c = Choice("b", ("a", "b", "c"))
    assert step_value(c, "c", 1) == "a" and step_value(c, "a", -1) == "c"  # a dropdown wraps


def test_neighbours_follow_the_last_move_first():
    from rtlib.viz.experiments import Choice, Experiment, Param, neighbours

    exp = Experiment("t", lambda a, b, c: None,
                     {"c": Choice("x", ("x", "y")), "a": Param(5, 0, 10, 1), "b": Param(1, 0, 2, 1)})
    start = {"a": 5, "b": 1, "c": "x"}
    # at the start: the first slider, both ways
    assert neighbours(exp, start, None) == [{"a": 6, "b": 1, "c": "x"}, {"a": 4, "b": 1, "c": "x"}]
    # "a" moved up: onward, back, then its ends, the one ahead first
    assert neighbours(exp, start, {"a": 4, "b": 1, "c": "x"}) == [
        {"a": 6, "b": 1, "c": "x"}, {"a": 4, "b": 1, "c": "x"}, {"a": 10, "b": 1, "c": "x"}, {"a": 0, "b": 1, "c": "x"}]
    # "b" moved down: onward (down) first, then back up (its ends are those two already)
    assert neighbours(exp, {"a": 5, "b": 1, "c": "x"}, {"a": 5, "b": 2, "c": "x"}) == [
        {"a": 5, "b": 0, "c": "x"}, {"a": 5, "b": 2, "c": "x"}]
    # at an end only the way back is left (a step, a page), and the other end; a dropdown wraps
    assert neighbours(exp, {"a": 10, "b": 1, "c": "x"}, {"a": 9, "b": 1, "c": "x"}) == [
        {"a": 9, "b": 1, "c": "x"}, {"a": 5, "b": 1, "c": "x"}, {"a": 0, "b": 1, "c": "x"}]
    assert neighbours(exp, {"a": 5, "b": 1, "c": "y"}, start) == [{"a": 5, "b": 1, "c": "x"}]


def test_neighbours_include_the_page_jumps_and_put_them_first_after_a_jump():
    from rtlib.viz.experiments import PAGE_STEPS, Experiment, Param, neighbours, page_value

    assert PAGE_STEPS == 5
    spec = Param(5, 0, 20, 1)
    assert page_value(spec, 5, 1) == 10 and page_value(spec, 18, 1) == 20 and page_value(spec, 2, -1) == 0
    exp = Experiment("t", lambda a: None, {"a": spec})
    # one step up from 4: the steps, then the page jumps (onward first), then the far end
    assert [v["a"] for v in neighbours(exp, {"a": 5}, {"a": 4})] == [6, 4, 10, 0, 20]
    # a PageUp from 0 landed on 5: the next PageUp first, then back, then the steps
    assert [v["a"] for v in neighbours(exp, {"a": 5}, {"a": 0})] == [10, 0, 6, 4, 20]
    # untouched page: one step either way only (Run All stays light)
    assert [v["a"] for v in neighbours(exp, {"a": 5}, None)] == [6, 4]


def test_slider_ends_are_the_values_the_slider_stops_at():
    from rtlib.viz.experiments import Param, slider_ends

    assert slider_ends(Param(0.5, 0.05, 1.95, 0.05)) == [0.05, 1.95]
    assert slider_ends(Param(3, 1, 10, 2, integer=True)) == [1, 9]  # 10 is not a step from 1
    assert slider_ends(Param(0.3, 0.0, 1.0)) == [0.0, 1.0]
    from rtlib.viz.experiments import get_experiment, step_value

    exp = get_experiment("echo_nlms_step")  # the value a drag to the left end leaves is the end
    spec = exp.params["step"]
    v = spec.default
    while step_value(spec, v, -1) is not None:
        v = step_value(spec, v, -1)
    assert slider_ends(spec)[0] == v


def test_a_small_dropdown_has_every_option_drawn_ahead_nearest_first():
    from rtlib.viz.experiments import CHOICE_AHEAD_MAX, Choice, Experiment, neighbours

    exp = Experiment("t", lambda c: None, {"c": Choice("a", ("a", "b", "c", "d", "e"))})
    got = [v["c"] for v in neighbours(exp, {"c": "a"}, None)]
    assert got == ["b", "e", "c", "d"]  # one step either way (wrapping), then two
    got = [v["c"] for v in neighbours(exp, {"c": "b"}, {"c": "a"})]
    assert got == ["c", "a", "d", "e"]
    many = tuple(range(CHOICE_AHEAD_MAX + 1))
    exp = Experiment("t", lambda c: None, {"c": Choice(0, many)})
    assert [v["c"] for v in neighbours(exp, {"c": 0}, None)] == [1, CHOICE_AHEAD_MAX]  # a long list: one step
