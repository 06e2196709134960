"""Every rejection reason, counted, and the formula-safe error report."""

from __future__ import annotations

import csv
import io
from datetime import date

from ingest_helpers import SLMPD_HEADER, slmpd_row, write_csv

from predictions.ingest import (
    REASONS,
    RowError,
    concat_batches,
    csv_safe,
    read_incidents,
    write_error_csv,
)


def test_each_reason(tmp_path):
    rows = [
        SLMPD_HEADER,
        slmpd_row(complaint="19-1"),  # ok (row 2)
        slmpd_row(complaint=""),  # missing_id
        slmpd_row(complaint="19-3", date="02/30/2019 10:00"),  # unparseable_date
        slmpd_row(complaint="19-4", date="01/01/1900 00:00"),  # date_out_of_range
        slmpd_row(complaint="19-5", x="", y=""),  # missing_coordinates
        slmpd_row(complaint="19-6", x="abc"),  # invalid_coordinates
        slmpd_row(complaint="19-7", x="1e30"),  # invalid: not a position
        slmpd_row(complaint="19-8", x="1200000"),  # out_of_area (bbox)
        slmpd_row(complaint="19-9", desc="SPACE PIRACY"),  # unknown_category (strict)
        slmpd_row(complaint="19-10", count="2"),  # invalid_count
        slmpd_row(complaint="19-11")[:5],  # malformed_row
        slmpd_row(complaint="19-12", x="0", y="0"),  # withheld: kept
        slmpd_row(complaint="19-13", count="-1", date="garbage", x="", y=""),  # cancellation
        [],  # blank line: not a row
    ]
    path = write_csv(tmp_path / "bad.csv", rows)
    reader = read_incidents(
        path,
        strict_categories=True,
        bbox=(-90.33, 38.53, -90.16, 38.78),
        date_range=(date(2000, 1, 1), date(2020, 12, 31)),
    )
    b = concat_batches(reader)
    got = {e.raw.get("Complaint"): (e.row_number, e.reason) for e in b.errors}
    assert got == {
        "": (3, "missing_id"),
        "19-3": (4, "unparseable_date"),
        "19-4": (5, "date_out_of_range"),
        "19-5": (6, "missing_coordinates"),
        "19-6": (7, "invalid_coordinates"),
        "19-7": (8, "invalid_coordinates"),
        "19-8": (9, "out_of_area"),
        "19-9": (10, "unknown_category"),
        "19-10": (11, "invalid_count"),
        "19-11": (12, "malformed_row"),
    }
    assert set(REASONS) == {reason for _, reason in got.values()}
    assert list(b.source_id) == ["19-1:31111", "19-12:31111", "19-13:31111"]
    assert b.cancels.tolist() == [False, False, True]
    s = reader.summary
    assert (s.rows_read, s.records, s.cancellations, s.withheld) == (13, 2, 1, 1)
    assert s.rejected_total == 10 and s.balanced and s.blank_lines == 1
    assert all(e.source == "bad.csv" and e.message for e in b.errors)


def test_error_csv_is_formula_safe():
    errors = [
        RowError(2, "missing_id", {"a": '=HYPERLINK("http://x")'}, "=cmd|' /C calc'!A0"),
        RowError(3, "unparseable_date", {"b": "x"}, "+1", detail="-2+3"),
        RowError(4, "out_of_area", {}, "@SUM(A1)"),
        RowError(5, "out_of_area", {}, "\tTAB"),
        RowError(6, "out_of_area", {}, "\rCR"),
        RowError(7, "out_of_area", {}, "plain.csv"),
    ]
    out = io.StringIO()
    assert write_error_csv(errors, out) == 6
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["source", "row_number", "reason", "message", "raw"]
    sources = [r[0] for r in rows[1:]]
    assert sources == ["'=cmd|' /C calc'!A0", "'+1", "'@SUM(A1)", "'\tTAB", "'\rCR", "plain.csv"]
    assert rows[1][4].startswith("{") and "HYPERLINK" in rows[1][4]
    assert rows[2][3].endswith(": -2+3")
    assert csv_safe("-5") == "'-5" and csv_safe(None) == "" and csv_safe(12) == "12"
