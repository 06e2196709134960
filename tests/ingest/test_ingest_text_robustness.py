"""Text uploads that are damaged or unusual: unclosed quotes, NUL bytes, other delimiters."""

from __future__ import annotations

import pytest
from ingest_helpers import SLMPD_HEADER, slmpd_row

from predictions.ingest import IngestRefused, concat_batches, read_incidents

MAPPING = {"id": "id", "datetime": "when", "x": "lon", "y": "lat", "category": "what"}
HEADER = "id,when,lon,lat,what"


def row(n: int, what: str = "BURGLARY", sep: str = ",") -> str:
    return sep.join([f"C-{n}", "2019-07-01 08:15", "-90.2", "38.6", what])


def write(path, lines: list[str], newline: str = "\n", last: bool = True):
    path.write_bytes((newline.join(lines) + (newline if last else "")).encode())
    return path


def refusal(path, **kwargs) -> IngestRefused:
    with pytest.raises(IngestRefused) as caught:
        concat_batches(read_incidents(path, **kwargs))
    return caught.value


@pytest.mark.parametrize(("newline", "last"), [("\n", True), ("\r\n", True), ("\n", False)])
def test_it_refuses_a_file_whose_quote_is_never_closed(tmp_path, newline, last):
    # given a header and 5 rows, the 3rd (line 4) ending in a quote that is never closed
    lines = [HEADER, row(1), row(2), row(3, '"THEFT'), row(4), row(5), row(6)]
    path = write(tmp_path / "open.csv", lines, newline, last)

    # when it is read
    refused = refusal(path, mapping=MAPPING)

    # then the whole file is refused, naming the line of the quote
    assert refused.code == "unreadable"
    assert "unclosed quote starting near line 4" in str(refused)


def test_it_refuses_a_header_whose_quote_is_never_closed(tmp_path):
    # given a header whose last name opens a quote that is never closed
    path = write(tmp_path / "open.csv", ['id,when,lon,lat,"what', row(1), row(2)])

    # when it is read
    refused = refusal(path, mapping=MAPPING)

    # then the file is refused as unreadable, not as a mapping that does not fit
    assert refused.code == "unreadable"
    assert "unclosed quote starting near line 1" in str(refused)


def test_a_quote_closed_early_is_still_read_leniently(tmp_path):
    # given a quoted field with stray text after its closing quote (sloppy but readable)
    lines = [HEADER, row(1, '"5" PIPE"'), row(2, '"ROBBERY"'), row(3, 'A "B" C')]
    path = write(tmp_path / "sloppy.csv", lines)

    # when it is read
    batch = concat_batches(read_incidents(path, mapping=MAPPING))

    # then every row is kept, as the lenient reader always read them
    assert list(batch.raw_category) == ['5 PIPE"', "ROBBERY", 'A "B" C']


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("bad", ["TH\x00EFT", "\x00THEFT"])
def test_it_refuses_a_nul_byte_after_the_first_4_kib(tmp_path, newline, bad):
    # given 299 good rows and then a row holding a NUL byte (line 301, past the first 4 KiB)
    lines = [HEADER] + [row(n) for n in range(1, 300)] + [row(300, bad), row(301)]
    if bad.startswith("\x00"):
        lines[300] = bad + lines[300]  # the very first byte of its line
    path = write(tmp_path / "nul.csv", lines, newline)
    assert path.read_bytes().index(b"\x00") > 4096

    # when it is read
    refused = refusal(path, mapping=MAPPING)

    # then the file is refused (before any database sees the NUL), naming its line
    assert refused.code == "unreadable"
    assert "NUL byte on line 301" in str(refused)


def test_it_reads_a_tab_separated_file(tmp_path):
    # given an SLMPD export saved as .tsv, with commas inside its values
    rows = [SLMPD_HEADER, slmpd_row(desc="LARCENY-FROM, VEHICLE"), slmpd_row(complaint="19-2")]
    path = write(tmp_path / "slmpd.tsv", ["\t".join(r) for r in rows], newline="\r\n")

    # when it is read without naming a format
    reader = read_incidents(path)
    batch = concat_batches(reader)

    # then its format is recognised and each tab-separated field lands in its column
    assert reader.summary.files[0].format == "slmpd"
    assert list(batch.source_id) == ["19-000001:31111", "19-2:31111"]
    assert batch.raw_category[0] == "LARCENY-FROM, VEHICLE"
    assert reader.summary.rejected_total == 0


def test_it_reads_a_semicolon_separated_file(tmp_path):
    # given a spreadsheet export separated by semicolons, with commas inside a value
    lines = [HEADER.replace(",", ";"), row(1, "THEFT, FROM VEHICLE", sep=";"), row(2, sep=";")]
    path = write(tmp_path / "export.csv", lines)

    # when it is read with a mapping
    batch = concat_batches(read_incidents(path, mapping=MAPPING))

    # then the semicolons separate the fields
    assert list(batch.source_id) == ["C-1", "C-2"]
    assert list(batch.raw_category) == ["THEFT, FROM VEHICLE", "BURGLARY"]


def test_a_comma_inside_a_quoted_header_name_does_not_decide_the_delimiter(tmp_path):
    # given a tab-separated file whose quoted last column name holds more commas than tabs
    header = 'id\twhen\tlon\tlat\t"what, where, how, why, when"'
    path = write(tmp_path / "quoted.txt", [header, row(1, sep="\t"), row(2, sep="\t")])
    mapping = MAPPING | {"category": "what, where, how, why, when"}

    # when it is read
    batch = concat_batches(read_incidents(path, mapping=mapping))

    # then the fields are split on tabs (commas in quotes do not count)
    assert list(batch.source_id) == ["C-1", "C-2"]
