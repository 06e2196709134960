"""Hand-made Socrata (Chicago, San Francisco) and police.uk samples."""

from __future__ import annotations

import numpy as np
from ingest_helpers import write_csv

from predictions.ingest import concat_batches, detect_format, read_incidents

CHICAGO_HEADER = [
    "ID", "Case Number", "Date", "Block", "IUCR", "Primary Type", "Description",
    "Location Description", "Arrest", "Domestic", "Beat", "District", "Ward",
    "Community Area", "FBI Code", "X Coordinate", "Y Coordinate", "Year", "Updated On",
    "Latitude", "Longitude", "Location",
]  # fmt: skip


def chicago_row(ident: str, date: str, ptype: str, desc: str, lat: str, lon: str) -> list[str]:
    return [
        ident, f"JC{ident}", date, "047XX S KEDZIE AVE", "0820", ptype, desc, "STREET",
        "false", "false", "0911", "009", "14", "58", "06", "1155838", "1873018", "2019",
        "01/12/2019 03:49:03 PM", lat, lon, f"({lat}, {lon})",
    ]  # fmt: skip


def test_chicago(tmp_path):
    path = write_csv(
        tmp_path / "chicago.csv",
        [
            CHICAGO_HEADER,
            chicago_row("1", "01/05/2019 11:30:00 PM", "THEFT", "$500 AND UNDER", "41.8", "-87.7"),
            chicago_row("2", "01/05/2019 12:05:00 AM", "BATTERY", "SIMPLE", "41.81", "-87.71"),
            chicago_row("3", "01/06/2019 12:00:00 PM", "MOTOR VEHICLE THEFT", "AUTOMOBILE", "", ""),
            chicago_row("4", "13/06/2019 12:00:00 PM", "NARCOTICS", "POSS", "41.8", "-87.7"),
            chicago_row("5", "01/07/2019 01:00:00 AM", "CRIM SEXUAL ASSAULT", "X", "41.8", "-87.7"),
        ],
    )
    reader = read_incidents(path)
    b = concat_batches(reader)
    assert reader.summary.files[0].format == "socrata"
    assert list(b.source_id) == ["1", "2", "5"]
    assert list(b.occurred_at) == [
        np.datetime64("2019-01-05T23:30:00"),
        np.datetime64("2019-01-05T00:05:00"),
        np.datetime64("2019-01-07T01:00:00"),
    ]
    assert list(b.category) == ["theft", "assault", "sexual_offence"]
    assert b.raw_category[0] == "THEFT - $500 AND UNDER"
    assert b.address[0] == "047XX S KEDZIE AVE" and b.district[0] == "009"
    assert b.timezone == "America/Chicago" and b.lon[0] == -87.7
    assert {(e.row_number, e.reason) for e in b.errors} == {
        (4, "missing_coordinates"),
        (5, "unparseable_date"),
    }
    # Chicago withholds some locations: keep them as records when asked
    kept = concat_batches(read_incidents(path, missing_location="withheld"))
    assert list(kept.source_id) == ["1", "2", "3", "5"]
    assert kept.location_withheld.tolist() == [False, False, True, False]


def test_san_francisco(tmp_path):
    header = [
        "Incident Datetime", "Incident Date", "Incident Time", "Row ID", "Incident ID",
        "Incident Number", "Incident Category", "Incident Subcategory",
        "Incident Description", "Intersection", "Police District", "Latitude", "Longitude",
    ]  # fmt: skip
    row = [
        "2019/01/05 11:30:00 PM", "2019/01/05", "23:30", "77112906244", "771129", "190012345",
        "Larceny Theft", "Larceny - From Vehicle", "Theft, From Locked Vehicle, >$950",
        "MISSION ST \\ 16TH ST", "Mission", "37.765", "-122.419",
    ]  # fmt: skip
    path = write_csv(tmp_path / "sf.csv", [header, row])
    b = concat_batches(read_incidents(path))
    assert b.format == "socrata" and b.timezone == "America/Los_Angeles"
    assert b.source_id[0] == "77112906244"
    assert b.category[0] == "theft_from_vehicle"
    assert b.occurred_at[0] == np.datetime64("2019-01-05T23:30")
    assert b.district[0] == "Mission"


