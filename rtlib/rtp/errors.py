"""The one exception every rtlib.rtp parser raises for malformed bytes.

Used in: notebooks/05_rtp_rtcp.ipynb.
"""

from __future__ import annotations


class ParseError(ValueError):
    """Malformed RTP or RTCP bytes: truncated, wrong version, bad lengths or padding.

    A subclass of :class:`ValueError`, so ``except ValueError`` also catches it.
    Parsers in :mod:`rtlib.rtp` raise this and nothing else for bad input (never
    ``IndexError`` or ``struct.error``), which the property tests check on random and
    mutated bytes.
    """
