"""The E-model against values worked out by hand from ITU-T G.107 (06/2015)'s formulas."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.quality.emodel import STANDARD, CODECS, G107_DEFAULTS, burst_ratio, emodel, g107, get_codec, mos_from_r, satisfaction


def reference_r(**over) -> dict:
    """G.107 §7.1–7.5 written out term by term with the math module (scalar only)."""
    p = {**G107_DEFAULTS, **over}
    SLR, RLR, STMR, LSTR, Ds, TELR, WEPL = (p[k] for k in ("SLR", "RLR", "STMR", "LSTR", "Ds", "TELR", "WEPL"))
    T, Tr, Ta = p["T"], p["Tr"], p["Ta"]
    OLR = SLR + RLR
    Nfo = p["Nfor"] + RLR
    Pre = p["Pr"] + 10 * math.log10(1 + 10 ** ((10 - LSTR) / 10))
    Nor = RLR - 121 + Pre + 0.008 * (Pre - 35) ** 2
    Nos = p["Ps"] - SLR - Ds - 100 + 0.004 * (p["Ps"] - OLR - Ds - 14) ** 2
    No = 10 * math.log10(sum(10 ** (x / 10) for x in (p["Nc"], Nos, Nor, Nfo)))
    Ro = 15 - 1.5 * (SLR + No)
    Xolr = OLR + 0.2 * (64 + No - RLR)
    Iolr = 20 * ((1 + (Xolr / 8) ** 8) ** (1 / 8) - Xolr / 8)
    STMRo = -10 * math.log10(10 ** (-STMR / 10) + math.exp(-T / 4) * 10 ** (-TELR / 10))
    Ist = (12 * (1 + ((STMRo - 13) / 6) ** 8) ** (1 / 8) - 28 * (1 + ((STMRo + 1) / 19.4) ** 35) ** (1 / 35)
           - 13 * (1 + ((STMRo - 3) / 33) ** 13) ** (1 / 13) + 29)
    Q = 37 - 15 * math.log10(p["qdu"])
    G = 1.07 + 0.258 * Q + 0.0602 * Q * Q
    Y = (Ro - 100) / 15 + 46 / 8.4 - G / 9
    Z = 46 / 30 - G / 40
    Iq = 15 * math.log10(1 + 10**Y + 10**Z)
    Is = Iolr + Ist + Iq
    Roe = -1.5 * (No - RLR)
    TERV = TELR - 40 * math.log10((1 + T / 10) / (1 + T / 150)) + 6 * math.exp(-0.3 * T * T)
    if STMR < 9:
        TERV += Ist / 2
    Re = 80 + 2.5 * (TERV - 14)
    Idte = ((Roe - Re) / 2 + math.sqrt((Roe - Re) ** 2 / 4 + 100) - 1) * (1 - math.exp(-T))
    if STMR > 20:
        Idte = math.sqrt(Idte**2 + Ist**2)
    Rle = 10.5 * (WEPL + 7) * (Tr + 1) ** -0.25
    Idle = (Ro - Rle) / 2 + math.sqrt((Ro - Rle) ** 2 / 4 + 169)
    if Ta > p["mT"]:
        X = math.log2(Ta / p["mT"])
        m = 6 * p["sT"]
        Idd = 25 * ((1 + X**m) ** (1 / m) - 3 * (1 + (X / 3) ** m) ** (1 / m) + 2)
    else:
        Idd = 0.0
    Ie, Ppl = p["Ie"], p["Ppl"]
    Ie_eff = Ie + (95 - Ie) * Ppl / (Ppl / p["BurstR"] + p["Bpl"])
    R = Ro - Is - (Idte + Idle + Idd) - Ie_eff + p["A"]
    return dict(R=R, Ro=Ro, Is=Is, Idte=Idte, Idle=Idle, Idd=Idd, Ie_eff=Ie_eff)


# --- the default connection: G.107 §7.7 says R = 93.2 ----------------------------------

def test_default_r_is_93_2():
    res = g107()
    assert round(res.R, 1) == 93.2
    # The published breakdown of the default: Ro = 94.77, Is = 1.41, Id = 0.15.
    assert res.Ro == pytest.approx(94.77, abs=0.005)
    assert res.Is == pytest.approx(1.41, abs=0.005)
    assert res.Id == pytest.approx(0.15, abs=0.005)
    assert res.Idte == 0.0 and res.Idd == 0.0 and res.Ie_eff == 0.0 and res.A == 0.0
    assert res.MOS == pytest.approx(4.41, abs=0.005)


def test_default_terms_match_the_hand_computation():
    ref = reference_r()
    res = g107()
    for k, v in ref.items():
        assert getattr(res, k) == pytest.approx(v, abs=1e-9), k


def test_emodel_at_zero_delay_and_loss_is_the_default():
    assert emodel(0.0, 0.0, "g711").R == pytest.approx(g107().R, abs=1e-12)


# --- the delay impairment Idd (G.107 §7.4) ----------------------------------------------

def test_idd_is_zero_up_to_mt_and_at_known_points():
    assert emodel(100.0, echo=False).Idd == 0.0
    # X = 1 at Ta = 200 ms: 25 (2^(1/6) - 3 (1 + 3^-6)^(1/6) + 2)
    x1 = 25 * (2 ** (1 / 6) - 3 * (1 + 3 ** -6) ** (1 / 6) + 2)
    assert emodel(200.0, echo=False).Idd == pytest.approx(x1, rel=1e-12)
    assert x1 == pytest.approx(3.04, abs=0.01)
    # X = 2 at Ta = 400 ms: 25 (65^(1/6) - 3 (1 + (2/3)^6)^(1/6) + 2)
    x2 = 25 * (65 ** (1 / 6) - 3 * (1 + (2 / 3) ** 6) ** (1 / 6) + 2)
    assert emodel(400.0, echo=False).Idd == pytest.approx(x2, rel=1e-12)
    assert x2 == pytest.approx(24.07, abs=0.01)


def test_mt_and_st_change_the_delay_curve():
    base = g107(Ta=300.0).Idd
    assert g107(Ta=300.0, mT=300.0).Idd == 0.0  # nothing below the minimum perceivable delay
    assert g107(Ta=300.0, mT=150.0).Idd < base  # a later onset: less impairment
    assert g107(Ta=300.0, sT=0.5).Idd != pytest.approx(base)


def test_echo_terms_with_default_echo_losses():
    # Talker echo at T = 100 ms with TELR 65 dB, worked out from §7.4.
    ref = reference_r(T=100.0, Tr=200.0, Ta=100.0)
    res = emodel(100.0)
    assert res.Idte == pytest.approx(ref["Idte"], abs=1e-9)
    assert res.Idle == pytest.approx(ref["Idle"], abs=1e-9)
    assert res.Idte == pytest.approx(1.96, abs=0.01)
    # Echo-free: T = Tr = 0, so Idte = 0 and Idle keeps its default 0.15.
    free = emodel(100.0, echo=False)
    assert free.Idte == 0.0 and free.Idle == pytest.approx(0.149, abs=0.001)


def test_sidetone_branches():
    for stmr in (5.0, 25.0):  # TERVs below 9 dB, Idtes above 20 dB
        ref = reference_r(STMR=stmr, T=150.0, Tr=300.0, Ta=150.0)
        res = g107(STMR=stmr, T=150.0, Tr=300.0, Ta=150.0)
        for k in ("R", "Idte", "Is"):
            assert getattr(res, k) == pytest.approx(ref[k], abs=1e-9), (stmr, k)


# --- Ie,eff (G.107 §7.5) with G.113 codec values -----------------------------------------

@pytest.mark.parametrize(
    "codec,plc,loss,burst_r,expected",
    [
        ("g711", False, 0.01, 1.0, 95 * 1 / (1 + 4.3)),  # 17.92
        ("g711", True, 0.01, 1.0, 95 * 1 / (1 + 25.1)),  # 3.64
        ("g729a", True, 0.02, 1.0, 11 + 84 * 2 / (2 + 19.0)),  # 19.0
        ("g723.1", True, 0.03, 1.0, 15 + 80 * 3 / (3 + 16.1)),
        ("gsm-efr", True, 0.01, 1.0, 5 + 90 * 1 / (1 + 10.0)),
        ("g711", True, 0.05, 2.0, 95 * 5 / (5 / 2 + 25.1)),  # bursty loss hurts more
    ],
)
def test_ie_eff_by_hand(codec, plc, loss, burst_r, expected):
    assert emodel(0.0, loss, codec, plc=plc, burst_r=burst_r).Ie_eff == pytest.approx(expected, rel=1e-12)


def test_g113_values():
    assert (CODECS["g711"].Ie, CODECS["g711"].bpl(True), CODECS["g711"].bpl(False)) == (0.0, 25.1, 4.3)
    assert (CODECS["g729a"].Ie, CODECS["g729a"].bpl()) == (11.0, 19.0)
    assert get_codec("PCMU") is CODECS["g711"] and get_codec("g729") is CODECS["g729a"]


def test_full_result_matches_the_hand_computation_with_loss_and_delay():
    res = emodel(250.0, 0.03, "g729a", burst_r=1.5)
    ref = reference_r(Ta=250.0, T=250.0, Tr=500.0, Ppl=3.0, BurstR=1.5, Ie=11.0, Bpl=19.0)
    for k, v in ref.items():
        assert getattr(res, k) == pytest.approx(v, abs=1e-9), k


# --- R -> MOS (Annex B) -------------------------------------------------------------------

def test_mos_at_the_annex_b_category_boundaries():
    # G.107 Table B.1: R 90, 80, 70, 60, 50 -> MOS 4.34, 4.03, 3.60, 3.10, 2.58 (the table's
    # 4.03 is the formula's 4.024 rounded up; the others agree to the printed digit).
    for r, mos in ((90, 4.34), (80, 4.03), (70, 3.60), (60, 3.10), (50, 2.58)):
        assert mos_from_r(r) == pytest.approx(mos, abs=0.0065)
    assert mos_from_r(80) == pytest.approx(1 + 0.035 * 80 + 80 * 20 * 20 * 7e-6, abs=1e-12)
    assert mos_from_r(-5) == 1.0 and mos_from_r(0) == 1.0
    assert mos_from_r(100) == pytest.approx(4.5) and mos_from_r(120) == 4.5
    assert mos_from_r(3.0) == 1.0  # the polynomial's dip below 1 is clipped
    assert satisfaction(93.2) == "very satisfied" and satisfaction(75) == "some users dissatisfied"
    assert satisfaction(10) == "not recommended"


def test_burst_ratio_from_gilbert_parameters():
    # Random loss: mean burst 1 / (1 - p) gives BurstR = 1.
    assert burst_ratio(0.2, 1 / 0.8) == pytest.approx(1.0)
    assert burst_ratio(0.02, 3.0) == pytest.approx(2.94)
    with pytest.raises(ValueError, match="mean_burst_packets must be in"):
        burst_ratio(0.1, 0.5)


# --- vectorised ---------------------------------------------------------------------------

def test_arrays_broadcast_and_match_scalars():
    delays = np.array([0.0, 120.0, 300.0])
    losses = np.array([[0.0], [0.05]])
    res = emodel(delays, losses, "g729a")
    assert res.R.shape == (2, 3) and res.MOS.shape == (2, 3)
    for i, lo in enumerate(losses[:, 0]):
        for j, d in enumerate(delays):
            assert res.R[i, j] == pytest.approx(emodel(float(d), float(lo), "g729a").R, abs=1e-12)
    scalar = emodel(100.0, 0.02, burst_r=2.0)
    assert all(type(getattr(scalar, f.name)) is float for f in dataclasses.fields(scalar))  # every term, MOS too
    d = res.to_dict()
    assert isinstance(d["R"], list) and isinstance(emodel(1.0).to_dict()["R"], float)


# --- properties ---------------------------------------------------------------------------

codecs = st.sampled_from(sorted(CODECS))
delays = st.floats(0.0, 3000.0)
losses = st.floats(0.0, 1.0)
bursts = st.floats(1.0, 20.0)


@settings(max_examples=200, deadline=None)
@given(codecs, delays, delays, losses, bursts, st.booleans())
def test_more_delay_never_helps(codec, d1, d2, loss, burst_r, echo):
    # With echo, G.107's talker-echo term is slightly negative for T < ~1 ms (R peaks at
    # 93.26 at 1 ms); from there on, and always when echo-free, more delay never helps.
    lo, hi = sorted((d1, d2))
    if echo:
        lo, hi = max(lo, 1.0), max(hi, 1.0)
    a = emodel(lo, loss, codec, burst_r=burst_r, echo=echo)
    b = emodel(hi, loss, codec, burst_r=burst_r, echo=echo)
    assert b.R <= a.R + 1e-9 and b.Id >= a.Id - 1e-9 and b.MOS <= a.MOS + 1e-9


def test_g107_quirk_near_zero_delay_is_kept():
    # Faithful to the formula: a 1 ms echo path scores a hair better than none.
    assert emodel(1.0).R > emodel(0.0).R
    assert emodel(1.0).R == pytest.approx(reference_r(Ta=1.0, T=1.0, Tr=2.0)["R"], abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(codecs, delays, losses, losses, bursts)
def test_more_loss_never_helps(codec, delay, l1, l2, burst_r):
    lo, hi = sorted((l1, l2))
    a = emodel(delay, lo, codec, burst_r=burst_r)
    b = emodel(delay, hi, codec, burst_r=burst_r)
    assert b.Ie_eff >= a.Ie_eff - 1e-9 and b.R <= a.R + 1e-9


@settings(max_examples=200, deadline=None)
@given(codecs, delays, losses, bursts, bursts)
def test_burstier_loss_never_helps(codec, delay, loss, b1, b2):
    lo, hi = sorted((b1, b2))
    assert emodel(delay, loss, codec, burst_r=hi).R <= emodel(delay, loss, codec, burst_r=lo).R + 1e-9


@settings(max_examples=200, deadline=None)
@given(delays, losses, bursts)
def test_concealment_never_hurts_and_ie_eff_stays_in_range(delay, loss, burst_r):
    with_plc = emodel(delay, loss, "g711", plc=True, burst_r=burst_r)
    without = emodel(delay, loss, "g711", plc=False, burst_r=burst_r)
    assert with_plc.R >= without.R - 1e-9
    rand = emodel(delay, loss, "g711", plc=False)
    assert 0.0 <= rand.Ie_eff <= 95.0  # random loss: Ie,eff tends to 95 at most


@settings(max_examples=300, deadline=None)
@given(st.floats(-50, 150), st.floats(-50, 150))
def test_mos_is_monotone_and_bounded(r1, r2):
    lo, hi = sorted((r1, r2))
    assert 1.0 <= mos_from_r(lo) <= mos_from_r(hi) + 1e-12 <= 4.5 + 1e-12


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(delay_ms=-1.0), r"delay_ms must be in \[0, inf\] ms, got -1"),
        (dict(delay_ms=float("nan")), "delay_ms must be finite"),
        (dict(delay_ms="100"), "delay_ms must be a number"),
        (dict(delay_ms=True), "delay_ms must be a number"),
        (dict(loss=1.5), r"loss must be in \[0, 1\], got 1.5"),
        (dict(loss=-0.1), r"loss must be in \[0, 1\]"),
        (dict(loss=np.array([0.1, 2.0])), r"loss must be in \[0, 1\], got 2"),
        (dict(burst_r=0.0), "burst_r must be in"),
        (dict(codec="opus"), "codec must be one of"),
        (dict(codec="g729a", plc=False), "built-in loss concealment"),
        (dict(plc="yes"), "plc must be True or False"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        emodel(**kwargs)


def test_bad_g107_parameters():
    with pytest.raises(ValueError, match="unknown G.107 parameter"):
        g107(Tx=3)
    with pytest.raises(ValueError, match=r"Ppl must be in \[0, 100\] %"):
        g107(Ppl=120)
    with pytest.raises(ValueError, match=r"Ie must be in \[0, 95\]"):
        g107(Ie=-1)
    with pytest.raises(ValueError, match="R must be finite"):
        mos_from_r(float("inf"))
    assert STANDARD.startswith("ITU-T G.107")
