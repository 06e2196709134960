"""The workbench's front page: what is in the room (each page lives in its own module)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agencies.access import get_agency_for_user
from agencies.roles import Role
from predictions.models import AreaLayer


@login_required
@require_GET
def workbench(request: HttpRequest, slug: str) -> HttpResponse:
    agency = get_agency_for_user(request, slug, min_role=Role.ANALYST)
    reference = AreaLayer.objects.filter(agency=agency, use_as_reference=True).first()
    return render(request, "predictions/workbench/index.html",
                  {"agency": agency, "reference": reference})
