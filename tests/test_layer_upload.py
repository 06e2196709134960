"""Layer uploads run as a task (issue #19): the page stores the file in the database and
shows the task's progress, result or refusal; nothing is half-written and no file is left
on disk. The reference layer's name field (issue #17)."""

from __future__ import annotations

import io
import json
from fnmatch import fnmatch
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from audit.models import AccessEvent
from predictions.areas import uploads as uploads_module
from predictions.areas import views as views_module
from predictions.areas.actions import (
    LayerError,
    do_start_layer_upload,
    do_update_layer,
    do_upload_layer,
)
from predictions.areas.tasks import import_layer
from predictions.areas.uploads import run_layer_upload
from predictions.bridge import reference_places
from predictions.models import AreaLayer, LayerUpload

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "stl" / "geo"


def stored_files() -> set[Path]:
    """The files under UPLOAD_ROOT (where incident uploads are kept; layers never are)."""
    root = Path(settings.UPLOAD_ROOT)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def square(x: float, y: float = 38.6, size: float = 0.01) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x, y + size], [x + size, y + size],
                                                [x + size, y], [x, y]]]}


BOWTIE = {"type": "Polygon", "coordinates": [[[-90.3, 38.6], [-90.29, 38.61], [-90.29, 38.6],
                                              [-90.3, 38.61], [-90.3, 38.6]]]}


def areas(*geometries, props=None) -> bytes:
    """Named areas (NAME, CODE, a type) and a population, one per geometry."""
    features = [{"type": "Feature", "geometry": g, "properties": props[i] if props else {
        "NAME": f"Area {i + 1}", "CODE": f"A{i + 1:02d}", "TYPE": "ward", "POP": 100 + i}}
        for i, g in enumerate(geometries)]
    return json.dumps({"type": "FeatureCollection", "features": features},
                      allow_nan=True).encode()


GOOD = areas(square(-90.30), square(-90.28), square(-90.26))


def post(client, data: bytes, name: str = "Wards", file_name: str = "wards.geojson"):
    upload = io.BytesIO(data)
    upload.name = file_name
    return client.post(reverse("layers", kwargs={"slug": "alpha"}),
                       {"file": upload, "name": name})


def upload_id(response) -> int:
    assert response.status_code == 302, response.content[:2000]
    return int(response["Location"].rstrip("/").rsplit("/", 1)[1])


# the task, through the page -----------------------------------------------------------------
def test_the_page_stores_the_file_and_the_task_reads_it(world,
                                                        django_capture_on_commit_callbacks):
    client = world.client_for("anna")
    with django_capture_on_commit_callbacks() as queued:
        response = post(client, GOOD)
    pk = upload_id(response)
    assert response["Location"] == f"/a/alpha/layers/uploads/{pk}/"
    # stored, waiting for its task: nothing read yet, the page says so and refreshes itself
    job = LayerUpload.objects.get(pk=pk)
    assert (job.status, bytes(job.data), job.size_bytes) == ("pending", GOOD, len(GOOD))
    assert not AreaLayer.objects.exists() and len(queued) == 1
    page = client.get(response["Location"]).content.decode()
    assert "Waiting for a worker" in page and 'http-equiv="refresh"' in page
    assert 'id="layer-progress"' in page

    queued[0]()  # the task (in-process here)

    job.refresh_from_db()
    layer = AreaLayer.objects.get(agency=world.alpha, name="Wards")
    assert (job.status, job.progress, job.layer, bytes(job.data)) == ("done", 100, layer, b"")
    assert job.summary["features"] == 3 and job.summary["vertices"] == 15
    assert job.attempts == 1 and layer.uploaded_by == world.anna
    page = client.get(response["Location"]).content.decode()
    assert "Stored" in page and 'http-equiv="refresh"' not in page
    assert "Every geometry was valid as given." in page
    assert f'href="/a/alpha/layers/{layer.pk}/"' in page
    started = AccessEvent.objects.get(action="layer.import_start")
    assert (started.actor_id, started.object_type, started.object_id) == (
        world.anna.pk, "layer_upload", str(pk))
    stored = AccessEvent.objects.get(action="layer.upload")
    assert (stored.actor_id, stored.actor_role, stored.object_id) == (
        world.anna.pk, "system", str(layer.pk))
    listing = client.get(reverse("layers", kwargs={"slug": "alpha"})).content.decode()
    assert "Recent uploads" in listing and "3 features" in listing


