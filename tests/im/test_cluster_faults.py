"""kill -9 of a gateway, of Redis and of PostgreSQL, 5 times each at random moments while
20 clients send: nothing acked is lost, nothing is shown twice, order holds, no false ack.
(Short runs; benchmarks/bench_im.py runs long ones.)"""

import pytest

from rtlib.im.chaos import run_chaos
from rtlib.im.engines import EngineMissing


@pytest.mark.parametrize("target", ["gateway", "redis", "postgres"])
def test_kill_9(target, tmp_path):
    try:
        r = run_chaos(target, kills=5, clients=20, gap_s=(0.3, 0.8), down_s=0.4, seed=3, log_dir=tmp_path)
    except EngineMissing as exc:
        pytest.skip(str(exc))
    assert r["kills"] == 5 and r["clients"] == 20
    assert r["acked"] >= 200  # the service kept working between the kills
    assert r["lost"] == 0 and r["duplicates"] == 0 and r["order_errors"] == 0 and r["false_acks"] == 0
    assert r["send_errors"] == 0
    assert r["store_messages"] >= r["acked"]
    if target == "gateway":
        assert r["reconnections"] >= 5  # the killed gateways' clients moved
    if target == "postgres":  # while the store is down a send gets a clear "unavailable", never an ack
        assert r["probes"] == ["error:unavailable"] * 5
        assert r["probe_messages_stored"] == 0


def test_bad_target():
    with pytest.raises(ValueError, match="target"):
        run_chaos("disk")
    with pytest.raises(ValueError, match="kills"):
        run_chaos("redis", kills=-1)
