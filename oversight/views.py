"""Oversight workspace (board members), public transparency pages and checkpoints."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from agencies import access
from agencies.models import Agency
from audit import checkpoints, export, verifier
from audit.events import Action
from audit.models import AccessEvent, Checkpoint
from audit.recorder import record
from common.csv_safe import stream_rows
from oversight.trail import (
    PREDICTION_ACTIONS_PREFIX,
    ExportRange,
    TrailFilter,
    apply_filter,
    bar_chart,
    purpose_choices,
    summarise,
    visibility,
    visible_events,
)
from predictions.scoring.scorecard import PUBLIC_MIN_EVENTS, agency_scorecard, scorecard_page

PAGE_SIZE = 100
CSV_COLUMNS = [
    "seq", "at", "actor_name", "actor_role", "agency_slug", "action", "object_type",
    "object_id", "purpose", "purpose_note", "outcome", "source_ip", "user_agent", "request_id",
    "details", "prev_hash", "hash",
]


def _filtered(request: HttpRequest):
    events, agencies = visible_events(request.user)
    form = TrailFilter(request.GET or None, agencies, events)
    if form.is_bound and form.is_valid():
        events = apply_filter(events, form)
    elif form.is_bound:
        events = events.none()
    return form, events, agencies


def _record_trail_read(request, action: Action, form: TrailFilter, agencies, **details) -> None:
    """One event per agency whose trail was read, so each agency's trail shows it."""
    chosen = str(form.cleaned_data.get("agency") or "") if form.is_bound and form.is_valid() else ""
    filters = {k: str(v) for k, v in (form.cleaned_data if form.is_bound else {}).items() if v}
    _record_per_agency(request, action, agencies, chosen, {"filters": filters, **details})


def _record_per_agency(request, action: Action, agencies, chosen: str, details: dict) -> None:
    for agency in agencies:
        if not chosen or agency.slug == chosen:
            record(action=action, request=request, actor_role="board", agency=agency,
                   object_type="audit_trail", details=details)


@login_required
@require_GET
def oversight_home(request: HttpRequest) -> HttpResponse:
    form, events, agencies = _filtered(request)
    with transaction.atomic():
        page = Paginator(events.order_by("-seq"), PAGE_SIZE).get_page(request.GET.get("page"))
        summary = summarise(events, agencies) if agencies else None
        if agencies:
            _record_trail_read(request, Action.AUDIT_VIEW, form, agencies, page=page.number)
    labels = dict(purpose_choices(agencies))
    for event in page:
        event.purpose_label = labels.get(event.purpose, event.purpose)
    query = request.GET.copy()
    query.pop("page", None)
    boards = list(access.boards_for_user(request))
    return render(request, "audit/oversight.html", {
        "boards": boards,
        "chair_of": {b.pk for b in boards if request.user.is_staff
                     or request.user.has_perm(access.MANAGE_BOARD_PERMISSION, b)},
        "agencies": agencies,
        "form": form,
        "page": page,
        "summary": summary,
        "chart": bar_chart(summary.per_day if summary else []),
        "query": query.urlencode(),
        "export_form": ExportRange(initial={
            "from_day": form.cleaned_data.get("start"), "to_day": form.cleaned_data.get("end"),
        } if form.is_bound and form.is_valid() else None),
    })


@login_required
@require_GET
def oversight_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    form, events, agencies = _filtered(request)
    if not agencies:
        return HttpResponse("No agency has granted your boards its audit trail.", status=404)
    with transaction.atomic():
        rows = list(events.order_by("seq").values_list(*CSV_COLUMNS))
        _record_trail_read(request, Action.AUDIT_EXPORT, form, agencies, rows=len(rows))

    response = StreamingHttpResponse(
        stream_rows(CSV_COLUMNS, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    return response


@login_required
@require_GET
def oversight_export_jsonl(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """A contiguous range of the whole trail as JSON Lines that the standalone verifier
    checks: the filters above do not apply (records of agencies the board does not oversee
    are withheld, never left out), and a checkpoint is signed for it."""
    _events, agencies = visible_events(request.user)
    if not agencies:
        return HttpResponse("No agency has granted your boards its audit trail.", status=404)
    form = ExportRange(request.GET)
    if not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400,
                            content_type="text/plain; charset=utf-8")
    data = form.cleaned_data
    first, last = data.get("from_seq"), data.get("to_seq")
    if data.get("from_day") or data.get("to_day"):
        first, last = export.seq_bounds_for_dates(data.get("from_day"), data.get("to_day"))
        if first is None:
            return HttpResponse("No record lies between those days.", status=404)
    requested = {key: str(value) for key, value in data.items() if value}
    with transaction.atomic():
        _record_per_agency(request, Action.AUDIT_EXPORT, agencies, "",
                           {"format": "jsonl", "range": requested})
    plan = export.plan(first, last, requested)  # signs a checkpoint covering that record
    if plan is None:
        return HttpResponse("No record lies in that range.", status=404)
    boards = list(access.boards_for_user(request.user).values_list("pk", flat=True))
    header = {"exported_by": request.user.get_username(),
              "agencies": [a.slug for a in agencies], "agency_ids": [a.pk for a in agencies]}
    response = StreamingHttpResponse(export.lines(plan, visibility(agencies, boards), header),
                                     content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-trail-{plan.first}-{plan.last}.jsonl"')
    return response


@require_GET
def verifier_source(request: HttpRequest) -> HttpResponse:
    """Public: the standalone verifier (one file: Python and `cryptography`, no portal)."""
    response = HttpResponse(Path(verifier.__file__).read_bytes(),
                            content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="verifier.py"'
    return response


@require_GET
def transparency(request: HttpRequest, slug: str) -> HttpResponse:
    """Public: how often the agency's forecasts were read, by month and purpose, and how
    good they were once their windows closed (the scorecard: aggregates only)."""
    agency = get_object_or_404(Agency, slug=slug)
    monthly = (
        AccessEvent.objects.filter(
            agency_id=agency.pk, action__startswith=PREDICTION_ACTIONS_PREFIX
        )
        .annotate(month=TruncMonth("at")).values("month", "purpose")
        .annotate(n=Count("seq")).order_by("-month", "purpose")
    )
    return render(request, "audit/transparency.html", {
        "agency": agency,
        "monthly": [{**row, "label": agency.purpose_label(row["purpose"]) or row["purpose"]}
                    for row in monthly],
        "scorecard": scorecard_page(agency_scorecard(agency)),
        "scorecard_min_events": PUBLIC_MIN_EVENTS,
        "checkpoint": Checkpoint.objects.first(),
        "checkpoint_events": settings.AUDIT_CHECKPOINT_EVENTS,
    })


@require_GET
def published_checkpoints(request: HttpRequest) -> JsonResponse:
    """Public: the signing key and the latest signed checkpoints, for boards to save."""
    return JsonResponse(checkpoints.published_document())
