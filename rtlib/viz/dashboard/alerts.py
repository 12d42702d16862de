"""Alert rules on a call's QoS samples: what an operations team is paged on.

A provider watching thousands of calls cannot look at each dashboard; it pages someone
when a metric of a call crosses a threshold.  A rule here is a threshold per metric
(``None``: not watched); it fires at the first sample where any watched metric is
above its threshold.  Two costs pull against each other: a threshold close to the
normal values fires early on a real fault but also on a busy but healthy call (a false
page), one far from them stays quiet but notices faults late or never.

The samples are the dashboard's (:class:`rtlib.live.stats.StatsSample` as dicts, one per
250 ms): loss is the fraction of the interval's packets, jitter the RFC 3550 estimate,
delay the end-to-end (glass-to-glass) delay, RTT the one RTCP measures.

Used in: notebooks/12_live_call.ipynb (design task 12.4), :mod:`rtlib.checks.ch12`.
"""

from __future__ import annotations

#: metric -> (what it is called, the sample field, the factor from field to metric)
METRICS = {
    "loss_pct": ("loss [%]", "loss_fraction", 100.0),
    "jitter_ms": ("jitter [ms]", "jitter_ms", 1.0),
    "delay_ms": ("end-to-end delay [ms]", "e2e_delay_ms", 1.0),
    "rtt_ms": ("RTT [ms]", "rtt_ms", 1.0),
}


def metric_value(sample: dict, metric: str) -> float | None:
    """``metric`` of one sample (None when the sample has no value for it yet)."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    _, field, factor = METRICS[metric]
    value = sample.get(field)
    return None if value is None else float(value) * factor


def check_rule(rule: dict) -> dict:
    """``rule`` with every metric present (None: not watched), or ValueError naming what is wrong."""
    if not isinstance(rule, dict):
        raise ValueError(f"rule must be a dict of thresholds by metric, got {type(rule).__name__}")
    unknown = sorted(set(rule) - set(METRICS))
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; known: {list(METRICS)}")
    out = {}
    for metric in METRICS:
        value = rule.get(metric)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{metric} must be a threshold >= 0 or None (not watched), got {value!r}")
            value = float(value)
        out[metric] = value
    return out


def first_alert(samples: list[dict], rule: dict, *, after_s: float = 0.0) -> tuple[float, str] | None:
    """``(t_s, metric)`` of the first sample later than ``after_s`` where a watched metric is
    above its threshold, or None if the rule never fires."""
    rule = check_rule(rule)
    for s in samples:
        if s["t_s"] <= after_s:
            continue
        for metric, threshold in rule.items():
            if threshold is None:
                continue
            value = metric_value(s, metric)
            if value is not None and value > threshold:
                return s["t_s"], metric
    return None


def worst_value(samples: list[dict], metric: str, *, until_s: float) -> float:
    """The largest value of ``metric`` up to ``until_s`` (0 when there is none)."""
    values = [v for s in samples if s["t_s"] <= until_s for v in [metric_value(s, metric)] if v is not None]
    return max(values, default=0.0)
