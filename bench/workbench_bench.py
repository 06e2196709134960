#!/usr/bin/env python
"""Workbench page speed on all five years of St. Louis, printed as JSON.

Uses the database DATABASE_URL names (PostgreSQL, as deployed); with `--load` it first loads
St. Louis from the shared data beside the repository when the agency is not there yet
(`load_st_louis`, about two minutes). Requests go through Django's test client in this
process (the server's work from the URL to the rendered page, including the audit record;
no network, no browser), signed in as the agency's admin, and the page cache is this
process's memory (CACHE_URL unset). For each page:

- cold: the first request of the process for that question, with every cache empty (the
  areas' points, and for the trend forecast its fitted models and backtest);
- warm: the median of `--runs` requests after it.

The reference in the same run is the agency's workspace page (same base template, a few
small queries). The machine's load average is printed with the results: other work on the
machine slows every figure alike. Nothing here asserts a time.

    DATABASE_URL=postgres://... python bench/workbench_bench.py [--runs 7] [--load]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SLUG = "st-louis"
BENCH_USER = "bench-workbench-admin"


def setup(load: bool):
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789ab")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.pop("CACHE_URL", None)
    os.environ["DEBUG"] = "0"  # as deployed (no query log)
    os.environ["ALLOWED_HOSTS"] = "localhost"
    os.environ["MFA_REQUIRED"] = "0"  # the pages are measured, not the sign-in
    import django

    django.setup()
    from agencies.models import Agency
    from predictions.research.st_louis import load as load_st_louis
    from predictions.research.st_louis import make_admin

    if not Agency.objects.filter(slug=SLUG).exists():
        if not load:
            raise SystemExit("St. Louis is not in this database: run with --load")
        load_st_louis(ROOT.parent / "shared" / "data")
    agency = Agency.objects.get(slug=SLUG)
    make_admin(agency, BENCH_USER)
    return agency


def timed(client, url: str) -> float:
    t0 = time.perf_counter()
    response = client.get(url)
    elapsed = 1000 * (time.perf_counter() - t0)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--load", action="store_true", help="load St. Louis if missing")
    args = parser.parse_args()
    agency = setup(args.load)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from predictions.bridge import area_points
    from predictions.models import Incident

    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username=BENCH_USER))
    names = area_points(agency).names if area_points(agency) else []
    area = str(names.index("Downtown")) if "Downtown" in names else "0"
    from predictions import bridge

    bridge._area_points_of.cache_clear()  # the cold runs start without the areas' points

    def url(name: str, **query) -> str:
        base = reverse(name, args=[SLUG])
        return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")

    pages = {
        "reference: workspace": url("agency-workspace"),
        "trends: city, weeks": url("workbench-trends"),
        "trends: area, burglary, months": url("workbench-trends", area=area,
                                              category="burglary", period="month"),
        "trends CSV: city, weeks": url("workbench-trends-csv"),
        "trend forecast: city": url("workbench-outlook"),
        "trend forecast: area, burglary": url("workbench-outlook", area=area,
                                              category="burglary"),
        "when: city": url("workbench-when"),
        "when: area, theft": url("workbench-when", area=area, category="theft"),
    }
    results = {}
    for label, address in pages.items():
        cold = timed(client, address)
        warm = [timed(client, address) for _ in range(args.runs)]
        results[label] = {"url": address, "cold_ms": round(cold, 1),
                          "warm_median_ms": round(statistics.median(warm), 1),
                          "warm_max_ms": round(max(warm), 1)}
    reference = results["reference: workspace"]["warm_median_ms"]
    for r in results.values():
        r["warm_ratio_to_reference"] = round(r["warm_median_ms"] / reference, 1)
    print(json.dumps({
        "what": "workbench pages, server time through Django's test client",
        "incidents": Incident.objects.filter(agency=agency).usable().count(),
        "areas": len(names), "area_used": names[int(area)] if names else None,
        "runs": args.runs, "cpus": os.cpu_count(),
        "load_average_1_5_15": [round(v, 2) for v in os.getloadavg()],
        "pages": results,
    }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
