#!/usr/bin/env python
"""Forecast map page speed, printed as JSON: how long from navigation until the forecast
cells are drawn on the map, on the demo data, in headless Chromium.

It builds a fresh SQLite database in a temporary folder holding the demo world (`seed_demo`
and the demo's synthetic city with its trained SEPP model, as `make demo` does; with `--ml`
also a gradient-boosting model on the same data), serves the portal with gunicorn (DEBUG=0;
static files from the same process, as `runserver` does), signs in as the demo analyst,
states a purpose and then opens the forecast page `--runs` times:

- warm: the same browser tab again and again (HTTP cache and connections kept);
- cold: each run in a new browser context (empty cache), signed in through saved cookies.

"Drawn" is the mark the page's script sets (`#map[data-drawn]`) in the animation frame
after Leaflet painted the cells; its time is `performance.now()` then, i.e. milliseconds
since the navigation started. The reference in the same run is the portal's home page
(same base template and stylesheet) until its load event. Nothing here asserts a time.

With `--st-louis` (the shared data beside the repository, `../shared/data/stl`) it loads
all five years of St. Louis instead (`load_st_louis`: 88 neighbourhoods as the reference
layer, whose outlines the page draws over the cells, tracts as the fairness layer), trains a
kernel-density burglary model with 150 m cells and measures that agency's forecast page.

    python bench/map_page_bench.py [--runs 15] [--ml] [--st-louis]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SECRET = "bench-only-secret-key-not-for-production-0123456789abcdefgh"
PASSWORD = "bench-map-page-password-1"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def static_wsgi():
    """gunicorn's application: the portal, with its static files served in-process (what
    `runserver` does for `make demo`; in production a web server serves them)."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application

    return StaticFilesHandler(get_wsgi_application())


def build_st_louis() -> dict:
    """St. Louis 2015-2019 with its reference layer and a kernel-density burglary model."""
    from django.contrib.auth import get_user_model

    from predictions.modelling.actions import do_start_training
    from predictions.modelling.training import run_training
    from predictions.models import ForecastModel
    from predictions.research.st_louis import load, make_admin

    get_user_model().objects.create_user("demo-analyst", password=PASSWORD)
    loaded = load(ROOT.parent / "shared" / "data")
    make_admin(loaded.agency, "demo-analyst")
    model = ForecastModel.objects.create(
        agency=loaded.agency, name="Burglary, next 7 days", category="burglary",
        horizon_days=7, method="kde", cell_size_m=150)
    run_training(do_start_training(model, acting_user=None).pk)
    return {"slug": loaded.agency.slug, "models": [model]}


