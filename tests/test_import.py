"""Incident import through the same path as the upload page and the command."""

from __future__ import annotations

import csv
import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from predictions.incidents import importer
from predictions.incidents.actions import (
    AlreadyUploaded,
    UploadRefused,
    do_delete_dataset,
    do_upload,
)
from predictions.incidents.importer import error_report_path
from predictions.models import Dataset, Incident, PendingCancellation
from tests.samples import GENERIC_CSV, GENERIC_MAPPING, import_sample

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SLMPD_TAR = DATA / "stl" / "slmpd_raw_monthly_2015_2019.tar.gz"


@pytest.fixture(scope="session")
def slmpd_months(tmp_path_factory) -> dict[str, Path]:
    """Two real SLMPD monthly files, exactly as published."""
    folder = tmp_path_factory.mktemp("slmpd")
    wanted = {"data/raw/2019/january2019.csv", "data/raw/2019/february2019.csv"}
    with tarfile.open(SLMPD_TAR) as tar:
        for member in tar.getmembers():
            if member.name in wanted:
                (folder / Path(member.name).name).write_bytes(tar.extractfile(member).read())
    return {p.stem: p for p in folder.iterdir()}


def run_command(*args) -> dict:
    out = io.StringIO()
    call_command("import_incidents", *args, stdout=out)
    return json.loads(out.getvalue())


def test_it_imports_a_generic_csv_with_a_mapping(world):
    dataset = world.dataset
    assert dataset.status == Dataset.Status.DONE
    assert (dataset.rows_read, dataset.imported, dataset.rejected) == (4, 3, 1)
    incident = Incident.objects.get(agency=world.alpha, source_id="G-1")
    assert incident.category == "burglary"
    assert incident.raw_category == "BURGLARY-RESIDENCE"
    assert incident.occurred_at.isoformat() == "2024-03-01T16:15:00+00:00"  # Chicago, CST


def test_the_error_report_names_row_and_reason_and_is_formula_safe(world):
    rows = list(csv.DictReader(error_report_path(world.dataset).open()))
    assert [(r["row_number"], r["reason"]) for r in rows] == [("4", "unparseable_date")]
    assert "'=cmd" in rows[0]["raw"] or not rows[0]["raw"].startswith("=")
    response = world.client_for("anna").get(
        reverse("dataset-errors", args=["alpha", world.dataset.pk]))
    assert b"unparseable_date" in b"".join(response.streaming_content)


def test_it_imports_slmpd_files_with_cancellations_and_withheld_locations(world, slmpd_months):
    result = run_command("--agency", "alpha", str(slmpd_months["january2019"]))
    dataset = Dataset.objects.get(pk=result["dataset"])
    summary = dataset.summary
    # every row is accounted for: records + cancelling rows + rejected rows
    accounted = summary["records"] + summary["cancellations"] + result["rejected"]
    assert summary["rows_read"] == accounted
    assert result["read"] == summary["rows_read"] > 3000
    # records are imported once per id; repeated rows of one incident are duplicates
    assert result["imported"] + result["duplicates"] == summary["records"]
    assert Incident.objects.filter(dataset=dataset).count() == result["imported"]
    assert Incident.objects.filter(dataset=dataset, location_withheld=True).exists()
    assert Incident.objects.filter(dataset=dataset, cancelled=True).count() == result["cancelled"]
    assert dataset.format == "slmpd"


def test_a_re_upload_of_the_same_file_is_recognised(world, slmpd_months):
    run_command("--agency", "alpha", str(slmpd_months["january2019"]))
    with pytest.raises(CommandError, match="already uploaded"):
        run_command("--agency", "alpha", str(slmpd_months["january2019"]))


def test_overlapping_files_do_not_duplicate_incidents(world):
    first = import_sample(world.alpha, world.anna)
    extra = "G-5,2024-03-04T09:00:00,-90.22,38.60,ROBBERY,400 PINE ST\n"
    second = import_sample(world.alpha, world.anna, text=GENERIC_CSV + extra,
                           name="sample-plus.csv")
    assert first.pk != second.pk
    assert (second.imported, second.duplicates) == (1, 3)
    assert Incident.objects.filter(agency=world.alpha).count() == 4


