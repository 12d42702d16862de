"""Named scenarios and trace runs."""

import pytest

from rtlib.cc.scenarios import SCENARIOS, run_scenario, run_trace, scenario_names
from rtlib.net.traces import TRACES_DIR
from tests.conftest import SHARED_DATA


@pytest.mark.parametrize("name", scenario_names())
def test_every_scenario_runs(name):
    r = run_scenario(name, "gcc", duration_s=8.0)
    sc = SCENARIOS[name]
    assert len(r.media) == sum(1 for s, _ in sc.media if s < 8.0)
    s = r.summary()
    assert 0 <= s["loss"] <= 1 and s["rate_kbps_mean"] > 0
    cap = sc.capacity()  # the run saw the scenario's own capacity curve over its 8 s
    assert s["capacity_kbps_mean"] == pytest.approx(float(cap.bytes_before(8.0)) * 8 / 8.0 / 1000, rel=1e-9)


def test_rfc8867_5_1_uses_the_rfc_default_path():
    r = run_scenario("rfc8867-5.1", "fixed", duration_s=2.0)
    assert r.params["delay_ms"] == 50 and r.params["queue_ms"] == 300
    assert r.capacity.rates_bps.tolist() == [1.0e6, 2.5e6, 0.6e6, 1.0e6]


def test_rfc8867_5_4_flows_start_staggered():
    r = run_scenario("rfc8867-5.4", "gcc", duration_s=45.0)
    assert [f.start_s for f in r.media] == [0.0, 20.0, 40.0]
    assert all(f.send_s.min() >= f.start_s for f in r.media)


def test_rfc8867_5_6_has_a_tcp_flow():
    r = run_scenario("rfc8867-5.6", "gcc", duration_s=10.0)
    assert [f.kind for f in r.flows] == ["media", "tcp"]


def test_unknown_scenario_and_missing_trace():
    with pytest.raises(ValueError, match="scenario must be one of"):
        run_scenario("rfc8867-9.9")
    with pytest.raises(ValueError, match="trace must be"):
        run_trace("/no/such/trace.down")


def test_trace_file_runs():
    r = run_trace(TRACES_DIR / "synthetic-cellular-walk.down", "gcc", duration_s=10.0)
    assert r.duration_s == 10.0 and r.summary()["rate_kbps_mean"] > 0


@pytest.mark.skipif(not (SHARED_DATA / "traces").is_dir(), reason="shared Mahimahi traces not present")
def test_a_real_cellular_trace_runs():
    r = run_trace(SHARED_DATA / "traces" / "Verizon-LTE-short.down", "gcc", duration_s=10.0)
    assert r.summary()["goodput_kbps_mean"] > 100
