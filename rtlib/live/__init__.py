"""Real-time drivers: asyncio UDP on loopback, the impairment relay, the aiortc call, getStats.

| module | what it holds |
| --- | --- |
| :mod:`rtlib.live.impair` | sans-IO: :class:`Impairment` (chapter 04's path parameters, live) and :class:`ImpairedDirection` (a datagram's fate and departure time) |
| :mod:`rtlib.live.relay` | :class:`UdpRelay`: two UDP sockets on 127.0.0.1 through which every datagram of a call flows, impaired; pcap of what it forwarded |
| :mod:`rtlib.live.loopback` | :func:`loopback_candidates`: aioice gathers 127.0.0.1 host candidates, only for the call that asks |
| :mod:`rtlib.live.aiortc_call` | a real WebRTC call (Opus + VP8, DTLS-SRTP) between two aiortc peers through the relay; glass-to-glass delay from time codes in the pixels |
| :mod:`rtlib.live.endpoint` | the course's own RTP endpoints (rtlib.rtp + rtlib.cc) live over the relay |
| :mod:`rtlib.live.stats` | :class:`StatsSample` / :class:`CallStats`: the dashboard's 250 ms samples; W3C freeze detector |

Used in: notebooks/12_live_call.ipynb and the live cells of 02 and 05; ``python -m rtlib live-call``.
"""

from rtlib.live.impair import ImpairedDirection, Impairment
from rtlib.live.relay import UdpRelay
from rtlib.live.stats import CallStats, FreezeDetector, StatsSample

__all__ = ["CallStats", "FreezeDetector", "ImpairedDirection", "Impairment", "StatsSample", "UdpRelay"]
