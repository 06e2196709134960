"""All 60 SLMPD monthly files: counts, quirks and coordinate accuracy."""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from datetime import date

import numpy as np
from ingest_helpers import CITY, HARMONIZED, SLMPD_HEADER, need, slmpd_row, write_csv

from predictions.ingest import apply_cancellations, area_from_geojson, read_incidents

TOTAL_ROWS = 246_291  # data/README.md


def test_every_row_is_accounted_for(slmpd):
    whole, summary = slmpd
    assert summary.rows_read == TOTAL_ROWS
    assert len(summary.files) == 60
    assert {f.format for f in summary.files} == {"slmpd"}
    # 243,143 records + 3,140 cancellations (Count = -1) + 8 rejected = 246,291
    assert summary.records == 243_143
    assert summary.cancellations == 3_140
    assert dict(summary.rejected) == {"date_out_of_range": 8}  # 6 x 1900, 1916, 1930
    assert summary.balanced
    assert len(whole) == summary.records + summary.cancellations
    # 0/0 coordinates: location withheld, kept as records
    assert summary.withheld == 6_106
    assert int(whole.location_withheld[~whole.cancels].sum()) == 6_106
    assert np.isnan(whole.lon[whole.location_withheld]).all()


def test_matches_the_harmonized_clean_rows(slmpd):
    """Count = 1, a location and a 2015-2019 date: exactly the harmonized file's 235,972."""
    whole, _ = slmpd
    year = whole.occurred_at.astype("datetime64[Y]").astype(int) + 1970
    clean = ~whole.cancels & ~whole.location_withheld & (year >= 2015) & (year <= 2019)
    assert int(clean.sum()) == 235_972


def test_encodings_bom_and_may_2017_columns(slmpd):
    _, summary = slmpd
    encodings = Counter(f.encoding for f in summary.files)
    assert encodings == {"utf-8": 53, "cp1252": 7}
    may = next(f for f in summary.files if f.name.endswith("may2017.csv"))
    assert "X-Coord" in may.columns and len(may.columns) == 26
    assert may.rows_read == 4_548 and may.records + may.cancellations + may.rejected == 4_548
    # two files start with a UTF-8 BOM: it is stripped from the first header
    assert all(f.columns[0] == "Complaint" for f in summary.files)


def test_all_descriptions_are_mapped(slmpd):
    whole, _ = slmpd
    cats = Counter(whole.category[~whole.cancels])
    assert None not in cats
    assert cats["theft_from_vehicle"] > 30_000 and cats["homicide"] > 900


def test_crs_conversion_within_a_metre(slmpd):
    whole, _ = slmpd
    ref: dict[str, tuple[float, float]] = {}
    with gzip.open(need(HARMONIZED), "rt", encoding="utf-8") as fh:
        rows = csv.reader(fh)
        head = next(rows)
        names = ("complaint", "ucr_code", "lon", "lat", "is_clean")
        c, u, lo, la, ok = (head.index(k) for k in names)
        for row in rows:
            if row[ok] == "True":
                ref[f"{row[c]}:{row[u]}"] = (float(row[lo]), float(row[la]))
    located = ~whole.cancels & ~whole.location_withheld
    idx = [i for i in np.flatnonzero(located) if whole.source_id[i] in ref]
    assert len(idx) == 235_972
    lon = np.array([ref[whole.source_id[i]][0] for i in idx])
    lat = np.array([ref[whole.source_id[i]][1] for i in idx])
    dx = (whole.lon[idx] - lon) * np.cos(np.radians(38.63)) * 111_320
    dy = (whole.lat[idx] - lat) * 110_540
    assert np.hypot(dx, dy).max() < 1.0  # harmonized lon/lat are rounded to 6 decimals


def test_cancellations_resolve(slmpd):
    whole, summary = slmpd
    net, stats = apply_cancellations([whole])
    assert stats.matched + stats.matched_later + stats.orphaned == summary.cancellations
    assert len(net) == summary.records - stats.matched - stats.matched_later
    # tar member order is not chronological, so some -1 rows come before their +1 row
    assert stats.orphaned == 103  # their +1 predates the 2015-2019 files


def test_reclassification_cancels_the_old_code_only(tmp_path):
    """Complaint+Crime is the id: a -1 on the old code must not cancel the new code."""
    path = write_csv(
        tmp_path / "jan.csv",
        [
            SLMPD_HEADER,
            slmpd_row(crime="31111"),
            slmpd_row(count="-1", crime="31111"),
            slmpd_row(crime="41011", desc="AGG.ASSAULT-FIREARM/CITIZEN ADULT 1ST DEGREE"),
        ],
    )
    reader = read_incidents(path)
    batches = list(reader)
    assert reader.summary.cancellations == 1 and reader.summary.records == 2
    net, stats = apply_cancellations(batches)
    assert list(net.source_id) == ["19-000001:41011"] and stats.matched == 1
    assert net.category[0] == "assault" and net.address[0] == "1700 HAMILTON AVE"
    assert net.occurred_at[0] == np.datetime64("2019-01-02T13:45")
    assert batches[0].timezone == "America/Chicago"


def test_city_boundary_as_area(tmp_path):
    area = area_from_geojson(need(CITY))
    inside = slmpd_row()
    outside = slmpd_row(complaint="19-000002", x="820000", y="1034517")  # ~20 km west
    withheld = slmpd_row(complaint="19-000003", x="0", y="0")
    path = write_csv(tmp_path / "m.csv", [SLMPD_HEADER, inside, outside, withheld])
    reader = read_incidents(path, area=area, date_range=(date(2015, 1, 1), date(2019, 12, 31)))
    batch = next(iter(reader))
    assert list(batch.source_id) == ["19-000001:31111", "19-000003:31111"]
    assert batch.location_withheld.tolist() == [False, True]
    assert [(e.row_number, e.reason) for e in batch.errors] == [(3, "out_of_area")]
