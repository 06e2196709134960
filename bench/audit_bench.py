#!/usr/bin/env python
"""Audit trail speed, printed as JSON.

- verify: `verify_chain` over N events (default 1,000,000), against the floor of merely
  reading the same rows in the same run;
- record: the median cost of `audit.record()` inside a request's transaction, against a
  plain one-row INSERT in the same transaction.

Runs in a fresh test database of whatever DATABASE_URL names (SQLite by default):
    python bench/audit_bench.py [--events N] [--records N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")


def build_chain(n: int) -> None:
    """Insert a valid chain of n events quickly (raw batched inserts; hashes computed as
    record() computes them)."""
    import json as _json

    from django.db import connection, transaction

    from audit.chain import GENESIS_HASH, HASHED_FIELDS, link_hash
    from audit.models import AuditHead

    columns = (*HASHED_FIELDS, "prev_hash", "hash")
    sql = (f"INSERT INTO audit_accessevent ({', '.join(columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    start, prev, batch = datetime(2025, 1, 1, tzinfo=UTC), GENESIS_HASH, []
    with transaction.atomic(), connection.cursor() as cursor:
        for seq in range(1, n + 1):
            fields = {
                "seq": seq, "at": start + timedelta(seconds=seq, microseconds=seq % 997),
                "actor_id": 7, "actor_name": "analyst", "actor_role": "analyst",
                "agency_id": 1, "agency_slug": "riverton", "action": "forecast.view",
                "object_type": "forecast", "object_id": str(seq % 500), "purpose": "patrol",
                "purpose_note": "", "outcome": "allowed", "source_ip": "192.0.2.10",
                "user_agent": "Bench/1.0", "request_id": f"{seq:032x}",
                "details": {"cells": 8000, "date": "2025-01-01"},
            }
            digest = link_hash(prev, fields)
            row = [fields[c] for c in HASHED_FIELDS] + [prev, digest]
            row[HASHED_FIELDS.index("details")] = _json.dumps(fields["details"])
            batch.append(row)
            prev = digest
            if len(batch) == 20_000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
    AuditHead.objects.update_or_create(id=1, defaults={"seq": n, "hash": prev})


def time_verify(jobs: int) -> dict:
    """`verify_audit`'s work, serial and over `jobs` processes, against reading the rows."""
    from audit.verification import _rows, verify_chain

    t0 = time.perf_counter()
    rows = sum(1 for _ in _rows())
    fetch = time.perf_counter() - t0
    timings = {}
    for n in sorted({1, jobs}):
        t0 = time.perf_counter()
        report = verify_chain(jobs=n)
        timings[n] = time.perf_counter() - t0
        assert report.ok and report.count == rows, report
    return {
        "events": rows,
        "read_only_seconds": round(fetch, 2),
        "verify_seconds_1_process": round(timings[1], 2),
        f"verify_seconds_{jobs}_processes": round(timings[jobs], 2),
        "verify_over_read": round(timings[jobs] / fetch, 2),
    }


def time_record(n: int) -> dict:
    from django.db import connection, transaction

    import audit
    from agencies.models import Agency

    agency = Agency.objects.create(name="Bench", slug="bench-agency")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_floor (id integer PRIMARY KEY, payload text)")
    record_ms, insert_ms = [], []
    for i in range(n):
        with transaction.atomic():
            t0 = time.perf_counter()
            audit.record(
                action="forecast.view",
                actor_role="analyst",
                agency=agency,
                object_type="forecast",
                object_id=i,
                purpose="patrol",
                details={"cells": 8000},
            )
            record_ms.append((time.perf_counter() - t0) * 1000)
        with transaction.atomic():
            t0 = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO bench_floor (id, payload) VALUES (%s, %s)", [i, "x" * 300]
                )
            insert_ms.append((time.perf_counter() - t0) * 1000)
    record, floor = statistics.median(record_ms), statistics.median(insert_ms)
    return {
        "records": n,
        "record_median_ms": round(record, 3),
        "record_p95_ms": round(statistics.quantiles(record_ms, n=20)[-1], 3),
        "insert_median_ms": round(floor, 3),
        "record_over_insert": round(record / floor, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--records", type=int, default=2_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    # A database of its own, apart from the test suite's.
    test = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "sqlite":
        test["NAME"] = str(ROOT / "var" / "bench-audit.sqlite3")
    else:
        test["NAME"] = f"bench_audit_{connection.settings_dict['NAME']}"
    creation = connection.creation
    old_name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        t0 = time.perf_counter()
        build_chain(args.events)
        built = time.perf_counter() - t0
        result = {"database": connection.vendor, "build_seconds": round(built, 1)}
        result |= time_verify(args.jobs)
        result |= time_record(args.records)
    finally:
        creation.destroy_test_db(old_name, verbosity=0)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
