"""Server-drawn charts of the workbench (SVG geometry for the templates; no JavaScript), in the
manner of predictions.charts."""

from __future__ import annotations

from typing import Any

import numpy as np

WIDTH, HEIGHT, PAD, BOTTOM = 640, 240, 44, 28


def _scale(top: float):
    top = max(top, 1.0)

    def y(v: float) -> float:
        return HEIGHT - BOTTOM - (v / top) * (HEIGHT - BOTTOM - 12)
    return y


def _x(n: int):
    def x(i: float) -> float:
        return PAD + (i * (WIDTH - PAD - 12) / max(n - 1, 1))
    return x


def _points(x, y, values) -> str:
    return " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if np.isfinite(v))


def _ticks(labels: list[str], x, every: int) -> list[dict[str, Any]]:
    return [{"x": round(x(i), 1), "label": label,
             "anchor": "end" if x(i) > WIDTH - 50 else "middle"}
            for i, label in enumerate(labels) if i % every == 0]


def trend_chart(labels: list[str], now: np.ndarray, before: np.ndarray) -> dict[str, Any]:
    """Counts per period (a line) and the same periods a year before (a dashed line)."""
    now, before = np.asarray(now, float), np.asarray(before, float)
    finite = np.concatenate([now, before[np.isfinite(before)]])
    top = float(finite.max()) if finite.size else 1.0
    x, y = _x(len(now)), _scale(top)
    return {"width": WIDTH, "height": HEIGHT, "pad": PAD, "base": HEIGHT - BOTTOM,
            "top": int(round(top)), "top_y": round(y(top), 1),
            "now": _points(x, y, now), "before": _points(x, y, before),
            "ticks": _ticks(labels, x, max(1, len(labels) // 6))}


def fan_chart(labels: list[str], history: np.ndarray, mean: np.ndarray,
              lower: dict[float, np.ndarray], upper: dict[float, np.ndarray]) -> dict[str, Any]:
    """The recent counts, then the forecast's expected counts inside its intervals (bands,
    the widest palest)."""
    history, mean = np.asarray(history, float), np.asarray(mean, float)
    n = len(history) + len(mean)
    top = max([float(history.max()) if history.size else 0.0, float(mean.max(initial=0))]
              + [float(np.max(v, initial=0)) for v in upper.values()])
    x, y = _x(n), _scale(top)
    start = len(history) - 1 if len(history) else 0
    bands = []
    for level in sorted(upper, reverse=True):
        lo = np.concatenate([history[-1:], lower[level]])
        hi = np.concatenate([history[-1:], upper[level]])
        at = np.arange(start, start + len(lo)) if len(history) else np.arange(len(lo)) - 1
        edge = [f"{x(i):.1f},{y(v):.1f}" for i, v in zip(at, hi, strict=True)]
        edge += [f"{x(i):.1f},{y(v):.1f}" for i, v in zip(at[::-1], lo[::-1], strict=True)]
        bands.append({"level": int(round(100 * level)), "points": " ".join(edge)})
    forecast = np.concatenate([history[-1:], mean])
    at = np.arange(start, start + len(forecast))
    return {"width": WIDTH, "height": HEIGHT, "pad": PAD, "base": HEIGHT - BOTTOM,
            "top": int(round(top)), "top_y": round(y(top), 1),
            "history": _points(x, y, history), "bands": bands,
            "forecast": " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in zip(at, forecast,
                                                                          strict=True)),
            "split": round(x(start), 1),
            "ticks": _ticks(labels, x, max(1, n // 6))}
