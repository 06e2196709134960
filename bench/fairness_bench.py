"""Fairness benchmark on St. Louis 2019 (issue #8): exposure, accuracy by group, fair option.

Usage (from the repository root)::

    .venv/bin/python bench/fairness_bench.py            # full run, writes docs/fairness.md
    .venv/bin/python bench/fairness_bench.py --quick    # a few windows, no markdown

Same data, grid, windows and model settings as ``bench/forecast_bench.py`` (imported, not
copied): SLMPD 2015-2019, 150 m cells over the union of the 88 neighbourhoods, 52 weekly
windows of 2019, burglary and all crime. Residents come from the census-tract layer
``../shared/data/stl/geo/stl_tracts_demographics.geojson`` (ACS 2011-2015), read with the
portal's layer parser and areal-weighted onto the grid. For each task the best ML model
(the single model with the highest 2018 PAI at 5 % coverage in docs/benchmarks.md) is
backtested with ``export=True``, with and without tract covariates, next to the classical
method picked the same way for reference, and
``fairness_report`` is produced for two groupings of tracts: majority race/ethnicity and
poverty-rate quintile. Nothing is copied into the repository.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import math
import multiprocessing
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linprog

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.forecast_bench import (  # noqa: E402
    COVERAGES,
    DATA,
    SHARED,
    TARGETS,
    build,
    methods_for,
    window_starts,
)
from predictions.forecasting import (  # noqa: E402
    area_weights,
    fair_selection,
    fairness_report,
    groups_from_layer,
    majority_labels,
    polygon_covariates,
    quantile_labels,
    run_backtest,
)
from predictions.forecasting.evaluation import n_flagged, top_cells  # noqa: E402
from predictions.forecasting.fair_selection import DEFAULT_BAND  # noqa: E402
from predictions.forecasting.fairness import largest_disparity  # noqa: E402
from predictions.forecasting.fairness_report import (  # noqa: E402
    TRADEOFF_BANDS,
    pooled_exposure,
)
from predictions.ingest.arrays import target_categories  # noqa: E402
from predictions.ingest.layers import read_layer  # noqa: E402

TRACTS = SHARED / "geo/stl_tracts_demographics.geojson"
DOCS = REPO / "docs/fairness.md"
HORIZON = 7

# Model choice rule: per task, the single ML model (ensembles take no covariates) and the
# classical method with the highest pooled PAI on 2018 at 5 % coverage in docs/benchmarks.md
# (burglary_h7: random_forest 5.06 and kde_long 4.96; all_crime_h7: logistic 6.10, tied with
# poisson_glm at two decimals, and recent_counts_730 6.05).
TASKS: dict[str, dict[str, str]] = {
    "burglary_h7": {"target": "burglary", "ml": "random_forest", "classical": "kde_long"},
    "all_crime_h7": {
        "target": "all_crime",
        "ml": "logistic",
        "classical": "recent_counts_730",
    },
}

# Groupings as the portal builds them (predictions/layers.py): majority over these columns with
# population total_pop; poverty_rate quintiles weighted by total_pop.
POPULATION = "total_pop"
RACE_COLUMNS = (
    ("nh_white", "White (non-Hispanic)"),
    ("nh_black", "Black (non-Hispanic)"),
    ("hispanic", "Hispanic"),
    ("nh_asian", "Asian (non-Hispanic)"),
)
GROUPINGS = ("majority race/ethnicity", "poverty-rate quintile")

# Tract covariates (no _moe fields): density of residents, poverty, income, composition, tenure.
COVARIATES = ("total_pop", "poverty_rate", "median_hh_income", "pct_nh_black", "pct_nh_white")
OWNER_SHARE = "owner_occupied_share"  # owner_occupied_units / occupied_units, per tract

KEY = ("1%", "5%")
BAND_TOL = 1e-6
ENGINE_FILES = ("fair_selection.py", "fairness.py", "fairness_report.py", "areal.py")

_DATA: dict[str, Any] = {}  # grid, events, groupings, covariates; inherited by forked workers


# data ---------------------------------------------------------------------------------------
def load_layer_inputs(grid) -> dict[str, Any]:
    """Tract layer -> groupings (engine Groups) and covariates on the grid."""
    layer = read_layer(TRACTS.name, TRACTS.read_bytes())
    attrs = layer.attributes
    weights = area_weights(grid, layer.geometries)
    pop = attrs[POPULATION]
    counts = np.column_stack([attrs[c] for c, _ in RACE_COLUMNS])
    race = majority_labels(counts, [name for _, name in RACE_COLUMNS])
    poverty = quantile_labels(attrs["poverty_rate"], pop, 5, label="poverty-rate quintile")
    groupings = {
        GROUPINGS[0]: groups_from_layer(weights, race, pop),
        GROUPINGS[1]: groups_from_layer(weights, poverty, pop),
    }
    tract_labels = {GROUPINGS[0]: _tally(race), GROUPINGS[1]: _tally(poverty)}
    values = {c: attrs[c] for c in COVARIATES}
    with np.errstate(invalid="ignore", divide="ignore"):
        values[OWNER_SHARE] = attrs["owner_occupied_units"] / attrs["occupied_units"]
    kinds = {c: layer.kinds[c] for c in COVARIATES} | {OWNER_SHARE: "rate"}
    cov, cov_names = polygon_covariates(weights, values, kinds)
    return {
        "groupings": groupings,
        "tract_labels": tract_labels,
        "covariates": cov,
        "covariate_names": cov_names,
        "covariate_kinds": kinds,
        "n_tracts": len(layer.geometries),
        "tract_population": float(np.nansum(pop)),
    }


def _tally(labels: np.ndarray) -> dict[str, int]:
    names, counts = np.unique(labels, return_counts=True)
    return {str(k): int(v) for k, v in zip(names, counts, strict=True)}


# one task -----------------------------------------------------------------------------------
def method_specs(task: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """Best ML model, the same with tract covariates, best classical method (forecast_bench's
    settings)."""
    specs = dict(methods_for(HORIZON))
    ml, classical = task["ml"], task["classical"]
    with_cov = {
        **specs[ml],
        "method": ml,
        "covariates": _DATA["covariates"],
        "covariate_names": _DATA["covariate_names"],
    }
    return [(ml, specs[ml]), (f"{ml}+tracts", with_cov), (classical, specs[classical])]


def pai_figures(res, name: str) -> dict[str, Any]:
    cov = res.methods[name].summary(COVERAGES)["coverage"]
    return {
        k: {
            "pai": _r(cov[k]["pai"], 4),
            "pai_ci95": [_r(x, 4) for x in cov[k]["pai_ci"]],
            "hit_rate": _r(cov[k]["hit_rate"], 4),
        }
        for k in KEY
    }


def paired_ratio(res, a: str, b: str, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Pooled PAI of ``a`` / pooled PAI of ``b`` with a paired bootstrap over windows."""
    ma, mb = res.methods[a], res.methods[b]
    events = np.array(ma.events)
    cells = np.array(ma.cells)
    out = {}
    idx = np.random.default_rng(seed).integers(0, events.size, (n_boot, events.size))
    for j, cov in enumerate(COVERAGES):
        key = f"{cov * 100:g}%"
        if key not in KEY:
            continue
        ca = np.array(ma.captured)[:, j]
        cb = np.array(mb.captured)[:, j]
        fa = np.array(ma.flagged)[:, j] / cells
        fb = np.array(mb.flagged)[:, j] / cells
        point = (ca.sum() / fa.mean()) / (cb.sum() / fb.mean())
        boot = (ca[idx].sum(1) / fa[idx].mean(1)) / (cb[idx].sum(1) / fb[idx].mean(1))
        lo, hi = np.percentile(boot[np.isfinite(boot)], [2.5, 97.5])
        out[key] = {
            "ratio": _r(point, 4),
            "ratio_ci95": [_r(lo, 4), _r(hi, 4)],
            "windows_better": int(((ca / fa) > (cb / fb)).sum()),
            "windows_worse": int(((ca / fa) < (cb / fb)).sum()),
        }
    return out


