"""Codecs behind one interface (:class:`Codec`): teaching codecs in numpy, real ones via PyAV.

=============  ==============================================  ==========================
name           what                                            module
=============  ==============================================  ==========================
``pcm``        linear PCM, 1–16 bits per sample                :mod:`.pcm`
``pcmu``       G.711 μ-law, 64 kbit/s (RTP PT 0)                :mod:`.pcm`
``pcma``       G.711 A-law, 64 kbit/s (RTP PT 8)                :mod:`.pcm`
``dvi4``       IMA ADPCM, 4 bits/sample (RTP DVI4, RFC 3551)   :mod:`.adpcm`
``mdct``       a small MDCT transform codec with a quality knob :mod:`.transform`
``opus``       Opus (RFC 6716) via PyAV/libopus                :mod:`.real`
``g722``       G.722 wide-band, 64 kbit/s, via PyAV            :mod:`.real`
``vp8``        VP8 video via PyAV/libvpx                        :mod:`.video`
``h264``       H.264 video via PyAV/libx264 (when present)     :mod:`.video`
=============  ==============================================  ==========================

``get_codec("pcmu")`` builds one by name; keyword arguments are passed on, e.g.
``get_codec("opus", bitrate_bps=16000, frame_ms=20)``.  :func:`roundtrip` encodes
and decodes a clip (optionally with lost frames), aligned with the input.

Used in: notebooks/06_codecs.ipynb, notebooks/07_jitter_buffers.ipynb.
"""

from __future__ import annotations

import importlib

from rtlib.media.codecs.base import (
    AudioCodec,
    Codec,
    VideoCodec,
    as_float,
    as_int16,
    decode_clip,
    encode_clip,
    roundtrip,
)
from rtlib.media.codecs.pcm import G711, LinearPcm, alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

# name -> (module, class name, fixed keyword arguments)
_REGISTRY = {
    "pcm": ("rtlib.media.codecs.pcm", "LinearPcm", {}),
    "pcmu": ("rtlib.media.codecs.pcm", "G711", {"law": "mu"}),
    "pcma": ("rtlib.media.codecs.pcm", "G711", {"law": "a"}),
    "dvi4": ("rtlib.media.codecs.adpcm", "ImaAdpcm", {}),
    "mdct": ("rtlib.media.codecs.transform", "MdctCodec", {}),
    "opus": ("rtlib.media.codecs.real", "OpusCodec", {}),
    "g722": ("rtlib.media.codecs.real", "G722Codec", {}),
    "vp8": ("rtlib.media.codecs.video", "Vp8Codec", {}),
    "h264": ("rtlib.media.codecs.video", "H264Codec", {}),
}
CODEC_NAMES = tuple(_REGISTRY)


def get_codec(name: str, **kwargs) -> Codec:
    """A new codec by ``name`` (see the table above) with ``kwargs`` passed to its class."""
    if name not in _REGISTRY:
        raise ValueError(f"name must be one of {list(_REGISTRY)}, got {name!r}")
    module, cls, fixed = _REGISTRY[name]
    return getattr(importlib.import_module(module), cls)(**fixed, **kwargs)


__all__ = [
    "AudioCodec", "CODEC_NAMES", "Codec", "G711", "LinearPcm", "VideoCodec", "alaw_decode", "alaw_encode",
    "as_float", "as_int16", "decode_clip", "encode_clip", "get_codec", "roundtrip", "ulaw_decode", "ulaw_encode",
]
