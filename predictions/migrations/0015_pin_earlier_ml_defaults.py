"""Models trained before the ML forecasters took the benchmark's settings as defaults keep
the settings they were trained with: a later window refits "the same method with the same
parameters" (the model card's forecast policy), so those are written into their parameters
where the model did not set them already."""

from django.db import migrations

LEARNED = ("hgb_poisson", "random_forest", "poisson_glm", "logistic", "mlp",
           "glm_forest_context")
# the defaults of predictions.forecasting.ml and .ensemble before migration 0015
EARLIER = {"n_origins": 52, "zero_fraction": 1.0, "label_days": None}
EARLIER_FOREST_TREES = 60
EARLIER_ENSEMBLE = ["hgb_poisson", "kde"]


def pinned(method: str, parameters: dict) -> dict:
    """The parameters with the earlier defaults written in (what the model already sets
    stays)."""
    params = dict(parameters or {})
    if method in LEARNED:
        params = {**EARLIER, **params}
        if method == "random_forest":
            params["estimator_params"] = {"n_estimators": EARLIER_FOREST_TREES,
                                          **(params.get("estimator_params") or {})}
    elif method == "ensemble":
        params.setdefault("members", list(EARLIER_ENSEMBLE))
    return params


def pin(apps, schema_editor):
    ForecastModel = apps.get_model("predictions", "ForecastModel")
    for model in ForecastModel.objects.filter(method__in=(*LEARNED, "ensemble")):
        params = pinned(model.method, model.parameters)
        if params != model.parameters:
            model.parameters = params
            model.save(update_fields=["parameters"])


class Migration(migrations.Migration):
    dependencies = [("predictions", "0014_forecast_score")]
    operations = [migrations.RunPython(pin, migrations.RunPython.noop)]
