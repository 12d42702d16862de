"""Serve the call page (``rtlib/signal/static/``) over HTTP on 127.0.0.1, from a background thread.

Only the files shipped in ``static/`` are served (no directory listing, nothing
outside it), on loopback only.  The page then talks to the IM server directly over
its WebSocket (the URL is in the page's fragment, see :func:`page_url`).

Used in: ``python -m rtlib call-demo``, notebooks/12_live_call.ipynb, tests/browser/test_call_browser.py.
"""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.parse
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
PAGE = "call.html"


class _Handler(http.server.SimpleHTTPRequestHandler):
    def list_directory(self, path):  # no listings
        self.send_error(404, "not found")
        return None

    def log_message(self, *args):  # quiet
        pass


class PageServer:
    """``with PageServer() as web: print(web.url)``: the static page on a free loopback port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        if host != "127.0.0.1":
            raise ValueError(f"host must be 127.0.0.1 (loopback only), got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer in [0, 65535], got {port!r}")
        handler = functools.partial(_Handler, directory=str(STATIC))
        self.httpd = http.server.ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.host, self.port = host, self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="rtlib-call-page", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/{PAGE}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def page_url(base: str, *, ws: str, user: str, token: str, peer: str, conv: str, device: str = "browser",
             auto_answer: bool = False, ring_timeout_s: float | None = None) -> str:
    """The page's URL for one user: the settings ride in the fragment (never sent to the HTTP server)."""
    q = {"ws": ws, "user": user, "token": token, "peer": peer, "conv": conv, "device": device}
    if auto_answer:
        q["auto"] = "1"
    if ring_timeout_s is not None:
        q["ring_timeout_s"] = f"{ring_timeout_s:g}"
    return f"{base}#{urllib.parse.urlencode(q)}"


__all__ = ["PAGE", "STATIC", "PageServer", "page_url"]