@pytest.mark.parametrize("data, reason", [
    (areas(square(-90.3), {"type": "Polygon", "coordinates": [[[-90.2, 38.6], [-90.2, float(
        "nan")], [-90.19, 38.61], [-90.2, 38.6]]]}),
     "feature 2: ring 1: position 2 is not a finite number pair ([-90.2, nan])"),
    (areas(square(-90.3), square(-90.2), {"type": "Polygon", "coordinates": [[
        [-90.1, 38.6], [-90.1, 38.61], [-90.09, 38.61], [-90.09, 38.6]]]}),
     "feature 3: ring 1 is not closed"),
    (areas({"type": "Polygon", "coordinates": [[[-90.1, 38.6], [-90.1, 38.61], [-90.1, 38.6]]]}),
     "feature 1: ring 1 has 3 positions; a ring needs at least 4"),
    (b'{"type": "FeatureCollection", "features": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
     "the JSON is nested 50,001 levels deep"),
    (areas(square(-90.3), square(200.0)),
     "feature 2: its coordinates are not longitude/latitude"),
    (areas(square(-90.3), {"type": "Polygon", "coordinates": [[[-90.5, 38.5], [-90.25, 38.75],
                                                               [-90.0, 39.0], [-90.5, 38.5]]]}),
     "feature 2: the polygon is invalid (self-intersection) and has no area once repaired"),
])
def test_a_refused_file_says_which_feature_and_why_and_stores_nothing(
        world, data, reason, django_capture_on_commit_callbacks):
    client = world.client_for("anna")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, data)
    job = LayerUpload.objects.get(pk=upload_id(response))
    assert job.status == "failed" and reason in job.error_message
    assert bytes(job.data) == b"" and job.layer is None
    assert not AreaLayer.objects.exists()
    assert not AccessEvent.objects.filter(action="layer.upload").exists()
    page = client.get(response["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert 'role="alert"' in text and reason.replace("'", "&#x27;") in text
    assert "Nothing was stored" in text
    listing = client.get(reverse("layers", kwargs={"slug": "alpha"})).content.decode()
    assert reason[:60] in listing


def test_repaired_self_intersections_are_stored_and_reported(world,
                                                             django_capture_on_commit_callbacks):
    client = world.client_for("anna")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, areas(square(-90.4), BOWTIE, square(-90.2), BOWTIE))
    job = LayerUpload.objects.get(pk=upload_id(response))
    assert job.status == "done"
    words = "2 features repaired: self-intersection (features 2, 4)"
    assert job.summary["repairs"] == words and job.summary["repaired"] == 2
    assert words in client.get(response["Location"]).content.decode()
    layer = job.layer
    assert words in client.get(f"/a/alpha/layers/{layer.pk}/").content.decode()
    bow = json.loads(layer.geojson)["features"][1]["geometry"]
    assert bow["type"] == "MultiPolygon"  # its two triangles
    event = AccessEvent.objects.get(action="layer.upload")
    assert event.details["repaired"] == 2


def test_the_form_refuses_a_file_over_the_limit_and_a_name_in_use(world, monkeypatch):
    client = world.client_for("anna")
    monkeypatch.setattr(views_module, "MAX_LAYER_BYTES", 1000)
    response = post(client, GOOD + b" " * 1000)
    assert response.status_code == 400 and b"larger than" in response.content
    monkeypatch.undo()
    do_upload_layer(world.alpha, name="Wards", file_name="w.geojson", data=GOOD,
                    acting_user=world.anna)
    response = post(client, GOOD)
    assert response.status_code == 400 and b"already exists" in response.content
    assert LayerUpload.objects.count() == 1  # the first only


def test_an_upload_never_writes_a_file(world, settings, tmp_path, monkeypatch,
                                       django_capture_on_commit_callbacks):
    # Django would spool any upload over 1 byte to a temporary file in FILE_UPLOAD_TEMP_DIR
    spool = tmp_path / "spool"
    spool.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1
    seen: list[list[str]] = []
    real_start = views_module.do_start_layer_upload

    def start(*args, **kwargs):  # while the request holds the whole file
        seen.append(sorted(p.name for p in spool.iterdir()))
        return real_start(*args, **kwargs)

    monkeypatch.setattr(views_module, "do_start_layer_upload", start)
    big = areas(*[square(-90.3 + i * 0.001, size=0.0005) for i in range(400)])
    before = stored_files()
    client = world.client_for("anna")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, big)
    assert seen == [[]]
    job = LayerUpload.objects.get(pk=upload_id(response))
    assert job.status == "done" and job.summary["features"] == 400
    assert not list(spool.iterdir()) and stored_files() == before


