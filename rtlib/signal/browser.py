"""A headless Chromium with fake camera and microphone, driven by Selenium: the browser end of a call.

Debian's ``chromium`` and ``chromium-driver`` with the flags a test needs:
``--use-fake-device-for-media-stream`` (a generated test pattern and tone instead of
a camera and microphone), ``--use-fake-ui-for-media-stream`` (no permission prompt),
``--allow-loopback-in-peer-connection`` (gather 127.0.0.1 host candidates, which
WebRTC leaves out by default) and ``--disable-features=WebRtcHideLocalIpsWithMdns``
(real addresses in candidates instead of mDNS ``.local`` names).  Everything the
browser starts is found again by its private profile directory, so :meth:`close`
can prove nothing is left running.

Used in: tests/browser/test_call_browser.py, benchmarks/bench_call_setup.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
DRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=900,800", "--autoplay-policy=no-user-gesture-required",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
)


def find_chromium() -> tuple[str, str] | None:
    """Paths of Chromium and chromedriver, or None if either (or selenium) is missing."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None
    chromium = next((p for p in CHROMIUM_CANDIDATES if os.access(p, os.X_OK)), shutil.which("chromium"))
    driver = next((p for p in DRIVER_CANDIDATES if os.access(p, os.X_OK)), shutil.which("chromedriver"))
    return (chromium, driver) if chromium and driver else None


def pids_mentioning(marker: str) -> list[int]:
    """Running processes whose command line mentions ``marker``."""
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


class HeadlessChromium:
    """``with HeadlessChromium() as b: b.open(url); b.js("return 1")``; :meth:`leftovers` after close."""

    def __init__(self):
        paths = find_chromium()
        if paths is None:
            raise RuntimeError("no Chromium, chromedriver or selenium (Debian: apt-get install chromium "
                               "chromium-driver; pip install selenium)")
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.tmp = Path(tempfile.mkdtemp(prefix="rtlib-chromium-"))
        opts = webdriver.ChromeOptions()
        opts.binary_location = paths[0]
        for flag in FLAGS:
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={self.tmp / 'profile'}")
        service = Service(executable_path=paths[1], log_output=str(self.tmp / "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=opts)
        self.driver.set_script_timeout(30)

    def open(self, url: str) -> None:
        self.driver.get(url)

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def js_async(self, script: str, *args):
        """Run ``script`` whose last argument is the callback (Selenium's execute_async_script)."""
        return self.driver.execute_async_script(script, *args)

    def click(self, element_id: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.ID, element_id).click()

    def wait_js(self, expr: str, timeout_s: float = 20.0, poll_s: float = 0.02):
        """Poll ``return <expr>`` until it is truthy; returns it (TimeoutError with its last value)."""
        deadline = time.monotonic() + timeout_s
        while True:
            v = self.js(f"return {expr}")
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expr} still {v!r} after {timeout_s} s")
            time.sleep(poll_s)

    def close(self) -> None:
        try:
            self.driver.quit()
        except Exception:
            pass
        deadline = time.monotonic() + 5
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in self.leftovers():  # the driver did not take everything down: do it
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def leftovers(self) -> list[int]:
        """Processes still running that this browser started (found by its profile directory)."""
        return pids_mentioning(str(self.tmp))

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


__all__ = ["FLAGS", "HeadlessChromium", "find_chromium", "pids_mentioning"]
