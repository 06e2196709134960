"""Square analysis grid in a local metric projection.

Cells are indexed row-major from the lower-left corner: ``index = row * nx + col``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

if TYPE_CHECKING:
    from .events import Events

MIN_CELL_SIZE = 50.0
MAX_CELL_SIZE = 1000.0
DEFAULT_CELL_SIZE = 150.0


def check_cell_size(cell_size: float) -> float:
    """Return ``cell_size`` as float, or raise ValueError outside 50-1000 m."""
    size = float(cell_size)
    if not np.isfinite(size) or not (MIN_CELL_SIZE <= size <= MAX_CELL_SIZE):
        raise ValueError(
            f"cell_size must be within {MIN_CELL_SIZE:g}-{MAX_CELL_SIZE:g} m, got {cell_size!r}"
        )
    return size


def utm_crs_for(lon: float, lat: float) -> str:
    """EPSG code of the UTM zone at lon/lat (``EPSG:326zz`` north, ``EPSG:327zz`` south)."""
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValueError(f"not a lon/lat position: {lon!r}, {lat!r}")
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def geojson_to_geometry(geojson: dict[str, Any]) -> BaseGeometry:
    """Shapely geometry from a GeoJSON geometry, Feature or FeatureCollection (unioned)."""
    kind = geojson.get("type")
    if kind == "FeatureCollection":
        geoms = [geojson_to_geometry(f) for f in geojson.get("features", [])]
        if not geoms:
            raise ValueError("empty FeatureCollection")
        return shapely.union_all(geoms)
    if kind == "Feature":
        return shape(geojson["geometry"])
    return shape(geojson)


@lru_cache(maxsize=32)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def lonlat_to_xy(crs: str, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project lon/lat (WGS84) arrays to ``crs`` metres."""
    x, y = _transformer("EPSG:4326", crs).transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x, float), np.asarray(y, float)


