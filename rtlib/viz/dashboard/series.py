"""Stats samples in, plotted series and summaries out: the dashboard's arithmetic, no drawing.

A sample is a plain dict with the fields of :class:`rtlib.live.stats.StatsSample`
(:data:`SAMPLE_FIELDS`, any of them None when unknown), so everything here works as
well on a ``CallStats`` as on its JSON.  :func:`derive` makes the plotted series,
:func:`summarize` the report's table, :func:`first_response` says which metric
answered an impairment and when.

Used in: notebooks/12_live_call.ipynb.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

# The fields of a stats sample the dashboard reads (rtlib.live.stats.StatsSample); any may be None.
SAMPLE_FIELDS = ("t_s", "rtt_ms", "jitter_ms", "loss_fraction", "packets_lost", "packets_received", "send_kbps",
                 "recv_kbps", "frames_decoded", "fps", "freeze_count", "freeze_s", "e2e_delay_ms",
                 "audio_concealed_ms")

#: How far back the loss panel looks (s): loss is the share of packets missing in this window.
LOSS_WINDOW_S = 1.0



# -- samples in, series out ------------------------------------------------------------------

def sample_dict(sample) -> dict:
    """One sample as a plain dict (a ``StatsSample``, anything with ``to_dict``, or a dict)."""
    if isinstance(sample, dict):
        d = sample
    elif hasattr(sample, "to_dict"):
        d = sample.to_dict()
    else:
        raise ValueError(f"a stats sample must be a dict or have to_dict(), got {type(sample).__name__}")
    if d.get("t_s") is None:
        raise ValueError(f"a stats sample needs its time t_s (s since the call started), got {d!r}")
    return d


def _column(samples: list[dict], key: str) -> np.ndarray:
    return np.array([np.nan if s.get(key) is None else float(s[key]) for s in samples], dtype=float)


def derive(samples: list[dict]) -> dict[str, np.ndarray]:
    """The plotted series of a list of sample dicts (one value per sample, NaN when unknown).

    ``loss_pct``: packets missing over the last :data:`LOSS_WINDOW_S`, from the
    cumulative ``packets_lost`` / ``packets_received`` (the receiver's view, RFC 3550
    A.3); where those are unknown, the reported ``loss_fraction``.  ``stall_pct``: the
    cumulative ``freeze_s``, plus a freeze still in progress (:func:`ongoing_freeze_s`),
    over the time so far.
    """
    t = _column(samples, "t_s")
    out = {k: _column(samples, k) for k in ("e2e_delay_ms", "rtt_ms", "jitter_ms", "send_kbps", "recv_kbps", "fps")}
    out["t_s"] = t
    lost, got = _column(samples, "packets_lost"), _column(samples, "packets_received")
    loss = _column(samples, "loss_fraction") * 100.0
    if t.size:
        back = np.searchsorted(t, t - LOSS_WINDOW_S, side="left")
        d_lost, d_got = lost - lost[back], got - got[back]
        total = d_lost + d_got
        with np.errstate(invalid="ignore", divide="ignore"):
            window = np.where(total > 0, 100.0 * np.clip(d_lost, 0, None) / total, np.nan)
        # the first sample has no window behind it: count from the start of the call
        with np.errstate(invalid="ignore", divide="ignore"):
            start = np.where(lost + got > 0, 100.0 * np.clip(lost, 0, None) / (lost + got), np.nan)
        window = np.where(back == np.arange(t.size), start, window)
        loss = np.where(np.isfinite(window), window, loss)
    out["loss_pct"] = loss
    freeze = _column(samples, "freeze_s") + ongoing_freeze_s(t, _column(samples, "frames_decoded"))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["stall_pct"] = np.where(t > 0, 100.0 * freeze / t, np.nan)
    out["freeze_count"] = _column(samples, "freeze_count")
    return out


#: No frame decoded for this long (s) while the call runs: the picture is frozen now.
ONGOING_FREEZE_S = 0.5


def ongoing_freeze_s(t_s: np.ndarray, frames_decoded: np.ndarray) -> np.ndarray:
    """At each sample, how long the picture has been frozen *so far* (0 when it is moving).

    W3C's ``totalFreezesDuration`` counts a freeze when the next frame arrives, so
    during an outage it stays flat and jumps when the picture returns.  A player's
    user sees the freeze while it lasts; so does the dashboard: no new decoded frame
    for :data:`ONGOING_FREEZE_S` or more is a freeze in progress, counted from the
    last sample that brought a frame.  When it ends, W3C's count takes over.
    """
    out = np.zeros(t_s.shape)
    last_t = 0.0
    prev = -math.inf
    for i, (t, f) in enumerate(zip(t_s, frames_decoded)):
        if not math.isfinite(f):
            continue
        if f > prev:
            last_t, prev = t, f
        elif t - last_t >= ONGOING_FREEZE_S:
            out[i] = t - last_t
    return out


def _top(values: np.ndarray, min_top: float) -> float:
    finite = values[np.isfinite(values)]
    peak = float(finite.max()) if finite.size else 0.0
    return max(min_top, peak * 1.15)


def _percentile(x: np.ndarray, q: float) -> float:
    x = x[np.isfinite(x)]
    return float(np.percentile(x, q)) if x.size else math.nan


def summarize(samples: Iterable) -> dict:
    """A finished call in numbers: the rows of the report's table.

    Durations in s, delays in ms (p50 and p95 over the samples), loss as a fraction
    of the packets (from the last cumulative counters, else the mean reported
    fraction), bitrates in kbit/s (mean), frame rate in fps (mean), freezes as
    counted by the receiver, stall rate = frozen share of the call.
    """
    rows = [sample_dict(s) for s in samples]
    if not rows:
        raise ValueError("summarize needs at least one stats sample")
    d = derive(rows)
    t = d["t_s"]
    last = rows[-1]
    lost, got = last.get("packets_lost"), last.get("packets_received")
    if lost is not None and got is not None and lost + got > 0:
        loss = max(lost, 0) / (lost + got)
    else:
        loss = float(np.nanmean(_column(rows, "loss_fraction"))) if any(r.get("loss_fraction") is not None for r in rows) else math.nan
    freeze_s = last.get("freeze_s")
    duration = float(t[-1]) if t.size else math.nan

    def mean(key):
        v = d[key][np.isfinite(d[key])]
        return float(v.mean()) if v.size else math.nan

    return {
        "duration_s": duration,
        "e2e_delay_p50_ms": _percentile(d["e2e_delay_ms"], 50), "e2e_delay_p95_ms": _percentile(d["e2e_delay_ms"], 95),
        "rtt_p50_ms": _percentile(d["rtt_ms"], 50),
        "jitter_p50_ms": _percentile(d["jitter_ms"], 50), "jitter_p95_ms": _percentile(d["jitter_ms"], 95),
        "loss": float(loss),
        "send_kbps_mean": mean("send_kbps"), "recv_kbps_mean": mean("recv_kbps"),
        "fps_mean": mean("fps"),
        "frames_decoded": last.get("frames_decoded"),
        "freeze_count": last.get("freeze_count"),
        "freeze_s": freeze_s,
        "stall_rate": (freeze_s / duration) if freeze_s is not None and duration > 0 else math.nan,
        "audio_concealed_ms": last.get("audio_concealed_ms"),
    }


# -- which metric answers an impairment, and when ------------------------------------------

#: series -> (direction, absolute step, relative step): a sample "responds" when it leaves the
#: median of the second before the change by more than both steps, in that direction.
RESPONSE_RULES = {
    "e2e_delay_ms": ("up", 20.0, 0.3),
    "rtt_ms": ("up", 20.0, 0.3),
    "loss_pct": ("up", 2.0, 0.0),
    "jitter_ms": ("up", 3.0, 0.5),
    "recv_kbps": ("either", 100.0, 0.25),
    "fps": ("down", 5.0, 0.2),
    "stall_pct": ("up", 1.0, 0.0),
}
#: what the response table calls each series
RESPONSE_NAMES = {"e2e_delay_ms": "end-to-end delay", "rtt_ms": "RTT", "loss_pct": "loss", "jitter_ms": "jitter",
                  "recv_kbps": "received bitrate", "fps": "frame rate", "stall_pct": "stall rate"}


def first_response(samples, at_s: float, until_s: float, *, baseline_s: float = 1.0,
                   grace_s: float = 0.5) -> dict[str, float | None]:
    """For each series of :data:`RESPONSE_RULES`: seconds from ``at_s`` (an impairment switched
    on) to the first sample that leaves its baseline, looking until ``until_s + grace_s``; None
    if it never does.  The baseline is the median of the ``baseline_s`` before ``at_s``.

    A sample is taken every 250 ms, so a response reads "within 0.25 s" at best.  A series
    unknown before the change (no baseline) or after it (the delay of frames that never
    arrive) never "responds".
    """
    rows = [sample_dict(s) for s in samples]
    d = derive(rows)
    t = d["t_s"]
    base = (t >= at_s - baseline_s) & (t <= at_s)
    after = (t > at_s) & (t <= until_s + grace_s)
    out: dict[str, float | None] = {}
    for key, (direction, step, rel) in RESPONSE_RULES.items():
        y = d[key]
        b = y[base][np.isfinite(y[base])]
        out[key] = None
        if not b.size:
            continue
        ref = float(np.median(b))
        limit = max(step, rel * abs(ref))
        for ti, yi in zip(t[after], y[after]):
            if not math.isfinite(yi):
                continue
            up, down = yi - ref > limit, ref - yi > limit
            if (direction == "up" and up) or (direction == "down" and down) or (direction == "either" and (up or down)):
                out[key] = float(ti - at_s)
                break
    return out


def synthetic_samples(seconds: float = 6.0, *, step_s: float = 0.25, delay_ms: float = 60.0,
                      events: Iterable[tuple[float, float, str]] = (), seed: int = 0) -> list[dict]:
    """Made-up samples of a call with ``events`` = ``[(start_s, end_s, kind), ...]``, kind one of
    "loss", "outage", "cap", "jitter": for tests and the benchmark's control case, not a model."""
    rng = np.random.default_rng(seed)
    out, lost, got, frames, freezes, frozen = [], 0, 0, 0, 0, 0.0
    events = list(events)
    for i in range(1, int(round(seconds / step_s)) + 1):
        t = i * step_s
        active = {k for a, b, k in events if a <= t < b}
        pk = 0 if "outage" in active else int(step_s * 100)
        lo = int(rng.binomial(int(step_s * 100), 0.2)) if "loss" in active else 0
        got, lost = got + max(pk - lo, 0), lost + lo + (int(step_s * 100) if "outage" in active else 0)
        fps = 0.0 if "outage" in active else (12.0 if "cap" in active else 30.0)
        frames += int(fps * step_s)
        if any(b <= t < b + step_s and k == "outage" for a, b, k in events):
            freezes += 1
            frozen += sum(b - a for a, b, k in events if b <= t < b + step_s and k == "outage")
        out.append({
            "t_s": t, "rtt_ms": 2 * delay_ms + rng.normal(0, 2), "jitter_ms": (15.0 if "jitter" in active else 1.5)
            + abs(rng.normal(0, 0.5)), "loss_fraction": lo / max(pk, 1), "packets_lost": lost,
            "packets_received": got, "send_kbps": 600.0, "recv_kbps": 0.0 if "outage" in active else
            (280.0 if "cap" in active else 590.0), "frames_decoded": frames, "fps": fps, "freeze_count": freezes,
            "freeze_s": frozen, "e2e_delay_ms": None if "outage" in active else delay_ms + 25 + (
                250.0 if "cap" in active else 0.0) + rng.normal(0, 3), "audio_concealed_ms": None,
        })
    return out
