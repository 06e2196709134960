#!/usr/bin/env python
"""One training run on five years of St. Louis burglary, printed as JSON.

Uses the database of DATABASE_URL (St. Louis is loaded there first if missing, as
``manage.py load_st_louis`` does), creates a weekly burglary model of ``--method`` (a models
page code) in the agency's cells (``--cell-size`` to change) and runs its training in this
process: the backtest (26 validation and 26 test weekly windows, every baseline), the
recommendation, the fairness report of the census tracts' three groupings, the final fit
and the first forecast. Stage times come from the run's own
stages (``modelling.training.Stages``). The reference measured in the same run is one read
of the agency's incidents (``bridge.load_arrays``); the ratio is the run over it. Wall and
CPU seconds and the load average are printed: on a shared machine the wall time is mostly
waiting for a core. Nothing here asserts a time.

    DATABASE_URL=... SECRET_KEY=... python bench/training_bench.py [--method sepp]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="sepp", help="a models page code (kde_long...)")
    parser.add_argument("--cell-size", type=int, default=0,
                        help="metres (default: the agency's, as the models page offers)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    from bench.machine import load_fields

    django.setup()
    from agencies.models import Agency
    from predictions.bridge import load_arrays
    from predictions.forecasting.registry import offers
    from predictions.modelling import training
    from predictions.models import ForecastModel, TrainingRun
    from predictions.research.st_louis import SLUG, load

    agency = Agency.objects.filter(slug=SLUG).first()
    if agency is None:
        agency = load(ROOT.parent / "shared" / "data").agency
    t0 = time.perf_counter()
    arrays = load_arrays(agency)
    reference = time.perf_counter() - t0

    marks: list[tuple[str, float]] = []
    original = training.Stages.set

    def timed(self, text: str, percent: int) -> None:
        marks.append((text, time.perf_counter()))
        original(self, text, percent)

    training.Stages.set = timed  # type: ignore[method-assign]
    offer = offers()[args.method]  # a page code: a method or a baseline's variant
    model = ForecastModel.objects.create(
        agency=agency, name=f"bench {args.method} {time.time():.0f}", category="burglary",
        horizon_days=7, method=offer.method, parameters=dict(offer.params),
        cell_size_m=args.cell_size or agency.cell_size_m)
    run = TrainingRun.objects.create(agency=agency, model=model)
    load_before = os.getloadavg()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    training.run_training(run.pk)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    run.refresh_from_db()

    def first(prefix: str) -> float:
        return next(t for text, t in marks if text.startswith(prefix)) - wall0

    stages = {"reading": first("Backtest window 0"),
              "backtest": first("Fairness report") - first("Backtest window 0")
              if any(t.startswith("Fairness") for t, _ in marks) else None,
              "fairness_report": first("Fitting") - first("Fairness report")
              if any(t.startswith("Fairness") for t, _ in marks) else None,
              "final_fit_store_and_forecast": wall - first("Fitting")}
    print(json.dumps({
        "method": args.method, "cell_size_m": model.cell_size_m, "status": run.status,
        "incidents": int(arrays.times.size),
        "windows": len(run.model_card.get("validation_windows", []))
        + len(run.model_card.get("backtest", {}).get("windows", [])),
        "recommended": run.selection.get("recommended"),
        "best_baseline": run.selection.get("best_baseline"),
        "wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
        "stages_seconds": {k: None if v is None else round(v, 1) for k, v in stages.items()},
        "reference_read_incidents_seconds": round(reference, 2),
        "ratio_run_to_reference": round(wall / reference, 1),
        **load_fields(load_before),
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
