"""The classic adaptive playout estimator (Ramjee, Kurose, Towsley, Schulzrinne 1994).

For each arriving packet ``i`` with network delay ``n_i = arrival_i - send_i``, two
exponentially weighted averages are updated (their "Algorithm 1")::

    d_i = α·d_{i-1} + (1 - α)·n_i              # mean delay
    v_i = α·v_{i-1} + (1 - α)·|d_i - n_i|      # mean deviation

and the first packet of each talkspurt is played at ``send + d + K·v``; the rest
of the talkspurt keeps that delay.  The paper uses α = 0.998002 and K = 4: a slow
average (its memory is about 1 / (1 - α) ≈ 500 packets, ten seconds of speech) and
a safety margin of four mean deviations, the same idea as TCP's retransmission
timeout ``SRTT + 4·RTTVAR`` (RFC 6298).

Starting from nothing, an average with α = 0.998 would need hundreds of packets
to forget its initial value.  With ``warmup=True`` (default) the weight of the
``i``-th sample is at least ``1/i``, so the first estimates are plain running means
and the EWMA takes over after ``1/(1-α)`` packets (the usual bias correction of an
exponential average).  The first packet sets ``d`` to its delay and ``v`` to
``initial_v_ms`` (10 ms): with no history at all the very first talkspurt would
otherwise be played with no margin (WebRTC's NetEQ likewise starts from a fixed
guess until packets have arrived).

:func:`adaptive_estimates` is the same computation for a whole array at once, with
``scipy.signal.lfilter`` doing the recursion.

Reference: R. Ramjee, J. Kurose, D. Towsley, H. Schulzrinne, "Adaptive playout
mechanisms for packetized audio applications in wide-area networks", IEEE INFOCOM
1994, pp. 680-688.

Used in: notebooks/07_jitter_buffers.ipynb (and its exercise 7.1).
"""

from __future__ import annotations

import numpy as np

from rtlib.media.jitter.playout import PlayoutPolicy

ALPHA = 0.998002
K = 4.0
INITIAL_V_MS = 10.0  # the deviation assumed before any packet (a prior the warm-up soon forgets)


def _check(alpha, k):
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"alpha must be in [0, 1), got {alpha!r}")
    if not 0.0 <= k <= 20.0:
        raise ValueError(f"k must be in [0, 20], got {k!r}")


VARIANTS = ("exp-avg", "fast-up", "spike")


class AdaptivePlayout(PlayoutPolicy):
    """Ramjee et al.'s adaptive estimator: target playout delay ``d + K·v``.

    ``variant`` picks how ``d`` and ``v`` follow the delays (the paper's numbering):

    - ``"exp-avg"`` (Algorithm 1, the classic): both averaged with weight α.
    - ``"fast-up"`` (Algorithm 2): when a delay is above ``d``, average with the
      much faster weight β = 0.75, so the estimate climbs at once and decays slowly.
    - ``"spike"`` (Algorithm 4): a jump of more than ``2·v + 100 ms`` between two
      packets starts *spike mode*, where ``d`` follows the delays one for one;
      spike mode ends when the delay slope flattens (a smoothed slope below 7.9 ms,
      the paper's 63 samples at 8 kHz).  Outside spikes ``d`` and ``v`` use weight 1/8.
    """

    def __init__(self, alpha: float = ALPHA, k: float = K, *, warmup: bool = True, variant: str = "exp-avg",
                 initial_v_ms: float = INITIAL_V_MS):
        _check(alpha, k)
        if not 0.0 <= initial_v_ms <= 1000.0:
            raise ValueError(f"initial_v_ms must be in [0, 1000] ms, got {initial_v_ms!r}")
        self.initial_v_s = initial_v_ms / 1000.0
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {list(VARIANTS)}, got {variant!r}")
        self.alpha, self.k, self.warmup, self.variant = float(alpha), float(k), warmup, variant
        self.name = f"adaptive (K={k:g})" if variant == "exp-avg" else f"adaptive {variant} (K={k:g})"
        self.d = 0.0
        self.v = 0.0
        self.count = 0
        self.spike = False
        self._prev = [0.0, 0.0]  # n_{i-1}, n_{i-2}
        self._slope = 0.0

    def observe(self, send_s: float, arrival_s: float) -> None:
        n = arrival_s - send_s
        self.count += 1
        if self.count == 1:
            self.d, self.v = n, self.initial_v_s
            self._prev = [n, n]
            return
        if self.variant == "spike":
            self._observe_spike(n)
            return
        a = min(self.alpha, 1.0 - 1.0 / self.count) if self.warmup else self.alpha
        if self.variant == "fast-up" and n > self.d:
            a = min(a, 0.75)
        self.d = a * self.d + (1.0 - a) * n
        self.v = a * self.v + (1.0 - a) * abs(self.d - n)

    def _observe_spike(self, n: float) -> None:
        n1, n2 = self._prev
        if not self.spike:
            if abs(n - n1) > 2.0 * abs(self.v) + 0.100:
                self.spike, self._slope = True, 0.0
        else:
            self._slope = self._slope / 2.0 + abs((2.0 * n - n1 - n2) / 8.0)
            if self._slope <= 63 / 8000:
                self.spike = False
                self._prev = [n, n1]
                return
        if self.spike:
            self.d += n - n1
        else:
            self.d = 0.125 * n + 0.875 * self.d
        self.v = 0.125 * abs(n - self.d) + 0.875 * self.v
        self._prev = [n, n1]

    def target_delay_s(self, anchor_delay_s: float) -> float:
        if self.count == 0:
            return anchor_delay_s
        return self.d + self.k * self.v


def adaptive_estimates(delay_s, alpha: float = ALPHA, *, warmup: bool = True, initial_v_ms: float = INITIAL_V_MS):
    """``(d, v)`` after each packet of ``delay_s`` (in arrival order), vectorised.

    Equal to feeding :class:`AdaptivePlayout` one packet at a time.  Without warm-up
    the recursion is a first-order IIR filter, which ``scipy.signal.lfilter`` runs in
    C; the warm-up weights ``1/i`` make the first ``1/(1-α)`` steps a running mean.
    """
    from scipy.signal import lfilter

    _check(alpha, 0.0)
    n = np.asarray(delay_s, dtype=float)
    if n.ndim != 1 or n.size == 0 or not np.all(np.isfinite(n)):
        raise ValueError("delay_s must be a non-empty 1-D array of finite delays (received packets only)")
    i = np.arange(1, n.size + 1)
    a = np.minimum(alpha, 1.0 - 1.0 / i) if warmup else np.full(n.size, alpha)
    a[0] = 0.0  # the first packet initialises d (and v to the prior)
    d = _ewma(n, a, lfilter)
    dev = np.abs(d - n)
    dev[0] = initial_v_ms / 1000.0  # the prior, as the class does
    v = _ewma(dev, a, lfilter)
    return d, v


def _ewma(x, a, lfilter):
    """y_i = a_i·y_{i-1} + (1 - a_i)·x_i, where a_i = 1 - 1/i (a running mean) until a_i reaches α."""
    alpha = a[-1]
    steady = np.flatnonzero(a[1:] == alpha)  # a[0] = 0 always: the first sample initialises
    start = int(steady[0]) + 1 if steady.size else a.size
    y = np.empty_like(x)
    y[:start] = np.cumsum(x[:start]) / np.arange(1, start + 1)  # weights 1/i: the running mean
    if start < a.size:
        prev = y[start - 1] if start else 0.0
        y[start:], _ = lfilter([1.0 - alpha], [1.0, -alpha], x[start:], zi=[alpha * prev])
    return y
