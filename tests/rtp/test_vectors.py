"""Optional: third-party raw packets (aiortc's test vectors) parse, or fail with ParseError."""

import pytest

from rtlib.rtp import ParseError, RtpPacket, build_rtcp, is_rtcp, parse_rtcp
from tests.conftest import SHARED_DATA

VECTORS = SHARED_DATA / "rtp-vectors"
FILES = sorted(VECTORS.glob("*.bin")) if VECTORS.is_dir() else []


@pytest.mark.skipif(not FILES, reason=f"no third-party RTP vectors at {VECTORS} (optional, development only)")
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_vector(path):
    data = path.read_bytes()
    invalid = "invalid" in path.stem or "truncated" in path.stem
    if invalid:
        with pytest.raises(ParseError):
            parse_rtcp(data) if is_rtcp(data) else RtpPacket.parse(data)
        return
    if is_rtcp(data):
        pkts = parse_rtcp(data)
        assert pkts and parse_rtcp(build_rtcp(pkts)) == pkts
    else:
        p = RtpPacket.parse(data)
        assert RtpPacket.parse(bytes(p)) == p
        if p.padding_size == 0 and not p.extensions:
            assert bytes(p) == data
