"""The redraw machinery behind :func:`rtlib.viz.show_experiment`: fast, and no backlog.

A slider move in JupyterLab costs more than the experiment: the kernel draws the
figure, encodes a PNG and sends it; the browser decodes and paints it.  Measured in
a real browser (``make bench``, ``benchmarks/bench_browser.py``), three things made a
step slow, and they are fixed here once for every experiment:

- **more pixels than shown.**  Widgets were saved at the 120 dpi save resolution;
  :func:`figure_png` renders at the figure's own dpi, as the inline backend shows
  static figures, with the fastest zlib level.
- **a queue of stale values.**  A drag or a held arrow key sends one value after
  another; drawing each in turn in the kernel's message handler leaves a backlog,
  and the figure for the final value arrives only after all the intermediate ones.
  A :class:`Redrawer` coalesces: the handler only records the latest values; one
  worker thread draws, and when it finishes it draws whatever is latest then.  At
  most one stale draw is ever in flight.
- **a layout per step.**  Constrained layout and the tight box each measure every
  label again, together as costly as the drawing itself.  A :class:`LayoutMemo` per
  widget reuses the last layout while every part still fits in it, and lays the
  figure out again the moment one part grows.

- **drawing what was already drawn.**  A learner steps back and forth; each value's
  figure is kept (the experiments are pure functions), and while the learner looks,
  the worker draws the values one step away, so an arrow-key step finds its figure
  ready (``Redrawer``'s ``neighbours``).  It waits until no cell runs (Run All is not
  slowed), and yields to a request on any widget between the phases of a draw
  (compute, build the figure, render it), so it delays a real request by at most one
  phase.  ``RTLIB_DRAW_AHEAD=0`` switches it off (headless runs).  A title keeps its place from the kept layout too (placing it measures
  every tick label again), guarded like every other part.

Outside a running kernel (a plain script, pytest) a redraw happens at once, in the
caller's thread, so ``slider.value = 9`` is followed by the new figure.

A failing redraw does not vanish into the kernel log: its error is shown in the
widget (``rtlib-experiment-error``), where a learner and the browser test see it.

Used by: :mod:`rtlib.viz.experiments`.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import threading
import time
import traceback
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

# One worker for every widget on the page: matplotlib's pyplot is not thread-safe, so
# draws are serialised; each widget keeps at most one pending (latest) request.
_EXECUTOR: ThreadPoolExecutor | None = None
_DRAW_LOCK = threading.RLock()


def _executor() -> ThreadPoolExecutor:
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rtlib-redraw")
    return _EXECUTOR


# Every widget's pending request, so that drawing ahead for one widget yields to a step
# on any other (the worker is shared).
_WAITING: set = set()
_WAITING_LOCK = threading.Lock()


class _KernelActivity:
    """Whether the kernel is running a cell, and since when it is idle (IPython's
    ``pre_run_cell``/``post_run_cell`` events): drawing ahead waits for a quiet kernel, so
    it never slows Run All."""

    def __init__(self):
        self.running = False
        self.idle_since = time.monotonic()
        self.registered = False

    def register(self) -> None:
        if self.registered:
            return
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            return
        shell.events.register("pre_run_cell", self._pre)
        shell.events.register("post_run_cell", self._post)
        self.registered = True

    def _pre(self, *args) -> None:
        self.running = True

    def _post(self, *args) -> None:
        self.running = False
        self.idle_since = time.monotonic()

    def quiet_for(self) -> float:
        """Seconds since the last cell ended (0 while one runs)."""
        return 0.0 if self.running else time.monotonic() - self.idle_since


KERNEL = _KernelActivity()
QUIET_BEFORE_AHEAD_S = 0.3  # how long the kernel must have been idle before drawing ahead
SETTLE_BEFORE_AHEAD_S = 0.15  # ... and since the widget's last request (a held key, a drag: not yet)
HELPER_WAIT_S = 5.0  # longest a request waits for the figure the helper process is drawing


def drawing_ahead_enabled() -> bool:
    """Drawing ahead is on unless ``RTLIB_DRAW_AHEAD=0`` (a headless run: nobody steps a slider)."""
    return os.environ.get("RTLIB_DRAW_AHEAD", "1") != "0"


def drawing_ahead_in_process() -> bool:
    """Drawing ahead uses the helper process (:mod:`rtlib.viz.ahead`) unless
    ``RTLIB_DRAW_AHEAD=thread`` keeps it in the kernel's worker thread."""
    return os.environ.get("RTLIB_DRAW_AHEAD", "1") != "thread"


