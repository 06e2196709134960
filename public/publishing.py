"""/a/<slug>/publishing/: the agency admin's page for the public map (range, cost, ledger)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from agencies import access, actions
from agencies.roles import Role
from public.actions import do_publish_now
from public.models import BudgetEntry
from public.plan import plan_for


class PublishingForm(forms.Form):
    publishes_public_map = forms.BooleanField(required=False, label="Publish the public map")
    start_month = forms.DateField(
        required=False, input_formats=["%Y-%m"], label="First month to publish",
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        help_text="Empty: where the monthly counts become steady (the range shown above).")

    def clean_start_month(self):
        month = self.cleaned_data.get("start_month")
        return month.replace(day=1) if month else None


@login_required
def publishing(request: HttpRequest, slug: str) -> HttpResponse:
    agency = access.get_agency_for_user(request, slug, min_role=Role.ADMIN)
    initial = {"publishes_public_map": agency.publishes_public_map,
               "start_month": agency.public_start_month}
    form = PublishingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {"publishes_public_map": form.cleaned_data["publishes_public_map"],
                   "public_start_month": form.cleaned_data["start_month"]}
        try:
            actions.do_update_agency_settings(agency, changes, acting_user=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Publishing settings saved.")
            return redirect("public-publishing", slug=agency.slug)
        agency.refresh_from_db()
    ledger = BudgetEntry.objects.filter(agency=agency).order_by("-created_at", "-pk")[:240]
    return render(request, "public/publishing.html",
                  {"agency": agency, "form": form, "plan": plan_for(agency), "ledger": ledger},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def publish_now(request: HttpRequest, slug: str) -> HttpResponse:
    agency = access.get_agency_for_user(request, slug, min_role=Role.ADMIN)
    if not agency.publishes_public_map:
        messages.error(request, "Switch publishing on first.")
    elif not agency.boundary:
        messages.error(request, "The public map needs the agency's boundary (settings page).")
    else:
        do_publish_now(agency, acting_user=request.user)
        messages.success(request, "Publishing started: due months in the range are released "
                                  "within the budget.")
    return redirect("public-publishing", slug=agency.slug)
