"""Generic CSV with a column mapping: validation, dates, projected coordinates."""

from __future__ import annotations

import csv
import gzip
import io
import itertools

import numpy as np
import pytest
from ingest_helpers import HARMONIZED, need, write_csv

from predictions.ingest import MappingError, concat_batches, read_incidents, validate_mapping

HARMONIZED_MAPPING = {
    "id": "complaint",
    "datetime": "date_occur",
    "x": "x_ft",
    "y": "y_ft",
    "crs": "ESRI:102696",
    "category": "description",
    "district": "district",
    "address": ["ileads_address", "ileads_street"],
}


def test_harmonized_stl_csv_as_generic(tmp_path):
    """The first 2,000 harmonized rows, state-plane feet in, WGS84 out (= its lon/lat)."""
    with gzip.open(need(HARMONIZED), "rt", encoding="utf-8") as fh:
        rows = list(itertools.islice(csv.reader(fh), 2001))
    path = tmp_path / "stl.csv.gz"
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    path.write_bytes(gzip.compress(buf.getvalue().encode()))
    mapping = dict(HARMONIZED_MAPPING)
    mapping["address"] = "ileads_street"
    reader = read_incidents(path, mapping=mapping)
    b = concat_batches(reader)
    s = reader.summary
    assert s.rows_read == 2000 and s.balanced and s.files[0].format == "generic_csv"
    head = rows[0]
    ref = {r[0] + r[2]: r for r in rows[1:]}
    for i in range(len(b)):
        r = ref[b.source_id[i] + str(b.occurred_at[i])[:16]]
        if b.location_withheld[i]:
            assert r[head.index("lon")] == ""
        else:
            assert abs(b.lon[i] - float(r[head.index("lon")])) < 2e-6
            assert abs(b.lat[i] - float(r[head.index("lat")])) < 2e-6
    assert s.withheld > 0  # 0,0 feet: withheld


def test_category_from_several_columns_and_date_plus_time(tmp_path):
    path = write_csv(
        tmp_path / "agency.csv",
        [
            ["Ref", "Day", "Clock", "Easting", "Northing", "Type", "Sub", "Beat"],
            ["A1", "05/01/2019", "23:30", "-87.7", "41.8", "Theft", "From vehicle", "B1"],
            ["A2", "31/02/2019", "10:00", "-87.7", "41.8", "Theft", "", "B1"],
            ["A3", "06/01/2019", "10:00", "-87.7", "41.8", "Mystery", "", "B2"],
        ],
    )
    mapping = {
        "id": "Ref",
        "date": "Day",
        "time": "Clock",
        "datetime_format": "%d/%m/%Y %H:%M",
        "x": "Easting",
        "y": "Northing",
        "category": ["Type", "Sub"],
        "district": "Beat",
        "timezone": "America/Chicago",
    }
    reader = read_incidents(path, "generic_csv", mapping)
    b = concat_batches(reader)
    assert list(b.source_id) == ["A1", "A3"]
    assert b.occurred_at[0] == np.datetime64("2019-01-05T23:30")
    assert list(b.raw_category) == ["Theft - From vehicle", "Mystery"]
    assert list(b.category) == ["theft_from_vehicle", None]
    assert b.timezone == "America/Chicago"
    assert [(e.row_number, e.reason) for e in b.errors] == [(3, "unparseable_date")]
    strict = read_incidents(path, "generic_csv", mapping, strict_categories=True)
    errs = [e for batch in strict for e in batch.errors]
    assert sorted(e.reason for e in errs) == ["unknown_category", "unparseable_date"]


def test_iso_dates_with_offsets(tmp_path):
    path = write_csv(
        tmp_path / "iso.csv",
        [
            ["id", "when", "lon", "lat", "what"],
            ["1", "2019-07-01T12:00:00Z", "-90.2", "38.6", "Burglary"],
            ["2", "2019-07-01 08:15", "-90.2", "38.6", "Burglary"],
            ["3", "2019-07-01T12:00:00-05:00", "-90.2", "38.6", "Burglary"],
        ],
    )
    mapping = {"id": "id", "datetime": "when", "x": "lon", "y": "lat", "category": "what"}
    b = concat_batches(read_incidents(path, mapping=mapping | {"timezone": "America/Chicago"}))
    same = concat_batches(read_incidents(path, mapping=mapping, timezone="America/Chicago"))
    assert list(same.occurred_at) == list(b.occurred_at)
    assert list(b.occurred_at) == [
        np.datetime64("2019-07-01T07:00"),  # 12:00 UTC = 07:00 CDT
        np.datetime64("2019-07-01T08:15"),
        np.datetime64("2019-07-01T12:00"),
    ]
    # without a zone an offset cannot become local wall-clock time
    b = concat_batches(read_incidents(path, mapping=mapping))
    assert list(b.source_id) == ["2"]
    assert {e.reason for e in b.errors} == {"unparseable_date"}


