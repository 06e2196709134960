"""Area layers pages: tracts, neighbourhoods and places an agency uploads."""

from __future__ import annotations

import io
import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from agencies import access
from agencies.access import get_agency_for_user
from agencies.models import Agency
from agencies.roles import Role
from predictions.access import (
    get_layer_for_user,
)
from predictions.areas.actions import (
    BAND_LIMITS,
    MAX_LAYER_BYTES,
    LayerError,
    do_delete_layer,
    do_start_layer_upload,
    do_update_layer,
)
from predictions.bridge import area_names
from predictions.forecasting.fair_selection import DEFAULT_BAND
from predictions.models import AreaLayer, LayerUpload

RECENT_UPLOADS = 10


class LayerFileHandler(FileUploadHandler):
    """Keeps an uploaded layer file in memory, never in a temporary file on disk (nothing
    is left behind whatever becomes of the request), up to MAX_LAYER_BYTES: past that it
    only counts the bytes, and the form refuses the file by its size."""

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.buffer: io.BytesIO | None = io.BytesIO()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self.buffer is not None:
            if start + len(raw_data) > MAX_LAYER_BYTES:
                self.buffer = None  # too large: drop what was kept, count the rest
            else:
                self.buffer.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        content = self.buffer or io.BytesIO()
        content.seek(0)
        return InMemoryUploadedFile(
            file=content, field_name=self.field_name, name=self.file_name,
            content_type=self.content_type, size=file_size, charset=self.charset,
            content_type_extra=self.content_type_extra)


class LayerUploadForm(forms.Form):
    file = forms.FileField(label="Layer file",
                           help_text="GeoJSON (any CRS named in the file, else lon/lat) or a "
                                     ".zip holding one shapefile (.shp, .dbf, .prj), up to "
                                     f"{MAX_LAYER_BYTES // 1024**2} MB.")
    name = forms.CharField(max_length=100, required=False,
                           help_text="Blank: the file name.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_LAYER_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_LAYER_BYTES // 1024**2} MB.")
        return upload