def plain_disparity(res, name: str, groups) -> dict[str, Any]:
    """Pooled exposure ratios of the plain top cells (no MILP) at 1 % and 5 %."""
    scores, actives = res.predictions[name], res.active_cells
    out = {}
    for cov in (0.01, 0.05):
        chosen = [
            top_cells(s, n_flagged(cov, a.size)) for s, a in zip(scores, actives, strict=True)
        ]
        exp = pooled_exposure(groups, actives, chosen)
        ratios = {g: row["exposure_ratio"] for g, row in exp.items()}
        out[f"{cov * 100:g}%"] = {
            "ratios": ratios,
            "disparity": largest_disparity(list(ratios.values())),
        }
    return out


def band_relaxation_feasible(residents: np.ndarray, k: int, band: tuple[float, float]) -> bool:
    """Whether some fractional choice of ``k`` active cells keeps every group's exposure ratio in
    ``band`` (the linear relaxation of the fair selection's constraints, whole area; it does not
    depend on the scores). Infeasible here means the band is infeasible for every window."""
    residents = np.nan_to_num(np.asarray(residents, float)).clip(min=0)
    pop = residents.sum(axis=1)
    totals = residents.sum(axis=0)
    rows = []
    for g in np.flatnonzero(totals > 0):
        share = residents[:, g] / totals[g] * totals.sum()
        rows += [-(share - band[0] * pop), share - band[1] * pop]
    res = linprog(
        np.zeros(pop.size),
        A_ub=np.vstack(rows + [-pop]),
        b_ub=np.r_[np.zeros(len(rows)), -1.0],
        A_eq=np.ones((1, pop.size)),
        b_eq=[float(k)],
        bounds=(0, 1),
        method="highs",
    )
    return bool(res.status == 0)


