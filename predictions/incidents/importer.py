"""Running an import: parse the stored files and make their incidents visible together.

The whole import is one database transaction. A worker killed part-way leaves nothing
visible (the database rolls the transaction back); the redelivered task starts again and
ends with the same result. Incidents already present (same agency and source id) are
counted as duplicates, and cancelling records (SLMPD `Count = -1`) mark what they cancel.

On PostgreSQL rows stream through one COPY (see `PostgresWriter`): straight into the
incident table when the agency has no incidents yet (repeats, cancellations go through a
staging table), otherwise into a temporary staging table and then one INSERT ... SELECT.
If a concurrent import in the same agency commits some of the same ids meanwhile, the
direct COPY is rolled back to its savepoint and the import redone through staging.
Elsewhere rows go in with batched inserts.
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from shapely.geometry import shape

import audit
from audit.events import Action
from common import csv_safe
from predictions.incidents.writers import DirectConflict, writer_for
from predictions.ingest import Area, IngestRefused, RowError, read_incidents
from predictions.ingest.errors import ERROR_CSV_HEADER, error_csv_row
from predictions.jobs import claim
from predictions.models import CategoryOverride, Dataset

log = logging.getLogger(__name__)


@dataclass
class ImportResult:
    read: int
    imported: int
    duplicates: int
    cancelled: int
    rejected: int
    seconds: float

    def as_dict(self) -> dict:
        return {
            k: getattr(self, k)
            for k in ("read", "imported", "duplicates", "cancelled", "rejected", "seconds")
        }


def error_report_path(dataset: Dataset) -> Path:
    folder = Path(settings.UPLOAD_ROOT) / str(dataset.agency_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"dataset-{dataset.pk}-errors.csv"


class ImportBusy(RuntimeError):
    """Another worker holds this dataset's import; try again later."""


PROGRESS_KEY = "import-progress:{}"


def report_progress(dataset_id: int, rows_read: int, percent: int, phase: str = "reading"
                    ) -> None:
    """How far an import is, for the upload page (in the cache: the dataset row is inside
    the import's own uncommitted transaction). ``percent`` is the share of the stored
    bytes read; ``phase`` is "reading", then "saving" once every row is read."""
    cache.set(PROGRESS_KEY.format(dataset_id),
              {"rows_read": rows_read, "percent": percent, "phase": phase},
              timeout=24 * 3600)


def progress_of(dataset_id: int) -> dict | None:
    """The last :func:`report_progress` of a running import (None before its first)."""
    return cache.get(PROGRESS_KEY.format(dataset_id))


def forget_progress(dataset_id: int) -> None:
    """Drop a dataset's reported progress (an earlier attempt's, before a new one starts)."""
    cache.delete(PROGRESS_KEY.format(dataset_id))


