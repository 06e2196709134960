"""The feedback-loop chart: inflation, concentration and top-k recall over rounds, one line per
scenario, drawn as a self-contained SVG (and a small HTML page around it). Reads the JSON form
of :class:`predictions.forecasting.feedback.FeedbackResult` (``to_dict()``)."""

from __future__ import annotations

import math
from html import escape
from typing import Any

SCENARIOS = {
    "none": ("no correction (reported + patrol-found)", "#dc2626"),
    "reported_only": ("reported incidents only", "#1d4ed8"),
    "downweight": ("patrol-found down-weighted", "#0f766e"),
}
PANELS = (
    ("inflation", "Inflation: flagged cells' share of the training data / their true share", None),
    ("concentration", "Concentration: share of patrol-rounds in the k most-patrolled cells", 1.0),
    ("topk_recall", "Top-k recall: share of the truly top-k cells that are flagged", 1.0),
)
WIDTH, PANEL_H, LEFT, RIGHT, TOP, GAP = 760, 170, 56, 20, 58, 52
FONT = "font-family='system-ui, sans-serif'"


def scenario_label(name: str, data: dict[str, Any] | None = None) -> str:
    label = SCENARIOS.get(name, (name, ""))[0]
    if name == "downweight" and data is not None:
        how = data.get("config", {}).get("downweight")
        if how == "inverse_presence":
            label = "patrol-found down-weighted (inverse presence)"
        elif how:
            label = f"patrol-found down-weighted ({how})"
    return label


def feedback_svg(data: dict[str, Any]) -> str:
    """The three panels as one SVG document (a string)."""
    rounds = int(data["config"]["rounds"])
    scenarios = data["scenarios"]
    height = TOP + len(PANELS) * (PANEL_H + GAP) + 10
    x0, x1 = LEFT, WIDTH - RIGHT

    def x(r: float) -> float:
        return x0 + (r - 1) / max(rounds - 1, 1) * (x1 - x0)

    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' "
        f"viewBox='0 0 {WIDTH} {height}' role='img' {FONT} font-size='12'>",
        "<title>Feedback loop: no correction against the corrected scenarios</title>",
        f"<rect width='{WIDTH}' height='{height}' fill='#ffffff'/>",
    ]
    lx = LEFT
    for name in scenarios:
        colour = SCENARIOS.get(name, (name, "#6b7280"))[1]
        label = escape(scenario_label(name, data).split(" (")[0])
        out.append(
            f"<line x1='{lx}' y1='20' x2='{lx + 22}' y2='20' stroke='{colour}' stroke-width='3'/>"
        )
        out.append(f"<text x='{lx + 28}' y='24'>{label}</text>")
        lx += 48 + 7 * len(label)
    for p, (metric, title, fixed_top) in enumerate(PANELS):
        top = TOP + p * (PANEL_H + GAP) + 18
        bottom = top + PANEL_H - 18
        series = {n: s.get(metric) or [] for n, s in scenarios.items()}
        finite = [v for vals in series.values() for v in vals if _finite(v)]
        if fixed_top is not None:
            lo, hi = 0.0, fixed_top
        else:  # inflation: always show 1 (parity)
            lo = min([1.0, *finite])
            hi = max([1.0, *finite])
            lo, hi = _nice_range(lo, hi)

        def y(v: float, lo: float = lo, hi: float = hi, top: float = top, bottom=bottom):
            return bottom - (v - lo) / (hi - lo) * (bottom - top)

        out.append(f"<text x='{LEFT}' y='{top - 8}' font-weight='600'>{escape(title)}</text>")
        out.append(
            f"<rect x='{x0}' y='{top}' width='{x1 - x0}' height='{bottom - top}' "
            "fill='none' stroke='#d1d5db'/>"
        )
        for v in _ticks(lo, hi):
            yy = y(v)
            out.append(f"<line x1='{x0}' y1='{yy:.1f}' x2='{x1}' y2='{yy:.1f}' stroke='#f3f4f6'/>")
            out.append(
                f"<text x='{x0 - 6}' y='{yy + 4:.1f}' text-anchor='end' fill='#374151'>{v:g}</text>"
            )
        if fixed_top is None:
            out.append(
                f"<line x1='{x0}' y1='{y(1.0):.1f}' x2='{x1}' y2='{y(1.0):.1f}' "
                "stroke='#6b7280' stroke-dasharray='4 3'/>"
            )
        for r in _round_ticks(rounds):
            out.append(
                f"<text x='{x(r):.1f}' y='{bottom + 14}' text-anchor='middle' "
                f"fill='#374151'>{r}</text>"
            )
        for name, values in series.items():
            colour = SCENARIOS.get(name, (name, "#6b7280"))[1]
            for segment in _segments(values):
                pts = " ".join(f"{x(i + 1):.1f},{y(v):.1f}" for i, v in segment)
                if len(segment) == 1:
                    ((i, v),) = segment
                    out.append(
                        f"<circle cx='{x(i + 1):.1f}' cy='{y(v):.1f}' r='2' fill='{colour}'/>"
                    )
                else:
                    out.append(
                        f"<polyline points='{pts}' fill='none' stroke='{colour}' "
                        "stroke-width='2' stroke-linejoin='round'/>"
                    )
    days = data["config"].get("round_days", 1)
    unit = "day" if days == 1 else f"{days:g} days"
    out.append(
        f"<text x='{(x0 + x1) / 2}' y='{height - 6}' text-anchor='middle' fill='#374151'>"
        f"round (1 round = {unit})</text>"
    )
    out.append("</svg>")
    return "\n".join(out)