def test_a_cancelling_record_in_a_later_upload_marks_the_incident(world, slmpd_months, tmp_path):
    run_command("--agency", "alpha", str(slmpd_months["january2019"]))
    target = Incident.objects.filter(agency=world.alpha, cancelled=False).first()
    complaint, code = target.source_id.split(":")
    lines = slmpd_months["january2019"].read_bytes().decode("latin-1").splitlines()
    header = lines[0]
    row = next(line for line in lines[1:] if line.startswith(complaint + ","))
    cells = next(csv.reader([row]))
    columns = next(csv.reader([header.lstrip("\ufeff")]))
    cells[columns.index("Count")] = "-1"
    cells[columns.index("Crime")] = code
    cancel = tmp_path / "march2019.csv"
    buffer = io.StringIO()
    csv.writer(buffer).writerows([columns, cells])
    cancel.write_text(buffer.getvalue())

    result = run_command("--agency", "alpha", "--format", "slmpd", str(cancel))

    assert result["cancelled"] == 1
    target.refresh_from_db()
    assert target.cancelled


def test_it_imports_a_portland_shapefile_package(world):
    result = run_command("--agency", "alpha", str(DATA / "portland" / "NIJ2016_AUG01_AUG31.zip"))
    assert result["read"] == 19376
    assert result["imported"] + result["duplicates"] + result["rejected"] == 19376
    assert result["imported"] > 19000  # calls have no id of their own; each row is one call


SOCRATA = (
    "ID,Case Number,Date,Block,IUCR,Primary Type,Description,Location Description,Arrest,"
    "Domestic,Beat,District,Ward,Community Area,FBI Code,X Coordinate,Y Coordinate,Year,"
    "Updated On,Latitude,Longitude,Location\n"
    "11556789,JC100001,01/05/2019 11:30:00 PM,001XX N STATE ST,0610,BURGLARY,FORCIBLE ENTRY,"
    "RESIDENCE,false,false,0111,001,42,32,05,1176000,1901000,2019,01/12/2019 03:00:00 PM,"
    "41.88,-87.63,\"(41.88, -87.63)\"\n"
    "11556790,JC100002,01/06/2019 01:00:00 AM,002XX W MADISON ST,0820,THEFT,$500 AND UNDER,"
    "STREET,false,false,0122,001,42,32,06,1174000,1900000,2019,01/12/2019 03:00:00 PM,"
    "41.88,-87.64,\"(41.88, -87.64)\"\n"
)
POLICE_UK = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
    "LSOA name,Crime type,Last outcome category,Context\n"
    "abc123,2024-01,Avon and Somerset Constabulary,Avon and Somerset Constabulary,-2.51,"
    "51.41,On or near Park Street,E01014399,Bath 001A,Burglary,Under investigation,\n"
    ",2024-01,Avon and Somerset Constabulary,Avon and Somerset Constabulary,-2.50,51.40,"
    "On or near High Street,E01014400,Bath 001B,Anti-social behaviour,,\n"
)


@pytest.mark.parametrize(("name", "text", "fmt", "category"), [
    ("chicago.csv", SOCRATA, "socrata", "burglary"),
    ("2024-01-street.csv", POLICE_UK, "police_uk", "burglary"),
])
def test_it_detects_and_imports_socrata_and_police_uk_exports(world, tmp_path, name, text, fmt,
                                                               category):
    path = tmp_path / name
    path.write_text(text)
    result = run_command("--agency", "bravo", str(path))
    dataset = Dataset.objects.get(pk=result["dataset"])
    assert (dataset.format, result["imported"], result["rejected"]) == (fmt, 2, 0)
    assert Incident.objects.filter(dataset=dataset, category=category).count() == 1


def test_it_reads_gz_and_zip_containers_and_several_files(world, tmp_path):
    rows = GENERIC_CSV_ROWS = "case,when,lon,lat,offence\n{}\n"
    gz = tmp_path / "a.csv.gz"
    gz.write_bytes(gzip.compress(rows.format("Z-1,2024-01-01T10:00:00,-90.2,38.6,ROBBERY")
                                 .encode()))
    zipped = tmp_path / "b.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("b.csv", GENERIC_CSV_ROWS.format(
            "Z-2,2024-01-02T10:00:00,-90.2,38.6,ROBBERY"))
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({k: v for k, v in GENERIC_MAPPING.items() if k != "address"}))
    result = run_command("--agency", "alpha", "--mapping", str(mapping), str(gz), str(zipped))
    assert (result["read"], result["imported"]) == (2, 2)


