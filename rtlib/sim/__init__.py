"""Virtual-time discrete-event simulation with an asyncio-like face.

``EventLoop`` runs callbacks in timestamp order on a virtual clock, so a protocol
object that is fed ``loop.time()`` behaves the same here as under the real asyncio
drivers of :mod:`rtlib.live`, only far faster than real time and deterministically.

Used in: every chapter notebook that simulates (04, 07, 08, 02, 03, 10).
"""

from rtlib.sim.loop import EventLoop, Handle
from rtlib.sim.rng import make_rng

__all__ = ["EventLoop", "Handle", "make_rng"]
