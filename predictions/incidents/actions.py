"""Receiving an upload: store its files, recognise a re-upload, queue the import."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction

from agencies.models import Agency
from agencies.recording import record_action
from audit.events import Action
from predictions.incidents.importer import error_report_path
from predictions.incidents.tasks import import_dataset
from predictions.ingest import FORMATS, validate_mapping
from predictions.models import Dataset, DatasetFile

CHUNK = 1024 * 1024


class UploadRefused(ValueError):
    """The upload is refused as a whole; nothing was stored."""


class AlreadyUploaded(UploadRefused):
    def __init__(self, dataset: Dataset):
        super().__init__(
            f"These files were already uploaded on {dataset.created_at:%Y-%m-%d %H:%M} "
            f"as dataset #{dataset.pk} ({dataset.get_status_display().lower()})."
        )
        self.dataset = dataset


@dataclass
class StoredFile:
    name: str
    size_bytes: int
    sha256: str
    path: Path


def _store(agency: Agency, name: str, stream: BinaryIO) -> StoredFile:
    """Copy to the upload folder while hashing, refusing files over IMPORT_MAX_BYTES."""
    folder = Path(settings.UPLOAD_ROOT) / str(agency.pk)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".incoming-{uuid.uuid4().hex}"
    digest, size = hashlib.sha256(), 0
    try:
        with open(tmp, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > settings.IMPORT_MAX_BYTES:
                    raise UploadRefused(
                        f"{name} is larger than {settings.IMPORT_MAX_BYTES // 1024**2} MB."
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UploadRefused(f"{name} is empty.")
        final = folder / digest.hexdigest()
        shutil.move(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return StoredFile(Path(name).name[:255], size, digest.hexdigest(), final)


def do_upload(
    agency: Agency,
    files: list[tuple[str, BinaryIO]],
    *,
    acting_user,
    format: str = "",
    mapping: dict | None = None,
    start: bool = True,
) -> Dataset:
    """Store the files as a new dataset and queue its import (all or nothing). With
    start=False the dataset waits, staged, for `do_start_import` (after a preview)."""
    if not files:
        raise UploadRefused("Choose at least one file.")
    if format and format not in FORMATS:
        raise UploadRefused(f"Unknown format {format!r}; known: {', '.join(sorted(FORMATS))}.")
    if mapping is not None:
        validate_mapping(mapping)
    stored = [_store(agency, name, stream) for name, stream in files]
    combined = hashlib.sha256("".join(f.sha256 for f in stored).encode()).hexdigest()
    with transaction.atomic():
        existing = Dataset.objects.filter(agency=agency, sha256=combined).first()
        if existing is not None:
            raise AlreadyUploaded(existing)
        dataset = Dataset.objects.create(
            agency=agency,
            name=", ".join(f.name for f in stored)[:255],
            size_bytes=sum(f.size_bytes for f in stored),
            sha256=combined,
            format=format,
            mapping=mapping,
            uploaded_by=acting_user,
            status=Dataset.Status.PENDING if start else Dataset.Status.STAGED,
        )
        DatasetFile.objects.bulk_create(
            DatasetFile(
                dataset=dataset,
                name=f.name,
                size_bytes=f.size_bytes,
                sha256=f.sha256,
                path=str(f.path),
            )
            for f in stored
        )
        record_action(Action.DATA_UPLOAD, acting_user=acting_user, agency=agency,
                      object_type="dataset", object_id=dataset.pk,
                      details={"files": [f.name for f in stored], "bytes": dataset.size_bytes,
                               "sha256": combined, "format": format or "auto"})
        if start:
            transaction.on_commit(lambda: queue_import(dataset.pk))
    return dataset


@transaction.atomic
def do_start_import(
    dataset: Dataset, *, acting_user, format: str = "", mapping: dict | None = None
) -> Dataset:
    """Confirm a staged (or failed) dataset's format and mapping and queue its import."""
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    if dataset.status not in (Dataset.Status.STAGED, Dataset.Status.FAILED):
        raise UploadRefused(f"Dataset #{dataset.pk} is {dataset.get_status_display().lower()}.")
    if format and format not in FORMATS:
        raise UploadRefused(f"Unknown format {format!r}.")
    if mapping is not None:
        validate_mapping(mapping)
    dataset.format, dataset.mapping = format, mapping
    dataset.status = Dataset.Status.PENDING
    dataset.save(update_fields=["format", "mapping", "status"])
    record_action(Action.DATA_IMPORT_START, acting_user=acting_user, agency=dataset.agency,
                  object_type="dataset", object_id=dataset.pk,
                  details={"format": format or "auto"})
    transaction.on_commit(lambda: queue_import(dataset.pk))
    return dataset


def queue_import(dataset_id: int) -> None:
    import_dataset.delay(dataset_id)


@transaction.atomic
def do_delete_dataset(dataset: Dataset, *, acting_user) -> None:
    """Delete a dataset, its incidents and its error report. Stored files go once no
    dataset uses them."""
    counts = {"incidents": dataset.incidents.count()}
    paths = list(dataset.files.values_list("path", flat=True))
    record_action(Action.DATA_DELETE, acting_user=acting_user, agency=dataset.agency,
                  object_type="dataset", object_id=dataset.pk,
                  details={"name": dataset.name, "sha256": dataset.sha256, **counts})
    report = error_report_path(dataset)  # it holds raw rows: it goes with the dataset
    dataset.delete()
    transaction.on_commit(lambda: report.unlink(missing_ok=True))
    for path in paths:
        if not DatasetFile.objects.filter(path=path).exists():
            transaction.on_commit(lambda p=path: Path(p).unlink(missing_ok=True))
