"""Data pages of the agency workspace: uploads, import progress, categories."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from agencies.access import get_agency_for_user
from agencies.roles import Role
from predictions.access import get_dataset_for_user
from predictions.incidents import categories
from predictions.incidents.actions import (
    UploadRefused,
    do_delete_dataset,
    do_start_import,
    do_upload,
)
from predictions.incidents.forms import CategoryForm, StartImportForm, UploadForm
from predictions.incidents.importer import error_report_path, progress_of
from predictions.ingest import IngestRefused, MappingError, detect_format
from predictions.models import Dataset, MappingPreset

PREVIEW_ROWS = 20

logger = logging.getLogger(__name__)


@login_required
def datasets(request: HttpRequest, slug: str) -> HttpResponse:
    agency = get_agency_for_user(request, slug, min_role=Role.ANALYST)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        uploads = form.cleaned_data["files"]
        try:
            dataset = do_upload(agency, [(f.name, f) for f in uploads],
                                acting_user=request.user, start=False)
        except UploadRefused as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("dataset-detail", slug=slug, dataset_id=dataset.pk)
    return render(request, "predictions/datasets.html", {
        "agency": agency,
        "form": form,
        "datasets": Dataset.objects.filter(agency=agency).select_related("uploaded_by"),
    }, status=400 if form.errors else 200)


def _preview(dataset: Dataset, fmt: str | None, mapping: dict | None) -> dict:
    """The first rows as the import would read them, or the reason they cannot be read.

    Never a server error: the page also offers another format/mapping and deletion, so an
    unforeseen parser (or storage) failure is logged and shown as a refusal instead.
    """
    try:
        with ExitStack() as stack:
            files = [(f.name, stack.enter_context(open(f.path, "rb")))
                     for f in dataset.files.all()]
            preview = detect_format(files, fmt or None, mapping, n=PREVIEW_ROWS)
    except (IngestRefused, MappingError) as exc:
        return {"error": str(exc)}
    except Exception:
        logger.exception("preview of dataset %s failed unexpectedly", dataset.pk)
        return {"error": "This upload could not be previewed: an unexpected error occurred "
                         "while reading it (it has been logged). Check that the files are "
                         "intact, or delete the dataset and upload them again."}
    return {"preview": preview}


@login_required
def dataset_detail(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request, slug, dataset_id)
    presets = MappingPreset.objects.filter(agency=dataset.agency)
    startable = dataset.status in (Dataset.Status.STAGED, Dataset.Status.FAILED)
    form = StartImportForm(request.POST or None, presets=presets, initial={
        "format": dataset.format})
    if request.method == "POST" and startable and form.is_valid():
        data = form.cleaned_data
        if request.POST.get("action") == "import":
            try:
                if data.get("save_preset_as"):
                    MappingPreset.objects.update_or_create(
                        agency=dataset.agency, name=data["save_preset_as"],
                        defaults={"mapping": data["mapping"]})
                do_start_import(dataset, acting_user=request.user, format=data["format"],
                                mapping=data["mapping"])
            except (UploadRefused, MappingError) as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("dataset-detail", slug=slug, dataset_id=dataset.pk)
    context = {"agency": dataset.agency, "dataset": dataset, "form": form,
               "startable": startable}
    if startable:
        cleaned = form.cleaned_data if form.is_bound and form.is_valid() else {}
        context |= _preview(dataset, cleaned.get("format", dataset.format),
                            cleaned.get("mapping", dataset.mapping))
    return render(request, "predictions/dataset_detail.html", context,
                  status=400 if form.errors else 200)


@login_required
@require_GET
def dataset_status(request: HttpRequest, slug: str, dataset_id: int) -> JsonResponse:
    dataset = get_dataset_for_user(request, slug, dataset_id)
    running = dataset.status == Dataset.Status.RUNNING
    progress = (progress_of(dataset.pk) if running else None) or {}
    done = dataset.status == Dataset.Status.DONE
    return JsonResponse({
        "status": dataset.status,
        "status_display": dataset.get_status_display(),
        "rows_read": progress.get("rows_read", dataset.rows_read),
        # share of the upload's bytes read (None until the worker has reported)
        "percent": 100 if done else progress.get("percent"),
        "phase": progress.get("phase", "done" if done else dataset.status),
        "imported": dataset.imported, "duplicates": dataset.duplicates,
        "cancelled": dataset.cancelled, "rejected": dataset.rejected,
        "error": dataset.error_message,
    })


@login_required
@require_GET
def dataset_errors(request: HttpRequest, slug: str, dataset_id: int) -> FileResponse:
    dataset = get_dataset_for_user(request, slug, dataset_id)
    path = error_report_path(dataset)
    if dataset.status != Dataset.Status.DONE or not Path(path).exists():
        raise Http404("No error report for this dataset.")
    return FileResponse(open(path, "rb"), as_attachment=True,  # noqa: SIM115
                        filename=f"dataset-{dataset.pk}-errors.csv", content_type="text/csv")


@login_required
@require_POST
def dataset_delete(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request, slug, dataset_id)
    if dataset.status in (Dataset.Status.RUNNING, Dataset.Status.PENDING):
        messages.error(request, "Wait for the import to finish before deleting the dataset.")
        return redirect("dataset-detail", slug=slug, dataset_id=dataset.pk)
    do_delete_dataset(dataset, acting_user=request.user)
    messages.success(request, f"Deleted {dataset.name} and its incidents.")
    return redirect("datasets", slug=slug)


@login_required
def category_mapping(request: HttpRequest, slug: str) -> HttpResponse:
    agency = get_agency_for_user(request, slug, min_role=Role.ANALYST)
    form = CategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        changed = categories.do_set_category(
            agency, form.cleaned_data["raw_text"], form.cleaned_data["category"] or None,
            acting_user=request.user)
        messages.success(request, f"Saved; {changed} incidents re-mapped.")
        return redirect("category-mapping", slug=slug)
    return render(request, "predictions/categories.html", {
        "agency": agency, "form": form, "rows": categories.raw_texts(agency)[:500],
        "overrides": categories.overrides_of(agency),
        "choices": form.fields["category"].choices,
    }, status=400 if form.errors else 200)
