"""How often the workbench's count-forecast intervals held on St. Louis, 2019: weekly counts
per neighbourhood and per police district from the harmonized SLMPD file (no database), the
engine's rolling origins through 2019, the share of realised counts inside the 80 % and 95 %
intervals (pooled, and per horizon).

    python -m predictions.research.workbench_coverage ../shared/data [--step 1]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from predictions.forecasting.count_forecast import (
    SeasonalCountForecaster,
    rolling_coverage,
    rolling_origins,
)
from predictions.forecasting.trends import period_range, period_start

HARMONIZED = Path("stl") / "stl_2015_2019_harmonized.csv.gz"
FIRST, END = np.datetime64("2015-01-05"), np.datetime64("2019-12-30")  # whole weeks
MIN_WEEKLY_MEAN = 0.2  # series with fewer incidents (about one in 5 weeks) are left out


def weekly_counts(data: Path, by: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Week starts, the `by` codes ("neighborhood" or "district", 0 = unknown left out) and
    their counts of clean incidents (areas x weeks)."""
    days, keys = [], []
    with gzip.open(data / HARMONIZED, "rt", newline="") as stream:
        for row in csv.DictReader(stream):
            code = row[by].split(".")[0]
            if row["is_clean"] != "True" or code in ("", "0"):
                continue
            days.append(row["date_occur"][:10])
            keys.append(code)
    starts = period_range(FIRST, END - 1, "week")
    week = period_start(np.array(days, "datetime64[D]"), "week")
    names = sorted(set(keys), key=lambda k: (len(k), k))
    row_of = {k: i for i, k in enumerate(names)}
    at = np.searchsorted(starts, week)
    inside = (week >= FIRST) & (week < END)
    counts = np.zeros((len(names), len(starts)), np.int64)
    np.add.at(counts, (np.array([row_of[k] for k in keys])[inside], at[inside]), 1)
    return starts, names, counts


def coverage_2019(starts: np.ndarray, counts: np.ndarray, *, step: int = 1,
                  draws: int = 2000) -> dict[str, Any]:
    """Rolling origins every `step` weeks through 2019 (4 weeks ahead), pooled over the
    series averaging at least MIN_WEEKLY_MEAN incidents a week."""
    forecaster = SeasonalCountForecaster(period="week", draws=draws)
    first = int(np.searchsorted(starts, np.datetime64("2019-01-01")))
    at = rolling_origins(len(starts), horizon=4, origins=10_000, step=step, first=first)
    hits: dict[float, list[np.ndarray]] = {lv: [] for lv in forecaster.levels}
    used = 0
    for series in counts:
        if series.mean() < MIN_WEEKLY_MEAN:
            continue
        used += 1
        result = rolling_coverage(forecaster, starts, series, at)
        for lv in forecaster.levels:
            hits[lv].append(result.hits[lv])
    out: dict[str, Any] = {"series": used, "origins": len(at),
                           "first_origin": str(starts[at[0]]), "last_origin": str(starts[at[-1]])}
    for lv, parts in hits.items():
        joined = np.concatenate(parts)
        out[f"{round(100 * lv)}%"] = {"pooled": round(float(joined.mean()), 4),
                                      "by_horizon": [round(float(v), 4)
                                                     for v in joined.mean(axis=0)],
                                      "forecasts": int(joined.size)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the shared data folder (holding stl/)")
    parser.add_argument("--step", type=int, default=1, help="weeks between origins")
    args = parser.parse_args(argv)
    report = {}
    for by in ("district", "neighborhood"):
        starts, _, counts = weekly_counts(args.data, by)
        report[by] = coverage_2019(starts, counts, step=args.step)
    json.dump(report, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
