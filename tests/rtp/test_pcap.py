"""pcap files written with dpkt: valid Ethernet/IPv4/UDP, arrival timestamps, ports."""

import dpkt
import pytest

from rtlib.rtp import Bye, RtpPacket, read_pcap, write_pcap
from rtlib.rtp.stats import DEFAULT_EPOCH_S


def test_write_then_read(tmp_path):
    rtp = bytes(RtpPacket(0, 7, 160, 0xAB, b"\xff" * 160))
    rtcp = bytes(Bye([0xAB]))
    path = tmp_path / "c.pcap"
    assert write_pcap(path, [(0.5, rtp), (0.123456789, rtcp)]) == 2
    rows = read_pcap(path)
    assert [(round(t, 9), port, d) for t, port, d in rows] == [(0.123456789, 5005, rtcp), (0.5, 5004, rtp)]


def test_headers_and_checksums_are_valid(tmp_path):
    path = tmp_path / "c.pcap"
    payload = bytes(RtpPacket(0, 1, 2, 3, b"abc"))
    write_pcap(path, [(1.0, payload)], src="127.0.1.2", dst="127.0.1.3", rtp_port=6000)
    with open(path, "rb") as f:
        reader = dpkt.pcap.Reader(f)
        assert reader.datalink() == dpkt.pcap.DLT_EN10MB
        (ts, buf), = list(reader)
    assert float(ts) == pytest.approx(DEFAULT_EPOCH_S + 1.0)
    ip = dpkt.ethernet.Ethernet(buf).data
    udp = ip.data
    assert (ip.src, ip.dst) == (bytes([127, 0, 1, 2]), bytes([127, 0, 1, 3]))
    assert ip.len == 20 + 8 + len(payload) and udp.ulen == 8 + len(payload)
    assert (udp.sport, udp.dport) == (6000, 6000) and bytes(udp.data) == payload
    # recompute both checksums from scratch: they must match what was written
    ip2 = dpkt.ip.IP(bytes(ip))
    stored_ip, stored_udp = ip2.sum, ip2.data.sum
    ip2.sum = 0
    ip2.data.sum = 0
    again = dpkt.ip.IP(bytes(ip2))
    assert (again.sum, again.data.sum) == (stored_ip, stored_udp) and stored_udp != 0


def test_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match="finite"):
        write_pcap(tmp_path / "x.pcap", [(float("nan"), b"x")])
    with pytest.raises(ValueError, match="IPv4"):
        write_pcap(tmp_path / "x.pcap", [(0.0, b"x")], src="::1")
    with pytest.raises(ValueError, match="rtp_port"):
        write_pcap(tmp_path / "x.pcap", [(0.0, b"x")], rtp_port=0)