def _percent_read(files: list, total: int) -> int:
    """Share of the stored bytes read so far (archives are read front to back as they are
    decompressed, so their position tracks the work); 99 at most until the end."""
    return min(99, 100 * sum(f.tell() for f in files) // max(total, 1))


def _write_errors(writer, errors: list[RowError]) -> None:
    writer.writerows(error_csv_row(e) for e in errors)


def _claim(dataset_id: int) -> Dataset | None:
    """Mark the dataset running (committed, so the page shows it); None if already done."""
    return claim(Dataset.objects.all(), dataset_id, running=Dataset.Status.RUNNING,
                 skip=(Dataset.Status.DONE, Dataset.Status.STAGED))


def _fail(dataset: Dataset, message: str) -> None:
    Dataset.objects.filter(pk=dataset.pk).update(
        status=Dataset.Status.FAILED,
        error_message=message[:2000],
        finished_at=timezone.now(),
        progress=0,
    )


def _area(dataset: Dataset) -> Area | None:
    boundary = dataset.agency.boundary
    return Area(geometry=shape(boundary)) if boundary else None


def run_import(dataset_id: int) -> ImportResult | None:
    """Import a stored dataset; None when there is nothing to do (already imported)."""
    dataset = _claim(dataset_id)
    if dataset is None:
        return None
    forget_progress(dataset_id)
    started = time.perf_counter()
    overrides = dict(
        CategoryOverride.objects.filter(agency=dataset.agency_id).values_list(
            "raw_text", "category"
        )
    )
    report_path = error_report_path(dataset)
    try:
        with transaction.atomic():
            if not _lock(dataset.pk):
                raise ImportBusy(f"dataset {dataset.pk} is being imported by another worker")
            try:
                counts, reader = _read_and_write(dataset, overrides, report_path)
            except DirectConflict:
                # a concurrent import in this agency committed some of the same ids after
                # the writer looked: the direct COPY was rolled back; go through staging
                log.info("dataset %s: ids met a concurrent import; importing via staging",
                         dataset.pk)
                counts, reader = _read_and_write(dataset, overrides, report_path,
                                                 direct=False)
            summary = reader.summary
            result = ImportResult(
                read=summary.rows_read,
                imported=counts.imported,
                duplicates=counts.duplicates,
                cancelled=counts.cancelled,
                rejected=summary.rejected_total,
                seconds=round(time.perf_counter() - started, 2),
            )
            formats = {f.format for f in summary.files if f.format}
            Dataset.objects.filter(pk=dataset.pk).update(
                format=formats.pop() if len(formats) == 1 else dataset.format,
                status=Dataset.Status.DONE,
                progress=100,
                rows_read=result.read,
                imported=result.imported,
                duplicates=result.duplicates,
                cancelled=result.cancelled,
                rejected=result.rejected,
                summary={
                    **summary.as_dict(),
                    "cancellations_matched": counts.cancelled,
                    "cancellations_unmatched": counts.unmatched_cancellations,
                    "seconds": result.seconds,
                },
                finished_at=timezone.now(),
            )
            audit.record(
                action=Action.DATA_IMPORT,
                actor=dataset.uploaded_by,
                actor_role="system",
                agency=dataset.agency,
                object_type="dataset",
                object_id=dataset.pk,
                details=result.as_dict(),
            )
    except IngestRefused as exc:
        _fail(dataset, str(exc))
        report_path.unlink(missing_ok=True)
        return None
    except ImportBusy:
        raise
    except Exception as exc:
        # Nothing was imported (the transaction rolled back); say so rather than leave the
        # dataset "running" for ever. A killed worker is the one case that stays running,
        # and its redelivered task finishes the work.
        _fail(dataset, f"Unexpected error: {exc}")
        raise
    return result


def _read_and_write(dataset: Dataset, overrides: dict, report_path: Path,
                    direct: bool | None = None):
    """Parse the stored files and stream them to the writer (errors to the error CSV)."""
    with ExitStack() as stack:
        stored = list(dataset.files.all())
        files = [stack.enter_context(open(f.path, "rb")) for f in stored]
        reader = read_incidents(
            [(f.name, fh) for f, fh in zip(stored, files, strict=True)],
            dataset.format or None,
            dataset.mapping,
            category_overrides=overrides,
            area=_area(dataset),
            timezone=dataset.agency.timezone,
            max_bytes=settings.IMPORT_MAX_BYTES,
            max_expanded_bytes=settings.IMPORT_MAX_EXPANDED_BYTES,
        )
        errors = csv_safe.writer(  # text quoted, formulas neutralised whatever the separator
            stack.enter_context(open(report_path, "w", newline="", encoding="utf-8"))
        )
        errors.writerow(ERROR_CSV_HEADER)
        writer = writer_for(connection, dataset, direct=direct)
        total = sum(f.size_bytes for f in stored)
        try:
            for batch in reader:
                writer.add(batch)
                _write_errors(errors, batch.errors)
                report_progress(dataset.pk, reader.summary.rows_read,
                                _percent_read(files, total))
            report_progress(dataset.pk, reader.summary.rows_read, 100, "saving")
        except BaseException:
            writer.abort()  # end the open COPY so the transaction can roll back cleanly
            raise
        return writer.finish(), reader


def _lock(dataset_id: int) -> bool:
    """A transaction-scoped lock so two deliveries of one task never import at once.
    (SQLite serialises writers by itself.)"""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [7301, dataset_id])
        return bool(cursor.fetchone()[0])
