"""Area layers on the analysis grid: areal weighting of polygons, density of points.

Areal weighting assumes what a polygon counts (residents, households) is spread evenly over
its area: a cell receives the share of each polygon's area that it holds. Extensive values
(counts) are split that way and so conserve their total; intensive values (rates, medians) are
averaged over the polygons covering the cell, weighted by area.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from .grid import Grid, project_geometry


@dataclass(frozen=True)
class AreaWeights:
    """Intersection areas of grid cells and polygons.

    ``overlap[c, p]`` is the area (m²) of cell ``c`` inside polygon ``p`` (sparse, full grid).
    ``polygon_area[p]`` is the polygon's whole area in the grid CRS.
    """

    grid: Grid
    overlap: sparse.csr_matrix
    polygon_area: np.ndarray

    def share_matrix(self) -> sparse.csr_matrix:
        """``overlap / polygon_area``: the share of each polygon's area in each cell."""
        inv = np.divide(1.0, self.polygon_area, out=np.zeros_like(self.polygon_area),
                        where=self.polygon_area > 0)
        return (self.overlap @ sparse.diags(inv)).tocsr()

    def allocate(self, counts: np.ndarray) -> np.ndarray:
        """Extensive values per polygon (``(n_polygons,)`` or ``(n_polygons, k)``) split onto
        cells by area share. A polygon wholly inside the grid keeps its total exactly."""
        counts = np.nan_to_num(np.asarray(counts, float))
        return np.asarray(self.share_matrix() @ counts)

    def average(self, values: np.ndarray) -> np.ndarray:
        """Area-weighted mean of intensive polygon values per cell (NaN where no polygon)."""
        values = np.asarray(values, float)
        known = np.isfinite(values)
        weights = self.overlap @ sparse.diags(known.astype(float))
        total = np.asarray(weights.sum(axis=1)).ravel()
        summed = np.asarray(weights @ np.where(known, values, 0.0)).ravel()
        return np.divide(summed, total, out=np.full(total.shape, np.nan), where=total > 0)


def area_weights(grid: Grid, polygons_lonlat: Sequence[BaseGeometry]) -> AreaWeights:
    """Intersect every polygon (lon/lat) with the grid cells it may touch (vectorised)."""
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    areas = np.zeros(len(polygons_lonlat))
    s = grid.cell_size
    for p, geom_ll in enumerate(polygons_lonlat):  # one vectorised intersection per polygon
        geom = project_geometry(geom_ll, grid.crs)
        if geom.is_empty:
            continue
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        areas[p] = geom.area
        minx, miny, maxx, maxy = geom.bounds
        lo_c, lo_r = grid.col_row(np.array([minx]), np.array([miny]))
        hi_c, hi_r = grid.col_row(np.array([maxx]), np.array([maxy]))
        c0, c1 = max(int(lo_c[0]), 0), min(int(hi_c[0]), grid.nx - 1)
        r0, r1 = max(int(lo_r[0]), 0), min(int(hi_r[0]), grid.ny - 1)
        if c0 > c1 or r0 > r1:
            continue
        mesh_c, mesh_r = np.meshgrid(np.arange(c0, c1 + 1), np.arange(r0, r1 + 1))
        cc, rr = mesh_c.ravel(), mesh_r.ravel()
        x0 = grid.origin_x + cc * s
        y0 = grid.origin_y + rr * s
        boxes = shapely.box(x0, y0, x0 + s, y0 + s)
        shapely.prepare(geom)
        hit = shapely.intersects(geom, boxes)
        inside = shapely.contains_properly(geom, boxes[hit])
        area = np.full(int(hit.sum()), s * s)
        edge = ~inside
        if edge.any():
            area[edge] = shapely.area(shapely.intersection(boxes[hit][edge], geom))
        keep = area > 1e-6 * s * s  # float slivers of the reprojection are not overlap
        rows.append((rr[hit] * grid.nx + cc[hit])[keep])
        cols.append(np.full(int(keep.sum()), p))
        vals.append(area[keep])
    overlap = sparse.csr_matrix(
        (np.concatenate(vals) if vals else np.zeros(0),
         (np.concatenate(rows) if rows else np.zeros(0, int),
          np.concatenate(cols) if cols else np.zeros(0, int))),
        shape=(grid.n_cells, len(polygons_lonlat)),
    )
    return AreaWeights(grid, overlap, areas)


def point_covariates(
    grid: Grid, lon: np.ndarray, lat: np.ndarray, radius_m: float = 500.0
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Per cell: points within ``radius_m`` of its centre, and distance (m) to the nearest."""
    cx, cy = grid.cell_centres()
    out = np.zeros((grid.n_cells, 2))
    x, y = grid.project(np.asarray(lon, float), np.asarray(lat, float))
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.any():
        tree = cKDTree(np.column_stack([x[ok], y[ok]]))
        centres = np.column_stack([cx, cy])
        out[:, 0] = tree.query_ball_point(centres, radius_m, return_length=True)
        out[:, 1] = tree.query(centres, k=1)[0]
    else:
        out[:, 1] = np.nan
    return out, (f"within_{radius_m:g}m", "nearest_m")


def polygon_covariates(
    weights: AreaWeights,
    attributes: dict[str, np.ndarray],
    kinds: dict[str, str],
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Per-cell covariates from polygon attributes.

    ``kinds[name]`` is ``"count"`` (extensive: becomes a density per km² of the cell) or
    anything else (intensive: area-weighted mean). Cells no polygon covers get the layer's
    median so that the estimator never sees a NaN.
    """
    cell_km2 = weights.grid.cell_size ** 2 / 1e6
    columns, names = [], []
    for name, values in attributes.items():
        values = np.asarray(values, float)
        if kinds.get(name) == "count":
            col = weights.allocate(values) / cell_km2
            names.append(f"{name}_per_km2")
        else:
            col = weights.average(values)
            names.append(name)
        fill = float(np.nanmedian(values)) if np.isfinite(values).any() else 0.0
        columns.append(np.where(np.isfinite(col), col, fill))
    if not columns:
        return np.zeros((weights.grid.n_cells, 0)), ()
    return np.column_stack(columns), tuple(names)