def feedback_html(data: dict[str, Any], title: str = "Feedback-loop check") -> str:
    """A small self-contained HTML page: the chart, a table of milestones and the method."""
    cfg = data["config"]
    truth = data.get("truth", {})
    rows = []
    for r in data["milestones"]:
        for name, s in data["scenarios"].items():
            cells = "".join(
                f"<td>{_fmt(s.get(m, [None] * r)[r - 1])}</td>"
                for m in ("inflation", "concentration", "topk_recall", "true_capture")
            )
            rows.append(
                f"<tr><td>{r}</td><td>{escape(scenario_label(name, data))}</td>{cells}</tr>"
            )
    model = cfg.get("model")
    if model == "decay":
        model = (
            "exponentially decayed counts of the training incidents, half-life "
            f"{cfg['half_life']:g} rounds"
        )
    elif model == "window":
        model = f"counts of the training incidents of the last {cfg['window']} rounds"
    facts = [
        ("truth", truth.get("note") or "rates given by the caller"),
        (
            "deployment",
            f"{data['k']} of {data['n_cells']} cells flagged and patrolled each round "
            f"({100 * data['k'] / data['n_cells']:.1f} %), {cfg['rounds']} rounds of "
            f"{cfg['round_days']:g} day(s), {cfg['history_rounds']} rounds of history",
        ),
        (
            "crimes",
            f"reported by the public with probability {cfg['report_prob']:g}; an "
            f"unreported crime in a patrolled cell is found with probability "
            f"{cfg['discovery_prob']:g}",
        ),
        ("model", f"retrained every round: {model}"),
        ("seed", str(cfg.get("seed"))),
    ]
    facts_html = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in facts)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #111827; max-width: 62rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border: 1px solid #d1d5db; padding: .2rem .6rem; text-align: right; }}
td:nth-child(2) {{ text-align: left; }}
dt {{ font-weight: 600; }} dd {{ margin: 0 0 .4rem 1rem; }}
</style></head><body>
<h1>{escape(title)}</h1>
<p>Repeated deployment after Ensign et al. (2018), <em>Runaway feedback loops in predictive
policing</em>: patrols go to the flagged cells, find crimes there that nobody reported, and the
model is retrained on what was recorded. Without correction the flagged cells feed the model more
than their share of crime (inflation above 1) and patrols stay where they were sent; training on
reported incidents only, or down-weighting incidents by the chance of being recorded, removes
the inflation.</p>
{feedback_svg(data)}
<table><thead><tr><th>round</th><th>scenario</th><th>inflation</th><th>concentration</th>
<th>top-k recall</th><th>true capture</th></tr></thead><tbody>
{"".join(rows)}
</tbody></table>
<dl>{facts_html}</dl>
</body></html>
"""


def _finite(v: Any) -> bool:
    return v is not None and math.isfinite(v)


def _segments(values: list[Any]) -> list[list[tuple[int, float]]]:
    out: list[list[tuple[int, float]]] = [[]]
    for i, v in enumerate(values):
        if _finite(v):
            out[-1].append((i, float(v)))
        elif out[-1]:
            out.append([])
    return [s for s in out if s]


def _nice_range(lo: float, hi: float) -> tuple[float, float]:
    step = _step((hi - lo) or 1.0)
    return math.floor(lo / step) * step, max(math.ceil(hi / step) * step, lo + step)


def _step(span: float, target: int = 4) -> float:
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def _ticks(lo: float, hi: float) -> list[float]:
    step = _step(hi - lo)
    n = int(round((hi - lo) / step))
    return [round(lo + i * step, 10) for i in range(n + 1)]


def _round_ticks(rounds: int) -> list[int]:
    if rounds <= 1:
        return [1]
    step = max(int(_step(rounds - 1, 6)), 1)
    ticks = [1, *range(step, rounds + 1, step)]
    return sorted(set(ticks))


def _fmt(v: Any) -> str:
    return "–" if not _finite(v) else f"{v:.3f}"