def test_api_exports_with_snake_case_headers_and_iso_dates(tmp_path):
    # given Chicago and San Francisco exports from the portals' API (resource/....csv)
    chicago = write_csv(tmp_path / "chicago-api.csv", [
        ["id", "case_number", "date", "block", "primary_type", "description", "district",
         "latitude", "longitude"],
        ["11", "JC11", "2020-01-05T22:00:00.000", "047XX S KEDZIE AVE", "BURGLARY",
         "FORCIBLE ENTRY", "009", "41.8", "-87.7"],
    ])
    sf = write_csv(tmp_path / "sf-api.csv", [
        ["incident_datetime", "row_id", "incident_category", "incident_subcategory",
         "intersection", "police_district", "latitude", "longitude"],
        ["2020-01-05T22:00:00.000", "77", "Burglary", "Burglary - Residential",
         "MISSION ST \\ 16TH ST", "Mission", "37.765", "-122.419"],
    ])

    # when they are read, then they are Socrata and their dates are the local times given
    for path, category in ((chicago, "burglary"), (sf, "burglary")):
        b = concat_batches(read_incidents(path))
        assert (b.format, len(b.errors)) == ("socrata", 0)
        assert b.occurred_at[0] == np.datetime64("2020-01-05T22:00")
        assert b.category[0] == category


POLICE_UK_HEADER = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
]  # fmt: skip


def uk_row(crime_id: str, crime_type: str, lon: str = "-1.5491", lat: str = "53.7996") -> list:
    return [
        crime_id, "2019-03", "West Yorkshire Police", "West Yorkshire Police", lon, lat,
        "On or near Park Lane", "E01011365", "Leeds 111B", crime_type, "", "",
    ]  # fmt: skip


def test_police_uk_month_precision_and_synthetic_ids(tmp_path):
    cid = "a" * 64
    rows = [
        POLICE_UK_HEADER,
        uk_row(cid, "Burglary"),
        uk_row("", "Anti-social behaviour"),
        uk_row("", "Anti-social behaviour"),  # identical ASB row
        uk_row("", "Anti-social behaviour", lon="-1.5500"),
        uk_row("b" * 64, "Vehicle crime", lon="", lat=""),
        uk_row("c" * 64, "Violence and sexual offences"),
    ]
    path = write_csv(tmp_path / "2019-03-west-yorkshire-street.csv", rows)
    reader = read_incidents(path)
    b = concat_batches(reader)
    assert reader.summary.files[0].format == "police_uk"
    assert b.date_precision == "month"
    assert (b.occurred_at == np.datetime64("2019-03-01T00:00")).all()
    ids = list(b.source_id)
    assert ids[0] == cid
    assert ids[1].startswith("syn-") and ids[2] == ids[1] + "-2" and ids[3] != ids[1]
    again = concat_batches(read_incidents(path))
    assert list(again.source_id) == ids  # deterministic
    assert list(b.category) == ["burglary", "other", "other", "other", "assault"]
    assert b.address[0] == "On or near Park Lane" and b.district[0] == "E01011365"
    assert [(e.row_number, e.reason) for e in b.errors] == [(6, "missing_coordinates")]


def test_preview_detects_format(tmp_path):
    path = write_csv(tmp_path / "uk.csv", [POLICE_UK_HEADER] + [uk_row("", "Drugs")] * 30)
    preview = detect_format(path, n=5)
    assert preview.format == "police_uk" and len(preview.incidents) == 5
    assert preview.columns == POLICE_UK_HEADER
    assert preview.incidents[0].category == "drugs"
    assert preview.encoding == "utf-8"


def test_preview_of_unknown_columns(tmp_path):
    path = write_csv(tmp_path / "mine.csv", [["Ref", "When", "Lon", "Lat", "Type"]])
    preview = detect_format(path)
    assert preview.format is None and preview.columns == ["Ref", "When", "Lon", "Lat", "Type"]
    mapping = {"id": "Ref", "datetime": "When", "x": "Lon", "y": "Lat", "category": "Type"}
    assert detect_format(path, mapping=mapping).format == "generic_csv"
