#!/usr/bin/env python
"""The backtest command over 92 next-day windows of a city of about 15,000 cells, as JSON.

Runs ``manage.py backtest`` on the 60 St. Louis monthly files as published (read by the
import's own parsers, no database), the city boundary, 107 m cells (14,960 cells inside
the boundary), next-day burglary windows from 2019-10-01 to 2019-12-31 and every method
the models page offers (baseline variants included). The reference measured in the same
run is one read of the files (``ingest.arrays.file_arrays``); the ratio is the command
over it. Wall and CPU seconds and the load average are printed. Nothing here asserts a
time.

    SECRET_KEY=... python bench/backtest_bench.py [--cell-size 107] [--methods all]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
DATA = ROOT.parent / "shared" / "data" / "stl"
SLMPD = DATA / "slmpd_raw_monthly_2015_2019.tar.gz"
BOUNDARY = DATA / "geo" / "stl_city_boundary.geojson"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell-size", type=float, default=107.0)
    parser.add_argument("--methods", default="all")
    args = parser.parse_args(argv)
    import django

    from bench.machine import load_fields

    django.setup()
    from django.core.management import call_command

    from predictions.ingest.arrays import file_arrays

    t0 = time.perf_counter()
    arrays = file_arrays([str(SLMPD)], "slmpd")
    reference = time.perf_counter() - t0
    load_before = os.getloadavg()
    out = io.StringIO()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "backtest.json"
        wall0, cpu0 = time.perf_counter(), time.process_time()
        call_command("backtest", "--input", str(SLMPD), "--format", "slmpd", "--boundary",
                     str(BOUNDARY), "--category", "burglary", "--cell-size",
                     str(args.cell_size), "--horizon", "1", "--start", "2019-10-01", "--end",
                     "2020-01-01", "--methods", args.methods, "--json", str(path), stdout=out)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        result = json.loads(path.read_text())
    printed = out.getvalue()
    cells = re.search(r"\((\d+) inside the boundary\)", printed)
    methods = result["methods"]
    print(json.dumps({
        "incidents": int(arrays.times.size),
        "cell_size_m": args.cell_size,
        "cells_inside_boundary": int(cells.group(1)) if cells else None,
        "windows": len(result["config"]["windows"]),
        "methods": len(methods) - 1,  # the oracle is not a method
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "fit_seconds_by_method": {k: round(v["fit_seconds_total"], 1)
                                  for k, v in methods.items()},
        "pai_1pct_by_method": {k: round(v["coverage"]["1%"]["pai"], 2)
                               for k, v in methods.items()},
        "reference_read_files_seconds": round(reference, 2),
        "ratio_command_to_reference": round(wall / reference, 1),
        **load_fields(load_before),
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
