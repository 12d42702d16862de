"""Chapter 08's figures say what their numbers show: the oracle frontier."""

import numpy as np
import pytest

from rtlib.cc import experiments as ccx


def test_oracle_frontier_trades_utilisation_for_delay_and_the_real_controllers_sit_under_it():
    r = ccx.oracle_frontier("cellular-drive")
    margins, util, delay = (np.array(x) for x in zip(*r["oracle"]))
    assert np.all(np.diff(margins) > 0)
    assert np.all(np.diff(util) > 0)          # sending more of what it knows fills more of the link
    assert delay[0] < 100 < delay[-1]         # only a wide margin keeps p95 within 100 ms
    for c, (u, d) in r["controllers"].items():
        # less informed than the oracle: lower utilisation at the same delay (notebook 08, section 6)
        assert u < np.interp(d, delay, util), c


def test_shipped_mahimahi_traces_are_found_and_unknown_names_refused():
    from rtlib.cc.experiments import MAHIMAHI_TRACES, mahimahi_path

    for name in MAHIMAHI_TRACES:
        assert mahimahi_path(name).stat().st_size > 100_000
    with pytest.raises(ValueError, match="name must be one of"):
        mahimahi_path("Nowhere-5G.down")


def test_oracle_best_within_picks_the_highest_utilisation_under_the_delay():
    from rtlib.cc.experiments import oracle_best_within

    pts = [(0.4, 0.55, 80.0), (0.6, 0.7, 99.0), (0.8, 0.9, 140.0)]
    assert oracle_best_within(pts, 100.0) == (0.6, 0.7, 99.0)
    assert oracle_best_within(pts, 50.0) is None


def test_outage_share_of_a_link_with_a_gap():
    from rtlib.cc.experiments import outage_share
    from rtlib.net.traces import parse_mahimahi

    # one opportunity per ms for 1 s, then nothing for 1 s: about half the instants see
    # no delivery within 100 ms (minus the 100 ms before the gap ends... and begins)
    trace = parse_mahimahi("\n".join(str(t) for t in list(range(1, 1001)) + [2000]))
    share = outage_share(trace, 2.0)
    assert 0.4 < share < 0.5
