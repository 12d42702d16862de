"""The IM wire protocol: JSON frames, their limits, and one validator for both sides.

A frame is a JSON object with a ``"type"``.  Live, each frame is one WebSocket text
message (RFC 6455 §5.6); in simulation the same ``dict`` travels without being
encoded, and passes through the same :func:`check_frame`, so the server code cannot
tell the two apart.  ``rtlib/im/PROTOCOL.md`` documents every frame with an example
session.

Client → server: ``auth``, ``send``, ``sync``, ``read``, ``ping``.
Server → client: ``auth_ok``, ``ack``, ``msg``, ``sync_ok``, ``read``, ``pong``, ``error``.

Anything malformed raises :class:`FrameError` (a ``ValueError``, the protocol's
documented parse error) carrying an error ``code`` that the gateway sends back in an
``error`` frame; a bad frame never raises anything else.

Used in: notebooks/02_im_store_forward.ipynb, notebooks/03_im_scale.ipynb.
"""

from __future__ import annotations

import json
import re

# Limits (bytes are UTF-8 bytes).  A frame above MAX_FRAME_BYTES gets a ``too_large``
# error; the live server lets WebSocket messages up to WS_MAX_BYTES reach the
# validator so that oversized frames are answered, and only closes (code 1009) above it.
MAX_FRAME_BYTES = 16 * 1024
MAX_BODY_BYTES = 4 * 1024
WS_MAX_BYTES = 1024 * 1024
MAX_ID_CHARS = 64
MAX_SYNC_LIMIT = 1000
DEFAULT_SYNC_LIMIT = 200

# Error codes, the ``code`` of an ``error`` frame.
BAD_JSON = "bad_json"
BAD_FRAME = "bad_frame"
TOO_LARGE = "too_large"
UNKNOWN_TYPE = "unknown_type"
UNAUTHENTICATED = "unauthenticated"
AUTH_FAILED = "auth_failed"
ALREADY_AUTHENTICATED = "already_authenticated"
NOT_MEMBER = "not_member"
UNAVAILABLE = "unavailable"
ERROR_CODES = (BAD_JSON, BAD_FRAME, TOO_LARGE, UNKNOWN_TYPE, UNAUTHENTICATED, AUTH_FAILED,
               ALREADY_AUTHENTICATED, NOT_MEMBER, UNAVAILABLE)

CLIENT_TYPES = ("auth", "send", "sync", "read", "ping")
SERVER_TYPES = ("auth_ok", "ack", "msg", "sync_ok", "read", "pong", "error")

_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,64}\Z")
_CID = re.compile(r"[\x21-\x7e]{1,64}\Z")  # printable ASCII, no spaces


class FrameError(ValueError):
    """A frame that breaks the protocol; ``code`` is one of :data:`ERROR_CODES`."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def check_name(what: str, value) -> str:
    """A user, device or conversation name: 1–64 characters of ``A-Za-z0-9_.:@-``."""
    if not isinstance(value, str) or not _ID.match(value):
        raise FrameError(BAD_FRAME, f"{what} must be 1-{MAX_ID_CHARS} characters from A-Z a-z 0-9 _ . : @ -, "
                                    f"got {_short(value)}")
    return value


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _seq(what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise FrameError(BAD_FRAME, f"{what} must be an integer in [0, 2**53), got {_short(value)}")
    return value


def decode(raw: str | bytes) -> dict:
    """Parse and check one client frame from the wire (text); raises :class:`FrameError`."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        raise FrameError(BAD_FRAME, "frames are JSON text messages, got a binary message")
    if not isinstance(raw, str):
        raise FrameError(BAD_FRAME, f"frames are JSON text, got {type(raw).__name__}")
    # len(str) <= bytes <= 4 * len(str): only encode when the cheap bound is unclear.
    if len(raw) > MAX_FRAME_BYTES or (4 * len(raw) > MAX_FRAME_BYTES and len(raw.encode()) > MAX_FRAME_BYTES):
        raise FrameError(TOO_LARGE, f"a frame may hold at most {MAX_FRAME_BYTES} bytes")
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise FrameError(BAD_JSON, f"not valid JSON ({str(exc)[:60]})") from None
    return check_frame(frame)


def check_frame(frame) -> dict:
    """Check one client frame (a ``dict``) field by field; return it or raise :class:`FrameError`."""
    if not isinstance(frame, dict):
        raise FrameError(BAD_FRAME, f"a frame is a JSON object, got {type(frame).__name__}")
    kind = frame.get("type")
    if kind == "send":
        conv, cid, body = frame.get("conv"), frame.get("cid"), frame.get("body")
        if conv.__class__ is not str or not _ID.match(conv):
            check_name("conv", conv)
        if cid.__class__ is not str or not _CID.match(cid):
            raise FrameError(BAD_FRAME, f"cid must be 1-{MAX_ID_CHARS} printable ASCII characters, got {_short(cid)}")
        if body.__class__ is not str:
            raise FrameError(BAD_FRAME, f"body must be a string, got {type(body).__name__}")
        if len(body) > MAX_BODY_BYTES // 4 and len(body.encode()) > MAX_BODY_BYTES:
            raise FrameError(TOO_LARGE, f"body may hold at most {MAX_BODY_BYTES} bytes")
        return frame
    if kind == "auth":
        check_name("user", frame.get("user"))
        token = frame.get("token")
        if not isinstance(token, str) or not 1 <= len(token) <= 256:
            raise FrameError(BAD_FRAME, "token must be a string of 1-256 characters")
        if "device" in frame:
            check_name("device", frame["device"])
        return frame
    if kind == "sync":
        limit = frame.get("limit", DEFAULT_SYNC_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SYNC_LIMIT:
            raise FrameError(BAD_FRAME, f"limit must be an integer in [1, {MAX_SYNC_LIMIT}], got {_short(limit)}")
        if "conv" in frame:
            check_name("conv", frame["conv"])
            _seq("since", frame.get("since", 0))
        else:
            since = frame.get("since", {})
            if not isinstance(since, dict) or len(since) > 10_000:
                raise FrameError(BAD_FRAME, "without conv, since must be an object {conv: seq}")
            for conv, seq in since.items():
                check_name("conv", conv)
                _seq("since", seq)
        return frame
    if kind == "read":
        check_name("conv", frame.get("conv"))
        _seq("seq", frame.get("seq"))
        return frame
    if kind == "ping":
        return frame
    if not isinstance(kind, str):
        raise FrameError(BAD_FRAME, "a frame needs a string field 'type'")
    raise FrameError(UNKNOWN_TYPE, f"unknown frame type {_short(kind)}; client frames are {', '.join(CLIENT_TYPES)}")


def encode(frame: dict) -> str:
    """One frame as compact JSON text (what goes into a WebSocket text message)."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def error(code: str, reason: str, **ref) -> dict:
    """An ``error`` frame; ``ref`` may name what it answers (e.g. ``cid=...``)."""
    frame = {"type": "error", "code": code, "reason": reason}
    frame.update(ref)
    return frame
