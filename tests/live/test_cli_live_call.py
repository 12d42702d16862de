"""``python -m rtlib live-call``: summary, exit codes, clean ends (normal and Ctrl-C), bad arguments."""

import json
import signal
import subprocess
import sys
import time

import pytest

import rtlib.cli.live_call as live_call
from rtlib.cli import main
from rtlib.live.stats import CallStats, StatsSample

pytestmark = pytest.mark.timeout(120)

CMD = [sys.executable, "-X", "dev", "-m", "rtlib", "live-call"]


def popen(args):
    # -X dev: asyncio's debug mode and ResourceWarnings, so an unclosed socket or a
    # never-awaited task would show on stderr
    return subprocess.Popen(CMD + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def quiet(err: str) -> bool:
    noisy = ("ResourceWarning", "Task was destroyed", "never awaited", "Traceback", "unclosed")
    return not any(w in err for w in noisy)


@pytest.mark.parametrize("args, words", [
    (["--loss", "2"], "loss must be in [0, 1]"),
    (["--rate-kbps", "-3"], "rate_kbps"),
    (["--seconds", "0"], "--seconds"),
    (["--outage-at", "3"], "--outage-at and --outage-s"),
    (["--outage-at", "30", "--outage-s", "1", "--seconds", "10"], "--outage-at must be in"),
    (["--jitter-ms", "-1"], "jitter_ms"),
])
def test_bad_arguments_one_line_exit_2(args, words, capsys):
    assert main(["live-call", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and err[0].startswith("rtlib live-call: error:")


def test_unknown_stack_is_argparse_error():
    with pytest.raises(SystemExit) as exc:
        main(["live-call", "--stack", "pjsip"])
    assert exc.value.code == 2


def test_rtlib_stack_missing_says_so(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "rtlib.live.endpoint", None)
    assert main(["live-call", "--stack", "rtlib", "--seconds", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rtlib.live.endpoint" in err[0]


def test_outage_flips_the_live_impairments_for_runners_without_events(monkeypatch, capsys):
    seen = []

    async def fake_runner(*, seconds, forward, backward, seed, pcap, on_sample):
        stats = CallStats()
        for k in range(1, int(seconds / 0.25) + 1):
            s = StatsSample(t_s=k * 0.25)
            on_sample(s)
            seen.append((s.t_s, forward.outage, backward.outage))
            stats.add(s)
        return stats

    monkeypatch.setattr(live_call, "_runner", lambda stack: fake_runner)
    assert main(["live-call", "--stack", "rtlib", "--seconds", "3", "--outage-at", "1", "--outage-s", "1",
                 "--json"]) == 0
    down = [t for t, f, b in seen if f and b]
    assert down == [1.0, 1.25, 1.5, 1.75] and not seen[-1][1]
    out = json.loads(capsys.readouterr().out)
    assert out["outage"] == {"at_s": 1.0, "duration_s": 1.0} and out["interrupted"] is False


@pytest.mark.interop
def test_real_call_prints_summary_and_ends_clean(tmp_path):
    p = popen(["--seconds", "3", "--delay-ms", "40", "--jitter-ms", "5", "--loss", "0.05", "--rate-kbps", "1000",
               "--pcap", str(tmp_path / "c.pcap"), "--stats-json", str(tmp_path / "s.json"), "--json"])
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert quiet(err), err
    d = json.loads(out)
    s = d["summary"]
    assert d["stack"] == "aiortc" and not d["interrupted"] and d["forward"]["rate_kbps"] == 1000
    assert s["samples"] == 12 and s["frames_decoded"] > 30 and s["rtt_ms_p50"] >= 80
    assert (tmp_path / "c.pcap").stat().st_size > 10_000
    assert len(CallStats.from_json(tmp_path / "s.json").samples) == 12


@pytest.mark.interop
def test_ctrl_c_ends_cleanly():
    p = popen(["--seconds", "60", "--json"])
    time.sleep(6)  # past the imports and the ICE/DTLS handshake: the call is running
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert quiet(err), err
    d = json.loads(out)
    assert d["interrupted"] is True and d["summary"]["samples"] >= 1