def test_a_zip_bomb_is_refused_and_nothing_imported(world, tmp_path, settings):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("huge.csv", "case,when\n" + "0" * 50_000_000)
    with pytest.raises(CommandError, match="(?i)expand|too large"):
        run_command("--agency", "alpha", "--format", "generic_csv", "--mapping",
                    str(_mapping_file(tmp_path)), str(bomb))
    assert not Incident.objects.filter(agency=world.alpha).exists()
    assert Dataset.objects.get(agency=world.alpha).status == Dataset.Status.FAILED


def test_an_archive_with_an_unsafe_path_is_refused(world, tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../../etc/cron.d/x.csv", "case,when\n")
    with pytest.raises(CommandError, match="(?i)unsafe"):
        run_command("--agency", "alpha", str(evil))


def test_a_file_over_the_size_limit_is_refused_before_storing(world, tmp_path, settings):
    settings.IMPORT_MAX_BYTES = 100
    big = tmp_path / "big.csv"
    big.write_text("x" * 500)
    with pytest.raises(CommandError, match="larger than"):
        run_command("--agency", "alpha", str(big))
    assert not Dataset.objects.exists()


def test_an_unreadable_file_fails_clearly(world, tmp_path):
    binary = tmp_path / "photo.csv"
    binary.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(CommandError, match="(?i)import failed"):
        run_command("--agency", "alpha", str(binary))


def test_latin1_files_are_read(world, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("case,when,lon,lat,offence\nL-1,2024-01-01T10:00:00,-90.2,38.6,"
                     "VOL QUALIFIÉ\n".encode("latin-1"))
    mapping = _mapping_file(tmp_path)
    result = run_command("--agency", "alpha", "--mapping", str(mapping), str(path))
    assert result["imported"] == 1
    assert Incident.objects.get(source_id="L-1").raw_category == "VOL QUALIFIÉ"


def _mapping_file(tmp_path) -> Path:
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"id": "case", "datetime": "when", "x": "lon", "y": "lat",
                                "category": "offence"}))
    return path


def test_an_empty_upload_is_refused(world):
    from predictions.incidents.actions import do_upload

    with pytest.raises(UploadRefused):
        do_upload(world.alpha, [], acting_user=world.anna)


def test_a_duplicate_upload_names_the_earlier_dataset(world):
    dataset = world.dataset
    from predictions.incidents.actions import do_upload

    with pytest.raises(AlreadyUploaded) as caught:
        do_upload(world.alpha, [("again.csv", io.BytesIO(GENERIC_CSV.encode()))],
                  acting_user=world.anna)
    assert caught.value.dataset == dataset


def test_it_reports_progress_as_the_share_of_the_upload_read_then_saving(world, monkeypatch):
    # given a compressed upload of three batches' worth of rows
    rows = "".join(f"P-{i},2024-03-01T10:15:00,-90.25,38.63,ROBBERY,{i} MAIN ST\n"
                   for i in range(25_000))
    packed = gzip.compress(("case,when,lon,lat,offence,block\n" + rows).encode())
    dataset = do_upload(world.alpha, [("big.csv.gz", io.BytesIO(packed))],
                        acting_user=world.anna, format="generic_csv", mapping=GENERIC_MAPPING,
                        start=False)
    Dataset.objects.filter(pk=dataset.pk).update(status=Dataset.Status.PENDING)
    reports = []
    real = importer.report_progress
    monkeypatch.setattr(importer, "report_progress",
                        lambda *args: reports.append(args) or real(*args))

    # when it is imported
    importer.run_import(dataset.pk)

    # then the share read grows with the rows, stays under 100 while reading, and the last
    # report says every row is read and the rows are being saved
    reading = [r for r in reports if len(r) == 3]
    assert [r[1] for r in reading] == [10_000, 20_000, 25_000]
    percents = [r[2] for r in reading]
    assert percents == sorted(percents) and 0 < percents[0] < percents[-1] <= 99
    assert reports[-1] == (dataset.pk, 25_000, 100, "saving")
    assert importer.progress_of(dataset.pk) == {
        "rows_read": 25_000, "percent": 100, "phase": "saving"}


