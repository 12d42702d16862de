"""Chapter 08's figures say what their numbers show: the oracle frontier."""

import numpy as np

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
