"""Forecasting benchmark on St. Louis (SLMPD) 2015-2019: methods picked on 2018, scored on 2019.

Usage (from the repository root)::

    .venv/bin/python bench/forecast_bench.py            # full run, writes docs/benchmarks.md
    .venv/bin/python bench/forecast_bench.py --quick    # a few windows, no markdown

The department's 60 monthly files are read from ``../shared/data/stl`` (nothing is copied)
by the import's own parsers and rules (``predictions.ingest.arrays.file_arrays``): one
incident per complaint, cancelled complaints dropped, withheld locations left out, offences
mapped to the portal's taxonomy. "All crime" is the portal's default target: every category
except the enforcement-driven ones (drugs, vice).

Every method is backtested by rolling origin twice: over 2018 (validation) and over 2019
(test). The best classical method and the best machine-learning method of each task and
coverage are picked on 2018 and compared on 2019, so the comparison is not flattered by
picking on the test year. The margin's 95 % interval comes from a paired bootstrap over the
2019 windows. The recommended model is chosen on 2018 by the portal's own rule
(``forecasting.selection``): an ML method only when its margin's lower bound is above zero.

After the backtests come the speed targets, each in its own process: ``backtest_bench.py``
(the backtest command) and, when DATABASE_URL names a database (St. Louis is loaded into it
if missing), ``training_bench.py`` for each of ``SPEED_METHODS``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from predictions.forecasting import (  # noqa: E402
    Events,
    Grid,
    make_forecaster,
    rolling_origins,
    run_backtest,
)
from predictions.forecasting.baselines import LONG_MEMORY_KDE  # noqa: E402
from predictions.forecasting.counts import cell_counts  # noqa: E402
from predictions.forecasting.evaluation import bootstrap_ratio_ci  # noqa: E402
from predictions.forecasting.registry import CLASSICAL_METHODS  # noqa: E402
from predictions.forecasting.selection import margin  # noqa: E402
from predictions.ingest.arrays import file_arrays, target_categories  # noqa: E402

SHARED = REPO.parent / "shared/data/stl"
DATA = SHARED / "slmpd_raw_monthly_2015_2019.tar.gz"
BOUNDARY = SHARED / "geo/stl_neighborhoods.geojson"  # land-only union of the 88 areas
DOCS = REPO / "docs/benchmarks.md"

COVERAGES = (0.005, 0.01, 0.02, 0.05, 0.10)
KEY_COVERAGES = ("1%", "5%")
TASKS = (("burglary", 7), ("burglary", 1), ("robbery", 7), ("assault", 7), ("all_crime", 7),
         ("all_crime", 1))
TARGETS = {"burglary": "burglary", "robbery": "robbery", "assault": "assault", "all_crime": "all"}
# Issue #21's targets: the recommended model (the portal's rule applied on 2018) over the best
# classical method (picked on 2018), pooled PAI on 2019, at 1 % and 5 %. Weekly single-crime
# tasks also need the margin's 95 % lower bound above zero; every task needs >= 1.0.
TARGET_RATIO = {"burglary_h7": 1.15, "robbery_h7": 1.15, "assault_h7": 1.15, "burglary_h1": 1.10}
NEEDS_LOWER_BOUND = ("burglary_h7", "robbery_h7", "assault_h7")
PERIODS = {"validation": ("2018-01-01", "2019-01-01"), "test": ("2019-01-01", "2020-01-01")}
HINDSIGHT = "hindsight_year"

# ML settings shared by every learned model: 26 training origins (about fortnightly) over the
# last year, zero-label rows subsampled to 15 % (weighted), model retrained every 182 days
# (features are recomputed from the current data at every window; see forecasting/ml.py).
# Lags and decays are the engine's defaults (up to 1,095 days back: long-run place effects
# carry most of the signal).
ML = {"n_origins": 26, "train_days": 365, "zero_fraction": 0.15, "refit_every_days": 182}
SEPP = {"window_days": 365, "max_iter": 15, "tol": 1e-4}  # warm-started from the last window


def methods_for(horizon: int) -> list[tuple[str, dict[str, Any]]]:
    """(label, params) of every benchmarked method.

    Classical methods come in the settings their papers use and in longer-memory settings,
    so that the ML models are compared with well-tuned baselines, not weak ones.
    """
    ml = {**ML, "label_days": 7} if horizon == 1 else dict(ML)  # 7-day labels: more positives
    rf = {**ml, "estimator_params": {"n_estimators": 40}}
    return [
        ("uniform", {}),
        ("recent_counts", {"days": 28}),
        ("recent_counts_365", {"method": "recent_counts", "days": 365}),
        ("recent_counts_730", {"method": "recent_counts", "days": 730}),
        ("kde", {"bandwidth": 200.0, "decay_days": 60.0, "window_days": 365}),
        ("kde_long", {"method": "kde", **LONG_MEMORY_KDE}),
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
        # issue #21: other crime types' counts, wider rings, kernel densities (picked on 2018)
        ("glm_forest_context", ml),
        (
            "ensemble_context_kde",
            {
                "method": "ensemble",
                "members": (("glm_forest_context", ml), ("kde", LONG_MEMORY_KDE)),
                "combine": "share",
            },
        ),
        # chosen on 2018 among a dozen variants (longer labels and training spans did not help)
        (
            "ensemble_kde",
            {
                "method": "ensemble",
                "members": (("poisson_glm", ml), ("random_forest", rf), ("kde", LONG_MEMORY_KDE)),
                "combine": "share",
            },
        ),
    ]


def build(cell_size: float = 150.0) -> tuple[Grid, Events]:
    """The grid over the city's land and every usable incident as events."""
    arrays = file_arrays([DATA], "slmpd")
    boundary = json.loads(BOUNDARY.read_text())
    grid = Grid.from_lonlat(arrays.lon, arrays.lat, cell_size=cell_size, boundary=boundary)
    return grid, Events.from_lonlat(arrays.times, arrays.lon, arrays.lat, arrays.category, grid)


