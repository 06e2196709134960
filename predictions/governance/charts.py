"""The fairness trade-off curve as inline SVG geometry: PAI against the largest disparity."""

from __future__ import annotations

import math
from typing import Any

WIDTH, HEIGHT, PAD = 420, 240, 40
SERIES = (("1%", "#1d4ed8"), ("5%", "#b45309"))


def _band_label(band: list[float] | None) -> str:
    return "no band" if not band else f"{band[0]:g}–{band[1]:g}"


def tradeoff_chart(curve: list[dict[str, Any]]) -> dict[str, Any]:
    """Points (one per band) per coverage: x = largest exposure disparity, y = PAI."""
    pts = [(p.get(f"disparity_{c}"), p.get(f"pai_{c}")) for p in curve for c, _ in SERIES]
    xs = [x for x, _ in pts if x is not None and math.isfinite(x)]
    ys = [y for _, y in pts if y is not None]
    if not xs or not ys:
        return {"series": []}
    x_max = max(max(xs), 1.3) * 1.05
    y_max = max(ys) * 1.1 or 1.0

    def sx(v: float) -> float:  # logarithmic: 1.25 and 1/0.8 sit at the same distance
        return PAD + math.log(max(v, 1.0)) / math.log(x_max) * (WIDTH - 2 * PAD)

    def sy(v: float) -> float:
        return HEIGHT - PAD - v / y_max * (HEIGHT - 2 * PAD)

    series = []
    for cov, colour in SERIES:
        points = []
        for p in curve:
            x, y = p.get(f"disparity_{cov}"), p.get(f"pai_{cov}")
            if x is None or y is None or not math.isfinite(x):
                continue
            points.append({"x": round(sx(x), 1), "y": round(sy(y), 1),
                           "label": f"{_band_label(p['band'])}: PAI {y:.2f}, "
                                    f"disparity {x:.2f}"})
        series.append({"coverage": cov, "colour": colour, "points": points,
                       "path": " ".join(f"{q['x']},{q['y']}" for q in points)})
    ticks_x = [{"x": round(sx(v), 1), "label": f"{v:g}"}
               for v in (1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0) if v <= x_max]
    return {"series": series, "ticks_x": ticks_x, "width": WIDTH, "height": HEIGHT, "pad": PAD,
            "y_max": round(y_max, 1), "band_x": round(sx(1.25), 1)}
