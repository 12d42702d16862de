"""The IM wire protocol: JSON frames, their limits, and one validator for both sides.

A frame is a JSON object with a ``"type"``.  Live, each frame is one WebSocket text
message (RFC 6455 §5.6); in simulation the same ``dict`` travels without being
encoded, and passes through the same :func:`check_frame`, so the server code cannot
tell the two apart.  ``rtlib/im/PROTOCOL.md`` documents every frame with an example
session.

Client → server: ``auth``, ``send``, ``sync``, ``history``, ``read``, ``ping``.
Server → client: ``auth_ok``, ``ack``, ``msg``, ``sync_ok``, ``history_ok``, ``read``, ``pong``, ``error``.

Text is checked at the edge: a string holding a lone UTF-16 surrogate (JSON allows
``"\\ud800"``, UTF-8 cannot encode it) is a ``bad_frame`` here, so that no such string
ever reaches the store, where it would fail a whole group commit.

Anything malformed raises :class:`FrameError` (a ``ValueError``, the protocol's
documented parse error) carrying an error ``code`` that the gateway sends back in an
``error`` frame; a bad frame never raises anything else.

Used in: notebooks/02_im_store_forward.ipynb, notebooks/03_im_scale.ipynb.
"""

from __future__ import annotations

import json
import re

# Limits (bytes are UTF-8 bytes).  A client frame above MAX_FRAME_BYTES (counted on the
# JSON text as received, escapes included) gets a ``too_large`` error; the live server
# lets WebSocket messages up to WS_MAX_BYTES reach the validator so that oversized
# frames are answered, and only closes (code 1009) above it.  A body is limited in the
# UTF-8 bytes of the decoded string.
MAX_FRAME_BYTES = 16 * 1024
MAX_BODY_BYTES = 4 * 1024
WS_MAX_BYTES = 1024 * 1024
MAX_ID_CHARS = 64
MAX_TOKEN_CHARS = 256
MAX_SYNC_LIMIT = 1000
DEFAULT_SYNC_LIMIT = 200
MAX_SINCE_CONVS = 10_000
# Server -> client: no frame is larger than this (sync_ok and history_ok are cut into
# pages by bytes as well as by count; ``more`` says so), and the answers to one sync of
# every conversation stay within it in total.  A client must accept frames of this size.
MAX_SERVER_FRAME_BYTES = 256 * 1024
# A user may belong to at most this many conversations (auth_ok lists them all, and
# stays under MAX_SERVER_FRAME_BYTES).
MAX_CONVS_PER_USER = 1000
# Timers (seconds): a connection must authenticate within AUTH_TIMEOUT_S; an
# authenticated one silent for IDLE_TIMEOUT_S is closed; clients heartbeat every
# HEARTBEAT_S of quiet.
AUTH_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 75.0
HEARTBEAT_S = 30.0
# Rate limits (token buckets, per user name): BURST requests at once, then RATE per second.
SEND_RATE_PER_S, SEND_BURST = 100.0, 500
AUTH_RATE_PER_S, AUTH_BURST = 1.0, 10
# Each connection's outgoing queue (frames the server has produced for it that the
# client has not taken yet, beyond the kernel's socket buffers): past either bound the
# connection is closed with CLOSE_SLOW_READER; the client reconnects and syncs.
MAX_OUT_QUEUE_BYTES = 1024 * 1024
MAX_OUT_QUEUE_FRAMES = 4096
# Each connection's incoming frames are read at most this fast (the server stops
# reading, and TCP pushes back, beyond it): one client cannot starve the others.
FRAME_RATE_PER_S, FRAME_BURST = 200.0, 400

# WebSocket close codes (RFC 6455 §7.4: 1000-2999 are the protocol's, 4000-4999 private).
CLOSE_GOING_AWAY = 1001      # the server is shutting down: reconnect later
CLOSE_AUTH = 1008            # authentication failed, or the token was revoked: do not reconnect with it
CLOSE_TOO_BIG = 1009         # a WebSocket message above WS_MAX_BYTES
CLOSE_REPLACED = 4000        # a newer connection of the same user and device took over: do not reconnect
CLOSE_IDLE = 4001            # no frame for IDLE_TIMEOUT_S: reconnect
CLOSE_AUTH_TIMEOUT = 4002    # no auth within AUTH_TIMEOUT_S: reconnect and authenticate at once
CLOSE_SLOW_READER = 4003     # the outgoing queue overflowed: reconnect, then sync
CLOSE_CODES = {CLOSE_GOING_AWAY: "going away", CLOSE_AUTH: "authentication failed or token revoked",
               CLOSE_TOO_BIG: "message too big", CLOSE_REPLACED: "replaced by a newer connection of this device",
               CLOSE_IDLE: "idle", CLOSE_AUTH_TIMEOUT: "no auth in time", CLOSE_SLOW_READER: "slow reader"}

