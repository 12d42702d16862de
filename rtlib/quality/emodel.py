"""The E-model of ITU-T G.107: call quality (R, then MOS) from delay, loss and the codec.

    R = Ro − Is − Id − Ie,eff + A                      (G.107 (06/2015) §7.1)

- ``Ro``: the basic signal-to-noise ratio (circuit and room noise, loudness), §7.2;
- ``Is``: impairments simultaneous with speech (loudness, sidetone, quantisation), §7.3;
- ``Id = Idte + Idle + Idd``: delay impairments, §7.4: talker echo, listener echo
  and the *absolute* (mouth-to-ear) delay ``Ta`` itself;
- ``Ie,eff``: the codec and packet loss, §7.5:
  ``Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl / BurstR + Bpl)``;
- ``A``: the advantage factor (what users forgive for mobility), §7.6;
- R is mapped to a mean opinion score (MOS, 1 to 4.5) by G.107 Annex B.

:func:`g107` computes every term from the parameters of G.107's Table 3 (its
defaults give the well-known R = 93.2); :func:`emodel` is the everyday entry point:
mouth-to-ear delay, packet loss as a fraction, a codec name.  Everything is
vectorised with numpy: pass arrays of delays and losses to get whole curves.

Codec values (``Ie``, ``Bpl``) come from ITU-T G.113 (11/2007) Appendix I,
Table I.1 (equipment impairment ``Ie``) and Table I.3 (packet-loss robustness
``Bpl``, measured with random loss at the packet sizes given there); see
:data:`CODECS`.  No values for Opus are included: it usually runs wideband, which
needs the wideband E-model (G.107.1), not implemented here.

Used in: notebooks/01_im_vs_rtc.ipynb, ``python -m rtlib emodel``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

STANDARD = "ITU-T G.107 (06/2015)"

#: G.107 (06/2015) §7.7, Table 3: default values.  Levels in dB or dBm(0), delays in
#: ms, ``Ppl`` in percent.  ``Bpl`` 4.3 is G.711 without concealment (it only matters
#: once ``Ppl`` > 0).  ``mT``/``sT`` (minimum perceivable delay, delay sensitivity)
#: were added in the 2014 edition; their defaults give the classic ``Idd`` curve.
G107_DEFAULTS: dict[str, float] = {
    "SLR": 8.0,  # send loudness rating [dB]
    "RLR": 2.0,  # receive loudness rating [dB]
    "STMR": 15.0,  # sidetone masking rating [dB]
    "LSTR": 18.0,  # listener sidetone rating [dB] (= STMR + Dr)
    "Ds": 3.0,  # D-value of the telephone, send side
    "TELR": 65.0,  # talker echo loudness rating [dB]
    "WEPL": 110.0,  # weighted echo path loss [dB]
    "T": 0.0,  # mean one-way delay of the echo path [ms]
    "Tr": 0.0,  # round-trip delay in a 4-wire loop [ms]
    "Ta": 0.0,  # absolute (mouth-to-ear) delay in echo-free connections [ms]
    "qdu": 1.0,  # number of quantisation distortion units
    "Ie": 0.0,  # equipment impairment factor
    "Bpl": 4.3,  # packet-loss robustness factor
    "Ppl": 0.0,  # random packet-loss probability [%]
    "BurstR": 1.0,  # burst ratio (1 = random loss)
    "Nc": -70.0,  # circuit noise referred to the 0 dBr point [dBm0p]
    "Nfor": -64.0,  # noise floor at the receive side [dBmp]
    "Ps": 35.0,  # room noise at the send side [dB(A)]
    "Pr": 35.0,  # room noise at the receive side [dB(A)]
    "A": 0.0,  # advantage factor
    "mT": 100.0,  # minimum perceivable delay [ms]
    "sT": 1.0,  # delay sensitivity
}

# Allowed ranges checked on input (beyond "finite"): the formulas need these.
_RANGES: dict[str, tuple[float, float, str]] = {
    "T": (0.0, math.inf, "ms"),
    "Tr": (0.0, math.inf, "ms"),
    "Ta": (0.0, math.inf, "ms"),
    "qdu": (1.0, math.inf, ""),
    "Ie": (0.0, 95.0, ""),
    "Bpl": (1e-9, math.inf, ""),
    "Ppl": (0.0, 100.0, "%"),
    "BurstR": (1e-9, math.inf, ""),
    "mT": (1e-9, math.inf, "ms"),
    "sT": (1e-9, math.inf, ""),
}


@dataclass(frozen=True)
class Codec:
    """A codec's E-model values: ``Ie`` and ``Bpl`` with and without loss concealment.

    ``bpl_no_plc`` is ``None`` when the codec's concealment is built in (G.113 gives
    no value without it).  ``packet_ms`` is the packet size G.113's ``Bpl`` was
    measured with; ``algorithmic_delay_ms`` (frame + look-ahead) is ``None`` when not
    given here.
    """

    name: str
    label: str
    Ie: float
    bpl_plc: float
    bpl_no_plc: float | None
    packet_ms: float
    bitrate_kbps: float
    algorithmic_delay_ms: float | None
    source: str

    def bpl(self, plc: bool = True) -> float:
        """``Bpl`` with (``plc=True``) or without concealment; ``ValueError`` if unknown."""
        if plc:
            return self.bpl_plc
        if self.bpl_no_plc is None:
            raise ValueError(
                f"codec {self.name} has built-in loss concealment: G.113 gives no Bpl without it "
                f"(--no-plc is only valid for {[c.name for c in CODECS.values() if c.bpl_no_plc is not None]})"
            )
        return self.bpl_no_plc


_G113 = "ITU-T G.113 (11/2007) Appendix I, Tables I.1 (Ie) and I.3 (Bpl)"

#: Codecs with published G.113 values.  Keys are what ``codec=`` and the CLI accept.
CODECS: dict[str, Codec] = {
    "g711": Codec("g711", "G.711 (PCM, 64 kbit/s)", 0.0, 25.1, 4.3, 10.0, 64.0, 0.125,
                  f"{_G113}; concealment = G.711 Appendix I"),
    "g729a": Codec("g729a", "G.729A + VAD (CS-ACELP, 8 kbit/s)", 11.0, 19.0, None, 20.0, 8.0, 15.0,
                   f"{_G113}; native concealment; 15 ms = 10 ms frame + 5 ms look-ahead (G.729)"),
    "g723.1": Codec("g723.1", "G.723.1 + VAD (MP-MLQ, 6.3 kbit/s)", 15.0, 16.1, None, 30.0, 6.3, 37.5,
                    f"{_G113}; native concealment; 37.5 ms = 30 ms frame + 7.5 ms look-ahead (G.723.1)"),
    "gsm-efr": Codec("gsm-efr", "GSM-EFR (ACELP, 12.2 kbit/s)", 5.0, 10.0, None, 20.0, 12.2, None,
                     f"{_G113}; native concealment"),
}

_ALIASES = {"pcmu": "g711", "pcma": "g711", "g.711": "g711", "g729": "g729a", "g.729a": "g729a",
            "g723": "g723.1", "g.723.1": "g723.1", "efr": "gsm-efr", "gsm_efr": "gsm-efr"}


def get_codec(name: str | Codec) -> Codec:
    """Look a codec up by name (case-insensitive; ``pcmu``/``pcma`` mean G.711)."""
    if isinstance(name, Codec):
        return name
    if not isinstance(name, str):
        raise ValueError(f"codec must be one of {sorted(CODECS)}, got {name!r}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in CODECS:
        raise ValueError(f"codec must be one of {sorted(CODECS)}, got {name!r}")
    return CODECS[key]


@dataclass(frozen=True)
class EModelResult:
    """Every term of the E-model; floats for scalar inputs, numpy arrays for arrays."""

    R: np.ndarray | float
    MOS: np.ndarray | float
    Ro: np.ndarray | float
    Is: np.ndarray | float
    Id: np.ndarray | float
    Idte: np.ndarray | float
    Idle: np.ndarray | float
    Idd: np.ndarray | float
    Ie_eff: np.ndarray | float
    A: np.ndarray | float

    def to_dict(self) -> dict:
        """The terms as plain floats (or lists for arrays), ready for JSON."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.tolist() if isinstance(v, np.ndarray) else float(v)
        return out


