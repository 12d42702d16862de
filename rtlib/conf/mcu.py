"""A Multipoint Control Unit (RFC 7667 §3.6, "Point to Multipoint Using Mixer"): decode, mix, re-encode.

::

    Opus from each of N  --decode-->  samples[i]  --mix-minus-->  out[j] = Σ_{i≠j} samples[i]  --encode--> to j
    VP8  from each of N  --decode-->  picture[i]  --compose-->    tiles of everyone but j       --encode--> to j

Unlike an SFU, the MCU touches the media: it decodes every incoming stream, and per
receiver it builds a **mix-minus** of the audio (everyone but the receiver: hearing
your own voice come back a round trip late is an echo, ITU-T G.131) and a **tiled
composite** of the others' pictures, then encodes one audio and one video stream for
that receiver.  Each client then sends one stream and receives one, whatever N is:
the cheapest client and the most expensive server (:func:`rtlib.conf.topology.load`
counts N decodes and N encodes; the costs in cpu_costs.json are measured with these
same codecs).  The mixed signal is new media, so the MCU is the RTP source of what
it sends (its own SSRC; the contributors go in the CSRC list, RFC 3550 §7.1).

Sans-IO: :meth:`Mcu.on_audio` / :meth:`Mcu.on_video` take each participant's encoded
frame for the current tick; :meth:`Mcu.audio_tick` / :meth:`Mcu.video_tick` return
``{receiver: encoded frame}``.  :func:`mix_minus` and :func:`compose_tiles` are the
pure functions inside, for the notebook's listen cell and the tests.

Used in: notebooks/10_many_participants.ipynb (listen to an MCU mix-minus).
"""

from __future__ import annotations

import math

import numpy as np

from rtlib.media.codecs import as_float, as_int16, get_codec


def mix_minus(samples_by_pid: dict, *, headroom_db: float = 0.0) -> dict:
    """For each participant, the sum of everyone else's samples (float in [-1, 1]).

    ``samples_by_pid``: ``{pid: samples}`` (int16 or float, equal lengths).  The total
    is computed once and each participant's own signal subtracted (N + N operations,
    not N²), then scaled by ``headroom_db`` and clipped to [-1, 1].
    """
    if not samples_by_pid:
        return {}
    xs = {p: as_float(x) for p, x in samples_by_pid.items()}
    lens = {x.shape for x in xs.values()}
    if len(lens) != 1:
        raise ValueError(f"samples must all have the same length, got shapes {sorted(lens)}")
    total = np.sum(list(xs.values()), axis=0)
    gain = 10 ** (-headroom_db / 20)
    return {p: np.clip((total - x) * gain, -1.0, 1.0) for p, x in xs.items()}