def feasibility(rep: dict[str, Any], groups, actives: list[np.ndarray]) -> dict[str, Any]:
    """Is the default band feasible at 1 % and 5 %? Every window has the same active cells and
    residents, so the set of choices meeting a band is the same in every window: if the band, or
    a narrower one, was met in any window it can be met in all of them."""
    same = all(np.array_equal(a, actives[0]) for a in actives)
    out = {}
    for cov in (0.01, 0.05):
        key = f"{cov * 100:g}%"
        k = n_flagged(cov, actives[0].size)
        narrower = [
            pt
            for pt in rep["tradeoff"]
            if pt["band"] is not None
            and pt["band"][0] >= DEFAULT_BAND[0]
            and pt["band"][1] <= DEFAULT_BAND[1]
        ]
        out[key] = {
            "k": k,
            "relaxation_feasible": band_relaxation_feasible(
                groups.residents[actives[0]], k, DEFAULT_BAND
            ),
            "met_in_some_window": bool(same and any(pt[f"windows_met_{key}"] for pt in narrower)),
            "same_cells_every_window": same,
        }
    return out


def fingerprints() -> dict[str, str]:
    """sha256 (first 12 hex digits) of the engine modules the figures come from."""
    base = REPO / "predictions/forecasting"
    return {f: hashlib.sha256((base / f).read_bytes()).hexdigest()[:12] for f in ENGINE_FILES}


def run_task(
    key: str, quick: bool, time_limit: float | None, bands: tuple, classical_fairness: bool
) -> tuple[str, dict[str, Any]]:
    grid, events = _DATA["grid"], _DATA["events"]
    task = TASKS[key]
    t0 = time.perf_counter()
    starts, note = window_starts("test", HORIZON, quick)
    target = target_categories(TARGETS[task["target"]])
    specs = method_specs(task)
    res = run_backtest(events, grid, specs, starts, HORIZON, target, COVERAGES, export=True)
    t_bt = time.perf_counter() - t0
    _log(f"{key}: backtest {t_bt:.0f}s")
    ml, classical = task["ml"], task["classical"]
    names = [s[0] for s in specs]
    out: dict[str, Any] = {
        "target": task["target"],
        "horizon_days": HORIZON,
        "windows": note,
        "n_windows": len(starts),
        "n_events": float(sum(res.methods[ml].events)),
        "model": ml,
        "classical": classical,
        "pai": {n: pai_figures(res, n) for n in names},
        "fit_seconds_total": {n: _r(sum(res.methods[n].fit_seconds), 1) for n in names},
        "backtest_seconds": round(t_bt, 1),
        "covariates_effect": paired_ratio(res, f"{ml}+tracts", ml),
        "fairness": {},
        "fairness_seconds": {},
        "plain_disparity": {},
    }
    reported = [ml] + ([classical] if classical_fairness else [])
    limit = {} if time_limit is None else {"time_limit": time_limit}  # None: engine default
    for grouping, groups in _DATA["groupings"].items():
        out["plain_disparity"][grouping] = {n: plain_disparity(res, n, groups) for n in names}
        for name in reported:
            t1 = time.perf_counter()
            rep = fairness_report(res, name, groups, grouping, DEFAULT_BAND, bands, **limit)
            took = time.perf_counter() - t1
            if name == ml:
                rep["feasibility"] = feasibility(rep, groups, res.active_cells)
            out["fairness"].setdefault(name, {})[grouping] = rep
            out["fairness_seconds"][f"{name} / {grouping}"] = round(took, 1)
            _log(f"{key}: fairness_report {name} / {grouping} {took:.0f}s")
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return key, out


def targets(tasks: dict[str, Any]) -> list[dict[str, Any]]:
    """Per task and grouping (the reported model): does the fair option keep every group in the
    band at <= 10 % PAI cost (5 % coverage; 1 % alongside)? With the reasons when not."""
    rows = []
    for key, task in tasks.items():
        for grouping, rep in task["fairness"][task["model"]].items():
            row: dict[str, Any] = {"task": key, "grouping": grouping, "model": task["model"]}
            for cov in KEY:
                row[cov] = _target_check(rep, cov, task["pai"][task["model"]][cov])
            rows.append(row)
    return rows