def _check(name: str, value, low: float = -math.inf, high: float = math.inf, unit: str = "") -> np.ndarray:
    """``value`` as a float array, or ValueError naming ``name`` and its allowed range."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        raise ValueError(f"{name} must be a number in [{low:g}, {high:g}]{' ' + unit if unit else ''}, got {value!r}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if np.any(arr < low) or np.any(arr > high):
        bad = arr[(arr < low) | (arr > high)].flat[0]
        u = f" {unit}" if unit else ""
        raise ValueError(f"{name} must be in [{low:g}, {high:g}]{u}, got {bad:g}")
    return arr


def _out(x: np.ndarray, scalar: bool):
    return float(x) if scalar else x


def mos_from_r(R):
    """MOS (conversational quality, 1 to 4.5) from R, G.107 (06/2015) Annex B.

    ``MOS = 1 + 0.035 R + R (R − 60)(100 − R) · 7·10⁻⁶`` for 0 < R < 100, 1 below,
    4.5 above.  The polynomial dips to 0.99 for 0 < R < 6.5; a MOS below 1 has no
    meaning on the 1–5 scale, so it is clipped at 1 (a change of at most 0.012).
    """
    scalar = np.ndim(R) == 0
    r = _check("R", R)
    poly = 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6
    mos = np.where(r < 0, 1.0, np.where(r > 100, 4.5, np.maximum(poly, 1.0)))
    return _out(mos, scalar)


#: G.107 (06/2015) Annex B, Table B.1 (after G.109): R ranges and user satisfaction.
SATISFACTION = (
    (90.0, 100.0, "very satisfied"),
    (80.0, 90.0, "satisfied"),
    (70.0, 80.0, "some users dissatisfied"),
    (60.0, 70.0, "many users dissatisfied"),
    (50.0, 60.0, "nearly all users dissatisfied"),
    (0.0, 50.0, "not recommended"),
)


def satisfaction(R: float) -> str:
    """The G.107 Annex B user-satisfaction category of a scalar R."""
    r = float(_check("R", R))
    for low, _high, label in SATISFACTION:
        if r >= low:
            return label
    return SATISFACTION[-1][2]


def g107(**params) -> EModelResult:
    """Every E-model term from G.107's parameters (missing ones take Table 3 defaults).

    Parameter names are G.107's symbols (see :data:`G107_DEFAULTS`): delays ``T``,
    ``Tr``, ``Ta``, ``mT`` in ms, ``Ppl`` in percent.  Any parameter may be a numpy
    array; they broadcast together.  With every default: R = 93.2 (Ro = 94.77,
    Is = 1.41, Id = 0.15).
    """
    unknown = set(params) - set(G107_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown G.107 parameter(s) {sorted(unknown)}; known: {sorted(G107_DEFAULTS)}")
    scalar = all(np.ndim(v) == 0 for v in params.values())
    p = {}
    for name, default in G107_DEFAULTS.items():
        low, high, unit = _RANGES.get(name, (-math.inf, math.inf, ""))
        p[name] = _check(name, params.get(name, default), low, high, unit)
    SLR, RLR, STMR, LSTR, Ds = p["SLR"], p["RLR"], p["STMR"], p["LSTR"], p["Ds"]
    T, Tr, Ta = p["T"], p["Tr"], p["Ta"]

    # §7.2 Basic signal-to-noise ratio: all noise sources summed at the 0 dBr point.
    OLR = SLR + RLR
    Nfo = p["Nfor"] + RLR
    Pre = p["Pr"] + 10 * np.log10(1 + 10 ** ((10 - LSTR) / 10))
    Nor = RLR - 121 + Pre + 0.008 * (Pre - 35) ** 2
    Nos = p["Ps"] - SLR - Ds - 100 + 0.004 * (p["Ps"] - OLR - Ds - 14) ** 2
    No = 10 * np.log10(10 ** (p["Nc"] / 10) + 10 ** (Nos / 10) + 10 ** (Nor / 10) + 10 ** (Nfo / 10))
    Ro = 15 - 1.5 * (SLR + No)

    # §7.3 Simultaneous impairments: overall loudness, sidetone, quantising distortion.
    Xolr = OLR + 0.2 * (64 + No - RLR)
    Iolr = 20 * ((1 + (Xolr / 8) ** 8) ** (1 / 8) - Xolr / 8)
    STMRo = -10 * np.log10(10 ** (-STMR / 10) + np.exp(-T / 4) * 10 ** (-p["TELR"] / 10))
    Ist = (12 * (1 + ((STMRo - 13) / 6) ** 8) ** (1 / 8)
           - 28 * (1 + ((STMRo + 1) / 19.4) ** 35) ** (1 / 35)
           - 13 * (1 + ((STMRo - 3) / 33) ** 13) ** (1 / 13) + 29)
    Q = 37 - 15 * np.log10(p["qdu"])
    G = 1.07 + 0.258 * Q + 0.0602 * Q**2
    Z = 46 / 30 - G / 40
    Y = (Ro - 100) / 15 + 46 / 8.4 - G / 9
    Iq = 15 * np.log10(1 + 10**Y + 10**Z)
    Is = Iolr + Ist + Iq

    # §7.4 Delay impairments.  Talker echo (heard by the talker after T ms):
    Roe = -1.5 * (No - RLR)
    TERV = p["TELR"] - 40 * np.log10((1 + T / 10) / (1 + T / 150)) + 6 * np.exp(-0.3 * T**2)
    TERV = np.where(STMR < 9, TERV + Ist / 2, TERV)  # low sidetone masks less echo (TERVs)
    Re = 80 + 2.5 * (TERV - 14)
    Idte = ((Roe - Re) / 2 + np.sqrt((Roe - Re) ** 2 / 4 + 100) - 1) * (1 - np.exp(-T))
    Idte = np.where(STMR > 20, np.sqrt(Idte**2 + Ist**2), Idte) + 0.0  # Idtes, loud sidetone; no -0.0
    # Listener echo (a second, weaker copy after the round trip Tr):
    Rle = 10.5 * (p["WEPL"] + 7) * (Tr + 1) ** (-0.25)
    Idle = (Ro - Rle) / 2 + np.sqrt((Ro - Rle) ** 2 / 4 + 169)
    # Absolute delay: nothing below mT, then a smooth rise.  X = 0 at Ta <= mT gives
    # Idd = 25 (1 - 3 + 2) = 0 exactly, so no branch is needed (and no log of 0).
    m = 6 * p["sT"]
    X = np.log10(np.maximum(Ta, p["mT"]) / p["mT"]) / np.log10(2)
    Idd = 25 * ((1 + X**m) ** (1 / m) - 3 * (1 + (X / 3) ** m) ** (1 / m) + 2)
    Id = Idte + Idle + Idd

    # §7.5 Equipment impairment with packet loss.
    Ie, Ppl = p["Ie"], p["Ppl"]
    Ie_eff = Ie + (95 - Ie) * Ppl / (Ppl / p["BurstR"] + p["Bpl"])

    A = p["A"]
    R = Ro - Is - Id - Ie_eff + A
    shape = np.broadcast(R, Ro, Is, Id, Ie_eff, A).shape
    terms = {k: np.broadcast_to(v, shape).astype(float) for k, v in
             dict(R=R, Ro=Ro, Is=Is, Id=Id, Idte=Idte, Idle=Idle, Idd=Idd, Ie_eff=Ie_eff, A=A).items()}
    terms["MOS"] = np.asarray(mos_from_r(terms["R"]))
    return EModelResult(**{k: _out(np.asarray(v), scalar) for k, v in terms.items()})


def emodel(delay_ms=0.0, loss=0.0, codec: str | Codec = "g711", plc: bool = True, burst_r=1.0,
           echo: bool = True, **g107_overrides) -> EModelResult:
    """The E-model for a packet voice call: mouth-to-ear delay, loss, codec.

    - ``delay_ms``: one-way mouth-to-ear delay ``Ta`` in ms.  The talker's echo is
      taken to travel the same path (``T = Ta``) and the listener echo the round
      trip (``Tr = 2 Ta``), with G.107's default echo losses (TELR 65 dB, WEPL
      110 dB, i.e. echo well controlled).  ``echo=False`` models an echo-free
      connection (``T = Tr = 0``: only ``Idd`` grows with delay), the case of
      G.114's delay curve.  Override ``T``/``Tr``/``TELR``... by name.
    - ``loss``: packet-loss fraction in [0, 1] (``Ppl = 100 · loss``).
    - ``codec``: a key of :data:`CODECS`; ``plc=False`` picks G.113's ``Bpl`` without
      concealment (only where G.113 gives one).  ``Ie=``/``Bpl=`` overrides win.
    - ``burst_r``: G.107's BurstR (1 = random loss, > 1 = bursty); see
      :func:`burst_ratio`.

    Arrays broadcast: ``emodel(np.arange(0, 500, 5), 0.01)`` is a whole curve.

    R never rises with delay, except for one quirk kept from G.107: with echo, the
    talker-echo term is slightly negative for echo paths under ~1 ms (R = 93.26 at
    1 ms against 93.21 at 0).
    """
    c = get_codec(codec)
    for flag, value in (("plc", plc), ("echo", echo)):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{flag} must be True or False, got {value!r}")
    d = _check("delay_ms", delay_ms, 0.0, math.inf, "ms")
    lo = _check("loss", loss, 0.0, 1.0)
    b = _check("burst_r", burst_r, 1e-9, math.inf)
    echo_ms = d if echo else np.zeros_like(d)
    params = {"Ta": d, "T": echo_ms, "Tr": 2 * echo_ms, "Ppl": 100 * lo, "BurstR": b, "Ie": c.Ie}
    if "Bpl" not in g107_overrides:
        params["Bpl"] = c.bpl(bool(plc))
    params.update(g107_overrides)
    return g107(**params)  # scalar inputs give plain floats (g107 sees 0-d arrays)


def burst_ratio(loss, mean_burst_packets):
    """G.107's BurstR from the mean loss and the mean length of loss bursts (packets).

    For a two-state Markov (Gilbert) loss process with mean loss ``p`` and mean burst
    length ``L``, BurstR = L / (1 / (1 − p)) = L (1 − p): the observed mean burst over
    the mean burst that random loss at the same rate would give (G.107 §7.5).
    Random (Bernoulli) loss has L = 1 / (1 − p), hence BurstR = 1.
    """
    scalar = np.ndim(loss) == 0 and np.ndim(mean_burst_packets) == 0
    p = _check("loss", loss, 0.0, 1.0)
    if np.any(p >= 1.0):
        raise ValueError("loss must be in [0, 1) for a burst ratio (at 100 % loss there are no gaps), got 1")
    L = _check("mean_burst_packets", mean_burst_packets, 1.0, math.inf, "packets")
    return _out(L * (1 - p), scalar)
