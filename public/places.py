"""Named areas on the public map: the agency's reference layer (neighbourhoods, districts).

Its outlines and names are public facts, not incident data. Each public cell belongs to the
area holding its centre (a cell straddling a border counts in one area only). An area's value
is the sum of its cells' published values: post-processing of what is already released, so it
costs no privacy budget; its noise is the sum of the cells' noises (see `margin_90`).
Search answers come from the names alone, never from incidents or addresses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import mapping

from predictions.bridge import Places, area_extent, name_matches
from public import privacy

DECIMALS = 5  # about a metre


@dataclass(frozen=True)
class PublicPlaces:
    """The reference areas as the public map shows them."""

    ids: list[str]  # "p<index>"
    names: list[str]
    outlines: list[dict]  # GeoJSON geometries, lon/lat, rounded
    centres: list[tuple[float, float]]  # (lat, lon) of a point inside each area
    bounds: list[list[float]]  # [[south, west], [north, east]]
    cell_area: np.ndarray  # per public cell: index of its area, -1 outside every area
    cell_counts: np.ndarray  # per area: how many public cells it holds

    def index(self, area_id: str) -> int | None:
        """The index of a place id ("p3"), None if there is no such place."""
        if not area_id.startswith("p") or not area_id[1:].isdigit():
            return None
        i = int(area_id[1:])
        return i if i < len(self.ids) else None

    def cell_names(self) -> list[str]:
        return [self.names[a] if a >= 0 else "" for a in self.cell_area.tolist()]

    def sums(self, cell_values: np.ndarray) -> np.ndarray:
        """Per area, the sum of its cells' values (the last axis holds the cells)."""
        inside = self.cell_area >= 0
        values = np.asarray(cell_values)
        flat = values.reshape(-1, values.shape[-1])
        out = np.zeros((flat.shape[0], len(self.ids)), np.int64)
        for row in range(flat.shape[0]):
            out[row] = np.bincount(self.cell_area[inside], weights=flat[row][inside],
                                   minlength=len(self.ids)).round().astype(np.int64)
        return out.reshape(values.shape[:-1] + (len(self.ids),))

    def search(self, query: str, limit: int = 8) -> list[dict]:
        """Areas whose name holds the query (accents and case ignored); names starting with
        it first, then alphabetical."""
        return [self.answer(i) for i in name_matches(self.names, query, limit)]

    def answer(self, i: int) -> dict:
        lat, lon = self.centres[i]
        return {"id": self.ids[i], "name": self.names[i], "lat": lat, "lon": lon,
                "bounds": self.bounds[i], "cells": int(self.cell_counts[i]), "kind": "area"}


def _rounded(geometry: dict) -> dict:
    def walk(value):
        if isinstance(value, (list, tuple)):
            if value and isinstance(value[0], (int, float)):
                return [round(float(v), DECIMALS) for v in value]
            return [walk(v) for v in value]
        return value

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def public_places(places: Places, cell_lon: np.ndarray, cell_lat: np.ndarray) -> PublicPlaces:
    """The public view of the reference areas, for cells centred at `cell_lon`/`cell_lat`."""
    geoms = list(places.tree.geometries)
    cell_area = np.full(len(cell_lon), -1, np.int64)
    if len(cell_lon):
        point_at, area_at = places.tree.query(shapely.points(cell_lon, cell_lat),
                                              predicate="within")
        for p, a in sorted(zip(point_at.tolist(), area_at.tolist(), strict=True)):
            if cell_area[p] < 0:
                cell_area[p] = a
    extents = [area_extent(g) for g in geoms]
    return PublicPlaces(
        ids=[f"p{i}" for i in range(len(geoms))],
        names=[n or f"Area {i + 1}" for i, n in enumerate(places.names)],
        outlines=[_rounded(mapping(g)) for g in geoms],
        centres=[(x["lat"], x["lon"]) for x in extents],
        bounds=[x["bounds"] for x in extents],
        cell_area=cell_area,
        cell_counts=np.bincount(cell_area[cell_area >= 0], minlength=len(geoms)),
    )


def margin_90(epsilon: float, cells: int, months: int = 1) -> int:
    """The ±range that holds about 9 times in 10 for a sum of `cells` × `months` published
    values (each with its own noise): exact for one value, the normal approximation above."""
    n = cells * months
    if n <= 1:
        return privacy.margin_90(epsilon)
    return math.ceil(1.645 * math.sqrt(n * privacy.geometric_variance(epsilon)))