def _target_check(rep: dict[str, Any], cov: str, pai: dict[str, Any]) -> dict[str, Any]:
    f = rep["fair_option"][cov]
    n = rep["windows"]
    disp = f["disparity_fair"]
    in_band = disp is not None and disp <= DEFAULT_BAND[1] + BAND_TOL
    every = f["windows_met"] == n
    cost = f["pai_cost"]
    cost_ok = cost is not None and cost <= 0.10 + BAND_TOL
    feas = rep["feasibility"][cov]
    reasons = []
    if not every:
        miss = n - f["windows_met"]
        if not feas["relaxation_feasible"]:
            reasons.append(
                f"{miss} of {n} windows outside the band because the band is infeasible: not"
                f" even a fractional choice of {feas['k']} cells keeps every group inside it"
            )
        elif feas["met_in_some_window"]:
            reasons.append(
                f"{miss} of {n} windows were left outside the band (widened) although it is"
                " feasible (met in other windows, with the same cells and residents): in those"
                " windows the engine's heuristics and time-limited branch and bound found no"
                " choice inside it, which it treats as infeasible; a solver limitation, not a"
                " property of the data"
            )
        else:
            reasons.append(
                f"{miss} of {n} windows outside the band; its linear relaxation is feasible but"
                " no window met it, so feasibility is unproven"
            )
    if not in_band:
        reasons.append(f"pooled largest disparity {_n(disp)} > {DEFAULT_BAND[1]:g}")
    if not cost_ok:
        plain = rep["tradeoff"][0][f"ratios_{cov}"]
        worst = max(
            (g for g, r in plain.items() if r),
            key=lambda g: max(plain[g], 1.0 / plain[g]) if plain[g] > 0 else math.inf,
        )
        lo, hi = pai["pai_ci95"]
        reasons.append(
            f"PAI cost {_pct(cost, 2)} > 10 %: the plain top cells give {worst} an exposure ratio"
            f" of {_n(plain[worst])}, and correcting it moves patrol cells away from recorded"
            f" crime (for scale: the model's pooled PAI at {cov} is {_n(pai['pai'])} with a 95 %"
            f" interval of {_n(lo)}-{_n(hi)} over windows)"
        )
    return {
        "pooled_in_band": bool(in_band),
        "every_window": bool(every),
        "cost_ok": bool(cost_ok),
        "met": bool(in_band and every and cost_ok),
        "pai_plain": f["pai_plain"],
        "pai_fair": f["pai_fair"],
        "pai_cost": cost,
        "disparity_plain": f["disparity_plain"],
        "disparity_fair": disp,
        "windows_met": f["windows_met"],
        "windows": n,
        "reasons": reasons,
    }


def run(
    quick: bool, jobs: int, time_limit: float | None, bands: tuple, classical_fairness: bool
) -> dict[str, Any]:
    t_start = time.perf_counter()
    engine = fingerprints()  # the modules imported above (they are being edited by others)
    grid, events = build()
    _DATA.update(grid=grid, events=events)
    _DATA.update(load_layer_inputs(grid))
    load_s = time.perf_counter() - t_start
    active = grid.boundary_mask()
    report: dict[str, Any] = {
        "data": str(DATA.relative_to(REPO.parent)),
        "tracts": str(TRACTS.relative_to(REPO.parent)),
        "n_tracts": _DATA["n_tracts"],
        "tract_population": _DATA["tract_population"],
        "tract_labels": _DATA["tract_labels"],
        "active_residents": {
            g: float(groups.residents[active].sum()) for g, groups in _DATA["groupings"].items()
        },
        "n_events_clean": len(events),
        "grid": {"crs": grid.crs, "cell_size_m": grid.cell_size, "nx": grid.nx, "ny": grid.ny},
        "active_cells": int(active.sum()),
        "covariates": list(_DATA["covariate_names"]),
        "band": list(DEFAULT_BAND),
        "tradeoff_bands": [list(b) if b else None for b in bands],
        "time_limit_s": time_limit
        if time_limit is not None
        else inspect.signature(fairness_report).parameters["time_limit"].default,
        "time_limit_from": "command line" if time_limit is not None else "engine default",
        "engine_sha256_12": engine,
        "gap_goal": fair_selection.GAP_GOAL,
        "widening": list(fair_selection.WIDENING),
        "load_seconds": round(load_s, 1),
        "jobs": jobs,
        "machine": f"{platform.machine()}, {multiprocessing.cpu_count()} CPUs (shared)",
        "tasks": {},
    }
    keys = list(TASKS)
    args = [quick, time_limit, bands, classical_fairness]
    if jobs > 1:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            done = list(pool.map(run_task, keys, *([a] * len(keys) for a in args)))
    else:
        done = [run_task(k, *args) for k in keys]
    report["tasks"] = dict(done)
    report["targets"] = targets(report["tasks"])
    report["engine_changed_during_run"] = fingerprints() != engine
    report["total_seconds"] = round(time.perf_counter() - t_start, 1)
    return report


# markdown -----------------------------------------------------------------------------------
def _r(x: Any, nd: int = 3) -> float | None:
    x = float(x)
    return round(x, nd) if math.isfinite(x) else None


def _n(x: Any, fmt: str = ".2f") -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return format(x, fmt)


def _ci(v: Any, lo_hi: Any, fmt: str = ".2f") -> str:
    if v is None:
        return "-"
    if not lo_hi or lo_hi[0] is None:
        return _n(v, fmt)
    return f"{_n(v, fmt)} [{_n(lo_hi[0], fmt)}, {_n(lo_hi[1], fmt)}]"


def _pct(x: Any, nd: int = 1) -> str:
    return "-" if x is None else f"{100 * x:.{nd}f} %"


