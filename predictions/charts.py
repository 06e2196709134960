"""Server-drawn charts (inline SVG geometry, no JavaScript library)."""

from __future__ import annotations

COVERAGE_KEYS = ["0.5%", "1%", "2%", "5%", "10%"]
COLOURS = {"oracle": "#6b7280", "uniform": "#9ca3af", "recent_counts": "#b45309",
           "recent_counts_365": "#92400e", "kde": "#7c3aed", "kde_long": "#5b21b6",
           "prospective_hotspot": "#0f766e", "retrospective_hotspot": "#be185d",
           "sepp": "#1d4ed8"}
WIDTH, HEIGHT, PAD = 420, 240, 36


def hit_rate_chart(metrics: dict) -> dict:
    """Hit rate against coverage for every method of a stored backtest."""
    if not metrics:
        return {"lines": []}
    peak = max((m["coverage"].get(k, {}).get("hit_rate") or 0)
               for m in metrics.values() for k in COVERAGE_KEYS) or 1.0

    def x(i: int) -> float:
        return PAD + i * (WIDTH - 2 * PAD) / (len(COVERAGE_KEYS) - 1)

    def y(v: float) -> float:
        return HEIGHT - PAD - (v / peak) * (HEIGHT - 2 * PAD)

    lines = []
    for name, m in metrics.items():
        values = [m["coverage"].get(k, {}).get("hit_rate") for k in COVERAGE_KEYS]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if v is not None)
        lines.append({"name": name, "points": points, "colour": COLOURS.get(name, "#dc2626"),
                      "values": [None if v is None else round(100 * v, 1) for v in values],
                      "pai_1": m["coverage"].get("1%", {}).get("pai"),
                      "pai_5": m["coverage"].get("5%", {}).get("pai")})
    ticks = [{"x": round(x(i), 1), "label": k} for i, k in enumerate(COVERAGE_KEYS)]
    return {"lines": lines, "ticks": ticks, "width": WIDTH, "height": HEIGHT, "pad": PAD,
            "peak": round(100 * peak), "keys": COVERAGE_KEYS}
