"""JupyterLab in a real browser: the course as a learner meets it.

A :class:`Lab` is a JupyterLab server on a free loopback port with a random token,
serving a *copy* of the notebooks (so nothing the browser saves lands in the repo),
plus a headless Chromium driven by Selenium (Debian's ``chromium`` and
``chromium-driver``).  It opens a notebook, runs all, and reads what a learner
would see: error and stderr outputs, "Error displaying widget", and every widget
box that :func:`rtlib.viz.show_experiment` marks with the ``rtlib-experiment`` class.

Used by ``tests/browser/test_browser.py`` and ``benchmarks/bench_browser.py``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
DRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
# Without the background-networking flags Chromium's own connections are refused on a
# closed network, and it can stall; --disable-quic for the same reason.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,1000",
)
# Settings a learner would not change but a test needs: no autosave (the copy is
# thrown away anyway), every cell kept in the DOM (JupyterLab 4 virtualises cells
# out of view by default), no news or update checks on a closed network.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}


class BrowserUnavailable(RuntimeError):
    """No Chromium, no driver or no selenium: the browser tests skip with this reason."""


def find_browser() -> tuple[str, str]:
    """Paths of Chromium and its driver, or ``BrowserUnavailable`` saying what is missing."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        raise BrowserUnavailable("selenium is not installed (pip install -e '.[dev]')") from None
    chromium = next((p for p in CHROMIUM_CANDIDATES if os.access(p, os.X_OK)), shutil.which("chromium"))
    driver = next((p for p in DRIVER_CANDIDATES if os.access(p, os.X_OK)), shutil.which("chromedriver"))
    if not chromium or not driver:
        raise BrowserUnavailable("no Chromium and chromedriver (Debian: apt-get install chromium chromium-driver; .ci/run does it)")
    return chromium, driver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pids_mentioning(marker: str) -> list[int]:
    """Processes whose command line mentions ``marker`` (a temp dir only this Lab uses)."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd:
            found.append(int(d.name))
    return found


class Lab:
    """A JupyterLab server and a headless Chromium; use as a context manager."""

    def __init__(self, notebooks: list[Path] | None = None, extra: dict[str, dict] | None = None,
                 env: dict[str, str] | None = None):
        self.tmp = Path(tempfile.mkdtemp(prefix="rtlib-browser-"))
        self.root = self.tmp / "course"
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.server: subprocess.Popen | None = None
        self.driver = None
        self.log_path = self.tmp / "jupyter.log"
        self._extra = extra or {}
        self._notebooks = notebooks
        self._env = env or {}  # e.g. PYTHONPATH for the kernels (the benchmark's "before" code)

    # -- start and stop --------------------------------------------------------------------

    def __enter__(self) -> "Lab":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        chromium, driver = find_browser()
        self._copy_course()
        self._start_server()
        self._start_browser(chromium, driver)

    def _copy_course(self) -> None:
        (self.root / "notebooks").mkdir(parents=True)
        for nb in self._notebooks if self._notebooks is not None else NOTEBOOKS:
            dest = self.root / nb.relative_to(ROOT)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(nb, dest)
        for rel, content in self._extra.items():  # extra notebooks (e.g. a planted error)
            dest = self.root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(json.dumps(content))
        if (ROOT / "data").exists():  # notebooks that read ../data see the course's data
            (self.root / "data").symlink_to(ROOT / "data")

    def _start_server(self) -> None:
        settings = self.tmp / "settings"
        for rel, value in LAB_SETTINGS.items():
            path = settings / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        env = {**os.environ,
               "JUPYTER_CONFIG_DIR": str(self.tmp / "config"), "JUPYTER_RUNTIME_DIR": str(self.tmp / "runtime"),
               "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(self.tmp / "workspaces"),
               "JUPYTER_PLATFORM_DIRS": "1", "PYTHONUNBUFFERED": "1", **self._env}
        env.pop("JUPYTER_TOKEN", None)
        cmd = [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--LabApp.news_url=", "--LabServerApp.app_settings_dir=" + str(self.tmp / "app-settings")]
        if os.getuid() == 0:
            cmd.append("--allow-root")
        with open(self.log_path, "wb") as log:
            self.server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                           cwd=self.root, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.server.returncode}:\n{self.server_log()[-3000:]}")
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"JupyterLab did not answer on port {self.port} within 90 s:\n{self.server_log()[-3000:]}")

    def _start_browser(self, chromium: str, driver: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        for flag in CHROMIUM_FLAGS:
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={self.tmp / 'chromium-profile'}")
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=driver, log_output=str(self.tmp / "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=opts)
        self.driver.set_script_timeout(60)

    def stop(self) -> None:
        """Quit the browser, shut every kernel down, stop the server; nothing is left running."""
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception:  # noqa: BLE001 - the browser may already be gone
                pass
            self.driver = None
        if self.server is not None and self.server.poll() is None:
            try:
                for k in self.api("GET", "/api/kernels"):
                    self.api("DELETE", f"/api/kernels/{k['id']}")
            except OSError:
                pass
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait(timeout=10)
        for pid in self.leftovers():  # kernels or browser helpers that outlived their parent
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def leftovers(self) -> list[int]:
        """Processes still running that this Lab started (found by its temp dir)."""
        return _pids_mentioning(str(self.tmp))

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def server_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def api(self, method: str, path: str):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    # -- a notebook in the page ------------------------------------------------------------

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def open(self, rel: str, timeout_s: float = 90) -> None:
        """Open notebook ``rel`` (relative to the course root) with a fresh kernel, ready to run."""
        self.driver.get(f"http://127.0.0.1:{self.port}/lab/tree/{rel}?reset&token={self.token}")
        self.wait_for(lambda: self.js(
            "const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');"
            "if (!p) return false;"
            "const k = [...document.querySelectorAll('.jp-StatusBar-TextItem')].map(e => e.textContent);"
            "return p.querySelectorAll('.jp-Cell').length > 0 && k.some(t => /ipykernel\\) \\| Idle/.test(t));"),
            timeout_s, f"{rel} did not open with an idle kernel")

    def run_all(self, timeout_s: float = 240) -> float:
        """Run > Run All Cells, wait until every code cell has run; returns the seconds taken."""
        t0 = time.monotonic()
        self.command("Run", "Run All Cells")
        self.wait_for(lambda: self.js(_ALL_CELLS_RUN), timeout_s, "Run All did not finish")
        return time.monotonic() - t0

    def command(self, menu: str, label: str) -> None:
        """Click menu ``menu``, then its item ``label``, as a learner would."""
        from selenium.webdriver.common.by import By

        for item in self.driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item"):
            if item.text.strip() == menu:
                item.click()
                break
        else:
            raise RuntimeError(f"no {menu} menu in the page")

        def find():
            for li in self.driver.find_elements(By.CSS_SELECTOR, ".lm-Menu-item[data-type='command']"):
                if li.text.split("\n")[0].strip() == label:
                    return li
            return None

        self.wait_for(find, 10, f"no menu item {menu} > {label}").click()

    def problems(self) -> list[str]:
        """What a learner would see as broken: error and stderr outputs, widget errors."""
        return self.js(_PROBLEMS)

    def experiments(self) -> list[dict]:
        """Every experiment box on the page: name, its controls, whether its figure is drawn."""
        return self.js(_EXPERIMENTS)

    def wait_for(self, predicate, timeout_s: float, what: str, poll_s: float = 0.1):
        deadline = time.monotonic() + timeout_s
        last_exc = None
        while time.monotonic() < deadline:
            try:
                value = predicate()
                if value:
                    return value
            except WidgetError:
                raise
            except Exception as exc:  # noqa: BLE001 - the page may be mid-render
                last_exc = exc
            time.sleep(poll_s)
        raise TimeoutError(f"{what} within {timeout_s:.0f} s" + (f" (last error: {last_exc})" if last_exc else ""))

    def shutdown_kernels(self) -> None:
        """Shut down every kernel (one notebook after another would otherwise pile them up)."""
        self.driver.get("about:blank")
        for k in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{k['id']}")

    # -- one control of one experiment -----------------------------------------------------

    def figure_state(self, name: str) -> dict:
        return self.js(_FIGURE_STATE, name)

    def step(self, name: str, index: int = 0, key: str = "right") -> None:
        """One arrow-key step on control ``index`` of experiment ``name`` (a dropdown: next option)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        box = self.driver.find_element(By.CSS_SELECTOR, f".rtlib-experiment-{name}")
        ctl = box.find_elements(By.CSS_SELECTOR, ".widget-slider, .widget-dropdown")[index]
        if "widget-dropdown" in ctl.get_attribute("class"):
            from selenium.webdriver.support.ui import Select

            sel = Select(ctl.find_element(By.TAG_NAME, "select"))
            options = [o.get_attribute("value") for o in sel.options]
            now = sel.first_selected_option.get_attribute("value")
            nxt = (options.index(now) + (1 if key == "right" else -1)) % len(options)
            self.js("if (window.__rt) window.__rt.key = performance.now();")
            sel.select_by_index(nxt)
            return
        handle = ctl.find_element(By.CSS_SELECTOR, ".noUi-handle")
        handle.send_keys(Keys.ARROW_RIGHT if key == "right" else Keys.ARROW_LEFT)

    def controls(self, name: str) -> list[dict]:
        return self.js(_CONTROLS, name)


