"""Chapter 06's experiments: quantisation, companding, transform coding, Opus; the trade-off table.

Every widget is a pure function registered with :func:`rtlib.viz.experiment`;
:func:`compare_codecs` measures bitrate, quality and algorithmic delay of a list of
codec settings on a speech clip, and :func:`plot_tradeoff` draws them.

Used in: notebooks/06_codecs.ipynb.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rtlib.media.codecs.base import as_float, decode_clip, encode_clip, roundtrip
from rtlib.media.codecs.pcm import G711, LinearPcm
from rtlib.viz.experiments import Choice, Param, experiment


@lru_cache(maxsize=8)
def _speech(rate_hz: int, seconds: float, lang: str = "en") -> np.ndarray:
    from rtlib.media.clips import load_speech

    return load_speech(lang, rate_hz, seconds=seconds)


def _loudest_window(x: np.ndarray, n: int) -> int:
    """Start of the ``n``-sample window with the most energy (a voiced stretch)."""
    e = np.convolve(x.astype(float) ** 2, np.ones(n), mode="valid")
    return int(np.argmax(e))


def scale_to_level(x: np.ndarray, level_db: float) -> np.ndarray:
    """Float speech scaled so its active RMS sits at ``level_db`` dBFS (peaks clipped at ±1)."""
    f = as_float(x)
    n = max(len(f) // 100, 1)
    frames = f[: len(f) // n * n].reshape(-1, n)
    rms = np.sqrt(np.mean(frames ** 2, axis=1))
    active = rms[rms > rms.max() * 0.01]
    level = np.sqrt(np.mean(active ** 2)) if len(active) else 1.0
    return np.clip(f * 10 ** (level_db / 20) / max(level, 1e-12), -1, 1)


def _snr(x: np.ndarray, y: np.ndarray) -> float:
    e = np.sum((x - y) ** 2)
    return float("inf") if e == 0 else float(10 * np.log10(np.sum(x ** 2) / e))


# --- quantisation --------------------------------------------------------------------------

def _plot_quantisation(r):
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    fig, (ax1, ax2) = new_figure(2, 1, figsize=(8, 5), sharex=True)
    ax1.plot(r["t_ms"], r["x"], color=COLORS["neutral"], lw=1, label="original")
    ax1.step(r["t_ms"], r["y"], where="mid", color=COLORS["rtc"], lw=1.2, label=f"{r['bits']}-bit samples")
    label_axes(ax1, "time [ms]", "amplitude (full scale = 1)",
               f"{r['bits']} bits/sample at {r['level_db']:g} dBFS: SNR {r['snr_db']:.1f} dB "
               f"({r['bitrate_bps'] / 1000:g} kbit/s)")
    legend(ax1)
    ax2.plot(r["t_ms"], r["x"] - r["y"], color=COLORS["bad"], lw=1)
    label_axes(ax2, "time [ms]", "error (full scale = 1)", "Quantisation error (what you hear as noise)")
    return fig


@experiment(
    "quantisation", plot=_plot_quantisation, notebook="06_codecs",
    bits=Param(8, 1, 16, 1, label="bits per sample", integer=True),
    level_db=Param(-20.0, -60.0, 0.0, 2.0, label="speech level", unit="dBFS"),
)
def quantisation(bits: int, level_db: float) -> dict:
    """Uniform quantisation of 8 kHz speech with ``bits`` bits at a level of ``level_db`` dBFS."""
    x = scale_to_level(_speech(8000, 3.0), level_db)
    y = as_float(roundtrip(LinearPcm(8000, bits), x))
    start = _loudest_window(x, 160)
    seg = slice(start, start + 160)
    return {"bits": bits, "level_db": level_db, "snr_db": _snr(x, y), "bitrate_bps": 8000.0 * bits,
            "t_ms": np.arange(160) / 8, "x": x[seg], "y": y[seg]}


# --- companding ----------------------------------------------------------------------------

LEVELS_DB = np.arange(-60.0, 1.0, 3.0)


@lru_cache(maxsize=1)
def companding_curves() -> dict:
    """SNR of speech vs its level for uniform 8, 12 and 16-bit PCM, μ-law and A-law."""
    x = _speech(8000, 2.0)
    coders = {"uniform 8-bit": LinearPcm(8000, 8), "uniform 12-bit": LinearPcm(8000, 12),
              "G.711 μ-law (8-bit)": G711("mu"), "G.711 A-law (8-bit)": G711("a")}
    out = {}
    for name, codec in coders.items():
        snrs = []
        for level in LEVELS_DB:
            s = scale_to_level(x, level)
            snrs.append(_snr(s, as_float(roundtrip(codec, s))))
        out[name] = np.array(snrs)
    return out


def _plot_companding(r):
    from rtlib.viz import label_axes, new_figure
    from rtlib.viz.style import legend

    fig, ax = new_figure(figsize=(8, 4.5))
    for name, snr in r["curves"].items():
        ax.plot(LEVELS_DB, snr, marker="o", ms=3, label=name, ls="--" if "12" in name else "-")
    ax.axvline(r["level_db"], color="#999999", lw=1)
    at = ", ".join(f"{k.split(' (')[0]} {v:.0f} dB" for k, v in r["at_level"].items())
    label_axes(ax, "speech level [dBFS]", "SNR [dB]", f"At {r['level_db']:g} dBFS: {at}")
    ax.title.set_fontsize(10)
    legend(ax)
    return fig


@experiment(
    "companding", plot=_plot_companding, notebook="06_codecs",
    level_db=Param(-30.0, -60.0, 0.0, 3.0, label="speech level", unit="dBFS"),
)
def companding(level_db: float) -> dict:
    """SNR vs level: a logarithmic quantiser keeps a steady SNR over 40 dB of levels."""
    curves = companding_curves()
    at = {name: float(np.interp(level_db, LEVELS_DB, snr)) for name, snr in curves.items()}
    return {"level_db": level_db, "curves": curves, "at_level": at}


# --- transform coding ----------------------------------------------------------------------

def _plot_mdct(r):
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    fig, (ax1, ax2) = new_figure(1, 2, figsize=(10, 4))
    ax1.plot(r["freq_hz"] / 1000, r["spec_out_db"], color=COLORS["rtc"], lw=1.2, label="decoded")
    ax1.plot(r["freq_hz"] / 1000, r["spec_err_db"], color=COLORS["bad"], lw=1, label="coding noise")
    ax1.plot(r["freq_hz"] / 1000, r["spec_in_db"], color="black", lw=0.7, label="original")
    ax1.set_ylim(r["spec_in_db"].max() - 90, r["spec_in_db"].max() + 5)
    label_axes(ax1, "frequency [kHz]", "level [dB re full scale]", f"One voiced stretch, q={r['quality']:g}")
    legend(ax1, where="below", ncols=3)
    # One filled step curve, not a bar per frame: a single artist draws fast.
    t = np.append(r["frame_t_s"], r["frame_t_s"][-1] + r["frame_ms"] / 1000)
    ax2.fill_between(t, np.append(r["frame_kbps"], r["frame_kbps"][-1]), step="post", color=COLORS["rtc"], lw=0)
    label_axes(ax2, "time [s]", "bit rate of each frame [kbit/s]",
               f"{r['bitrate_bps'] / 1000:.1f} kbit/s average, delay {r['delay_ms']:g} ms, "
               f"segSNR {r['segsnr_db']:.1f} dB")
    ax2.title.set_fontsize(10)
    return fig


@experiment(
    "mdct_codec", plot=_plot_mdct, notebook="06_codecs",
    quality=Param(5, 1, 10, 1, label="quality", integer=True),
    frame_ms=Choice(20, (10, 20, 40), label="frame [ms]"),
)
def mdct_codec(quality: int, frame_ms: int) -> dict:
    """The MDCT teaching codec on 2 s of 16 kHz speech: spectrum, bits per frame, delay."""
    from rtlib.media.codecs.transform import MdctCodec
    from rtlib.quality.speech import segmental_snr_db

    x = _speech(16000, 2.0)
    codec = MdctCodec(quality=quality, frame_ms=frame_ms, rate_hz=16000)
    tail = np.zeros(codec.delay_samples, np.int16)
    payloads = encode_clip(codec, np.concatenate([x, tail]))
    rate = codec.bitrate_bps
    y = decode_clip(codec, payloads)[codec.delay_samples: codec.delay_samples + len(x)]
    n = 1024
    start = _loudest_window(x, n)
    win = np.hanning(n)
    xf, yf = as_float(x[start:start + n]), as_float(y[start:start + n])
    # dB re full scale: a full-scale sine on a bin centre reads 0 dB (as rtlib.viz.style.spectrogram_dbfs)
    db = lambda s: 20 * np.log10(np.abs(np.fft.rfft(s * win)) / (win.sum() / 2) + 1e-9)  # noqa: E731
    kbps = np.array([8 * len(p) for p in payloads]) / frame_ms
    return {"quality": quality, "frame_ms": frame_ms, "bitrate_bps": rate, "delay_ms": codec.algorithmic_delay_ms,
            "segsnr_db": segmental_snr_db(x, y, 16000), "freq_hz": np.fft.rfftfreq(n, 1 / 16000),
            "spec_in_db": db(xf), "spec_out_db": db(yf), "spec_err_db": db(xf - yf),
            "frame_t_s": np.arange(len(kbps)) * frame_ms / 1000, "frame_kbps": kbps}


# --- Opus --------------------------------------------------------------------------------------

def _plot_opus(r):
    from rtlib.viz import label_axes, new_figure
    from rtlib.viz.style import DBFS_LABEL, colorbar, spectrogram

    fig, axes = new_figure(2, 1, figsize=(8.5, 5.5), sharex=True)
    # one colour scale for both panels, 80 dB deep, topped at the original's loudest 10 dB step
    vmax = 10 * np.ceil(r["peak_dbfs"] / 10)
    for ax, x in zip(axes, (r["x"], r["y"])):
        im = spectrogram(ax, x, 16000, vmin_db=vmax - 80, vmax_db=vmax, bar=False)
    label_axes(axes[0], "", "frequency [kHz]", "original (16 kHz)", unitless=("x",))
    label_axes(axes[1], "time [s]", "frequency [kHz]",
               f"Opus at {r['target_kbps']:g} kbit/s ({r['actual_kbps']:.1f} measured), {r['frame_ms']:g} ms "
               f"frames: delay {r['delay_ms']:g} ms, LSD {r['lsd_db']:.1f} dB")
    axes[1].title.set_fontsize(10)
    colorbar(im, list(axes), DBFS_LABEL)
    return fig


@experiment(
    "opus_codec", plot=_plot_opus, notebook="06_codecs",
    bitrate_kbps=Param(16.0, 6.0, 64.0, 2.0, label="target bit rate", unit="kbit/s"),
    frame_ms=Choice(20, (10, 20, 40, 60), label="frame [ms]"),
)
def opus_codec(bitrate_kbps: float, frame_ms: int) -> dict:
    """Opus on 2 s of 16 kHz speech: spectrograms before and after, measured rate and delay."""
    from rtlib.viz.style import spectrogram_dbfs

    from rtlib.media.codecs.real import OpusCodec
    from rtlib.quality.speech import log_spectral_distance_db

    x = _speech(16000, 2.0)
    codec = OpusCodec(bitrate_bps=bitrate_kbps * 1000, frame_ms=float(frame_ms), rate_hz=16000)
    tail = np.zeros(codec.delay_samples, np.int16)
    payloads = encode_clip(codec, np.concatenate([x, tail]))
    y = decode_clip(codec, payloads)[codec.delay_samples: codec.delay_samples + len(x)]
    actual = sum(8 * len(p) for p in payloads) / (len(payloads) * frame_ms / 1000)
    return {"target_kbps": bitrate_kbps, "frame_ms": frame_ms, "actual_kbps": actual / 1000,
            "delay_ms": codec.algorithmic_delay_ms, "lsd_db": log_spectral_distance_db(x, y, 16000),
            "x": as_float(x), "y": as_float(y), "peak_dbfs": float(spectrogram_dbfs(x, 16000)[2].max()),
            "duration_s": len(x) / 16000}


# --- the trade-off table -------------------------------------------------------------------------

def default_settings() -> list[tuple[str, dict]]:
    """The codec settings of chapter 06's comparison table."""
    out = [("pcmu", {}), ("dvi4", {}), ("g722", {}),
           ("mdct", {"quality": 3}), ("mdct", {"quality": 6}), ("mdct", {"quality": 9})]
    out += [("opus", {"rate_hz": 16000, "bitrate_bps": b}) for b in (6000, 8000, 12000, 16000, 24000, 32000, 64000)]
    out += [("opus", {"rate_hz": 16000, "bitrate_bps": 16000, "frame_ms": f}) for f in (10.0, 40.0, 60.0)]
    return out