# Error codes, the ``code`` of an ``error`` frame.
BAD_JSON = "bad_json"
BAD_FRAME = "bad_frame"
TOO_LARGE = "too_large"
UNKNOWN_TYPE = "unknown_type"
UNAUTHENTICATED = "unauthenticated"
AUTH_FAILED = "auth_failed"
ALREADY_AUTHENTICATED = "already_authenticated"
NOT_MEMBER = "not_member"
CONFLICT = "conflict"
RATE_LIMITED = "rate_limited"
UNAVAILABLE = "unavailable"
INTERNAL_ERROR = "internal_error"
ERROR_CODES = (BAD_JSON, BAD_FRAME, TOO_LARGE, UNKNOWN_TYPE, UNAUTHENTICATED, AUTH_FAILED,
               ALREADY_AUTHENTICATED, NOT_MEMBER, CONFLICT, RATE_LIMITED, UNAVAILABLE, INTERNAL_ERROR)
# What a client does with a refused send: give up (retrying cannot help), retry now,
# or retry after ``retry_after_ms``.
FINAL_ERRORS = (BAD_JSON, BAD_FRAME, TOO_LARGE, UNKNOWN_TYPE, NOT_MEMBER, CONFLICT, INTERNAL_ERROR)
RETRY_ERRORS = (UNAVAILABLE,)

CLIENT_TYPES = ("auth", "send", "sync", "history", "read", "ping")
SERVER_TYPES = ("auth_ok", "ack", "msg", "sync_ok", "history_ok", "read", "pong", "error")

_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,64}\Z")
_CID = re.compile(r"[\x21-\x7e]{1,64}\Z")  # printable ASCII, no spaces


class FrameError(ValueError):
    """A frame that breaks the protocol; ``code`` is one of :data:`ERROR_CODES`."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.frame = None  # the parsed frame, when it was JSON


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


def _text(what: str, value: str) -> str:
    """Raise ``bad_frame`` when ``value`` (a str) cannot be encoded as UTF-8 (a lone surrogate)."""
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError as exc:
            raise FrameError(BAD_FRAME, f"{what} is not valid text: lone UTF-16 surrogate "
                                        f"{value[exc.start]!r} at character {exc.start}") from None
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
    try:
        return check_frame(frame)
    except FrameError as exc:
        exc.frame = frame  # so that the error can name the cid it refuses
        raise


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
        if not body.isascii():
            try:
                n = len(body.encode())
            except UnicodeEncodeError:
                _text("body", body)
            if n > MAX_BODY_BYTES:
                raise FrameError(TOO_LARGE, f"body may hold at most {MAX_BODY_BYTES} UTF-8 bytes")
        elif len(body) > MAX_BODY_BYTES:
            raise FrameError(TOO_LARGE, f"body may hold at most {MAX_BODY_BYTES} UTF-8 bytes")
        return frame
    if kind == "auth":
        check_name("user", frame.get("user"))
        token = frame.get("token")
        if not isinstance(token, str) or not 1 <= len(token) <= MAX_TOKEN_CHARS:
            raise FrameError(BAD_FRAME, f"token must be a string of 1-{MAX_TOKEN_CHARS} characters")
        _text("token", token)
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
            if not isinstance(since, dict) or len(since) > MAX_SINCE_CONVS:
                raise FrameError(BAD_FRAME, "without conv, since must be an object {conv: seq}")
            for conv, seq in since.items():
                check_name("conv", conv)
                _seq("since", seq)
        return frame
    if kind == "history":
        check_name("conv", frame.get("conv"))
        limit = frame.get("limit", DEFAULT_SYNC_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SYNC_LIMIT:
            raise FrameError(BAD_FRAME, f"limit must be an integer in [1, {MAX_SYNC_LIMIT}], got {_short(limit)}")
        if "before" in frame:
            _seq("before", frame["before"])
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


def frame_bytes(frame: dict) -> int:
    """The UTF-8 size of ``frame`` as the server sends it."""
    text = encode(frame)
    return len(text) if text.isascii() else len(text.encode())


def error(code: str, reason: str, **ref) -> dict:
    """An ``error`` frame; ``ref`` may name what it answers (e.g. ``cid=...``)."""
    frame = {"type": "error", "code": code, "reason": reason}
    frame.update(ref)
    return frame
