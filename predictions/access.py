"""Access helpers for the predictions app's objects: thin names over agencies.access."""

from __future__ import annotations

from django.http import Http404

from agencies import access
from agencies.models import Agency
from agencies.roles import Role
from predictions.models import AreaLayer, Dataset, Forecast, ForecastModel, TrainingRun


def get_dataset_for_user(
    request, slug: str, dataset_id: int, *, min_role: Role = Role.ANALYST
) -> Dataset:
    return access.get_object_for_user(
        request,
        Dataset.objects.select_related("agency"),
        agency_slug=slug,
        min_role=min_role,
        pk=dataset_id,
    )


def get_forecast_for_user(request, slug: str, forecast_id: int,
                          *, min_role: Role = Role.VIEWER) -> Forecast:
    return access.get_object_for_user(
        # the run's card and the fairness report are large and not needed to serve cells
        request, Forecast.objects.select_related("agency", "model").defer("fairness"),
        agency_slug=slug,
        min_role=min_role, pk=forecast_id,
    )


def get_model_for_user(request, slug: str, model_id: int,
                       *, min_role: Role = Role.ANALYST) -> ForecastModel:
    return access.get_object_for_user(
        request, ForecastModel.objects.all(), agency_slug=slug, min_role=min_role, pk=model_id)


def get_run_for_user(request, slug: str, run_id: int,
                     *, min_role: Role = Role.ANALYST) -> TrainingRun:
    return access.get_object_for_user(
        request, TrainingRun.objects.select_related("model"), agency_slug=slug,
        min_role=min_role, pk=run_id)


def get_layer_for_user(request, slug: str, layer_id: int,
                       *, min_role: Role = Role.ANALYST) -> AreaLayer:
    return access.get_object_for_user(
        request, AreaLayer.objects.all(), agency_slug=slug, min_role=min_role, pk=layer_id)


def get_agency_for_governance(request, slug: str) -> tuple[Agency, str]:
    """An agency whose governance packs the user may read, and how ("member" or "board").

    Members of the agency (any role) and members of an oversight board granted the agency;
    anyone else gets a 404, as for every other object of an agency they cannot see.
    """
    agency = Agency.objects.filter(slug=slug).first()
    if agency is not None and access.membership_for(request, agency) is not None:
        return access.get_agency_for_user(request, slug, min_role=Role.VIEWER), "member"
    return access.get_overseen_agency(request, slug), "board"


def get_model_for_governance(request, slug: str, model_id: int) -> tuple[ForecastModel, str]:
    """A model of an agency from :func:`get_agency_for_governance` (404 when not its)."""
    agency, via = get_agency_for_governance(request, slug)
    model = ForecastModel.objects.filter(agency=agency, pk=model_id).first()
    if model is None:
        access._deny(request, Http404("No such model."), slug=slug,
                     reason="no such forecastmodel in this agency", role=via)
    model.agency = agency
    return model, via
