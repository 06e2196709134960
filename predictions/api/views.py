"""REST API v1. Every queryset goes through the access helpers; every response that
carries a prediction needs a stated `purpose` and is recorded (predictions.forecasts.serving)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies import access
from agencies.roles import Role
from audit.events import Action
from predictions.access import get_forecast_for_user, get_model_for_user, get_run_for_user
from predictions.forecasts.purpose import PurposeRefused, stated_purpose
from predictions.forecasts.serving import (
    coverage_cells,
    layer_response,
    parse_coverage,
)
from predictions.incidents.actions import UploadRefused, do_upload
from predictions.modelling.actions import do_start_training
from predictions.models import Dataset, Forecast, ForecastModel, Incident, TrainingRun


class AgencySerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    timezone = serializers.CharField()
    role = serializers.CharField()


class DatasetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dataset
        fields = ["id", "name", "size_bytes", "sha256", "format", "status", "rows_read",
                  "imported", "duplicates", "cancelled", "rejected", "error_message",
                  "created_at", "finished_at"]


class IncidentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Incident
        fields = ["id", "source_id", "occurred_at", "date_precision", "raw_category",
                  "category", "lon", "lat", "address", "district", "location_withheld",
                  "dataset"]


class RunSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingRun
        fields = ["id", "model", "status", "progress", "data_start", "data_end", "n_events",
                  "metrics", "model_card", "artifact_sha256", "error_message", "created_at",
                  "finished_at"]


class ModelSerializer(serializers.ModelSerializer):
    class Meta:
        model = ForecastModel
        fields = ["id", "name", "category", "horizon_days", "method", "parameters",
                  "cell_size_m", "active", "created_at"]


class ForecastSerializer(serializers.ModelSerializer):
    class Meta:
        model = Forecast
        fields = ["id", "model", "run", "window_start", "horizon_days", "n_cells",
                  "expected_total", "grid", "created_at"]


class AgencyList(generics.ListAPIView):
    """The agencies you are a member of, with your role."""

    serializer_class = AgencySerializer
    pagination_class = None

    def get_queryset(self):
        return [
            {"slug": m.agency.slug, "name": m.agency.name, "timezone": m.agency.timezone,
             "role": m.role}
            for m in self.request.user.memberships.select_related("agency")
        ]


class TenantList(generics.ListAPIView):
    """A list of one agency's objects, scoped by the access rule."""

    min_role = Role.ANALYST
    model = None

    def agency(self):
        return access.get_agency_for_user(self.request, self.kwargs["slug"],
                                          min_role=self.min_role)

    def get_queryset(self):
        return self.model.objects.filter(agency=self.agency())


class DatasetList(TenantList):
    """Datasets and their import status; POST files (multipart) to import them."""

    serializer_class = DatasetSerializer
    model = Dataset
    parser_classes = [MultiPartParser, FormParser]

    def post(self, request, slug):
        agency = self.agency()
        files = request.FILES.getlist("files")
        try:
            dataset = do_upload(agency, [(f.name, f) for f in files], acting_user=request.user,
                                format=request.data.get("format", ""))
        except UploadRefused as exc:
            raise ApiValidationError({"files": str(exc)}) from exc
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)


class DatasetDetail(generics.RetrieveAPIView):
    serializer_class = DatasetSerializer

    def get_object(self):
        return access.get_object_for_user(self.request, Dataset.objects.all(),
                                          agency_slug=self.kwargs["slug"],
                                          min_role=Role.ANALYST, pk=self.kwargs["pk"])


def _instant(value: str, name: str) -> datetime:
    """An ISO date or datetime of a query parameter (naive: the portal's time zone)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ApiValidationError(
            {name: "an ISO date or datetime, e.g. 2019-01-31 or 2019-01-31T18:00:00-06:00"}
        ) from None
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


@extend_schema(parameters=[
    OpenApiParameter("start", str, description="ISO date or datetime, inclusive"),
    OpenApiParameter("end", str, description="ISO date or datetime, exclusive"),
    OpenApiParameter("category", str),
    OpenApiParameter("bbox", str, description="min_lon,min_lat,max_lon,max_lat"),
])
class IncidentList(TenantList):
    """Incidents, filtered by time, category and bounding box, paginated."""

    serializer_class = IncidentSerializer
    model = Incident

    def get_queryset(self):
        rows = super().get_queryset().filter(cancelled=False).order_by("occurred_at", "id")
        params = self.request.query_params
        if params.get("start"):
            rows = rows.filter(occurred_at__gte=_instant(params["start"], "start"))
        if params.get("end"):
            rows = rows.filter(occurred_at__lt=_instant(params["end"], "end"))
        if params.get("category"):
            rows = rows.filter(category=params["category"])
        if params.get("bbox"):
            try:
                x0, y0, x1, y1 = (float(v) for v in params["bbox"].split(","))
            except ValueError:
                raise ApiValidationError({"bbox": "min_lon,min_lat,max_lon,max_lat"}) from None
            rows = rows.filter(lon__gte=x0, lon__lte=x1, lat__gte=y0, lat__lte=y1)
        return rows


class ModelList(TenantList):
    """Forecasting models."""

    serializer_class = ModelSerializer
    model = ForecastModel


class ModelTrain(APIView):
    """Start a training run of a model (202; follow it at runs/<id>/)."""

    @extend_schema(request=None, responses=RunSerializer)
    def post(self, request, slug, pk):
        model = get_model_for_user(request, slug, pk)
        run = do_start_training(model, acting_user=request.user)
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class RunDetail(generics.RetrieveAPIView):
    """A training run with its backtest metrics and model card."""

    serializer_class = RunSerializer

    def get_object(self):
        return get_run_for_user(self.request, self.kwargs["slug"], self.kwargs["pk"])


class ForecastList(TenantList):
    """Forecasts (their windows and grids; the cells are at forecasts/<id>/cells/)."""

    serializer_class = ForecastSerializer
    model = Forecast
    min_role = Role.VIEWER


class ForecastCells(APIView):
    """A forecast's cells as a GeoJSON FeatureCollection. Needs `purpose` (one of the
    agency's purpose codes) and records the read."""

    @extend_schema(parameters=[
        OpenApiParameter("purpose", str, required=True),
        OpenApiParameter("note", str),
        OpenApiParameter("coverage", float, description="share of cells flagged, e.g. 0.01"),
    ], responses={(200, "application/geo+json"): dict})
    def get(self, request, slug, pk):
        forecast = get_forecast_for_user(request, slug, pk)
        try:
            purpose = stated_purpose(forecast.agency, request.query_params.get("purpose", ""),
                                     request.query_params.get("note", ""))
        except PurposeRefused as refused:
            raise ApiPermissionDenied(f"{refused} (?{refused.field}=...)") from None
        try:
            coverage = parse_coverage(request.query_params.get("coverage"))
        except ValueError:
            raise ApiValidationError({"coverage": "a number such as 0.01"}) from None
        flagged = coverage_cells(forecast, coverage, None)
        return layer_response(request, forecast, purpose, Action.FORECAST_API_CELLS, flagged)
