"""Format registry: names, header detection and per-format column plans."""

from __future__ import annotations

from . import generic_csv, nij_shapefile, police_uk, slmpd, socrata
from .tabular import norm_header

TEXT_FORMATS = {m.NAME: m for m in (slmpd, socrata, police_uk)}
FORMATS = (slmpd.NAME, socrata.NAME, police_uk.NAME, generic_csv.NAME, nij_shapefile.NAME)


def detect_text_format(header: list[str]) -> str | None:
    """Name of the built-in CSV format whose columns the header has, else ``None``."""
    keys = {norm_header(h) for h in header}
    for name, module in TEXT_FORMATS.items():
        if module.detect(keys):
            return name
    return None


__all__ = ["FORMATS", "TEXT_FORMATS", "detect_text_format", "generic_csv", "nij_shapefile"]
