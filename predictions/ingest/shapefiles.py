"""Opening an in-memory shapefile package (``.shp/.shx/.dbf/.prj/.cpg`` bytes) with pyshp."""

from __future__ import annotations

import io

import shapefile
from pyproj import CRS
from pyproj.exceptions import CRSError

from .errors import IngestRefused


def open_shapefile(parts: dict[str, bytes], source: str) -> tuple[shapefile.Reader, CRS]:
    """A pyshp reader and the CRS of the ``.prj``; ``IngestRefused`` when unreadable."""
    for ext in ("shp", "dbf", "prj"):
        if ext not in parts:
            raise IngestRefused("unreadable", f"shapefile package lacks its .{ext} file", source)
    try:
        crs = CRS.from_wkt(parts["prj"].decode("latin-1"))
    except CRSError as exc:
        msg = f"cannot read the .prj projection: {exc}"
        raise IngestRefused("unreadable", msg, source) from exc
    encoding = parts.get("cpg", b"utf-8").decode("ascii", "ignore").strip() or "utf-8"
    try:
        reader = shapefile.Reader(
            shp=io.BytesIO(parts["shp"]),
            shx=io.BytesIO(parts["shx"]) if "shx" in parts else None,
            dbf=io.BytesIO(parts["dbf"]),
            encoding=encoding,
            encodingErrors="replace",
        )
    except (shapefile.ShapefileException, LookupError) as exc:
        raise IngestRefused("unreadable", f"cannot read the shapefile: {exc}", source) from exc
    return reader, crs
