"""Damaged or unusual archives: a clear refusal (never a raw exception), one zip-bomb
budget per upload however deeply nested, and macOS AppleDouble files skipped."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import random
import zipfile

import pytest
import shapefile
from ingest_helpers import SLMPD_HEADER, csv_bytes, slmpd_row, tar_gz_bytes, zip_bytes
from pyproj import CRS

from predictions.ingest import IngestRefused, concat_batches, read_incidents

SAMPLE = csv_bytes([SLMPD_HEADER, slmpd_row(), slmpd_row(complaint="19-000002")])
APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + b"\x00" * 200
MB = 1024**2


def nij_parts(n: int = 3) -> dict[str, bytes]:
    """A small NIJ-style point shapefile package (EPSG:2913), built in memory."""
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    with shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shapefile.POINT) as w:
        w.field("final_case", "C", 8)
        w.field("CASE_DESC", "C", 40)
        w.field("occ_date", "D")
        for i in range(n):
            w.point(7_650_000 + i * 100, 680_000 + i * 100)
            w.record(f"DISTP{i}", "DISTURBANCE - PRIORITY", dt.date(2016, 8, 1 + i))
    prj = CRS.from_epsg(2913).to_wkt().encode()
    return {"shp": shp.getvalue(), "shx": shx.getvalue(), "dbf": dbf.getvalue(), "prj": prj}


def nij_zip(parts: dict[str, bytes]) -> bytes:
    return zip_bytes({f"calls.{ext}": data for ext, data in parts.items()})


def refused(source, **kwargs) -> IngestRefused:
    with pytest.raises(IngestRefused) as info:
        list(read_incidents(source, **kwargs))
    return info.value


def _set_compress_type(data: bytes, method: int) -> bytes:
    """Rewrite every member's compression method in the local and central headers."""
    out = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        pos = out.find(sig)
        while pos != -1:
            out[pos + offset : pos + offset + 2] = method.to_bytes(2, "little")
            pos = out.find(sig, pos + 4)
    return bytes(out)


def test_a_deflate64_zip_member_is_refused_as_unreadable_naming_the_member():
    # given a zip whose CSV member is compressed with Deflate64 (method 9)
    deflate64 = _set_compress_type(zip_bytes({"jan.csv": SAMPLE}), 9)
    # when it is read
    err = refused(("d64.zip", io.BytesIO(deflate64)))
    # then it is refused as unreadable, naming the member and the unsupported method
    assert err.code == "unreadable"
    assert "d64.zip:jan.csv" in str(err) and "not supported" in str(err)


def test_a_zip_member_with_a_bad_local_header_is_refused_as_unreadable():
    # given a shapefile package whose .dbf local header is damaged
    data = bytearray(nij_zip(nij_parts()))
    offset = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("calls.dbf").header_offset
    data[offset : offset + 4] = b"XXXX"
    # when it is read
    err = refused(("bad.zip", io.BytesIO(bytes(data))))
    # then it is refused as unreadable, naming the member
    assert err.code == "unreadable" and "bad.zip:calls.dbf" in str(err)


@pytest.mark.parametrize(
    ("part", "keep"),
    [("dbf", 0.8), ("dbf", 20), ("shp", 0.8), ("shp", 50)],
    ids=["dbf-mid-record", "dbf-header", "shp-mid-shape", "shp-header"],
)
def test_a_truncated_shapefile_part_is_refused_as_unreadable(part, keep):
    # given a package whose .dbf or .shp was cut short (in a record or in its header)
    parts = nij_parts()
    size = int(len(parts[part]) * keep) if keep < 1 else keep
    parts[part] = parts[part][:size]
    # when it is read
    err = refused(("cut.zip", io.BytesIO(nij_zip(parts))))
    # then it is refused as unreadable, naming the shapefile
    assert err.code == "unreadable" and "cut.zip:calls.shp" in str(err)


def test_a_shapefile_package_without_its_shx_is_read_from_the_shp_alone():
    # given a package that lacks its .shx index (pyshp can read the .shp sequentially)
    parts = nij_parts()
    del parts["shx"]
    # when it is read
    reader = read_incidents(("noshx.zip", io.BytesIO(nij_zip(parts))))
    # then every call comes out
    assert len(concat_batches(reader)) == reader.summary.rows_read == 3


