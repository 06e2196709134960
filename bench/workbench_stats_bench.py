#!/usr/bin/env python
"""The workbench's statistics on five years of St. Louis, printed as JSON (issue #22: each
page under 1 s; 99 Knox permutations of a burglary year under 10 s).

It uses the database DATABASE_URL names as it is, holding St. Louis (`manage.py
load_st_louis`), and that agency's first admin (audit records of the reads are added):

- Knox: the 2019 burglaries (loaded through the bridge, projected), then 99 permutations
  with the distance x time bands of the page, `--runs` times. The reference in the same run
  is pointpats' Knox test (one distance and one time threshold, 99 permutations) on the
  same points (skipped when pointpats is not installed).
- Pages, through Django's full stack (session, tenancy, the audit record in the serving
  transaction), `--runs` times each: a finished near-repeat analysis, its status, the
  "did it work" page computing a WDD of the eight northernmost neighbourhoods against the
  eight southernmost with a 300 m buffer (28 days), a CompStat report page and its PDF.
  The reference in the same run is the agency's workspace page.
- The background work: one near-repeat task and one CompStat report (counting, named
  areas, PDF) end to end.

Never asserts timings; states the machine's load before and after.

    DATABASE_URL=postgres://.../portal_dev python bench/workbench_stats_bench.py [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn, runs: int) -> dict:
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        values.append((time.perf_counter() - started) * 1000)
    values.sort()
    return {"runs": runs, "median_ms": round(statistics.median(values), 1),
            "max_ms": round(values[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--agency", default="st-louis")
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
    os.environ.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "0",
                       "MFA_REQUIRED": "0", "LOG_LEVEL": "WARNING",
                       "ALLOWED_HOSTS": "testserver"})
    import django

    django.setup()
    import numpy as np
    from django.test import Client
    from django.urls import reverse

    from agencies.models import Agency, Membership
    from predictions.bridge import period_arrays, reference_places
    from predictions.forecasting.grid import lonlat_to_xy, utm_crs_for
    from predictions.forecasting.knox import KnoxTest
    from predictions.models import CompStatReport, KnoxRun
    from predictions.workbench.compstat import make_report
    from predictions.workbench.knox import run_knox_job
    from predictions.workbench.stats_actions import do_request_compstat, do_start_knox

    load_before = os.getloadavg()
    agency = Agency.objects.get(slug=args.agency)
    user = Membership.objects.filter(agency=agency, role="admin").first().user
    out: dict = {"agency": agency.slug, "cpus": os.cpu_count(), "load_before": load_before}

    # Knox: the engine, against pointpats on the same points
    arrays = period_arrays(agency, date(2019, 1, 1), date(2019, 12, 31), ["burglary"])
    crs = utm_crs_for(float(np.median(arrays.lon)), float(np.median(arrays.lat)))
    x, y = lonlat_to_xy(crs, arrays.lon, arrays.lat)
    t = arrays.times.astype("datetime64[D]").astype(np.int64).astype(float)
    out["knox"] = {"events": int(x.size), "ours_99": timed(
        lambda: KnoxTest(permutations=99).fit(x, y, t), args.runs)}
    try:
        from pointpats.spacetime import Knox

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out["knox"]["pointpats_99_one_threshold"] = timed(
                lambda: Knox(np.c_[x, y], t.reshape(-1, 1), delta=200, tau=14,
                             permutations=99), max(1, args.runs // 5))
        out["knox"]["ratio_ours_to_pointpats"] = round(
            out["knox"]["ours_99"]["median_ms"]
            / out["knox"]["pointpats_99_one_threshold"]["median_ms"], 3)
    except ImportError:
        out["knox"]["pointpats_99_one_threshold"] = "pointpats not installed"

    # the background work, end to end
    started = time.perf_counter()
    run = do_start_knox(agency, category="burglary", start=date(2019, 1, 1),
                        end=date(2019, 12, 31), distance_bands=[0, 100, 200, 300, 400, 500],
                        time_bands=[7, 14, 21, 28, 42, 56], permutations=99, seed=0,
                        acting_user=user)
    run = run_knox_job(run.pk) or KnoxRun.objects.get(pk=run.pk)
    out["knox_task_ms"] = round((time.perf_counter() - started) * 1000, 1)
    started = time.perf_counter()
    report = do_request_compstat(agency, week_start=date(2019, 12, 2), acting_user=user)
    report = make_report(report.pk) or CompStatReport.objects.get(pk=report.pk)
    out["compstat_task_ms"] = round((time.perf_counter() - started) * 1000, 1)
    out["compstat_pdf_bytes"] = len(bytes(report.pdf))

    # pages through the full stack
    client = Client()
    client.force_login(user)
    places = reference_places(agency)
    # eight neighbourhoods in the north patrolled, the eight southernmost as controls
    order = sorted(range(len(places.names)),
                   key=lambda i: -places.tree.geometries[i].centroid.y)
    wdd_query = {"category": "", "start": "2019-11-01", "end": "2019-11-28",
                 "treated": [str(i) for i in order[:8]],
                 "control": [str(i) for i in order[-8:]], "buffer_m": "300"}
    slug = agency.slug
    pages = {
        "reference_workspace": (reverse("agency-workspace", args=[slug]), {}),
        "knox_index": (reverse("workbench-knox", args=[slug]), {}),
        "knox_run": (reverse("workbench-knox-run", args=[slug, run.pk]), {}),
        "knox_status": (reverse("workbench-knox-status", args=[slug, run.pk]), {}),
        "wdd_compute": (reverse("workbench-wdd", args=[slug]), wdd_query),
        "compstat_index": (reverse("workbench-compstat", args=[slug]), {}),
        "compstat_report": (reverse("workbench-compstat-report", args=[slug, report.pk]), {}),
        "compstat_pdf": (reverse("workbench-compstat-pdf", args=[slug, report.pk]), {}),
    }
    out["pages"] = {}
    for name, (url, query) in pages.items():
        answer = client.get(url, query)
        if answer.status_code != 200:
            raise SystemExit(f"{name}: {answer.status_code} {answer.content[:300]!r}")
        out["pages"][name] = timed(lambda u=url, q=query: client.get(u, q), args.runs)
    reference = out["pages"]["reference_workspace"]["median_ms"]
    out["page_ratio_to_workspace"] = {name: round(v["median_ms"] / reference, 2)
                                      for name, v in out["pages"].items()}
    from predictions.workbench.wdd import WDDRequest, evaluate

    out["wdd_answer"] = evaluate(agency, places, WDDRequest(
        category="", start=date(2019, 11, 1), end=date(2019, 11, 28),
        treated=tuple(order[:8]), control=tuple(order[-8:]), buffer_m=300))["result"]
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
