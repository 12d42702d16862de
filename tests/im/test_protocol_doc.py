"""PROTOCOL.md is read by strangers who write clients from it alone: it must agree with
the code on every frame type, error code, close code and limit, and its example
session must be frames the code accepts (or refuses as the session says)."""

import json
import re
from pathlib import Path

import pytest

from rtlib.im import protocol as P

DOC = (Path(P.__file__).parent / "PROTOCOL.md").read_text()


def section(title: str) -> str:
    m = re.search(rf"^##+ {re.escape(title)}\n(.*?)(?=^## )", DOC, re.S | re.M)
    assert m, f"PROTOCOL.md has no section {title!r}"
    return m.group(1)


def table_rows(text: str) -> list[list[str]]:
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| ---")]
    return rows[1:]  # without the header


def test_every_frame_type_is_documented():
    client = {r[0].strip("`") for r in table_rows(section("Client → server"))}
    server = {r[0].strip("`") for r in table_rows(section("Server → client"))}
    assert client == set(P.CLIENT_TYPES)
    assert server == set(P.SERVER_TYPES)


def test_every_error_code_is_documented_and_none_else():
    codes = [r[0].strip("`") for r in table_rows(section("Errors"))]
    assert sorted(codes) == sorted(P.ERROR_CODES)


def test_every_close_code_is_documented_and_none_else():
    codes = {int(r[0]) for r in table_rows(section("Connections and close codes"))}
    assert codes == set(P.CLOSE_CODES)


def test_every_limit_in_the_table_is_the_code_s():
    rows = table_rows(section("Limits"))
    names = [r[0].strip("`") for r in rows]
    for name, value in ((r[0].strip("`"), r[1]) for r in rows):
        assert float(value) == float(getattr(P, name)), name
    # and every limit the code defines is in the table
    defined = [n for n in dir(P)
               if re.fullmatch(r"(MAX|DEFAULT)_[A-Z_]+|[A-Z]+_(TIMEOUT|RATE_PER|BURST)\w*|HEARTBEAT_S|WS_MAX_BYTES", n)]
    assert sorted(defined) == sorted(names)


def test_the_revocation_sweep_and_close_wait_are_the_code_s():
    from rtlib.im.gateway import Gateway
    from rtlib.im.server import CLOSE_WAIT_S

    sweep = Gateway(lambda u, t: True).sweep_s
    assert f"every {sweep:g} s" in DOC and f"one\nsweep ({sweep:g} s)" in DOC
    assert f"at most {CLOSE_WAIT_S:g} s for a client that does not read" in DOC


def example_lines():
    block = section("Example session").split("```")[1]
    for line in block.splitlines():
        m = re.match(r"(\w+)\s+(→|←) (.*)$", line)
        if m:
            yield m.group(1), m.group(2), m.group(3)


def test_the_example_session_is_made_of_real_frames():
    lines = list(example_lines())
    assert len(lines) > 20
    refused = {"bad_json", "bad_frame"}
    for i, (who, way, text) in enumerate(lines):
        if way == "←":
            frame = json.loads(text)
            assert frame["type"] in P.SERVER_TYPES, text
            if frame["type"] == "error":
                assert frame["code"] in P.ERROR_CODES
            continue
        answer = lines[i + 1] if i + 1 < len(lines) and lines[i + 1][1] == "←" else None
        code = json.loads(answer[2]).get("code") if answer else None
        if code in refused:  # the session shows this one refused: the validator must agree
            with pytest.raises(P.FrameError) as exc:
                P.decode(text)
            assert exc.value.code == code
            if code == "bad_frame":  # the reason shown is the real one
                assert json.loads(answer[2])["reason"] == exc.value.reason
        else:
            assert P.decode(text)["type"] in P.CLIENT_TYPES
