"""Containers (.gz, .zip, .tar.gz, several files), encodings and refusals."""

from __future__ import annotations

import gzip
import io

import pytest
from ingest_helpers import SLMPD_HEADER, csv_bytes, slmpd_row, tar_gz_bytes, zip_bytes

from predictions.ingest import IngestRefused, concat_batches, read_incidents

SAMPLE = csv_bytes([SLMPD_HEADER, slmpd_row(), slmpd_row(complaint="19-000002")])


def ids(source, **kwargs) -> list[str]:
    return list(concat_batches(read_incidents(source, **kwargs)).source_id)


EXPECTED = ["19-000001:31111", "19-000002:31111"]


def test_plain_gz_zip_tar_and_several_uploads(tmp_path):
    assert ids(("m.csv", io.BytesIO(SAMPLE))) == EXPECTED
    assert ids(("m.csv.gz", io.BytesIO(gzip.compress(SAMPLE)))) == EXPECTED
    zipped = zip_bytes({"a/jan.csv": SAMPLE, "README.md": b"hello", "__MACOSX/._jan.csv": b"x"})
    reader = read_incidents(("up.zip", io.BytesIO(zipped)))
    assert list(concat_batches(reader).source_id) == EXPECTED
    assert reader.summary.skipped_members == ["up.zip:README.md", "up.zip:__MACOSX/._jan.csv"]
    tgz = tar_gz_bytes({"data/jan.csv": SAMPLE, "data/feb.csv": SAMPLE})
    assert ids(("all.tar.gz", io.BytesIO(tgz))) == EXPECTED * 2
    (tmp_path / "one.csv").write_bytes(SAMPLE)
    (tmp_path / "two.csv.gz").write_bytes(gzip.compress(SAMPLE))
    reader = read_incidents([tmp_path / "one.csv", str(tmp_path / "two.csv.gz")])
    assert list(concat_batches(reader).source_id) == EXPECTED * 2
    assert [f.name for f in reader.summary.files] == ["one.csv", "two.csv"]


def test_encodings():
    latin = csv_bytes([SLMPD_HEADER, slmpd_row(desc="LARCENY-CAFÉ UNDER $500")], "latin-1")
    reader = read_incidents(("l.csv", io.BytesIO(latin)))
    b = concat_batches(reader)
    assert b.raw_category[0] == "LARCENY-CAFÉ UNDER $500" and b.category[0] == "theft"
    assert reader.summary.files[0].encoding == "cp1252"
    utf8_bom = csv_bytes([SLMPD_HEADER, slmpd_row(desc="LARCENY-CAFÉ UNDER $500")], bom=True)
    reader = read_incidents(("u.csv", io.BytesIO(utf8_bom)))
    b = concat_batches(reader)
    assert reader.summary.files[0].format == "slmpd"  # BOM did not spoil "Complaint"
    assert b.raw_category[0] == "LARCENY-CAFÉ UNDER $500"
    assert reader.summary.files[0].encoding == "utf-8"
    cp1252 = csv_bytes([SLMPD_HEADER, slmpd_row(desc="LARCENY – “QUOTED”")], "cp1252")
    assert concat_batches(read_incidents(("c.csv", io.BytesIO(cp1252)))).raw_category[0] == (
        "LARCENY – “QUOTED”"
    )


def refused(source, code: str, **kwargs) -> IngestRefused:
    with pytest.raises(IngestRefused) as info:
        list(read_incidents(source, **kwargs))
    assert info.value.code == code, str(info.value)
    return info.value


def test_zip_bomb_declared_size():
    bomb = zip_bytes({"big.csv": SAMPLE + b"\n" * 5_000_000})
    err = refused(("bomb.zip", io.BytesIO(bomb)), "archive_too_large")
    assert "zip bomb" in str(err)


def test_zip_bomb_lying_header():
    """A member whose headers understate its size is refused while streaming (never more
    than the declared bytes are produced; the CRC check then fails)."""
    data = bytearray(zip_bytes({"m.csv": SAMPLE + b"\r\n" * 50_000}))
    real = len(SAMPLE) + 100_000
    fake = len(SAMPLE).to_bytes(4, "little")
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # local header and central directory
        pos = data.find(sig)
        offset = 22 if sig == b"PK\x03\x04" else 24
        assert int.from_bytes(data[pos + offset : pos + offset + 4], "little") == real
        data[pos + offset : pos + offset + 4] = fake
    err = refused(("lie.zip", io.BytesIO(bytes(data))), "unreadable")
    assert "corrupt" in str(err)


def test_gzip_bomb_counted_while_streaming():
    bomb = gzip.compress(SAMPLE + b"\r\n" * 300_000)
    assert len(bomb) * 50 < 600_000
    refused(("bomb.csv.gz", io.BytesIO(bomb)), "archive_too_large", max_expand_ratio=50)
    # the same file is fine with a looser ratio
    assert len(ids(("bomb.csv.gz", io.BytesIO(bomb)), max_expand_ratio=10_000)) == 2


@pytest.mark.parametrize("name", ["/etc/cron.d/x.csv", "../../x.csv", "a/../../x.csv", "C:\\x.csv"])
def test_unsafe_zip_paths(name):
    zipped = zip_bytes({"ok.csv": SAMPLE, name: SAMPLE})
    refused(("evil.zip", io.BytesIO(zipped)), "unsafe_path")


def test_unsafe_tar_members():
    refused(("evil.tar.gz", io.BytesIO(tar_gz_bytes({"../x.csv": SAMPLE}))), "unsafe_path")
    linked = tar_gz_bytes({"a.csv": SAMPLE}, link="b.csv")
    refused(("link.tar.gz", io.BytesIO(linked)), "unsafe_path")


def test_other_refusals(tmp_path):
    refused(("big.csv", io.BytesIO(SAMPLE)), "too_large", max_bytes=100)
    refused(("x.pdf", io.BytesIO(b"%PDF-1.4\x00\x00\x01binary")), "unreadable")
    refused(("u16.csv", io.BytesIO("a,b\n".encode("utf-16"))), "unreadable")
    refused(("empty.csv", io.BytesIO(b"")), "unreadable")
    refused(("bad.zip", io.BytesIO(b"PK\x03\x04garbage")), "unreadable")
    refused(("nested.zip", io.BytesIO(zip_bytes({"in.zip": zip_bytes({"a.csv": SAMPLE})}))),
            "unreadable")  # fmt: skip
    refused(("what.csv", io.BytesIO(b"foo,bar\n1,2\n")), "unknown_format")
    xlsx = zip_bytes({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<x/>"})
    assert "Excel" in str(refused(("book.xlsx", io.BytesIO(xlsx)), "unknown_format"))
    refused(("s.csv", io.BytesIO(SAMPLE)), "unknown_format", format="nij_shapefile")
    with pytest.raises(IngestRefused, match="unknown format"):
        read_incidents(("s.csv", io.BytesIO(SAMPLE)), format="excel")
    refused(tmp_path / "missing.csv", "unreadable")


def test_format_override(tmp_path):
    """A file can always be read by naming its format."""
    assert ids(("s.csv", io.BytesIO(SAMPLE)), format="slmpd") == EXPECTED