def window_starts(period: str, horizon: int, quick: bool) -> tuple[np.ndarray, str]:
    """Window starts in the period and a note on the sampling.

    Next-day windows are sampled every 6th day (6 and 7 are coprime, so every weekday comes
    up); the validation year uses every other window of the test year's design.
    """
    first, last = PERIODS[period]
    thin = 2 if period == "validation" else 1
    if horizon == 1:
        step = 6 * thin
        starts = rolling_origins(first, last, 1, step)
        note = f"next-day windows every {step} days"
    else:
        starts = rolling_origins(first, last, horizon, horizon * thin)
        note = (f"all {len(starts)} non-overlapping {horizon}-day windows" if thin == 1
                else f"every other {horizon}-day window ({len(starts)})")
    if quick:
        starts = starts[:: max(len(starts) // 4, 1)][:4]
        note = f"QUICK: {len(starts)} windows"
    return starts, note


def method_family(name: str) -> str:
    if name in ("uniform", "oracle", HINDSIGHT):
        return "reference"
    if name.startswith(("recent_counts", "kde")) or name in CLASSICAL_METHODS:
        return "classical"
    return "ml"  # a learned model, or an ensemble with at least one


def hindsight_scorer(events: Events, grid: Grid, target: Any, period: str):
    """Scores every window by the target's counts over the whole period (it sees the future).

    Not a forecast: a reference for how far any fixed ranking of places could go.
    """
    first, last = (np.datetime64(d, "s") for d in PERIODS[period])
    year = cell_counts(grid, events.of_category(target).between(first, last))

    def score(past: Events, start: np.datetime64, horizon: int) -> np.ndarray:
        return year

    return score


def compact(summary: dict[str, Any], gives_counts: bool) -> dict[str, Any]:
    """The JSON figures kept per method."""
    cov = {
        k: {
            "pai": round(v["pai"], 3),
            "pai_ci95": [round(x, 3) for x in v["pai_ci"]],
            "hit_rate": round(v["hit_rate"], 4),
            "pei": round(v["pei"], 3),
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


_DATA: dict[str, Any] = {}  # grid and events, loaded once and inherited by forked workers


def run_one(label: str, horizon: int, period: str, quick: bool) -> dict[str, Any]:
    """Backtest one (target, horizon) task over one period."""
    grid, events = _DATA["grid"], _DATA["events"]
    t0 = time.perf_counter()
    starts, note = window_starts(period, horizon, quick)
    target = target_categories(TARGETS[label])
    extra = {HINDSIGHT: hindsight_scorer(events, grid, target, period)}
    res = run_backtest(events, grid, methods_for(horizon), starts, horizon, target, COVERAGES,
                       extra_scorers=extra)
    res.methods[HINDSIGHT].gives_counts = False  # whole-year counts: no deviance
    summ = res.summary(COVERAGES)
    took = time.perf_counter() - t0
    print(f"[bench] {label} h={horizon} {period}: {took:.0f}s", file=sys.stderr, flush=True)
    step = int((starts[1] - starts[0]) // np.timedelta64(1, "D")) if len(starts) > 1 else horizon
    return {
        "windows": note,
        "n_windows": len(starts),
        "step_days": step,
        "n_events": summ["oracle"]["n_events"],
        "seconds": round(took, 1),
        "methods": {k: compact(v, res.methods[k].gives_counts) for k, v in summ.items()},
        # unrounded pooled PAIs, for picking the best methods
        "pai": {k: {c: v["coverage"][c]["pai"] for c in KEY_COVERAGES} for k, v in summ.items()},
        # per-window captured counts at each coverage, for the paired comparison
        "captured": {k: np.array(m.captured) for k, m in res.methods.items()},
    }


def pick(pais: dict[str, dict[str, float]], family: str, cov: str) -> str:
    cands = {m: v[cov] for m, v in pais.items() if method_family(m) == family}
    return max(cands, key=cands.get)


def comparison(validation: dict[str, Any], test: dict[str, Any], task: str = "") -> dict[str, Any]:
    """Best classical vs best ML and vs the recommended model at the key coverages: picked
    on validation, scored on test.

    The *recommended* model follows the portal's own rule (``forecasting.selection``) on the
    2018 windows: the ML method with the largest margin over the best classical method among
    those whose margin's 95 % lower bound (paired block bootstrap) is above zero; with none,
    the best classical method itself (ratio 1). ``gap_closed`` is the share of the distance
    from the best classical method to ``hindsight_year`` that it covers (negative if it falls
    behind). ``target_met`` reads issue #21's target for ``task`` (:data:`TARGET_RATIO`,
    :data:`NEEDS_LOWER_BOUND`) for the recommended model.

    Both are scored on the same windows with the same number of flagged cells, so the ratio
    of their pooled PAIs is the ratio of the events they captured; its interval resamples
    blocks of about four weeks of consecutive windows (paired): windows that share a trained
    model or a season are not independent.
    """
    block = max(1, round(28 / test["step_days"]))
    val_block = max(1, round(28 / validation["step_days"]))  # about four weeks, as on 2019
    out = {}
    for j, cov in enumerate(f"{c * 100:g}%" for c in COVERAGES):
        if cov not in KEY_COVERAGES:
            continue
        cl, ml = pick(validation["pai"], "classical", cov), pick(validation["pai"], "ml", cov)
        margins = {m: margin(validation["captured"][m][:, j], validation["captured"][cl][:, j],
                             val_block)
                   for m in validation["pai"] if method_family(m) == "ml"}
        winners = [m for m, v in margins.items() if v["low"] is not None and v["low"] > 0]
        rec = max(winners, key=lambda m: margins[m]["margin"]) if winners else cl
        cl_pai = test["methods"][cl]["coverage"][cov]["pai"]
        ml_pai = test["methods"][ml]["coverage"][cov]["pai"]
        rec_pai = test["methods"][rec]["coverage"][cov]["pai"]
        lo, hi = bootstrap_ratio_ci(test["captured"][ml][:, j], test["captured"][cl][:, j],
                                    block=block)
        rlo, rhi = ((1.0, 1.0) if rec == cl else bootstrap_ratio_ci(
            test["captured"][rec][:, j], test["captured"][cl][:, j], block=block))
        cl19, ml19 = pick(test["pai"], "classical", cov), pick(test["pai"], "ml", cov)
        ceiling = test["methods"][HINDSIGHT]["coverage"][cov]["pai"]
        ratio = TARGET_RATIO.get(task, 1.0)
        lower_ok = rlo > 1.0 if task in NEEDS_LOWER_BOUND else True
        v = margins.get(ml, {})
        out[cov] = {
            "best_classical": cl,
            "classical_pai": cl_pai,
            "best_ml": ml,
            "ml_pai": ml_pai,
            "margin_pct": round(100.0 * (ml_pai / cl_pai - 1.0), 1),
            "margin_ci95_pct": [round(100.0 * (lo - 1.0), 1), round(100.0 * (hi - 1.0), 1)],
            "best_ml_validation_margin_pct": [
                None if v.get(k) is None else round(100.0 * v[k], 1)
                for k in ("margin", "low", "high")],
            "recommended": rec,
            "recommended_is_classical": rec == cl,
            "recommended_pai": rec_pai,
            "recommended_margin_pct": round(100.0 * (rec_pai / cl_pai - 1.0), 1),
            "recommended_margin_ci95_pct": [round(100.0 * (rlo - 1.0), 1),
                                            round(100.0 * (rhi - 1.0), 1)],
            "target_ratio": ratio,
            "target_needs_lower_bound": task in NEEDS_LOWER_BOUND,
            "target_met": bool(rec_pai >= ratio * cl_pai and lower_ok),
            "never_below_classical": bool(rec_pai >= cl_pai),
            "gap_closed": (round((rec_pai - cl_pai) / (ceiling - cl_pai), 3)
                           if ceiling > cl_pai else None),
            "best_ml_gap_closed": (round((ml_pai - cl_pai) / (ceiling - cl_pai), 3)
                                   if ceiling > cl_pai else None),
            "hindsight_year_pai": ceiling,
            "hindsight_over_classical_pct": round(100.0 * (ceiling / cl_pai - 1.0), 1),
            "picked_on_test": {
                "best_classical": cl19,
                "best_ml": ml19,
                "margin_pct": round(100.0 * (test["methods"][ml19]["coverage"][cov]["pai"]
                                             / test["methods"][cl19]["coverage"][cov]["pai"]
                                             - 1.0), 1),
            },
        }
    return out


def single_fit_seconds(quick: bool) -> dict[str, Any]:
    """One model of each ML method trained on all five years, as the portal trains one."""
    grid, events = _DATA["grid"], _DATA["events"]
    until = np.datetime64("2020-01-01T00:00:00")
    out: dict[str, Any] = {"events": len(events)}
    runs = [("hgb_poisson", "", {})]
    if not quick:
        runs += [("random_forest", "", {}), ("poisson_glm", "", {}),
                 ("glm_forest_context", "", {}),
                 ("hgb_poisson", "_4y_origins", {"train_days": 1460, "n_origins": 104})]
    params = {k: v for k, v in ML.items() if k != "refit_every_days"}
    for name, label, extra in runs:
        f = make_forecaster(name, grid=grid, target="burglary", horizon_days=7,
                            **{**params, **extra})
        t0 = time.perf_counter()
        f.fit(events, until)
        out[name + label] = round(time.perf_counter() - t0, 2)
    return out


SPEED_METHODS = ("kde_long", "sepp", "glm_forest_context")  # training runs timed (page codes)


def _bench_json(script: str, *args: str) -> dict[str, Any] | None:
    """Another bench script's JSON (None if it failed: its error goes to stderr)."""
    done = subprocess.run([sys.executable, str(REPO / "bench" / script), *args],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(done.stdout)


def speed_targets() -> dict[str, Any]:
    """Issue #21's speed targets, measured after the backtests (nothing else of this bench
    runs then): the backtest command over 92 next-day windows of about 15,000 cells, and one
    training run per method of :data:`SPEED_METHODS` on five years of St. Louis (only with a
    DATABASE_URL: the run is the portal's own)."""
    out: dict[str, Any] = {"backtest_command": _bench_json("backtest_bench.py")}
    if os.environ.get("DATABASE_URL"):
        out["training_runs"] = {m: _bench_json("training_bench.py", "--method", m)
                                for m in SPEED_METHODS}
    return out


def run(quick: bool = False, jobs: int = 2) -> dict[str, Any]:
    t_start = time.perf_counter()
    grid, events = build()
    _DATA.update(grid=grid, events=events)
    load_s = time.perf_counter() - t_start
    report: dict[str, Any] = {
        "data": str(DATA.relative_to(REPO.parent)),
        "n_events": len(events),
        "first_event": str(events.times.min()),
        "grid": {"crs": grid.crs, "cell_size_m": grid.cell_size, "nx": grid.nx, "ny": grid.ny},
        "active_cells": int(grid.boundary_mask().sum()),
        "active_area": "cell centre inside the union of the 88 SLMPD neighbourhood polygons",
        "load_seconds": round(load_s, 1),
        "jobs": jobs,
        "tasks": {},
    }
    # heavy runs first so that two workers end together
    runs = [(label, h, period) for period in ("test", "validation") for label, h in TASKS]
    runs.sort(key=lambda r: (r[0] != "all_crime", r[2] != "test"))
    args = [*zip(*runs, strict=True), [quick] * len(runs)]
    if jobs > 1:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            single = pool.submit(single_fit_seconds, quick)
            done = list(pool.map(run_one, *args))
            report["single_model_fit_seconds"] = single.result()
    else:
        done = [run_one(*a) for a in zip(*args, strict=True)]
        report["single_model_fit_seconds"] = single_fit_seconds(quick)
    by_key = {(label, h, period): d for (label, h, period), d in zip(runs, done, strict=True)}
    for label, h in TASKS:
        val, test = by_key[(label, h, "validation")], by_key[(label, h, "test")]
        report["tasks"][f"{label}_h{h}"] = {
            "target": label,
            "categories": target_categories(TARGETS[label]),
            "horizon_days": h,
            "comparison": comparison(val, test, f"{label}_h{h}"),
            **{p: {k: v for k, v in d.items() if k not in ("captured", "pai")}
               for p, d in (("validation", val), ("test", test))},
        }
    report["total_seconds"] = round(time.perf_counter() - t_start, 1)
    if not quick:
        report["speed"] = speed_targets()
    # peak resident memory of the main process and of the largest worker (Linux: KiB)
    report["peak_rss_mb"] = {
        "main": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "largest_worker": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }
    return report


def _fmt_ci(v: dict[str, Any]) -> str:
    lo, hi = v["pai_ci95"]
    return f"{v['pai']:.2f} [{lo:.2f}, {hi:.2f}]"


def _header(report: dict[str, Any], command: str) -> list[str]:
    single = report["single_model_fit_seconds"]
    fits = ", ".join(f"{k} {v:.1f} s" for k, v in single.items() if k != "events")
    return [
        "# Forecasting benchmark: St. Louis 2019",
        "",
        "Generated by `bench/forecast_bench.py`; do not edit by hand. Command:",
        "",
        f"    {command}",
        "",
        f"- Data: `{report['data']}` (the department's 60 monthly files) read by the import's"
        " own parsers and rules: one incident per complaint, cancelled complaints dropped,"
        f" withheld locations left out; {report['n_events']:,} located incidents. Burglary ="
        " the taxonomy's `burglary`; robbery = `robbery`; assault = the taxonomy's `assault`,"
        " which includes simple assault: SLMPD's AGG.ASSAULT and ASSLT descriptions both map"
        " to it (the import keeps no finer code), so it is not aggravated assault alone; all crime"
        " = every category except the enforcement-driven"
        " ones (drugs, vice), the portal's default.",
        f"- Grid: {report['grid']['cell_size_m']:g} m cells in {report['grid']['crs']},"
        f" {report['active_cells']:,} active cells ({report['active_area']}).",
        "- Rolling origin: every method is refitted at each window start on the events strictly"
        " before it (the backtest slices them). ML models are retrained every"
        f" {ML['refit_every_days']} days on {ML['n_origins']} origins over the previous"
        f" {ML['train_days']} days (features are always recomputed from the current data)."
        " Count features reach back up to 1,095 days; before 2015, where the department's"
        " files start, they see only the few incidents reported late, so the early training"
        " origins of the 2018 fits have thin long-lag features (a small handicap for ML in"
        " 2018, none in 2019).",
        "- **Methods are picked on 2018 and scored on 2019.** The best classical method and the"
        " best ML method per task and coverage are the ones with the highest pooled PAI over"
        " the 2018 windows; the table gives their 2019 figures. The margin's 95 % interval is a"
        " paired bootstrap over the 2019 windows in blocks of about four weeks (windows that"
        " share a trained model or a season are not independent). 'Met' reads the point"
        " estimate (and the lower bound where the target asks for it). Next-day models learn"
        " from 7-day labels scaled to one day (a count times"
        " 1/7; logistic: 1 - (1 - p) ** (1/7)).",
        "- ML = a learned model or an ensemble with one: `ensemble` averages the Poisson GLM's"
        " and the random forest's risk shares, `ensemble_kde` also the long KDE's. It was added"
        " after a one-off comparison of 13 variants on 2018 windows only (a scratch run, not"
        " kept; longer labels and training spans did not help there). `glm_forest_context`"
        " (issue #21) averages a Poisson GLM and a random forest on the same features plus"
        " other crime types' counts in the cell and its 3 x 3 neighbourhood over 28 and 365"
        " days (leading indicators), the target's counts in a 15 x 15 box (~1 km) and kernel"
        " densities of its 365-day decayed counts (bandwidths 75, 150 and 300 m); it and its"
        " feature set were picked on 2018 windows only, from a scratch comparison of about"
        " 20 variants over burglary, robbery and assault (not kept); `ensemble_context_kde`"
        " averages its risk shares with the long KDE's. A later scratch comparison on the 2018"
        " weekly windows (gradient boosting and the Poisson GLM alone with the context"
        " features, two years of training origins, rank averaging, a third ensemble member"
        " of 730-day counts, LightGBM with a Poisson objective and with a ranking objective,"
        " LambdaRank truncated at the top 80 or 300 cells; not kept) found none ahead of"
        " `glm_forest_context` by more than the noise of 26 windows; the ranking objective"
        " fell far behind (burglary, PAI at 1 %: 4.1 and 4.8 against 8.2; robbery: 9.4 and"
        " 11.0 against 14.5), so no method and no dependency was added.",
        "- Pooled PAI = (sum of captured / sum of events over windows) / share of area; 95 %"
        " intervals from a percentile bootstrap over windows. Flagged cells ="
        " round(coverage x active cells). Ties: score desc, then cell index asc.",
        "- References: `oracle` = the best cells of each window in hindsight (the ceiling);"
        f" `{HINDSIGHT}` = cells ranked by their count over the whole test year (it sees the"
        " future: roughly the most a fixed ranking of places could give); `uniform` flags"
        " cells in"
        " index order (no information).",
        f"- Total runtime {report['total_seconds']:.0f} s on the shared 2-core machine"
        f" with {report['jobs']} worker processes (data loading {report['load_seconds']:.0f} s);"
        f" peak memory {report['peak_rss_mb']['main']:,} MB in the main process and"
        f" {report['peak_rss_mb']['largest_worker']:,} MB in the largest worker."
        f" One model trained on all five years ({single['events']:,} incidents, until"
        f" 2020-01-01; `_4y_origins` = 104 training origins over four years): {fits}.",
    ]


def _speed_lines(speed: dict[str, Any]) -> list[str]:
    """The speed targets' section (bench/backtest_bench.py, bench/training_bench.py)."""
    lines = ["", "## Speed (issue #21's targets)", ""]
    bt = speed.get("backtest_command")
    if bt:
        lines.append(
            f"- **Backtest command** (`bench/backtest_bench.py`): `manage.py backtest` over"
            f" {bt['windows']} next-day burglary windows (2019-10-01 to 2019-12-31) in"
            f" {bt['cell_size_m']:g} m cells, {bt['cells_inside_boundary']:,} cells inside the"
            f" city boundary, every one of the models page's {bt['methods']} methods and"
            f" baseline variants: **{bt['wall_seconds']:.0f} s** wall, {bt['cpu_seconds']:.0f} s"
            f" CPU (target: under 600 s); load average {bt['load_average_before'][0]:.2f}"
            f" before, {bt['load_average_after'][0]:.2f} after. Reference in the same run:"
            f" reading the 60 files, {bt['reference_read_files_seconds']:.1f} s (ratio"
            f" {bt['ratio_command_to_reference']:.0f}). Slowest: "
            + ", ".join(f"{k} {v:.0f} s" for k, v in sorted(
                bt["fit_seconds_by_method"].items(), key=lambda kv: -kv[1])[:3]) + ".")
    runs = speed.get("training_runs") or {}
    if runs:
        lines += [
            "- **Training runs** (`bench/training_bench.py`, the portal's own run on its"
            " database): weekly burglary on all five years in the agency's cells; the backtest"
            " of 26 validation and 26 test windows against every baseline, the recommendation,"
            " the fairness report of the census tracts' three groupings, the final fit, the"
            " stored model and the first forecast. Target: under 60 s for the recommended"
            " method.",
            "",
            "| method | cells | status | the run recommends | wall s | CPU s | reading s |"
            " backtest s | fairness report s | final fit and forecast s | load before |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in runs.items():
            if r is None:
                lines.append(f"| {name} | | failed to run | | | | | | | | |")
                continue
            st = r["stages_seconds"]
            lines.append(
                f"| {name} | {r['cell_size_m']} m | {r['status']} | {r['recommended']} |"
                f" {r['wall_seconds']:.1f} | {r['cpu_seconds']:.1f} | {st['reading']:.1f} |"
                f" {st['backtest'] or 0:.1f} | {st['fairness_report'] or 0:.1f} |"
                f" {st['final_fit_store_and_forecast']:.1f} |"
                f" {r['load_average_before'][0]:.2f} |")
    return lines


def markdown(report: dict[str, Any], command: str) -> str:
    lines = _header(report, command) + [
        "",
        "## Recommended model vs best classical method (picked on 2018, pooled PAI on 2019)",
        "",
        "The recommended model follows the portal's own rule (`forecasting.selection`) on the"
        " 2018 windows: the ML method with the largest margin over the best classical method"
        " among those whose margin's 95 % lower bound is above zero (paired bootstrap in"
        " blocks of about four weeks); with none, the best classical method itself (margin 0)."
        " Two differences from a training run: here the rule is applied at each coverage (a"
        " training run chooses once, at 1 %), and the classical methods include the bench's"
        " own settings (730-day counts, a 200 m KDE, SEPP warm-started) besides the models"
        " page's baselines, so the bar is, if anything, higher. The best ML method on 2018 is"
        " shown beside it, with its 2018 margin, whatever its interval. Target (issue #21):"
        " the recommended model at least 1.15 times the best classical method for weekly"
        " burglary, robbery and assault, with the margin's 95 % lower bound on 2019 above zero;"
        " at least 1.10 times for next-day burglary; never below it anywhere. Gap closed ="
        " (recommended - classical) / (hindsight year - classical).",
        "",
        "| task | coverage | best classical | PAI | best ML on 2018 [2018 margin, 95 % CI] |"
        " its PAI | its margin [95 % CI] | recommended | margin [95 % CI] | target | met |"
        " never below | hindsight year PAI | gap closed | picked on 2019: margin |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, task in report["tasks"].items():
        for cov, m in task["comparison"].items():
            lo, hi = m["margin_ci95_pct"]
            rlo, rhi = m["recommended_margin_ci95_pct"]
            vm, vlo, vhi = m["best_ml_validation_margin_pct"]
            p = m["picked_on_test"]
            target = f"x{m['target_ratio']:.2f}" + (", lower > 0" if m[
                "target_needs_lower_bound"] else "")
            gap = "" if m["gap_closed"] is None else f"{100 * m['gap_closed']:+.0f} %"
            val = "" if vm is None else (f" [{vm:+.1f} %" + ("" if vlo is None or vhi is None
                                                           else f", {vlo:+.1f}, {vhi:+.1f}") + "]")
            rec = (f"{m['recommended']} (classical)" if m["recommended_is_classical"]
                   else m["recommended"])
            lines.append(
                f"| {key} | {cov} | {m['best_classical']} | {m['classical_pai']:.2f} | "
                f"{m['best_ml']}{val} | {m['ml_pai']:.2f} | {m['margin_pct']:+.1f} %"
                f" [{lo:+.1f}, {hi:+.1f}] | {rec} | {m['recommended_margin_pct']:+.1f} %"
                f" [{rlo:+.1f}, {rhi:+.1f}] | {target} | {'yes' if m['target_met'] else 'no'} |"
                f" {'yes' if m['never_below_classical'] else 'no'} |"
                f" {m['hindsight_year_pai']:.2f} | {gap} | "
                f"{p['best_ml']} vs {p['best_classical']}: {p['margin_pct']:+.1f} % |"
            )
    lines += _speed_lines(report.get("speed") or {})
    for key, task in report["tasks"].items():
        test, val = task["test"], task["validation"]
        lines += [
            "",
            f"## {key}: {task['target']}, horizon {task['horizon_days']} day(s)",
            "",
            f"2019: {test['n_windows']} windows ({test['windows']}), {test['n_events']:.0f}"
            f" events; 2018 (validation): {val['n_windows']} windows ({val['windows']}),"
            f" {val['n_events']:.0f} events; {test['seconds'] + val['seconds']:.0f} s.",
            "",
            "| method | 2018 PAI 1 % | 2018 PAI 5 % | PAI 0.5 % | PAI 1 % [95 % CI] | PAI 2 % |"
            " PAI 5 % [95 % CI] | PAI 10 % | hit 1 % | hit 5 % | PEI 1 % | PEI 5 % | deviance |"
            " fit s | predict s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, m in test["methods"].items():
            c = m["coverage"]
            v = val["methods"][name]["coverage"]
            dev = m["mean_poisson_deviance"]
            lines.append(
                f"| {name} | {v['1%']['pai']:.2f} | {v['5%']['pai']:.2f} | "
                f"{c['0.5%']['pai']:.2f} | {_fmt_ci(c['1%'])} | {c['2%']['pai']:.2f} | "
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
    print(json.dumps(report, indent=1, default=str))
    if not (args.quick or args.no_docs):
        DOCS.parent.mkdir(parents=True, exist_ok=True)
        cmd = ".venv/bin/python bench/forecast_bench.py" + (
            "" if args.jobs == 2 else f" --jobs {args.jobs}"
        )
        DOCS.write_text(markdown(report, cmd))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