def _band(b: Any) -> str:
    return "none (plain top cells)" if b is None else f"{b[0]:g}-{b[1]:g}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def markdown(report: dict[str, Any], command: str) -> str:
    tasks = report["tasks"]
    first = next(iter(tasks.values()))
    lines = [
        "# Fairness benchmark: St. Louis 2019",
        "",
        "Generated by `bench/fairness_bench.py`; do not edit by hand. Command:",
        "",
        f"    {command}",
        "",
        f"- Total runtime {report['total_seconds']:.0f} s ({report['total_seconds'] / 60:.1f}"
        f" min) with {report['jobs']} worker processes (one per task; data and layer loading"
        f" {report['load_seconds']:.0f} s) on a shared 2-core machine ({report['machine']}):"
        " other processes were running, so timings are indicative.",
        f"- Crime: `{report['data']}` (the department's 60 monthly files) read by the import's"
        f" own parsers and rules ({report['n_events_clean']:,} located incidents); burglary ="
        " the taxonomy's `burglary`; all crime = every category except drugs and vice. Same"
        " grid, windows and model settings as `bench/forecast_bench.py`"
        " (imported): "
        f"{report['grid']['cell_size_m']:g} m cells in {report['grid']['crs']},"
        f" {report['active_cells']:,} active cells (centre inside the union of the 88"
        f" neighbourhoods); {first['n_windows']} windows ({first['windows']}) of 2019,"
        " horizon 7 days; every method refitted at each window start on the events before it.",
        f"- Residents: `{report['tracts']}` ({report['n_tracts']} census tracts, ACS 2011-2015"
        f" 5-year estimates, {report['tract_population']:,.0f} residents;"
        f" {next(iter(report['active_residents'].values())):,.0f} of them fall in the active"
        " cells by areal weighting), read with the portal's layer parser"
        " (`predictions/ingest/layers.py`).",
        "- Groupings, built as the portal builds them (`predictions/layers.py`): tracts by"
        " majority race/ethnicity of residents (largest of non-Hispanic White, non-Hispanic"
        " Black, Hispanic, non-Hispanic Asian; "
        + ", ".join(f"{k}: {v} tracts" for k, v in report["tract_labels"][GROUPINGS[0]].items())
        + ") and by poverty-rate quintile (population-weighted, 1 = lowest poverty; "
        + ", ".join(
            f"{k.split()[-3]}: {v}" for k, v in report["tract_labels"][GROUPINGS[1]].items()
        )
        + " tracts).",
        "- Model per task: the single ML model with the highest 2018 PAI at 5 % coverage in"
        " `docs/benchmarks.md` (ensembles take no covariates), with the classical method picked"
        " there for reference: "
        + "; ".join(f"{k}: {t['model']} (reference {t['classical']})" for k, t in tasks.items())
        + ".",
        f"- Fair option at the default band {report['band'][0]:g}-{report['band'][1]:g}"
        " (exposure ratio of every group); trade-off bands: "
        + ", ".join(_band(b) for b in report["tradeoff_bands"])
        + f"; branch-and-bound time limit {report['time_limit_s']:g} s"
        f" ({report['time_limit_from']}; see Method).",
        "",
        "## Method",
        "",
        "- **Areal weighting.** Each tract's residents are assumed spread evenly over its area"
        " (river and parks included); a cell receives the share of each tract's area it holds."
        " Residents of cells outside the active area are left out of every share.",
        "- **Exposure ratio** of group g at a coverage = (share of the flagged cells' residents"
        " who are in g) / (g's share of the residents of the active area), pooled over the"
        " windows (a cell flagged in two windows counts twice). 1 is parity; the largest"
        " disparity is max over groups of max(r, 1/r), so the band 0.8-1.25 means disparity"
        " <= 1.25. *Against crime*: the same flagged share divided by g's share of the 2019"
        " recorded incidents of the task (each cell's incidents split between groups by the"
        " cell's area in each group's tracts).",
        "- **Accuracy by group**: every cell is assigned to the group most of its residents"
        " are in; hit rate, PAI, share of flagged windows without a recorded incident and"
        " calibration (predicted / recorded, only for models whose scores are expected counts)"
        " pooled over windows (fairlearn `MetricFrame`), with 95 % percentile-bootstrap"
        " intervals resampling whole windows (300 resamples).",
        "- **Fair option** (`predictions/forecasting/fair_selection.py`): per window, the"
        " k = round(coverage x active cells) cells with the largest summed score such that every"
        " group's exposure ratio is inside the band; multiplied out, the bounds are linear, so"
        " this is a mixed-integer programme over binary cells. When the plain top cells are"
        " already inside the band they are kept (no cost). Otherwise the engine solves the"
        " linear relaxation (HiGHS via `scipy.optimize.linprog`; its optimum bounds the best"
        " score), keeps the whole cells and completes them with the best feasible subset of the"
        " fractional and next-best cells (or, when none is feasible, repairs the rounded choice"
        " by swaps that reduce the constraint violation), then improves it by single swaps. The"
        f" result is kept when within {100 * report['gap_goal']:g} % of the bound, else branch"
        " and bound runs (`scipy.optimize.milp`, relative MIP gap 1e-4, time limit"
        f" {report['time_limit_s']:g} s, retried once with ten times the limit and a 1 % gap"
        " when it stops without a choice) and the better of the two is kept. Candidates: the"
        " top 3k cells overall and the top 3k of the cells each group dominates; the whole"
        " active area is tried when that pool fails. When nothing is found in the band"
        " (infeasible, *or* the heuristics failed and branch and bound stopped by its time"
        " limit without a choice), the band is widened by the factors"
        f" {', '.join(f'x{w:g}' for w in report['widening'][1:])} and the window counts as"
        " *not* within band. PAI cost = 1 - PAI fair / PAI plain (pooled). *Feasibility*: all"
        " windows share the same active cells and residents, so whether a band can be met does"
        " not depend on the window: if it (or a narrower band) was met in one window it can be"
        " met in all; the linear relaxation is also checked (infeasible relaxation = band"
        " infeasible).",
        "- Engine modules (`predictions/forecasting/`, sha256, first 12 digits): "
        + ", ".join(f"`{f}` {h}" for f, h in report["engine_sha256_12"].items())
        + (
            " (**changed while the benchmark ran**)."
            if report["engine_changed_during_run"]
            else " (unchanged during the run)."
        ),
        "- **Limitations.** The demographics are ACS 2011-2015 estimates with margins of error"
        " (not propagated here: group labels and resident counts are treated as exact), on 2010"
        " tract boundaries, for a 2019 test year; areal weighting misplaces residents inside"
        " tracts (parks, industrial land). Recorded crime is not crime: it reflects reporting"
        " and police activity, so a model that matches recorded crime can reproduce those"
        " biases, and exposure against recorded crime inherits them. The models were picked on"
        " 2018 and are scored on 2019 (see `docs/benchmarks.md`).",
    ]
    for key, task in tasks.items():
        lines += _task_markdown(key, task)
    lines += _covariates_markdown(report)
    lines += _targets_markdown(report)
    return "\n".join(lines) + "\n"


