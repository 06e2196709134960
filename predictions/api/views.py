"""REST API v1. Every queryset goes through the access helpers; every response that
carries a prediction needs a stated `purpose` and is recorded (predictions.forecasts.serving)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
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
from predictions.forecasts.patrol import SelectionRefused, parse_selection
from predictions.forecasts.purpose import PurposeRefused, stated_purpose
from predictions.forecasts.serving import (
    coverage_cells,
    layer_response,
    parse_coverage,
)
from predictions.incidents.actions import AlreadyUploaded, UploadRefused, do_upload
from predictions.ingest import FORMATS
from predictions.modelling.actions import do_start_training
from predictions.modelling.training import TrainingError
from predictions.models import Dataset, Forecast, ForecastModel, Incident, TrainingRun
from predictions.taxonomy import CATEGORIES


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
    model: Any = None  # the listed model class

    def agency(self):
        return access.get_agency_for_user(self.request, self.kwargs["slug"],
                                          min_role=self.min_role)

    def get_queryset(self):
        return self.model.objects.filter(agency=self.agency())


UPLOAD = {
    "type": "object",
    "properties": {
        "files": {
            "type": "array", "minItems": 1,
            "items": {"type": "string", "format": "binary", "minLength": 1},
            "description": "The files of one dataset (a CSV, or a shapefile's parts, or a zip); "
                           "each a file part named `files`.",
        },
        "format": {
            "type": "string", "enum": ["", *FORMATS],
            "description": "The export format; empty or absent: recognised from the files.",
        },
    },
    "required": ["files"],
}


class DatasetList(TenantList):
    """Datasets and their import status; POST files (multipart) to import them."""

    serializer_class = DatasetSerializer
    model = Dataset
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": UPLOAD},
        responses={
            201: DatasetSerializer,
            409: OpenApiResponse({"$ref": "#/components/schemas/Conflict"},
                                 description="These files were uploaded before (as `dataset`)."),
            413: OpenApiResponse({"$ref": "#/components/schemas/Error"},
                                 description="A file is larger than the import limit."),
        },
    )
    def post(self, request, slug):
        agency = self.agency()
        files = request.FILES.getlist("files")
        too_large = [f.name for f in files if f.size > settings.IMPORT_MAX_BYTES]
        if too_large:
            return Response(
                {"detail": f"{too_large[0]} is larger than "
                           f"{settings.IMPORT_MAX_BYTES // 1024**2} MB."},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        try:
            dataset = do_upload(agency, [(f.name, f) for f in files], acting_user=request.user,
                                format=request.data.get("format", ""))
        except AlreadyUploaded as exc:
            return Response({"detail": str(exc), "dataset": exc.dataset.pk},
                            status=status.HTTP_409_CONFLICT)
        except UploadRefused as exc:
            raise ApiValidationError({"files": str(exc)}) from exc
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)


class DatasetDetail(generics.RetrieveAPIView):
    serializer_class = DatasetSerializer

    def get_object(self):
        return access.get_object_for_user(self.request, Dataset.objects.all(),
                                          agency_slug=self.kwargs["slug"],
                                          min_role=Role.ANALYST, pk=self.kwargs["pk"])


INSTANT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt ]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?([Zz]|[+-][0-9]{2}:[0-9]{2})?)?"
)
INSTANT_SCHEMA = {"anyOf": [{"type": "string", "format": "date"},
                            {"type": "string", "format": "date-time"}]}
NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def single(request, name: str) -> str | None:
    """A query parameter given at most once (the schema's parameters are not lists)."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ApiValidationError({name: "given more than once"})
    return values[0] if values else None


def _instant(value: str, name: str) -> datetime:
    """A date (midnight) or date-time of a query parameter, as the schema states them
    (RFC 3339; without an offset: the portal's time zone). Instants beyond what a datetime
    holds in UTC are clamped to its first or last one."""
    match = INSTANT.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        year, month, day, hour, minute, second, fraction, offset = match.groups()
        parsed = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                          min(int(second or 0), 59),  # a leap second: its last microsecond
                          int((fraction or "0")[:6].ljust(6, "0")))
        if offset in ("Z", "z"):
            parsed = parsed.replace(tzinfo=UTC)
        elif offset:
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError(offset)
            sign = -1 if offset[0] == "-" else 1
            parsed = parsed.replace(
                tzinfo=dt_timezone(sign * timedelta(hours=hours, minutes=minutes)))
        else:
            parsed = timezone.make_aware(parsed)
    except ValueError:
        raise ApiValidationError(
            {name: "an ISO date or datetime, e.g. 2019-01-31 or 2019-01-31T18:00:00-06:00"}
        ) from None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return EARLIEST if parsed.year < 2000 else LATEST


def _bbox(value: str) -> tuple[float, ...]:
    parts = value.split(",")
    if len(parts) != 4 or not all(NUMBER.fullmatch(p) for p in parts):
        raise ApiValidationError({"bbox": "min_lon,min_lat,max_lon,max_lat"})
    return tuple(float(p) for p in parts)


