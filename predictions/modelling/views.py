"""Forecasting models of an agency: create, train, follow a run, read its model card."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from agencies.access import get_agency_for_user
from agencies.roles import Role
from agencies.validators import MAX_CELL_SIZE_M, MIN_CELL_SIZE_M
from predictions.access import get_model_for_user, get_run_for_user
from predictions.charts import hit_rate_chart
from predictions.forecasting.registry import offer_for, offers
from predictions.governance.pack import fairness_tables
from predictions.modelling.actions import do_start_training
from predictions.modelling.training import TrainingError
from predictions.models import ForecastModel, TrainingRun
from predictions.scoring.scorecard import model_running_score, summaries

FIRST_DEFAULT = "kde_long"  # before any run: fast, and the strongest classical method on the
# St. Louis benchmark (docs/benchmarks.md); hgb_poisson there was slow and no better


class ModelForm(forms.ModelForm):
    method = forms.ChoiceField(choices=[(o.code, f"{o.label} ({o.code})")
                                        for o in offers().values()],
                               initial=FIRST_DEFAULT)
    cell_size_m = forms.IntegerField(min_value=MIN_CELL_SIZE_M, max_value=MAX_CELL_SIZE_M,
                                     initial=150, label="Cell size (m)")

    class Meta:
        model = ForecastModel
        fields = ["name", "category", "horizon_days", "method", "cell_size_m", "use_covariates"]

    def save(self, commit: bool = True) -> ForecastModel:
        """A baseline's variant (e.g. kde_long) is its method with the variant's settings."""
        model = super().save(commit=False)
        offer = offers()[self.cleaned_data["method"]]
        model.method, model.parameters = offer.method, dict(offer.params)
        if commit:
            model.save()
        return model


def last_selection(agency) -> TrainingRun | None:
    """The agency's most recent finished run that recommended a method."""
    return (TrainingRun.objects.filter(agency=agency, status=TrainingRun.Status.DONE)
            .exclude(selection={}).select_related("model").order_by("-finished_at").first())


def selection_summary(run: TrainingRun | None) -> dict | None:
    """What the models page says of a run's recommendation: the recommended method, the
    best baseline, and the model's own margin over it on the test windows."""
    if run is None or not run.selection:
        return None
    sel = run.selection
    mine = run.model.method
    test = sel["test"]["methods"].get(mine) or {}
    validation = sel["validation"]["methods"].get(mine) or {}
    return {"run": run, "recommended": sel["recommended"], "best": sel["best_baseline"],
            "is_baseline": sel["recommended_is_baseline"], "reason": sel["reason"],
            "method": mine, "own_is_best": mine == sel["best_baseline"],
            "own_is_baseline": mine not in sel.get("candidates", []),
            "test": test, "validation": validation, "coverage": sel["coverage"],
            "test_windows": sel["test"]["windows"],
            "validation_windows": sel["validation"]["windows"],
            "code": offer_for(sel["recommended"]), "test_margin": margin_text(test),
            "validation_margin": margin_text(validation)}


def selection_rows(selection: dict) -> list[dict]:
    """One row per candidate and baseline: hit rates and margins, validation and test."""
    if not selection:
        return []
    val, test = selection["validation"]["methods"], selection["test"]["methods"]
    return [{"name": name, "baseline": name not in selection.get("candidates", []),
             "best": name == selection["best_baseline"],
             "recommended": name == selection["recommended"],
             "validation_hit": val[name]["hit_rate"], "test_hit": test[name]["hit_rate"],
             "validation_margin": margin_text(val[name]), "test_margin": margin_text(test[name])}
            for name in val]


def margin_text(entry: dict) -> str:
    """``+5.4 % [-1.8, +15.6]`` ("" without a margin)."""
    if entry.get("margin") is None:
        return ""
    low, high = entry.get("low"), entry.get("high")
    interval = (f" [{100 * low:+.1f}, {100 * high:+.1f}]"
                if low is not None and high is not None else "")
    return f"{100 * entry['margin']:+.1f} %{interval}"


def model_rows(agency) -> tuple[list[ForecastModel], list[tuple[ForecastModel, dict | None]]]:
    """The agency's models, each with its last run (``m.last_run``, any status) and the
    summary of its latest finished one, in three queries however many models there are."""
    runs = TrainingRun.objects.filter(model=OuterRef("pk"))
    models = list(ForecastModel.objects.filter(agency=agency).annotate(
        last_run_id=Subquery(runs.order_by("-created_at").values("pk")[:1]),
        done_run_id=Subquery(runs.filter(status=TrainingRun.Status.DONE)
                             .order_by("-finished_at").values("pk")[:1])))
    wanted = {i for m in models for i in (m.last_run_id, m.done_run_id) if i is not None}
    by_pk = TrainingRun.objects.defer("metrics", "model_card").in_bulk(wanted)
    by_model = {m.pk: m for m in models}
    for run in by_pk.values():
        run.model = by_model[run.model_id]
    for m in models:
        m.last_run = by_pk.get(m.last_run_id)  # type: ignore[attr-defined]  # (template)
    return models, [(m, selection_summary(by_pk.get(m.done_run_id))) for m in models]


@login_required
def models_page(request: HttpRequest, slug: str) -> HttpResponse:
    agency = get_agency_for_user(request, slug, min_role=Role.ANALYST)
    latest = selection_summary(last_selection(agency))
    default = (latest or {}).get("code") or FIRST_DEFAULT
    form = ModelForm(request.POST or None, initial={"cell_size_m": agency.cell_size_m,
                                                    "method": default})
    if request.method == "POST" and form.is_valid():
        model = form.save(commit=False)
        model.agency, model.created_by = agency, request.user
        model.save()
        run = do_start_training(model, acting_user=request.user)
        messages.success(request, f"Created {model.name}; training started.")
        return redirect("training-run", slug=slug, run_id=run.pk)
    models, rows = model_rows(agency)
    scores = summaries(models)
    for m in models:
        m.running = scores.get(m.pk)  # type: ignore[attr-defined]  # (for the template)
    return render(request, "predictions/models.html", {
        "agency": agency, "form": form, "rows": rows, "latest": latest, "default": default,
        "offers": list(offers().values())}, status=400 if form.errors else 200)


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
        "selection": selection_summary(run), "selection_rows": selection_rows(run.selection),
        "chart": hit_rate_chart(run.metrics),
        "fairness": fairness_tables((run.model_card or {}).get("fairness")),
        "running": summaries([run.model]).get(run.model_id)})


@login_required
@require_GET
def training_run_status(request: HttpRequest, slug: str, run_id: int) -> JsonResponse:
    run = get_run_for_user(request, slug, run_id)
    return JsonResponse({"status": run.status, "status_display": run.get_status_display(),
                         "progress": run.progress, "stage": run.stage,
                         "error": run.error_message})
