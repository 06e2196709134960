"""Row-level rejections, whole-upload refusals and the formula-safe error report."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from common.csv_safe import safe_cell

# Row rejection reasons (stable codes; the Django side may store them).
MISSING_ID = "missing_id"
MALFORMED_ROW = "malformed_row"
INVALID_COUNT = "invalid_count"
UNPARSEABLE_DATE = "unparseable_date"
DATE_OUT_OF_RANGE = "date_out_of_range"
MISSING_COORDINATES = "missing_coordinates"
INVALID_COORDINATES = "invalid_coordinates"
OUT_OF_AREA = "out_of_area"
UNKNOWN_CATEGORY = "unknown_category"

REASONS: dict[str, str] = {
    MISSING_ID: "the row has no incident id",
    MALFORMED_ROW: "the row does not have the same number of fields as the header",
    INVALID_COUNT: "the count/adjustment field is neither 1 nor -1",
    UNPARSEABLE_DATE: "the occurrence date could not be read",
    DATE_OUT_OF_RANGE: "the occurrence date is outside the accepted range (placeholder or typo)",
    MISSING_COORDINATES: "the row has no coordinates",
    INVALID_COORDINATES: "the coordinates are not numbers or not a valid position",
    OUT_OF_AREA: "the position lies outside the agency's area",
    UNKNOWN_CATEGORY: "the offence text matches no category rule (strict mapping)",
}


@dataclass(frozen=True, slots=True)
class RowError:
    """One rejected input row: where it was, why, and its raw cells."""

    row_number: int
    reason: str
    raw: dict[str, str] = field(default_factory=dict)
    source: str = ""
    detail: str = ""

    @property
    def message(self) -> str:
        text = REASONS.get(self.reason, self.reason)
        return f"{text}: {self.detail}" if self.detail else text


class IngestRefused(Exception):
    """A whole input is refused (too large, unsafe archive, unreadable, unknown format...)."""

    def __init__(self, code: str, message: str, source: str = "") -> None:
        self.code = code
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class MappingError(IngestRefused):
    """The column mapping given for a generic CSV is invalid for the file."""

    def __init__(self, message: str, source: str = "") -> None:
        super().__init__("bad_mapping", message, source)


# Cells are rendered so spreadsheets never evaluate them (one rule for the whole portal).
csv_safe = safe_cell


ERROR_CSV_HEADER = ("source", "row_number", "reason", "message", "raw")


def error_csv_row(err: RowError) -> list[str]:
    """One row of an error report, under ERROR_CSV_HEADER (formula-injection safe)."""
    raw = json.dumps(err.raw, ensure_ascii=False)
    return [csv_safe(c) for c in (err.source, err.row_number, err.reason, err.message, raw)]


def write_error_csv(errors: Iterable[RowError], out: TextIO) -> int:
    """Write an error report CSV (formula-injection safe); return the number of rows written."""
    writer = csv.writer(out)
    writer.writerow(ERROR_CSV_HEADER)
    count = 0
    for err in errors:
        writer.writerow(error_csv_row(err))
        count += 1
    return count