def compare_codecs(settings=None, lang: str = "en", seconds: float = 8.0, pesq: bool = True) -> list[dict]:
    """Encode and decode the speech clip with each setting; measure rate, quality, delay.

    Quality is judged against the 16 kHz original: narrow-band codecs (8 kHz) are
    resampled up, so the missing 4–8 kHz band counts against them.  Columns: codec,
    rate_hz, frame_ms, algorithmic_delay_ms, bitrate_bps (measured payload rate),
    lsd_db (log-spectral distance, always), segsnr_db, pesq (P.862.2 wide-band, None
    when the ``pesq`` package is missing).
    """
    from scipy.signal import resample_poly

    from rtlib.media.codecs import get_codec
    from rtlib.quality.speech import speech_quality

    settings = default_settings() if settings is None else settings
    ref = _speech(16000, seconds, lang)
    rows = []
    for name, kwargs in settings:
        codec = get_codec(name, **kwargs)
        x = ref if codec.rate_hz == 16000 else _speech(codec.rate_hz, seconds, lang)
        tail = np.zeros(codec.delay_samples, np.int16)
        codec.reset()
        payloads = encode_clip(codec, np.concatenate([x, tail]))
        rate = sum(8 * len(p) for p in payloads) / (len(payloads) * codec.frame_ms / 1000)
        y = decode_clip(codec, payloads)[codec.delay_samples: codec.delay_samples + len(x)]
        if codec.rate_hz != 16000:
            y = resample_poly(as_float(y), 16000, codec.rate_hz)
        q = speech_quality(ref, y, 16000, pesq=pesq)
        rows.append({"codec": codec.label, "rate_hz": codec.rate_hz, "frame_ms": codec.frame_ms,
                     "algorithmic_delay_ms": codec.algorithmic_delay_ms, "bitrate_bps": rate,
                     "lsd_db": q["lsd_db"], "segsnr_db": q["segsnr_db"], "pesq": q["pesq"]})
    return rows


