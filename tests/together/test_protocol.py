"""The leader's state reaches followers; drift correction converges within its rate bound."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.together.player import Player, RateController
from rtlib.together.protocol import Follower, Leader


def relay(outs, follower, now, offset=0.0):
    """Hand the leader's broadcast to ``follower`` instantly (follower clock = leader clock − offset)."""
    for dst, msg in outs:
        assert dst == "*"
        follower.on_message(msg, "leader", now - offset)


def synced_follower(offset=3.0):
    f = Follower("f", "leader", now_s=0.0)
    # one exact, symmetric exchange: the follower knows the offset
    ping = f.on_timer(0.0)[0][1]
    leader_t = ping["t1"] + offset + 0.02
    f.on_message({"type": "pong", "t1": ping["t1"], "t2": leader_t, "t3": leader_t}, "leader", 0.04)
    return f


def test_play_pause_seek_propagate():
    leader, f = Leader(now_s=100.0), synced_follower(offset=100.0)
    relay(leader.play(100.0), f, 100.0, offset=100.0)
    assert f.player.playing and f.target(10.0) == pytest.approx(leader.position(110.0))
    relay(leader.seek(600.0, 105.0), f, 105.0, offset=100.0)
    assert f.position(5.0) == pytest.approx(600.0)
    relay(leader.pause(110.0), f, 110.0, offset=100.0)
    assert not f.player.playing
    assert f.position(12.0) == pytest.approx(leader.position(112.0))
    assert leader.version == 3


def test_older_state_is_ignored():
    leader, f = Leader(), synced_follower(offset=0.0)
    old = leader.play(1.0)
    new = leader.seek(50.0, 2.0)
    relay(new, f, 2.0)
    relay(old, f, 2.1)  # arrives late, out of order
    assert f.state["version"] == 2 and f.stale == 1


def test_leader_answers_pings_and_repeats_its_state():
    leader = Leader(state_interval_s=0.5)
    out = leader.on_message({"type": "ping", "t1": 1.0}, "f", 2.0)
    assert out == [("f", {"type": "pong", "t1": 1.0, "t2": 2.0, "t3": 2.0})]
    assert leader.next_deadline() == 0.5
    assert leader.on_timer(0.5)[0][1]["type"] == "state"


def run_control(f, error_s, seconds=30.0):
    """Start ``f`` ``error_s`` ahead of a playing leader and let its controller run."""
    leader = Leader()
    relay(leader.play(0.0), f, 0.0)
    f.player.seek(f.player.position(0.0) + error_s, 0.0)
    errors, rates = [], []
    t = 0.0
    while t < seconds:
        t = round(t + f.control_interval_s, 9)
        f.on_timer(t)
        errors.append(f.position(t) - leader.position(t))
        rates.append(f.player.rate)
    return errors, rates


@settings(max_examples=40, deadline=None)
@given(st.floats(-0.39, 0.39), st.sampled_from([0.02, 0.05, 0.1]))
def test_drift_correction_converges_within_its_bound(error_s, bound):
    f = synced_follower(offset=0.0)
    f.controller = RateController(max_adjust=bound, horizon_s=1.0, seek_threshold_s=0.4)
    errors, rates = run_control(f, error_s, seconds=0.4 / bound + 10)
    assert abs(errors[-1]) < 1e-3
    assert max(abs(r - 1) for r in rates) <= bound + 1e-12
    assert f.max_rate_adjust <= bound + 1e-12
    assert f.player.seeks == 1  # only the test's own displacement: the controller never jumped


def test_large_error_is_a_hard_seek():
    f = synced_follower(offset=0.0)
    errors, _ = run_control(f, 2.0, seconds=0.2)
    assert f.player.seeks == 2 and abs(errors[0]) < 1e-9


def test_player_rate():
    p = Player()
    p.play(0.0)
    p.set_rate(1.05, 10.0)
    assert p.position(20.0) == pytest.approx(10.0 + 10.5)


@pytest.mark.parametrize("call, name", [
    (lambda: RateController(max_adjust=0.6), "max_adjust"),
    (lambda: RateController(horizon_s=0.0), "horizon_s"),
    (lambda: RateController(seek_threshold_s=-1), "seek_threshold_s"),
    (lambda: Follower("f", clock_sync="gps"), "clock_sync"),
    (lambda: Leader(state_interval_s=0), "state_interval_s"),
    (lambda: Leader().seek(-5.0, 0.0), "position_s"),
])
def test_bad_parameters_raise(call, name):
    with pytest.raises(ValueError, match=name):
        call()
