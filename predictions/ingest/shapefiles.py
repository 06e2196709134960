"""Opening an in-memory shapefile package (``.shp/.shx/.dbf/.prj/.cpg`` bytes) with pyshp."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from typing import Any

import shapefile
from pyproj import CRS
from pyproj.exceptions import CRSError

from .errors import IngestRefused

# What pyshp raises on damaged or truncated files (short reads fail in struct.unpack; a
# field type byte that is not ASCII fails to decode; an unknown .cpg codec is a LookupError).
SHAPEFILE_ERRORS = (
    shapefile.ShapefileException,
    struct.error,
    EOFError,
    OSError,
    LookupError,
    UnicodeDecodeError,
)


def open_shapefile(parts: dict[str, bytes], source: str) -> tuple[shapefile.Reader, CRS]:
    """A pyshp reader and the CRS of the ``.prj``; ``IngestRefused`` when unreadable.

    The ``.shx`` index is optional: without it pyshp reads the ``.shp`` sequentially.
    """
    for ext in ("shp", "dbf", "prj"):
        if ext not in parts:
            raise IngestRefused("unreadable", f"shapefile package lacks its .{ext} file", source)
    try:
        crs = CRS.from_wkt(parts["prj"].decode("latin-1"))
    except CRSError as exc:
        msg = f"cannot read the .prj projection: {exc}"
        raise IngestRefused("unreadable", msg, source) from exc
    encoding = parts.get("cpg", b"utf-8").decode("ascii", "ignore").strip() or "utf-8"
    files: dict[str, Any] = {"shp": io.BytesIO(parts["shp"]), "dbf": io.BytesIO(parts["dbf"])}
    if "shx" in parts:  # pyshp cannot take shx=None
        files["shx"] = io.BytesIO(parts["shx"])
    try:
        reader = shapefile.Reader(**files, encoding=encoding, encodingErrors="replace")
    except SHAPEFILE_ERRORS as exc:
        raise IngestRefused("unreadable", f"cannot read the shapefile: {exc}", source) from exc
    return reader, crs


def iter_records(reader: shapefile.Reader, source: str) -> Iterator[tuple[list, list]]:
    """``(DBF values, shape points)`` per record, in file order.

    A damaged or truncated ``.dbf``/``.shp``/``.shx``, or a ``.dbf`` whose record count
    differs from the ``.shp``'s shape count, raises ``IngestRefused("unreadable")``.
    """
    records = reader.iterRecords()
    shapes = reader.iterShapes()
    number = 0
    while True:
        try:
            record = next(records, None)
            shape = next(shapes, None)
        except SHAPEFILE_ERRORS as exc:
            msg = f"the shapefile is damaged or truncated at record {number + 1:,}: {exc}"
            raise IngestRefused("unreadable", msg, source) from exc
        if record is None and shape is None:
            return
        if record is None or shape is None:
            more, fewer = (".dbf", ".shp") if shape is None else (".shp", ".dbf")
            msg = (
                f"the .dbf and .shp disagree: the {fewer} ends after {number:,} entries but"
                f" the {more} goes on (a truncated or mismatched file?)"
            )
            raise IngestRefused("unreadable", msg, source)
        number += 1
        yield list(record), shape.points
