"""Codec speed: encode + decode of the course's speech clip, as a multiple of real time.

The bar (issue 5): every teaching codec (numpy) encodes and decodes at >= 50x real
time on one core.  The teaching codecs are single-threaded (numpy FFTs, no BLAS);
real codecs (PyAV/FFmpeg) are listed for comparison.  Frame by frame, through the
same interface a call uses (``encode_clip`` then ``decode_clip``).
"""

from __future__ import annotations

from benchmarks.common import Row, best_of
from rtlib.media.clips import load_speech, synthetic_video
from rtlib.media.codecs import decode_clip, encode_clip, get_codec

BAR_X = 50.0
TEACHING = [
    ("pcm", {"bits": 16}, 8000), ("pcmu", {}, 8000), ("pcma", {}, 8000), ("dvi4", {}, 8000),
    ("mdct", {"quality": 5, "rate_hz": 8000}, 8000), ("mdct", {"quality": 5, "rate_hz": 16000}, 16000),
    ("mdct", {"quality": 10, "rate_hz": 16000, "frame_ms": 10}, 16000),
]
REAL = [("g722", {}, 16000), ("opus", {"rate_hz": 16000, "bitrate_bps": 24000}, 16000),
        ("opus", {"rate_hz": 48000, "bitrate_bps": 32000}, 48000)]


def speed(name: str, kwargs: dict, rate_hz: int) -> tuple[float, str]:
    x = load_speech("en", rate_hz)
    codec = get_codec(name, **kwargs)

    def once():
        codec.reset()
        decode_clip(codec, encode_clip(codec, x))

    seconds = best_of(once, repeat=3)
    return len(x) / rate_hz / seconds, codec.label


def video_fps(name: str) -> float:
    frames = synthetic_video(60, 320, 240)
    codec = get_codec(name, width=320, height=240, bitrate_bps=500_000)

    def once():
        codec.reset()
        for i, f in enumerate(frames):
            codec.decode(codec.encode(f, keyframe=(i == 0)))

    return len(frames) / best_of(once, repeat=2)


def run() -> list[Row]:
    rows = []
    for name, kwargs, rate in TEACHING:
        x, label = speed(name, kwargs, rate)
        rows.append(Row(f"teaching codec {label} ({rate // 1000} kHz): encode + decode", x, "× real time",
                        bar=BAR_X, note="19.5 s English clip, 20 ms frames unless named, one core"))
    for name, kwargs, rate in REAL:
        x, label = speed(name, kwargs, rate)
        rows.append(Row(f"real codec {label} ({rate // 1000} kHz): encode + decode", x, "× real time",
                        note="PyAV/FFmpeg (Opus decoded by libopus via ctypes)"))
    from rtlib.media.codecs.video import h264_available

    for name in ("vp8", "h264") if h264_available() else ("vp8",):
        rows.append(Row(f"{name} 320×240 encode + decode", video_fps(name), "frames/s",
                        note="synthetic test pattern, real-time encoder settings"))
    return rows
