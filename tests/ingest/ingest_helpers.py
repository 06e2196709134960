"""Helpers shared by the ingest tests: data paths and hand-made sample files."""

from __future__ import annotations

import csv
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SLMPD_TAR = DATA / "stl" / "slmpd_raw_monthly_2015_2019.tar.gz"
HARMONIZED = DATA / "stl" / "stl_2015_2019_harmonized.csv.gz"
CITY = DATA / "stl" / "geo" / "stl_city_boundary.geojson"
NIJ = [DATA / "portland" / "NIJ2016_AUG01_AUG31.zip", DATA / "portland" / "NIJ2016_SEP01_SEP30.zip"]
PORTLAND_CSV = DATA / "portland" / "portland_cfs_2016-08_2016-09.csv.gz"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8", bom: bool = False) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    data = buf.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def write_csv(path: Path, rows: list[list[str]], **kwargs: object) -> Path:
    path.write_bytes(csv_bytes(rows, **kwargs))  # type: ignore[arg-type]
    return path


SLMPD_HEADER = [
    "Complaint", "CodedMonth", "DateOccur", "FlagCrime", "FlagUnfounded", "FlagAdministrative",
    "Count", "FlagCleanup", "Crime", "District", "Description", "ILEADSAddress", "ILEADSStreet",
    "Neighborhood", "LocationName", "LocationComment", "CADAddress", "CADStreet", "XCoord",
    "YCoord",
]  # fmt: skip


def slmpd_row(
    complaint: str = "19-000001",
    date: str = "1/2/2019 13:45",
    count: str = "1",
    crime: str = "31111",
    desc: str = "ROBBERY-HIGHWAY  /FIREARM USED/SUCCESSFUL",
    x: str = "882454.8",
    y: str = "1034517",
) -> list[str]:
    return [
        complaint, "2019-01", date, "Y", " ", " ", count, " ", crime, "5", desc, "1700",
        "HAMILTON AVE", "50", " ", " ", "1700", "HAMILTON", x, y,
    ]  # fmt: skip


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A deflated zip of ``members`` (name -> bytes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def tar_gz_bytes(members: dict[str, bytes], link: str | None = None) -> bytes:
    """A tar.gz of ``members``; ``link`` adds a symlink of that name to /etc/passwd."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tf.addfile(info)
    return buf.getvalue()