def _slmpd(*rows: tuple[str, str, str, int]) -> str:
    """SLMPD rows (complaint, crime code, local time, count), locations withheld (0,0)."""
    return ("Complaint,CodedMonth,DateOccur,Count,Crime,District,Description,ILEADSAddress,"
            "ILEADSStreet,XCoord,YCoord\n") + "".join(
        f"{complaint},2019-01,{when},{count},{crime},3,LARCENY-FROM BUILDING,100,MAIN ST,0,0\n"
        for complaint, crime, when, count in rows)


def test_a_record_listed_again_after_its_cancellation_stays_and_a_cancelled_one_goes(world):
    # given one upload where A is recorded, cancelled and recorded again (as SLMPD does when
    # a complaint is reclassified and back), B is recorded and cancelled, and C has two
    # victims' rows of which one is cancelled
    when = "01/15/2019 10:00"
    dataset = import_sample(world.alpha, world.anna, mapping=None, format="slmpd",
                            name="months.csv", text=_slmpd(
                                ("19-1", "111", when, 1), ("19-2", "222", when, 1),
                                ("19-1", "111", when, -1), ("19-2", "222", when, -1),
                                ("19-3", "333", when, 1), ("19-3", "333", when, 1),
                                ("19-1", "111", when, 1), ("19-3", "333", when, -1)))

    # then only B is cancelled: A and C keep a record after their cancellations
    cancelled = dict(Incident.objects.filter(agency=world.alpha)
                     .values_list("source_id", "cancelled"))
    assert cancelled == {"19-1:111": False, "19-2:222": True, "19-3:333": False}
    assert (dataset.imported, dataset.cancelled) == (3, 1)
    assert dataset.summary["cancellations_unmatched"] == 0


def test_times_in_the_repeated_and_the_skipped_hour_are_stored_by_the_zone_rules(world):
    # given St. Louis times in the hour repeated when DST ends and in the hour skipped when
    # it starts
    dataset = import_sample(world.alpha, world.anna, mapping=None, format="slmpd",
                            name="dst.csv", text=_slmpd(
                                ("19-1", "111", "11/03/2019 01:30", 1),
                                ("19-2", "222", "03/10/2019 02:30", 1),
                                ("19-3", "333", "11/03/2019 03:00", 1)))

    # then every database stores them as make_aware reads them: the first 01:30 (CDT), and
    # 02:30 with the offset before the change (CST)
    from datetime import UTC, datetime
    times = dict(Incident.objects.filter(dataset=dataset).values_list("source_id",
                                                                      "occurred_at"))
    assert times == {"19-1:111": datetime(2019, 11, 3, 6, 30, tzinfo=UTC),
                     "19-2:222": datetime(2019, 3, 10, 8, 30, tzinfo=UTC),
                     "19-3:333": datetime(2019, 11, 3, 9, 0, tzinfo=UTC)}


def test_a_cancellation_uploaded_before_its_record_waits_for_it(world):
    # given a later month uploaded first: it cancels A, whose record is not in the data yet
    when = "01/15/2019 10:00"
    later = import_sample(world.alpha, world.anna, mapping=None, format="slmpd",
                          name="february.csv", text=_slmpd(("19-1", "111", when, -1),
                                                           ("19-2", "222", when, 1)))
    assert (later.cancelled, later.summary["cancellations_unmatched"]) == (0, 1)

    # when the earlier month, with A's record, is uploaded
    earlier = import_sample(world.alpha, world.anna, mapping=None, format="slmpd",
                            name="january.csv", text=_slmpd(("19-1", "111", when, 1),
                                                            ("19-3", "333", when, 1)))

    # then A arrives cancelled, as if the months had come in order, and nothing waits
    assert (earlier.imported, earlier.cancelled) == (2, 1)
    assert Incident.objects.get(agency=world.alpha, source_id="19-1:111").cancelled
    assert not PendingCancellation.objects.filter(agency=world.alpha).exists()


