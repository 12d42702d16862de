"""Loopback-only aioice agents drop checks from other addresses; other agents are untouched."""

import aioice.ice as ice
from aioice.candidate import Candidate

from rtlib.live.loopback_checks import dropped_checks, loopback_checks_only


class _Conn:
    def __init__(self, hosts):
        self.local_candidates = [Candidate("f", 1, "udp", 1, h, 5000, "host") for h in hosts]


def test_only_loopback_agents_drop_non_loopback_checks(monkeypatch):
    seen = []
    monkeypatch.setattr(ice.Connection, "request_received", lambda self, m, addr, p: seen.append((self, addr)))
    lo, lan = _Conn(["127.0.0.1"]), _Conn(["127.0.0.1", "192.0.2.2"])
    with loopback_checks_only():
        before = dropped_checks()
        ice.Connection.request_received(lo, None, ("192.0.2.2", 1), None)   # dropped
        ice.Connection.request_received(lo, None, ("127.0.0.1", 2), None)   # answered
        ice.Connection.request_received(lan, None, ("192.0.2.2", 3), None)  # not a loopback-only agent
        assert dropped_checks() == before + 1
    assert [a for _, a in seen] == [("127.0.0.1", 2), ("192.0.2.2", 3)]
    ice.Connection.request_received(lo, None, ("192.0.2.2", 4), None)  # outside the block: the original again
    assert seen[-1][1] == ("192.0.2.2", 4)
