"""Chapter 09's widgets: sensible results, monotone where the physics says so, bad input refused."""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rtlib.audio import experiments as X  # noqa: E402
from rtlib.viz.experiments import REGISTRY  # noqa: E402

NAMES = ("echo_nlms_step", "echo_filter_length", "echo_double_talk", "noise_suppressor")


def test_registered_for_chapter_09():
    for name in NAMES:
        assert REGISTRY[name].notebook == "09_echo_noise" and REGISTRY[name].plot is not None


# -- NLMS step size --------------------------------------------------------------------------------
def test_nlms_step_trades_speed_for_misadjustment():
    slow, mid, fast, wild = (X.echo_nlms_step(mu) for mu in (0.1, 0.5, 1.0, 1.9))
    # a small step is slow to approach the echo path ...
    assert slow["t_to_minus10_s"] > 2 * mid["t_to_minus10_s"]
    # ... and past mu = 0.5 a larger step settles further from it (misadjustment grows with mu)
    assert mid["final_mis_db"] < fast["final_mis_db"] < wild["final_mis_db"]
    assert mid["final_erle_db"] > wild["final_erle_db"] + 6
    # the default converges to something useful
    assert mid["final_mis_db"] < -10 and mid["final_erle_db"] > 15


def test_nlms_step_refuses_unstable_steps():
    for bad in (0.0, 2.0, -0.5):
        with pytest.raises(ValueError, match="step"):
            REGISTRY["echo_nlms_step"](step=bad)
        with pytest.raises(ValueError, match="step"):
            X.echo_nlms_step(bad)


# -- filter length -----------------------------------------------------------------------------------
def test_erle_bound_grows_with_length_and_falls_with_reverberation():
    short = X.echo_filter_length(64.0, 0.1)
    long = X.echo_filter_length(64.0, 0.5)
    assert np.all(np.diff(short["bound_db"]) >= -1e-9)
    assert short["bound_at_db"] > long["bound_at_db"] + 20


@pytest.mark.parametrize("rt60_s", [0.3, 0.5])
def test_fdaf_stays_under_the_bound_and_gains_with_length(rt60_s):
    erle = [X.echo_filter_length(ms, rt60_s)["fdaf_erle_db"] for ms in (16.0, 64.0, 128.0)]
    bound = [X.echo_filter_length(ms, rt60_s)["bound_at_db"] for ms in (16.0, 64.0, 128.0)]
    assert erle[0] < erle[1] < erle[2]
    assert all(e <= b + 1.0 for e, b in zip(erle, bound))
    assert bound[0] - erle[0] < 3.0   # a short filter converges: the tail is what stops it


def test_erle_bound_by_hand():
    h = np.array([1.0, 0.5, 0.25, 0.0])
    # 2 taps leave 0.0625 of 1.3125: 13.2 dB
    assert math.isclose(float(X.erle_bound_db(h, 2)[0]), 10 * math.log10(1.3125 / 0.0625))
    with pytest.raises(ValueError, match="taps"):
        X.erle_bound_db(h, 0)


def test_filter_length_refuses_bad_values():
    with pytest.raises(ValueError, match="rt60_s"):
        X.echo_filter_length(64.0, 0.25)
    with pytest.raises(ValueError, match="rt60_s"):
        REGISTRY["echo_filter_length"](rt60_s=0.9)
    with pytest.raises(ValueError, match="filter_ms"):
        X.echo_filter_length(8.0, 0.3)


# -- double talk -----------------------------------------------------------------------------------------
def test_detectors_keep_the_filter_from_diverging():
    none, geigel, ncc = (X.echo_double_talk(d, 6.0) for d in ("none", "geigel", "ncc"))
    assert none["worst_mis_db"] > 0 > -5 > ncc["worst_mis_db"]
    assert geigel["worst_mis_db"] < none["worst_mis_db"] - 5
    # both freeze mostly while the near end talks; without a detector nothing is frozen
    assert ncc["frozen_in_dt"] > 0.5 and geigel["frozen_in_dt"] > 0.5 and none["frozen_in_dt"] == 0
    assert ncc["frozen_in_single"] < ncc["frozen_in_dt"]
    # before double talk all three have learned the same path
    assert abs(none["mis_before_db"] - ncc["mis_before_db"]) < 1.0


def test_louder_near_end_pushes_an_unprotected_filter_further():
    worst = [X.echo_double_talk("none", s)["worst_mis_db"] for s in (-6.0, 0.0, 6.0, 12.0)]
    assert all(a < b for a, b in zip(worst, worst[1:]))


def test_double_talk_refuses_bad_values():
    with pytest.raises(ValueError, match="detector"):
        X.echo_double_talk("vad", 6.0)
    with pytest.raises(ValueError, match="ser_db"):
        X.echo_double_talk("ncc", 20.0)
    with pytest.raises(ValueError, match="detector"):
        X.make_detector("Geigel")


# -- noise suppression --------------------------------------------------------------------------------
def _ns(**kw):
    return REGISTRY["noise_suppressor"](**kw)


def test_wiener_is_less_musical_than_plain_subtraction():
    sub, wie = _ns(method="subtract"), _ns(method="wiener")
    assert wie["log_kurtosis_ratio"] < sub["log_kurtosis_ratio"] - 0.3
    assert wie["segsnr_out_db"] > wie["segsnr_in_db"] and sub["segsnr_out_db"] > sub["segsnr_in_db"]


def test_more_subtraction_removes_more_noise_and_a_floor_keeps_some():
    nr = [_ns(alpha=a)["noise_reduction_db"] for a in (1.0, 2.0, 4.0)]
    assert nr[0] < nr[1] < nr[2]
    floors = [_ns(beta_db=b)["noise_reduction_db"] for b in (-60.0, -20.0, -10.0, 0.0)]
    assert floors[1] >= floors[2] >= floors[3] and floors[3] < 2.0
    deep, shallow = _ns(method="wiener", wiener_floor_db=-30.0), _ns(method="wiener", wiener_floor_db=-6.0)
    assert deep["noise_reduction_db"] > shallow["noise_reduction_db"] + 6


def test_controls_of_the_other_method_change_nothing():
    a = _ns(method="wiener", alpha=1.0, beta_db=-60.0)
    b = _ns(method="wiener", alpha=4.0, beta_db=0.0)
    assert np.array_equal(a["out"], b["out"])


def test_noise_suppressor_refuses_bad_values():
    with pytest.raises(ValueError, match="method"):
        X.noise_suppressor("mmse", 5.0, 1.0, -60.0, -12.0)
    with pytest.raises(ValueError, match="snr_db"):
        X.noise_suppressor("wiener", 30.0, 1.0, -60.0, -12.0)
    with pytest.raises(ValueError, match="alpha"):
        X.noise_suppressor("subtract", 5.0, 0.5, -60.0, -12.0)
    with pytest.raises(ValueError, match="wiener_floor_db"):
        X.noise_suppressor("wiener", 5.0, 1.0, -60.0, -40.0)
    with pytest.raises(ValueError, match="method"):
        X.suppress_params("boll", 1.0, -60.0, -12.0)


# -- every widget at its range ends draws a figure -------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_widgets_draw_at_their_range_ends(name):
    exp = REGISTRY[name]
    for point in exp.range_points():
        fig = exp.plot(exp(**point))
        assert fig.axes and all(ax.get_xlabel() for ax in fig.axes if ax.get_label() != "<colorbar>")
        plt.close(fig)
