"""The live dashboard: a call's samples in, a figure redrawn off the call's loop, impairment sliders.

Used in: notebooks/12_live_call.ipynb.
"""

from __future__ import annotations

import base64
import html
import math
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from rtlib.viz.dashboard.figure import DashboardFigure
from rtlib.viz.dashboard.report import report_png
from rtlib.viz.dashboard.series import sample_dict

#: The sliders beside the live dashboard: parameter -> (label, low, high, step, unit).
SLIDERS = {
    "delay_ms": ("delay", 0.0, 400.0, 10.0, "ms"),
    "jitter_ms": ("jitter", 0.0, 100.0, 5.0, "ms"),
    "loss": ("loss", 0.0, 0.5, 0.01, "fraction"),
    "burst_len": ("mean burst", 1.0, 10.0, 0.5, "packets"),
    "rate_kbps": ("rate cap (0 = none)", 0.0, 3000.0, 50.0, "kbit/s"),
}


def _live_title(samples: list[dict], name: str) -> str:
    if not samples:
        return f"{name}: waiting for the first sample"
    s = samples[-1]

    def fmt(key, unit, scale=1.0, spec=".0f"):
        v = s.get(key)
        return "–" if v is None else f"{format(v * scale, spec)} {unit}"

    return (f"{name}, t = {s['t_s']:.1f} s: delay {fmt('e2e_delay_ms', 'ms')}, "
            f"{fmt('recv_kbps', 'kbit/s')}, {fmt('fps', 'fps')}")


# -- the live dashboard ---------------------------------------------------------------------

def _blit_redrawer():
    from rtlib.viz.widgets import _DRAW_LOCK, Redrawer, png_bundle

    class BlitRedrawer(Redrawer):
        """The house redrawer (coalescing, off the caller's thread, errors shown), drawing by blit:
        ``plot(values)`` returns a :class:`DashboardFigure` whose :meth:`~DashboardFigure.png` is used."""

        def _draw(self, values: dict) -> None:
            import traceback

            try:
                with _DRAW_LOCK:
                    dash = self._plot(values)
                    title = dash.title.get_text()
                    if values.get("final"):
                        bundle = png_bundle(dash.png(), title)
                    else:  # a live frame: JPEG, a sixth of PNG's encoding time on the worker
                        bundle = {"image/jpeg": base64.b64encode(dash.image("jpeg")).decode("ascii"),
                                  "text/plain": f"<Figure: {title}>"}
            except Exception as exc:
                self._error(f"{type(exc).__name__}: {exc}\n\n" + traceback.format_exc(limit=-3))
                raise
            self.draws += 1
            self._show(bundle)
            self._error("")

    return BlitRedrawer


def _BlitRedrawer(*args):
    return _blit_redrawer()(*args)


