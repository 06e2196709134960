"""/a/<slug>/models/<id>/risk-factors/: what drives a trained model's forecasts, in words.

The stored model of the model's latest finished run is read (its file checked against its
sha256) and its feature families are shuffled one at a time (forecasting.importance). The
answer depends only on that file, so it is computed once per run and kept in the cache.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from predictions.access import get_model_for_user
from predictions.forecasting.importance import risk_factors
from predictions.forecasting.ml import MLForecaster
from predictions.forecasting.registry import INFO
from predictions.model_files import ModelFileError, load_model
from predictions.models import TrainingRun

CACHE_SECONDS = 7 * 24 * 3600


def factors_of(run: TrainingRun) -> dict:
    """The risk factors of the run's stored model (cached per run and model file), or a
    ``reason`` why there are none."""
    key = f"risk-factors:{run.pk}:{run.artifact_sha256}"
    found = cache.get(key)
    if found is None:
        try:
            forecaster = load_model(run)
        except ModelFileError as exc:
            return {"reason": str(exc)}
        if not isinstance(forecaster, MLForecaster):
            found = {"reason": "not_learned"}
        else:
            result = risk_factors(forecaster)
            found = {**result, "families": [vars(f) for f in result["families"]]}
        cache.set(key, found, timeout=CACHE_SECONDS)
    return found


@login_required
@require_GET
def model_risk_factors(request: HttpRequest, slug: str, model_id: int) -> HttpResponse:
    model = get_model_for_user(request, slug, model_id)
    run = model.latest_run()
    found = factors_of(run) if run is not None else {"reason": "untrained"}
    families = found.get("families") or []
    peak = max((f["drop"] for f in families), default=0.0) or 1.0
    for f in families:
        f["bar"] = max(0.0, min(100.0, 100.0 * f["drop"] / peak))
        f["points"] = 100.0 * f["drop"]
        f["spread_points"] = 100.0 * f["spread"]
    method = INFO.get(model.method)
    return render(request, "predictions/risk_factors.html", {
        "agency": model.agency, "model": model, "run": run, "found": found,
        "families": families, "method": method,
        "baseline_points": 100.0 * found["baseline"] if found.get("baseline") else None,
        "coverage_points": 100.0 * found.get("coverage", 0.05),
    })
