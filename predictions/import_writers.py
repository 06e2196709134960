"""Writers that move parsed incident batches into the database inside the import's
transaction: COPY into a staging table on PostgreSQL, batched inserts elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from predictions.ingest import Batch
from predictions.models import Dataset, Incident

STAGING_COLUMNS = (
    "ord",
    "source_id",
    "occurred_local",
    "tz",
    "date_precision",
    "raw_category",
    "category",
    "lon",
    "lat",
    "address",
    "district",
    "location_withheld",
    "cancels",
)
CANCEL_CHUNK = 500


@dataclass
class WriterCounts:
    imported: int
    duplicates: int
    cancelled: int
    unmatched_cancellations: int


def _none_if_nan(values: np.ndarray) -> list:
    return np.where(np.isnan(values), None, values).tolist()


def _local_texts(batch: Batch) -> list[str | None]:
    texts = np.datetime_as_string(batch.occurred_at, unit="s")
    return [None if t == "NaT" else t for t in texts.tolist()]


class PostgresWriter:
    """COPY every row into a temporary table, then one INSERT ... SELECT (duplicates and
    time zones resolved by the database) and one UPDATE for the cancellations."""

    def __init__(self, connection, dataset: Dataset):
        self.connection = connection
        self.dataset = dataset
        self.default_tz = dataset.agency.timezone
        self.rows = 0
        self.zones: set[str] = set()
        with connection.cursor() as cursor:
            # Room to sort the upload in memory; no wait for the WAL flush at commit (a crash
            # loses at most the last moments of commits, never half an import).
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL synchronous_commit = off")
            # Dropped by finish(); ON COMMIT DROP covers an import that fails before it.
            cursor.execute("DROP TABLE IF EXISTS import_staging")
            # source_id sorts in the "C" collation (bytes): far faster than a locale's rules
            cursor.execute(
                'CREATE TEMPORARY TABLE import_staging (ord bigint, source_id text COLLATE "C", '
                "occurred_local timestamp, tz text, date_precision text, raw_category text, "
                "category text, lon double precision, lat double precision, address text, "
                "district text, location_withheld boolean, cancels boolean) ON COMMIT DROP"
            )

    def add(self, batch: Batch) -> None:
        n = len(batch.source_id)
        if n == 0:
            return
        tz = batch.timezone or self.default_tz
        self.zones.add(tz)
        columns = (
            range(self.rows, self.rows + n),
            batch.source_id.tolist(),
            _local_texts(batch),
            [tz] * n,
            [batch.date_precision] * n,
            batch.raw_category.tolist(),
            batch.category.tolist(),
            _none_if_nan(batch.lon),
            _none_if_nan(batch.lat),
            batch.address.tolist(),
            batch.district.tolist(),
            batch.location_withheld.tolist(),
            batch.cancels.tolist(),
        )
        self.rows += n
        sql = f"COPY import_staging ({', '.join(STAGING_COLUMNS)}) FROM STDIN"
        with self.connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in zip(*columns, strict=True):
                copy.write_row(row)

    def _occurred_sql(self) -> str:
        # One zone for the whole upload (the usual case) is a constant, not a per-row lookup.
        return "occurred_local AT TIME ZONE %s" if len(self.zones) == 1 else (
            "occurred_local AT TIME ZONE tz")

    def _occurred_params(self) -> list[str]:
        return list(self.zones) if len(self.zones) == 1 else []

    def finish(self) -> WriterCounts:
        agency_id, dataset_id = self.dataset.agency_id, self.dataset.pk
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM import_staging WHERE NOT cancels")
            records = cursor.fetchone()[0]
            cursor.execute(
                f"""
                INSERT INTO predictions_incident (agency_id, dataset_id, source_id, occurred_at,
                    date_precision, raw_category, category, lon, lat, address, district,
                    location_withheld, cancelled)
                SELECT DISTINCT ON (source_id) %s, %s, left(source_id, 100),
                    {self._occurred_sql()},
                    date_precision, left(raw_category, 200), coalesce(category, ''), lon, lat,
                    left(coalesce(address, ''), 200), left(coalesce(district, ''), 50),
                    location_withheld, false
                FROM import_staging WHERE NOT cancels
                ORDER BY source_id, ord
                ON CONFLICT (agency_id, source_id) DO NOTHING
                """,
                [agency_id, dataset_id, *self._occurred_params()],
            )
            imported = cursor.rowcount
            cursor.execute(
                """
                WITH ids AS (SELECT DISTINCT left(source_id, 100) AS source_id
                             FROM import_staging WHERE cancels)
                SELECT count(*), count(i.id) FROM ids
                LEFT JOIN predictions_incident i
                    ON i.agency_id = %s AND i.source_id = ids.source_id
                """,
                [agency_id],
            )
            cancel_ids, matched = cursor.fetchone()
            cursor.execute(
                """
                UPDATE predictions_incident i SET cancelled = true
                FROM (SELECT DISTINCT left(source_id, 100) AS source_id
                      FROM import_staging WHERE cancels) c
                WHERE i.agency_id = %s AND i.source_id = c.source_id AND NOT i.cancelled
                """,
                [agency_id],
            )
            cancelled = cursor.rowcount
            cursor.execute("DROP TABLE import_staging")
        return WriterCounts(imported, records - imported, cancelled, cancel_ids - matched)


class OrmWriter:
    """Batched inserts through the ORM (SQLite and other databases: correct, not fast)."""

    def __init__(self, connection, dataset: Dataset):
        self.dataset = dataset
        self.default_tz = dataset.agency.timezone
        self.records = 0
        self.cancel_ids: set[str] = set()

    def add(self, batch: Batch) -> None:
        zone = ZoneInfo(batch.timezone or self.default_tz)
        keep = ~batch.cancels
        self.cancel_ids.update(s[:100] for s in batch.source_id[batch.cancels].tolist())
        rows = zip(
            batch.source_id[keep].tolist(),
            _local_texts(batch.select(keep)),
            batch.raw_category[keep].tolist(),
            batch.category[keep].tolist(),
            _none_if_nan(batch.lon[keep]),
            _none_if_nan(batch.lat[keep]),
            batch.address[keep].tolist(),
            batch.district[keep].tolist(),
            batch.location_withheld[keep].tolist(),
            strict=True,
        )
        incidents = [
            Incident(
                agency_id=self.dataset.agency_id,
                dataset=self.dataset,
                source_id=sid[:100],
                occurred_at=datetime.fromisoformat(local).replace(tzinfo=zone),
                date_precision=batch.date_precision,
                raw_category=raw[:200],
                category=category or "",
                lon=lon,
                lat=lat,
                address=(address or "")[:200],
                district=(district or "")[:50],
                location_withheld=withheld,
            )
            for sid, local, raw, category, lon, lat, address, district, withheld in rows
        ]
        self.records += len(incidents)
        Incident.objects.bulk_create(incidents, batch_size=500, ignore_conflicts=True)

    def finish(self) -> WriterCounts:
        imported = Incident.objects.filter(dataset=self.dataset).count()
        ids = sorted(self.cancel_ids)
        agency_rows = Incident.objects.filter(agency_id=self.dataset.agency_id)
        matched = cancelled = 0
        for start in range(0, len(ids), CANCEL_CHUNK):
            chunk = ids[start : start + CANCEL_CHUNK]
            matched += agency_rows.filter(source_id__in=chunk).count()
            cancelled += agency_rows.filter(source_id__in=chunk, cancelled=False).update(
                cancelled=True
            )
        return WriterCounts(imported, self.records - imported, cancelled, len(ids) - matched)


def writer_for(connection, dataset: Dataset) -> PostgresWriter | OrmWriter:
    return (PostgresWriter if connection.vendor == "postgresql" else OrmWriter)(connection, dataset)
