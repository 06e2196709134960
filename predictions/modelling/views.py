"""Forecasting models of an agency: create, train, follow a run, read its model card."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from agencies.access import get_agency_for_user
from agencies.roles import Role
from agencies.validators import MAX_CELL_SIZE_M, MIN_CELL_SIZE_M
from predictions.access import get_model_for_user, get_run_for_user
from predictions.charts import hit_rate_chart
from predictions.forecasting.registry import INFO
from predictions.governance.pack import fairness_tables
from predictions.modelling.actions import do_start_training
from predictions.modelling.training import TrainingError
from predictions.models import ForecastModel
from predictions.scoring.scorecard import model_running_score, summaries


class ModelForm(forms.ModelForm):
    method = forms.ChoiceField(choices=[(m, f"{info.label} ({m})") for m, info in INFO.items()],
                               initial="hgb_poisson")
    cell_size_m = forms.IntegerField(min_value=MIN_CELL_SIZE_M, max_value=MAX_CELL_SIZE_M,
                                     initial=150, label="Cell size (m)")

    class Meta:
        model = ForecastModel
        fields = ["name", "category", "horizon_days", "method", "cell_size_m", "use_covariates"]


@login_required
def models_page(request: HttpRequest, slug: str) -> HttpResponse:
    agency = get_agency_for_user(request, slug, min_role=Role.ANALYST)
    form = ModelForm(request.POST or None, initial={"cell_size_m": agency.cell_size_m})
    if request.method == "POST" and form.is_valid():
        model = form.save(commit=False)
        model.agency, model.created_by = agency, request.user
        model.save()
        run = do_start_training(model, acting_user=request.user)
        messages.success(request, f"Created {model.name}; training started.")
        return redirect("training-run", slug=slug, run_id=run.pk)
    models = list(ForecastModel.objects.filter(agency=agency).prefetch_related("runs"))
    scores = summaries(models)
    for m in models:
        m.running = scores.get(m.pk)  # type: ignore[attr-defined]  # (for the template)
    return render(request, "predictions/models.html", {"agency": agency, "form": form,
                                                      "models": models,
                                                      "methods": list(INFO.items())},
                  status=400 if form.errors else 200)


@login_required
@require_GET
def model_page(request: HttpRequest, slug: str, model_id: int) -> HttpResponse:
    """A model: its settings, its runs and its running score (the issued forecasts scored
    once their window closed, against the baseline)."""
    model = get_model_for_user(request, slug, model_id)
    return render(request, "predictions/model.html", {
        "agency": model.agency, "model": model, "runs": model.runs.all()[:10],
        "score": model_running_score(model)})


@login_required
@require_POST
def model_train(request: HttpRequest, slug: str, model_id: int) -> HttpResponse:
    model = get_model_for_user(request, slug, model_id)
    try:
        run = do_start_training(model, acting_user=request.user)
    except TrainingError as exc:
        messages.error(request, str(exc))
        return redirect("forecast-models", slug=slug)
    return redirect("training-run", slug=slug, run_id=run.pk)


@login_required
@require_GET
def training_run(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    run = get_run_for_user(request, slug, run_id)
    return render(request, "predictions/training_run.html", {
        "agency": run.agency, "run": run, "card": run.model_card,
        "chart": hit_rate_chart(run.metrics),
        "fairness": fairness_tables((run.model_card or {}).get("fairness")),
        "running": summaries([run.model]).get(run.model_id)})


@login_required
@require_GET
def training_run_status(request: HttpRequest, slug: str, run_id: int) -> JsonResponse:
    run = get_run_for_user(request, slug, run_id)
    return JsonResponse({"status": run.status, "status_display": run.get_status_display(),
                         "progress": run.progress, "error": run.error_message})
