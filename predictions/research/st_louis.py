"""St. Louis as a real agency, from the files in ``../shared/data/stl`` (see its README).

Idempotent: the agency, each file and each layer is created once. The 60 SLMPD monthly
files go through the same import as an upload; the neighbourhoods become the reference layer
(names on the maps), the census tracts the fairness layer with the suggested groupings.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from agencies.actions import do_add_member, do_change_role
from agencies.models import Agency, Membership
from agencies.roles import Role
from predictions.areas.actions import do_update_layer, do_upload_layer, suggested_settings
from predictions.forecasting.fair_selection import DEFAULT_BAND
from predictions.incidents.actions import do_upload
from predictions.incidents.importer import run_import
from predictions.models import AreaLayer, Dataset

SLUG = "st-louis"
NAME = "St. Louis Metropolitan Police Department"
MONTHLY_FILES = "slmpd_raw_monthly_2015_2019.tar.gz"


@dataclass
class Loaded:
    agency: Agency
    dataset: Dataset
    steps: list[str] = field(default_factory=list)


def boundary_from(path: Path) -> dict:
    doc = json.loads(path.read_text())
    geometry = doc["features"][0]["geometry"] if doc.get("type") == "FeatureCollection" else (
        doc.get("geometry", doc))
    return {"type": geometry["type"], "coordinates": geometry["coordinates"]}


def load(data: Path, *, acting_user=None) -> Loaded:
    """The St. Louis agency with its incidents and layers (what is there already is kept)."""
    stl = data / "stl"
    missing = [p for p in (stl / MONTHLY_FILES, stl / "geo" / "stl_city_boundary.geojson",
                           stl / "geo" / "stl_neighborhoods.geojson",
                           stl / "geo" / "stl_tracts_demographics.geojson") if not p.exists()]
    if missing:
        raise FileNotFoundError(f"Not found: {', '.join(map(str, missing))}")
    steps = []
    with transaction.atomic():
        agency, created = Agency.objects.get_or_create(slug=SLUG, defaults={
            "name": NAME, "timezone": "America/Chicago", "cell_size_m": 200,
            "boundary": boundary_from(stl / "geo" / "stl_city_boundary.geojson")})
    steps.append("agency created" if created else "agency kept")
    dataset = Dataset.objects.filter(agency=agency, name=MONTHLY_FILES).first()
    if dataset is None:
        with (stl / MONTHLY_FILES).open("rb") as stream:
            dataset = do_upload(agency, [(MONTHLY_FILES, stream)], acting_user=acting_user,
                                start=False)
        dataset.status = Dataset.Status.PENDING
        dataset.save(update_fields=["status"])
        run_import(dataset.pk)
        dataset.refresh_from_db()
        steps.append(f"imported {dataset.imported} incidents ({dataset.rejected} rejected)")
    else:
        steps.append("incidents kept")
    neighbourhoods = _layer(agency, stl / "geo" / "stl_neighborhoods.geojson", "Neighborhoods",
                            acting_user, steps)
    if not neighbourhoods.use_as_reference:
        _settings(neighbourhoods, acting_user, reference=True, fairness=False)
        steps.append("neighborhoods are the reference layer")
    tracts = _layer(agency, stl / "geo" / "stl_tracts_demographics.geojson", "Census tracts",
                    acting_user, steps)
    if not tracts.use_for_fairness:
        _settings(tracts, acting_user, reference=False, fairness=True)
        steps.append("tracts are the fairness layer")
    return Loaded(agency, dataset, steps)


def _layer(agency: Agency, path: Path, name: str, acting_user, steps: list[str]) -> AreaLayer:
    layer = AreaLayer.objects.filter(agency=agency, name=name).first()
    if layer is None:
        layer = do_upload_layer(agency, name=name, file_name=path.name, data=path.read_bytes(),
                                acting_user=acting_user)
        steps.append(f"layer {name}: {layer.n_features} areas")
    return layer


def _settings(layer: AreaLayer, acting_user, *, reference: bool, fairness: bool) -> None:
    suggested = suggested_settings(layer.attributes) if fairness else {}
    do_update_layer(layer, acting_user=acting_user, use_as_covariates=False,
                    use_for_fairness=fairness,
                    population_attribute=suggested.get("population_attribute",
                                                       layer.population_attribute),
                    groupings=suggested.get("groupings", layer.groupings),
                    band=layer.fairness_band or list(DEFAULT_BAND),
                    use_as_reference=reference or layer.use_as_reference)


def make_admin(agency: Agency, username: str) -> str:
    """`username` becomes the agency's admin; returns the new password of a new user ("")."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    password = ""
    if user is None:
        password = secrets.token_urlsafe(12)
        user = user_model.objects.create_user(username=username, password=password)
    membership = Membership.objects.filter(agency=agency, user=user).first()
    if membership is None:
        do_add_member(agency, user, Role.ADMIN, acting_user=None)
    elif membership.role != Role.ADMIN:
        do_change_role(membership, Role.ADMIN, acting_user=None)
    return password
