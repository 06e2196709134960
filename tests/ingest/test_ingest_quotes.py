"""A quote opened in one row and closed in a later one refuses the file (the rows in between
would vanish into one field); a properly quoted multi-line field is still read."""

from __future__ import annotations

import pytest

from predictions.ingest import IngestRefused, concat_batches, read_incidents

MAPPING = {"id": "id", "datetime": "when", "x": "lon", "y": "lat", "category": "what"}
HEADER = ["id", "when", "lon", "lat", "what"]


def row(n: int, what: str = "BURGLARY", first: str | None = None) -> list[str]:
    return [first or f"C-{n}", "2019-07-01 08:15", "-90.2", "38.6", what]


def write(path, rows: list[list[str]], sep: str = ",", newline: str = "\n"):
    path.write_bytes(newline.join(sep.join(r) for r in rows).encode() + newline.encode())
    return path


def refusal(path, **kwargs) -> IngestRefused:
    with pytest.raises(IngestRefused) as caught:
        concat_batches(read_incidents(path, **kwargs))
    return caught.value


def read(path, **kwargs):
    reader = read_incidents(path, **kwargs)
    return concat_batches(reader), reader.summary


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("later", [1, 2, 4])
def test_it_refuses_a_quote_closed_in_a_later_row(tmp_path, newline, later):
    # given row 3 (line 4) opening a quote in its last column that a row `later` rows
    # down closes in the same column: the merged record has the header's 5 fields
    rows = [HEADER] + [row(n) for n in range(1, 9)]
    rows[3] = row(3, '"THEFT')
    rows[3 + later] = row(3 + later, 'ROBBERY"')
    path = write(tmp_path / "merged.csv", rows, newline=newline)

    # when it is read
    refused = refusal(path, mapping=MAPPING)

    # then the file is refused, naming the line where the quote opened
    assert refused.code == "unreadable"
    assert f"quote opened on line 4 is closed only on line {4 + later}" in str(refused)


@pytest.mark.parametrize("column", [0, 2])
def test_it_refuses_a_merge_whatever_column_the_quote_opened_in(tmp_path, column):
    # given row 2 (line 3) opening a quote in another column, closed in that column of row 3
    rows = [HEADER, row(1), row(2), row(3), row(4)]
    rows[2][column] = '"' + rows[2][column]
    rows[3][column] = rows[3][column] + '"'
    path = write(tmp_path / "merged.csv", rows)

    # when it is read
    refused = refusal(path, mapping=MAPPING)

    # then the merge is refused
    assert "quote opened on line 3 is closed only on line 4" in str(refused)


def test_it_refuses_a_merged_record_with_another_field_count(tmp_path):
    # given a quote opened in the last column of line 3 and closed in the first of line 5
    rows = [HEADER, row(1), row(2, '"THEFT'), row(3), row(4, first='C-4"'), row(5)]
    path = write(tmp_path / "merged.csv", rows)

    # when it is read
    refused = refusal(path, mapping=MAPPING)

    # then the file is refused, not one malformed row with two records silently gone
    assert "quote opened on line 3 is closed only on line 5" in str(refused)
    assert "9 fields where the header has 5" in str(refused)


def test_it_refuses_a_merge_in_a_semicolon_separated_file(tmp_path):
    # given a semicolon-separated file (commas inside values) with a merge
    rows = [HEADER, row(1, "THEFT, FROM VEHICLE"), row(2, '"THEFT'), row(3, 'ROBBERY"'), row(4)]
    path = write(tmp_path / "merged.csv", rows, sep=";")

    # when it is read
    refused = refusal(path, mapping=MAPPING)

    # then the semicolons are what is counted
    assert "quote opened on line 3 is closed only on line 4" in str(refused)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_it_reads_a_quoted_field_holding_a_line_break(tmp_path, newline):
    # given a properly quoted multi-line description (with commas) in row 2
    text = '"THEFT, FROM VEHICLE' + newline + 'window smashed, radio taken"'
    rows = [HEADER, row(1), row(2, text), row(3)]
    path = write(tmp_path / "multi.csv", rows, newline=newline)

    # when it is read
    batch, summary = read(path, mapping=MAPPING)

    # then every row is kept, the description whole
    assert list(batch.source_id) == ["C-1", "C-2", "C-3"]
    assert batch.raw_category[1] == text.strip('"')
    assert summary.rejected_total == 0


def test_it_reads_a_multi_line_field_whose_lines_look_like_prose_not_rows(tmp_path):
    # given a quoted field of three lines, the middle one with commas but not a row's worth
    text = '"ASSAULT\nvictim, 34, treated at scene\nsuspect fled"'
    rows = [HEADER, row(1, text), row(2)]
    path = write(tmp_path / "multi.csv", rows)

    # when it is read
    batch, summary = read(path, mapping=MAPPING)

    # then both rows are kept
    assert list(batch.source_id) == ["C-1", "C-2"]
    assert summary.rejected_total == 0


def test_it_names_the_line_of_the_quote_past_legitimate_multi_line_fields(tmp_path):
    # given a two-line field in row 1 (lines 2-3), and row 3 (from line 5) whose two-line id
    # (lines 5-6) comes before a quote opened on line 6 and closed on line 7
    rows = [HEADER, row(1, '"THEFT\nFROM VEHICLE"'), row(2),
            row(3, '"THEFT', first='"C-3\nA"'), row(4, 'X"')]
    path = write(tmp_path / "both.csv", rows)

    # when it is read
    refused = refusal(path, mapping=MAPPING)

    # then the line numbers count the physical lines
    assert "quote opened on line 6 is closed only on line 7: lines 5-7" in str(refused)
