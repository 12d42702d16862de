import matplotlib.pyplot as plt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.quality import STAGES, TYPICAL_CALL, LatencyBudget, emodel, fibre_delay_ms, plot_budget


def test_stages_are_in_path_order_and_sum_to_the_total():
    b = LatencyBudget(capture_ms=10, encode_ms=5, packetisation_ms=20, pacing_ms=1, propagation_ms=40,
                      queueing_ms=7, jitter_buffer_ms=60, decode_ms=2, render_ms=15)
    assert list(b.stages) == list(STAGES) == ["capture", "encode", "packetisation", "pacing", "propagation",
                                              "queueing", "jitter_buffer", "decode", "render"]
    assert b.total_ms == 160.0
    assert b.to_dict()["total_ms"] == 160.0 and b.to_dict()["propagation_ms"] == 40.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1000), min_size=9, max_size=9))
def test_total_is_the_sum_and_with_changes_one_stage(values):
    b = LatencyBudget(*values)
    assert b.total_ms == pytest.approx(sum(values))
    c = b.with_(jitter_buffer_ms=b.jitter_buffer_ms + 10)
    assert c.total_ms == pytest.approx(b.total_ms + 10)
    assert b.jitter_buffer_ms == values[6]  # the original is unchanged


def test_quality_uses_the_total_as_mouth_to_ear_delay():
    q = TYPICAL_CALL.quality(loss=0.01, codec="g729a")
    assert q.R == pytest.approx(emodel(TYPICAL_CALL.total_ms, 0.01, "g729a").R)


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "10", None, True])
def test_bad_stage_values(bad):
    with pytest.raises(ValueError, match="queueing_ms must be a finite number >= 0 ms"):
        LatencyBudget(queueing_ms=bad)


def test_unknown_stage():
    with pytest.raises(ValueError, match="unknown stage"):
        TYPICAL_CALL.with_(wifi_ms=3)
    with pytest.raises(TypeError):
        LatencyBudget(wifi_ms=3)


def test_fibre_delay():
    # ~204,000 km/s in fibre: 1000 km take ~4.9 ms, a 20,000 km route ~98 ms.
    assert fibre_delay_ms(1000) == pytest.approx(1000 / (299_792.458 / 1.468) * 1000)
    assert fibre_delay_ms(1000) == pytest.approx(4.9, abs=0.01)
    assert fibre_delay_ms([0, 20_000])[1] == pytest.approx(97.9, abs=0.1)
    with pytest.raises(ValueError, match="distance_km must be finite and >= 0 km"):
        fibre_delay_ms(-5)


def test_waterfall_has_one_bar_per_stage_plus_the_total():
    fig = plot_budget(TYPICAL_CALL)
    ax = fig.axes[0]
    bars = ax.patches
    assert len(bars) == len(STAGES) + 1
    # each stage starts where the previous one ended; the last bar is the total
    ends = 0.0
    for bar, value in zip(bars[:-1], TYPICAL_CALL.stages.values()):
        assert bar.get_x() == pytest.approx(ends) and bar.get_width() == pytest.approx(value)
        ends += value
    assert bars[-1].get_width() == pytest.approx(TYPICAL_CALL.total_ms)
    assert "ms" in ax.get_xlabel()
    plt.close(fig)
    with pytest.raises(ValueError, match="budget must be a LatencyBudget"):
        plot_budget({"capture_ms": 3})