def _merged_label(labels: list[str]) -> str:
    """One label for settings that land on the same spot: "Opus 16k 20 / 40 / 60 ms"."""
    words = [lab.split() for lab in labels]
    if len(words) == 1:
        return labels[0]
    head = 0
    while all(len(w) > head + 1 for w in words) and len({w[head] for w in words}) == 1:
        head += 1
    tail = 0
    while all(len(w) > head + tail + 1 for w in words) and len({w[-1 - tail] for w in words}) == 1:
        tail += 1
    middle = " / ".join(" ".join(w[head:len(w) - tail]) for w in words)
    return " ".join(words[0][:head] + [middle] + (words[0][len(words[0]) - tail:] if tail else []))


def tradeoff_groups(rows: list[dict], key: str, near: float = 0.03) -> list[list[int]]:
    """Indices of rows that would sit on one spot (within ``near`` of each axis's span)."""
    lx = np.log10([r["bitrate_bps"] for r in rows])
    q = np.array([r[key] for r in rows], float)
    sx, sy = max(np.ptp(lx), 1e-9), max(np.ptp(q), 1e-9)
    groups: list[list[int]] = []
    for i in range(len(rows)):
        for g in groups:
            if any(abs(lx[i] - lx[j]) / sx < near and abs(q[i] - q[j]) / sy < near for j in g):
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def plot_tradeoff(rows: list[dict]):
    """Quality against bit rate (log axis); marker colour = algorithmic delay.

    Settings that land on one spot (Opus 16 kbit/s with 20, 40 and 60 ms frames) share
    one label, and their markers are drawn as concentric rings, largest for the longest
    delay, so every colour stays visible; every label starts at its own point.
    """
    from rtlib.viz import label_axes, new_figure
    from rtlib.viz.style import colorbar

    use_pesq = all(r["pesq"] is not None for r in rows)
    key, ylabel = ("pesq", "PESQ-WB MOS-LQO (1–4.6)") if use_pesq else ("lsd_db", "log-spectral distance [dB] (lower is better)")
    fig, ax = new_figure(figsize=(9.5, 5))
    rates = np.array([r["bitrate_bps"] / 1000 for r in rows])
    quality = np.array([r[key] for r in rows], float)
    delay = np.array([r["algorithmic_delay_ms"] for r in rows])
    groups = tradeoff_groups(rows, key)
    size = np.full(len(rows), 70.0)
    for g in groups:  # rings: within a group, the longest delay gets the largest marker
        for rank, i in enumerate(sorted(g, key=lambda i: delay[i])):
            size[i] = 70.0 * (1 + 1.2 * rank)
    order = np.argsort(-size, kind="stable")
    sc = ax.scatter(rates[order], quality[order], c=delay[order], s=size[order], cmap="viridis",
                    edgecolor="black", zorder=3, vmin=0, vmax=max(70, delay.max()))
    lx = np.log10(rates)
    sx, sy = max(np.ptp(lx), 1e-9), max(np.ptp(quality), 1e-9)
    sign = -1 if use_pesq else 1          # "down" on screen (the LSD axis is inverted)
    placed: list[tuple[float, float]] = []
    for g in sorted(groups, key=lambda g: -quality[g[0]] * -sign):
        i = g[0]
        label = _merged_label([rows[j]["codec"].replace(" kbit/s", "k") for j in g])
        nx, ny = lx[i], quality[i]
        while any(abs((nx - px) / sx) < 0.16 and abs((ny - py) / sy) < 0.05 for px, py in placed):
            ny += sign * 0.05 * sy
        placed.append((nx, ny))
        ax.annotate(label, (rates[i], quality[i]), xytext=(10 + 2 * len(g), 0), textcoords="offset points",
                    va="center", fontsize=8) if ny == quality[i] else ax.annotate(
            label, (rates[i], quality[i]), xytext=(rates[i] * 1.08, ny), va="center", fontsize=8,
            arrowprops={"arrowstyle": "-", "color": "#555555", "lw": 0.8, "shrinkA": 0, "shrinkB": 4})
    ax.set_xscale("log")
    ticks = [t for t in (2, 5, 10, 20, 50, 100, 200) if rates.min() / 1.5 <= t <= rates.max() * 1.5]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter("")
    if not use_pesq:
        ax.invert_yaxis()
    colorbar(sc, ax, "algorithmic delay [ms]")
    label_axes(ax, "payload bit rate [kbit/s] (log scale)", ylabel,
               "Bit rate vs quality vs delay (English clip, judged at 16 kHz)")
    return fig
