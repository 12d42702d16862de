"""Ask Wireshark's command line (tshark) what it makes of a capture.

Optional: every function returns ``None`` when tshark is not installed, so a notebook
cell can show the summary when it can and say how to get it otherwise.  (This module
runs a subprocess; it is a tool for notebooks and tests, not protocol logic.)

Used in: notebooks/05_rtp_rtcp.ipynb (the tshark summary inline), tests/rtp/test_interop_tshark.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from rtlib.rtp.pcap import RTP_PORT

INSTALL_HINT = "install Wireshark's command line: apt-get install -y tshark (or brew install wireshark)"

_ROW = re.compile(
    r"^\s*(?P<start>[\d.]+)\s+(?P<end>[\d.]+)\s+(?P<src>\S+)\s+(?P<sport>\d+)\s+(?P<dst>\S+)\s+(?P<dport>\d+)\s+"
    r"(?P<ssrc>0x[0-9A-Fa-f]+)\s+(?P<payload>.+?)\s+(?P<pkts>\d+)\s+(?P<lost>-?\d+)\s+\((?P<lost_pct>-?[\d.]+)%\)\s+"
    # tshark prints -1.000 where it cannot tell (a dynamic payload type's unknown clock rate)
    r"(?P<min_delta_ms>-?[\d.]+)\s+(?P<mean_delta_ms>-?[\d.]+)\s+(?P<max_delta_ms>-?[\d.]+)\s+"
    r"(?P<min_jitter_ms>-?[\d.]+)\s+(?P<mean_jitter_ms>-?[\d.]+)\s+(?P<max_jitter_ms>-?[\d.]+)\s*(?P<problems>X?)\s*$"
)


def tshark_path() -> str | None:
    """Where tshark is, or None."""
    return shutil.which("tshark")


def _decode_args(rtp_port: int, rtcp_port: int | None) -> list[str]:
    rtcp_port = rtp_port + 1 if rtcp_port is None else rtcp_port
    return ["-d", f"udp.port=={rtp_port},rtp", "-d", f"udp.port=={rtcp_port},rtcp"]


def _run(args: list[str], timeout_s: float = 60) -> str:
    exe = tshark_path()
    res = subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout_s)
    if res.returncode != 0:
        raise RuntimeError(f"tshark failed ({res.returncode}): {res.stderr.strip()[-500:]}")
    return res.stdout


def rtp_streams_text(pcap: str | Path, *, rtp_port: int = RTP_PORT, rtcp_port: int | None = None) -> str | None:
    """tshark's RTP stream analysis table (``-z rtp,streams``), or None without tshark."""
    if tshark_path() is None:
        return None
    out = _run(["-r", str(pcap), "-q", *_decode_args(rtp_port, rtcp_port), "-z", "rtp,streams"])
    return out.strip("\n")


def rtp_streams(pcap: str | Path, *, rtp_port: int = RTP_PORT, rtcp_port: int | None = None) -> list[dict] | None:
    """One dict per RTP stream as tshark analyses it (packets, lost, deltas, jitter), or None.

    Keys: start, end, src, sport, dst, dport, ssrc (int), payload, pkts, lost,
    lost_pct, min/mean/max_delta_ms, min/mean/max_jitter_ms, problems (bool).
    """
    text = rtp_streams_text(pcap, rtp_port=rtp_port, rtcp_port=rtcp_port)
    if text is None:
        return None
    return parse_rtp_streams(text)


def parse_rtp_streams(text: str) -> list[dict]:
    """The rows of a ``-z rtp,streams`` table (as :func:`rtp_streams` returns them) from its text."""
    rows = []
    for line in text.splitlines():
        m = _ROW.match(line)
        if not m:
            continue
        d = m.groupdict()
        row = {"src": d["src"], "dst": d["dst"], "payload": d["payload"], "problems": d["problems"] == "X",
               "ssrc": int(d["ssrc"], 16)}
        for k in ("sport", "dport", "pkts", "lost"):
            row[k] = int(d[k])
        for k in ("start", "end", "lost_pct", "min_delta_ms", "mean_delta_ms", "max_delta_ms", "min_jitter_ms",
                  "mean_jitter_ms", "max_jitter_ms"):
            row[k] = float(d[k])
        rows.append(row)
    return rows


def packet_summary(pcap: str | Path, *, count: int = 10, rtp_port: int = RTP_PORT,
                   rtcp_port: int | None = None) -> str | None:
    """tshark's one-line-per-packet summary of the first ``count`` packets, or None."""
    if tshark_path() is None:
        return None
    return _run(["-r", str(pcap), "-c", str(int(count)), *_decode_args(rtp_port, rtcp_port)]).rstrip("\n")


def fields(pcap: str | Path, field_names: list[str], *, display_filter: str | None = None, rtp_port: int = RTP_PORT,
           rtcp_port: int | None = None) -> list[list[str]] | None:
    """Selected dissector fields (``-T fields -e ...``) per packet, as strings, or None."""
    if tshark_path() is None:
        return None
    args = ["-r", str(pcap), *_decode_args(rtp_port, rtcp_port), "-T", "fields", "-E", "separator=\t",
            "-E", "occurrence=a", "-E", "aggregator=,"]
    if display_filter:
        args += ["-Y", display_filter]
    for f in field_names:
        args += ["-e", f]
    return [line.split("\t") for line in _run(args).splitlines()]