def build(var_dir: Path, ml: bool, st_louis: bool = False) -> dict:
    """Migrate a fresh database and seed the demo data; returns what was built."""
    os.environ.update(
        {"VAR_DIR": str(var_dir), "SECRET_KEY": SECRET, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    )
    os.environ.pop("DATABASE_URL", None)  # SQLite in the temporary folder, as the demo
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from agencies.demo import seed_demo
    from predictions.demo import seed_predictions
    from predictions.modelling.actions import do_start_training
    from predictions.modelling.training import run_training
    from predictions.models import ForecastModel

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    if st_louis:
        city = build_st_louis()
        return {"slug": city["slug"], "models": _described(city["models"]),
                "seconds_to_seed": round(time.perf_counter() - t0, 1)}
    seed_demo(password=PASSWORD)
    analyst = get_user_model().objects.get(username="demo-analyst")
    seed_predictions(analyst=analyst)
    models = [ForecastModel.objects.get(agency__slug="riverton")]
    if ml:
        model = ForecastModel.objects.create(
            agency=models[0].agency,
            name="Burglary, next 7 days (gradient boosting)",
            category="burglary",
            horizon_days=7,
            method="hgb_poisson",
            created_by=analyst,
        )
        run_training(do_start_training(model, acting_user=analyst).pk)
        models.append(model)
    return {"slug": "riverton", "models": _described(models),
            "seconds_to_seed": round(time.perf_counter() - t0, 1)}


def _described(models) -> list[dict]:
    from predictions.models import AreaLayer

    built = []
    for model in models:
        forecast = model.forecasts.get()
        built.append(
            {
                "model_id": model.pk,
                "method": model.method,
                "cells": forecast.n_cells,
                "cell_size_m": model.cell_size_m,
                "explained_cells": forecast.cells.filter(explanation__isnull=False).count(),
                "reference_areas": sum(AreaLayer.objects.filter(
                    agency=model.agency, use_as_reference=True).values_list(
                    "n_features", flat=True)),
            }
        )
    return built


def free_port() -> int:
    """A port nobody listens on now (other benchmarks may run on this machine)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def summary(values: list[float]) -> dict:
    values = sorted(values)
    p95 = (
        statistics.quantiles(values, n=100, method="inclusive")[94]
        if len(values) > 1
        else values[0]
    )
    return {
        "runs": len(values),
        "median_ms": round(statistics.median(values), 1),
        "p95_ms": round(p95, 1),
        "min_ms": round(values[0], 1),
        "max_ms": round(values[-1], 1),
    }


def drawn_ms(page, url: str, phases: list | None = None) -> float:
    """Until the cells are painted, and the reference outlines too where the page has them."""
    page.goto(url, wait_until="commit")
    page.wait_for_selector("#map[data-drawn]", timeout=30_000)
    page.wait_for_function("""() => { const m = document.getElementById('map');
        return !m.dataset.referenceUrl || m.dataset.reference; }""", timeout=30_000)
    if phases is not None:
        phases.append(page.evaluate(PHASES))
    return float(page.locator("#map").get_attribute("data-drawn-ms"))


# Where the time goes, from the browser's own timings (ms since navigation start).
PHASES = """() => {
  const mark = (name) => {
    const m = performance.getEntriesByName(name)[0]; return m ? m.startTime : null; };
  const n = performance.getEntriesByType('navigation')[0];
  const c = performance.getEntriesByType('resource').find(e => e.name.includes('cells.geojson'));
  return {html_received: n.responseEnd, dom_content_loaded: n.domContentLoadedEventEnd,
          cells_requested: c ? c.startTime : null, cells_received: c ? c.responseEnd : null,
          script_start: mark('forecast:script-start'), cells_parsed: mark('forecast:cells-parsed'),
          cells_on_map: mark('forecast:cells-on-map'),
          drawn: Number(document.getElementById('map').dataset.drawnMs)}; }"""


def phase_medians(phases: list[dict]) -> dict:
    return {
        k: round(statistics.median(p[k] for p in phases), 1)
        for k in phases[0]
        if all(p[k] is not None for p in phases)
    }


def home_ms(page, url: str) -> float:
    page.goto(url, wait_until="load")
    return page.evaluate("() => performance.getEntriesByType('navigation')[0].loadEventEnd")


def layer_bytes(page) -> dict:
    """The cells layer as the browser fetched it (compressed bytes, its own duration)."""
    return page.evaluate("""() => {
        const r = performance.getEntriesByType('resource')
          .find(e => e.name.includes('cells.geojson'));
        return r ? {transfer_bytes: r.encodedBodySize, decoded_bytes: r.decodedBodySize,
                    fetch_ms: Math.round(r.duration)} : null; }""")


def measure(base: str, slug: str, model_ids: list[int], runs: int) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill("demo-analyst")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        page.goto(f"/a/{slug}/forecast/")
        page.get_by_label("Why are you opening this forecast?").select_option("analysis")
        page.get_by_role("button", name="Continue to the forecast").click()
        page.wait_for_selector("#map[data-drawn]", timeout=60_000)
        state = context.storage_state()
        home = []
        for model_id in model_ids:
            url = f"/a/{slug}/forecast/?model={model_id}"
            drawn_ms(page, url)  # warm-up: the server's cache of this layer, the browser's
            warm, cold, warm_phases, cold_phases = [], [], [], []
            for _ in range(runs):
                warm.append(drawn_ms(page, url, warm_phases))
                home.append(home_ms(page, "/"))
            drawn_ms(page, url)
            layer = layer_bytes(page)
            for _ in range(runs):
                fresh = browser.new_context(
                    base_url=base, storage_state=state, viewport={"width": 1280, "height": 900}
                )
                cold_page = fresh.new_page()
                cold.append(drawn_ms(cold_page, url, cold_phases))
                fresh.close()
            out[str(model_id)] = {
                "warm": {**summary(warm), "phases_median_ms": phase_medians(warm_phases)},
                "cold": {**summary(cold), "phases_median_ms": phase_medians(cold_phases)},
                "cells_layer": layer,
            }
        out["reference_home"] = summary(home)
        context.close()
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--ml",
        action="store_true",
        help="also a gradient-boosting model (its popups carry features)",
    )
    parser.add_argument("--st-louis", action="store_true",
                        help="St. Louis 2015-2019 from ../shared/data instead of the demo city")
    parser.add_argument(
        "--var-dir",
        help="keep the seeded data here and reuse it next time (default: a temporary folder)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(args.var_dir or tmp)
        var.mkdir(parents=True, exist_ok=True)
        saved = var / "map-bench.json"
        if saved.exists():
            built = json.loads(saved.read_text())
        else:
            built = build(var, args.ml, args.st_louis)
            saved.write_text(json.dumps(built))
        env = {
            **os.environ,
            "VAR_DIR": str(var),
            "SECRET_KEY": SECRET,
            "DEBUG": "0",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_CONN_MAX_AGE": "60",
            "MFA_REQUIRED": "0",  # the bench signs in with a password alone
        }
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "map_page_bench:static_wsgi()",
                "--chdir",
                str(ROOT),
                "--pythonpath",
                f"{ROOT},{ROOT / 'bench'}",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(150):
                if server.poll() is not None:
                    raise SystemExit(f"gunicorn ended (exit code {server.returncode})")
                try:
                    urllib.request.urlopen(f"{base}/healthz/", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            else:
                raise SystemExit("gunicorn did not answer within 30 s")
            results = measure(base, built["slug"], [m["model_id"] for m in built["models"]],
                              args.runs)
        finally:
            server.terminate()
            server.wait(timeout=30)
    reference = results.pop("reference_home")
    pages = []
    for m in built["models"]:
        r = results[str(m["model_id"])]
        pages.append(
            {
                **m,
                "map_drawn_warm": r["warm"],
                "map_drawn_cold": r["cold"],
                "cells_layer": r["cells_layer"],
                "warm_median_over_reference_median": round(
                    r["warm"]["median_ms"] / reference["median_ms"], 1
                ),
            }
        )
    print(
        json.dumps(
            {
                "database": "sqlite",
                "server": "gunicorn, 2 workers x 4 threads, DEBUG=0",
                "browser": "headless Chromium (Playwright)",
                "cpus": os.cpu_count(),
                "city": built["slug"],
                "load_average": os.getloadavg(),
                "seconds_to_seed": built["seconds_to_seed"],
                "pages": pages,
                "reference_home_load": reference,
                "measured": "ms from navigation start to the frame after the cells were painted "
                "(#map[data-drawn]); reference: home page until its load event",
                "target_ms": 1000,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
