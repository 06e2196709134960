#!/usr/bin/env python
"""API speed, printed as JSON: a city-wide forecast (about 8,000 cells of 150 m) served as
GeoJSON to 20 concurrent clients, each read recorded in the audit trail.

It builds a fresh database (SQLite by default; PostgreSQL with DATABASE_URL) holding one
agency, one user with a token and one 90 x 90 forecast, serves the portal with gunicorn on
127.0.0.1 (4 processes of one thread, as the README deploys it), and measures in the same
run the reference: /healthz/ under the same load. Two load generators: Python threads
(`forecast_geojson`: the client's own GIL adds to its latencies) and wrk (C, keep-alive,
10 s: `wrk_forecast_geojson`, the server's latency).

    python bench/api_bench.py [--clients 20] [--requests 1000] [--workers 4] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SECRET = "bench-only-secret-key-not-for-production-0123456789abcdefgh"
PORT = 8765


def build(var_dir: Path) -> tuple[str, int]:
    """Migrate a fresh database and create the agency, token and forecast."""
    os.environ.update({"VAR_DIR": str(var_dir), "SECRET_KEY": SECRET,
                       "DJANGO_SETTINGS_MODULE": "portal.settings"})
    import django

    django.setup()
    import json as _json

    import numpy as np
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from agencies.models import Agency, Membership
    from agencies.tokens import issue_token
    from predictions.forecasting import Grid
    from predictions.models import Dataset, Forecast, ForecastCell, ForecastModel, TrainingRun

    if connection.vendor == "postgresql":  # a database of its own, dropped at the end
        connection.settings_dict.setdefault("TEST", {})["NAME"] = (
            f"bench_api_{connection.settings_dict['NAME']}")
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        from tests.worker import test_database_url

        os.environ["DATABASE_URL"] = test_database_url()
    else:
        call_command("migrate", verbosity=0)
    agency = Agency.objects.create(name="Bench City", slug="bench", timezone="America/Chicago")
    user = get_user_model().objects.create_user("bench-analyst")
    Membership.objects.create(user=user, agency=agency, role="analyst")
    token = issue_token(user, "bench")[1]
    grid = Grid.covering((736000, 4270000, 736000 + 90 * 150, 4270000 + 90 * 150), 150,
                         "EPSG:32615")
    model = ForecastModel.objects.create(agency=agency, name="Burglary", category="burglary")
    Dataset.objects.create(agency=agency, name="none", sha256="0")
    run = TrainingRun.objects.create(agency=agency, model=model, status="done")
    scores = np.random.default_rng(1).gamma(0.5, 0.1, grid.n_cells)
    order = np.argsort(-scores, kind="stable")
    forecast = Forecast.objects.create(
        agency=agency, model=model, run=run, window_start="2026-01-01", horizon_days=7,
        grid={"crs": grid.crs, "cell_size": 150, "origin_x": grid.origin_x,
              "origin_y": grid.origin_y, "nx": grid.nx, "ny": grid.ny},
        n_cells=grid.n_cells)
    polygons = grid.cell_polygons_lonlat(order)
    cols, rows = grid.index_to_col_row(order)
    ForecastCell.objects.bulk_create([
        ForecastCell(forecast=forecast, cell=int(c), col=int(cl), row=int(rw), rank=i + 1,
                     score=float(scores[c]), expected_count=float(scores[c]),
                     geometry=_json.dumps(p, separators=(",", ":")))
        for i, (c, cl, rw, p) in enumerate(zip(order, cols, rows, polygons, strict=True))
    ], batch_size=2000)
    return token, forecast.pk


def load(url: str, headers: dict, clients: int, per_client: int) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()

    def client():
        mine = []
        for _ in range(per_client):
            request = urllib.request.Request(url, headers=headers)
            t0 = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
                assert response.status == 200
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


WRK_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format("WRK %d %d %.3f %.3f %.3f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
"""


def wrk(url: str, headers: dict, clients: int, seconds: int, script: Path) -> dict | None:
    """The same load from wrk (C, no GIL): the server's latency without a Python client
    competing for the cores. Bounded in time; 127.0.0.1 only."""
    if not shutil.which("wrk"):
        return None
    args = ["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds}s", "-s", str(script)]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 30)
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRK "))
    n, errors, p50, p95, p99 = line.split()[1:]
    return {"requests": int(n), "errors": int(errors), "p50_ms": float(p50),
            "p95_ms": float(p95), "p99_ms": float(p99)}


def stats(latencies: list[float]) -> dict:
    q = statistics.quantiles(latencies, n=100)
    return {"requests": len(latencies), "p50_ms": round(q[49], 1), "p95_ms": round(q[94], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1000, help="in all, per endpoint")
    # as the README deploys it: processes, one thread each (Python code is CPU-bound here)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        token, forecast_id = build(var)
        env = {**os.environ, "VAR_DIR": str(var), "SECRET_KEY": SECRET, "DEBUG": "0",
               "ALLOWED_HOSTS": "127.0.0.1", "API_RATE": "100000/minute",
               "DATABASE_CONN_MAX_AGE": "60"}  # persistent connections, as in production
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{PORT}",
             "--workers", str(args.workers), "--threads", str(args.threads),
             "--log-level", "warning"],
            cwd=ROOT, env=env)
        try:
            base = f"http://127.0.0.1:{PORT}"
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"{base}/healthz/", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            per_client = max(1, args.requests // args.clients)
            cells = (f"{base}/api/v1/agencies/bench/forecasts/{forecast_id}/cells/"
                     "?purpose=analysis&note=bench")
            # as browsers and HTTP libraries ask for it (the client does not decompress)
            headers = {"Authorization": f"Token {token}", "Accept-Encoding": "gzip"}
            load(cells, headers, 2, 2)  # warm up
            forecast = stats(load(cells, headers, args.clients, per_client))
            reference = stats(load(f"{base}/healthz/", {}, args.clients, per_client))
            with urllib.request.urlopen(urllib.request.Request(cells, headers=headers)) as r:
                size = len(r.read())
            script = var / "report.lua"
            script.write_text(WRK_REPORT)
            wrk_forecast = wrk(cells, headers, args.clients, 10, script)
            wrk_reference = wrk(f"{base}/healthz/", {}, args.clients, 10, script)
        finally:
            server.terminate()
            server.wait(timeout=30)
            from django.db import connection

            if connection.vendor == "postgresql":
                connection.close()
                connection.creation._destroy_test_db(connection.settings_dict["NAME"], False)
    print(json.dumps({
        "database": "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres")
        else "sqlite",
        "clients": args.clients, "cells": 8100,
        "server": f"gunicorn, {args.workers} workers x {args.threads} threads",
        "geojson_gzip_bytes": size,
        "forecast_geojson": forecast, "reference_healthz": reference,
        "p95_over_reference_p95": round(forecast["p95_ms"] / reference["p95_ms"], 1),
        "wrk_forecast_geojson": wrk_forecast, "wrk_reference_healthz": wrk_reference,
        "target_p95_ms": 200,
    }, indent=2))


if __name__ == "__main__":
    main()