def test_a_truncated_shp_without_its_shx_is_refused_as_unreadable():
    # given a package without .shx whose .shp is cut in its last shape
    parts = nij_parts()
    del parts["shx"]
    parts["shp"] = parts["shp"][:-5]
    # when it is read
    err = refused(("noshx.zip", io.BytesIO(nij_zip(parts))))
    # then it is refused as unreadable
    assert err.code == "unreadable" and "noshx.zip:calls.shp" in str(err)


def test_a_dbf_with_more_records_than_the_shp_has_shapes_is_refused():
    # given a .dbf of four calls packaged with the .shp/.shx of three
    parts = nij_parts(3)
    parts["dbf"] = nij_parts(4)["dbf"]
    # when it is read
    err = refused(("odd.zip", io.BytesIO(nij_zip(parts))))
    # then it is refused as unreadable, saying the two files disagree
    assert err.code == "unreadable" and "disagree" in str(err)


def _month(seed: int, rows: int = 10_000) -> bytes:
    """About 1.6 MB of plausible SLMPD rows (compresses roughly tenfold)."""
    rnd = random.Random(seed)
    body = [
        slmpd_row(complaint=f"19-{rnd.randrange(10**6):06d}", x=f"{rnd.uniform(8e5, 9e5):.1f}")
        for _ in range(rows)
    ]
    return csv_bytes([SLMPD_HEADER, *body])


def test_a_zip_of_gz_members_has_one_expansion_budget():
    # given three .csv.gz members that together expand beyond the 4 MB limit
    months = {f"m{i}.csv.gz": gzip.compress(_month(i)) for i in range(3)}
    assert sum(len(gzip.decompress(d)) for d in months.values()) > 4 * MB
    # when the zip is read
    err = refused(("months.zip", io.BytesIO(zip_bytes(months))), max_expanded_bytes=4 * MB)
    # then it is refused as a zip bomb, as the same data in plain .csv members would be
    assert err.code == "archive_too_large" and "months.zip" in str(err)


def test_a_zip_of_tar_gz_members_has_one_expansion_budget():
    # given three .tar.gz members (one month each) that together expand beyond 4 MB
    months = {f"m{i}.tar.gz": tar_gz_bytes({f"m{i}.csv": _month(i)}) for i in range(3)}
    # when the zip is read
    err = refused(("nested.zip", io.BytesIO(zip_bytes(months))), max_expanded_bytes=4 * MB)
    # then it is refused as a zip bomb
    assert err.code == "archive_too_large"


def test_it_skips_and_lists_appledouble_files_in_a_zip():
    # given a zip made on a Mac: a CSV with its AppleDouble twin next to it
    zipped = zip_bytes({"jan.csv": SAMPLE, "._jan.csv": APPLEDOUBLE, "d/._feb.csv": APPLEDOUBLE})
    # when it is read
    reader = read_incidents(("mac.zip", io.BytesIO(zipped)))
    whole = concat_batches(reader)
    # then the CSV is read and the AppleDouble files are listed as skipped
    assert len(whole) == 2
    assert reader.summary.skipped_members == ["mac.zip:._jan.csv", "mac.zip:d/._feb.csv"]


def test_it_skips_and_lists_appledouble_files_in_a_tar_gz():
    # given a tar.gz made by macOS tar: AppleDouble files, top level and under __MACOSX/
    tgz = tar_gz_bytes(
        {"._jan.csv": APPLEDOUBLE, "jan.csv": SAMPLE, "__MACOSX/._jan.csv": APPLEDOUBLE}
    )
    # when it is read
    reader = read_incidents(("mac.tar.gz", io.BytesIO(tgz)))
    whole = concat_batches(reader)
    # then the CSV is read and the AppleDouble files are listed as skipped
    assert len(whole) == 2
    assert reader.summary.skipped_members == [
        "mac.tar.gz:._jan.csv",
        "mac.tar.gz:__MACOSX/._jan.csv",
    ]
