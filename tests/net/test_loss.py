"""Bernoulli and Gilbert-Elliott loss: parameters, convergence, the two implementations agree."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.net import burst_lengths, burst_ratio, gilbert_params, loss_pattern
from rtlib.net.loss import LossState, losses_from_uniforms


@pytest.mark.parametrize("loss, burst_len", [(0.01, 2.0), (0.05, 4.0), (0.2, 3.0), (0.3, 10.0), (0.7, 3.0),
                                             (0.6, 1.6)])
def test_gilbert_elliott_converges_to_its_mean_loss_and_burst_length(loss, burst_len):
    lost = loss_pattern(2_000_000, loss, burst_len, seed=11)
    assert lost.mean() == pytest.approx(loss, rel=0.05)
    assert burst_lengths(lost).mean() == pytest.approx(burst_len, rel=0.03)


@pytest.mark.parametrize("loss", [0.01, 0.1, 0.4])
def test_bernoulli_loss_is_independent(loss):
    lost = loss_pattern(1_000_000, loss, 1.0, seed=4)
    assert lost.mean() == pytest.approx(loss, rel=0.03)
    # runs of independent losses are geometric with mean 1 / (1 - p)
    assert burst_lengths(lost).mean() == pytest.approx(1 / (1 - loss), rel=0.02)
    # P(lost | previous lost) == P(lost)
    after_loss = lost[1:][lost[:-1]]
    assert after_loss.mean() == pytest.approx(loss, abs=4 * np.sqrt(loss * (1 - loss) / after_loss.size))


def test_bursty_and_random_loss_at_the_same_mean_differ_in_clustering():
    random = loss_pattern(500_000, 0.05, 1.0, seed=1)
    bursty = loss_pattern(500_000, 0.05, 5.0, seed=1)
    assert random.mean() == pytest.approx(bursty.mean(), rel=0.1)
    assert bursty[1:][bursty[:-1]].mean() > 0.75  # a loss is usually followed by another
    assert random[1:][random[:-1]].mean() < 0.07


def test_gilbert_params_and_burst_ratio():
    p_gb, p_bg = gilbert_params(0.05, 4.0)
    assert p_bg == pytest.approx(0.25)
    assert p_gb / (p_gb + p_bg) == pytest.approx(0.05)  # stationary loss
    assert burst_ratio(0.05, 1.0) == pytest.approx(1.0)  # G.107: BurstR = 1 for random loss
    assert burst_ratio(0.05, 4.0) == pytest.approx(1 / (p_gb + p_bg))
    assert burst_ratio(0.05, 4.0) > 3.5


def test_edge_rates():
    assert not loss_pattern(1000, 0.0, 5.0).any()
    assert loss_pattern(1000, 1.0, 5.0).all()
    assert loss_pattern(0, 0.5).size == 0


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 0.95), st.floats(1.0, 30.0), st.lists(st.floats(0, 1, exclude_max=True), max_size=200))
def test_vectorised_chain_equals_the_step_by_step_chain(loss, burst_len, u):
    burst_len = max(burst_len, loss / (1 - loss))
    state = LossState(loss, burst_len)
    expected = [state.step(x) for x in u]
    assert losses_from_uniforms(np.array(u), loss, burst_len).tolist() == expected


@pytest.mark.parametrize("loss, burst_len, match", [
    (1.5, 1.0, r"loss must be in \[0, 1\], got 1.5"),
    (-0.01, 1.0, r"loss must be in \[0, 1\]"),
    (0.1, 0.0, r"burst_len must be a finite number >= 1"),
    (0.1, float("inf"), r"burst_len must be a finite number >= 1"),
    (0.9, 5.0, r"burst_len must be >= loss / \(1 - loss\) = 9"),
])
def test_bad_loss_parameters(loss, burst_len, match):
    with pytest.raises(ValueError, match=match):
        loss_pattern(10, loss, burst_len)


def test_bad_n():
    with pytest.raises(ValueError, match="n must be an integer >= 0"):
        loss_pattern(-1, 0.1)


def test_burst_lengths():
    assert burst_lengths([0, 1, 1, 0, 1, 0, 0, 1, 1, 1]).tolist() == [2, 1, 3]
    assert burst_lengths([]).tolist() == []