# Every code cell has an execution count and none is queued or running; kernel idle.
_ALL_CELLS_RUN = """
const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
if (!p) return false;
const s = document.querySelector('.jp-Notebook-ExecutionIndicator');
if (s && s.getAttribute('data-status') !== 'idle') return false;
const prompts = [...p.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(e => e.textContent.trim());
if (prompts.some(t => t.includes('*'))) return false;
// Run All stops at a cell that raises: the cells after it never run.
const error = p.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
return prompts.length > 0 && (prompts.every(t => /^\\[\\d+\\]:$/.test(t)) || !!error);
"""

_PROBLEMS = """
const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
const out = [];
const cellOf = e => { const c = e.closest('.jp-Cell'); return c ? [...p.querySelectorAll('.jp-Cell')].indexOf(c) : -1; };
for (const e of p.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
  out.push(`cell ${cellOf(e)}: error or stderr output: ${e.textContent.slice(0, 600)}`);
for (const e of p.querySelectorAll('.jp-OutputArea-output, .jupyter-widgets'))
  if (e.textContent.includes('Error displaying widget') && !e.querySelector('.jp-OutputArea-output'))
    out.push(`cell ${cellOf(e)}: ${e.textContent.slice(0, 300)}`);
for (const e of p.querySelectorAll('.jupyter-widgets-error-widget'))
  out.push(`cell ${cellOf(e)}: Error displaying widget: ${(e.getAttribute('title') || e.textContent).slice(0, 300)}`);
for (const e of p.querySelectorAll('.rtlib-experiment-error'))
  if (e.textContent.trim()) out.push(`cell ${cellOf(e)}: widget error: ${e.textContent.slice(0, 600)}`);
return [...new Set(out)];
"""