def test_the_upload_form_still_needs_its_csrf_token(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.anna)
    assert post(client, GOOD).status_code == 403
    assert not LayerUpload.objects.exists()
    page = client.get(reverse("layers", kwargs={"slug": "alpha"}))
    token = page.cookies["csrftoken"].value
    upload = io.BytesIO(GOOD)
    upload.name = "wards.geojson"
    response = client.post(reverse("layers", kwargs={"slug": "alpha"}),
                           {"file": upload, "name": "Wards", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and LayerUpload.objects.count() == 1


def test_a_viewer_cannot_upload(world):
    assert post(world.client_for("victor"), GOOD).status_code == 403
    assert not LayerUpload.objects.exists()


# the task's guarantees ------------------------------------------------------------------------
def started(world, data: bytes = GOOD, name: str = "Wards") -> LayerUpload:
    return do_start_layer_upload(world.alpha, name=name, file_name="w.geojson", data=data,
                                 acting_user=world.anna, queue=False)


def test_a_failure_part_way_leaves_nothing_half_written(world, monkeypatch):
    job = started(world)

    def broken(**kwargs):
        raise RuntimeError("the audit trail is away")

    monkeypatch.setattr(uploads_module.audit, "record", broken)  # after the layer's INSERT
    assert run_layer_upload(job.pk) is None
    job.refresh_from_db()
    assert job.status == "failed" and "Unexpected error" in job.error_message
    assert "nothing was stored" in job.error_message and bytes(job.data) == b""
    assert not AreaLayer.objects.exists()


def test_a_killed_attempt_keeps_the_file_in_its_row_and_the_next_delivery_finishes(
        world, monkeypatch):
    before = stored_files()
    job = started(world)

    def killed(*args, **kwargs):
        raise SystemExit("the worker was killed")  # not an Exception: nothing catches it

    monkeypatch.setattr(uploads_module, "read_layer", killed)
    with pytest.raises(SystemExit):
        run_layer_upload(job.pk)
    job.refresh_from_db()
    assert job.status == "running" and bytes(job.data) == GOOD  # in the row, not on disk
    assert not AreaLayer.objects.exists() and stored_files() == before
    monkeypatch.undo()
    layer = run_layer_upload(job.pk)  # the redelivered task
    job.refresh_from_db()
    assert layer is not None and job.status == "done" and job.attempts == 2
    assert bytes(job.data) == b""


def test_the_task_can_run_twice(world):
    job = started(world)
    first = import_layer.delay(job.pk).get()
    second = import_layer.delay(job.pk).get()
    assert first == AreaLayer.objects.get().pk and second is None
    assert LayerUpload.objects.get(pk=job.pk).attempts == 1


def test_a_name_taken_while_the_file_waited_is_refused(world):
    job = started(world, name="Wards")
    with pytest.raises(LayerError, match="is being read"):
        started(world, name="Wards")
    other = do_upload_layer(world.alpha, name="Other", file_name="o.geojson", data=GOOD,
                            acting_user=world.anna)
    AreaLayer.objects.filter(pk=other.pk).update(name="Wards")
    assert run_layer_upload(job.pk) is None
    job.refresh_from_db()
    assert job.status == "failed" and "was stored meanwhile" in job.error_message
    assert AreaLayer.objects.count() == 1


def test_in_process_uploads_raise_and_keep_nothing(world):
    with pytest.raises(LayerError, match="ring 1 is not closed"):
        do_upload_layer(world.alpha, name="Bad", file_name="b.geojson", acting_user=world.anna,
                        data=areas({"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1],
                                                                        [1, 0]]]}))
    assert not LayerUpload.objects.exists() and not AreaLayer.objects.exists()
    assert not AccessEvent.objects.filter(action__startswith="layer.").exists()