def in_running_kernel() -> bool:
    """True inside a Jupyter kernel (where redraws go to the worker thread)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LayoutMemo:
    """One widget's layout, reused from draw to draw while everything still fits.

    Constrained layout measures every tick label, title and legend and moves the axes
    to make room, and the house style's tight box measures them again: together they
    cost as much as drawing the figure (40–200 ms for the course's figures, measured
    by ``make bench``).  A slider step rarely changes what needs room, so the memo
    keeps what the last full layout chose (the axes positions and the saved box) and
    the space each part then took (each axes with its labels, each figure legend and
    title).  The next figure of the same shape is drawn at those positions into that
    box with no layout pass, and its parts are measured in the same draw; if any part
    (a wider tick label, a longer title) reaches the edge of the box or overlaps a part
    it did not overlap before, the figure is laid out and saved again and the memo
    renewed.  Reuse therefore never clips a part or makes two parts collide.
    """

    def __init__(self):
        self.shape = None
        self.positions: list = []
        self.bbox_inches = None
        self.size_px: tuple[float, float] | None = None  # the kept box in pixels
        self.extents: list = []
        self.titles: list = []  # each axes' title positions, as the last layout placed them
        self.last_extents: list = []  # the parts as the latest draw placed them, in image pixels
        self.layouts = 0  # full layout passes
        self.reused = 0   # draws that reused the layout

    def fits(self, extents: list) -> bool:
        """True when the parts as now drawn still make a good figure at the kept layout:
        every part inside the kept box, and no two parts overlapping that did not before
        (0.5 px slack).  A title or label may grow into free space; it may not reach the
        edge of the picture or another panel."""
        if len(extents) != len(self.extents) or self.size_px is None:
            return False
        w, h = self.size_px
        if not all(x0 >= -0.5 and y0 >= -0.5 and x1 <= w + 0.5 and y1 <= h + 0.5 for x0, y0, x1, y1 in extents):
            return False
        n = len(extents)
        return all(_apart(extents[i], extents[j]) for i in range(n) for j in range(i + 1, n)
                   if _apart(self.extents[i], self.extents[j]))


def _apart(a, b, slack_px: float = 0.5) -> bool:
    """Two pixel boxes ``(x0, y0, x1, y1)`` do not overlap (touching is apart)."""
    return (a[2] <= b[0] + slack_px or b[2] <= a[0] + slack_px
            or a[3] <= b[1] + slack_px or b[3] <= a[1] + slack_px)


def _shape(fig) -> tuple:
    """What must match for a layout to carry over: size, dpi, and the axes grid."""
    axes = []
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        axes.append((type(ax).__name__, None if spec is None else
                     (spec.get_geometry(), spec.get_gridspec().get_geometry())))
    sup = tuple(getattr(fig, a, None) is not None for a in ("_suptitle", "_supxlabel", "_supylabel"))
    return (tuple(round(float(v), 3) for v in fig.get_size_inches()), float(fig.dpi), tuple(axes),
            len(fig.legends), sup)


def _titles(ax) -> tuple:
    return (ax.title, ax._left_title, ax._right_title)


def _extents(fig, renderer) -> list:
    """The pixel box each part of the figure takes: every axes with its labels, legends, titles."""
    boxes = [ax.get_tightbbox(renderer) for ax in fig.axes]
    boxes += [leg.get_window_extent(renderer) for leg in fig.legends]
    for name in ("_suptitle", "_supxlabel", "_supylabel"):
        text = getattr(fig, name, None)
        if text is not None:
            boxes.append(text.get_window_extent(renderer))
    boxes += [t.get_window_extent(renderer) for t in fig.texts]
    # Each title and y offset text ("1e6") apart from its axes: a kept title position
    # must not meet an offset text that has just appeared (see LayoutMemo.titles).
    for ax in fig.axes:
        boxes += [t.get_window_extent(renderer) if t.get_text() else None for t in _titles(ax)]
        off = ax.yaxis.offsetText
        boxes.append(off.get_window_extent(renderer) if off.get_visible() and off.get_text() else None)
    return [tuple(b.extents) if b is not None else (0.0, 0.0, 0.0, 0.0) for b in boxes]


class _Measure:
    """Measures the figure's parts at the end of each draw, with that draw's renderer
    (every text is then already laid out, so measuring costs little)."""

    def __init__(self, fig, tight_box: bool):
        self.fig, self.tight_box = fig, tight_box
        self.extents: list = []
        self.bbox_inches = None

    def __call__(self, event) -> None:
        if self.tight_box and self.bbox_inches is None:
            # The first draw of a layout pass is in figure coordinates: the box to crop to.
            # (Its parts are measured in the next draw, the one that renders the picture.)
            import matplotlib as mpl

            pad = mpl.rcParams["savefig.pad_inches"]
            self.bbox_inches = self.fig.get_tightbbox(event.renderer).padded(pad, pad)
            return
        self.extents = _extents(self.fig, event.renderer)

    def __enter__(self):
        self._cid = self.fig.canvas.mpl_connect("draw_event", self)
        return self

    def __exit__(self, *exc):
        self.fig.canvas.mpl_disconnect(self._cid)


def _save(fig, buf, bbox_inches) -> None:
    fig.savefig(buf, format="png", dpi=fig.dpi, bbox_inches=bbox_inches, pil_kwargs={"compress_level": 1})


def figure_png(fig, memo: LayoutMemo | None = None) -> bytes:
    """``fig`` as PNG bytes: the house style's tight box, at the figure's own dpi (what the
    inline backend shows for static figures; the 120 dpi save resolution costs 44 % more
    pixels per redraw), fastest zlib level (the bytes only cross the loopback).

    With a :class:`LayoutMemo` (one per widget), a redraw whose figure still fits the
    previous layout is drawn once, with no layout pass and no tight-box pass."""
    engine = fig.get_layout_engine()
    with _DRAW_LOCK:
        if memo is not None and memo.shape is not None and memo.shape == _shape(fig):
            in_layout = [ax.get_in_layout() for ax in fig.axes]
            auto_title = [ax._autotitlepos for ax in fig.axes]
            for ax, pos, titles in zip(fig.axes, memo.positions, memo.titles):
                ax.set_position(pos)  # (this also takes the axes out of any layout: undone below)
                # Placing a title above whatever sits on top of the axes measures both
                # axes' tick labels again (a fifth of a draw): keep the last placement.
                ax._autotitlepos = False
                for title, xy in zip(_titles(ax), titles):
                    title.set_position(xy)
            buf = io.BytesIO()
            # No layout engine at all, not even matplotlib's "none" placeholder: with any
            # engine, savefig first runs a whole draw (rendering disabled) to lay out.
            fig._layout_engine = None
            try:
                with _Measure(fig, tight_box=False) as measured:
                    _save(fig, buf, memo.bbox_inches)
            finally:
                fig._layout_engine = engine
            if memo.fits(measured.extents):
                memo.last_extents = measured.extents
                memo.reused += 1
                return buf.getvalue()
            for ax, was, auto in zip(fig.axes, in_layout, auto_title):  # a part grew: lay it out properly
                ax.set_in_layout(was)
                ax._autotitlepos = auto
        buf = io.BytesIO()
        if memo is None:
            _save(fig, buf, "tight")
            return buf.getvalue()
        # What savefig(bbox_inches="tight") does, with each step done once: a draw that runs
        # the layout engine (rendering nothing) and gives the tight box, then the one draw that
        # renders, with the layout engine off (savefig would measure the tight box again, and
        # the parts would be measured in both draws).
        with _Measure(fig, tight_box=True) as measured:
            fig.draw_without_rendering()
            fig._layout_engine = None
            try:
                _save(fig, buf, measured.bbox_inches)
            finally:
                fig._layout_engine = engine
        memo.shape = _shape(fig)
        memo.positions = [ax.get_position(original=True).frozen() for ax in fig.axes]
        memo.titles = [[t.get_position() for t in _titles(ax)] for ax in fig.axes]
        memo.bbox_inches = measured.bbox_inches
        memo.size_px = (measured.bbox_inches.width * fig.dpi, measured.bbox_inches.height * fig.dpi)
        memo.extents = memo.last_extents = measured.extents
        memo.layouts += 1
        return buf.getvalue()


def png_bundle(png: bytes, title: str = "") -> dict:
    """PNG bytes as a display bundle (PNG plus a text fallback)."""
    return {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": f"<Figure: {title}>"}


def render(plot: Callable[[], Any], memo: LayoutMemo | None = None) -> dict:
    """Call ``plot()`` (returns a figure), close it in pyplot at once, return its bundle.

    Closing first keeps the figure out of pyplot's list while it is drawn, so the
    inline backend can never show it as a stray figure below whatever cell runs.
    """
    import matplotlib.pyplot as plt

    with _DRAW_LOCK:
        fig = plot()
        plt.close(fig)
        title = fig.axes[0].get_title() if fig.axes else ""
        return png_bundle(figure_png(fig, memo), title)


class Redrawer:
    """Keeps a figure area showing ``plot(compute(values))`` for the latest ``values``.

    ``show`` receives a display bundle, ``drawn`` the values it shows (JSON), ``error``
    an error text ("" when none).  ``compute`` defaults to passing ``values`` through.

    - **Coalescing.**  While a draw is in flight, only the latest request waits.
    - **Figures kept.**  The last ``cache_size`` figures are kept by value, so a step
      back to a value already shown costs no drawing (the experiments are pure
      functions of their parameters: the same values give the same figure).
    - **Drawing ahead.**  With ``neighbours(values, previous)`` (the values one step
      away, most likely first), the worker draws them while the learner looks at the
      figure, one phase (compute, then plot) at a time, and serves any request that
      arrives at the next phase boundary.  An arrow-key step then shows a figure that
      is ready; a drag or a jump to a far value is drawn as before.
    """

    def __init__(self, plot: Callable[[Any], Any], show: Callable[[dict], None],
                 drawn: Callable[[str], None], error: Callable[[str], None], *,
                 compute: Callable[[dict], Any] | None = None,
                 neighbours: Callable[[dict, dict | None], list[dict]] | None = None,
                 cache_size: int = 16, ahead_name: str | None = None, ahead_module: str = ""):
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or not 0 <= cache_size <= 1000:
            raise ValueError(f"cache_size must be an integer in [0, 1000], got {cache_size!r}")
        self._plot, self._show, self._drawn, self._error = plot, show, drawn, error
        self._compute = compute if compute is not None else (lambda values: values)
        self._neighbours = neighbours
        self._cache_size = cache_size
        # A registered experiment's name: its figures can be drawn ahead in the helper
        # process (rtlib.viz.ahead) instead of this kernel's worker thread.
        self._ahead_name, self._ahead_module = ahead_name, ahead_module
        self._fig_lock = threading.Lock()
        self._lock = threading.Lock()
        self._pending: dict | None = None
        self._busy = False
        self._figures: OrderedDict[str, dict] = OrderedDict()  # value key -> bundle
        self._results: OrderedDict[str, Any] = OrderedDict()   # computed ahead, not yet plotted
        self._shown: dict | None = None
        self._previous: dict | None = None
        self._last_request_s = float("-inf")
        self.draws = 0  # how many figures were drawn (a drag draws far fewer than it sends)
        self.reused = 0  # requests answered with a figure already drawn (kept or drawn ahead)
        self.ahead = 0  # figures drawn ahead of a request
        self.layout = LayoutMemo()

    def request(self, values: dict, *, wait: bool | None = None) -> None:
        """Show ``values`` as soon as possible; while a draw is in flight, only the latest waits.

        ``wait`` (default: not in a running kernel) draws at once in this thread.
        """
        if wait is None:
            wait = not in_running_kernel()
        _trace("request", values)
        self._last_request_s = time.monotonic()
        if wait:
            self._draw(values)
            if in_running_kernel():
                self._schedule_ahead()
            return
        with self._lock:
            self._pending = dict(values)
            with _WAITING_LOCK:
                _WAITING.add(self)
            if self._busy:
                return
            self._busy = True
        _executor().submit(self._drain_then_ahead)

    def _drain(self) -> bool:
        """Draw pending requests until none is left (the widget is held busy); True if any was."""
        drew = False
        while True:
            with self._lock:
                values, self._pending = self._pending, None
                with _WAITING_LOCK:
                    _WAITING.discard(self)
                if values is None:
                    self._busy = False
                    return drew
            drew = True
            try:
                self._draw(values)
            except Exception:  # noqa: BLE001 - shown in the widget by _draw; keep draining
                pass

    def _drain_then_ahead(self) -> None:
        if self._drain():
            self._schedule_ahead()

    def _schedule_ahead(self, delay_s: float = 0.0) -> None:
        if self._neighbours is None or not self._cache_size or not drawing_ahead_enabled():
            return
        if delay_s <= 0:
            _executor().submit(self._draw_ahead)
            return
        timer = threading.Timer(delay_s, self._schedule_ahead)
        timer.daemon = True  # never keeps a finished kernel alive
        timer.start()

    def _waiting(self) -> bool:
        """A request waits, for this widget or any other."""
        with _WAITING_LOCK:
            return bool(_WAITING)

    def _draw_ahead(self) -> None:
        """Draw the shown values' neighbours into the kept figures, yielding to requests."""
        if KERNEL.registered and KERNEL.quiet_for() < QUIET_BEFORE_AHEAD_S:
            self._schedule_ahead(QUIET_BEFORE_AHEAD_S)  # a cell runs (Run All): not now
            return
        since = time.monotonic() - self._last_request_s
        if since < SETTLE_BEFORE_AHEAD_S:  # values still arriving: the neighbours would be stale
            self._schedule_ahead(SETTLE_BEFORE_AHEAD_S - since)
            return
        if self._ask_helper():
            return
        with self._lock:
            if self._busy or self._shown is None:
                return
            self._busy = True
        import matplotlib.pyplot as plt

        yielded = False
        try:
            for values in self._neighbours(self._shown, self._previous):
                key = value_key(values)
                if self._kept(key) is not None:
                    continue
                if self._waiting():
                    yielded = True
                    break
                try:
                    if key not in self._results:
                        self._results[key] = self._compute(values)
                        while len(self._results) > 4:
                            self._results.popitem(last=False)
                    if self._waiting():
                        yielded = True
                        break
                    with _DRAW_LOCK:
                        fig = self._plot(self._results[key])
                        plt.close(fig)
                    if self._waiting():  # (the figure is dropped: building it is the cheap part)
                        yielded = True
                        break
                    with _DRAW_LOCK:
                        png = figure_png(fig, self.layout)
                    del self._results[key]
                    self._keep(key, png_bundle(png, fig.axes[0].get_title() if fig.axes else ""))
                    self.ahead += 1
                except Exception:  # noqa: BLE001 - drawing ahead is silent; a request shows the error
                    break
        finally:
            drew = self._drain()
        if drew or yielded:  # new values to draw around, or another widget's step came first
            self._schedule_ahead()

    def _ask_helper(self) -> bool:
        """Hand the neighbours to the helper process (:mod:`rtlib.viz.ahead`); False when this
        widget cannot use it (no registered name, switched off, helper down)."""
        if self._ahead_name is None or self._shown is None or not drawing_ahead_in_process():
            return False
        from rtlib.viz.ahead import ahead_process

        helper = ahead_process()
        if not helper.usable():
            return False
        helper.forget(self)  # wants for values the learner has moved away from
        touched = self._previous is not None
        wanted = self._neighbours(self._shown, self._previous)
        # (urgent wants are drawn newest first, the others in the order asked)
        for values in (reversed(wanted) if touched else wanted):
            key = value_key(values)
            if self._kept(key) is None:
                helper.want(self, self._ahead_module, self._ahead_name, key, values, self.layout,
                            self._drawn_ahead, urgent=touched)
        return True

    def _drawn_ahead(self, key: str, png: bytes, title: str, memo: LayoutMemo, layouts_before: int) -> None:
        """A figure from the helper process; adopt its layout if it had to lay out afresh."""
        with _DRAW_LOCK:
            if memo.layouts > layouts_before:
                if self.layout.layouts != layouts_before:
                    return  # both laid out afresh meanwhile: keep this widget's own layout
                counts = (self.layout.layouts + 1, self.layout.reused)
                self.layout.__dict__.update(memo.__dict__)
                self.layout.layouts, self.layout.reused = counts
        self._keep(key, png_bundle(png, title))
        self.ahead += 1

    def _kept(self, key: str) -> dict | None:
        with self._fig_lock:
            bundle = self._figures.get(key)
            if bundle is not None:
                self._figures.move_to_end(key)
            return bundle

    def _keep(self, key: str, bundle: dict) -> None:
        with self._fig_lock:
            self._figures[key] = bundle
            self._figures.move_to_end(key)
            while len(self._figures) > self._cache_size:
                self._figures.popitem(last=False)

    def _from_helper(self, key: str, values: dict) -> dict | None:
        """The figure for ``key`` if the helper process is drawing it right now, once it is in.

        A step that comes before the figure drawn ahead for it is ready would otherwise be
        drawn a second time here, from the start, while the helper finishes the same figure
        on the other core: the two draws share the machine, and each takes longer."""
        if self._ahead_name is None:
            return None
        from rtlib.viz import ahead

        helper = ahead._PROCESS
        event = helper.in_flight(self, key) if helper is not None else None
        if event is None:
            return None
        _trace("awaited", values)
        event.wait(HELPER_WAIT_S)
        return self._kept(key)

    def _draw(self, values: dict) -> None:
        _trace("start", values)
        key = value_key(values)
        bundle = self._kept(key)
        if bundle is None:
            bundle = self._from_helper(key, values)
        if bundle is not None:
            self.reused += 1
        else:
            def plot():
                result = self._results.pop(key) if key in self._results else self._compute(values)
                fig = self._plot(result)
                _trace("plotted", values)
                return fig

            try:
                bundle = render(plot, self.layout)
            except Exception as exc:
                self._error(f"{type(exc).__name__}: {exc}\n\nat {values}\n\n" + traceback.format_exc(limit=-3))
                raise
            self.draws += 1
            if self._cache_size:
                self._keep(key, bundle)
        _trace("drawn", values)
        self._show(bundle)
        self._drawn(json.dumps(values, sort_keys=True, default=str))
        self._error("")
        if self._shown != values:
            self._previous, self._shown = self._shown, dict(values)
        _trace("sent", values)


def value_key(values: dict) -> str:
    """The key a figure is kept under: the values, with floats rounded to 9 decimals, so
    0.1 + 0.2 stepped in the browser finds the figure drawn for 0.3."""
    def norm(v):
        if isinstance(v, float):
            return round(v, 9) + 0.0  # (+ 0.0: -0.0 and 0.0 are one value)
        return v

    return json.dumps({k: norm(v) for k, v in values.items()}, sort_keys=True, default=str)


def _trace(event: str, values: dict) -> None:
    """With ``RTLIB_REDRAW_TRACE=file`` set, append ``[epoch ms, event, values]`` to it:
    how ``benchmarks/bench_browser.py`` splits a step's time between kernel and page."""
    path = os.environ.get("RTLIB_REDRAW_TRACE")
    if path:
        with open(path, "a") as fh:
            fh.write(json.dumps([time.time() * 1000, event, values], default=str) + "\n")


def error_html(text: str) -> str:
    """The widget's error line: empty when all is well."""
    if not text:
        return ""
    return ('<pre style="color:#b00;white-space:pre-wrap;margin:0">'
            "This widget could not draw its figure:\n" + html.escape(text) + "</pre>")
