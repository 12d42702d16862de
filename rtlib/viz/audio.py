"""Labelled audio players laid out side by side.

Used in: notebooks 06, 07 and 09 ("listen" cells).
"""

from __future__ import annotations

import base64
import html
import io
import wave

import numpy as np


def wav_bytes(samples, rate_hz: int) -> bytes:
    """Encode mono samples (float in [-1, 1] or int16) as a 16-bit PCM WAV file."""
    if not isinstance(rate_hz, (int, np.integer)) or not 1 <= rate_hz <= 384_000:
        raise ValueError(f"rate_hz must be an integer in [1, 384000], got {rate_hz!r}")
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"samples must be one-dimensional (mono), got shape {x.shape}")
    if x.dtype.kind == "f":
        pcm = (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2")
    elif x.dtype == np.int16:
        pcm = x.astype("<i2")
    else:
        raise ValueError(f"samples must be float in [-1, 1] or int16, got dtype {x.dtype}")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate_hz))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


class AudioRow:
    """Rich-display object: one labelled ``<audio>`` player per clip, in a row.

    It renders as plain HTML (no widget front end needed), so the players also show
    in a notebook run headless and in exported HTML.
    """

    def __init__(self, clips: dict[str, tuple[np.ndarray, int]], title: str | None = None):
        if not clips:
            raise ValueError("clips must hold at least one (samples, rate_hz) pair")
        self.clips = {label: (np.asarray(x), int(r)) for label, (x, r) in clips.items()}
        self.title = title
        self._wavs = {label: wav_bytes(x, r) for label, (x, r) in self.clips.items()}

    def _repr_html_(self) -> str:
        cells = []
        for label, data in self._wavs.items():
            x, rate = self.clips[label]
            b64 = base64.b64encode(data).decode("ascii")
            cells.append(
                '<div style="display:inline-block;margin:4px 12px 4px 0;text-align:center">'
                f'<div style="font-weight:bold">{html.escape(label)}</div>'
                f'<audio controls src="data:audio/wav;base64,{b64}"></audio>'
                f'<div style="font-size:small;color:#555">{len(x) / rate:.1f} s, {rate} Hz</div></div>'
            )
        head = f"<div style='font-weight:bold'>{html.escape(self.title)}</div>" if self.title else ""
        return head + '<div style="display:flex;flex-wrap:wrap">' + "".join(cells) + "</div>"

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}: {len(x) / r:.1f} s @ {r} Hz" for k, (x, r) in self.clips.items())
        return f"AudioRow({parts})"


def audio_players(clips: dict[str, tuple[np.ndarray, int]], title: str | None = None) -> AudioRow:
    """Players side by side, e.g. ``audio_players({"original": (x, 8000), "5% loss": (y, 8000)})``."""
    return AudioRow(clips, title)