def test_a_waiting_cancellation_goes_with_its_dataset(world):
    # given a cancellation waiting for its record, in a dataset that is then deleted
    when = "01/15/2019 10:00"
    later = import_sample(world.alpha, world.anna, mapping=None, format="slmpd",
                          name="february.csv", text=_slmpd(("19-1", "111", when, -1)))
    do_delete_dataset(later, acting_user=world.anna)

    # when the record is uploaded, then it stays live
    import_sample(world.alpha, world.anna, mapping=None, format="slmpd", name="january.csv",
                  text=_slmpd(("19-1", "111", when, 1)))
    assert not Incident.objects.get(agency=world.alpha, source_id="19-1:111").cancelled


@pytest.mark.parametrize("order", ["records first", "cancellation first", "one upload"])
def test_a_withdrawn_victim_row_leaves_the_incident_in_any_upload_order(world, order):
    # given an incident listed with two victims' rows, and a cancelling row for one of them
    when = "01/15/2019 10:00"
    records = [("19-1", "111", when, 1), ("19-1", "111", when, 1), ("19-2", "222", when, 1)]
    cancel = [("19-1", "111", when, -1), ("19-3", "333", when, 1)]
    uploads = {"records first": [records, cancel], "cancellation first": [cancel, records],
               "one upload": [records + cancel]}[order]

    # when the rows are uploaded in that order
    for k, rows in enumerate(uploads):
        import_sample(world.alpha, world.anna, mapping=None, format="slmpd",
                      name=f"part{k}.csv", text=_slmpd(*rows))

    # then the incident stays (one victim's row remains), with one record left
    incident = Incident.objects.get(agency=world.alpha, source_id="19-1:111")
    assert (incident.cancelled, incident.net_records) == (False, 1)

    # and a later upload withdrawing the other victim's row cancels it
    later = import_sample(world.alpha, world.anna, mapping=None, format="slmpd",
                          name="later.csv", text=_slmpd(("19-1", "111", when, -1)))
    incident.refresh_from_db()
    assert (incident.cancelled, later.cancelled) == (True, 1)


def test_a_waiting_cancellation_is_applied_to_an_incident_stored_meanwhile(world):
    # given a stored incident and a cancellation that waited for it (two imports that ran
    # at once: the record's import could not see the cancellation's uncommitted row)
    when = "01/15/2019 10:00"
    first = import_sample(world.alpha, world.anna, mapping=None, format="slmpd",
                          name="a.csv", text=_slmpd(("19-1", "111", when, 1)))
    PendingCancellation.objects.create(agency=world.alpha, dataset=first, source_id="19-1:111")

    # when any later upload is imported
    import_sample(world.alpha, world.anna, mapping=None, format="slmpd", name="b.csv",
                  text=_slmpd(("19-2", "222", when, 1)))

    # then the waiting cancellation is applied, not dropped
    assert Incident.objects.get(agency=world.alpha, source_id="19-1:111").cancelled
    assert not PendingCancellation.objects.exists()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_uploads_agree_with_the_counting_rule(world, seed):
    # given random uploads of records and cancelling rows over a few ids
    import random

    rng = random.Random(seed)
    when = "01/15/2019 10:00"
    uploads = [[(f"19-{rng.randint(1, 8)}", "111", when, rng.choice([1, 1, -1]))
                for _ in range(rng.randint(1, 12))] for _ in range(6)]

    # when they are imported one after the other
    for k, rows in enumerate(uploads):
        import_sample(world.alpha, world.anna, mapping=None, format="slmpd",
                      name=f"random{k}.csv", text=_slmpd(*rows))

    # then each id's incident holds the records of the first upload that listed it, less
    # every cancelling row of its id from any upload, and is cancelled when none is left
    expected = {}
    for ident in {r[0] for rows in uploads for r in rows}:
        creating = next((rows for rows in uploads if (ident, "111", when, 1) in rows), None)
        if creating is not None:
            net = creating.count((ident, "111", when, 1)) - sum(
                rows.count((ident, "111", when, -1)) for rows in uploads)
            expected[f"{ident}:111"] = (net, net <= 0)
    stored = {sid: (net, cancelled) for sid, net, cancelled in Incident.objects.filter(
        agency=world.alpha).values_list("source_id", "net_records", "cancelled")}
    assert stored == expected
