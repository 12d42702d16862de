"""The data files the labs ship are exactly what their scripts rebuild."""

from __future__ import annotations

import importlib.util

import pytest

from rtlib.labs import LABS_DIR


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("script, shipped", [("rtp_jitter/make_capture.py", "rtp_jitter/capture.pcap"),
                                             ("gcc_overuse/make_trace.py", "gcc_overuse/delay_trace.csv")])
def test_shipped_data_is_what_its_script_builds(script, shipped, tmp_path):
    rebuilt = _load(LABS_DIR / script).main(tmp_path / "rebuilt")
    assert rebuilt.read_bytes() == (LABS_DIR / shipped).read_bytes()


def test_capture_wraps_and_carries_rtcp():
    """What the RTP lab's text says about its capture: RTCP on port 5005, a sequence wrap."""
    from rtlib.rtp import RtpPacket
    from rtlib.rtp.pcap import read_pcap

    rows = read_pcap(LABS_DIR / "rtp_jitter" / "capture.pcap")
    seq = [RtpPacket.parse(p).sequence_number for _, port, p in rows if port == 5004]
    assert any(port == 5005 for _, port, _ in rows)
    assert max(seq) == 65535 and min(seq) < 100


def test_trace_has_an_overuse_episode():
    """The GCC lab's trace: the detector signals over-use between 4 and 8 s and not before."""
    import numpy as np

    from rtlib.cc.gcc import OveruseDetector

    t, sd, _, m = np.loadtxt(LABS_DIR / "gcc_overuse" / "delay_trace.csv", delimiter=",", skiprows=1).T
    det = OveruseDetector(adaptive=False)
    over = np.array([det.detect(mi, si, ti).value == "overuse" for mi, si, ti in zip(m, sd, t)])
    assert over.any() and not over[t < 4.0].any() and over[(t > 4.0) & (t < 8.5)].any()
