"""Fixed playout: wait a constant time, measured from the talkspurt's first packet or from sending.

- :class:`FixedBuffer` is what a simple receiver does: hold the first packet of each
  talkspurt ``buffer_ms`` after it arrives, then play the rest of the talkspurt on
  the sender's clock from there.  Its playout delay is that packet's (lucky or
  unlucky) network delay plus ``buffer_ms``.
- :class:`FixedDelay` plays every frame exactly ``delay_ms`` after it was sent.  A
  receiver cannot do this alone (it does not know the one-way delay), but in
  hindsight it can: the oracle (:mod:`rtlib.media.jitter.oracle`) picks the best
  such delay for a trace.

Used in: notebooks/07_jitter_buffers.ipynb.
"""

from __future__ import annotations

from rtlib.media.jitter.playout import PlayoutPolicy
from rtlib.validate import check_number


class FixedBuffer(PlayoutPolicy):
    """Play each talkspurt ``buffer_ms`` after its first packet arrived."""

    def __init__(self, buffer_ms: float = 60.0):
        self.buffer_s = check_number("buffer_ms", buffer_ms, 0, 10_000, "ms") / 1000.0
        self.name = f"fixed buffer {buffer_ms:g} ms"

    def target_delay_s(self, anchor_delay_s: float) -> float:
        return anchor_delay_s + self.buffer_s


class FixedDelay(PlayoutPolicy):
    """Play every frame ``delay_ms`` after it was sent (needs synchronised clocks, or hindsight)."""

    def __init__(self, delay_ms: float):
        self.delay_s = check_number("delay_ms", delay_ms, 0, 10_000, "ms") / 1000.0
        self.name = f"fixed delay {delay_ms:.1f} ms"

    def target_delay_s(self, anchor_delay_s: float) -> float:
        return self.delay_s
