#!/usr/bin/env python
"""Import speed on PostgreSQL, printed as JSON.

Imports the 60 St. Louis monthly files (246,291 rows, the department's tar.gz as
published) into a fresh agency through the portal's own import path, and in the same run
times the floor: a plain COPY of the same already-parsed rows into an unindexed table.
It also times the database's own share (formatting excluded): the import's rows copied
into a fresh copy of the incident table with its indexes, and without them followed by
building them, each set against the same floor.
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
    from predictions.incidents.actions import do_upload
    from predictions.incidents.importer import run_import

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


def parse_timed(archive: Path) -> tuple[float, list]:
    """Seconds to parse `archive` alone (streamed as the import does, no database), then
    its batches parsed again into memory (not timed) for the database references."""
    from predictions.ingest import read_incidents

    t0 = time.perf_counter()
    for _ in read_incidents(archive):
        pass
    seconds = time.perf_counter() - t0
    return seconds, list(read_incidents(archive))


def copy_floor(batches: list) -> dict:
    """One plain COPY of the parsed rows into an unindexed table, written the way the import
    writes its COPY: text blocks formatted per batch by the same helpers (timed), sent by
    the same queued writer."""
    from django.db import connection, transaction

    from predictions.incidents.writers import (
        _QueuedWriter,
        bool_field,
        copy_block,
        float_field,
        text_field,
        time_field,
    )

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
            "rows_per_second": round(rows / seconds)}


def direct_blocks(batches: list) -> tuple[int, list[str]]:
    """The COPY text the import's direct path sends for these batches (the first record of
    each source id), formatted by the import's own function."""
    from predictions.incidents.writers import _clip, direct_block
    from predictions.ingest.records import utc_times

    seen: set[str] = set()
    rows, blocks = 0, []
    for b in batches:
        ids = _clip(b.source_id.tolist(), 100)
        keep = []
        for i, (sid, cancel) in enumerate(zip(ids, b.cancels.tolist(), strict=True)):
            if not cancel and sid not in seen:
                seen.add(sid)
                keep.append(i)
        rows += len(keep)
        utc = utc_times(b.occurred_at[keep], b.timezone)
        blocks.append(direct_block(b.select(keep), [ids[i] for i in keep], utc, 1, 1))
    return rows, blocks


def database_share(batches: list) -> dict:
    """What the database alone needs for the import's rows, with the formatting done
    beforehand (not timed): COPY into a fresh copy of the incident table with its indexes
    (the import's lower bound if parsing cost nothing), and COPY into the same table
    without indexes followed by building them (the lower bound of a load-then-index
    design, e.g. a partition per agency). Each in its own transaction, rolled back."""
    from django.db import connection, transaction

    from predictions.incidents.writers import DIRECT_COLUMNS, _QueuedWriter

    rows, blocks = direct_blocks(batches)
    sql = f"COPY bench_share ({', '.join(DIRECT_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'predictions_incident'")
        index_sql = [d.replace(" ON public.predictions_incident ", " ON bench_share ")
                     .replace("CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX bench_")
                     .replace("CREATE INDEX ", "CREATE INDEX bench_")
                     for (d,) in cursor.fetchall()]

    def load(like: str, build: list[str]) -> tuple[float, float]:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE bench_share (LIKE predictions_incident {like})")
            raw = cursor.cursor
            t0 = time.perf_counter()
            with raw.copy(sql, writer=_QueuedWriter(raw)) as copy:
                for block in blocks:
                    copy.write(block)
            t1 = time.perf_counter()
            for statement in build:
                cursor.execute(statement)
            t2 = time.perf_counter()
            transaction.set_rollback(True)
        return t1 - t0, t2 - t1

    indexed, _ = load("INCLUDING ALL", [])
    unindexed, build = load("INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS",
                            index_sql)
    return {"rows": rows, "indexes": len(index_sql),
            "indexed_copy_seconds": round(indexed, 2),
            "unindexed_copy_seconds": round(unindexed, 2),
            "index_build_seconds": round(build, 2)}


def child(months: int) -> None:
    connection, old = fresh_database()
    try:
        with tempfile.TemporaryDirectory() as folder:
            archive = months_archive(months, Path(folder))
            result = {"months": months, "import": import_once(archive)}
            if months >= 60:
                parse_seconds, batches = parse_timed(archive)
                result["copy_floor"] = copy_floor(batches)
                result["copy_floor"]["parse_only_seconds"] = round(parse_seconds, 2)
                result["database_share"] = database_share(batches)
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
    share = runs[60]["database_share"]
    print(json.dumps({
        "database": "postgresql",
        "full_60_months": full,
        "copy_floor": floor,
        "import_over_copy_floor": round(full["seconds"] / floor["seconds"], 2),
        # parsing alone (no database) against the same floor: the part of the ratio that
        # the Python parser takes by itself
        "parse_only_over_copy_floor": round(floor["parse_only_seconds"] / floor["seconds"], 2),
        "database_share": share,
        # the database's own work for the import's rows, formatting excluded, against the
        # same floor: with the incident table's indexes kept during the COPY (what any
        # import into this table costs at least), and loaded first then indexed
        "database_only_over_copy_floor": round(share["indexed_copy_seconds"] / floor["seconds"],
                                               2),
        "load_then_index_over_copy_floor": round(
            (share["unindexed_copy_seconds"] + share["index_build_seconds"]) / floor["seconds"],
            2),
        "targets": {"rows_per_second_at_least": 50_000, "import_over_copy_floor_at_most": 3},
        "peak_rss_mb_12_months": runs[12]["import"]["peak_rss_mb"],
        "peak_rss_mb_60_months": full["peak_rss_mb"],
    }, indent=2))


if __name__ == "__main__":
    main()
