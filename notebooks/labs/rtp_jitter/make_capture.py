"""Rebuild ``capture.pcap``, the receiver-side capture the RTP lab parses.

Four seconds of G.711 (PCMU) audio, 20 ms frames, through a simulated path with
60 ms delay, 15 ms mean jitter (with reordering) and 3 % loss, as captured at the
receiver by :func:`rtlib.rtp.call.simulate_call` (RTP on UDP port 5004, the
sender's RTCP on 5005).  The first sequence number is 65450, so the numbers wrap
past 65535 about 1.7 s into the call (85 frames of 20 ms).  Deterministic: the same bytes on every run.

    python notebooks/labs/rtp_jitter/make_capture.py
"""

from pathlib import Path

from rtlib.rtp.call import simulate_call

HERE = Path(__file__).resolve().parent
PARAMS = dict(codec="pcmu", seconds=4.0, delay_ms=60.0, jitter_ms=15.0, loss=0.03, seed=18,
              initial_seq=65450, rtcp_interval_s=1.0)


def main(path: Path = HERE / "capture.pcap") -> Path:
    simulate_call(pcap=path, **PARAMS)
    return path


if __name__ == "__main__":
    print(main())