def test_layer_tasks_go_to_the_imports_queue():
    from portal.celery import app

    app.loader.import_default_modules()
    assert "predictions.areas.tasks.import_layer" in app.tasks
    routes = settings.CELERY_TASK_ROUTES
    queue = next(r["queue"] for p, r in routes.items()
                 if fnmatch("predictions.areas.tasks.import_layer", p))
    assert queue == "imports"


def test_another_agency_cannot_see_an_upload(world):
    job = started(world)
    url = f"/a/alpha/layers/uploads/{job.pk}/"
    assert world.client_for("bob").get(url).status_code == 404
    assert world.client_for("victor").get(url).status_code == 403
    assert world.client_for("anna").get(url).status_code == 200
    assert world.client_for("bob").get(f"/a/bravo/layers/uploads/{job.pk}/").status_code == 404


# the reference layer's name field ---------------------------------------------------------------
def settings_form(layer: AreaLayer, **changes) -> dict:
    form = {"use_as_covariates": "", "use_for_fairness": "", "population_attribute": "",
            "groupings": "[]", "band_low": 0.8, "band_high": 1.25, "name_field": ""}
    form.update(changes)
    return {k: v for k, v in form.items() if v != ""}


def outline_names(world, layer: AreaLayer) -> list[str]:
    data = world.client_for("victor").get(f"/a/alpha/layers/{layer.pk}/outlines.geojson").json()
    return [f["properties"]["name"] for f in data["features"]]


def test_the_analyst_chooses_the_reference_layers_name_field(world):
    layer = do_upload_layer(world.alpha, name="Wards", file_name="w.geojson", data=GOOD,
                            acting_user=world.anna)
    assert [f["name"] for f in layer.text_fields] == ["NAME", "CODE", "TYPE"]
    assert layer.label_field == "NAME" and layer.name_field == ""
    client = world.client_for("anna")
    url = f"/a/alpha/layers/{layer.pk}/"
    page = client.get(url).content.decode()
    assert '<option value="" selected>Default: NAME</option>' in page
    assert '<option value="CODE">CODE (e.g. A01)</option>' in page
    # by default the guessed name column names the areas
    assert outline_names(world, layer) == ["Area 1", "Area 2", "Area 3"]

    response = client.post(url, settings_form(layer, use_as_reference="on", name_field="CODE"))
    assert response.status_code == 302
    layer.refresh_from_db()
    assert layer.use_as_reference and layer.name_field == "CODE"
    assert outline_names(world, layer) == ["A01", "A02", "A03"]
    places = reference_places(world.alpha)
    assert places is not None and places.names == ["A01", "A02", "A03"]
    assert places.names_at([-90.295, -90.255], [38.605, 38.605]) == ["A01", "A03"]
    event = AccessEvent.objects.filter(action="layer.update").latest("pk")
    assert event.details["name_field"] == "CODE"
    assert '<option value="CODE" selected>' in client.get(url).content.decode()

    # back to the default; another setting change keeps the choice
    client.post(url, settings_form(layer, use_as_reference="on"))
    assert reference_places(world.alpha).names == ["Area 1", "Area 2", "Area 3"]
    do_update_layer(layer, acting_user=world.anna, use_as_covariates=False,
                    use_for_fairness=False, population_attribute="", groupings=[],
                    band=[0.8, 1.25], use_as_reference=True, name_field="TYPE")
    do_update_layer(layer, acting_user=world.anna, use_as_covariates=True,
                    use_for_fairness=False, population_attribute="", groupings=[],
                    band=[0.8, 1.25], use_as_reference=True)
    layer.refresh_from_db()
    assert layer.name_field == "TYPE" and reference_places(world.alpha).names == ["ward"] * 3