class LayerSettingsForm(forms.Form):
    use_as_reference = forms.BooleanField(
        required=False, label="Reference layer (names on the maps)",
        help_text="Its areas' outlines are drawn under the forecast cells, and every cell, "
                  "popup and export names the area it lies in (one polygon layer per agency).")
    use_as_covariates = forms.BooleanField(required=False, label="Use as covariates",
                                           help_text="Machine-learning models that opt in learn "
                                                     "from this layer's attributes per cell.")
    use_for_fairness = forms.BooleanField(required=False, label="Use for the fairness report",
                                          help_text="Groups of residents come from this layer "
                                                    "(one layer per agency).")
    population_attribute = forms.CharField(required=False, max_length=100,
                                           label="Attribute counting residents")
    groupings = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        label="Groupings (JSON)",
        help_text='e.g. [{"name": "Majority race/ethnicity", "kind": "majority", "columns": '
                  '["nh_white", "nh_black"]}, {"name": "Poverty quintile", "kind": "quantile", '
                  '"attribute": "poverty_rate", "q": 5}]')
    band_low = forms.FloatField(min_value=BAND_LIMITS[0], max_value=1.0,
                                label="Exposure band: low")
    band_high = forms.FloatField(min_value=1.0, max_value=BAND_LIMITS[1],
                                 label="Exposure band: high")
    name_field = forms.ChoiceField(
        required=False, label="Name field",
        help_text="The text column that names the areas on the maps, popups and exports "
                  "when this is the reference layer.")

    def __init__(self, *args, layer: AreaLayer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        default = (f"Default: {layer.label_field}" if layer.label_field
                   else "Default: numbered (#1, #2, ...)")
        self.fields["name_field"].choices = [("", default)] + [
            (f["name"], f"{f['name']} (e.g. {str(f['example'])[:40]})")
            for f in layer.text_fields]
        # the name field sits beside the reference checkbox
        order = ["use_as_reference", "name_field"]
        self.order_fields(order + [n for n in self.fields if n not in order])

    def clean_groupings(self):
        text = self.cleaned_data["groupings"].strip() or "[]"
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None
        if not isinstance(value, list):
            raise forms.ValidationError("Groupings must be a JSON list.")
        return value


@login_required
@csrf_exempt  # the upload handler is set before the body is read; _layers checks the token
def layers(request: HttpRequest, slug: str) -> HttpResponse:
    agency = get_agency_for_user(request, slug, min_role=Role.ANALYST)  # before the body
    request.upload_handlers = [LayerFileHandler(request)]
    return _layers(request, agency)


@csrf_protect
def _layers(request: HttpRequest, agency: Agency) -> HttpResponse:
    slug = agency.slug
    form = LayerUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = do_start_layer_upload(agency, name=form.cleaned_data["name"],
                                        file_name=upload.name, data=upload.read(),
                                        acting_user=request.user)
        except LayerError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("layer-upload", slug=slug, upload_id=job.pk)
    return render(request, "predictions/layers.html", {
        "agency": agency, "form": form,
        "layers": AreaLayer.objects.filter(agency=agency).defer("geojson"),
        "uploads": LayerUpload.objects.filter(agency=agency).defer("data")[:RECENT_UPLOADS],
    }, status=400 if form.errors else 200)


@login_required
@require_GET
def layer_upload(request: HttpRequest, slug: str, upload_id: int) -> HttpResponse:
    """An upload being read, or why it was refused; the layer it became."""
    uploads = LayerUpload.objects.select_related("layer").defer("data", "layer__geojson")
    upload = access.get_object_for_user(request, uploads, agency_slug=slug,
                                        min_role=Role.ANALYST, pk=upload_id)
    waiting = upload.status in (LayerUpload.Status.PENDING, LayerUpload.Status.RUNNING)
    return render(request, "predictions/layer_upload.html", {
        "agency": upload.agency, "upload": upload, "waiting": waiting})


@login_required
def layer_detail(request: HttpRequest, slug: str, layer_id: int) -> HttpResponse:
    layer = get_layer_for_user(request, slug, layer_id)
    band = layer.fairness_band or list(DEFAULT_BAND)
    initial = {"use_as_reference": layer.use_as_reference,
               "use_as_covariates": layer.use_as_covariates,
               "use_for_fairness": layer.use_for_fairness,
               "population_attribute": layer.population_attribute,
               "groupings": json.dumps(layer.groupings, indent=1),
               "band_low": band[0], "band_high": band[1]}
    initial["name_field"] = layer.name_field
    form = LayerSettingsForm(request.POST or None, initial=initial, layer=layer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            do_update_layer(layer, acting_user=request.user,
                            use_as_covariates=data["use_as_covariates"],
                            use_for_fairness=data["use_for_fairness"],
                            population_attribute=data["population_attribute"].strip(),
                            groupings=data["groupings"],
                            band=[data["band_low"], data["band_high"]],
                            use_as_reference=data["use_as_reference"],
                            name_field=data["name_field"])
        except LayerError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Layer settings saved; they apply from the next "
                                      "training run and forecast.")
            return redirect("layer-detail", slug=slug, layer_id=layer.pk)
    return render(request, "predictions/layer_detail.html", {
        "agency": layer.agency, "layer": layer, "form": form,
        "attributes": sorted(layer.attributes.items()),
        "upload": layer.uploads.defer("data").first(),
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def layer_delete(request: HttpRequest, slug: str, layer_id: int) -> HttpResponse:
    layer = get_layer_for_user(request, slug, layer_id)
    do_delete_layer(layer, acting_user=request.user)
    messages.success(request, f"Layer {layer.name} deleted.")
    return redirect("layers", slug=slug)


@login_required
@require_GET
def layer_outlines(request: HttpRequest, slug: str, layer_id: int) -> HttpResponse:
    """A layer's areas with their names only (no attribute), for drawing under the cells."""
    layer = get_layer_for_user(request, slug, layer_id, min_role=Role.VIEWER)
    stored = json.loads(layer.geojson)["features"]
    features = [{"type": "Feature", "geometry": f["geometry"], "properties": {"name": name}}
                for f, name in zip(stored, area_names(stored, layer.name_field), strict=True)]
    body = json.dumps({"type": "FeatureCollection", "features": features},
                      separators=(",", ":"))
    response = HttpResponse(body, content_type="application/geo+json")
    response["Cache-Control"] = "private, max-age=300"
    return response
