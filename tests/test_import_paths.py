"""The PostgreSQL writer's two paths (direct COPY, staging) give the same result, and the
incident table's references hold without per-row foreign key checks."""

from __future__ import annotations

import tarfile

import pytest
from django.db import IntegrityError, connection, transaction

from predictions.incidents import importer
from predictions.incidents import writers as import_writers
from predictions.incidents.actions import do_delete_dataset
from predictions.models import Dataset, Incident
from tests.samples import GENERIC_CSV, import_sample
from tests.test_import import SLMPD_TAR, run_command

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="the PostgreSQL writer and triggers")

FIELDS = ("source_id", "occurred_at", "date_precision", "raw_category", "category", "lon",
          "lat", "address", "district", "location_withheld", "cancelled")


@pytest.fixture(scope="session")
def january(tmp_path_factory) -> str:
    """SLMPD's January 2019 file as published (repeated ids, cancellations, withheld)."""
    path = tmp_path_factory.mktemp("slmpd-january") / "january2019.csv"
    with tarfile.open(SLMPD_TAR) as tar:
        path.write_bytes(tar.extractfile("data/raw/2019/january2019.csv").read())
    return str(path)


@pytest.fixture
def paths(monkeypatch):
    """Record which writer paths ran; `force` sets the path of the next writers."""
    seen = []
    state = {"force": None}
    original = importer.writer_for

    def writer_for(conn, dataset, *, direct=None):
        chosen = state["force"] if direct is None else direct
        writer = original(conn, dataset, direct=chosen)
        seen.append(writer.direct)
        return writer

    monkeypatch.setattr(importer, "writer_for", writer_for)
    return seen, state


def stored(agency) -> list[tuple]:
    return sorted(Incident.objects.filter(agency=agency).values_list(*FIELDS))


def test_direct_and_staging_imports_store_the_same_incidents(world, january, paths):
    seen, state = paths
    direct = run_command("--agency", "alpha", january)
    state["force"] = False
    staged = run_command("--agency", "bravo", january)
    assert seen == [True, False]
    assert {k: direct[k] for k in ("read", "imported", "duplicates", "cancelled", "rejected")} \
        == {k: staged[k] for k in ("read", "imported", "duplicates", "cancelled", "rejected")}
    assert direct["duplicates"] > 0 and direct["cancelled"] > 0
    assert stored(world.alpha) == stored(world.bravo)
    summary = Dataset.objects.get(pk=direct["dataset"]).summary
    assert summary["cancellations_unmatched"] == Dataset.objects.get(
        pk=staged["dataset"]).summary["cancellations_unmatched"]


REPEATS = (
    "case,when,lon,lat,offence,block\n"
    "R-1,2024-03-01T10:15:00,-90.20,38.60,BURGLARY-RESIDENCE,1 FIRST ST\n"
    "R-2,2024-03-01T11:00:00,-90.21,38.61,ROBBERY,2 SECOND ST\n"
    "R-1,2024-03-02T09:00:00,-90.22,38.62,ROBBERY,3 THIRD ST\n"
    "R-3,2024-03-02T12:00:00,-90.23,38.63,THEFT,4 FOURTH ST\n"
    "R-2,2024-03-03T08:00:00,-90.24,38.64,THEFT,5 FIFTH ST\n"
)


@pytest.mark.parametrize("force", [None, False])
def test_the_first_occurrence_of_an_id_wins(world, paths, force, monkeypatch):
    paths[1]["force"] = force
    dataset = import_sample(world.alpha, world.anna, text=REPEATS, name="repeats.csv")
    assert (dataset.imported, dataset.duplicates) == (3, 2)
    first = Incident.objects.get(agency=world.alpha, source_id="R-1")
    assert (first.category, first.address) == ("burglary", "1 FIRST ST")
    assert Incident.objects.get(agency=world.alpha, source_id="R-2").address == "2 SECOND ST"


SEASONS = (
    "case,when,lon,lat,offence,block\n"
    "S-1,2024-01-15T12:00:00,-90.20,38.60,BURGLARY-RESIDENCE,1 FIRST ST\n"
    "S-2,2024-07-01T12:00:00,-90.21,38.61,ROBBERY,2 SECOND ST\n"
    "S-1,2024-07-02T12:00:00,-90.21,38.61,ROBBERY,2 SECOND ST\n"
)


