"""Chapter 05's widget experiments compute what they claim (the sweep of ranges is tests/viz)."""

import numpy as np
import pytest

from rtlib.viz.experiments import get_experiment


def test_rtp_arrivals_counts_and_wrap():
    r = get_experiment("rtp_arrivals")(jitter_ms=20, loss=0.1)
    assert r["received"] == r["arrival_s"].size and r["lost"] == r["lost_ext"].size  # nothing lost at the end here
    assert r["seq"].max() > 65000 and r["seq"].min() < 500  # the 16-bit field wrapped
    assert np.all(np.diff(np.sort(r["ext_seq"])) >= 1)  # extended numbers are unique and unwrapped
    assert r["reordered"].sum() > 0
    none = get_experiment("rtp_arrivals")(jitter_ms=0, loss=0)
    assert none["lost"] == 0 and none["reordered"].sum() == 0 and none["jitter_ms"] == pytest.approx(0, abs=1e-9)


def test_jitter_estimate_gain_16_is_rfc3550():
    r = get_experiment("jitter_estimate")(jitter_ms=15, jitter_dist="uniform", gain_inverse=16)
    assert np.allclose(r["j_ms"], r["j_rfc_ms"])
    j = [0.0]
    for d in r["abs_d_ms"]:  # the A.8 recurrence, written out independently of rtlib
        j.append(j[-1] + (d - j[-1]) / 16)
    assert np.allclose(r["j_ms"], j)
    fast = get_experiment("jitter_estimate")(jitter_ms=15, jitter_dist="uniform", gain_inverse=1)
    assert np.allclose(fast["j_ms"][1:], fast["abs_d_ms"])  # gain 1: J is just the last |D|
    assert 0.5 * r["mean_abs_d_ms"] < r["j_ms"][-100:].mean() < 1.5 * r["mean_abs_d_ms"]


def test_rtcp_interval_curve():
    r = get_experiment("rtcp_interval")(session_kbps=64, senders=1, avg_rtcp_bytes=100)
    assert r["receiver_s"][0] == 5.0 and np.all(np.diff(r["receiver_s"]) >= 0)
    assert np.all(r["sender_s"] == 5.0)  # one sender with a quarter of the RTCP bandwidth stays at the minimum
    assert np.all(r["receiver_lo_s"] < r["receiver_s"]) and np.all(r["receiver_s"] < r["receiver_hi_s"])
