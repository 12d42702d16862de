import pytest

from rtlib.cc.selfclocked_lab import SPROUT_PUBLISHED, relative_points, self_clocked_comparison, winner


def _r(ctl, D=120.0):
    keys = ("utilization", "delay_p95_ms", "goodput_kbps_mean", "signal_delay_p95_ms")
    return {"D_ms": D, "floor_ms": 50.0,
            "controllers": {c: dict(zip(keys, v)) for c, v in ctl.items()}}


def test_winner_by_hand():
    r = _r({"gcc": (0.9, 130, 900, 0), "selfclocked": (0.8, 110, 800, 0), "scream": (0.7, 90, 700, 0)})
    assert winner(r) == "selfclocked"          # gcc is over the budget; of the rest the most utilisation
    r = _r({"gcc": (0.9, 130, 900, 0), "selfclocked": (0.8, 121, 800, 0), "scream": (0.7, 125, 700, 0)})
    assert winner(r) == "none"


def test_relative_points_by_hand():
    # delays over time 250 / 150 / 200 ms on a 50 ms floor: self-inflicted 200 / 100 / 150 ms
    r = _r({"gcc": (0.5, 200, 500, 250), "selfclocked": (0.8, 100, 1000, 150), "scream": (0.7, 150, 900, 200)})
    rel = relative_points(r, ref="selfclocked")
    assert rel["selfclocked"] == (1.0, 1.0)
    assert rel["gcc"] == pytest.approx((0.5, 2.0))
    assert rel["scream"] == pytest.approx((0.9, 1.5))
    # the per-packet p95 plays no part: Sprout's delay is taken over time
    r["controllers"]["gcc"]["delay_p95_ms"] = 1.0
    assert relative_points(r, ref="selfclocked")["gcc"] == pytest.approx((0.5, 2.0))


def test_relative_points_never_divide_by_nothing():
    # a self-clocked sender at the floor: its self-inflicted delay counts as 1 ms
    r = _r({"gcc": (0.5, 200, 500, 90), "selfclocked": (0.8, 100, 1000, 49), "scream": (0.7, 150, 900, 50)})
    rel = relative_points(r, ref="selfclocked")
    assert rel["gcc"][1] == pytest.approx(40.0)
    assert rel["scream"][1] == pytest.approx(1.0)


def test_relative_points_default_to_sprout_and_name_a_missing_reference():
    r = _r({"gcc": (0.5, 200, 500, 250), "sprout": (0.8, 100, 1000, 150)})
    assert relative_points(r)["gcc"] == pytest.approx((0.5, 2.0))   # against sprout, as the paper's are
    with pytest.raises(ValueError, match="ref"):
        relative_points(_r({"gcc": (0.5, 200, 500, 250)}))


def test_published_points_are_the_abstracts_ratios():
    # Winstein et al. 2013: 2.2x Skype's bit rate at 7.9x less delay, 4.4x / 7.2x Hangout, 1.9x / 8.7x Facetime
    assert SPROUT_PUBLISHED["Skype"] == pytest.approx((1 / 2.2, 7.9))
    assert SPROUT_PUBLISHED["Hangouts"] == pytest.approx((1 / 4.4, 7.2))
    assert SPROUT_PUBLISHED["FaceTime"] == pytest.approx((1 / 1.9, 8.7))


def test_comparison_rejects_bad_input():
    with pytest.raises(ValueError, match="name"):
        self_clocked_comparison("nowhere.down")
    with pytest.raises(ValueError, match="duration_s"):
        self_clocked_comparison("ATT-LTE-driving-2016.down", duration_s=1.0)
