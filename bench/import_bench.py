#!/usr/bin/env python
"""Import speed on PostgreSQL, printed as JSON.

Imports the 60 St. Louis monthly files (246,291 rows, the department's tar.gz as
published) into a fresh agency through the portal's own import path, and in the same run
times the floor: a plain COPY of the same already-parsed rows into an unindexed table.
A second, separate process imports 12 of the months, so that peak memory can be compared
as the upload grows (it should stay flat: the import streams).

    DATABASE_URL=postgres://... python bench/import_bench.py
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
SLMPD = ROOT.parent / "shared" / "data" / "stl" / "slmpd_raw_monthly_2015_2019.tar.gz"


def months_archive(n: int, folder: Path) -> Path:
    """A tar.gz of the first n monthly files (all 60: the published file itself)."""
    if n >= 60:
        return SLMPD
    path = folder / f"slmpd-{n}-months.tar.gz"
    with tarfile.open(SLMPD) as source, tarfile.open(path, "w:gz") as target:
        members = sorted((m for m in source.getmembers() if m.isfile()), key=lambda m: m.name)
        for member in members[:n]:
            target.addfile(member, source.extractfile(member))
    return path


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def fresh_database():
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench/import_bench.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    connection.settings_dict.setdefault("TEST", {})["NAME"] = (
        f"bench_import_{connection.settings_dict['NAME']}")
    return connection, connection.creation.create_test_db(verbosity=0, autoclobber=True)


def import_once(archive: Path) -> dict:
    """Import `archive` through the portal (upload + import task body), timed."""
    from agencies.models import Agency
    from predictions.importer import run_import
    from predictions.uploads import do_upload

    agency = Agency.objects.create(name="Bench City", slug=f"bench-{time.time_ns()}",
                                   timezone="America/Chicago")
    t0 = time.perf_counter()
    with open(archive, "rb") as upload:
        dataset = do_upload(agency, [(archive.name, upload)], acting_user=None, start=False)
    dataset.status = dataset.Status.PENDING
    dataset.save(update_fields=["status"])
    result = run_import(dataset.pk)
    seconds = time.perf_counter() - t0
    return {"rows": result.read, "imported": result.imported, "duplicates": result.duplicates,
            "cancelled": result.cancelled, "rejected": result.rejected,
            "seconds": round(seconds, 2), "rows_per_second": round(result.read / seconds),
            "peak_rss_mb": peak_rss_mb()}


def copy_floor(archive: Path) -> dict:
    """Time parsing alone (streamed, no database; reported, not part of the floor), parse
    the rows again into memory (not timed), then time one plain COPY of them into an unindexed
    table, written the way the import writes its COPY: text blocks formatted per batch by
    the same helpers, sent by the same queued writer."""
    from django.db import connection, transaction

    from predictions.import_writers import (
        _QueuedWriter,
        bool_field,
        copy_block,
        float_field,
        text_field,
        time_field,
    )
    from predictions.ingest import read_incidents

    t0 = time.perf_counter()
    for _ in read_incidents(archive):  # parsing alone, streamed as the import does
        pass
    parse_seconds = time.perf_counter() - t0
    batches = list(read_incidents(archive))
    rows = sum(len(b) for b in batches)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_floor (source_id text, occurred timestamp, raw text, "
            "category text, lon float8, lat float8, address text, district text, "
            "withheld bool, cancels bool)")
        raw = cursor.cursor
        t0 = time.perf_counter()
        with raw.copy("COPY bench_floor FROM STDIN", writer=_QueuedWriter(raw)) as copy:
            for b in batches:
                copy.write(copy_block([
                    text_field(b.source_id.tolist()), time_field(b.occurred_at),
                    text_field(b.raw_category.tolist()), text_field(b.category.tolist()),
                    float_field(b.lon), float_field(b.lat), text_field(b.address.tolist()),
                    text_field(b.district.tolist()), bool_field(b.location_withheld),
                    bool_field(b.cancels)]))
        seconds = time.perf_counter() - t0
    return {"rows": rows, "seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds),
            "parse_only_seconds": round(parse_seconds, 2)}


def child(months: int) -> None:
    connection, old = fresh_database()
    try:
        with tempfile.TemporaryDirectory() as folder:
            archive = months_archive(months, Path(folder))
            result = {"months": months, "import": import_once(archive)}
            if months >= 60:
                result["copy_floor"] = copy_floor(archive)
    finally:
        connection.creation.destroy_test_db(old, verbosity=0)
    print(json.dumps(result))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(int(sys.argv[2]))
        return
    runs = {}
    for months in (12, 60):
        out = subprocess.run([sys.executable, __file__, "--child", str(months)], check=True,
                             capture_output=True, text=True).stdout
        runs[months] = json.loads(out.strip().splitlines()[-1])
    full, floor = runs[60]["import"], runs[60]["copy_floor"]
    print(json.dumps({
        "database": "postgresql",
        "full_60_months": full,
        "copy_floor": floor,
        "import_over_copy_floor": round(full["seconds"] / floor["seconds"], 2),
        # parsing alone (no database) against the same floor: the part of the ratio that
        # the Python parser takes by itself
        "parse_only_over_copy_floor": round(floor["parse_only_seconds"] / floor["seconds"], 2),
        "targets": {"rows_per_second_at_least": 50_000, "import_over_copy_floor_at_most": 3},
        "peak_rss_mb_12_months": runs[12]["import"]["peak_rss_mb"],
        "peak_rss_mb_60_months": full["peak_rss_mb"],
    }, indent=2))


if __name__ == "__main__":
    main()
