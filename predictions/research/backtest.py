"""The backtest command's work: incidents from the database or straight from files (no
database), the engine's rolling-origin backtest, a printed table, JSON and an export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from common import csv_safe
from predictions.bridge import json_safe
from predictions.forecasting import Events, Grid, rolling_origins, run_backtest
from predictions.forecasting.registry import offers
from predictions.ingest.arrays import ALL, IncidentArrays, target_categories


def method_list(spec: str) -> list[tuple[str, dict[str, Any]]]:
    """(label, params) of the named models page codes (methods and baseline variants such
    as ``kde_long``); ``all`` is every one of them."""
    codes = offers()
    names = list(codes) if spec == ALL else [m.strip() for m in spec.split(",") if m.strip()]
    unknown = [m for m in names if m not in codes]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; known: {', '.join(codes)}")
    return [(name, {"method": codes[name].method, **codes[name].params}) for name in names]


def backtest(arrays: IncidentArrays, *, boundary: dict | None, category: str, cell_size: float,
             horizon: int, start: str, end: str, methods: list[tuple[str, dict[str, Any]]],
             export: bool):
    grid = Grid.from_lonlat(arrays.lon, arrays.lat, cell_size=cell_size, boundary=boundary)
    events = Events.from_lonlat(arrays.times, arrays.lon, arrays.lat, arrays.category, grid)
    starts = rolling_origins(start, end, horizon)
    if starts.size == 0:
        raise ValueError(f"no {horizon}-day window fits between {start} and {end}")
    result = run_backtest(events, grid, methods, starts, horizon,
                          target=target_categories(category), export=export)
    return grid, result


def table(summary: dict[str, Any]) -> str:
    lines = [f"{'method':<24}{'PAI 1%':>9}{'PAI 5%':>9}{'hit 1%':>9}{'hit 5%':>9}{'fit s':>9}"]
    for name, m in summary.items():
        c1, c5 = m["coverage"]["1%"], m["coverage"]["5%"]
        lines.append(f"{name:<24}{c1['pai']:>9.2f}{c5['pai']:>9.2f}{c1['hit_rate']:>9.3f}"
                     f"{c5['hit_rate']:>9.3f}{m['fit_seconds_total']:>9.2f}")
    return "\n".join(lines)


def write_json(path: str, config: dict, summary: dict) -> None:
    Path(path).write_text(json.dumps(json_safe({"config": config, "methods": summary}),
                                     indent=2))


def export_predictions(folder: str, grid: Grid, result, horizon: int) -> None:
    """grid.json and predictions.csv: what an independent scorer needs."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "grid.json").write_text(json.dumps({
        "crs": grid.crs, "cell_size": grid.cell_size, "origin_x": grid.origin_x,
        "origin_y": grid.origin_y, "nx": grid.nx, "ny": grid.ny, "horizon_days": horizon}))
    columns = result.export_predictions()
    with open(out / "predictions.csv", "w", newline="") as handle:
        writer = csv_safe.writer(handle)
        writer.writerow(["method", "window_start", "col", "row", "score"])
        starts = np.datetime_as_string(columns["window_start"].astype("datetime64[s]"))
        writer.writerows(zip(columns["method"], starts, columns["col"], columns["row"],
                             np.round(columns["score"].astype(float), 8), strict=True))
