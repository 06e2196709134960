"""NIJ/Portland shapefile packages read from the zip in memory."""

from __future__ import annotations

import csv
import gzip
from collections import Counter

import numpy as np
from ingest_helpers import NIJ, PORTLAND_CSV, need
from pyproj import Transformer

from predictions.ingest import concat_batches, read_incidents


def test_both_packages_all_calls():
    reader = read_incidents([need(p) for p in NIJ])
    whole = concat_batches(reader)
    s = reader.summary
    assert s.rows_read == 37_819
    assert [f.rows_read for f in s.files] == [19_376, 18_443]
    # the August DBF ends with one empty record (no case, no date, null point)
    assert s.records == 37_818 and dict(s.rejected) == {"missing_id": 1}
    assert s.balanced and s.cancellations == 0 and s.withheld == 0
    assert s.error_samples[0].row_number == 19_376
    assert {f.format for f in s.files} == {"nij_shapefile"}
    assert any(m.endswith(".xlsx") for m in s.skipped_members)
    assert whole.date_precision == "day" and whole.timezone == "America/Los_Angeles"
    assert whole.occurred_at.min() == np.datetime64("2016-08-01")
    assert whole.occurred_at.max() == np.datetime64("2016-09-30")
    cats = Counter(whole.category)
    assert None not in cats and cats["burglary"] > 0 and cats["other"] > 25_000
    assert whole.raw_category[0] == "PROWLER"
    # final_case is a call-type code (DISTP, PROWLP...), not an id: ids are synthetic
    assert all(s.startswith("syn-") for s in whole.source_id)
    assert len(set(whole.source_id)) == len(whole)
    again = concat_batches(read_incidents(need(NIJ[0])))
    assert list(again.source_id) == list(whole.source_id[: len(again)])  # deterministic


def test_prj_crs_matches_epsg_2913():
    reader = read_incidents(need(NIJ[1]))
    whole = concat_batches(reader)
    with gzip.open(need(PORTLAND_CSV), "rt", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["source_file"].endswith("SEP01_SEP30")]
    assert len(rows) == len(whole) == 18_443
    x = np.array([float(r["x_coordina"]) for r in rows])
    y = np.array([float(r["y_coordina"]) for r in rows])
    lon, lat = Transformer.from_crs("EPSG:2913", "EPSG:4326", always_xy=True).transform(x, y)
    assert np.abs(whole.lon - lon).max() < 1e-7 and np.abs(whole.lat - lat).max() < 1e-7
    assert [r["case_desc"] for r in rows[:50]] == list(whole.raw_category[:50])
