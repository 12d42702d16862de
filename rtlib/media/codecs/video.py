"""Real video codecs through PyAV: VP8 (libvpx) and H.264 (libx264), set up as WebRTC does.

``encode(picture)`` takes one ``height × width × 3`` RGB picture (uint8) and returns
the whole compressed frame (often larger than one packet: :mod:`rtlib.media.packetize`
splits it into RTP payloads, RFC 7741 for VP8, RFC 6184 for H.264).
``decode(frame_bytes)`` returns the decoded RGB picture; ``decode(None)`` (a lost
frame) repeats the last picture, which is what a receiver shows: a freeze.  A
decoder that misses a frame keeps decoding the following *inter* frames against a
reference it never got, so errors persist until the next key frame; call
``encode(picture, keyframe=True)`` to send one (what a receiver's PLI/FIR asks for,
RFC 4585 §6.3.1, RFC 5104 §3.5.1).

Encoder settings follow aiortc's (real-time deadline, no look-ahead frames, CBR
around ``bitrate_bps``; H.264 Constrained Baseline with ``tune=zerolatency``), so
neither codec delays its output: the algorithmic delay is one frame interval.

Used in: notebooks/06_codecs.ipynb (watch cell), notebooks/07 (freezes after loss).
"""

from __future__ import annotations

import fractions

import numpy as np

from rtlib.media.codecs.base import VideoCodec


def h264_available() -> bool:
    """Whether this PyAV build has an H.264 encoder (libx264) and decoder."""
    try:
        from av import CodecContext

        CodecContext.create("libx264", "w")
        CodecContext.create("h264", "r")
        return True
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False


class _AvVideoCodec(VideoCodec):
    _encoder_name = ""
    _decoder_name = ""

    def __init__(self, width: int = 320, height: int = 240, fps: float = 30.0, bitrate_bps: float = 500_000):
        for pname, v in (("width", width), ("height", height)):
            if not (isinstance(v, (int, np.integer)) and 16 <= v <= 1920 and v % 2 == 0):
                raise ValueError(f"{pname} must be an even integer in [16, 1920] pixels, got {v!r}")
        if not 1 <= fps <= 60:
            raise ValueError(f"fps must be in [1, 60] frames/s, got {fps!r}")
        if not 20_000 <= bitrate_bps <= 20_000_000:
            raise ValueError(f"bitrate_bps must be in [20000, 20000000] bit/s, got {bitrate_bps!r}")
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.target_bps = float(bitrate_bps)
        self.reset()

    @property
    def bitrate_bps(self) -> float:
        return self.target_bps

    def reset(self) -> None:
        from av import CodecContext

        self._enc = self._make_encoder()
        self._dec = CodecContext.create(self._decoder_name, "r")
        self._pts = 0
        self._last = np.zeros((self.height, self.width, 3), dtype=np.uint8)

    def _make_encoder(self):
        """The encoder context: the settings every video codec shares, then its own."""
        from av import CodecContext

        ctx = CodecContext.create(self._encoder_name, "w")
        ctx.width, ctx.height = self.width, self.height
        ctx.pix_fmt = "yuv420p"
        ctx.bit_rate = int(self.target_bps)
        ctx.time_base = fractions.Fraction(1, 90_000)
        ctx.framerate = fractions.Fraction(self.fps).limit_denominator(1000)
        ctx.thread_count = 1
        self._configure(ctx)
        return ctx

    def _configure(self, ctx) -> None:
        raise NotImplementedError

    def encode(self, frame, keyframe: bool = False) -> bytes:
        from av import VideoFrame
        from av.video.frame import PictureType

        x = self._frame_in(frame)
        vf = VideoFrame.from_ndarray(np.ascontiguousarray(x), format="rgb24").reformat(format="yuv420p")
        vf.pts = self._pts
        vf.time_base = fractions.Fraction(1, 90_000)
        vf.pict_type = PictureType.I if keyframe else PictureType.NONE
        self._pts += int(round(90_000 / self.fps))
        return b"".join(bytes(p) for p in self._enc.encode(vf))

    def decode(self, payload: bytes | None) -> np.ndarray:
        from av import Packet

        if payload is None or len(payload) == 0:
            return self._last.copy()
        try:
            frames = self._dec.decode(Packet(payload))
        except Exception:  # a corrupt frame (e.g. decoded without its reference): keep the last picture
            frames = []
        if frames:
            self._last = frames[-1].to_ndarray(format="rgb24")
        return self._last.copy()


