"""Governance pages: a model's governance pack, for the agency's members and its boards."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

import audit
from agencies.access import role_of
from audit.events import Action
from predictions.access import get_agency_for_governance, get_model_for_governance
from predictions.charts import hit_rate_chart
from predictions.forecasts.exposure import exposure_tables
from predictions.governance.pack import fairness_tables, governance_pack
from predictions.models import ForecastModel


def _pack(request: HttpRequest, slug: str, model_id: int, fmt: str):
    model, via = get_model_for_governance(request, slug, model_id)
    audit.record(action=Action.MODEL_GOVERNANCE_VIEW, actor=request.user,
                 actor_role=role_of(request.user, model.agency) or via, agency=model.agency,
                 object_type="forecast_model", object_id=model.pk, details={"format": fmt})
    return model, via, governance_pack(model)


@login_required
@require_GET
def governance(request: HttpRequest, slug: str, model_id: int) -> HttpResponse:
    model, via, pack = _pack(request, slug, model_id, "html")
    backtest = pack["backtest"] or {}
    context = {"agency": model.agency, "model": model, "pack": pack, "via": via,
               "fairness": fairness_tables(pack["fairness"]),
               "chart": hit_rate_chart(backtest.get("methods") or {}),
               "exposure_rows": exposure_tables(pack["latest_forecast_exposure"])}
    if request.GET.get("download") == "html":
        html = render_to_string("predictions/governance_file.html", context, request=request)
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="governance-{model.agency.slug}-model-{model.pk}.html"')
        return response
    return render(request, "predictions/governance.html", context)


@login_required
@require_GET
def governance_json(request: HttpRequest, slug: str, model_id: int) -> JsonResponse:
    model, _via, pack = _pack(request, slug, model_id, "json")
    response = JsonResponse(pack, json_dumps_params={"indent": 1})
    response["Content-Disposition"] = (
        f'attachment; filename="governance-{model.agency.slug}-model-{model.pk}.json"')
    return response


@login_required
@require_GET
def governance_index(request: HttpRequest, slug: str) -> HttpResponse:
    """The agency's models with links to their governance packs (members and boards)."""
    agency, via = get_agency_for_governance(request, slug)
    models = ForecastModel.objects.filter(agency=agency).order_by("name")
    return render(request, "predictions/governance_index.html",
                  {"agency": agency, "models": models, "via": via})
