"""Packet loss: independent (Bernoulli) and bursty (Gilbert-Elliott).

The Gilbert model is a two-state Markov chain per packet: in the *good* state
packets get through, in the *bad* state they are lost.  Set from the two numbers
people quote, the mean loss rate ``loss`` and the mean burst length ``burst_len``
(mean number of consecutive losses):

    p_bg = 1 / burst_len                 (bad -> good: a burst ends)
    p_gb = loss * p_bg / (1 - loss)      (good -> bad: a burst starts)

so that the stationary share of bad packets is p_gb / (p_gb + p_bg) = loss.  Bursts
are then geometric with mean ``burst_len``.  ITU-T G.107 (in its formula for Ie,eff) calls
BurstR = 1 / (p_gb + p_bg) the *burst ratio*: 1 for random loss, > 1 for bursty loss.

``burst_len == 1`` is special: it means independent (Bernoulli) loss, the usual
"random loss" of netem.  (Bernoulli loss at rate p has mean burst length
1 / (1 - p), close to 1 for small p.)

References: E. N. Gilbert, "Capacity of a burst-noise channel", Bell Syst. Tech. J.
39 (1960); E. O. Elliott, "Estimates of error rates for codes on burst-noise
channels", Bell Syst. Tech. J. 42 (1963); RFC 3611 section 4.7.2 (burst metrics);
ITU-T G.107 (BurstR in the effective equipment impairment Ie,eff).

Every function takes per-packet uniforms (or a seed), so the vectorised path and
the event-driven :class:`rtlib.net.sim.Path` see identical losses for one seed.

Used in: notebooks/04_network.ipynb, notebooks/07_jitter_buffers.ipynb.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from rtlib.sim import make_rng


def check_loss(loss, burst_len) -> tuple[float, float]:
    """Validate ``loss`` and ``burst_len``; ValueError names the parameter and its range."""
    if isinstance(loss, bool) or not isinstance(loss, numbers.Real) or not 0 <= loss <= 1:
        raise ValueError(f"loss must be in [0, 1], got {loss!r}")
    if isinstance(burst_len, bool) or not isinstance(burst_len, numbers.Real) or not math.isfinite(burst_len) \
            or burst_len < 1:
        raise ValueError(f"burst_len must be a finite number >= 1 packet (1 = independent loss), got {burst_len!r}")
    loss, burst_len = float(loss), float(burst_len)
    if burst_len > 1 and 0 < loss < 1:
        low = loss / (1 - loss)
        if burst_len < low:
            raise ValueError(
                f"burst_len must be >= loss / (1 - loss) = {low:.4g} packets for loss={loss:g} "
                f"(otherwise bursts could not start often enough), got {burst_len!r}"
            )
    return loss, burst_len


def gilbert_params(loss: float, burst_len: float) -> tuple[float, float]:
    """The transition probabilities ``(p_gb, p_bg)`` of the Gilbert chain for a mean loss and burst length.

    For ``burst_len == 1`` (independent loss) the equivalent chain is returned:
    ``p_gb = loss``, ``p_bg = 1 - loss``.
    """
    loss, burst_len = check_loss(loss, burst_len)
    if burst_len == 1:
        return loss, 1.0 - loss
    if loss == 1:
        return 1.0, 0.0
    p_bg = 1.0 / burst_len
    return loss * p_bg / (1.0 - loss), p_bg


def burst_ratio(loss: float, burst_len: float) -> float:
    """ITU-T G.107 BurstR = 1 / (p_gb + p_bg): 1 for random loss, > 1 when losses cluster."""
    p_gb, p_bg = gilbert_params(loss, burst_len)
    s = p_gb + p_bg
    return 1.0 if s == 0 else 1.0 / s


def losses_from_uniforms(u, loss: float, burst_len: float) -> np.ndarray:
    """Loss flags (True = lost) for packets 0..n-1, one uniform in [0, 1) each.

    Packet 0 draws its state from the stationary distribution (lost iff u < loss);
    packet i > 0 steps the chain: from good, lost iff u < p_gb; from bad, still lost
    iff u < 1 - p_bg.  Vectorised: each uniform maps the previous state through one
    of four functions (always bad, always good, keep, swap), and a run of "keep/swap"
    after the last "always" just flips the state once per swap.
    """
    loss, burst_len = check_loss(loss, burst_len)
    u = np.asarray(u, dtype=float)
    n = u.size
    if loss == 0 or n == 0:
        return np.zeros(n, dtype=bool)
    if loss == 1:
        return np.ones(n, dtype=bool)
    if burst_len == 1:
        return u < loss
    p_gb, p_bg = gilbert_params(loss, burst_len)
    stay_bad = 1.0 - p_bg
    lo, hi = min(p_gb, stay_bad), max(p_gb, stay_bad)
    to_bad = u < lo  # bad whatever the previous state
    to_good = u >= hi  # good whatever the previous state
    to_bad[0], to_good[0] = u[0] < loss, u[0] >= loss
    fixed = to_bad | to_good
    idx = np.arange(n)
    last_fixed = np.maximum.accumulate(np.where(fixed, idx, 0))
    state = to_bad[last_fixed]
    if p_gb > stay_bad:  # the middle band swaps the state (anti-bursty chains, p_gb + p_bg > 1)
        swaps = np.cumsum(~fixed)
        state = state ^ ((swaps - swaps[last_fixed]) % 2).astype(bool)
    return state


class LossState:
    """The same chain, one packet at a time (for the event-driven :class:`rtlib.net.sim.Path`)."""

    __slots__ = ("loss", "burst_len", "p_gb", "stay_bad", "bad", "started")

    def __init__(self, loss: float, burst_len: float):
        self.loss, self.burst_len = check_loss(loss, burst_len)
        self.p_gb, p_bg = gilbert_params(self.loss, self.burst_len)
        self.stay_bad = 1.0 - p_bg
        self.bad = False
        self.started = False

    def step(self, u: float) -> bool:
        """Advance with one uniform; True when this packet is lost."""
        if self.loss == 0:
            return False
        if self.loss == 1:
            return True
        if self.burst_len == 1:
            return u < self.loss
        if not self.started:
            self.started = True
            self.bad = u < self.loss
        else:
            self.bad = u < (self.stay_bad if self.bad else self.p_gb)
        return self.bad


def loss_pattern(n: int, loss: float, burst_len: float = 1.0, *, seed: int = 0) -> np.ndarray:
    """``n`` loss flags (True = lost) with mean ``loss`` and mean burst length ``burst_len``."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    return losses_from_uniforms(make_rng(seed, "net", "loss").random(int(n)), loss, burst_len)


def burst_lengths(lost) -> np.ndarray:
    """Lengths of the runs of consecutive losses in a loss-flag array (for plots and tests)."""
    x = np.asarray(lost, dtype=bool).astype(np.int8)
    d = np.diff(np.concatenate(([0], x, [0])))
    return np.flatnonzero(d == -1) - np.flatnonzero(d == 1)
