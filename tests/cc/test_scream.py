import pytest

from rtlib.cc.base import PacketResult
from rtlib.cc.scream import BETA_LOSS, MIN_CWND_BYTES, ScreamController


def test_window_update_by_hand():
    c = ScreamController(qdelay_target_s=0.1)
    # below target: off_target = (0.1 - 0.05) / 0.1 = 0.5; 10000 + 0.5 * 2000 * 1000 / 10000
    assert c.window_update(10000, 0.05, 2000, fast_increase=False) == pytest.approx(10100)
    # above target: off_target = -1; 10000 - 1 * 2000 * 1000 / 10000
    assert c.window_update(10000, 0.2, 2000, fast_increase=False) == pytest.approx(9800)
    # fast increase adds the bytes acked, as slow start does
    assert c.window_update(10000, 0.01, 2000, fast_increase=True) == pytest.approx(12000)
    # never below the minimum window
    assert c.window_update(MIN_CWND_BYTES, 1.0, 100000, fast_increase=False) == MIN_CWND_BYTES


def test_loss_scales_the_window_once_per_rtt():
    c = ScreamController()
    c.cwnd_bytes = 20000
    res = [PacketResult(0, 0.0, 1000, 0.05), PacketResult(1, 0.01, 1000, None)]
    c.on_packet_results(0.2, res, rtt_s=0.1)
    assert c.cwnd_bytes == pytest.approx(20000 * BETA_LOSS)
    c.on_packet_results(0.21, [PacketResult(2, 0.1, 1000, None)], rtt_s=0.1)  # same RTT: no second cut
    assert c.cwnd_bytes == pytest.approx(20000 * BETA_LOSS)


def test_queue_delay_is_measured_against_the_base_delay():
    c = ScreamController()
    c.on_packet_results(0.2, [PacketResult(0, 0.0, 1000, 0.05)], rtt_s=0.1)   # one-way 50 ms: the base
    c.on_packet_results(0.5, [PacketResult(1, 0.3, 1000, 0.38)], rtt_s=0.1)   # one-way 80 ms
    assert c.qdelay_s == pytest.approx(0.03)


@pytest.mark.parametrize("kw", [{"qdelay_target_s": 0.0}, {"gain": 0.0}, {"beta_loss": 1.0},
                                {"base_history_s": 1.0}])
def test_rejects_bad_parameters(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        ScreamController(**kw)


def test_competing_flows_raise_the_target_by_hand():
    c = ScreamController()
    for _ in range(60):
        got = c.adjust_qdelay_target(0.15, lost=False)
    # a steady 150 ms queue: variance 0, average 1.5 x QDELAY_TARGET_LO -> target 0.15 s
    assert got == pytest.approx(0.15)
    c2 = ScreamController()
    c2.loss_event_rate = 0.5  # frequent losses: 1.5 x that, 0.225 s
    assert c2.adjust_qdelay_target(0.15, lost=True) == pytest.approx(0.225)
    # never above QDELAY_TARGET_HI (0.4 s), never below QDELAY_TARGET_LO (0.1 s)
    assert ScreamController().adjust_qdelay_target(2.0, lost=False) == pytest.approx(0.4)
    assert ScreamController().adjust_qdelay_target(0.0, lost=False) == pytest.approx(0.1)


def test_competing_flows_off_keeps_the_target():
    c = ScreamController(competing_flows=False)
    c.on_packet_results(0.2, [PacketResult(0, 0.0, 1000, 0.05)], rtt_s=0.1)
    c.on_packet_results(0.5, [PacketResult(1, 0.3, 1000, 0.5)], rtt_s=0.1)
    assert c.qdelay_target_s == pytest.approx(0.1)
