"""Writers that move parsed incident batches into the database inside the import's
transaction: COPY into a staging table on PostgreSQL, batched inserts elsewhere."""

from __future__ import annotations

import contextlib
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC
from queue import Queue

import numpy as np
from psycopg import Copy, errors
from psycopg.copy import FileWriter, QueuedLibpqWriter

from predictions.ingest import Batch
from predictions.ingest.records import utc_times
from predictions.models import Dataset, Incident, PendingCancellation

STAGING_COLUMNS = (
    "ord",
    "source_id",
    "occurred",
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
# The direct COPY's columns (times are sent in UTC, converted by the zone's rules in Python
# as the ORM path converts them: the database never resolves a local time itself).
DIRECT_COLUMNS = (
    "agency_id",
    "dataset_id",
    "source_id",
    "occurred_at",
    "date_precision",
    "raw_category",
    "category",
    "lon",
    "lat",
    "address",
    "district",
    "location_withheld",
    "cancelled",
)
CANCEL_CHUNK = 500
# 64-bit hash of a source id (Python's, salted per process: only compared within one
# import). Equal ids hash alike; a collision only sends a row through staging.
_id_hash = hash


@dataclass
class WriterCounts:
    imported: int
    duplicates: int
    cancelled: int
    unmatched_cancellations: int


@dataclass
class CancelPlan:
    """What an upload does to its ids' record counts (see :func:`plan_cancellations`)."""

    nets: list[tuple[str, int]] = field(default_factory=list)  # (id, its incident's new net)
    cancel: list[str] = field(default_factory=list)  # ids whose incident becomes cancelled
    consumed: list[str] = field(default_factory=list)  # ids whose pending rows were applied
    pending: list[tuple[str, int]] = field(default_factory=list)  # (id, rows) kept for later
    cancel_ids: int = 0  # distinct ids this upload cancels
    matched: int = 0  # of those, the ones naming an incident


def plan_cancellations(rows) -> CancelPlan:
    """Decide, per id, from ``(source_id, cancels, records, pending, earlier_net)``: this
    upload's cancelling rows and new records of the id, the cancelling rows of earlier
    uploads still waiting for it, and the ``net_records`` of its incident when an earlier
    upload stored it (else None; this upload's records of it are then repeats).

    An incident's net is its records minus the cancelling rows applied to it, whichever
    upload brought them and in whatever order; it is cancelled when the net reaches 0 (a
    record listed again after its cancellation keeps it live; one victim's row withdrawn
    of two does not cancel the incident). Cancelling rows for an id with no incident wait
    for the upload that brings its record (pending).
    """
    plan = CancelPlan()
    for source_id, cancels, records, pending, earlier_net in rows:
        plan.cancel_ids += bool(cancels)
        if earlier_net is None and not records:
            if cancels:
                plan.pending.append((source_id, cancels))
            continue
        plan.matched += bool(cancels)
        if pending:
            plan.consumed.append(source_id)
        before = 1 if earlier_net is None else earlier_net  # as stored before the update
        net = (records if earlier_net is None else earlier_net) - cancels - pending
        if net != before:
            plan.nets.append((source_id, net))
        if net <= 0 < (records if earlier_net is None else earlier_net):
            plan.cancel.append(source_id)
    return plan


def _none_if_nan(values: np.ndarray) -> list:
    return np.where(np.isnan(values), None, values).tolist()


def _utc_texts(utc: np.ndarray) -> list[str | None]:
    texts = np.datetime_as_string(utc, unit="s", timezone="UTC")
    return [None if t == "NaT" else t for t in texts.tolist()]


NULL = "\\N"
_SPECIAL = ("\\", "\t", "\n", "\r")


def _escape(value: str) -> str:
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def text_field(values: list) -> list[str]:
    """Strings (or None) as COPY text fields; the escaping is skipped when no value needs
    it (one C-level search over the joined column)."""
    has_null = None in values
    present = [v for v in values if v is not None] if has_null else values
    joined = "".join(present)
    if any(c in joined for c in _SPECIAL):
        values = [None if v is None else _escape(v) for v in values]
    if has_null:
        values = [NULL if v is None else v for v in values]
    return values


_G17 = "{:.17g}".format


def float_field(values: np.ndarray) -> list[str]:
    """float64 (NaN as NULL) as COPY text fields (17 significant digits: the same double
    back, and cheaper to format than the shortest repr)."""
    texts = list(map(_G17, values.tolist()))
    if np.isnan(values).any():
        for i in np.flatnonzero(np.isnan(values)).tolist():
            texts[i] = NULL
    return texts


def bool_field(values: np.ndarray) -> list[str]:
    return np.where(values, "t", "f").tolist()


def time_field(values: np.ndarray, *, utc: bool = False) -> list[str]:
    """datetime64 (NaT as NULL) as ISO times: local, or marked as UTC (``Z``)."""
    texts = np.datetime_as_string(values, unit="s", timezone="UTC" if utc else "naive")
    if np.isnat(values).any():
        texts[np.isnat(values)] = NULL
    return texts.tolist()


def copy_block(columns: list[list[str]]) -> str:
    """Rows of COPY text (tab separated, one line each) from columns of text fields."""
    if not columns or not columns[0]:
        return ""
    return "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"


class _QueuedWriter(QueuedLibpqWriter):
    """Sends COPY data from a thread (the main thread parses the next batch meanwhile),
    with a short queue: memory stays flat when the server is slower than the parser."""

    def __init__(self, cursor, *, depth: int = 4):
        super().__init__(cursor)
        self._queue = Queue(maxsize=depth)


class DirectConflict(Exception):
    """The direct COPY met a source id already in the table (a concurrent import in the
    same agency committed it after the writer looked): redo the import through staging."""


def _clip(values: list, limit: int) -> list:
    """Values cut to the column's length (as left() did), touching them only if needed."""
    if not values or max(map(len, values)) <= limit:
        return values
    return [v[:limit] for v in values]


def _clip_optional(values: list, limit: int) -> list:
    """None as '' (blank=True text columns), cut to the column's length."""
    values = ["" if v is None else v for v in values] if None in values else values
    return _clip(values, limit)


def direct_block(batch: Batch, ids: list[str], utc: np.ndarray, agency_id: int,
                 dataset_id: int) -> str:
    """The direct COPY's text for ``batch`` (``ids``: its source ids, already clipped;
    ``utc``: its times in UTC), in the order of :data:`DIRECT_COLUMNS`."""
    n = len(ids)
    return copy_block([
        [f"{agency_id}\t{dataset_id}"] * n,
        text_field(ids),
        time_field(utc, utc=True),
        [batch.date_precision] * n,
        text_field(_clip(batch.raw_category.tolist(), 200)),
        text_field(_clip_optional(batch.category.tolist(), 32)),
        float_field(batch.lon),
        float_field(batch.lat),
        text_field(_clip_optional(batch.address.tolist(), 200)),
        text_field(_clip_optional(batch.district.tolist(), 50)),
        bool_field(batch.location_withheld),
        ["f"] * n,
    ])


class PostgresWriter:
    """Rows stream through one COPY that stays open for the whole upload, so the database
    stores and indexes them while the next batch is parsed. Times go in as UTC, converted
    from the agency's wall clock in Python (:func:`utc_times`, the ORM path's rules).

    *Direct* (the agency has no incidents yet, the usual case for a large first upload):
    the first occurrence of each source id in the upload is copied straight into
    ``predictions_incident``. Rows that may repeat an earlier id of the upload (their
    64-bit hash was seen before: a repeat, or rarely a hash collision) and cancelling rows
    go to a spool file and, at the end, through the staging table and INSERT ... SELECT
    DISTINCT ON ... ON CONFLICT DO NOTHING (the database decides: first occurrence wins).
    The direct COPY runs in a savepoint: if it meets an id that a concurrent import in the
    same agency committed meanwhile, it is rolled back and the import is redone through
    staging (:class:`DirectConflict`).

    *Staging* (the agency already has incidents): every row streams into a temporary
    staging table, then one INSERT ... SELECT (duplicates resolved by the database).

    Cancellations (both paths, :meth:`_cancellations`): within the upload an id's incident
    is cancelled when it has at least as many cancelling rows as records (a record listed
    again after its cancellation stays live); an incident stored by an earlier upload is
    cancelled by any cancelling row for its id.
    """

    def __init__(self, connection, dataset: Dataset, *, direct: bool | None = None):
        self.connection = connection
        self.dataset = dataset
        self.default_tz = dataset.agency.timezone
        self.rows = 0  # rows given (ord in staging)
        self.records = 0  # non-cancelling rows given
        self.direct_rows = 0
        self._cursor = connection.cursor()
        self._copy_cm = None
        self._copy = None
        self._spool = None
        self._spool_copy = None
        self._seen = np.empty(0, dtype=np.int64)  # sorted hashes of the record ids so far
        cursor = self._cursor
        # Room to sort the upload in memory; no wait for the WAL flush at commit (a crash
        # loses at most the last moments of commits, never half an import).
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        # Dropped by finish(); ON COMMIT DROP covers an import that fails before it.
        cursor.execute("DROP TABLE IF EXISTS import_staging")
        # source_id sorts in the "C" collation (bytes): far faster than a locale's rules
        cursor.execute(
            'CREATE TEMPORARY TABLE import_staging (ord bigint, source_id text COLLATE "C", '
            "occurred timestamptz, date_precision text, raw_category text, "
            "category text, lon double precision, lat double precision, address text, "
            "district text, location_withheld boolean, cancels boolean) ON COMMIT DROP"
        )
        if direct is None:
            cursor.execute(
                "SELECT NOT EXISTS (SELECT 1 FROM predictions_incident WHERE agency_id = %s)",
                [dataset.agency_id],
            )
            direct = cursor.fetchone()[0]
        self.direct = direct
        if direct:
            cursor.execute("SAVEPOINT import_direct")

    # -- streaming -------------------------------------------------------------------

    def _open(self, sql: str) -> None:
        raw = self._cursor.cursor
        self._copy_cm = raw.copy(sql, writer=_QueuedWriter(raw))
        self._copy = self._copy_cm.__enter__()

    def _close(self) -> None:
        cm, self._copy_cm, self._copy = self._copy_cm, None, None
        if cm is not None:
            cm.__exit__(None, None, None)

    def _staging_rows(self, batch: Batch, utc: np.ndarray, rows: np.ndarray | None = None):
        """Staging-table rows (optionally only the positions ``rows``), with their ord."""
        part = batch if rows is None else batch.select(rows)
        n = len(part)
        ords = (range(self.rows, self.rows + n) if rows is None
                else (self.rows + rows).tolist())
        return zip(
            ords,
            part.source_id.tolist(),
            _utc_texts(utc if rows is None else utc[rows]),
            [part.date_precision] * n,
            part.raw_category.tolist(),
            part.category.tolist(),
            _none_if_nan(part.lon),
            _none_if_nan(part.lat),
            part.address.tolist(),
            part.district.tolist(),
            part.location_withheld.tolist(),
            part.cancels.tolist(),
            strict=True,
        )

    def add(self, batch: Batch) -> None:
        n = len(batch.source_id)
        if n == 0:
            return
        utc = utc_times(batch.occurred_at, batch.timezone or self.default_tz)
        self.records += n - int(batch.cancels.sum())
        if self.direct:
            self._add_direct(batch, utc)
        else:
            if self._copy is None:
                self._open(f"COPY import_staging ({', '.join(STAGING_COLUMNS)}) FROM STDIN")
            write = self._copy.write_row
            for row in self._staging_rows(batch, utc):
                write(row)
        self.rows += n

    def _add_direct(self, batch: Batch, utc: np.ndarray) -> None:
        n = len(batch)
        ids = _clip(batch.source_id.tolist(), 100)
        hashes = np.fromiter(map(_id_hash, ids), dtype=np.int64, count=n)
        record = ~batch.cancels
        # first occurrence of its hash in this batch, among records
        direct = np.zeros(n, dtype=bool)
        positions = np.flatnonzero(record)
        uniq, at = np.unique(hashes[positions], return_index=True)
        direct[positions[at]] = True
        # ... and not seen in an earlier batch
        if len(self._seen):
            where = np.searchsorted(self._seen, hashes)
            seen = self._seen[np.minimum(where, len(self._seen) - 1)] == hashes
            direct &= ~seen
        self._seen = np.sort(np.concatenate([self._seen, uniq]), kind="stable")
        if self._copy is None:
            self._open(f"COPY predictions_incident ({', '.join(DIRECT_COLUMNS)}) FROM STDIN")
        agency_id, dataset_id = self.dataset.agency_id, self.dataset.pk
        if direct.all():
            self._copy.write(direct_block(batch, ids, utc, agency_id, dataset_id))
        elif direct.any():
            keep = np.flatnonzero(direct)
            self._copy.write(direct_block(batch.select(direct), [ids[i] for i in keep.tolist()],
                                          utc[keep], agency_id, dataset_id))
        self.direct_rows += int(direct.sum())
        rest = np.flatnonzero(~direct)
        if len(rest):
            self._spool_rows(self._staging_rows(batch, utc, rest))

    def _spool_rows(self, rows) -> None:
        if self._spool is None:
            # COPY text for the staging table, formatted by psycopg into a file (memory
            # stays flat however many rows need the staging table).
            self._spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish/abort
            self._spool_copy = Copy(self.connection.connection.cursor(), binary=False,
                                    writer=FileWriter(self._spool))
        write = self._spool_copy.write_row
        for row in rows:
            write(row)

    def _end_direct(self) -> None:
        """End the direct COPY; a clash with committed ids becomes DirectConflict."""
        cursor = self._cursor
        try:
            self._close()
        except (errors.UniqueViolation, errors.DeadlockDetected) as exc:
            self._copy_cm = self._copy = None
            cursor.execute("ROLLBACK TO SAVEPOINT import_direct")
            if self._spool is not None:
                self._spool.close()
            raise DirectConflict(str(exc)) from exc
        cursor.execute("RELEASE SAVEPOINT import_direct")
        if self._spool is not None:
            self._spool_copy.finish(None)
            self._spool.seek(0)
            sql = f"COPY import_staging ({', '.join(STAGING_COLUMNS)}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                while block := self._spool.read(1 << 20):
                    copy.write(block)
            self._spool.close()

    def abort(self) -> None:
        """Leave the connection usable after an error raised while the COPY was open."""
        cm, self._copy_cm, self._copy = self._copy_cm, None, None
        if cm is not None:
            with contextlib.suppress(Exception):  # the original error is what matters
                cm.__exit__(RuntimeError, RuntimeError("import aborted"), None)
        if self._spool is not None:
            self._spool.close()

    def finish(self) -> WriterCounts:
        agency_id, dataset_id = self.dataset.agency_id, self.dataset.pk
        cursor = self._cursor
        if self.direct:
            self._end_direct()
        else:
            self._close()
        plan = self._cancellations()
        cursor.execute(
            """
            INSERT INTO predictions_incident (agency_id, dataset_id, source_id, occurred_at,
                date_precision, raw_category, category, lon, lat, address, district,
                location_withheld, cancelled)
            SELECT DISTINCT ON (source_id) %s, %s, left(source_id, 100), occurred,
                date_precision, left(raw_category, 200), left(coalesce(category, ''), 32),
                lon, lat, left(coalesce(address, ''), 200), left(coalesce(district, ''), 50),
                location_withheld, false
            FROM import_staging WHERE NOT cancels
            ORDER BY source_id, ord
            ON CONFLICT (agency_id, source_id) DO NOTHING
            """,
            [agency_id, dataset_id],
        )
        imported = self.direct_rows + cursor.rowcount
        if plan.nets:
            ids, nets = zip(*plan.nets, strict=True)
            cursor.execute(
                """
                UPDATE predictions_incident i SET net_records = u.net,
                    cancelled = i.cancelled OR u.net <= 0
                FROM unnest(%s::text[], %s::int[]) AS u(source_id, net)
                WHERE i.agency_id = %s AND i.source_id = u.source_id
                    AND i.source_id = ANY (ARRAY(SELECT unnest(%s::text[])))
                """, [list(ids), list(nets), agency_id, list(ids)])
        _keep_pending(self.dataset, plan)
        cursor.execute("DROP TABLE import_staging")
        cursor.close()
        return WriterCounts(imported, self.records - imported, len(plan.cancel),
                            plan.cancel_ids - plan.matched)

    def _cancellations(self) -> CancelPlan:
        """The plan for the ids this upload cancels or repeats, and the ids earlier
        uploads' pending cancellations wait for. Runs before the staged records are
        inserted: an incident of this dataset is then one the direct COPY sent (one record;
        the id's other records are staged).

        Incidents are looked up id by id in the (agency, source_id) index, here and in the
        UPDATE (``= ANY``): the table was just loaded and has no statistics yet, so a join
        would be planned as a scan of all the agency's rows."""
        cursor = self._cursor
        cursor.execute(
            """
            WITH pending AS (
                SELECT source_id, sum(count) AS n FROM predictions_pendingcancellation
                WHERE agency_id = %(agency)s GROUP BY 1),
            here AS (
                SELECT left(source_id, 100) AS source_id,
                    count(*) FILTER (WHERE cancels) AS cancels,
                    count(*) FILTER (WHERE NOT cancels) AS staged
                FROM import_staging GROUP BY 1),
            ids AS (
                SELECT source_id FROM here WHERE cancels > 0 OR staged >= %(repeated)s
                UNION SELECT source_id FROM pending)
            SELECT ids.source_id, coalesce(here.cancels, 0), coalesce(here.staged, 0),
                coalesce(pending.n, 0),
                (SELECT ARRAY[dataset_id, net_records] FROM predictions_incident
                 WHERE agency_id = %(agency)s AND source_id = ids.source_id)
            FROM ids LEFT JOIN here USING (source_id) LEFT JOIN pending USING (source_id)
            """,
            # staged records repeat an id when the direct COPY sent its first one
            {"agency": self.dataset.agency_id, "repeated": 1 if self.direct else 2},
        )
        this = self.dataset.pk
        rows = []
        for source_id, cancels, staged, pending, stored in cursor.fetchall():
            stored_in, net = stored or (None, None)
            if stored_in is not None and stored_in != this:
                rows.append((source_id, cancels, 0, pending, net))
            else:
                rows.append((source_id, cancels, staged + (stored_in == this), pending, None))
        return plan_cancellations(rows)


def _keep_pending(dataset: Dataset, plan: CancelPlan) -> None:
    """Apply the plan's pending side: earlier uploads' rows it used go, its own wait."""
    if plan.consumed:
        PendingCancellation.objects.filter(agency_id=dataset.agency_id,
                                           source_id__in=plan.consumed).delete()
    PendingCancellation.objects.bulk_create(
        PendingCancellation(agency_id=dataset.agency_id, dataset=dataset, source_id=sid,
                            count=n)
        for sid, n in plan.pending
    )


class OrmWriter:
    """Batched inserts through the ORM (SQLite and other databases: correct, not fast), with
    the same rules as :class:`PostgresWriter` (UTC times, cancellations)."""

    def __init__(self, connection, dataset: Dataset):
        self.dataset = dataset
        self.default_tz = dataset.agency.timezone
        self.records = 0
        self.record_counts: Counter[str] = Counter()
        self.cancel_counts: Counter[str] = Counter()

    def add(self, batch: Batch) -> None:
        utc = utc_times(batch.occurred_at, batch.timezone or self.default_tz)
        keep = ~batch.cancels
        self.cancel_counts.update(s[:100] for s in batch.source_id[batch.cancels].tolist())
        ids = [s[:100] for s in batch.source_id[keep].tolist()]
        self.record_counts.update(ids)
        rows = zip(
            ids,
            utc[keep].astype(object).tolist(),
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
                source_id=sid,
                occurred_at=when.replace(tzinfo=UTC),
                date_precision=batch.date_precision,
                raw_category=raw[:200],
                category=category or "",
                lon=lon,
                lat=lat,
                address=(address or "")[:200],
                district=(district or "")[:50],
                location_withheld=withheld,
            )
            for sid, when, raw, category, lon, lat, address, district, withheld in rows
        ]
        self.records += len(incidents)
        Incident.objects.bulk_create(incidents, batch_size=500, ignore_conflicts=True)

    def finish(self) -> WriterCounts:
        imported = Incident.objects.filter(dataset=self.dataset).count()
        agency_id, this = self.dataset.agency_id, self.dataset.pk
        pending: Counter[str] = Counter()
        for sid, n in PendingCancellation.objects.filter(agency_id=agency_id).values_list(
                "source_id", "count"):
            pending[sid] += n
        repeated = {sid for sid, n in self.record_counts.items() if n > 1}
        ids = sorted(set(self.cancel_counts) | set(pending) | repeated)
        stored: dict[str, tuple[int, int]] = {}
        agency_rows = Incident.objects.filter(agency_id=agency_id)
        for start in range(0, len(ids), CANCEL_CHUNK):
            chunk = ids[start : start + CANCEL_CHUNK]
            stored.update((sid, (ds, net)) for sid, ds, net in agency_rows.filter(
                source_id__in=chunk).values_list("source_id", "dataset_id", "net_records"))
        rows = []
        for sid in ids:
            stored_in, net = stored.get(sid, (None, None))
            if stored_in is not None and stored_in != this:
                rows.append((sid, self.cancel_counts[sid], 0, pending[sid], net))
            else:
                records = self.record_counts[sid] if stored_in == this else 0
                rows.append((sid, self.cancel_counts[sid], records, pending[sid], None))
        plan = plan_cancellations(rows)
        for sid, net in plan.nets:  # (few: repeated and cancelled ids)
            changes = {"net_records": net} | ({"cancelled": True} if net <= 0 else {})
            agency_rows.filter(source_id=sid).update(**changes)
        _keep_pending(self.dataset, plan)
        return WriterCounts(imported, self.records - imported, len(plan.cancel),
                            plan.cancel_ids - plan.matched)

    def abort(self) -> None:
        pass


def writer_for(connection, dataset: Dataset, *, direct: bool | None = None
               ) -> PostgresWriter | OrmWriter:
    """The database's writer; ``direct=False`` forces PostgreSQL's staging path."""
    if connection.vendor == "postgresql":
        return PostgresWriter(connection, dataset, direct=direct)
    return OrmWriter(connection, dataset)
