"""Forecasting benchmark on St. Louis (SLMPD) 2015-2019: rolling-origin backtest over 2019.

Usage (from the repository root)::

    .venv/bin/python bench/forecast_bench.py            # full run, writes docs/benchmarks.md
    .venv/bin/python bench/forecast_bench.py --quick    # a few windows, no markdown

The data stay in ``../shared/data/stl`` next to the repository; nothing is copied.
The loader below is a small stand-in (csv + gzip); it should switch to the portal's import
parsers once they exist.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from predictions.forecasting import Events, Grid, rolling_origins, run_backtest  # noqa: E402
from predictions.forecasting.registry import CLASSICAL_METHODS  # noqa: E402

SHARED = REPO.parent / "shared/data/stl"
DATA = SHARED / "stl_2015_2019_harmonized.csv.gz"
BOUNDARY = SHARED / "geo/stl_neighborhoods.geojson"  # land-only union of the 88 areas
DOCS = REPO / "docs/benchmarks.md"

BURGLARY = "BURGLARY"
COVERAGES = (0.005, 0.01, 0.02, 0.05, 0.10)
KEY_COVERAGES = ("1%", "5%")

# ML settings shared by every learned model: 26 training origins (about fortnightly) over the
# last year, zero-label rows subsampled to 15 % (weighted), model retrained every 182 days
# (features are recomputed from the current data at every window; see forecasting/ml.py).
ML = {"n_origins": 26, "train_days": 365, "zero_fraction": 0.15, "refit_every_days": 182}
ML_LAGS = (1, 7, 28, 91, 365)
SEPP = {"window_days": 365, "max_iter": 15, "tol": 1e-4}  # warm-started from the last window


def methods_for(horizon: int) -> list[tuple[str, dict[str, Any]]]:
    """(label, params) of every benchmarked method."""
    ml = {**ML, "lags": ML_LAGS}
    rf = {**ml, "estimator_params": {"n_estimators": 40}}
    return [
        ("uniform", {}),
        ("recent_counts", {"days": 28}),
        ("recent_counts_365", {"method": "recent_counts", "days": 365}),
        ("kde", {"bandwidth": 200.0, "decay_days": 60.0, "window_days": 365}),
        ("retrospective_hotspot", {"bandwidth": 250.0, "window_days": 365}),
        ("prospective_hotspot", {"bandwidth": 400.0, "weeks": 8}),
        ("sepp", SEPP),
        ("hgb_poisson", ml),
        ("random_forest", rf),
        ("poisson_glm", ml),
        ("logistic", ml),
        ("mlp", {**ml, "zero_fraction": 1.0, "estimator_params": {"max_iter": 20}}),
        (
            "ensemble",
            {
                "members": (("poisson_glm", ml), ("random_forest", rf)),
                "combine": "share",
            },
        ),
    ]


def load_stl(path: Path = DATA) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Clean rows: times (datetime64[s], local), lon, lat, category ("BURGLARY" / "OTHER")."""
    times, lon, lat, cat = [], [], [], []
    with gzip.open(path, "rt", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["is_clean"] != "True" or not row["lon"] or not row["lat"]:
                continue
            times.append(row["date_occur"])
            lon.append(float(row["lon"]))
            lat.append(float(row["lat"]))
            cat.append(BURGLARY if row["description"].startswith(BURGLARY) else "OTHER")
    return (
        np.array(times, dtype="datetime64[s]"),
        np.array(lon),
        np.array(lat),
        np.array(cat),
    )


def build(cell_size: float = 150.0) -> tuple[Grid, Events]:
    times, lon, lat, cat = load_stl()
    boundary = json.loads(BOUNDARY.read_text())
    grid = Grid.from_lonlat(lon, lat, cell_size=cell_size, boundary=boundary)
    return grid, Events.from_lonlat(times, lon, lat, cat, grid)


def task_starts(horizon: int, quick: bool) -> tuple[np.ndarray, str]:
    """Window starts in 2019 and a note on the sampling."""
    if horizon == 1:
        step = 8  # 8 = 7 + 1: the sampled days cycle through every weekday
        starts = rolling_origins("2019-01-01", "2020-01-01", 1, step)
        note = f"next-day windows every {step} days (subsample of 365, all weekdays)"
    else:
        starts = rolling_origins("2019-01-01", "2020-01-01", horizon)
        note = f"all {len(starts)} non-overlapping {horizon}-day windows"
    if quick:
        starts = starts[:: max(len(starts) // 4, 1)][:4]
        note = f"QUICK: {len(starts)} windows"
    return starts, note


def method_family(name: str) -> str:
    if name in ("uniform", "oracle"):
        return name
    if name.startswith("recent_counts") or name in CLASSICAL_METHODS:
        return "classical"
    return "ml"


def compact(summary: dict[str, Any], gives_counts: bool) -> dict[str, Any]:
    """The JSON figures kept per method."""
    cov = {
        k: {
            "pai": round(v["pai"], 3),
            "pai_ci95": [round(x, 3) for x in v["pai_ci"]],
            "hit_rate": round(v["hit_rate"], 4),
            "hit_rate_ci95": [round(x, 4) for x in v["hit_rate_ci"]],
            "pei": round(v["pei"], 3),
            "window_mean_pai": [round(x, 3) for x in v["window_pai"]],
        }
        for k, v in summary["coverage"].items()
    }
    dev = summary["mean_poisson_deviance"]
    return {
        "coverage": cov,
        "mean_poisson_deviance": round(dev, 5) if (dev is not None and gives_counts) else None,
        "fit_seconds_mean": round(summary["fit_seconds_mean"], 3),
        "predict_seconds_mean": round(summary["predict_seconds_mean"], 4),
        "fit_seconds_total": round(summary["fit_seconds_total"], 1),
    }


def margins(methods: dict[str, Any]) -> dict[str, Any]:
    """Best ML vs best classical pooled PAI at the key coverages."""
    out = {}
    for cov in KEY_COVERAGES:
        best = {}
        for fam in ("classical", "ml"):
            cands = {
                m: v["coverage"][cov]["pai"] for m, v in methods.items() if method_family(m) == fam
            }
            name = max(cands, key=cands.get)
            best[fam] = (name, cands[name])
        (cn, cv), (mn, mv) = best["classical"], best["ml"]
        out[cov] = {
            "best_classical": cn,
            "classical_pai": cv,
            "best_ml": mn,
            "ml_pai": mv,
            "margin_pct": round(100.0 * (mv / cv - 1.0), 1),
            "goal_10pct_met": bool(mv >= 1.1 * cv),
        }
    return out


_DATA: dict[str, Any] = {}  # grid and events, loaded once and inherited by forked workers


def run_task(label: str, horizon: int, quick: bool) -> tuple[str, dict[str, Any]]:
    """Backtest one (category, horizon) task; returns its report entry."""
    grid, events = _DATA["grid"], _DATA["events"]
    t0 = time.perf_counter()
    starts, note = task_starts(horizon, quick)
    target = BURGLARY if label == "burglary" else None
    res = run_backtest(events, grid, methods_for(horizon), starts, horizon, target, COVERAGES)
    summ = res.summary(COVERAGES)
    methods = {k: compact(v, res.methods[k].gives_counts) for k, v in summ.items()}
    took = time.perf_counter() - t0
    print(f"[bench] {label} h={horizon}: {took:.0f}s", file=sys.stderr, flush=True)
    return f"{label}_h{horizon}", {
        "target": label,
        "horizon_days": horizon,
        "windows": note,
        "n_windows": len(starts),
        "n_events": summ["oracle"]["n_events"],
        "seconds": round(took, 1),
        "methods": methods,
        "best_ml_vs_best_classical": margins(methods),
    }


def run(quick: bool = False, jobs: int = 2) -> dict[str, Any]:
    t_start = time.perf_counter()
    grid, events = build()
    _DATA.update(grid=grid, events=events)
    load_s = time.perf_counter() - t_start
    report: dict[str, Any] = {
        "data": str(DATA.relative_to(REPO.parent)),
        "n_events_clean": len(events),
        "grid": {"crs": grid.crs, "cell_size_m": grid.cell_size, "nx": grid.nx, "ny": grid.ny},
        "active_cells": int(grid.boundary_mask().sum()),
        "active_area": "cell centre inside the union of the 88 SLMPD neighbourhood polygons",
        "load_seconds": round(load_s, 1),
        "jobs": jobs,
        "tasks": {},
    }
    # ordered so that two workers get similar loads (all-crime tasks are the heavy ones)
    tasks = [("all_crime", 7), ("all_crime", 1), ("burglary", 7), ("burglary", 1)]
    if jobs > 1:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            done = list(pool.map(run_task, *zip(*tasks, strict=True), [quick] * len(tasks)))
    else:
        done = [run_task(label, h, quick) for label, h in tasks]
    order = ["burglary_h7", "burglary_h1", "all_crime_h7", "all_crime_h1"]
    report["tasks"] = {k: v for k, v in sorted(done, key=lambda kv: order.index(kv[0]))}
    report["total_seconds"] = round(time.perf_counter() - t_start, 1)
    return report


def _fmt_ci(v: dict[str, Any]) -> str:
    lo, hi = v["pai_ci95"]
    return f"{v['pai']:.2f} [{lo:.2f}, {hi:.2f}]"


def markdown(report: dict[str, Any], command: str) -> str:
    lines = [
        "# Forecasting benchmark: St. Louis 2019",
        "",
        "Generated by `bench/forecast_bench.py`; do not edit by hand. Command:",
        "",
        f"    {command}",
        "",
        f"- Data: `{report['data']}`, clean rows only ({report['n_events_clean']:,} incidents"
        " 2015-2019); burglary = description starting with `BURGLARY`; all crime = every"
        " clean row.",
        f"- Grid: {report['grid']['cell_size_m']:g} m cells in {report['grid']['crs']},"
        f" {report['active_cells']:,} active cells ({report['active_area']}).",
        "- Rolling origin over 2019: every method is refitted at each window start on the events"
        " strictly before it (the backtest slices them). ML models are retrained every"
        f" {ML['refit_every_days']} days on {ML['n_origins']} origins over the previous"
        f" {ML['train_days']} days (features are always recomputed from the current data).",
        "- 'Best' methods are picked on the test year itself, which flatters whichever family has"
        " more candidates (here ML); differences within the 95 % intervals are noise.",
        "- Pooled PAI = (sum of captured / sum of events over windows) / share of area; 95 %"
        " intervals from a percentile bootstrap over windows. Flagged cells ="
        " round(coverage x active cells). Ties: score desc, then cell index asc.",
        "- `oracle` = the best cells in hindsight (the ceiling); `uniform` flags cells in index"
        " order (no information).",
        f"- Total runtime {report['total_seconds']:.0f} s on the shared 2-core machine"
        f" with {report['jobs']} worker processes (data loading {report['load_seconds']:.0f} s).",
        "",
        "## Best ML model vs best classical method (pooled PAI)",
        "",
        "| task | coverage | best classical | PAI | best ML | PAI | margin | goal >= 10 % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, task in report["tasks"].items():
        for cov, m in task["best_ml_vs_best_classical"].items():
            lines.append(
                f"| {key} | {cov} | {m['best_classical']} | {m['classical_pai']:.2f} | "
                f"{m['best_ml']} | {m['ml_pai']:.2f} | {m['margin_pct']:+.1f} % | "
                f"{'yes' if m['goal_10pct_met'] else 'no'} |"
            )
    for key, task in report["tasks"].items():
        lines += [
            "",
            f"## {key}: {task['target']}, horizon {task['horizon_days']} day(s)",
            "",
            f"{task['n_windows']} windows ({task['windows']}), {task['n_events']:.0f} events;"
            f" {task['seconds']:.0f} s.",
            "",
            "| method | PAI 0.5 % | PAI 1 % [95 % CI] | PAI 2 % | PAI 5 % [95 % CI] | PAI 10 % |"
            " hit 1 % | hit 5 % | PEI 1 % | PEI 5 % | deviance | fit s | predict s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, m in task["methods"].items():
            c = m["coverage"]
            dev = m["mean_poisson_deviance"]
            lines.append(
                f"| {name} | {c['0.5%']['pai']:.2f} | {_fmt_ci(c['1%'])} | {c['2%']['pai']:.2f} | "
                f"{_fmt_ci(c['5%'])} | {c['10%']['pai']:.2f} | {c['1%']['hit_rate']:.3f} | "
                f"{c['5%']['hit_rate']:.3f} | {c['1%']['pei']:.2f} | {c['5%']['pei']:.2f} | "
                f"{'' if dev is None else f'{dev:.4f}'} | {m['fit_seconds_mean']:.2f} | "
                f"{m['predict_seconds_mean']:.3f} |"
            )
    lines += [
        "",
        "Deviance: mean Poisson deviance per active cell and window, for methods whose scores"
        " are expected counts (baselines are rescaled to the recent event rate).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="4 windows per task, no markdown")
    ap.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (tasks in parallel)")
    args = ap.parse_args(argv)
    report = run(quick=args.quick, jobs=args.jobs)
    print(json.dumps(report, indent=1))
    if not (args.quick or args.no_docs):
        DOCS.parent.mkdir(parents=True, exist_ok=True)
        cmd = ".venv/bin/python bench/forecast_bench.py" + (
            "" if args.jobs == 2 else f" --jobs {args.jobs}"
        )
        DOCS.write_text(markdown(report, cmd))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
