"""The ``call`` message family: the JSON bodies that carry call signalling inside IM messages.

A call's setup rides as ordinary messages of the live IM server (``rtlib/im/PROTOCOL.md``,
section "Calls: signalling over IM") in the two users' 1:1 conversation, so it gets the
server's guarantees for free: stored before it is acked, numbered in one order, pulled
again by ``sync`` after a reconnection.  Matrix carries its ``m.call.invite``,
``m.call.answer``, ``m.call.candidates`` and ``m.call.hangup`` as room events the same
way (Matrix client-server API, section "Voice over IP").

Every body is a JSON object with ``"call"`` (the kind) and ``"id"`` (the call id):

==========  ==============================  =================================================
kind        fields besides call and id       meaning
==========  ==============================  =================================================
offer       ``sdp``, ``device``             the caller's SDP offer (RFC 8866 / RFC 3264);
                                            ``sdpz`` instead of ``sdp`` when too long
ring        ``device``                      a callee device is ringing
accept      ``device``                      a callee device took the call (first one wins)
answer      ``sdp``, ``device``             that device's SDP answer
candidate   ``candidate``, ``device``       one trickled ICE candidate (RFC 8839 5.1)
reject      ``device``, ``reason``          a callee device declined (``declined``/``busy``)
hangup      ``device``, ``reason``          either side ends the call
==========  ==============================  =================================================

**Loopback only.**  The course's calls never leave this machine: :func:`loopback_sdp`
drops every ICE candidate that is not a UDP candidate on 127.0.0.1 (LAN addresses,
IPv6, mDNS ``.local`` names, TCP), both when a body is made and when it is parsed, and
a ``candidate`` body with any other address is refused with :class:`~rtlib.ParseError`.

Used in: notebooks/12_live_call.ipynb, :mod:`rtlib.signal.machine`, the page
``rtlib/signal/static/call.js`` (which applies the same rules).
"""

from __future__ import annotations

import base64
import json
import re
import zlib

from rtlib.errors import ParseError

KINDS = ("offer", "ring", "accept", "answer", "candidate", "reject", "hangup")
#: who may send each kind: the caller, the callee (any of their devices), or either
SENDERS = {"offer": "caller", "ring": "callee", "accept": "callee", "answer": "callee",
           "candidate": "either", "reject": "callee", "hangup": "either"}
REJECT_REASONS = ("declined", "busy")
HANGUP_REASONS = ("hangup", "timeout", "glare", "failed", "answered_elsewhere")
MAX_BODY_BYTES = 4096  # the IM server's MAX_BODY_BYTES: a body larger than this is refused (too_large)
MAX_SDP_CHARS = 65536  # an SDP, once inflated
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DEVICE = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")
_FIELDS = {"offer": ("sdp", "device"), "ring": ("device",), "accept": ("device",), "answer": ("sdp", "device"),
           "candidate": ("candidate", "device"), "reject": ("device", "reason"), "hangup": ("device", "reason")}
# RFC 8839 section 5.1: foundation component transport priority address port "typ" type ...
_CAND = re.compile(r"^(?:a=)?candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)(.*)$")
LOOPBACK_HOST = "127.0.0.1"


def is_loopback_candidate(line: str) -> bool:
    """True for a UDP ICE candidate on 127.0.0.1 (``a=`` prefix optional); False for anything else."""
    m = _CAND.match(line.strip())
    return bool(m) and m.group(3).lower() == "udp" and m.group(5) == LOOPBACK_HOST


def loopback_sdp(sdp: str) -> str:
    """``sdp`` with every ``a=candidate`` line that is not UDP on 127.0.0.1 removed; lines end in CRLF."""
    lines = [ln for ln in sdp.replace("\r\n", "\n").split("\n") if ln]
    kept = [ln for ln in lines if not ln.startswith("a=candidate:") or is_loopback_candidate(ln)]
    return "\r\n".join(kept) + "\r\n"


def new_call_id(rng=None) -> str:
    """A fresh call id: 16 hex digits (from ``secrets`` unless a ``random.Random`` is given)."""
    if rng is None:
        import secrets

        return secrets.token_hex(8)
    return f"{rng.getrandbits(64):016x}"


