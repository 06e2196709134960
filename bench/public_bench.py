#!/usr/bin/env python
"""Public map speed under load, printed as JSON.

Builds a throw-away SQLite database in a temporary VAR_DIR (a synthetic city of one year,
published as 12 monthly releases), starts a threaded WSGI server on 127.0.0.1 in a child
process (Django plus its static-file handler, as `runserver` serves them), and sends a
bounded number of requests from `--clients` concurrent clients to:

- `static`: a static file (`/static/css/portal.css`), the reference in the same run;
- `api_map`: `/api/v1/public/<slug>/map/` with varied categories and month ranges (what the
  map page fetches; cached answers built from stored releases);
- `page`: the public map page itself (server-rendered with its table alternative).

    python bench/public_bench.py [--clients 50] [--requests 2000]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLUG = "bench-city"


def env_for(var_dir: str) -> dict:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)  # always the throw-away SQLite file
    env.update({
        "DJANGO_SETTINGS_MODULE": "portal.settings", "VAR_DIR": var_dir, "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1", "PUBLIC_API_RATE_PER_MINUTE": "1000000",
        "LOG_LEVEL": "WARNING",
    })
    return env


def prepare() -> list[str]:
    """Migrate, import a synthetic year, publish; return the published month keys."""
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    import io

    from django.core.management import call_command

    from agencies.models import Agency
    from predictions.demo import MAPPING, synthetic_csv
    from predictions.importer import run_import
    from predictions.models import Dataset
    from predictions.uploads import do_upload
    from public.models import PublicRelease
    from public.publish import publish_agency

    call_command("migrate", verbosity=0)
    text, boundary = synthetic_csv(n_days=365, start="2024-01-01")
    agency = Agency.objects.create(slug=SLUG, name="Bench City", boundary=boundary,
                                   publishes_public_map=True)
    dataset = do_upload(agency, [("city.csv", io.BytesIO(text.encode()))], acting_user=None,
                        format="generic_csv", mapping=MAPPING, start=False)
    Dataset.objects.filter(pk=dataset.pk).update(status=Dataset.Status.PENDING)
    run_import(dataset.pk)
    publish_agency(agency.pk)
    return [r.month_key for r in PublicRelease.objects.filter(agency=agency)]


def serve(port: int) -> None:
    """Child process: a threaded WSGI server on 127.0.0.1 only."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        request_queue_size = 256

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    httpd = make_server("127.0.0.1", port, StaticFilesHandler(get_wsgi_application()),
                        server_class=Server, handler_class=Quiet)
    httpd.serve_forever()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    conn.close()
    return time.perf_counter() - t0, response.status


def load(port: int, paths: list[str], clients: int, total: int) -> dict:
    """`total` requests over `clients` concurrent threads, cycling through `paths`."""
    cycle = itertools.cycle(paths)
    lock = threading.Lock()
    times: list[float] = []
    errors = [0]
    left = [total]

    def worker():
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
                path = next(cycle)
            seconds, status = get(port, path)
            with lock:
                times.append(seconds)
                errors[0] += status != 200

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cuts = statistics.quantiles(times, n=100)
    return {"requests": len(times), "errors": errors[0],
            "p50_ms": round(cuts[49] * 1000, 2), "p95_ms": round(cuts[94] * 1000, 2),
            "p99_ms": round(cuts[98] * 1000, 2), "per_second": round(len(times) / wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    with tempfile.TemporaryDirectory(prefix="public-bench-") as var_dir:
        env = env_for(var_dir)
        os.environ.update(env)
        months = prepare()
        port = free_port()
        child = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], env=env,
                                 cwd=ROOT)
        try:
            for _ in range(100):
                try:
                    get(port, "/static/css/portal.css")
                    break
                except OSError:
                    time.sleep(0.1)
            categories = ["burglary", "theft", "assault", "vehicle_theft", "robbery"]
            ranges = [(months[i], months[j]) for i, j in
                      [(0, 11), (11, 11), (6, 8), (0, 0), (3, 5)]]
            api = [f"/api/v1/public/{SLUG}/map/?category={c}&from={a}&to={b}"
                   for c in categories for a, b in ranges]
            pages = [f"/public/{SLUG}/?category={c}&from={a}&to={b}"
                     for c in categories[:2] for a, b in ranges[:3]]
            static = ["/static/css/portal.css"]
            for paths in (static, api, pages):  # warm up: first loads and cache fills
                load(port, paths, 5, 2 * len(paths))
            result = {"clients": args.clients, "months_published": len(months),
                      "server": "wsgiref threaded, 1 process, SQLite (127.0.0.1)"}
            result["static"] = load(port, static, args.clients, args.requests)
            result["api_map"] = load(port, api, args.clients, args.requests)
            result["page"] = load(port, pages, args.clients, args.requests)
            base = result["static"]["p95_ms"] or 1e-9
            result["api_map_p95_vs_static"] = round(result["api_map"]["p95_ms"] / base, 2)
            result["page_p95_vs_static"] = round(result["page"]["p95_ms"] / base, 2)
            result["api_map_p95_under_50ms"] = result["api_map"]["p95_ms"] < 50
        finally:
            child.terminate()
            child.wait(timeout=10)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
