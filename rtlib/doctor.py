"""``rtlib.doctor()``: can the course run on this machine?

It reports Python and package versions, which real codecs aiortc can use (Opus, VP8,
PCMU), whether widgets and audio players will render, and which optional tools are
present (tshark, espeak-ng, sox, pesq).  Each problem comes with one fix-it line.
The course can run when every *required* check passes; optional ones only unlock
extra cells (a tshark summary, PESQ scores).

Used in: notebooks/00_start_here.ipynb; ``python -m rtlib doctor``.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from dataclasses import asdict, dataclass

MIN_PYTHON = (3, 11)

# (import name, distribution name for pip, required?)
PACKAGES = [
    ("numpy", "numpy", True),
    ("scipy", "scipy", True),
    ("matplotlib", "matplotlib", True),
    ("aiortc", "aiortc", True),
    ("av", "av", True),
    ("ipywidgets", "ipywidgets", True),
    ("jupyterlab", "jupyterlab", True),
    ("websockets", "websockets", True),
    ("dpkt", "dpkt", True),
    ("pesq", "pesq", False),
    ("pystoi", "pystoi", False),
]

TOOLS = [
    ("tshark", "apt-get install -y tshark   (Wireshark's command line; chapter 05 capture summary)"),
    ("espeak-ng", "apt-get install -y espeak-ng   (only to regenerate the speech clips in data/)"),
    ("sox", "apt-get install -y sox   (only to regenerate the speech clips in data/)"),
]

FIX_REINSTALL = 'run `make install` (or `pip install -e ".[dev]"`) in the course folder'


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True
    fix: str = ""


@dataclass
class Report:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        """True when every required check passed."""
        return all(c.ok for c in self.checks if c.required)

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.required and not c.ok]

    def to_dict(self) -> dict:
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks],
                "fixes": [c.fix for c in self.problems]}

    def text(self) -> str:
        lines = []
        for c in self.checks:
            mark = "ok " if c.ok else ("!! " if c.required else "-- ")
            lines.append(f"{mark} {c.name:<22} {c.detail}")
        if self.ok:
            lines.append("\nThe course can run here.")
            missing = [c for c in self.checks if not c.required and not c.ok]
            if missing:
                lines.append("Optional extras (not needed to run the course):")
                lines += [f"  fix: {c.fix}" for c in missing]
        else:
            lines.append(f"\n{len(self.problems)} problem(s) stop the course from running; fix-it lines:")
            lines += [f"  fix: {c.fix}" for c in self.problems]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td>{'✔' if c.ok else ('✘' if c.required else '–')}</td><td>{html.escape(c.name)}</td>"
            f"<td>{html.escape(c.detail)}</td><td>{html.escape('' if c.ok else c.fix)}</td></tr>"
            for c in self.checks
        )
        verdict = "The course can run here." if self.ok else f"{len(self.problems)} problem(s) to fix."
        return f"<b>{verdict}</b><table><tr><th></th><th>check</th><th>found</th><th>fix</th></tr>{rows}</table>"

    def __repr__(self) -> str:
        return self.text()


def _import(name: str):
    """Import a module by name (a seam the tests use to simulate a missing package)."""
    return importlib.import_module(name)


def _which(tool: str) -> str | None:
    return shutil.which(tool)


def check_python() -> Check:
    v = sys.version_info
    ok = (v.major, v.minor) >= MIN_PYTHON
    return Check("python", ok, f"{v.major}.{v.minor}.{v.micro} at {sys.executable}",
                 fix=f"install Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer and re-run `make lab`")


def check_package(mod: str, dist: str, required: bool) -> Check:
    try:
        m = _import(mod)
    except Exception as exc:  # a broken install can raise more than ImportError
        return Check(mod, False, f"cannot import ({type(exc).__name__}: {exc})", required,
                     fix=f"pip install {dist}" if not required else f"{FIX_REINSTALL} (missing: {dist})")
    from importlib import metadata

    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        version = getattr(m, "__version__", "?")
    return Check(mod, True, version, required)


def check_codecs() -> list[Check]:
    """Encode one frame with each real codec aiortc offers."""
    checks = []
    try:
        codecs = _import("aiortc.codecs")
        rtc = _import("aiortc.rtcrtpparameters")
        av = _import("av")
        import fractions

        import numpy as np
    except Exception as exc:
        return [Check("codecs", False, f"aiortc codecs unavailable ({exc})", fix=f"{FIX_REINSTALL} (aiortc, av)")]
    for name, mime, rate, kind in (("opus", "audio/opus", 48000, "audio"), ("pcmu", "audio/PCMU", 8000, "audio"),
                                   ("vp8", "video/VP8", 90000, "video")):
        try:
            params = rtc.RTCRtpCodecParameters(mimeType=mime, clockRate=rate, channels=2 if name == "opus" else None)
            enc = codecs.get_encoder(params)
            if kind == "audio":
                frame = av.AudioFrame.from_ndarray(np.zeros((1, 960 if name == "opus" else 160), np.int16),
                                                   format="s16", layout="mono")
                frame.sample_rate = 48000 if name == "opus" else 8000
                frame.pts, frame.time_base = 0, fractions.Fraction(1, frame.sample_rate)
            else:
                frame = av.VideoFrame.from_ndarray(np.zeros((120, 160, 3), np.uint8), format="rgb24")
                frame.pts, frame.time_base = 0, fractions.Fraction(1, 90000)
            payloads, _ = enc.encode(frame)
            ok = len(payloads) > 0 and len(payloads[0]) > 0
            checks.append(Check(f"codec {name}", ok, f"encoded one frame to {sum(map(len, payloads))} bytes"
                                if ok else "encoder returned nothing", fix=f"{FIX_REINSTALL} (PyAV with {name})"))
        except Exception as exc:
            checks.append(Check(f"codec {name}", False, f"{type(exc).__name__}: {exc}",
                                fix=f"{FIX_REINSTALL} (PyAV with {name})"))
    return checks


def check_widgets() -> Check:
    try:
        ipw = _import("ipywidgets")
        _import("jupyterlab_widgets")
    except Exception as exc:
        return Check("widgets render", False, f"{exc}", fix=f"{FIX_REINSTALL} (ipywidgets, jupyterlab_widgets)")
    major = int(ipw.__version__.split(".")[0])
    ok = major >= 8
    return Check("widgets render", ok, f"ipywidgets {ipw.__version__} with the JupyterLab extension",
                 fix="pip install 'ipywidgets>=8' jupyterlab_widgets")


def check_audio() -> Check:
    try:
        import numpy as np

        display = _import("IPython.display")
        clip = display.Audio(np.sin(np.arange(800) * 0.3), rate=8000)
        ok = len(clip.data) > 44  # a WAV header plus samples
        return Check("audio players", ok, "IPython.display.Audio encodes WAV", fix=f"{FIX_REINSTALL} (ipython)")
    except Exception as exc:
        return Check("audio players", False, f"{exc}", fix=f"{FIX_REINSTALL} (ipython, numpy)")


def check_tools() -> list[Check]:
    out = []
    for tool, fix in TOOLS:
        path = _which(tool)
        out.append(Check(tool, path is not None, path or "not found", required=False, fix=fix))
    return out


def run_checks() -> Report:
    checks = [check_python()]
    checks += [check_package(m, d, r) for m, d, r in PACKAGES]
    checks += check_codecs()
    checks.append(check_widgets())
    checks.append(check_audio())
    checks += check_tools()
    return Report(checks)


def doctor(verbose: bool = True) -> Report:
    """Run every check; in a notebook the returned report shows as a table."""
    report = run_checks()
    if verbose and "ipykernel" not in sys.modules:
        print(report.text())
    return report