def _task_markdown(key: str, task: dict[str, Any]) -> list[str]:
    ml, classical = task["model"], task["classical"]
    p = task["pai"]
    lines = [
        "",
        f"## {key}: {task['target']}, next 7 days",
        "",
        f"{task['n_windows']} windows, {task['n_events']:.0f} recorded incidents; backtest"
        f" {task['backtest_seconds']:.0f} s, task total {task['seconds']:.0f} s. Pooled PAI of"
        f" the model {ml}: {_ci(p[ml]['1%']['pai'], p[ml]['1%']['pai_ci95'])} at 1 %,"
        f" {_ci(p[ml]['5%']['pai'], p[ml]['5%']['pai_ci95'])} at 5 %; reference {classical}:"
        f" {_ci(p[classical]['1%']['pai'], p[classical]['1%']['pai_ci95'])} at 1 %,"
        f" {_ci(p[classical]['5%']['pai'], p[classical]['5%']['pai_ci95'])} at 5 %.",
    ]
    notes = []
    for name, reps in task["fairness"].items():
        rep = next(iter(reps.values()))
        for cov in KEY:
            a, b = p[name][cov]["pai"], rep["fair_option"][cov]["pai_plain"]
            if a is not None and b is not None and abs(a - b) >= 0.005:
                notes.append(f"{name} at {cov}: {b:.2f} vs {a:.2f}")
    if notes:
        lines += [
            "",
            "The fairness reports rank the exported scores (float32), so where scores tie there"
            " the plain top cells, and their PAI, can differ slightly from the backtest's"
            " (float64): " + "; ".join(notes) + ".",
        ]
    for grouping, rep in task["fairness"][ml].items():
        secs = task["fairness_seconds"][f"{ml} / {grouping}"]
        lines += [
            "",
            f"### {key} / {grouping} ({ml}; report {secs:.0f} s)",
            "",
            "Exposure of the plain top cells (pooled over windows):",
            "",
            "| group | residents | population share | recorded-crime share | area share"
            " | exposure 1 % | exposure 2 % | exposure 5 % | vs crime 1 % | vs crime 5 % |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for g in rep["groups"]:
            base = rep["population"][g]
            e = {c: rep["exposure"][c][g] for c in ("1%", "2%", "5%")}
            lines.append(
                f"| {g} | {base['residents']:,.0f} | {_pct(base['population_share'])} | "
                f"{_pct(base.get('crime_share'))} | {_pct(base['area_share'])} | "
                f"{_n(e['1%']['exposure_ratio'])} | {_n(e['2%']['exposure_ratio'])} | "
                f"{_n(e['5%']['exposure_ratio'])} | {_n(e['1%'].get('exposure_to_crime_ratio'))}"
                f" | {_n(e['5%'].get('exposure_to_crime_ratio'))} |"
            )
        acc = rep["accuracy"].get("5%")
        if acc:
            lines += [
                "",
                "Accuracy by group at 5 % (cells by dominant group; 95 % CI):",
                "",
                "| group | cells | incidents | hit rate | PAI | flagged share |"
                " flagged without incident | calibration |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for g, a in acc.items():
                lines.append(
                    f"| {g} | {a['cells']:,} | {a['events']:.0f} | "
                    f"{_ci(a['hit_rate'], a['hit_rate_ci95'], '.3f')} | "
                    f"{_ci(a['pai'], a['pai_ci95'])} | {_pct(a['flagged_share'])} | "
                    f"{_pct(a['flagged_without_crime'])} | "
                    f"{_ci(a['calibration'], a['calibration_ci95'])} |"
                )
        fair = rep["fair_option"]
        lines += [
            "",
            f"Fair option at band {fair['band'][0]:g}-{fair['band'][1]:g}:",
            "",
            "| coverage | PAI plain | PAI fair | PAI cost | largest disparity plain |"
            " largest disparity fair | windows within band |",
            "|---|---|---|---|---|---|---|",
        ]
        for cov in KEY:
            f = fair[cov]
            lines.append(
                f"| {cov} | {_n(f['pai_plain'])} | {_n(f['pai_fair'])} | {_pct(f['pai_cost'], 2)}"
                f" | {_n(f['disparity_plain'])} | {_n(f['disparity_fair'])} | "
                f"{f['windows_met']} of {rep['windows']} |"
            )
        lines += [
            "",
            "Trade-off (pooled PAI and largest exposure disparity by band):",
            "",
            "| band | PAI 1 % | disparity 1 % | windows within 1 % | PAI 5 % |"
            " disparity 5 % | windows within 5 % | exposure ratios 5 % |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for pt in rep["tradeoff"]:
            ratios = ", ".join(f"{g}: {_n(r)}" for g, r in pt["ratios_5%"].items())
            lines.append(
                f"| {_band(pt['band'])} | {_n(pt['pai_1%'])} | {_n(pt['disparity_1%'])} | "
                f"{pt['windows_met_1%']} | {_n(pt['pai_5%'])} | {_n(pt['disparity_5%'])} | "
                f"{pt['windows_met_5%']} | {ratios} |"
            )
        ref = task["plain_disparity"][grouping]
        lines += [
            "",
            "Largest exposure disparity of the plain top cells, per method (no fair"
            " option): "
            + "; ".join(
                f"{n}: {_n(v['1%']['disparity'])} at 1 %, {_n(v['5%']['disparity'])} at 5 %"
                for n, v in ref.items()
            )
            + ".",
        ]
    for name, reps in task["fairness"].items():
        if name == ml:
            continue
        lines += [
            "",
            f"### {key}: reference method {name}, fair option at band"
            f" {DEFAULT_BAND[0]:g}-{DEFAULT_BAND[1]:g}",
            "",
            "| grouping | coverage | PAI plain | PAI fair | PAI cost | largest disparity plain |"
            " largest disparity fair | windows within band |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for grouping, rep in reps.items():
            for cov in KEY:
                f = rep["fair_option"][cov]
                lines.append(
                    f"| {grouping} | {cov} | {_n(f['pai_plain'])} | {_n(f['pai_fair'])} | "
                    f"{_pct(f['pai_cost'], 2)} | {_n(f['disparity_plain'])} | "
                    f"{_n(f['disparity_fair'])} | {f['windows_met']} of {rep['windows']} |"
                )
    return lines


def _covariates_markdown(report: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Tract covariates in the ML model",
        "",
        "The same model and settings with per-cell tract covariates appended to its features"
        " (areal-weighted from the tracts: "
        + ", ".join(f"`{c}`" for c in report["covariates"])
        + "; counts become densities per km², rates and medians area-weighted means;"
        " `owner_occupied_share` = owner-occupied / occupied units of the tract). Pooled PAI"
        " with 95 % CI, and the ratio with-covariates / without from a paired bootstrap over"
        " windows (windows better / worse out of all).",
        "",
        "| task | model | coverage | PAI without | PAI with tract covariates | ratio [95 % CI] |"
        " windows better / worse | effect |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, task in report["tasks"].items():
        ml = task["model"]
        for cov in KEY:
            a, b = task["pai"][ml][cov], task["pai"][f"{ml}+tracts"][cov]
            eff = task["covariates_effect"][cov]
            lines.append(
                f"| {key} | {ml} | {cov} | {_ci(a['pai'], a['pai_ci95'])} | "
                f"{_ci(b['pai'], b['pai_ci95'])} | {_ci(eff['ratio'], eff['ratio_ci95'], '.3f')}"
                f" | {eff['windows_better']} / {eff['windows_worse']} | {_effect(eff)} |"
            )
    lines += [
        "",
        "Largest exposure disparity of the plain top cells, without / with tract covariates:",
        "",
    ]
    for key, task in report["tasks"].items():
        ml = task["model"]
        for grouping, ref in task["plain_disparity"].items():
            a, b = ref[ml], ref[f"{ml}+tracts"]
            lines.append(
                f"- {key} / {grouping}: {_n(a['1%']['disparity'])} / "
                f"{_n(b['1%']['disparity'])} at 1 %, {_n(a['5%']['disparity'])} / "
                f"{_n(b['5%']['disparity'])} at 5 %."
            )
    lines += [
        "",
        "The covariates include the tract's racial composition (`pct_nh_black`,"
        " `pct_nh_white`); whether an agency may use them at all is a policy question,"
        " not settled by accuracy.",
    ]
    return lines


def _effect(eff: dict[str, Any]) -> str:
    lo, hi = eff["ratio_ci95"]
    if lo is not None and lo > 1:
        return "helps (interval above 1)"
    if hi is not None and hi < 1:
        return "hurts (interval below 1)"
    return "no detectable difference (interval contains 1)"


def _targets_markdown(report: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Targets",
        "",
        "Target: the fair option keeps every group inside 0.8-1.25 at a cost of at most 10 %"
        " of PAI at 5 % coverage. *Met* requires all three: pooled largest disparity <= 1.25,"
        " every window's selection within the band, and PAI cost <= 10 %. 1 % is shown for"
        " information.",
        "",
        "| task | grouping | model | coverage | PAI plain -> fair | cost | disparity plain ->"
        " fair | windows within band | pooled in band | every window | cost <= 10 % | met |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["targets"]:
        for cov in ("5%", "1%"):
            t = row[cov]
            lines.append(
                f"| {row['task']} | {row['grouping']} | {row['model']} | {cov} | "
                f"{_n(t['pai_plain'])} -> {_n(t['pai_fair'])} | {_pct(t['pai_cost'], 2)} | "
                f"{_n(t['disparity_plain'])} -> {_n(t['disparity_fair'])} | "
                f"{t['windows_met']} of {t['windows']} | {_yes(t['pooled_in_band'])} | "
                f"{_yes(t['every_window'])} | {_yes(t['cost_ok'])} | {_yes(t['met'])} |"
            )
    lines += [""]
    for row in report["targets"]:
        for cov in ("5%", "1%"):
            t = row[cov]
            verdict = "met" if t["met"] else "**not met**"
            why = "; ".join(t["reasons"]) if t["reasons"] else "every window inside the band"
            lines.append(f"- {row['task']} / {row['grouping']} at {cov}: {verdict}: {why}.")
    race = report["tract_labels"][GROUPINGS[0]]
    absent = [name for _, name in RACE_COLUMNS if name not in race]
    if absent:
        lines += [
            "",
            f"Small groups: no tract has a {' or '.join(absent)} majority, so the"
            f" race/ethnicity grouping has {len(race)} groups ("
            + ", ".join(f"{k}: {v} tracts" for k, v in race.items())
            + "). Hispanic and Asian residents are counted inside the tracts where they live,"
            " whose majority is another group; their exposure is not assessed separately here.",
        ]
    return lines


def _log(msg: str) -> None:
    print(f"[fairness] {msg}", file=sys.stderr, flush=True)


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, np.generic):
        return _json_safe(obj.item())
    return obj


def parse_bands(text: str) -> tuple:
    """``default`` or e.g. ``none,0.8-1.25`` (must include the default band)."""
    if text == "default":
        return TRADEOFF_BANDS
    out: list[tuple[float, float] | None] = []
    for part in text.split(","):
        part = part.strip().lower()
        if part == "none":
            out.append(None)
        else:
            lo, hi = part.split("-")
            out.append((float(lo), float(hi)))
    if None not in out:
        out.insert(0, None)  # the plain selection is the reference of the PAI cost
    return tuple(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="4 windows per task, no markdown")
    ap.add_argument("--no-docs", action="store_true", help="do not write docs/fairness.md")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (tasks in parallel)")
    ap.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="seconds per branch-and-bound call of the fair selection (default: the engine's)",
    )
    ap.add_argument(
        "--bands",
        default="default",
        help="trade-off bands: 'default' or e.g. 'none,0.67-1.5,0.8-1.25'",
    )
    ap.add_argument(
        "--model-only",
        action="store_true",
        help="skip the fairness reports of the reference classical method",
    )
    args = ap.parse_args(argv)
    bands = parse_bands(args.bands)
    if DEFAULT_BAND not in bands:
        ap.error("the bands must include the default band 0.8-1.25")
    report = run(args.quick, args.jobs, args.time_limit, bands, not args.model_only)
    report = _json_safe(report)
    print(json.dumps(report, indent=1))
    if not (args.quick or args.no_docs):
        cmd = ".venv/bin/python bench/fairness_bench.py"
        if args.jobs != 2:
            cmd += f" --jobs {args.jobs}"
        if args.time_limit is not None:
            cmd += f" --time-limit {args.time_limit:g}"
        if args.bands != "default":
            cmd += f" --bands {args.bands}"
        if args.model_only:
            cmd += " --model-only"
        DOCS.write_text(markdown(report, cmd))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
