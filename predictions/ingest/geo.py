"""Coordinate conversion to WGS84 (pyproj, per batch) and the agency area test."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

WGS84 = CRS.from_epsg(4326)


def parse_crs(spec: str) -> CRS:
    """A CRS from ``EPSG:xxxx``/``ESRI:xxxx``/WKT/PROJ text; ``ValueError`` when unknown."""
    try:
        return CRS.from_user_input(spec)
    except CRSError as exc:
        raise ValueError(f"unknown coordinate reference system {spec!r}: {exc}") from exc


@lru_cache(maxsize=32)
def transformer_for(spec: str) -> Transformer | None:
    """Cached transformer from ``spec`` to WGS84 lon/lat; ``None`` when already WGS84."""
    crs = parse_crs(spec)
    if crs.equals(WGS84, ignore_axis_order=True):
        return None
    return Transformer.from_crs(crs, WGS84, always_xy=True)


def to_wgs84(x: np.ndarray, y: np.ndarray, spec: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert arrays to WGS84 lon/lat (NaN stays NaN)."""
    transformer = transformer_for(spec)
    if transformer is None:
        return x.astype(np.float64), y.astype(np.float64)
    lon = np.full(len(x), np.nan)
    lat = np.full(len(y), np.nan)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.any():
        lon[ok], lat[ok] = transformer.transform(x[ok], y[ok])
    return lon, lat


def valid_lonlat(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Finite positions within the lon/lat ranges."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)


@dataclass(frozen=True)
class Area:
    """The agency's area: a lon/lat bounding box and/or a (Multi)Polygon in WGS84."""

    bbox: tuple[float, float, float, float] | None = None
    geometry: BaseGeometry | None = None

    def __post_init__(self) -> None:
        if self.bbox is not None:
            minx, miny, maxx, maxy = self.bbox
            if not (minx < maxx and miny < maxy):
                raise ValueError("bbox must be (min_lon, min_lat, max_lon, max_lat)")
        if self.geometry is not None:
            shapely.prepare(self.geometry)

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Which positions lie inside (boundary included)."""
        inside = np.ones(len(lon), dtype=bool)
        if self.bbox is not None:
            minx, miny, maxx, maxy = self.bbox
            inside &= (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)
        if self.geometry is not None and inside.any():
            idx = np.flatnonzero(inside)
            inside[idx] = shapely.intersects_xy(self.geometry, lon[idx], lat[idx])
        return inside


def area_from_geojson(path: str | Path) -> Area:
    """An :class:`Area` from a GeoJSON file (union of all features, WGS84)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("type") == "FeatureCollection":
        geoms = [shape(f["geometry"]) for f in data["features"] if f.get("geometry")]
    elif data.get("type") == "Feature":
        geoms = [shape(data["geometry"])]
    else:
        geoms = [shape(data)]
    return Area(geometry=shapely.union_all(geoms))