@pytest.mark.parametrize("force", [None, False])
def test_local_times_follow_the_zone_rules_on_both_paths(world, paths, force):
    # given an agency in "CET", a zone whose name is also a fixed-offset abbreviation
    from datetime import UTC, datetime

    world.alpha.timezone = "CET"
    world.alpha.save(update_fields=["timezone"])
    paths[1]["force"] = force
    # when winter and summer noon are imported (directly, or through staging)
    import_sample(world.alpha, world.anna, text=SEASONS, name="seasons.csv")
    # then each has the zone's offset that day: +1 in January, +2 (summer time) in July
    times = dict(Incident.objects.filter(agency=world.alpha)
                 .values_list("source_id", "occurred_at"))
    assert times == {"S-1": datetime(2024, 1, 15, 11, tzinfo=UTC),
                     "S-2": datetime(2024, 7, 1, 10, tzinfo=UTC)}


def test_hash_collisions_only_route_rows_through_staging(world, paths, monkeypatch):
    monkeypatch.setattr(import_writers, "_id_hash", lambda source_id: 7)  # all collide
    dataset = import_sample(world.alpha, world.anna, text=REPEATS, name="repeats.csv")
    assert paths[0] == [True]
    assert (dataset.imported, dataset.duplicates) == (3, 2)
    assert Incident.objects.get(agency=world.alpha, source_id="R-1").address == "1 FIRST ST"
    assert Incident.objects.get(agency=world.alpha, source_id="R-3").category == "theft"


def test_ids_committed_by_a_concurrent_import_send_the_import_through_staging(world, paths):
    # given ids of this agency committed after the writer chose the direct path (as a
    # concurrent import in the same agency can do): forced here with direct=True
    seen, state = paths
    first = import_sample(world.alpha, world.anna)
    state["force"] = True
    extra = "G-5,2024-03-04T09:00:00,-90.22,38.60,ROBBERY,400 PINE ST\n"
    second = import_sample(world.alpha, world.anna, text=GENERIC_CSV + extra,
                           name="sample-plus.csv")
    # then the direct COPY met them, was rolled back and the import redone via staging
    assert seen[-2:] == [True, False]
    assert second.status == Dataset.Status.DONE
    assert (second.imported, second.duplicates) == (1, 3)
    assert Incident.objects.filter(agency=world.alpha).count() == 4
    assert Incident.objects.filter(dataset=first).count() == 3


def test_an_incident_must_name_an_existing_agency_and_dataset(world):
    dataset = world.dataset
    incident = Incident.objects.filter(dataset=dataset).first()
    for field, value in (("dataset_id", dataset.pk + 1000), ("agency_id", world.alpha.pk + 1000)):
        with pytest.raises(IntegrityError, match="does not exist"), transaction.atomic():
            Incident.objects.create(**{
                **{f: getattr(incident, f) for f in FIELDS}, "source_id": "new",
                "agency_id": incident.agency_id, "dataset_id": incident.dataset_id,
                field: value})
        with pytest.raises(IntegrityError, match="does not exist"), transaction.atomic():
            Incident.objects.filter(pk=incident.pk).update(**{field: value})


def test_a_referenced_dataset_or_agency_cannot_be_deleted_under_its_incidents(world):
    dataset = world.dataset
    for sql, pk in (("DELETE FROM predictions_dataset WHERE id = %s", dataset.pk),
                    ("DELETE FROM agencies_agency WHERE id = %s", world.alpha.pk)):
        with pytest.raises(IntegrityError, match="still refer"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(sql, [pk])
    assert Incident.objects.filter(dataset=dataset).count() == 3


def test_deleting_a_dataset_still_deletes_its_incidents(world):
    dataset = world.dataset
    other = import_sample(world.bravo, world.bob)
    do_delete_dataset(dataset, acting_user=world.alice)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred checks, now
    assert not Incident.objects.filter(dataset_id=dataset.pk).exists()
    assert Incident.objects.filter(dataset=other).count() == 3


@pytest.mark.django_db
def test_the_incident_table_has_reference_triggers_and_no_per_row_foreign_keys():
    # Django's state still lists these foreign keys: a later migration that alters the two
    # fields would quietly add per-row checks back (and this test would say so)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                       "AND conrelid = 'predictions_incident'::regclass")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN "
                       "('predictions_incident'::regclass, 'agencies_agency'::regclass, "
                       "'predictions_dataset'::regclass)")
        names = {row[0] for row in cursor.fetchall()}
    assert {"predictions_incident_references_insert", "predictions_incident_references_update",
            "predictions_incident_agency_referenced",
            "predictions_incident_dataset_referenced"} <= names


