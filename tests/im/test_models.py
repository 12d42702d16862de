import json

import numpy as np
import pytest

from rtlib.im.diffusion import DiffusionStore, crossover_members, diffusion_costs, measure_day
from rtlib.im.presence import presence_rate, simulate_presence_storm
from rtlib.im.push import PushService, push_delays_s


@pytest.mark.parametrize("members", [10, 20, 60])  # where 0.3·N and 0.5·N are whole
def test_diffusion_model_matches_the_sqlite_counts(members):
    model = diffusion_costs(members, groups_per_user=1)
    for strategy in ("write", "read"):
        got = measure_day(strategy, members)
        for key in ("rows_written", "rows_read", "queries", "bytes_written"):
            assert got[key] == pytest.approx(float(model[strategy][key][0]), rel=0.02), (strategy, key)


def test_diffusion_write_amplification_and_crossover():
    c = diffusion_costs([10, 1000, 100_000])
    assert np.allclose(c["write"]["rows_written"] / c["read"]["rows_written"], [11, 1001, 100_001])
    n = crossover_members()
    assert 5 < n < 200
    costs = diffusion_costs([max(2, n // 2), 10 * n])
    assert costs["write"]["cost"][0] < costs["read"]["cost"][0]
    assert costs["write"]["cost"][1] > costs["read"]["cost"][1]
    # more groups per user make read diffusion's per-group queries relatively dearer
    assert crossover_members(groups_per_user=100) > crossover_members(groups_per_user=2)
    assert crossover_members(msgs_per_member_day=0.0) is None  # no messages: nothing to copy


def test_diffusion_store_syncs_are_correct_for_both_strategies():
    for strategy in ("write", "read"):
        s = DiffusionStore(strategy, read_cap=3)
        s.add_group("g", ["a", "b"])
        s.add_group("h", ["b", "c"])
        s.post("g", "a", "1")
        s.post("h", "c", "2")
        got = s.sync("b")
        assert sorted(r[3] for r in got) == ["1", "2"]
        assert s.sync("b") == []
        for i in range(5):
            s.post("g", "a", f"x{i}")
        got = [r[3] for r in s.sync("b")]
        assert got == (["x0", "x1", "x2", "x3", "x4"] if strategy == "write" else ["x2", "x3", "x4"])
    with pytest.raises(ValueError, match="strategy"):
        DiffusionStore("sideways")
    with pytest.raises(ValueError, match="members"):
        diffusion_costs([0])
    with pytest.raises(ValueError, match="active"):
        diffusion_costs([10], active=2)


def test_presence_model_matches_the_simulation():
    for w_ms, sub in ((0, 1.0), (1000, 0.3)):
        sim = simulate_presence_storm(users=4000, friends=80, coalesce_ms=w_ms, subscribed=sub, bin_s=10, seed=1)
        model_total = (presence_rate(sim["t_s"], users=4000, friends=80, coalesce_ms=w_ms, subscribed=sub) * 10).sum()
        assert sim["frames"] == pytest.approx(model_total, rel=0.05)
    plain = simulate_presence_storm(users=4000, friends=80, seed=1)
    # every friendship notifies once, in the direction of the later login
    assert plain["frames"] == plain["edges"] // 2


def test_presence_cures_cut_the_peak():
    t = np.linspace(-900, 900, 301)
    plain = presence_rate(t, users=100_000, friends=100)
    cured = presence_rate(t, users=100_000, friends=100, coalesce_ms=1000, subscribed=0.2)
    assert cured.max() < 0.25 * plain.max()
    with pytest.raises(ValueError, match="subscribed"):
        presence_rate(t, subscribed=2.0)


def test_push_payload_limit_and_coalescing():
    p = PushService(payload_limit_bytes=256, median_delay_s=1.0, seed=0)
    payload = {"conv": "g", "seq": 1, "sender": "alice", "preview": "写" * 500}
    fitted = p.fit(payload)
    assert len(json.dumps(fitted, ensure_ascii=False).encode()) <= 256 and fitted["truncated"]
    assert p.fit({"conv": "g", "preview": "hi"}) == {"conv": "g", "preview": "hi"}
    t, _ = p.notify("bob", "phone", {"preview": "a"}, 10.0)
    assert t > 10.0
    assert p.notify("bob", "phone", {"preview": "b"}, 11.0, reachable=False) is None
    assert p.notify("bob", "phone", {"preview": "c"}, 12.0, reachable=False) is None
    back = p.device_back("bob", "phone", 20.0)
    assert back[1] == {"preview": "c"} and p.coalesced == 1  # only the last one survives
    assert p.device_back("bob", "phone", 21.0) is None
    d = push_delays_s(10_000, median_delay_s=2.0)
    assert np.median(d) == pytest.approx(2.0, rel=0.05)
    with pytest.raises(ValueError, match="payload_limit_bytes"):
        PushService(payload_limit_bytes=10)
