"""One lossy path, two delivery policies: store-and-forward (IM) and race-the-clock (RTC).

The same stream of messages (one every 20 ms) crosses the same path: a one-way
delay, random extra delay (jitter) and independent random loss.

- **IM** retransmits until delivered (a retransmission timer that doubles after
  each miss, as TCP's does, RFC 6298 §5.5) and shows messages *in order*, so one
  lost message also holds back the ones behind it (head-of-line blocking).  Nothing
  is ever lost; the price is a long tail of delay.
- **RTC** sends each packet once and plays it at a fixed playout deadline; a packet
  that is lost or arrives after its deadline is never played (it is concealed).
  Nothing is ever late; the price is missing audio.

:func:`deliver_two_ways` computes both (vectorised, seeded); the registered
experiment ``two_machines`` draws their delay distributions side by side.

Used in: notebooks/01_im_vs_rtc.ipynb.
"""

from __future__ import annotations

import numpy as np

from rtlib.sim.rng import make_rng
from rtlib.validate import check_number
from rtlib.viz.experiments import Param, experiment

INTERVAL_MS = 20.0


def deliver_two_ways(n: int = 3000, one_way_ms: float = 50.0, jitter_ms: float = 15.0, loss: float = 0.03,
                     playout_ms: float = 120.0, rto_ms: float = 250.0, seed: int = 1) -> dict:
    """Delay from send to "shown/played" for each message under the IM and RTC policies.

    Returns ``im_delay_ms`` (every message, in-order delivery with retransmissions),
    ``rtc_delay_ms`` (``nan`` for a packet never played) and summary figures:
    ``im_p50_ms``, ``im_p99_ms``, ``im_max_ms``, ``rtc_played`` (fraction),
    ``rtc_lost`` and ``rtc_late`` (fractions never played, by cause).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 1_000_000:
        raise ValueError(f"n must be an integer in [1, 1000000], got {n!r}")
    one_way_ms = check_number("one_way_ms", one_way_ms, 0, 10_000, "ms")
    jitter_ms = check_number("jitter_ms", jitter_ms, 0, 10_000, "ms")
    loss = check_number("loss", loss, 0, 0.9)
    playout_ms = check_number("playout_ms", playout_ms, 0, 10_000, "ms")
    rto_ms = check_number("rto_ms", rto_ms, 1, 60_000, "ms")
    send_ms = np.arange(n) * INTERVAL_MS

    # IM: attempts until one gets through; the k-th retry leaves rto * (2^k - 1) after the first.
    retries = make_rng(seed, "im-loss").geometric(1 - loss, size=n) - 1
    wait_ms = rto_ms * (2.0 ** retries - 1)
    im_arrive = send_ms + wait_ms + one_way_ms + make_rng(seed, "im-jitter").exponential(jitter_ms or 1e-12, n)
    im_shown = np.maximum.accumulate(im_arrive)  # in order: nobody overtakes a missing message
    im_delay = im_shown - send_ms

    # RTC: one attempt; played at send + playout_ms if it arrived by then.
    lost = make_rng(seed, "rtc-loss").random(n) < loss
    transit = one_way_ms + make_rng(seed, "rtc-jitter").exponential(jitter_ms or 1e-12, n)
    late = ~lost & (transit > playout_ms)
    played = ~lost & ~late
    rtc_delay = np.where(played, playout_ms, np.nan)
    return {
        "n": n, "one_way_ms": one_way_ms, "jitter_ms": jitter_ms, "loss": loss, "playout_ms": playout_ms,
        "rto_ms": rto_ms, "im_delay_ms": im_delay, "rtc_delay_ms": rtc_delay, "rtc_transit_ms": transit,
        "im_p50_ms": float(np.percentile(im_delay, 50)), "im_p99_ms": float(np.percentile(im_delay, 99)),
        "im_max_ms": float(im_delay.max()), "rtc_played": float(played.mean()),
        "rtc_lost": float(lost.mean()), "rtc_late": float(late.mean()),
    }


def _plot_two(res):
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    fig, ax = new_figure(figsize=(9, 4.4), layout="none")  # fixed margins: a faster redraw
    fig.subplots_adjust(left=0.08, right=0.97, bottom=0.12, top=0.91)
    frac = np.linspace(0, 1, 401)  # the CDF at 401 quantiles draws as well as at every point
    im = np.quantile(res["im_delay_ms"], frac)
    ax.plot(im, 100 * frac, color=COLORS["im"], lw=2.2,
            label=f"IM: 100 % shown, in order; 99 % within {res['im_p99_ms']:.0f} ms, last after "
                  f"{res['im_max_ms'] / 1000:.1f} s")
    played = 100 * res["rtc_played"]
    x0 = max(1.0, res["one_way_ms"] * 0.5)
    ax.plot([x0, res["playout_ms"], res["playout_ms"], 3e4], [0, 0, played, played], color=COLORS["rtc"], lw=2.2,
            label=f"RTC: {played:.1f} % played at {res['playout_ms']:.0f} ms; never played: "
                  f"{100 * res['rtc_lost']:.1f} % lost + {100 * res['rtc_late']:.1f} % late")
    ax.axhline(100, color=COLORS["neutral"], lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlim(x0, 3e4)
    ax.set_ylim(0, 104)
    label_axes(ax, "time from send to shown / played [ms, log scale]", "messages or packets [%]",
               f"Same path ({res['one_way_ms']:.0f} ms, jitter {res['jitter_ms']:.0f} ms, "
               f"{100 * res['loss']:.0f} % loss): two policies")
    legend(ax, where="below", ncols=1)
    return fig


@experiment(
    "two_machines",
    plot=_plot_two,
    notebook="01_im_vs_rtc",
    loss=Param(0.03, 0.0, 0.3, 0.01, label="loss (fraction)"),
    jitter_ms=Param(15.0, 0.0, 100.0, 5.0, label="jitter (mean extra delay)", unit="ms"),
    playout_ms=Param(120.0, 20.0, 400.0, 10.0, label="RTC playout deadline", unit="ms"),
)
def two_machines(loss, jitter_ms, playout_ms) -> dict:
    """IM (retransmit, in order) and RTC (once, on a deadline) over the same lossy path."""
    return deliver_two_ways(loss=loss, jitter_ms=jitter_ms, playout_ms=playout_ms)
