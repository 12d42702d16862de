"""Answer ICE connectivity checks only from 127.0.0.1, on agents that gathered only 127.0.0.1.

A browser gathers host candidates on every interface of the machine (with
``--allow-loopback-in-peer-connection``, 127.0.0.1 among them) and sends connectivity
checks (RFC 8445 section 7.2) from each of them to the remote candidates it was told
about.  Even when signalling only ever tells it 127.0.0.1 candidates, a check from its
socket on, say, 192.0.2.2 arrives at aiortc's 127.0.0.1 socket; aioice answers it and
learns a *peer-reflexive* candidate (RFC 8445 section 7.3.1.3) at 192.0.2.2, and may
then send media there: to another address of this machine.

Inside :func:`loopback_checks_only`, an aioice connection whose local candidates are all
on 127.0.0.1 (one gathered inside :func:`rtlib.live.loopback.loopback_candidates`)
silently drops binding requests from any other source address, so only the
127.0.0.1 ↔ 127.0.0.1 pair can succeed.  Every other connection behaves as before.
The patch is installed while at least one block is open (nesting is fine).

Used in: :mod:`rtlib.signal.peer` (calls with a browser), notebooks/12_live_call.ipynb.
"""

from __future__ import annotations

import contextlib
import threading

from rtlib.live.loopback import LOOPBACK_HOST

_lock = threading.Lock()
_state = {"users": 0, "original": None, "dropped": 0}


def _loopback_only(conn) -> bool:
    cands = conn.local_candidates
    return bool(cands) and all(c.host == LOOPBACK_HOST for c in cands)


def _patched_request_received(self, message, addr, protocol):
    if addr[0] != LOOPBACK_HOST and _loopback_only(self):
        _state["dropped"] += 1
        return
    return _state["original"](self, message, addr, protocol)


@contextlib.contextmanager
def loopback_checks_only():
    """Within this block, loopback-only aioice agents ignore checks from non-127.0.0.1 addresses."""
    import aioice.ice as ice

    with _lock:
        if _state["users"] == 0:
            _state["original"] = ice.Connection.request_received
            ice.Connection.request_received = _patched_request_received
        _state["users"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["users"] -= 1
            if _state["users"] == 0:
                ice.Connection.request_received = _state["original"]
                _state["original"] = None


def dropped_checks() -> int:
    """How many binding requests from non-loopback addresses were dropped so far (in this process)."""
    return _state["dropped"]


__all__ = ["dropped_checks", "loopback_checks_only"]
