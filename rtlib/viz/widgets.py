"""The redraw machinery behind :func:`rtlib.viz.show_experiment`: fast, and no backlog.

A slider move in JupyterLab costs more than the experiment: the kernel draws the
figure, encodes a PNG and sends it; the browser decodes and paints it.  Measured in
a real browser (``make bench``, ``benchmarks/bench_browser.py``), two things made a
step slow, and both are fixed here once for every experiment:

- **more pixels than shown.**  Widgets were saved at the 120 dpi save resolution;
  :func:`figure_png` renders at the figure's own dpi, as the inline backend shows
  static figures, with the fastest zlib level.  (Laying out once and cropping to the
  tight box was tried: measuring the tight box costs what the second pass did.)
- **a queue of stale values.**  A drag or a held arrow key sends one value after
  another; drawing each in turn in the kernel's message handler leaves a backlog,
  and the figure for the final value arrives only after all the intermediate ones.
  A :class:`Redrawer` coalesces: the handler only records the latest values; one
  worker thread draws, and when it finishes it draws whatever is latest then.  At
  most one stale draw is ever in flight.

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
import threading
import traceback
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


def in_running_kernel() -> bool:
    """True inside a Jupyter kernel (where redraws go to the worker thread)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def figure_png(fig) -> bytes:
    """``fig`` as PNG bytes: the house style's tight box, at the figure's own dpi (what the
    inline backend shows for static figures; the 120 dpi save resolution costs 44 % more
    pixels per redraw), fastest zlib level (the bytes only cross the loopback)."""
    buf = io.BytesIO()
    with _DRAW_LOCK:
        fig.savefig(buf, format="png", dpi=fig.dpi, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def png_bundle(png: bytes, title: str = "") -> dict:
    """PNG bytes as a display bundle (PNG plus a text fallback)."""
    return {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": f"<Figure: {title}>"}


def render(plot: Callable[[], Any]) -> dict:
    """Call ``plot()`` (returns a figure), close it in pyplot at once, return its bundle.

    Closing first keeps the figure out of pyplot's list while it is drawn, so the
    inline backend can never show it as a stray figure below whatever cell runs.
    """
    import matplotlib.pyplot as plt

    with _DRAW_LOCK:
        fig = plot()
        plt.close(fig)
        title = fig.axes[0].get_title() if fig.axes else ""
        return png_bundle(figure_png(fig), title)


class Redrawer:
    """Keeps a figure area showing ``plot(values)`` for the latest ``values``, coalescing.

    ``show`` receives a display bundle, ``drawn`` the values it shows (JSON), ``error``
    an error text ("" when none).
    """

    def __init__(self, plot: Callable[[dict], Any], show: Callable[[dict], None],
                 drawn: Callable[[str], None], error: Callable[[str], None]):
        self._plot, self._show, self._drawn, self._error = plot, show, drawn, error
        self._lock = threading.Lock()
        self._pending: dict | None = None
        self._busy = False
        self.draws = 0  # how many figures were drawn (a drag draws far fewer than it sends)

    def request(self, values: dict, *, wait: bool | None = None) -> None:
        """Show ``values`` as soon as possible; while a draw is in flight, only the latest waits.

        ``wait`` (default: not in a running kernel) draws at once in this thread.
        """
        if wait is None:
            wait = not in_running_kernel()
        if wait:
            self._draw(values)
            return
        with self._lock:
            self._pending = dict(values)
            if self._busy:
                return
            self._busy = True
        _executor().submit(self._drain)

    def _drain(self) -> None:
        while True:
            with self._lock:
                values, self._pending = self._pending, None
                if values is None:
                    self._busy = False
                    return
            try:
                self._draw(values)
            except Exception:  # noqa: BLE001 - shown in the widget by _draw; keep draining
                pass

    def _draw(self, values: dict) -> None:
        try:
            bundle = render(lambda: self._plot(values))
        except Exception as exc:
            self._error(f"{type(exc).__name__}: {exc}\n\nat {values}\n\n" + traceback.format_exc(limit=-3))
            raise
        self.draws += 1
        self._show(bundle)
        self._drawn(json.dumps(values, sort_keys=True, default=str))
        self._error("")


def error_html(text: str) -> str:
    """The widget's error line: empty when all is well."""
    if not text:
        return ""
    return ('<pre style="color:#b00;white-space:pre-wrap;margin:0">'
            "This widget could not draw its figure:\n" + html.escape(text) + "</pre>")
