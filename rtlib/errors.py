"""The one exception rtlib raises for malformed input bytes: :class:`ParseError`.

It lives in this tiny module (no imports) so that ``import rtlib`` stays light and
every parser in the library raises the same class: RTP and RTCP packets
(:mod:`rtlib.rtp`), RTP payloads handed to a depacketizer
(:mod:`rtlib.media.packetize`), FEC and RED packets (:mod:`rtlib.media.fec`).
It is exported as ``rtlib.ParseError`` and ``rtlib.rtp.ParseError``: one class,
two names.

Used in: notebooks/05_rtp_rtcp.ipynb, notebooks/06_codecs.ipynb.
"""

from __future__ import annotations


class ParseError(ValueError):
    """Malformed bytes: truncated, wrong version, bad lengths, padding or payload structure.

    A subclass of :class:`ValueError`, so ``except ValueError`` also catches it.
    Parsers in :mod:`rtlib.rtp` and the depacketizers in :mod:`rtlib.media.packetize`
    raise this and nothing else for bad input (never ``IndexError`` or
    ``struct.error``), which the property tests check on random and mutated bytes.
    """


__all__ = ["ParseError"]
