"""Access helpers for the predictions app's objects: thin names over agencies.access."""

from __future__ import annotations

from agencies import access
from agencies.roles import Role
from predictions.models import Dataset, Forecast, ForecastModel, TrainingRun


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
        request, Forecast.objects.select_related("agency", "model", "run"), agency_slug=slug,
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
