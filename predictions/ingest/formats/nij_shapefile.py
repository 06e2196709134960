"""NIJ Real-Time Crime Forecasting Challenge packages (Portland calls for service):
a zip with ``.shp/.shx/.dbf/.prj`` read in memory with pyshp.

* Calls have no id of their own: ``final_case`` is the final *call type* code (74
  distinct values among August's 19,376 calls, e.g. ``DISTP``), not a case number. So
  ``source_id`` is synthetic and deterministic: ``syn-`` + 16 hex digits of SHA-256 over
  the record's DBF values (joined by U+001F), ``-n`` appended to the n-th identical
  record of a package (as for police.uk). Re-importing a package gives the same ids.
* ``occurred_at`` = ``occ_date`` (a DBF date, no time: midnight local
  America/Los_Angeles, ``date_precision = "day"``).
* ``raw_category`` = ``CASE_DESC`` (the challenge's ``CATEGORY`` is a function of it, so
  nothing is lost); ``CALL_GROUP``/``CATEGORY`` are used when it is empty.
* The CRS comes from the ``.prj`` (``pyproj.CRS.from_wkt``); points come from the shapes.
* ``row_number`` is the 1-based DBF record number (there is no header row).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from predictions.taxonomy import CategoryMapper

from ..builder import BatchBuilder, Columns, Options
from ..dates import dates_to_datetime64
from ..errors import IngestRefused
from ..records import Batch
from ..shapefiles import iter_records, open_shapefile
from .tabular import FileStats, SyntheticIds

NAME = "nij_shapefile"
TIMEZONE = "America/Los_Angeles"
_NULL = 1e300  # pyshp returns -1.8e308 for null points


def _field(names: list[str], *wanted: str) -> str | None:
    lower = {n.lower(): n for n in names}
    for w in wanted:
        if w.lower() in lower:
            return lower[w.lower()]
    return None


def parse(
    parts: dict[str, bytes],
    *,
    source: str,
    options: Options,
    mapper: CategoryMapper,
    stats: FileStats,
) -> Iterator[Batch]:
    reader, crs = open_shapefile(parts, source)
    names = [f[0] for f in reader.fields[1:]]
    fid = _field(names, "final_case")
    fdate = _field(names, "occ_date")
    if fid is None or fdate is None:
        raise IngestRefused(
            "unknown_format", f"not an NIJ package: fields {names} lack final_case/occ_date", source
        )
    fdesc = [f for f in (_field(names, n) for n in ("CASE_DESC", "CALL_GROUP", "CATEGORY")) if f]
    builder = BatchBuilder(
        source=source,
        format=NAME,
        crs=crs.to_wkt(),
        options=options,
        mapper=mapper,
        header=names,
        date_precision="day",
        timezone=TIMEZONE,
    )
    layout = (names.index(fdate), [names.index(f) for f in fdesc], SyntheticIds())
    chunk: list[tuple[list, list]] = []
    start = 1
    for number, row in enumerate(iter_records(reader, source), 1):
        chunk.append(row)
        if len(chunk) >= options.batch_size:
            stats.rows_read += len(chunk)
            batch = builder.build(_columns(chunk, start, layout))
            chunk, start = [], number + 1
            yield batch
    if chunk:
        stats.rows_read += len(chunk)
        yield builder.build(_columns(chunk, start, layout))


def _columns(
    chunk: list[tuple[list, list]], start: int, layout: tuple[int, list[int], SyntheticIds]
) -> Columns:
    """Rows are the DBF values (all fields) plus the shape's points."""
    idate, idesc, synth = layout
    n = len(chunk)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    for i, (_, points) in enumerate(chunk):
        if points and abs(points[0][0]) < _NULL and abs(points[0][1]) < _NULL:
            x[i], y[i] = points[0][0], points[0][1]
    rows = [values for values, _ in chunk]
    ids = [synth(["" if v is None else str(v) for v in r]) if any(r) else "" for r in rows]
    return Columns(
        row_number=np.arange(start, start + n, dtype=np.int64),
        raw_rows=rows,
        ids=ids,
        occurred_at=dates_to_datetime64([r[idate] for r in rows]),
        x=x,
        y=y,
        raw_category=[next((str(r[i]).strip() for i in idesc if r[i]), "") for r in rows],
        address=[None] * n,
        district=[None] * n,
    )
