"""One ParseError for the whole library: RTP, RTCP, FEC/RED and media payloads raise the same class."""

import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

import rtlib
import rtlib.rtp
from rtlib.media import fec, packetize
from rtlib.media.codecs import get_codec
from rtlib.rtp import RtpPacket, parse_rtcp


def test_one_class_under_every_name():
    assert rtlib.ParseError is rtlib.rtp.ParseError is packetize.ParseError is fec.ParseError
    assert issubclass(rtlib.ParseError, ValueError)


MALFORMED = [
    ("truncated RTP header", lambda: RtpPacket.parse(b"\x80\x00\x00")),
    ("RTP version 1", lambda: RtpPacket.parse(bytes([0x40]) + bytes(11))),
    ("RTCP length past the end", lambda: parse_rtcp(bytes([0x80, 200, 0x00, 0x10]) + bytes(8))),
    ("empty VP8 payload", lambda: packetize.vp8_depacketize([b""])),
    ("VP8 descriptor cut short", lambda: packetize.Vp8Descriptor.parse(b"\x90\x80\x80")),
    ("FU-A without its start", lambda: packetize.h264_depacketize([bytes([28, 0x05, 0xAA])])),
    ("G.711 payload of a partial frame", lambda: packetize.audio_depacketize(get_codec("pcmu"), bytes(161))),
    ("RED block header cut short", lambda: fec.red_unpack(b"\x80\x00")),
]


@pytest.mark.parametrize("what, call", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_every_malformed_input_is_caught_by_rtlib_parse_error(what, call):
    with pytest.raises(rtlib.ParseError):
        call()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=4))
def test_depacketizers_raise_only_parse_error_on_random_bytes(payloads):
    for call in (lambda: packetize.vp8_depacketize(payloads), lambda: packetize.h264_depacketize(payloads),
                 lambda: RtpPacket.parse(payloads[0]), lambda: parse_rtcp(payloads[0])):
        try:
            call()
        except rtlib.ParseError:
            pass  # anything else (IndexError, struct.error, a bare ValueError) fails the test


def test_importing_rtlib_stays_light():
    """``import rtlib`` loads only rtlib.errors: no numpy, no subpackage."""
    code = ("import sys, rtlib; mods = [m for m in sys.modules if m.startswith('rtlib') or m == 'numpy']; "
            "print(sorted(mods))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['rtlib', 'rtlib.errors']"