class Vp8Codec(_AvVideoCodec):
    """VP8 (RFC 6386) via libvpx, payload format RFC 7741; dynamic payload type."""

    name = "vp8"
    rtp_name = "VP8"
    _encoder_name = "libvpx"
    _decoder_name = "vp8"

    @property
    def label(self) -> str:
        return f"VP8 {self.target_bps / 1000:g} kbit/s"

    def _configure(self, ctx) -> None:
        ctx.gop_size = 3000
        ctx.qmin, ctx.qmax = 2, 56
        ctx.options = {
            "bufsize": str(int(self.target_bps)), "cpu-used": "-6", "deadline": "realtime",
            "lag-in-frames": "0", "minrate": str(int(self.target_bps)), "maxrate": str(int(self.target_bps)),
            "static-thresh": "1", "undershoot-pct": "100", "overshoot-pct": "15",
        }


class H264Codec(_AvVideoCodec):
    """H.264 Constrained Baseline via libx264 (``tune=zerolatency``), payload format RFC 6184."""

    name = "h264"
    rtp_name = "H264"
    _encoder_name = "libx264"
    _decoder_name = "h264"

    @property
    def label(self) -> str:
        return f"H.264 {self.target_bps / 1000:g} kbit/s"

    def _configure(self, ctx) -> None:
        ctx.profile = "Baseline"
        ctx.options = {"level": "31", "tune": "zerolatency", "preset": "veryfast", "g": "3000"}


class VideoPlayer:
    """Rich-display object: an HTML5 ``<video>`` of RGB pictures (VP8 in WebM, in memory).

    The pictures are encoded once at high quality just for showing them; what you
    see is what ``pictures`` holds (e.g. a decoder's output after loss).
    """

    def __init__(self, pictures, fps: float = 30.0, title: str | None = None, bitrate_bps: float = 2_000_000):
        import io

        import av

        frames = np.asarray(pictures)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"pictures must be an n × height × width × 3 uint8 array, got {frames.shape} {frames.dtype}")
        buf = io.BytesIO()
        with av.open(buf, "w", format="webm") as out:
            stream = out.add_stream("libvpx", rate=fractions.Fraction(fps).limit_denominator(1000))
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv420p"
            stream.bit_rate = int(bitrate_bps)
            stream.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
            for pic in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(pic), format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        self.webm = buf.getvalue()
        self.title = title
        self.shape = frames.shape

    def _repr_html_(self) -> str:
        import base64
        import html

        b64 = base64.b64encode(self.webm).decode("ascii")
        head = f"<div style='font-weight:bold'>{html.escape(self.title)}</div>" if self.title else ""
        return (f"{head}<video controls loop width='{self.shape[2] * 2}' src='data:video/webm;base64,{b64}'>"
                "</video>")

    def __repr__(self) -> str:
        return f"VideoPlayer({self.shape[0]} frames, {self.shape[2]}×{self.shape[1]}, {len(self.webm)} bytes)"


def video_players(clips: dict, fps: float = 30.0):
    """Several labelled :class:`VideoPlayer` side by side: ``{"label": pictures, ...}``."""

    class _Row:
        def __init__(self, players):
            self.players = players

        def _repr_html_(self):
            cells = "".join(f"<div style='display:inline-block;margin:4px 12px 4px 0'>{p._repr_html_()}</div>"
                            for p in self.players)
            return f"<div style='display:flex;flex-wrap:wrap'>{cells}</div>"

        def __repr__(self):
            return "\n".join(repr(p) for p in self.players)

    return _Row([VideoPlayer(v, fps, title=label) for label, v in clips.items()])