_EXPERIMENTS = """
const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
return [...p.querySelectorAll('.rtlib-experiment')].map(b => {
  const name = [...b.classList].find(c => c.startsWith('rtlib-experiment-') && c !== 'rtlib-experiment-error')
                .slice('rtlib-experiment-'.length);
  const img = b.querySelector('img');
  return {name, controls: b.querySelectorAll('.widget-slider, .widget-dropdown').length,
          drawn: !!(img && img.complete && img.naturalWidth > 0), width: img ? img.naturalWidth : 0};
});
"""

# The figure's source and a fingerprint of its pixels (a blob: URL changes on every
# update; the fingerprint says whether the picture did), plus what the kernel says it drew.
_FIGURE_STATE = """
const b = document.querySelector('.rtlib-experiment-' + arguments[0]);
const img = b && b.querySelector('img');
if (!img || !img.complete || !img.naturalWidth) return {src: null};
const c = document.createElement('canvas');
c.width = img.naturalWidth; c.height = img.naturalHeight;
const g = c.getContext('2d'); g.drawImage(img, 0, 0);
const d = g.getImageData(0, 0, c.width, c.height).data;
let h = 2166136261;
for (let i = 0; i < d.length; i += 7) { h ^= d[i]; h = Math.imul(h, 16777619) >>> 0; }
const drawn = b.querySelector('.rtlib-experiment-drawn');
const err = b.querySelector('.rtlib-experiment-error');
return {src: img.src.slice(0, 80) + ':' + img.src.length, hash: h, w: c.width, h: c.height,
        drawn: drawn ? drawn.textContent : null, error: err ? err.textContent.trim() : ''};
"""

_CONTROLS = """
const b = document.querySelector('.rtlib-experiment-' + arguments[0]);
return [...b.querySelectorAll('.widget-slider, .widget-dropdown')].map(c => {
  const h = c.querySelector('.noUi-handle');
  const readout = (c.querySelector('.widget-readout') || {}).textContent || '';
  const num = (a, fallback) => { const v = parseFloat(h.getAttribute(a)); return isNaN(v) ? fallback : v; };
  if (h) return {kind: 'slider', label: c.querySelector('label').textContent,
                 now: num('aria-valuenow', parseFloat(readout)), min: num('aria-valuemin', -Infinity),
                 max: num('aria-valuemax', Infinity), readout};
  const s = c.querySelector('select');
  return {kind: 'dropdown', label: c.querySelector('label').textContent, now: s.value, options: s.options.length};
});
"""


# -- what the browser test checks, shared with the planted-error test ----------------------

def expected_experiments(notebook: dict) -> list[str]:
    """The experiments a notebook shows: every ``show_experiment("name"...)`` in its code."""
    import re

    names = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            src = "".join(cell.get("source", ""))
            names += re.findall(r"show_experiment\(\s*[\"']([A-Za-z0-9_]+)[\"']", src)
    return names


