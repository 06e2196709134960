"""The upload page: upload, preview with the mapping applied, import, summary, delete."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from predictions.incidents.importer import error_report_path, forget_progress, report_progress
from predictions.models import Dataset, Incident, MappingPreset
from tests.samples import GENERIC_CSV, GENERIC_MAPPING


def upload(client, text=GENERIC_CSV, name="incidents.csv"):
    return client.post(reverse("datasets", args=["alpha"]),
                       {"files": [SimpleUploadedFile(name, text.encode(), "text/csv")]})


def test_an_upload_is_staged_with_a_preview_and_nothing_imported(world):
    client = world.client_for("anna")
    response = upload(client)
    dataset = Dataset.objects.get(agency=world.alpha)
    assert response.status_code == 302
    assert dataset.status == Dataset.Status.STAGED
    page = client.get(response["Location"])
    # an unknown CSV layout: the page shows its columns and asks for a mapping
    assert "give a column mapping" in page.content.decode()
    assert "case, when, lon, lat, offence, block" in page.content.decode()
    assert not Incident.objects.exists()


def test_the_preview_applies_the_mapping_then_the_import_runs(world,
                                                             django_capture_on_commit_callbacks):
    client = world.client_for("anna")
    detail = upload(client)["Location"]
    form = {"format": "generic_csv", "mapping": json.dumps(GENERIC_MAPPING)}

    preview = client.post(detail, {**form, "action": "preview"})
    assert "BURGLARY-RESIDENCE" in preview.content.decode()
    assert "burglary" in preview.content.decode()
    assert not Incident.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):  # the task runs on commit
        response = client.post(detail, {**form, "action": "import", "save_preset_as": "Our RMS"})
    assert response.status_code == 302
    dataset = Dataset.objects.get(agency=world.alpha)
    assert dataset.status == Dataset.Status.DONE
    assert Incident.objects.filter(dataset=dataset).count() == 3
    assert MappingPreset.objects.get(agency=world.alpha, name="Our RMS").mapping
    summary = client.get(detail).content.decode()
    assert "unparseable_date" in summary
    assert "Download the error report" in summary


def test_a_bad_mapping_is_explained_and_nothing_starts(world):
    client = world.client_for("anna")
    detail = upload(client)["Location"]
    response = client.post(detail, {"format": "generic_csv", "action": "import",
                                    "mapping": '{"id": "case"'})
    assert response.status_code == 400
    assert "not valid JSON" in response.content.decode()
    assert Dataset.objects.get(agency=world.alpha).status == Dataset.Status.STAGED


def test_the_status_endpoint_reports_counts(world):
    dataset = world.dataset
    data = world.client_for("anna").get(
        reverse("dataset-status", args=["alpha", dataset.pk])).json()
    assert (data["status"], data["imported"], data["rejected"]) == ("done", 3, 1)
    assert (data["rows_read"], data["percent"], data["phase"]) == (4, 100, "done")


def test_the_status_endpoint_reports_a_running_import_s_progress(world):
    # given an import that is running and has read 40 % of its upload
    client = world.client_for("anna")
    dataset = Dataset.objects.get(pk=upload(client)["Location"].rstrip("/").split("/")[-1])
    Dataset.objects.filter(pk=dataset.pk).update(status=Dataset.Status.RUNNING)
    forget_progress(dataset.pk)  # as run_import does when it claims one
    url = reverse("dataset-status", args=["alpha", dataset.pk])
    before = client.get(url).json()
    report_progress(dataset.pk, 12_345, 40)

    # when the page asks, then it hears the rows read and the share; then the saving phase
    during = client.get(url).json()
    report_progress(dataset.pk, 20_000, 100, "saving")
    saving = client.get(url).json()

    assert before["percent"] is None and before["phase"] == "running"
    assert (during["rows_read"], during["percent"], during["phase"]) == (12_345, 40, "reading")
    assert (saving["rows_read"], saving["percent"], saving["phase"]) == (20_000, 100, "saving")


def test_deleting_a_dataset_removes_its_incidents(world):
    dataset = world.dataset
    world.client_for("anna").post(reverse("dataset-delete", args=["alpha", dataset.pk]))
    assert not Dataset.objects.filter(pk=dataset.pk).exists()
    assert not Incident.objects.filter(agency=world.alpha).exists()


def test_deleting_a_dataset_removes_its_error_report(world, django_capture_on_commit_callbacks):
    # given an imported dataset whose error report holds a rejected raw row
    dataset = world.dataset
    report = error_report_path(dataset)
    assert "G-3" in report.read_text()

    # when it is deleted (files go once the deletion commits)
    with django_capture_on_commit_callbacks(execute=True):
        world.client_for("anna").post(reverse("dataset-delete", args=["alpha", dataset.pk]))

    # then the report and its raw rows are gone too
    assert not report.exists()


def test_a_category_choice_re_maps_stored_incidents(world):
    dataset = world.dataset
    response = world.client_for("anna").post(
        reverse("category-mapping", args=["alpha"]),
        {"raw_text": "ROBBERY", "category": "theft"})
    assert response.status_code == 302
    assert Incident.objects.get(dataset=dataset, source_id="G-2").category == "theft"
    # back to the built-in rules
    world.client_for("anna").post(reverse("category-mapping", args=["alpha"]),
                                  {"raw_text": "ROBBERY", "category": ""})
    assert Incident.objects.get(dataset=dataset, source_id="G-2").category == "robbery"


def _deflate64_zip() -> bytes:
    """A zip whose CSV member claims Deflate64 compression (which zipfile cannot read)."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("incidents.csv", GENERIC_CSV)
    data = bytearray(buf.getvalue())
    for sig, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        pos = data.find(sig)
        data[pos + offset:pos + offset + 2] = (9).to_bytes(2, "little")
    return bytes(data)


