"""python manage.py import_incidents --agency SLUG [--format NAME] [--mapping FILE] FILE...

The same path as the upload page: the files are stored as a dataset and imported in one
transaction. Prints one JSON object with read, imported, duplicates, rejected, seconds.
"""

import json
import time
from contextlib import ExitStack
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from agencies.models import Agency
from predictions.incidents.actions import UploadRefused, do_upload
from predictions.incidents.importer import run_import
from predictions.ingest import FORMATS, MappingError
from predictions.models import Dataset


class Command(BaseCommand):
    help = "Import incident files into an agency, as the upload page does."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--agency", required=True, help="The agency's slug.")
        parser.add_argument("--format", default="", choices=["", *sorted(FORMATS)])
        parser.add_argument("--mapping", metavar="FILE.json", help="generic_csv column mapping.")

    def handle(self, *args, files, agency, format, mapping, **options):
        started = time.perf_counter()
        target = Agency.objects.filter(slug=agency).first()
        if target is None:
            raise CommandError(f"No agency {agency!r}.")
        column_mapping = json.loads(Path(mapping).read_text()) if mapping else None
        try:
            with ExitStack() as stack:
                streams = [(Path(f).name, stack.enter_context(open(f, "rb"))) for f in files]
                dataset = do_upload(
                    target, streams, acting_user=None, format=format, mapping=column_mapping
                )
        except (UploadRefused, MappingError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        # Without a broker the import ran on commit; with one, run it here all the same
        # (the worker's copy of the task then finds it done).
        run_import(dataset.pk)
        dataset.refresh_from_db()
        if dataset.status != Dataset.Status.DONE:
            raise CommandError(f"Import failed: {dataset.error_message}")
        self.stdout.write(
            json.dumps(
                {
                    "dataset": dataset.pk,
                    "read": dataset.rows_read,
                    "imported": dataset.imported,
                    "duplicates": dataset.duplicates,
                    "cancelled": dataset.cancelled,
                    "rejected": dataset.rejected,
                    "rejected_by_reason": dataset.summary.get("rejected", {}),
                    "seconds": round(time.perf_counter() - started, 2),
                }
            )
        )
