import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.quality.two_models import INTERVAL_MS, deliver_two_ways


@settings(max_examples=40, deadline=None)
@given(st.floats(0, 0.5), st.floats(0, 80), st.floats(20, 400), st.integers(0, 10_000))
def test_im_delivers_everything_in_order_and_rtc_never_late(loss, jitter_ms, playout_ms, seed):
    r = deliver_two_ways(n=500, loss=loss, jitter_ms=jitter_ms, playout_ms=playout_ms, seed=seed)
    im = r["im_delay_ms"]
    assert np.all(np.isfinite(im)) and np.all(im >= r["one_way_ms"])  # all arrive, none before the path allows
    shown = im + np.arange(im.size) * INTERVAL_MS
    assert np.all(np.diff(shown) >= 0)  # in order
    rtc = r["rtc_delay_ms"]
    played = ~np.isnan(rtc)
    assert np.all(rtc[played] == playout_ms)  # never late: played exactly at the deadline or not at all
    assert r["rtc_played"] + r["rtc_lost"] + r["rtc_late"] == pytest.approx(1.0)


def test_no_loss_no_jitter_is_the_path_delay():
    r = deliver_two_ways(n=100, one_way_ms=40, jitter_ms=0, loss=0, playout_ms=60)
    assert np.allclose(r["im_delay_ms"], 40, atol=1e-6) and r["rtc_played"] == 1.0


def test_seeded_and_loss_makes_the_im_tail_grow():
    a, b = deliver_two_ways(seed=3), deliver_two_ways(seed=3)
    assert np.array_equal(a["im_delay_ms"], b["im_delay_ms"])
    assert deliver_two_ways(loss=0.2)["im_p99_ms"] > deliver_two_ways(loss=0.01)["im_p99_ms"]


@pytest.mark.parametrize("kw,match", [(dict(loss=1.0), "loss must be in"), (dict(n=0), "n must be"),
                                      (dict(jitter_ms=-1), "jitter_ms"), (dict(seed=-1), "seed")])
def test_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        deliver_two_ways(**kw)
