"""Models trained before this round's ML defaults keep refitting with their own settings."""

import importlib

from django.apps import apps

from predictions.forecasting.ml import MLForecaster
from predictions.models import ForecastModel

migration = importlib.import_module("predictions.migrations.0015_pin_earlier_ml_defaults")


def test_earlier_learned_models_keep_the_settings_they_were_trained_with(world):
    forest = ForecastModel.objects.create(agency=world.alpha, name="F", method="random_forest",
                                          parameters={"estimator_params": {"max_depth": 8}})
    mine = ForecastModel.objects.create(agency=world.alpha, name="G", method="poisson_glm",
                                        parameters={"n_origins": 10})
    mix = ForecastModel.objects.create(agency=world.alpha, name="E", method="ensemble")
    kde = ForecastModel.objects.create(agency=world.alpha, name="K", method="kde",
                                       parameters={"bandwidth": 300})
    migration.pin(apps, None)
    for m in (forest, mine, mix, kde):
        m.refresh_from_db()
    assert forest.parameters == {"n_origins": 52, "zero_fraction": 1.0, "label_days": None,
                                 "estimator_params": {"n_estimators": 60, "max_depth": 8}}
    assert mine.parameters == {"n_origins": 10, "zero_fraction": 1.0, "label_days": None}
    assert mix.parameters == {"members": ["hgb_poisson", "kde"]}
    assert kde.parameters == {"bandwidth": 300}  # a classical method's defaults did not move
    # and the forecaster built from them is the earlier one
    from predictions.forecasting import Grid, make_forecaster

    grid = Grid("EPSG:32615", 100.0, 0.0, 0.0, 5, 5)
    f = make_forecaster(forest.method, grid=grid, **forest.parameters)
    assert isinstance(f, MLForecaster)
    assert (f.n_origins, f.zero_fraction, f.label_days) == (52, 1.0, None)