class QosDashboard:
    """A live QoS dashboard for one call; ``on_sample=dash.update`` feeds it.

    ``relay`` (a :class:`rtlib.live.relay.UdpRelay`, optional) adds impairment sliders
    for ``direction`` ("forward", "backward" or "both") beside the figure.
    ``refresh_s`` is the shortest time between two redraws (samples arriving faster are
    only stored); ``duration_s`` (the call's planned length) fixes the time axis, so
    the figure's background is drawn once and each redraw only blits the lines
    (:class:`DashboardFigure` with ``live=True``: about 20 ms, against 150 ms for a full draw).
    ``show=False`` builds the widgets without displaying them (tests, benchmarks), and
    ``render=False`` never draws while the call runs (the benchmark's control case).

    The call is never waited on: :meth:`update` appends the sample and, when a redraw
    is due, hands a snapshot to the redraw worker thread and returns.
    """

    def __init__(self, relay=None, *, direction: str = "forward", name: str = "live call",
                 refresh_s: float = 0.5, duration_s: float | None = None, show: bool = True, render: bool = True,
                 sliders: Iterable[str] = ("delay_ms", "jitter_ms", "loss", "rate_kbps")):
        if direction not in ("forward", "backward", "both"):
            raise ValueError(f"direction must be 'forward', 'backward' or 'both', got {direction!r}")
        if not (isinstance(refresh_s, (int, float)) and 0.05 <= refresh_s <= 60):
            raise ValueError(f"refresh_s must be in [0.05, 60] s, got {refresh_s!r}")
        unknown = set(sliders) - set(SLIDERS)
        if unknown:
            raise ValueError(f"unknown slider(s) {sorted(unknown)}; known: {sorted(SLIDERS)}")
        self.relay, self.direction, self.name = relay, direction, name
        self.refresh_s, self.render = float(refresh_s), render
        self.samples: list[dict] = []
        self.figure = DashboardFigure(title=_live_title([], name), duration_s=duration_s, live=True)
        self._lock = threading.Lock()
        self._last_request = -math.inf
        self._last_sample_clock: float | None = None
        self._syncing = False
        self._pending_marks: dict[str, tuple[float, Any]] = {}
        self.update_s: list[float] = []  # time spent inside update() per sample (the call's share)
        self.widget, self._out, self.controls = self._build(tuple(sliders) if relay is not None else ())
        self._redrawer = _BlitRedrawer(self._plot, self._show, lambda _text: None, self._set_error)
        self._error_text = ""
        self._errors: dict[str, str] = {}
        if show:
            from IPython.display import display

            display(self.widget)
        self.refresh(wait=True)

    # widgets
    def _build(self, names: tuple[str, ...]):
        import ipywidgets as w

        out = w.Output(layout=w.Layout(min_width="560px"))
        self._error = w.HTML()
        controls: dict[str, Any] = {}
        style = {"description_width": "initial"}
        imp = None if self.relay is None else (self.relay.backward if self.direction == "backward" else self.relay.forward)
        for pname in names:
            label, low, high, step, unit = SLIDERS[pname]
            value = getattr(imp, pname)
            if pname == "rate_kbps" and value is None:
                value = 0.0
            controls[pname] = w.FloatSlider(value=float(value), min=low, max=high, step=step,
                                            description=f"{label} [{unit}]", style=style, continuous_update=False,
                                            readout_format=".2f" if step < 1 else ".0f")
        if names:
            controls["outage"] = w.ToggleButton(value=bool(imp.outage), description="outage", icon="ban",
                                                tooltip="drop every packet while pressed")
        for pname, ctl in controls.items():
            ctl.observe(lambda change, p=pname: self._on_control(p, change["new"]), names="value")
        side = [w.HTML(f"<b>impairment, {html.escape(self.direction)}</b>"), *controls.values()] if controls else []
        box = w.HBox([out, w.VBox(side)] if side else [out], layout=w.Layout(flex_flow="row wrap"))
        box.add_class("rtlib-dashboard")
        return w.VBox([box, self._error]), out, controls

    def _show(self, bundle: dict) -> None:
        self._out.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    def _set_error(self, text: str, source: str = "draw") -> None:
        """Show (or clear, with "") the error of one ``source``: "draw" (the redraw worker clears
        its own after each good draw), "control" (a slider value the relay refused) or "call"."""
        from rtlib.viz.widgets import error_html

        self._errors[source] = text
        self._error_text = "\n".join(t for t in self._errors.values() if t)
        if self._error.value != error_html(self._error_text):
            self._error.value = error_html(self._error_text)

    def _plot(self, values: dict):
        # always the latest samples: a draw that was queued earlier must not show an older state
        with self._lock:
            samples = list(self.samples)
        self.figure.draw(samples, title=_live_title(samples, self.name))
        return self.figure

    # the call's side
    def update(self, sample) -> None:
        """Store one sample (a ``StatsSample`` or dict); redraw if ``refresh_s`` has passed."""
        t0 = time.perf_counter()
        d = sample_dict(sample)
        with self._lock:
            self.samples.append(d)
            self._last_sample_clock = time.monotonic()
            due = self.render and t0 - self._last_request >= self.refresh_s
            if due:
                self._last_request = t0
        if due:
            self._redrawer.request({"n": len(self.samples)}, wait=False)
        self.update_s.append(time.perf_counter() - t0)

    __call__ = update

    def refresh(self, wait: bool = True) -> None:
        """Redraw now with every sample so far (``wait``: in this thread, before returning, as PNG)."""
        self._redrawer.request({"n": len(self.samples), "final": wait}, wait=wait)

    def finish(self, timeout_s: float = 5.0) -> None:
        """The call has ended: let a redraw in flight end, then draw the final figure here."""
        deadline = time.monotonic() + timeout_s
        while getattr(self._redrawer, "_busy", False) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.refresh(wait=True)

    @property
    def marks(self) -> list[tuple[float, str]]:
        """Where impairments changed: ``(t_s, text)`` pairs (give them to :func:`report_png`)."""
        return [(t, text) for t, text, _row in self.figure.marks]

    @property
    def spans(self) -> list[tuple[float, float, str]]:
        """Impairments switched on and off by :meth:`play`: ``(on_s, off_s, text)``."""
        return list(self.figure.spans)

    def report_png(self, path, **kwargs) -> Path:
        """The finished call's report figure, with this dashboard's markers and bands."""
        return report_png(self.samples, path, **{"title": self.name, "marks": self.marks, "spans": self.spans,
                                                 **kwargs})

    @property
    def draws(self) -> int:
        """How many figures were drawn (far fewer than samples while a call runs)."""
        return self._redrawer.draws

    def now_s(self) -> float:
        """The call's time now, estimated from the latest sample (0 before the first)."""
        with self._lock:
            if not self.samples:
                return 0.0
            return self.samples[-1]["t_s"] + (time.monotonic() - self._last_sample_clock)

    # impairments
    def mark(self, text: str, t_s: float | None = None) -> None:
        """A vertical marker at ``t_s`` (default: now in the call) on every panel."""
        from rtlib.viz.widgets import _DRAW_LOCK

        with _DRAW_LOCK:  # the redraw worker may be drawing the figure right now
            self.figure.mark(self.now_s() if t_s is None else t_s, text)

    def apply(self, direction: str | None = None, *, mark: bool = True, **params) -> None:
        """Change the relay's impairment now (``relay.set``), mark it, and move the sliders to match."""
        if self.relay is None:
            raise ValueError("this dashboard has no relay: QosDashboard(relay=...) to change impairments")
        direction = direction or self.direction
        self.relay.set(direction, **params)
        if mark:
            self.mark(describe_change(params))
        if direction == self.direction:
            self._syncing = True
            try:
                for k, v in params.items():
                    if k in self.controls:
                        self.controls[k].value = (0.0 if v is None else v) if k != "outage" else bool(v)
            finally:
                self._syncing = False

    #: a slider's steps closer together than this (s) are one change: one marker, at the first step
    SETTLE_S = 0.8

    def _on_control(self, pname: str, value) -> None:
        if self._syncing:
            return
        if pname == "rate_kbps":
            value = None if value <= 0 else float(value)
        try:
            self.apply(self.direction, mark=False, **{pname: value})
        except ValueError as exc:
            self._set_error(str(exc), "control")
            return
        self._set_error("", "control")
        self._mark_when_settled(pname, value)

    def _mark_when_settled(self, pname: str, value) -> None:
        """Mark a slider's change once it has settled: a drag or a held arrow key sends one value
        after another, and ten markers for one move would bury the figure.  The marker sits where
        the move began and names the final value.  Outside a running event loop: at once."""
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            self.mark(describe_change({pname: value}))
            return
        first_t, handle = self._pending_marks.get(pname, (self.now_s(), None))
        if handle is not None:
            handle.cancel()

        def settle():
            self._pending_marks.pop(pname, None)
            self.mark(describe_change({pname: value}), t_s=first_t)

        self._pending_marks[pname] = (first_t, loop.call_later(self.SETTLE_S, settle))

    def run_in_background(self, call):
        """Run ``call`` (a coroutine, e.g. ``run_rtlib_call(..., on_sample=dash.update)``) on the
        kernel's event loop and return at once, so the sliders answer while it runs (a cell
        that awaits a call holds the kernel: slider moves would wait until it ends).

        Returns the :class:`asyncio.Task`; when it ends the final figure is drawn and an
        error, if any, is shown under the dashboard.  ``await task`` gives the call's result.
        """
        import asyncio

        task = asyncio.ensure_future(call)

        def done(t):
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None:
                self._set_error(f"the call ended with {type(exc).__name__}: {exc}", "call")
            self.refresh(wait=False)

        task.add_done_callback(done)
        self.task = task
        return task

    async def play(self, steps: Iterable[tuple], *, direction: str | None = None) -> None:
        """Apply ``steps`` at their call times: ``(t_s, {param: value, ...})`` is one change
        (marked by a line), ``(on_s, off_s, {params on}, {params off})`` an impairment that is
        switched on and off again (marked by a shaded band, labelled with what was switched on).

        Times are on the samples' clock (the call's ``t_s``), so the marks land where
        the panels show them; run it beside the call with ``asyncio.gather``.
        """
        import asyncio

        from rtlib.viz.widgets import _DRAW_LOCK

        changes = []  # (t_s, params, what to mark: None, "line" or (off_s, text))
        for step in steps:
            if len(step) == 2:
                changes.append((float(step[0]), step[1], "line"))
            elif len(step) == 4:
                on_s, off_s, on, off = step
                if not on_s < off_s:
                    raise ValueError(f"a window's on time must come before its off time, got {on_s!r}, {off_s!r}")
                changes.append((float(on_s), on, (float(off_s), describe_change(on))))
                changes.append((float(off_s), off, None))
            else:
                raise ValueError(f"a step is (t_s, params) or (on_s, off_s, params_on, params_off), got {step!r}")
        for t_s, params, how in sorted(changes, key=lambda c: c[0]):
            while self.now_s() < t_s or not self.samples:
                await asyncio.sleep(min(0.02, max(0.005, t_s - self.now_s())))
            self.apply(direction, mark=how == "line", **params)
            if isinstance(how, tuple):
                with _DRAW_LOCK:
                    self.figure.span(self.now_s(), how[0], how[1])



def describe_change(params: dict) -> str:
    """A marker's text: ``{"loss": 0.1}`` → "loss 10 %", ``{"rate_kbps": 300}`` → "cap 300 kbit/s"."""
    parts = []
    for k, v in params.items():
        if k == "loss":
            parts.append(f"loss {100 * v:g} %")
        elif k == "rate_kbps":
            parts.append("no cap" if v is None else f"cap {v:g} kbit/s")
        elif k == "outage":
            parts.append("outage" if v else "outage over")
        elif k.endswith("_ms"):
            parts.append(f"{k[:-3]} {v:g} ms")
        else:
            parts.append(f"{k} {v}")
    return ", ".join(parts)
