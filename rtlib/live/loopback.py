"""Let aiortc gather 127.0.0.1 host candidates, for one call only.

ICE (RFC 8445 section 5.1.1.1) gathers *host candidates* from the machine's
interfaces, and the RFC says loopback addresses "MUST NOT be included"; aioice
follows it (``aioice.ice.get_host_addresses`` skips 127.0.0.1).  A course call must
stay on this machine and never touch a real network, so inside
:func:`loopback_candidates` the ICE agents gather exactly one host address,
127.0.0.1, and nothing else (no LAN addresses, no IPv6).

Scoped to the call, not to the process: the patched lookup answers "127.0.0.1 only"
solely to code running in the context (the asyncio task, and the tasks it starts)
that entered :func:`loopback_candidates`, via a :class:`contextvars.ContextVar`;
every other caller in the process gets aioice's own answer.  The patch itself is
installed while at least one such block is open and the original function is put
back when the last one exits (nesting and concurrent calls are fine).

Pass ``RTCConfiguration(iceServers=[])`` as well: aiortc's default asks Google's STUN
server for a server-reflexive candidate, which would leave the machine.

Used in: :mod:`rtlib.live.aiortc_call`, notebooks/12_live_call.ipynb.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading

LOOPBACK_HOST = "127.0.0.1"

_loopback_only: contextvars.ContextVar[bool] = contextvars.ContextVar("rtlib_loopback_only", default=False)
_lock = threading.Lock()
_state = {"users": 0, "original": None}


def _patched_get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    if _loopback_only.get():
        return [LOOPBACK_HOST] if use_ipv4 else []
    return _state["original"](use_ipv4, use_ipv6)


@contextlib.contextmanager
def loopback_candidates():
    """Within this block (and tasks started from it) aioice gathers only 127.0.0.1 host candidates.

    Example::

        with loopback_candidates():
            await pc.setLocalDescription(await pc.createOffer())   # gathers 127.0.0.1
    """
    import aioice.ice as ice

    with _lock:
        if _state["users"] == 0:
            _state["original"] = ice.get_host_addresses
            ice.get_host_addresses = _patched_get_host_addresses
        _state["users"] += 1
    token = _loopback_only.set(True)
    try:
        yield
    finally:
        _loopback_only.reset(token)
        with _lock:
            _state["users"] -= 1
            if _state["users"] == 0:
                ice.get_host_addresses = _state["original"]
                _state["original"] = None


def is_patched() -> bool:
    """True while some :func:`loopback_candidates` block is open (for tests)."""
    return _state["users"] > 0


__all__ = ["LOOPBACK_HOST", "is_patched", "loopback_candidates"]
