"""Simulcast: several encodings per sender, one chosen per receiver (RFC 8853, RFC 7741).

A simulcast sender (RFC 8853 §5: one SSRC and one RID per encoding) sends the same
camera at several sizes and rates, here three **layers**: 180p / 360p / 720p at
150 / 500 / 1500 kbit/s (:data:`DEFAULT_LAYERS_KBPS`).  The SFU forwards to each
receiver the one layer that receiver's downlink can carry.  Two rules make that
smooth:

1. **Hysteresis** (:class:`LayerSelector`): go *up* only once the estimate has
   stayed above the next layer's rate (times ``up_margin``) for ``up_hold_s``; go
   *down* once the current layer has been above the estimate (times
   ``down_margin``) for ``down_hold_s``.  Without it a noisy estimate flips the
   layer every few frames.
2. **Switch on a keyframe only.**  Layers are independent VP8 streams (RFC 7741):
   the receiver's decoder cannot continue layer B's inter frames from layer A's
   pictures.  So the SFU asks the sender for a keyframe on the target layer (PLI,
   RFC 4585 §6.3.1, merged with other receivers' requests) and switches when the
   first packet of that keyframe arrives (:func:`vp8_keyframe_start`).  Going up,
   it keeps forwarding the old layer meanwhile (no freeze); going down, the old
   layer no longer fits the link, so it stops at once and the receiver's picture
   freezes until the keyframe comes: the **freeze time while waiting for a
   keyframe** the SFU counts.

The layer selector is small and sans-IO on purpose: ``update(now_s, estimate_kbps)
-> layer``; the notebook's exercise asks learners to write one against a recorded
bandwidth trace (:func:`replay`), and :func:`over_estimate_spans` measures how long
a selector kept a layer above the estimate.

Used in: notebooks/10_many_participants.ipynb, :mod:`rtlib.conf.sfu`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from rtlib.conf.topology import DEFAULT_LAYERS_KBPS, check_layers

LAYER_NAMES = ("180p", "360p", "720p", "1080p")
LAYER_SIZES = ((320, 180), (640, 360), (1280, 720), (1920, 1080))


def vp8_keyframe_start(payload: bytes) -> bool:
    """Whether this RTP payload starts a VP8 keyframe (RFC 7741 §4.2 and §4.3).

    The payload descriptor's S bit is set and PID is 0 (the first packet of the
    frame), and the P bit (bit 0 of the first byte of the VP8 payload header, after
    the descriptor) is 0: "P: Inverse key frame flag" (RFC 7741 §4.3).
    """
    n = len(payload)
    if n < 2:
        return False
    b0 = payload[0]
    if not b0 & 0x10 or b0 & 0x0F:
        return False
    pos = 1
    if b0 & 0x80:  # X: extension byte, then I (PictureID), L (TL0PICIDX), T/K
        ext = payload[1]
        pos = 2
        if ext & 0x80:
            if pos >= n:
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:
            pos += 1
        if ext & 0x30:
            pos += 1
    return pos < n and not payload[pos] & 0x01


def _check_pos(value, name: str, lo: float, hi: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or not lo <= value <= hi:
        raise ValueError(f"{name} must be a number in [{lo:g}, {hi:g}] {unit}, got {value!r}")
    return float(value)


class LayerSelector:
    """Pick a simulcast layer from one receiver's bandwidth estimate, with hysteresis.

    Sans-IO: call :meth:`update` with the time and the receiver's current estimate
    (kbit/s available for *this* video stream); it returns the layer index the SFU
    should aim for.  ``layer`` is the current target, ``switches`` counts changes.

    - Up: the estimate has stayed ≥ ``up_margin`` × the next layer's rate for
      ``up_hold_s`` (WebRTC and mediasoup wait for a stable estimate before asking
      for a bigger layer: an upswitch costs a keyframe).
    - Down: the current layer has stayed > ``down_margin`` × the estimate for
      ``down_hold_s``; then the highest layer that fits is chosen (jumps may skip a
      layer).  ``down_hold_s`` bounds how long a layer above the estimate is kept:
      the property tests check it.

    The layer is never below 0: when nothing fits, the lowest layer is sent.
    """

    def __init__(self, layers_kbps=DEFAULT_LAYERS_KBPS, *, start_layer: int = 0, up_margin: float = 1.15,
                 up_hold_s: float = 2.0, down_margin: float = 1.0, down_hold_s: float = 0.5):
        self.layers_kbps = check_layers(layers_kbps)
        if isinstance(start_layer, bool) or not isinstance(start_layer, numbers.Integral) \
                or not 0 <= start_layer < len(self.layers_kbps):
            raise ValueError(f"start_layer must be an integer in [0, {len(self.layers_kbps) - 1}], got {start_layer!r}")
        self.up_margin = _check_pos(up_margin, "up_margin", 1.0, 3.0, "")
        self.up_hold_s = _check_pos(up_hold_s, "up_hold_s", 0.0, 60.0, "s")
        self.down_margin = _check_pos(down_margin, "down_margin", 1.0, 3.0, "")
        self.down_hold_s = _check_pos(down_hold_s, "down_hold_s", 0.0, 10.0, "s")
        self.layer = int(start_layer)
        self.switches = 0
        self._up_since: float | None = None
        self._down_since: float | None = None

    @property
    def hysteresis_s(self) -> float:
        """The longest a layer above the estimate is kept (``down_hold_s``)."""
        return self.down_hold_s

    def fitting_layer(self, estimate_kbps: float) -> int:
        """The highest layer whose rate × ``down_margin`` fits the estimate (0 if none)."""
        best = 0
        for i, r in enumerate(self.layers_kbps):
            if r * self.down_margin <= estimate_kbps:
                best = i
        return best

    def update(self, now_s: float, estimate_kbps: float) -> int:
        """Feed one estimate; return the target layer."""
        rates = self.layers_kbps
        cur = self.layer
        # down: the current layer does not fit
        if cur > 0 and rates[cur] * self.down_margin > estimate_kbps:
            if self._down_since is None:
                self._down_since = now_s
            if now_s - self._down_since >= self.down_hold_s:
                self.layer = self.fitting_layer(estimate_kbps)
                self.switches += 1
                self._down_since = self._up_since = None
            return self.layer
        self._down_since = None
        # up: the next layer fits with margin, for long enough
        if cur + 1 < len(rates) and estimate_kbps >= rates[cur + 1] * self.up_margin:
            if self._up_since is None:
                self._up_since = now_s
            if now_s - self._up_since >= self.up_hold_s:
                self.layer = cur + 1
                self.switches += 1
                self._up_since = None
        else:
            self._up_since = None
        return self.layer


def replay(selector, times_s, estimates_kbps) -> list[int]:
    """Run a selector (anything with ``update(now_s, estimate_kbps) -> int``) over a trace."""
    return [int(selector.update(float(t), float(e))) for t, e in zip(times_s, estimates_kbps)]


def over_estimate_spans(times_s, estimates_kbps, layers, layers_kbps) -> list[float]:
    """Durations (s) of each stretch where the chosen layer's rate exceeded the estimate.

    A stretch runs from the first sample above to the first sample that is not.
    """
    spans, start = [], None
    for t, e, k in zip(times_s, estimates_kbps, layers):
        above = layers_kbps[k] > e and k > 0
        if above and start is None:
            start = t
        elif not above and start is not None:
            spans.append(t - start)
            start = None
    if start is not None:
        spans.append(times_s[-1] - start)
    return spans


@dataclass
class SwitchStats:
    """Per receiver and sender: switches done, keyframes asked, freeze while waiting."""

    switches: int = 0
    keyframe_requests: int = 0
    freeze_s: float = 0.0
