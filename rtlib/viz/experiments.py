"""The widget convention: experiments are pure functions registered with ranges.

An interactive experiment is ``result = experiment(**params)`` plus a ``plot(result)``
that returns a matplotlib figure.  Registering it with its parameter ranges lets

- :func:`show_experiment` build the sliders (a notebook cell is one line),
- the benchmark (``make bench``) time every experiment at its defaults and at each
  range end against the 200 ms bar, and
- the tests sweep the ranges.

Run headless (CI, ``nbclient``), a widget cell still computes and draws its default
result, so the code behind every widget is exercised.

Example::

    @experiment("feel_delay", plot=plot_delay, delay_ms=Param(200, 0, 3000, 50, unit="ms"))
    def feel_delay(delay_ms):
        ...

Used in: every notebook with a widget.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any, Callable

from rtlib.validate import check_number


@dataclass(frozen=True)
class Param:
    """A numeric parameter with its allowed closed range ``[low, high]``."""

    default: float
    low: float
    high: float
    step: float | None = None
    label: str = ""
    unit: str = ""
    integer: bool = False

    def __post_init__(self):
        if not self.low <= self.default <= self.high:
            raise ValueError(f"default {self.default!r} is outside [{self.low}, {self.high}]")

    def check(self, name: str, value: Any) -> Any:
        number = check_number(name, value, self.low, self.high, self.unit)
        if self.integer and not number.is_integer():
            raise ValueError(f"{name} must be an integer in [{self.low:g}, {self.high:g}]{self._u()}, got {value!r}")
        return int(number) if self.integer else value

    def ends(self) -> list:
        return [self.low, self.high]

    def _u(self) -> str:
        return f" {self.unit}" if self.unit else ""


@dataclass(frozen=True)
class Choice:
    """A parameter that takes one of a fixed set of options."""

    default: Any
    options: tuple
    label: str = ""

    def __post_init__(self):
        if self.default not in self.options:
            raise ValueError(f"default {self.default!r} is not one of {self.options!r}")

    def check(self, name: str, value: Any) -> Any:
        if value not in self.options:
            raise ValueError(f"{name} must be one of {list(self.options)!r}, got {value!r}")
        return value

    def ends(self) -> list:
        return list(self.options)


@dataclass
class Experiment:
    """A registered experiment: a pure function, its parameters and its plot."""

    name: str
    func: Callable[..., Any]
    params: dict[str, Param | Choice]
    plot: Callable[[Any], Any] | None = None
    doc: str = ""
    notebook: str = ""

    def validate(self, **kwargs) -> dict:
        """Fill defaults and check every value against its range (``ValueError`` names it)."""
        unknown = set(kwargs) - set(self.params)
        if unknown:
            raise ValueError(f"{self.name}: unknown parameter(s) {sorted(unknown)}; known: {sorted(self.params)}")
        values = {}
        for pname, spec in self.params.items():
            values[pname] = spec.check(pname, kwargs.get(pname, spec.default))
        return values

    def __call__(self, **kwargs):
        return self.func(**self.validate(**kwargs))

    def defaults(self) -> dict:
        return {k: p.default for k, p in self.params.items()}

    def range_points(self) -> list[dict]:
        """The defaults, then each parameter at each end of its range (others at default)."""
        points = [self.defaults()]
        for pname, spec in self.params.items():
            for v in spec.ends():
                point = {**self.defaults(), pname: v}
                if point not in points:
                    points.append(point)
        return points


REGISTRY: dict[str, Experiment] = {}


def experiment(name: str, *, plot: Callable | None = None, notebook: str = "", **params):
    """Decorator: register ``func`` as experiment ``name`` with ``params`` (``Param``/``Choice``)."""

    def register(func):
        missing = [p for p in params if p not in func.__code__.co_varnames[: func.__code__.co_argcount + func.__code__.co_kwonlyargcount]]
        if missing:
            raise ValueError(f"experiment {name}: {func.__name__} takes no parameter(s) {missing}")
        exp = Experiment(name, func, dict(params), plot, (func.__doc__ or "").strip(), notebook)
        REGISTRY[name] = exp
        func.experiment = exp
        return func

    return register


def get_experiment(name: str) -> Experiment:
    """Look an experiment up by name (importing the library modules that register them)."""
    if name not in REGISTRY:
        load_all()
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"no experiment named {name!r}; known: {sorted(REGISTRY)}") from None


def load_all() -> dict[str, Experiment]:
    """Import every ``rtlib`` module so that all experiments are registered."""
    import importlib
    import pkgutil

    import rtlib

    for mod in pkgutil.walk_packages(rtlib.__path__, "rtlib."):
        if mod.name.startswith(("rtlib.cli", "rtlib.live")) or mod.name.endswith("__main__"):
            continue
        importlib.import_module(mod.name)
    return REGISTRY


def decimals_for(spec: Param) -> int:
    """How many decimals a slider readout needs for ``spec``: the fewest that show its
    step, its ends and its default exactly (2600 kbit/s reads "2600", 0.05 reads "0.05")."""
    values = [spec.step or (spec.high - spec.low) / 100, spec.low, spec.high, spec.default]
    for d in range(7):
        if all(abs(v * 10 ** d - round(v * 10 ** d)) < 1e-6 * max(1.0, abs(v) * 10 ** d) for v in values):
            return d
    return 6


def readout_format(spec: Param) -> str:
    """The slider's readout format (a d3-format string, as ipywidgets takes it): fixed-point
    with :func:`decimals_for` decimals, never the exponent notation ``.3g`` gives (2.60e+3)."""
    return "d" if spec.integer else f".{decimals_for(spec)}f"


# A slider is 300 px wide in JupyterLab; its label (at its natural width) and readout come
# out of that, and a long label left the track a few pixels or none at all: a drag then
# had nothing to move along, and the browser sent no number (NaN) on release.  A slider is
# made wide enough for its label plus a track of SLIDER_TRACK_PX.
SLIDER_WIDTH_PX = 300        # ipywidgets' default (--jp-widgets-inline-width)
SLIDER_TRACK_PX = 160        # the least track a slider keeps beside its label
SLIDER_READOUT_PX = 96       # the readout and the margins, measured in JupyterLab 4
LABEL_PX_PER_CHAR = 7.5      # the widest label measured there: 7.45 px a character at 13 px


def slider_width_px(description: str) -> int:
    """The width of a slider labelled ``description``: the default 300 px, wider when the
    label would leave the track under :data:`SLIDER_TRACK_PX`."""
    label = math.ceil(LABEL_PX_PER_CHAR * len(description))
    return max(SLIDER_WIDTH_PX, label + SLIDER_READOUT_PX + SLIDER_TRACK_PX)


def _widget_for(pname: str, spec):
    import ipywidgets as w

    desc = spec.label or pname
    style = {"description_width": "initial"}
    if isinstance(spec, Choice):
        return w.Dropdown(options=list(spec.options), value=spec.default, description=desc, style=style)
    if spec.unit:
        desc = f"{desc} [{spec.unit}]"
    width = slider_width_px(desc)
    layout = w.Layout(width=f"{width}px") if width > SLIDER_WIDTH_PX else w.Layout()
    if spec.integer:
        return w.IntSlider(
            value=int(spec.default), min=int(spec.low), max=int(spec.high), step=int(spec.step or 1),
            description=desc, style=style, continuous_update=False, layout=layout,
        )
    return w.FloatSlider(
        value=spec.default, min=spec.low, max=spec.high, step=spec.step or (spec.high - spec.low) / 100,
        description=desc, style=style, continuous_update=False, readout_format=readout_format(spec),
        layout=layout,
    )


def freeze_long_lived() -> None:
    """Move every object alive now out of the garbage collector's sight.

    Modules, caches and precomputed results live as long as the kernel.  Without
    this, a full collection that scans them can land in a slider move and cost a
    few hundred milliseconds (measured by ``make bench``: single redraws up to
    0.9 s with collection on, 0.17 s with these objects frozen).
    """
    import gc

    gc.collect()
    gc.freeze()


def figure_bundle(fig) -> dict:
    """A figure as a display bundle (PNG plus a text fallback), drawn once at its dpi
    (see :func:`rtlib.viz.widgets.figure_png`)."""
    from rtlib.viz.widgets import figure_png, png_bundle

    title = fig.axes[0].get_title() if fig.axes else ""
    return png_bundle(figure_png(fig), title)


def step_size(spec: Param) -> float:
    """One step of a slider: its ``step``, or a hundredth of its range if it has none."""
    return spec.step or (spec.high - spec.low) / 100


def step_value(spec: Param | Choice, value, direction: int):
    """``value`` moved one step (``direction`` +1 or -1) as the control would move it, or
    None past either end (a dropdown wraps around, as the browser's next option does)."""
    if isinstance(spec, Choice):
        options = list(spec.options)
        return options[(options.index(value) + direction) % len(options)] if value in options else None
    step = step_size(spec)
    moved = value + direction * step
    if moved < spec.low - 1e-9 * step or moved > spec.high + 1e-9 * step:
        return None
    return int(round(moved)) if spec.integer else round(moved, decimals_for(spec) + 3)


# A dropdown with this few options has all of them drawn ahead, nearest first: a learner
# steps through a handful of options one after another, and an option whose figure must
# be laid out afresh (a legend or tick labels of another width) can take the helper
# process longer to draw than a learner takes to look at the figure before it.
CHOICE_AHEAD_MAX = 6


def slider_ends(spec: Param) -> list:
    """The two values a slider stops at: ``low`` and the last step at or below ``high``."""
    if not spec.step:
        return [spec.low, spec.high]
    n = int((spec.high - spec.low) / spec.step + 1e-9)
    top = spec.low + n * spec.step
    if spec.integer:
        return [int(round(spec.low)), int(round(top))]
    d = decimals_for(spec) + 3
    return [round(spec.low, d), round(top, d)]


#: How many steps PageUp/PageDown moves a slider (noUiSlider's ``keyboardPageMultiplier``,
#: which ipywidgets' sliders use).
PAGE_STEPS = 5


def page_value(spec: Param, value, direction: int):
    """``value`` moved :data:`PAGE_STEPS` steps, stopping at the end (as PageUp/PageDown moves it)."""
    v = value
    for _ in range(PAGE_STEPS):
        nxt = step_value(spec, v, direction)
        if nxt is None:
            break
        v = nxt
    return v


def neighbours(exp: Experiment, values: dict, previous: dict | None) -> list[dict]:
    """The values one step away from ``values``, most likely next first: the control the
    learner moved last, onward in the same direction and then back; at the start (no
    control moved yet), the first slider both ways (the first control if there is no
    slider).  A dropdown of at most :data:`CHOICE_AHEAD_MAX` options: after those, its
    other options, nearest first.  A slider the learner has moved: after those, the values
    a PageUp/PageDown would reach (:data:`PAGE_STEPS` away, onward first; *before* the
    single steps if the last move was such a jump), then its two ends, the one ahead first
    (a drag across the range, or Home/End, stops there).  What
    :class:`rtlib.viz.widgets.Redrawer` draws ahead."""
    moved = [k for k in exp.params if previous is not None and k in previous and previous[k] != values.get(k)]
    sliders = [k for k, spec in exp.params.items() if isinstance(spec, Param)]
    names = moved[:1] or sliders[:1] or list(exp.params)[:1]
    out = []

    def add(name, v):
        candidate = {**values, name: v}
        if v is not None and v != values[name] and candidate not in out:
            out.append(candidate)

    for name in names:
        spec = exp.params[name]
        slider_moved = bool(moved) and isinstance(spec, Param)
        direction = -1 if slider_moved and values[name] < previous[name] else 1
        pages = [page_value(spec, values[name], d) for d in (direction, -direction)] if slider_moved else []
        jumped = slider_moved and abs(values[name] - previous[name]) >= (PAGE_STEPS - 0.5) * step_size(spec)
        if jumped:
            for v in pages:
                add(name, v)
        steps = len(spec.options) - 1 if isinstance(spec, Choice) and len(spec.options) <= CHOICE_AHEAD_MAX else 1
        for k in range(1, steps + 1):
            for d in (direction, -direction):
                v = values[name]
                for _ in range(k):
                    v = step_value(spec, v, d) if v is not None else None
                add(name, v)
        if slider_moved:  # (not for untouched pages: Run All stays light)
            for v in pages + slider_ends(spec)[::-direction]:  # the end ahead first
                add(name, v)
    return out


def show_experiment(exp: str | Experiment, **overrides):
    """Display sliders for an experiment and draw its result; returns the widget box.

    ``overrides`` set initial values (checked against the ranges).  The default result
    is computed and drawn at once, so a headless run still executes the experiment.
    In a kernel, later control changes are drawn by :class:`rtlib.viz.widgets.Redrawer`:
    off the message handler, coalesced (a drag leaves no backlog), errors shown in the box.
    """
    import ipywidgets as w
    from IPython.display import display

    from rtlib.viz.widgets import (KERNEL, Redrawer, drawing_ahead_enabled, drawing_ahead_in_process, error_html,
                                    in_running_kernel)

    if isinstance(exp, str):
        exp = get_experiment(exp)
    if exp.plot is None:
        raise ValueError(f"experiment {exp.name} has no plot function to show")
    start = exp.validate(**overrides)
    controls = {}
    for pname, spec in exp.params.items():
        ctl = _widget_for(pname, spec)
        ctl.value = start[pname]
        controls[pname] = ctl
    out = w.Output()
    # What the figure shows (hidden; the browser test reads it) and why it could not draw.
    drawn = w.HTML(layout=w.Layout(display="none"))
    drawn.add_class("rtlib-experiment-drawn")
    error = w.HTML()
    error.add_class("rtlib-experiment-error")

    def show(bundle):
        # One assignment of the widget's outputs (rather than capturing display() calls)
        # swaps the figure without flicker and without output-capture messages.
        out.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    def set_drawn(text):
        drawn.value = html.escape(text)

    def set_error(text):
        if error.value != error_html(text):
            error.value = error_html(text)

    # An experiment of the library can be drawn ahead by name in the helper process.
    by_name = exp.func.__module__.startswith("rtlib.") and REGISTRY.get(exp.name) is exp
    redrawer = Redrawer(exp.plot, show, set_drawn, set_error, compute=lambda values: exp(**values),
                        neighbours=lambda values, previous: neighbours(exp, values, previous),
                        ahead_name=exp.name if by_name else None, ahead_module=exp.func.__module__)

    def on_change(*_):
        redrawer.request({k: c.value for k, c in controls.items()})

    freeze_long_lived()
    KERNEL.register()
    if by_name and drawing_ahead_enabled() and drawing_ahead_in_process() and in_running_kernel():
        from rtlib.viz.ahead import ahead_process

        ahead_process().start()  # it imports rtlib while the notebook runs
    for ctl in controls.values():
        ctl.observe(on_change, names="value")
    box = w.VBox([w.HBox(list(controls.values()), layout=w.Layout(flex_flow="row wrap")), out, error, drawn])
    box.add_class("rtlib-experiment")  # how the browser test finds every widget on a page
    box.add_class(f"rtlib-experiment-{exp.name}")
    box.redrawer = redrawer
    display(box)
    redrawer.request({k: c.value for k, c in controls.items()}, wait=True)
    return box
