"""Rebuild data/geo/land_110m.json from Natural Earth's 1:110m land polygons.

    python data/geo/make_land.py ORIGINAL.geojson

ORIGINAL is ``geojson/ne_110m_land.geojson`` of github.com/nvkelso/natural-earth-vector
(Natural Earth 1:110m physical vectors, "Land"; public domain).  Each ring's
coordinates are rounded to 0.1 degree, consecutive repeats are dropped and rings
left with fewer than 4 points are dropped; the output keeps only the outer rings as
lists of [lon, lat] pairs.  That is enough for a world map drawn at notebook size
(0.1 degree is about 11 km, under a pixel).  Nothing else is changed.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

OUT = Path(__file__).with_name("land_110m.json")
SOURCE_URL = "https://github.com/nvkelso/natural-earth-vector/blob/master/geojson/ne_110m_land.geojson"


def simplify_ring(ring, step_deg: float = 0.1):
    out = []
    for lon, lat in ring:
        p = [round(round(lon / step_deg) * step_deg, 1), round(round(lat / step_deg) * step_deg, 1)]
        if not out or p != out[-1]:
            out.append(p)
    if len(out) >= 2 and out[0] != out[-1]:
        out.append(out[0])
    return out if len(out) >= 4 else None


def main(path: str) -> None:
    raw = Path(path).read_bytes()
    data = json.loads(raw)
    rings = []
    for feat in data["features"]:
        geom = feat["geometry"]
        polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        for poly in polys:
            ring = simplify_ring(poly[0])
            if ring:
                rings.append(ring)
    out = {
        "source": "Natural Earth 1:110m physical vectors, land (ne_110m_land)",
        "source_url": SOURCE_URL,
        "licence": "public domain (Natural Earth terms of use: https://www.naturalearthdata.com/about/terms-of-use/)",
        "original_sha256": hashlib.sha256(raw).hexdigest(),
        "made_by": "python data/geo/make_land.py ne_110m_land.geojson (coordinates rounded to 0.1 degree)",
        "rings": rings,
    }
    OUT.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"{OUT}: {len(rings)} rings, {sum(len(r) for r in rings)} points")


if __name__ == "__main__":
    main(sys.argv[1])