def deflate_sdp(sdp: str) -> str:
    """``sdp`` as base64 of raw DEFLATE (RFC 1951, RFC 4648 section 4): what ``sdpz`` carries."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(c.compress(sdp.encode()) + c.flush()).decode()


def inflate_sdp(sdpz: str) -> str:
    """The SDP in an ``sdpz`` field (ParseError if it is not base64 raw DEFLATE of UTF-8 text, or too long)."""
    try:
        raw = base64.b64decode(sdpz, validate=True)
        d = zlib.decompressobj(-15)
        out = d.decompress(raw, MAX_SDP_CHARS + 1)
        if len(out) > MAX_SDP_CHARS or d.unconsumed_tail:
            raise ParseError(f"sdpz inflates to more than {MAX_SDP_CHARS} bytes")
        return out.decode()
    except (ValueError, zlib.error, UnicodeDecodeError, TypeError) as exc:
        if isinstance(exc, ParseError):
            raise
        raise ParseError(f"sdpz must be base64 of raw DEFLATE of SDP text ({exc})") from None


def make_body(kind: str, call_id: str, **fields) -> str:
    """The JSON text of one ``call`` body; checks it as :func:`parse_body` would (ValueError if not).

    An SDP goes as plain text (``sdp``) when the body fits the IM server's
    ``MAX_BODY_BYTES``, else compressed (``sdpz``, see :func:`deflate_sdp`).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    obj = {"call": kind, "id": call_id}
    if "sdp" in fields and isinstance(fields["sdp"], str):
        fields["sdp"] = loopback_sdp(fields["sdp"])
    obj.update(fields)
    text = json.dumps(obj, separators=(",", ":"))
    if "sdp" in obj and isinstance(obj["sdp"], str) and len(text.encode()) > MAX_BODY_BYTES:
        obj["sdpz"] = deflate_sdp(obj.pop("sdp"))
        text = json.dumps(obj, separators=(",", ":"))
    if len(text.encode()) > MAX_BODY_BYTES:
        raise ValueError(f"a {kind} body must be at most {MAX_BODY_BYTES} bytes, got {len(text.encode())}")
    try:
        parse_body(text)
    except ParseError as exc:
        raise ValueError(f"not a valid {kind} body: {exc}") from None
    return text


def parse_body(text) -> dict | None:
    """Parse one IM message body.

    Returns None for a body that is not call signalling (ordinary chat text, or JSON
    without a ``"call"`` key), the checked dict for a valid one (with its SDP reduced
    to 127.0.0.1 candidates), and raises :class:`~rtlib.ParseError` for a body that
    claims to be call signalling but is malformed.
    """
    if not isinstance(text, str):
        raise ParseError(f"a message body must be a string, got {type(text).__name__}")
    s = text.lstrip()
    if not s.startswith("{"):
        return None
    try:
        obj = json.loads(s)
    except (ValueError, RecursionError):
        return None  # chat text that happens to start with "{"
    if not isinstance(obj, dict) or "call" not in obj:
        return None
    kind = obj["call"]
    if kind not in KINDS:
        raise ParseError(f"call must be one of {', '.join(KINDS)}, got {kind!r}")
    cid = obj.get("id")
    if not isinstance(cid, str) or not _ID.match(cid):
        raise ParseError(f"id must be 1-64 characters from A-Z a-z 0-9 _ -, got {cid!r}")
    need = _FIELDS[kind]
    if "sdp" in need and "sdpz" in obj:
        if "sdp" in obj:
            raise ParseError(f"a {kind} body carries sdp or sdpz, not both")
        obj["sdp"] = inflate_sdp(obj.pop("sdpz")) if isinstance(obj["sdpz"], str) else obj.pop("sdpz")
    extra = set(obj) - {"call", "id", *need}
    if extra:
        raise ParseError(f"unknown field(s) in a {kind} body: {', '.join(sorted(extra))}")
    for f in need:
        if f not in obj:
            raise ParseError(f"a {kind} body needs {f!r}")
    dev = obj["device"]
    if not isinstance(dev, str) or not _DEVICE.match(dev):
        raise ParseError(f"device must be 1-64 characters from A-Z a-z 0-9 _ . : @ -, got {dev!r}")
    out = {"call": kind, "id": cid, "device": dev}
    if "sdp" in need:
        sdp = obj["sdp"]
        if not isinstance(sdp, str) or not sdp.startswith("v=0") or len(sdp) > MAX_SDP_CHARS:
            raise ParseError(f"sdp must be SDP text starting with 'v=0', at most {MAX_SDP_CHARS} characters")
        out["sdp"] = loopback_sdp(sdp)
    if kind == "candidate":
        c = obj["candidate"]
        if not isinstance(c, str) or not _CAND.match(c.strip()):
            raise ParseError("candidate must be an RFC 8839 candidate-attribute ('candidate:...')")
        if not is_loopback_candidate(c):
            raise ParseError(f"candidate must be UDP on {LOOPBACK_HOST} (loopback only), got {c.strip()[:80]!r}")
        out["candidate"] = c.strip()
    if kind == "reject":
        if obj["reason"] not in REJECT_REASONS:
            raise ParseError(f"reason of a reject must be one of {', '.join(REJECT_REASONS)}, got {obj['reason']!r}")
        out["reason"] = obj["reason"]
    if kind == "hangup":
        if obj["reason"] not in HANGUP_REASONS:
            raise ParseError(f"reason of a hangup must be one of {', '.join(HANGUP_REASONS)}, got {obj['reason']!r}")
        out["reason"] = obj["reason"]
    return out


__all__ = ["MAX_BODY_BYTES", "deflate_sdp", "inflate_sdp", "HANGUP_REASONS", "KINDS", "LOOPBACK_HOST", "REJECT_REASONS", "SENDERS", "is_loopback_candidate",
           "loopback_sdp", "make_body", "new_call_id", "parse_body"]