def test_a_name_field_must_be_one_of_the_layers_text_columns(world):
    layer = do_upload_layer(world.alpha, name="Wards", file_name="w.geojson", data=GOOD,
                            acting_user=world.anna)
    response = world.client_for("anna").post(
        f"/a/alpha/layers/{layer.pk}/", settings_form(layer, name_field="POP"))
    assert response.status_code == 400 and b"Select a valid choice" in response.content
    with pytest.raises(LayerError, match="Unknown name field 'POP'"):
        do_update_layer(layer, acting_user=world.anna, use_as_covariates=False,
                        use_for_fairness=False, population_attribute="", groupings=[],
                        band=[0.8, 1.25], name_field="POP")
    layer.refresh_from_db()
    assert layer.name_field == ""


def test_a_missing_name_falls_back_to_the_default_and_old_layers_keep_their_labels(world):
    props = [{"NAME": "North", "ALT": "Nord"}, {"NAME": "South", "ALT": None}]
    layer = do_upload_layer(world.alpha, name="Two", file_name="t.geojson",
                            data=areas(square(-90.3), square(-90.2), props=props),
                            acting_user=world.anna)
    layer.name_field = "ALT"
    layer.save()
    assert outline_names(world, layer) == ["Nord", "South"]
    # a layer stored before name fields were kept: labels only
    doc = json.loads(layer.geojson)
    for f in doc["features"]:
        f["properties"].pop("names")
    AreaLayer.objects.filter(pk=layer.pk).update(geojson=json.dumps(doc), text_fields=[],
                                                 name_field="", label_field="")
    layer.refresh_from_db()
    assert outline_names(world, layer) == ["North", "South"]
    page = world.client_for("anna").get(f"/a/alpha/layers/{layer.pk}/").content.decode()
    assert "kept no text column" in page


# the St. Louis layers -----------------------------------------------------------------------------
@pytest.mark.parametrize("file_name, features, name_field, first", [
    ("stl_neighborhoods.geojson", 88, "NHD_NAME", "Carondelet"),
    ("stl_tracts_demographics.geojson", 106, "GEOID", "29510101100"),
])
def test_the_st_louis_layers_upload_through_the_page(world, file_name, features, name_field,
                                                     first, django_capture_on_commit_callbacks):
    path = DATA / file_name
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    client = world.client_for("anna")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, path.read_bytes(), name=file_name, file_name=file_name)
    job = LayerUpload.objects.get(pk=upload_id(response))
    assert job.status == "done", job.error_message
    layer = job.layer
    assert layer.n_features == features and job.summary["repaired"] == 0
    do_update_layer(layer, acting_user=world.anna, use_as_covariates=False,
                    use_for_fairness=False, population_attribute="", groupings=[],
                    band=[0.8, 1.25], use_as_reference=True, name_field=name_field)
    assert outline_names(world, layer)[0] == first