def xy_to_lonlat(crs: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`lonlat_to_xy`."""
    lon, lat = _transformer(crs, "EPSG:4326").transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon, float), np.asarray(lat, float)


def project_geometry(geom: BaseGeometry, crs: str) -> BaseGeometry:
    """Project a lon/lat shapely geometry to ``crs``."""
    tr = _transformer("EPSG:4326", crs)

    def _fn(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, _fn)


@dataclass(frozen=True)
class Grid:
    """Regular square grid; ``origin_x/origin_y`` is the lower-left corner of col 0 / row 0.

    ``boundary`` (optional, in grid CRS metres) defines the active area; see :meth:`active_mask`.
    """

    crs: str
    cell_size: float
    origin_x: float
    origin_y: float
    nx: int
    ny: int
    boundary: BaseGeometry | None = field(default=None, compare=False, repr=False)
    _mask_cache: dict[str, np.ndarray] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "cell_size", check_cell_size(self.cell_size))
        if self.nx < 1 or self.ny < 1:
            raise ValueError("grid needs nx >= 1 and ny >= 1")

    # construction ---------------------------------------------------------------------------
    @classmethod
    def from_lonlat(
        cls,
        lon: np.ndarray,
        lat: np.ndarray,
        cell_size: float = DEFAULT_CELL_SIZE,
        crs: str | None = None,
        boundary: dict[str, Any] | None = None,
        origin_offset: tuple[float, float] = (0.0, 0.0),
    ) -> Grid:
        """Grid covering the boundary (GeoJSON, lon/lat) if given, else the points' extent.

        ``crs`` defaults to the UTM zone of the data centre. The origin is snapped to multiples of
        ``cell_size`` shifted by ``origin_offset`` (metres), so grids are reproducible.
        """
        size = check_cell_size(cell_size)
        lon = np.asarray(lon, float)
        lat = np.asarray(lat, float)
        geom_ll = geojson_to_geometry(boundary) if boundary is not None else None
        if geom_ll is not None:
            minx, miny, maxx, maxy = geom_ll.bounds
            centre = ((minx + maxx) / 2.0, (miny + maxy) / 2.0)
        else:
            ok = np.isfinite(lon) & np.isfinite(lat)
            if not ok.any():
                raise ValueError("need at least one finite lon/lat point or a boundary")
            centre = (float(np.median(lon[ok])), float(np.median(lat[ok])))
        crs = crs or utm_crs_for(*centre)
        if geom_ll is not None:
            geom = project_geometry(geom_ll, crs)
            minx, miny, maxx, maxy = geom.bounds
        else:
            geom = None
            x, y = lonlat_to_xy(crs, lon[ok], lat[ok])
            pad = 1e-3  # points on the max edge fall inside the last cell
            minx, miny, maxx, maxy = x.min(), y.min(), x.max() + pad, y.max() + pad
        return cls.covering((minx, miny, maxx, maxy), size, crs, geom, origin_offset)

    @classmethod
    def covering(
        cls,
        bounds: tuple[float, float, float, float],
        cell_size: float = DEFAULT_CELL_SIZE,
        crs: str = "EPSG:3857",
        boundary: BaseGeometry | None = None,
        origin_offset: tuple[float, float] = (0.0, 0.0),
    ) -> Grid:
        """Smallest snapped grid covering metric ``bounds`` (minx, miny, maxx, maxy).

        A point exactly on ``maxx``/``maxy`` lies on the outer edge, i.e. outside the grid.
        """
        size = check_cell_size(cell_size)
        minx, miny, maxx, maxy = (float(b) for b in bounds)
        ox = np.floor((minx - origin_offset[0]) / size) * size + origin_offset[0]
        oy = np.floor((miny - origin_offset[1]) / size) * size + origin_offset[1]
        nx = max(int(np.ceil((maxx - ox) / size - 1e-9)), 1)
        ny = max(int(np.ceil((maxy - oy) / size - 1e-9)), 1)
        return cls(crs, size, float(ox), float(oy), nx, ny, boundary)

    SPEC_FIELDS = ("crs", "cell_size", "origin_x", "origin_y", "nx", "ny")

    def spec(self) -> dict[str, Any]:
        """The grid as stored with forecasts and public releases (the boundary left out)."""
        return {name: getattr(self, name) for name in self.SPEC_FIELDS}

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Grid:
        """The grid :meth:`spec` describes (without a boundary)."""
        return cls(*(spec[name] for name in cls.SPEC_FIELDS))

    # geometry helpers -----------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        return self.nx * self.ny

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx): the 2-D array layout of a full-grid field."""
        return (self.ny, self.nx)

    def project(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """lon/lat -> x/y metres in the grid CRS."""
        return lonlat_to_xy(self.crs, lon, lat)

    def col_row(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Integer column/row of x/y (may fall outside 0..nx-1 / 0..ny-1)."""
        col = np.floor((np.asarray(x, float) - self.origin_x) / self.cell_size)
        row = np.floor((np.asarray(y, float) - self.origin_y) / self.cell_size)
        col = np.where(np.isfinite(col), col, -1).astype(np.int64)
        row = np.where(np.isfinite(row), row, -1).astype(np.int64)
        return col, row

    def cell_index(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Flat row-major cell index of x/y; -1 outside the grid."""
        col, row = self.col_row(x, y)
        inside = (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        return np.where(inside, row * self.nx + col, -1)

    def index_to_col_row(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Column and row of flat cell indices."""
        index = np.asarray(index, np.int64)
        return index % self.nx, index // self.nx

    def cell_centres(self, index: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """x/y of the centres of cells `index` (flat), every cell in row-major order by
        default."""
        col, row = self.index_to_col_row(np.arange(self.n_cells) if index is None else index)
        return (
            self.origin_x + (col + 0.5) * self.cell_size,
            self.origin_y + (row + 0.5) * self.cell_size,
        )

    def cell_polygons_lonlat(self, index: np.ndarray | None = None) -> list[dict[str, Any]]:
        """GeoJSON Polygon dicts (lon/lat, counter-clockwise) for cells ``index`` (default all)."""
        index = np.arange(self.n_cells) if index is None else np.asarray(index, np.int64)
        col, row = self.index_to_col_row(index)
        x0 = self.origin_x + col * self.cell_size
        y0 = self.origin_y + row * self.cell_size
        s = self.cell_size
        xs = np.stack([x0, x0 + s, x0 + s, x0, x0], axis=1)
        ys = np.stack([y0, y0, y0 + s, y0 + s, y0], axis=1)
        lon, lat = xy_to_lonlat(self.crs, xs.ravel(), ys.ravel())
        ring = np.stack([lon, lat], axis=1).reshape(len(index), 5, 2).round(7)
        return [{"type": "Polygon", "coordinates": [r.tolist()]} for r in ring]

    # active area ----------------------------------------------------------------------------
    def boundary_mask(self) -> np.ndarray:
        """Cells whose centre lies inside the boundary (all True when there is none; read-only)."""
        if self.boundary is None:
            return np.ones(self.n_cells, bool)
        mask = self._mask_cache.get("boundary")
        if mask is None:  # computed once per grid; read-only so it can be shared
            cx, cy = self.cell_centres()
            mask = np.asarray(shapely.contains_xy(self.boundary, cx, cy), bool)
            mask.flags.writeable = False
            self._mask_cache["boundary"] = mask
        return mask

    def active_mask(self, events: Events | None = None) -> np.ndarray:
        """Active cells: inside the boundary if there is one, else cells with >= 1 event.

        ``events`` must already be restricted to times before the forecast time (all categories).
        """
        if self.boundary is not None:
            return self.boundary_mask()
        if events is None:
            raise ValueError("a grid without boundary needs events to define its active area")
        idx = self.cell_index(events.x, events.y)
        mask = np.zeros(self.n_cells, bool)
        mask[idx[idx >= 0]] = True
        return mask
