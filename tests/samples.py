"""Small incident files made by the tests, and a helper to import them."""

from __future__ import annotations

import io

from predictions.incidents.actions import do_upload
from predictions.incidents.importer import run_import

GENERIC_MAPPING = {
    "id": "case", "datetime": "when", "x": "lon", "y": "lat", "category": "offence",
    "address": "block",
}
GENERIC_CSV = (
    "case,when,lon,lat,offence,block\n"
    "G-1,2024-03-01T10:15:00,-90.25,38.63,BURGLARY-RESIDENCE,100 MAIN ST\n"
    "G-2,2024-03-02T23:05:00,-90.24,38.62,ROBBERY,200 OAK AV\n"
    "G-3,not a date,-90.24,38.62,ROBBERY,=cmd|' /C calc'!A0\n"
    "G-4,2024-03-03T08:00:00,-90.23,38.61,AUTO THEFT,300 ELM ST\n"
)


def import_sample(agency, user, text: str = GENERIC_CSV, mapping=GENERIC_MAPPING,
                  name: str = "sample.csv", format: str = "generic_csv"):
    dataset = do_upload(agency, [(name, io.BytesIO(text.encode()))], acting_user=user,
                        format=format, mapping=mapping, start=False)
    dataset.status = dataset.Status.PENDING
    dataset.save(update_fields=["status"])
    run_import(dataset.pk)
    dataset.refresh_from_db()
    return dataset


def make_forecast(agency, user, method: str = "kde", n_days: int = 150, windows: int = 2,
                  parameters: dict | None = None, tracts: bool = False,
                  use_covariates: bool = False):
    """A small synthetic city imported into `agency`, a model trained on it, its forecast.

    ``tracts``: the demo's synthetic census tracts are the agency's fairness layer (and its
    covariate layer when ``use_covariates``)."""
    from predictions.demo import MAPPING, seed_tracts, synthetic_csv
    from predictions.modelling.actions import do_start_training
    from predictions.modelling.training import run_training
    from predictions.models import ForecastModel

    text, boundary = synthetic_csv(n_days=n_days)
    agency.boundary = boundary
    agency.save(update_fields=["boundary"])
    import_sample(agency, user, text=text, mapping=MAPPING, name="city.csv")
    if tracts:
        layer = seed_tracts(agency, user)
        if use_covariates:
            layer.use_as_covariates = True
            layer.save(update_fields=["use_as_covariates"])
    model = ForecastModel.objects.create(agency=agency, name="Burglary weekly",
                                         category="burglary", horizon_days=7, method=method,
                                         cell_size_m=300, parameters=parameters or {},
                                         use_covariates=use_covariates)
    run = do_start_training(model, acting_user=user)
    run_training(run.pk, windows=windows)
    return model.forecasts.get()