@pytest.mark.parametrize(("text", "local"), [
    ("2020-01-01 10:00:00-05", "2020-01-01T09:00"),  # PostgreSQL's own export form
    ("2020-01-01 10:00:00+00", "2020-01-01T04:00"),
    ("2020-01-01 10:00:00+0100", "2020-01-01T03:00"),
    ("2020-01-01T10:00:00.000", "2020-01-01T10:00"),  # Socrata API exports
])
def test_it_reads_every_iso_offset_form_alone_or_in_a_column(tmp_path, text, local):
    # given a value alone, and the same value in a column of plain local times
    mapping = {"id": "id", "datetime": "when", "x": "lon", "y": "lat", "category": "what"}
    for rows in ([text], [text, "2020-01-02 08:00"]):
        path = write_csv(tmp_path / "offsets.csv", [["id", "when", "lon", "lat", "what"]] + [
            [str(i), when, "-90.2", "38.6", "Burglary"] for i, when in enumerate(rows)])

        # when it is read in Chicago (UTC-6 in January)
        batch = concat_batches(read_incidents(path, mapping=mapping, timezone="America/Chicago"))

        # then its offset is applied once, whatever else the column holds
        assert batch.occurred_at[0] == np.datetime64(local)


@pytest.mark.parametrize("text", ["now", "today", "2020", "2020-05", "2020-13-01"])
def test_a_word_or_partial_date_is_unparseable_not_guessed(tmp_path, text):
    # given a column of good dates with one word or partial date among them
    path = write_csv(tmp_path / "words.csv", [
        ["id", "when", "lon", "lat", "what"],
        ["1", "2020-01-02 08:00", "-90.2", "38.6", "Burglary"],
        ["2", text, "-90.2", "38.6", "Burglary"],
    ])
    mapping = {"id": "id", "datetime": "when", "x": "lon", "y": "lat", "category": "what"}

    # when it is read
    batch = concat_batches(read_incidents(path, mapping=mapping, timezone="America/Chicago"))

    # then that row is rejected as unparseable and the other is kept
    assert list(batch.source_id) == ["1"]
    assert [(e.row_number, e.reason) for e in batch.errors] == [(3, "unparseable_date")]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("not a dict", "JSON object"),
        ({"id": "a", "x": "b", "y": "c", "category": "d"}, "datetime"),
        ({"datetime": "a", "x": "b", "y": "c", "category": "d"}, "'id'"),
        ({"id": "a", "datetime": "b", "x": "c", "y": "d", "category": "e", "colour": 1}, "colour"),
        ({"id": "a", "datetime": "b", "x": "c", "y": "d", "category": "e", "crs": "EPSG:0"},
         "EPSG:0"),
        ({"id": "a", "date": "b", "datetime": "b", "x": "c", "y": "d", "category": "e"},
         "not both"),
        ({"id": "a", "datetime": "b", "x": "c", "y": "d", "category": "e",
          "datetime_format": "dd/mm"}, "strptime"),
        ({"id": "a", "datetime": "b", "x": "c", "y": "d", "category": "e",
          "timezone": "Mars/Olympus"}, "timezone"),
    ],
)  # fmt: skip
def test_mapping_is_validated(mapping, message):
    with pytest.raises(MappingError, match=message):
        validate_mapping(mapping)


def test_mapped_columns_must_exist(tmp_path):
    path = write_csv(tmp_path / "x.csv", [["id", "when", "lon", "lat", "what"]])
    mapping = {"id": "id", "datetime": "When", "x": "lon", "y": "latitude", "category": "what"}
    with pytest.raises(MappingError, match="latitude") as info:
        list(read_incidents(path, mapping=mapping))
    assert "When" not in str(info.value)  # matched case-insensitively
    with pytest.raises(MappingError, match="needs a column mapping"):
        read_incidents(path, format="generic_csv")


def test_quoted_fields_and_line_breaks(tmp_path):
    text = (
        "id,when,lon,lat,what,where\r\n"
        '1,2019-07-01 08:15,-90.2,38.6,"Theft, other","12 ""A"" St\r\nrear"\r\n'
        "2,2019-07-01 08:16,-90.2,38.6,Robbery,Main St\r\n"
    )
    path = tmp_path / "q.csv"
    path.write_bytes(text.encode())
    mapping = {"id": "id", "datetime": "when", "x": "lon", "y": "lat", "category": "what",
               "address": "where"}  # fmt: skip
    reader = read_incidents(path, mapping=mapping)
    b = concat_batches(reader)
    assert list(b.address) == ['12 "A" St\r\nrear', "Main St"]
    assert list(b.category) == ["theft", "robbery"]
    assert list(b.row_number) == [2, 3]  # records, not physical lines
