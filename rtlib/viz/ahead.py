"""Drawing ahead in a second process: the next slider step's figure, ready before the key.

:class:`rtlib.viz.widgets.Redrawer` keeps every figure it drew and, while the learner
looks at one, wants the figures one step away.  Drawn in the kernel's own worker
thread, that work shares the kernel's one interpreter lock with the learner's next
request, which then waits for whatever phase of drawing ahead is in flight (a figure
render is 100–200 ms).  Here one helper process draws ahead for every widget of the
kernel, on the machine's other core, and the kernel's worker stays free for requests.

The helper (``python -m rtlib.viz.ahead``, talking pickles over its stdin and stdout)
imports the module that registers an experiment and draws it by name, with the kernel's
matplotlib settings and the widget's layout (:class:`rtlib.viz.widgets.LayoutMemo`), so a
figure drawn ahead is the figure the kernel would draw.  It holds one job at a time;
the kernel sends the newest wanted figure first (a learner who moved on makes older
wants stale).  If the helper cannot start or dies, :meth:`AheadProcess.usable` turns
False and the widgets draw ahead in their own thread as before.

Used by: :func:`rtlib.viz.show_experiment` (every notebook with a widget).
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
import threading
from typing import Any, Callable

MAX_WANTED = 64  # wants kept; beyond, the least likely are dropped


def _rc_settings() -> dict:
    """The kernel's matplotlib settings that differ from matplotlib's defaults."""
    import matplotlib as mpl

    skip = {"backend", "backend_fallback", "interactive"}
    return {k: v for k, v in mpl.rcParams.items() if k not in skip and v != mpl.rcParamsDefault.get(k)}


def _serve(inp, out) -> None:
    """The helper process: draw ``(job, name, values, rc, memo)`` jobs from ``inp`` (pickles)
    and answer on ``out``, until ``inp`` closes (the kernel is gone)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    from rtlib.viz.experiments import REGISTRY, freeze_long_lived
    from rtlib.viz.widgets import figure_png

    def send(msg):
        pickle.dump(msg, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    applied = None
    send(("ready",))
    while True:
        try:
            job_id, module, name, values, rc, memo = pickle.load(inp)
        except (EOFError, OSError, pickle.UnpicklingError):
            return
        try:
            if name not in REGISTRY:  # import only the module that registers it
                importlib.import_module(module)
                freeze_long_lived()
            if rc != applied:
                mpl.rcdefaults()
                mpl.rcParams.update(rc)
                applied = rc
            exp = REGISTRY[name]
            fig = exp.plot(exp(**values))
            plt.close(fig)
            png = figure_png(fig, memo)
            send(("ok", job_id, png, fig.axes[0].get_title() if fig.axes else "", memo))
        except Exception as exc:  # noqa: BLE001 - the kernel draws this value itself when asked
            send(("error", job_id, f"{type(exc).__name__}: {exc}"))


def main() -> None:
    """``python -m rtlib.viz.ahead [--for KERNEL]``: serve on stdin/stdout (what an
    experiment prints goes to stderr, so it cannot corrupt the answers).  ``--for`` only
    names the kernel it serves."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    _serve(sys.stdin.buffer, out)


def _kernel_ident() -> list[str]:
    """``["--for", <the kernel's connection file>]`` when this is a Jupyter kernel: the
    helper's command line then names its kernel (``ps`` shows whose it is, and a test can
    find a helper that outlived its kernel)."""
    argv = sys.argv
    for flag in ("-f", "--f"):
        if flag in argv[:-1]:
            return ["--for", argv[argv.index(flag) + 1]]
    joined = [a.split("=", 1)[1] for a in argv if a.startswith(("--f=", "-f="))]
    return ["--for", joined[0]] if joined else []


class AheadProcess:
    """One helper process drawing figures ahead for the kernel's widgets.

    ``want(owner, module, name, key, values, memo, done)`` asks for experiment ``name``
    (registered when ``module`` is imported) at ``values``; ``done(key, png, title, memo, layouts_before)`` is called (in a reader
    thread) when it is drawn, where ``memo`` is the layout the helper used and
    ``layouts_before`` the widget's layout count when the job was sent: the widget adopts
    the helper's layout when the helper had to lay the figure out afresh.

    ``in_flight(owner, key)`` tells a widget that the helper is drawing that very figure
    now (an event set when the answer is in): a request for it waits for the helper
    rather than drawing it a second time beside it.
    """

    def __init__(self, start_timeout_s: float = 60.0):
        self._lock = threading.Lock()
        self._wanted: list[tuple] = []
        self._busy = False
        self._proc = None
        self._jobs: dict[int, tuple] = {}
        self._next_id = 0
        self._broken = False
        self._ready = threading.Event()
        self.start_timeout_s = start_timeout_s
        self.drawn = 0
        self.failed = 0

    def usable(self) -> bool:
        return not self._broken

    def start(self) -> None:
        """Start the helper (it imports rtlib in the background); idempotent."""
        with self._lock:
            if self._proc is not None or self._broken:
                return
            try:
                env = {**os.environ, "RTLIB_DRAW_AHEAD": "0"}  # (it shows no widgets itself)
                self._proc = subprocess.Popen([sys.executable, "-m", "rtlib.viz.ahead", *_kernel_ident()],
                                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
            except OSError:  # no helper: widgets draw ahead in their own thread
                self._broken = True
                return
        threading.Thread(target=self._read, name="rtlib-draw-ahead-reader", daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            self._broken = True
            proc, self._proc = self._proc, None
        self._release_all()
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def want(self, owner: Any, module: str, name: str, key: str, values: dict, memo, done: Callable, *,
             urgent: bool = True) -> None:
        """Ask for experiment ``name`` (registered by ``module``) at ``values``.

        An ``urgent`` want (around a value the learner just chose) is drawn before every
        other, the newest first; the others (a page's widgets before anyone touched them)
        after them, in the order asked, so the widgets at the top of a page come first."""
        self.start()
        item = (owner, module, name, key, dict(values), memo, done)
        with self._lock:
            self._wanted = [w for w in self._wanted if not (w[0] is owner and w[3] == key)]
            if urgent:
                self._wanted.append(item)  # (drawn from the end)
            else:
                self._wanted.insert(0, item)
            del self._wanted[:-MAX_WANTED]
        self._pump()

    def forget(self, owner: Any) -> None:
        """Drop ``owner``'s wants that were not sent yet (its learner moved elsewhere)."""
        with self._lock:
            self._wanted = [w for w in self._wanted if w[0] is not owner]

    def _pump(self) -> None:
        import copy

        with self._lock:
            if self._busy or not self._wanted or self._broken or not self._ready.is_set():
                return
            owner, module, name, key, values, memo, done = self._wanted.pop()
            self._busy = True
            job_id = self._next_id
            self._next_id += 1
            self._jobs[job_id] = (key, done, memo.layouts, owner, threading.Event())
        try:
            from rtlib.viz.widgets import _DRAW_LOCK

            with _DRAW_LOCK:  # a consistent copy of the widget's layout
                sent = copy.deepcopy(memo)
            pickle.dump((job_id, module, name, values, _rc_settings(), sent), self._proc.stdin,
                        protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.flush()
        except Exception:  # noqa: BLE001 - cannot send (a value that does not pickle, a dead pipe)
            with self._lock:
                self._busy = False
                job = self._jobs.pop(job_id, None)
            if job is not None:
                job[4].set()
            self.failed += 1
            self._pump()

    def in_flight(self, owner: Any, key: str) -> threading.Event | None:
        """The event set when the helper's answer for ``owner``'s figure ``key`` is in, if the
        helper is drawing that figure now; None if it is not (queued wants do not count)."""
        with self._lock:
            for job in self._jobs.values():
                if job[3] is owner and job[0] == key:
                    return job[4]
        return None

    def _release_all(self) -> None:
        """Wake whoever waits for an answer that will not come (the helper stopped or died)."""
        with self._lock:
            jobs, self._jobs = list(self._jobs.values()), {}
        for job in jobs:
            job[4].set()

    def _read(self) -> None:
        stdout = self._proc.stdout
        try:
            if pickle.load(stdout) != ("ready",):
                raise EOFError
            self._ready.set()
            self._pump()
            while True:
                msg = pickle.load(stdout)
                with self._lock:
                    job = self._jobs.pop(msg[1], None)
                    self._busy = False
                if msg[0] == "ok" and job is not None:
                    key, done, layouts_before = job[:3]
                    try:
                        done(key, msg[2], msg[3], msg[4], layouts_before)
                        self.drawn += 1
                    except Exception:  # noqa: BLE001 - a widget that cannot take it just draws itself
                        self.failed += 1
                else:
                    self.failed += 1
                if job is not None:
                    job[4].set()  # (after done: a waiting request finds the figure kept)
                self._pump()
        except (EOFError, OSError, pickle.UnpicklingError, AttributeError, ValueError):
            with self._lock:
                self._broken = True
            self._release_all()


_PROCESS: AheadProcess | None = None


def ahead_process() -> AheadProcess:
    """The kernel's one helper process (created on first use)."""
    global _PROCESS
    if _PROCESS is None:
        _PROCESS = AheadProcess()
    return _PROCESS


if __name__ == "__main__":
    main()