def _stage_deflate64_zip(client) -> str:
    response = client.post(reverse("datasets", args=["alpha"]), {"files": [
        SimpleUploadedFile("d64.zip", _deflate64_zip(), "application/zip")]})
    return response["Location"]


def test_a_corrupt_archive_is_explained_on_the_dataset_page(world):
    # given a staged zip whose member uses an unsupported compression method
    client = world.client_for("anna")
    detail = _stage_deflate64_zip(client)

    # when its page is opened
    page = client.get(detail)

    # then the page answers with the refusal naming the member, not a server error
    assert page.status_code == 200
    assert "d64.zip:incidents.csv" in page.content.decode()
    assert "not supported" in page.content.decode()


def test_importing_a_corrupt_archive_fails_with_its_message(world,
                                                           django_capture_on_commit_callbacks):
    # given a staged zip whose member uses an unsupported compression method
    client = world.client_for("anna")
    detail = _stage_deflate64_zip(client)

    # when its import is started (the task runs on commit)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(detail, {"format": "generic_csv", "mapping": json.dumps(GENERIC_MAPPING),
                             "action": "import"})

    # then the dataset failed with the refusal, and nothing was imported
    dataset = Dataset.objects.get(agency=world.alpha)
    assert dataset.status == Dataset.Status.FAILED
    assert "d64.zip:incidents.csv" in dataset.error_message
    assert "Unexpected error" not in dataset.error_message
    assert not Incident.objects.filter(dataset=dataset).exists()


def test_an_unexpected_preview_error_is_shown_and_logged_not_a_500(world, monkeypatch, caplog):
    # given a staged upload and a parser that fails in an unforeseen way
    client = world.client_for("anna")
    detail = upload(client)["Location"]

    def broken(*args, **kwargs):
        raise RuntimeError("parser bug")

    monkeypatch.setattr("predictions.incidents.views.detect_format", broken)

    # when its page is opened
    page = client.get(detail)

    # then the page explains that the upload could not be previewed, and the error is logged
    assert page.status_code == 200
    assert "could not be previewed" in page.content.decode()
    assert any(r.exc_info and "parser bug" in str(r.exc_info[1]) for r in caplog.records)
