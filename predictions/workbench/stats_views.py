"""Workbench pages of near repeats (Knox), intervention checks (WDD) and CompStat reports.

Analysts and admins only (viewers 403, other agencies 404, through agencies.access). The
pages show aggregates (pair counts, area counts, category counts, hit rates), never an
incident; opening a result is still recorded in the audit trail, as governance packs are
(KNOX_VIEW, WDD_VIEW, COMPSTAT_VIEW), in the transaction that serves it.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from agencies import access
from agencies.recording import record_action
from agencies.roles import Role
from audit.events import Action
from predictions.bridge import reference_places
from predictions.forecasting.knox import DEFAULT_DISTANCE_BANDS, DEFAULT_TIME_BANDS
from predictions.models import CompStatReport, Incident, KnoxRun
from predictions.taxonomy import CATEGORIES
from predictions.workbench import knox, wdd
from predictions.workbench.compstat import CompStatRefused, last_complete_week, week_of
from predictions.workbench.stats_actions import do_request_compstat, do_start_knox

RECENT = 20
CATEGORY_FIELD_CHOICES = [(code, c.label) for code, c in CATEGORIES.items()]


def _agency(request: HttpRequest, slug: str):
    return access.get_agency_for_user(request, slug, min_role=Role.ANALYST)


def _edges(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError as exc:
        raise forms.ValidationError("Numbers separated by commas, e.g. 0, 100, 200.") from exc
    if not values or any(v != v or v in (float("inf"), float("-inf")) for v in values):
        raise forms.ValidationError("Numbers separated by commas, e.g. 0, 100, 200.")
    return values


def _join(edges) -> str:
    return ", ".join(f"{e:g}" for e in edges)


class KnoxForm(forms.Form):
    category = forms.ChoiceField(choices=CATEGORY_FIELD_CHOICES, initial="burglary")
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="First day of the period.")
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}),
                          help_text="Last day of the period (included; at most three years).")
    distance_bands = forms.CharField(
        initial=_join(DEFAULT_DISTANCE_BANDS), label="Distance bands (metres)",
        help_text="Band edges: 0, 100, 200 makes “same place”, “up to 100 m”, “100–200 m”.")
    time_bands = forms.CharField(
        initial=_join(DEFAULT_TIME_BANDS), label="Time bands (days)",
        help_text="Band edges in days: 7, 14 makes “up to 7 days”, “7–14 days”.")
    permutations = forms.IntegerField(min_value=19, max_value=999, initial=99,
                                      help_text="Random reshufflings of the dates (19 to 999).")
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=0,
                              help_text="The same seed gives the same p-values again.")

    def clean_distance_bands(self) -> list[float]:
        return _edges(self.cleaned_data["distance_bands"])

    def clean_time_bands(self) -> list[float]:
        return _edges(self.cleaned_data["time_bands"])


def _default_period(agency) -> tuple[date, date]:
    """The last full year of data (or of the calendar, without data)."""
    last = Incident.objects.filter(agency=agency).aggregate(m=Max("occurred_at"))["m"]
    zone = ZoneInfo(agency.timezone)
    end = (last or timezone.now()).astimezone(zone).date()
    return end - timedelta(days=364), end


@login_required
@require_http_methods(["GET", "POST"])
def knox_index(request: HttpRequest, slug: str) -> HttpResponse:
    agency = _agency(request, slug)
    if request.method == "POST":
        form = KnoxForm(request.POST)
        if form.is_valid():
            try:
                run = do_start_knox(agency, acting_user=request.user, **form.cleaned_data)
            except knox.KnoxRefused as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("workbench-knox-run", slug=slug, run_id=run.pk)
    else:
        start, end = _default_period(agency)
        form = KnoxForm(initial={"start": start, "end": end})
    runs = KnoxRun.objects.filter(agency=agency).defer("result")[:RECENT]
    return render(request, "predictions/workbench/knox_index.html",
                  {"agency": agency, "form": form, "runs": runs})


@login_required
@require_GET
def knox_run(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    run = access.get_object_for_user(request, KnoxRun.objects.all(), agency_slug=slug,
                                     min_role=Role.ANALYST, pk=run_id)
    context = {"agency": run.agency, "run": run}
    with transaction.atomic():
        if run.status == KnoxRun.Status.DONE:
            record_action(Action.KNOX_VIEW, acting_user=request.user, agency=run.agency,
                          object_type="knox_run", object_id=run.pk,
                          details={"category": run.category})
            context.update(rows=knox.table_rows(run.result), words=knox.plain_words(run),
                           time_labels=knox.band_labels(run.result["time_edges"], "days"))
        return render(request, "predictions/workbench/knox_run.html", context)


@login_required
@require_GET
def knox_status(request: HttpRequest, slug: str, run_id: int) -> JsonResponse:
    run = access.get_object_for_user(request, KnoxRun.objects.defer("result"),
                                     agency_slug=slug, min_role=Role.ANALYST, pk=run_id)
    return JsonResponse({"status": run.status, "status_display": run.get_status_display(),
                         "progress": run.progress, "error": run.error_message})


# did it work? --------------------------------------------------------------------------------
class WDDForm(forms.Form):
    category = forms.ChoiceField(
        choices=[("", "All crime (without enforcement-driven categories)"),
                 *CATEGORY_FIELD_CHOICES], required=False)
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}),
                            label="Patrol period from")
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}),
                          label="to (included)",
                          help_text="The “before” period is as many days right before it.")
    treated = forms.TypedMultipleChoiceField(
        coerce=int, label="Patrolled areas", widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text="Hold Ctrl (or ⌘) to choose several.")
    control = forms.TypedMultipleChoiceField(
        coerce=int, label="Control areas", widget=forms.SelectMultiple(attrs={"size": 10}),
        help_text="Comparable areas that were not patrolled, away from the patrolled ones.")
    buffer_m = forms.FloatField(
        min_value=0, max_value=wdd.MAX_BUFFER_M, initial=300,
        label="Displacement buffer (metres)",
        help_text="The band around the patrolled areas where crime may have moved (and the "
                  "same band around the controls); 0 leaves displacement out.")

    def __init__(self, *args, names: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = sorted(((i, n or f"Area {i + 1}") for i, n in enumerate(names)),
                         key=lambda c: c[1].lower())
        self.fields["treated"].choices = choices
        self.fields["control"].choices = choices


@login_required
@require_GET
def wdd_page(request: HttpRequest, slug: str) -> HttpResponse:
    agency = _agency(request, slug)
    places = reference_places(agency)
    context: dict = {"agency": agency, "places": places}
    if places is None:
        return render(request, "predictions/workbench/wdd.html", context)
    if "treated" in request.GET or "start" in request.GET:
        form = WDDForm(request.GET, names=places.names)
    else:
        last = _default_period(agency)[1]
        form = WDDForm(names=places.names, initial={"start": last - timedelta(days=27),
                                                    "end": last})
    context["form"] = form
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        wanted = wdd.WDDRequest(category=data["category"], start=data["start"], end=data["end"],
                                treated=tuple(data["treated"]), control=tuple(data["control"]),
                                buffer_m=data["buffer_m"])
        try:
            with transaction.atomic():
                context["answer"] = wdd.evaluate(agency, places, wanted)
                record_action(Action.WDD_VIEW, acting_user=request.user, agency=agency,
                              object_type="agency", object_id=agency.pk,
                              details={"category": wanted.category, "start": str(wanted.start),
                                       "end": str(wanted.end),
                                       "treated": context["answer"]["treated_names"],
                                       "control": context["answer"]["control_names"],
                                       "buffer_m": wanted.buffer_m})
        except wdd.WDDRefused as exc:
            form.add_error(None, str(exc))
    return render(request, "predictions/workbench/wdd.html", context,
                  status=400 if form.is_bound and form.errors else 200)


# CompStat ------------------------------------------------------------------------------------
class CompStatForm(forms.Form):
    week = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}),
                           label="A day of the week",
                           help_text="The report covers its Monday to Sunday.")


@login_required
@require_http_methods(["GET", "POST"])
def compstat_index(request: HttpRequest, slug: str) -> HttpResponse:
    agency = _agency(request, slug)
    if request.method == "POST":
        form = CompStatForm(request.POST)
        if form.is_valid():
            try:
                report = do_request_compstat(agency, week_start=week_of(form.cleaned_data["week"]),
                                             acting_user=request.user)
            except CompStatRefused as exc:
                form.add_error("week", str(exc))
            else:
                messages.success(request, "Report asked for: it is made in the background.")
                return redirect("workbench-compstat-report", slug=slug, report_id=report.pk)
    else:
        form = CompStatForm(initial={"week": last_complete_week(agency)})
    reports = CompStatReport.objects.filter(agency=agency).defer("data", "pdf")[:50]
    return render(request, "predictions/workbench/compstat_index.html",
                  {"agency": agency, "form": form, "reports": reports})


@login_required
@require_GET
def compstat_report(request: HttpRequest, slug: str, report_id: int) -> HttpResponse:
    report = access.get_object_for_user(request, CompStatReport.objects.defer("pdf"),
                                        agency_slug=slug, min_role=Role.ANALYST, pk=report_id)
    waiting = report.status in (CompStatReport.Status.PENDING, CompStatReport.Status.RUNNING)
    with transaction.atomic():
        if report.status == CompStatReport.Status.DONE:
            record_action(Action.COMPSTAT_VIEW, acting_user=request.user, agency=report.agency,
                          object_type="compstat_report", object_id=report.pk,
                          details={"week_start": str(report.week_start), "format": "html"})
        return render(request, "predictions/workbench/compstat_report.html",
                      {"agency": report.agency, "report": report, "data": report.data,
                       "waiting": waiting})


@login_required
@require_GET
def compstat_pdf(request: HttpRequest, slug: str, report_id: int) -> HttpResponse:
    report = access.get_object_for_user(request, CompStatReport.objects.defer("data"),
                                        agency_slug=slug, min_role=Role.ANALYST, pk=report_id)
    if report.status != CompStatReport.Status.DONE:
        return HttpResponse("The report is not ready yet.", status=409,
                            content_type="text/plain; charset=utf-8")
    with transaction.atomic():
        record_action(Action.COMPSTAT_VIEW, acting_user=request.user, agency=report.agency,
                      object_type="compstat_report", object_id=report.pk,
                      details={"week_start": str(report.week_start), "format": "pdf"})
        response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="compstat-{report.agency.slug}-{report.week_start}.pdf"')
    return response