def compose_tiles(pictures: list, width: int, height: int) -> np.ndarray:
    """Lay ``pictures`` (RGB uint8) out in a near-square grid on a ``height × width`` canvas.

    Each picture is scaled (nearest neighbour) to its tile; an empty list gives a black
    canvas.
    """
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    n = len(pictures)
    if n == 0:
        return canvas
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    tw, th = width // cols, height // rows
    for k, pic in enumerate(pictures):
        pic = np.asarray(pic)
        r, c = divmod(k, cols)
        yi = (np.arange(th) * pic.shape[0] // th)[:, None]
        xi = (np.arange(tw) * pic.shape[1] // tw)[None, :]
        canvas[r * th:(r + 1) * th, c * tw:(c + 1) * tw] = pic[yi, xi]
    return canvas


class Mcu:
    """Decode every participant, mix-minus audio, tile video, re-encode per receiver.

    ``participants``: their ids.  ``audio_codec``: "opus" (48 kHz, 20 ms) or any audio
    codec name of :func:`rtlib.media.codecs.get_codec` with ``audio_args``.  ``video``:
    whether to handle video; pictures in are ``in_size`` (width, height), composites out
    ``out_size``, encoded with VP8 at ``video_bitrate_bps``.
    """

    def __init__(self, participants, *, audio_codec: str = "opus", audio_args: dict | None = None,
                 video: bool = True, in_size=(160, 120), out_size=(320, 240), video_bitrate_bps: float = 300_000,
                 fps: float = 15.0):
        self.participants = list(participants)
        if len(self.participants) < 2 or len(set(self.participants)) != len(self.participants):
            raise ValueError(f"participants must hold at least 2 distinct ids, got {participants!r}")
        args = {"rate_hz": 48_000, "frame_ms": 20} if audio_codec == "opus" and audio_args is None else (audio_args or {})
        self._audio_dec = {p: get_codec(audio_codec, **args) for p in self.participants}
        self._audio_enc = {p: get_codec(audio_codec, **args) for p in self.participants}
        self.samples_per_frame = next(iter(self._audio_enc.values())).samples_per_frame
        self._audio_in: dict = {}
        self.video = video
        self.in_size, self.out_size = tuple(in_size), tuple(out_size)
        if video:
            from rtlib.media.codecs.video import Vp8Codec

            self._video_dec = {p: Vp8Codec(width=in_size[0], height=in_size[1], fps=fps) for p in self.participants}
            self._video_enc = {p: Vp8Codec(width=out_size[0], height=out_size[1], fps=fps,
                                           bitrate_bps=video_bitrate_bps) for p in self.participants}
            self._pictures = {p: np.zeros((in_size[1], in_size[0], 3), np.uint8) for p in self.participants}
            self._video_frames = 0
        self.decodes = self.encodes = 0
        self.last_mix: dict = {}

    # -- audio --------------------------------------------------------------------------
    def on_audio(self, pid, payload: bytes | None) -> None:
        """``pid``'s encoded audio frame for this tick (``None``: lost, concealed by the decoder)."""
        self._audio_in[pid] = self._audio_dec[pid].decode(payload)
        self.decodes += 1

    def audio_tick(self) -> dict:
        """Mix-minus per receiver, encoded: ``{receiver: payload}``.  Missing senders are silent."""
        frames = {p: self._audio_in.get(p, np.zeros(self.samples_per_frame, np.int16)) for p in self.participants}
        self._audio_in = {}
        mixes = mix_minus(frames)
        self.last_mix = mixes
        out = {}
        for p, x in mixes.items():
            out[p] = self._audio_enc[p].encode(as_int16(x))
            self.encodes += 1
        return out

    # -- video --------------------------------------------------------------------------
    def on_video(self, pid, frame: bytes | None) -> None:
        """``pid``'s encoded VP8 frame (``None``: lost, the last picture stays)."""
        self._pictures[pid] = self._video_dec[pid].decode(frame)
        self.decodes += 1

    def video_tick(self) -> dict:
        """A tiled composite of the others per receiver, VP8-encoded: ``{receiver: frame}``."""
        if not self.video:
            raise ValueError("video must be True to compose video")
        w, h = self.out_size
        out = {}
        key = self._video_frames == 0
        for p in self.participants:
            canvas = compose_tiles([self._pictures[q] for q in self.participants if q != p], w, h)
            out[p] = self._video_enc[p].encode(canvas, keyframe=key)
            self.encodes += 1
        self._video_frames += 1
        return out


def mix_minus_demo(seconds: float = 3.0, participants: int = 3, *, seed: int = 0) -> dict:
    """A small mix-minus through real Opus: each participant a distinct tone, one MCU.

    Returns ``{"inputs": {pid: samples}, "outputs": {pid: decoded mix it hears}, "rate_hz": 48000}``
    (float arrays), for the notebook's listen cell and the tests.
    """
    rate = 48_000
    n = int(seconds * rate) // 960 * 960
    t = np.arange(n) / rate
    freqs = [300.0, 500.0, 800.0, 1200.0, 1900.0, 2700.0][:participants]
    inputs = {k: 0.25 * np.sin(2 * np.pi * f * t) for k, f in enumerate(freqs)}
    mcu = Mcu(list(inputs), video=False)
    enc = {k: get_codec("opus", rate_hz=rate, frame_ms=20) for k in inputs}
    dec = {k: get_codec("opus", rate_hz=rate, frame_ms=20) for k in inputs}
    outs = {k: [] for k in inputs}
    for s in range(0, n, 960):
        for k, x in inputs.items():
            mcu.on_audio(k, enc[k].encode(as_int16(x[s:s + 960])))
        for k, payload in mcu.audio_tick().items():
            outs[k].append(as_float(dec[k].decode(payload)))
    return {"inputs": inputs, "outputs": {k: np.concatenate(v) for k, v in outs.items()}, "rate_hz": rate,
            "freqs_hz": dict(enumerate(freqs))}