def settled_figure(lab: Lab, name: str, before: dict, timeout_s: float) -> dict:
    """Wait until experiment ``name`` shows a newly drawn figure, loaded in the page."""
    def ready():
        state = lab.figure_state(name)
        if state.get("error"):
            raise WidgetError(f"{name}: {state['error'][:600]}")
        return state if state.get("src") and state.get("drawn") != before.get("drawn") else None
    return lab.wait_for(ready, timeout_s, f"{name}: no new figure after a control change", poll_s=0.05)


class WidgetError(RuntimeError):
    """The widget showed an error instead of a figure."""


def change_one_control(lab: Lab, name: str, timeout_s: float = 60) -> str | None:
    """Step each control of ``name`` in turn until one changes the figure's pixels.

    Returns a failure message, or None when a control changed the figure."""
    tried = []
    for i, ctl in enumerate(lab.controls(name)):
        before = lab.figure_state(name)
        key = "left" if ctl["kind"] == "slider" and ctl["now"] >= ctl["max"] else "right"
        lab.step(name, i, key)
        try:
            after = settled_figure(lab, name, before, timeout_s)
        except (TimeoutError, WidgetError) as exc:
            return str(exc)
        if after["hash"] != before["hash"] or (after["w"], after["h"]) != (before["w"], before["h"]):
            return None
        tried.append(ctl["label"])
    return f"{name}: no control changed the figure (tried {tried})"


def burst_ends_on_final_value(lab: Lab, name: str, presses: int = 12, timeout_s: float = 60) -> str | None:
    """A burst of arrow-key steps on the first slider (a drag, as the kernel sees it):
    the figure must end up drawn for the slider's final value, with nothing left queued."""
    sliders = [i for i, c in enumerate(lab.controls(name)) if c["kind"] == "slider"]
    if not sliders:
        return None
    i = sliders[0]
    ctl = lab.controls(name)[i]
    key = "left" if ctl["now"] >= (ctl["min"] + ctl["max"]) / 2 else "right"
    for _ in range(presses):
        lab.step(name, i, key)
        time.sleep(0.03)
    # The readout shows the model's value with every decimal its step needs (the handle's
    # aria-valuenow is rounded to one decimal, so it cannot tell 0.16 from 0.2).
    readout = lab.controls(name)[i]["readout"].strip()
    final = float(readout)
    decimals = len(readout.split(".")[1]) if "." in readout else 0
    tolerance = 0.5 * 10 ** -decimals + 1e-9

    def drawn_final():
        state = lab.figure_state(name)
        if not state.get("src") or not state.get("drawn"):
            return None
        values = json.loads(state["drawn"])
        return [v for v in values.values() if isinstance(v, (int, float)) and abs(v - final) <= tolerance]

    try:
        lab.wait_for(drawn_final, timeout_s, f"{name}: the figure never showed the final value {final} after a burst")
    except TimeoutError as exc:
        return f"{exc} (shows {lab.figure_state(name).get('drawn')})"
    shown = lab.figure_state(name)
    time.sleep(1.0)  # anything still queued would redraw now
    if lab.figure_state(name).get("drawn") != shown.get("drawn"):
        return f"{name}: the figure changed again after showing the final value (a backlog)"
    return None


def check_notebook(lab: Lab, rel: str, expected: list[str], run_timeout_s: float = 300) -> tuple[list[str], dict]:
    """Open ``rel``, Run All, and check it as a learner would see it.

    Returns (failures, facts): failures are human-readable; facts hold the timings."""
    facts: dict = {}
    t0 = time.monotonic()
    lab.open(rel)
    facts["open_s"] = time.monotonic() - t0
    try:
        facts["run_all_s"] = lab.run_all(run_timeout_s)
    except TimeoutError as exc:
        return [f"{rel}: {exc}"] + lab.problems(), facts
    failures = list(lab.problems())
    try:
        boxes = lab.wait_for(lambda: (lambda b: b if all(x["drawn"] for x in b) and len(b) >= len(expected) else None)(
            lab.experiments()), 5 if failures else 30, "widgets did not all draw")
    except TimeoutError:
        boxes = lab.experiments()
    on_page = [b["name"] for b in boxes]
    for name in expected:
        if name not in on_page:
            failures.append(f"{name}: shown by the notebook but not on the page")
    for b in boxes:
        if not b["drawn"]:
            failures.append(f"{b['name']}: its figure did not render")
    for b in boxes:
        if b["drawn"] and b["controls"]:
            msg = change_one_control(lab, b["name"])
            if msg:
                failures.append(msg)
    broken = {f.split(":")[0] for f in failures}
    sliders = [b["name"] for b in boxes if b["drawn"] and b["controls"] and b["name"] not in broken]
    if sliders:
        msg = burst_ends_on_final_value(lab, sliders[0])
        if msg:
            failures.append(msg)
    failures += [p for p in lab.problems() if p not in failures]
    return failures, facts
