"""An RTP packet dissected byte by byte: hex with each field marked, and a field table.

``dissect(data)`` returns an object that shows, in a notebook, the packet's bytes in
rows of 16 coloured by the field they belong to, and a table of the fields with their
byte ranges, widths in bits and values (from :func:`rtlib.rtp.packet.describe_header`).
Printed, it is a plain hex dump plus the same table.

Used in: notebooks/05_rtp_rtcp.ipynb.
"""

from __future__ import annotations

import html

from rtlib.rtp.packet import describe_header

# Okabe-Ito-ish pastel colours, one per field group (readable for colour-blind eyes).
_COLORS = ["#f3c178", "#a6d4f2", "#b8e0b0", "#f2b8c6", "#d9c6f0", "#f7e39c", "#c9d6df", "#f5cfa0", "#bfe3e0"]


def hexdump(data: bytes, width: int = 16) -> str:
    """Offset, hex bytes and ASCII, ``width`` bytes a line (like ``xxd``)."""
    if not 1 <= width <= 64:
        raise ValueError(f"width must be in [1, 64], got {width!r}")
    lines = []
    for off in range(0, len(data), width):
        chunk = bytes(data[off:off + width])
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:04x}  {hexes:<{3 * width - 1}}  {text}")
    return "\n".join(lines)


def _byte_range(spec: str) -> tuple[int, int]:
    a, _, b = spec.partition("-")
    return int(a), int(b or a)


class Dissection:
    """The rich display of one dissected packet (see :func:`dissect`)."""

    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.rows = describe_header(self.data)
        # group rows by byte range: the bit fields of bytes 0 and 1 share a colour
        self.groups: list[tuple[int, int, str]] = []
        for r in self.rows:
            lo, hi = _byte_range(r["bytes"])
            if self.groups and self.groups[-1][0] == lo:
                self.groups[-1] = (lo, hi, self.groups[-1][2] + ", " + r["field"])
            else:
                self.groups.append((lo, hi, r["field"]))

    def _color_of_byte(self) -> list[str | None]:
        colors: list[str | None] = [None] * len(self.data)
        for k, (lo, hi, _) in enumerate(self.groups):
            for i in range(lo, min(hi, len(self.data) - 1) + 1):
                colors[i] = _COLORS[k % len(_COLORS)]
        return colors

    def _repr_html_(self) -> str:
        colors = self._color_of_byte()
        shown = min(len(self.data), 64)
        cells = []
        for off in range(0, shown, 16):
            row = [f"<td style='color:#777;padding-right:8px'>{off:04x}</td>"]
            for i in range(off, min(off + 16, shown)):
                bg = colors[i] or "#ffffff"
                row.append(f"<td style='background:{bg};padding:1px 4px;font-family:monospace'>{self.data[i]:02x}</td>")
            cells.append("<tr>" + "".join(row) + "</tr>")
        more = f"<div style='color:#777'>… {len(self.data) - shown} more bytes of payload</div>" if len(self.data) > shown else ""
        grid = "<table style='border-collapse:collapse'>" + "".join(cells) + "</table>" + more
        head = "<tr><th>bytes</th><th>hex</th><th>field</th><th>bits</th><th>value</th></tr>"
        body = []
        group_color = {lo: _COLORS[k % len(_COLORS)] for k, (lo, _, _) in enumerate(self.groups)}
        for r in self.rows:
            lo, _ = _byte_range(r["bytes"])
            body.append(
                f"<tr><td style='background:{group_color.get(lo, '#fff')}'>{html.escape(r['bytes'])}</td>"
                f"<td style='font-family:monospace'>{html.escape(str(r['hex']))}</td>"
                f"<td>{html.escape(r['field'])}</td><td>{html.escape(str(r['bits']))}</td>"
                f"<td>{html.escape(str(r['value']))}</td></tr>")
        table = "<table>" + head + "".join(body) + "</table>"
        return f"<div><b>{len(self.data)}-byte RTP packet</b>{grid}<br>{table}</div>"

    def __repr__(self) -> str:
        lines = [hexdump(self.data[:64]) + ("\n…" if len(self.data) > 64 else ""), ""]
        lines.append(f"{'bytes':>7}  {'hex':<18} {'field':<32} {'bits':>4}  value")
        for r in self.rows:
            lines.append(f"{r['bytes']:>7}  {str(r['hex'])[:18]:<18} {r['field']:<32} {r['bits']:>4}  {r['value']}")
        return "\n".join(lines)


def dissect(data: bytes) -> Dissection:
    """Dissect an RTP packet for display; :class:`~rtlib.rtp.errors.ParseError` if malformed."""
    return Dissection(data)
