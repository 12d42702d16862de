"""The one exception every rtlib.rtp parser raises for malformed bytes.

:class:`ParseError` is defined once, in :mod:`rtlib.errors`, and re-exported here,
so ``rtlib.ParseError is rtlib.rtp.ParseError is rtlib.media.packetize.ParseError``
and ``except rtlib.ParseError`` catches every malformed input in the library.

Used in: notebooks/05_rtp_rtcp.ipynb.
"""

from __future__ import annotations

from rtlib.errors import ParseError

__all__ = ["ParseError"]
