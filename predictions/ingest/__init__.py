"""Framework-free parsing of incident uploads (no Django here).

Main API::

    reader = read_incidents(paths_or_fileobjs, format=None, mapping=None, ...)
    for batch in reader:          # Batch: NumPy columns, <= batch_size rows, one file
        ...batch.errors...        # RowError(row_number, reason, raw, source, detail)
    reader.summary                # ImportSummary: rows_read = records + cancellations + rejected

Formats: ``slmpd``, ``socrata``, ``police_uk``, ``generic_csv`` (with a column mapping),
``nij_shapefile``; containers ``.gz``, ``.zip``, ``.tar.gz``.
"""

from .builder import default_date_range
from .containers import Limits
from .errors import (
    REASONS,
    IngestRefused,
    MappingError,
    RowError,
    csv_safe,
    write_error_csv,
)
from .formats import FORMATS
from .formats.generic_csv import validate_mapping
from .geo import Area, area_from_geojson
from .reader import ImportSummary, IncidentReader, Preview, detect_format, read_incidents
from .records import (
    COLUMNS,
    Batch,
    CancellationStats,
    Incident,
    apply_cancellations,
    concat_batches,
    make_aware,
)

__all__ = [
    "COLUMNS",
    "FORMATS",
    "REASONS",
    "Area",
    "Batch",
    "CancellationStats",
    "ImportSummary",
    "Incident",
    "IncidentReader",
    "IngestRefused",
    "Limits",
    "MappingError",
    "Preview",
    "RowError",
    "apply_cancellations",
    "area_from_geojson",
    "concat_batches",
    "csv_safe",
    "default_date_range",
    "detect_format",
    "make_aware",
    "read_incidents",
    "validate_mapping",
    "write_error_csv",
]
