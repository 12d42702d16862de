"""The course's geographic data: world cities, land outlines, measured RTTs (all offline).

Everything is read from ``data/geo/`` in the repository; nothing is downloaded at run
time (see ``data/README.md``, section "Geography", for sources and licences):

- ``cities.csv``: 66 cities with WGS84 coordinates from Natural Earth 1:110m populated
  places (public domain) and a region;
- ``land_110m.json``: Natural Earth 1:110m land polygons (public domain), rounded to
  0.1 degree by ``data/geo/make_land.py``;
- ``measured_rtt.json``: 20 measured round-trip times between AWS regions (2017), the
  yardstick of :func:`rtlib.conf.geo.model_residuals`.

:func:`city` finds a city by name, forgiving case and accents ("sao paulo"), and raises
a ``ValueError`` naming close matches for a misspelling.

Used in: notebooks/11_edge_latency.ipynb.
"""

from __future__ import annotations

import csv
import difflib
import functools
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "geo"


@dataclass(frozen=True)
class City:
    """A city: ``name``, ISO 3166-1 alpha-2 ``country``, ``lat_deg``/``lon_deg`` (WGS84), ``region``."""

    name: str
    country: str
    lat_deg: float
    lon_deg: float
    region: str


def _fold(name: str) -> str:
    """Lower case, accents, spaces and punctuation dropped: 'São Paulo' -> 'saopaulo'."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text.lower() if ch.isalnum())


@functools.lru_cache(maxsize=1)
def load_cities() -> tuple[City, ...]:
    """All cities of ``data/geo/cities.csv`` in file order."""
    lines = [ln for ln in (DATA_DIR / "cities.csv").read_text(encoding="utf-8").splitlines()
             if ln and not ln.startswith("#")]
    return tuple(City(r["name"], r["country"], float(r["lat"]), float(r["lon"]), r["region"])
                 for r in csv.DictReader(lines))


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, City]:
    return {_fold(c.name): c for c in load_cities()}


def city_names() -> list[str]:
    return [c.name for c in load_cities()]


def city(name: "str | City") -> City:
    """The city called ``name`` (case and accents ignored); a ``City`` passes through.

    An unknown name raises ``ValueError`` listing the closest known names.
    """
    if isinstance(name, City):
        return name
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"city must be a non-empty name, got {name!r}")
    found = _index().get(_fold(name))
    if found is None:
        close = difflib.get_close_matches(_fold(name), list(_index()), n=4, cutoff=0.5)
        hint = ", ".join(_index()[c].name for c in close) if close else "none (see rtlib.conf.geodata.city_names())"
        raise ValueError(f"unknown city {name!r}; close names: {hint}")
    return found


@functools.lru_cache(maxsize=1)
def load_land() -> tuple[tuple[tuple[float, float], ...], ...]:
    """Land outlines: rings of (lon_deg, lat_deg) points (Natural Earth 1:110m, 0.1 degree)."""
    data = json.loads((DATA_DIR / "land_110m.json").read_text())
    return tuple(tuple((float(x), float(y)) for x, y in ring) for ring in data["rings"])


@functools.lru_cache(maxsize=1)
def load_measured_rtts() -> tuple[tuple[str, str, float], ...]:
    """Measured RTTs: (city a, city b, rtt_ms) between AWS regions (see ``measured_rtt.json``)."""
    data = json.loads((DATA_DIR / "measured_rtt.json").read_text(encoding="utf-8"))
    return tuple((a, b, float(ms)) for a, b, ms in data["pairs"])