@extend_schema(parameters=[
    OpenApiParameter("start", INSTANT_SCHEMA,
                     description="Date (from its midnight) or date-time, inclusive; a "
                                 "date-time without offset is in the portal's time zone."),
    OpenApiParameter("end", INSTANT_SCHEMA,
                     description="Date (to its midnight) or date-time, exclusive."),
    OpenApiParameter("category", str, enum=["", *CATEGORIES],
                     description="A category code; empty or absent: all."),
    OpenApiParameter("bbox", {"type": "array", "items": {"type": "number"},
                              "minItems": 4, "maxItems": 4},
                     style="form", explode=False,
                     description="min_lon,min_lat,max_lon,max_lat"),
])
class IncidentList(TenantList):
    """Incidents, filtered by time, category and bounding box, paginated."""

    serializer_class = IncidentSerializer
    model = Incident

    def get_queryset(self):
        rows = super().get_queryset().filter(cancelled=False).order_by("occurred_at", "id")
        start, end, category, bbox = (single(self.request, name)
                                      for name in ("start", "end", "category", "bbox"))
        if start is not None:
            rows = rows.filter(occurred_at__gte=_instant(start, "start"))
        if end is not None:
            rows = rows.filter(occurred_at__lt=_instant(end, "end"))
        if category:
            if category not in CATEGORIES:
                raise ApiValidationError({"category": "one of " + ", ".join(CATEGORIES)})
            rows = rows.filter(category=category)
        if bbox is not None:
            x0, y0, x1, y1 = _bbox(bbox)
            rows = rows.filter(lon__gte=x0, lon__lte=x1, lat__gte=y0, lat__lte=y1)
        return rows


class ModelList(TenantList):
    """Forecasting models."""

    serializer_class = ModelSerializer
    model = ForecastModel


class ModelTrain(APIView):
    """Start a training run of a model (202; follow it at runs/<id>/)."""

    @extend_schema(request=None, responses={
        202: RunSerializer,
        409: OpenApiResponse({"$ref": "#/components/schemas/Conflict"},
                             description="The model cannot be trained (unknown method)."),
    })
    def post(self, request, slug, pk):
        model = get_model_for_user(request, slug, pk)
        try:
            run = do_start_training(model, acting_user=request.user)
        except TrainingError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
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


FEATURE_COLLECTION = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "flagged": {"type": "integer", "description": "How many cells are flagged."},
        "selection": {"type": "string", "enum": ["plain", "fair"],
                      "description": "Which cells are flagged (the `selection` parameter)."},
        "band": {"type": "array", "items": {"type": "number"}, "nullable": True,
                 "description": "fair: the exposure band the flagged cells meet (null: "
                                "plain, or no choice met any band)."},
        "flagged_ranks": {"type": "array", "items": {"type": "integer"},
                          "description": "The ranks of the flagged cells (plain: 1..flagged)."},
        "features": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "geometry": {"type": "object", "description": "A GeoJSON Polygon (lon/lat)."},
                "properties": {
                    "type": "object",
                    "properties": {
                        "rank": {"type": "integer"},
                        "cell": {"type": "integer"},
                        "score": {"type": "number"},
                        "expected": {"type": "number", "nullable": True},
                    },
                    "required": ["rank", "cell", "score", "expected"],
                },
            },
            "required": ["type", "geometry", "properties"],
        }},
    },
    "required": ["type", "flagged", "features"],
}


NOTE_MAX = 500  # the audit record's purpose_note


class ForecastCells(APIView):
    """A forecast's cells as a GeoJSON FeatureCollection. Needs `purpose` (one of the
    agency's purpose codes) and records the read."""

    @extend_schema(parameters=[
        OpenApiParameter("purpose", str, required=True, examples=[
            OpenApiExample("analysis", value="analysis")],
            description="One of the agency's purpose codes (by default patrol_planning, "
                        "prevention, analysis, evaluation, oversight_request, other); "
                        "another gets 403."),
        OpenApiParameter("note", {"type": "string", "maxLength": NOTE_MAX,
                                  "pattern": "^[^\\u0000]*$"},
                         description="Why; needed (non-blank) with `other`."),
        OpenApiParameter("coverage", float,
                         description="Share of cells flagged, e.g. 0.01 (the default); "
                                     "clamped to 0.001..1."),
        OpenApiParameter("selection", str, enum=["plain", "fair"],
                         description="Which cells are flagged: `plain` (the default), the "
                                     "highest-risk cells; `fair`, the fairness-aware selection "
                                     "keeping every group of residents of the agency's "
                                     "fairness layer within its band (400 without a layer)."),
    ], responses={(200, "application/geo+json"): OpenApiResponse(
        FEATURE_COLLECTION, description="Every cell; the top `flagged` ranks are flagged.")})
    def get(self, request, slug, pk):
        forecast = get_forecast_for_user(request, slug, pk)
        code, note, text, selection = (single(request, name) for name in
                                       ("purpose", "note", "coverage", "selection"))
        if note is not None and (len(note) > NOTE_MAX or "\x00" in note):
            raise ApiValidationError({"note": f"at most {NOTE_MAX} characters"})
        try:
            purpose = stated_purpose(forecast.agency, code or "", note or "")
        except PurposeRefused as refused:
            raise ApiPermissionDenied(f"{refused} (?{refused.field}=...)") from None
        try:
            if text is not None and not NUMBER.fullmatch(text):
                raise ValueError(text)
            coverage = parse_coverage(text)
        except ValueError:
            raise ApiValidationError({"coverage": "a number such as 0.01"}) from None
        flagged = coverage_cells(forecast, coverage, None)
        try:
            return layer_response(request, forecast, purpose, Action.FORECAST_API_CELLS,
                                  flagged, parse_selection(selection))
        except SelectionRefused as refused:
            raise ApiValidationError({"selection": str(refused)}) from None