def test_a_refusal_after_rows_were_copied_leaves_nothing_and_the_connection_usable(world,
                                                                                 paths):
    # given an upload whose first file streams into the direct COPY and whose second is
    # unreadable (found only when the reader reaches it)
    import io

    from predictions.incidents.actions import do_upload
    from tests.samples import GENERIC_MAPPING

    files = [("good.csv", io.BytesIO(GENERIC_CSV.encode())),
             ("photo.csv", io.BytesIO(bytes(range(256)) * 40))]
    dataset = do_upload(world.alpha, files, acting_user=world.anna, format="generic_csv",
                        mapping=GENERIC_MAPPING, start=False)
    Dataset.objects.filter(pk=dataset.pk).update(status=Dataset.Status.PENDING)
    # when it is imported
    assert importer.run_import(dataset.pk) is None
    assert paths[0] == [True]  # the direct COPY
    # then nothing is visible, the dataset says why, and the connection still works
    dataset.refresh_from_db()
    assert dataset.status == Dataset.Status.FAILED and dataset.error_message
    assert not Incident.objects.filter(agency=world.alpha).exists()
    again = import_sample(world.alpha, world.anna)
    assert again.status == Dataset.Status.DONE and again.imported == 3


SLMPD_HEADER = ("Complaint,CodedMonth,DateOccur,Count,Crime,District,Description,"
                "ILEADSAddress,ILEADSStreet,XCoord,YCoord\n")


def slmpd_rows(*rows: tuple[str, str, int]) -> str:
    """SLMPD rows (complaint, crime code, count), locations withheld (0,0)."""
    return SLMPD_HEADER + "".join(
        f"{complaint},2019-01,01/15/2019 10:00,{count},{crime},3,LARCENY-FROM BUILDING,"
        f"100,MAIN ST,0,0\n" for complaint, crime, count in rows)


@pytest.mark.parametrize("force", [None, False])
def test_cancellations_are_counted_as_matched_or_unmatched_on_both_paths(world, paths, force):
    # given records A and B, a cancellation of A and one of an id never imported
    paths[1]["force"] = force
    first = import_sample(world.alpha, world.anna, mapping=None, format="slmpd",
                          name="january.csv", text=slmpd_rows(
                              ("19-000001", "111", 1), ("19-000002", "222", 1),
                              ("19-000001", "111", -1), ("19-000009", "999", -1)))
    # then A is cancelled, and the unknown id is counted as unmatched
    assert (first.imported, first.cancelled) == (2, 1)
    assert first.summary["cancellations_unmatched"] == 1
    cancelled = set(Incident.objects.filter(agency=world.alpha, cancelled=True)
                    .values_list("source_id", flat=True))
    assert cancelled == {"19-000001:111"}
    # and a later upload cancelling A again (already cancelled) and B marks only B, with
    # both ids matched
    paths[1]["force"] = None
    second = import_sample(world.alpha, world.anna, mapping=None, format="slmpd",
                           name="february.csv", text=slmpd_rows(
                               ("19-000001", "111", -1), ("19-000002", "222", -1)))
    assert (second.imported, second.cancelled) == (0, 1)
    assert second.summary["cancellations_unmatched"] == 0
    assert Incident.objects.filter(agency=world.alpha, cancelled=True).count() == 2
    assert paths[0] == [force is None, False]  # direct or staging first, then staging


@pytest.mark.parametrize("force", [None, False])
def test_net_cancellations_and_zone_rules_hold_on_both_paths(world, paths, force):
    # given the uploads of test_import's cancellation and DST tests, through either path
    from datetime import UTC, datetime

    from tests.test_import import _slmpd

    paths[1]["force"] = force
    when = "11/03/2019 01:30"  # the repeated hour: its first occurrence is 06:30Z
    dataset = import_sample(world.alpha, world.anna, mapping=None, format="slmpd",
                            name="net.csv", text=_slmpd(
                                ("19-1", "111", when, 1), ("19-1", "111", when, -1),
                                ("19-2", "222", when, 1), ("19-2", "222", when, -1),
                                ("19-1", "111", when, 1)))

    # then the record listed again stays, the other is cancelled, times agree
    rows = dict(Incident.objects.filter(agency=world.alpha)
                .values_list("source_id", "cancelled"))
    assert rows == {"19-1:111": False, "19-2:222": True}
    assert set(Incident.objects.values_list("occurred_at", flat=True)) == {
        datetime(2019, 11, 3, 6, 30, tzinfo=UTC)}
    assert (dataset.imported, dataset.cancelled) == (2, 1)
    assert paths[0] == [force is None]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_random_uploads_agree_with_the_counting_rule_through_staging_alone(world, paths, seed):
    # given test_import's random uploads, each forced through the staging path
    from tests.test_import import test_random_uploads_agree_with_the_counting_rule as check

    paths[1]["force"] = False
    # then every incident's count and state follow the same rule
    check(world, seed)
    assert set(paths[0]) == {False}
