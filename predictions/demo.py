"""Demo data for `seed_demo`: a synthetic city whose true risk is known, imported through
the same path as an upload, and a trained model with its first forecast."""

from __future__ import annotations

import io
import logging

import numpy as np

from agencies.models import Agency
from predictions.forecasting import simulate_city
from predictions.forecasting.grid import xy_to_lonlat
from predictions.importer import run_import
from predictions.models import Dataset, ForecastModel
from predictions.training import do_start_training, run_training
from predictions.uploads import do_upload

log = logging.getLogger(__name__)

DEMO_FILE = "riverton-synthetic-incidents.csv"
# (raw offence text as a records system writes it, seed, base rate, branching ratio)
CRIMES = [
    ("BURGLARY-RESIDENCE-FORCIBLE ENTRY", 11, 0.020, 0.40),
    ("LARCENY-FROM BUILDING", 12, 0.045, 0.30),
    ("AGG.ASSAULT-HANDS,FIST,FEET", 13, 0.020, 0.35),
    ("AUTO THEFT-PERM RETNT", 14, 0.015, 0.30),
]
MAPPING = {"id": "incident_id", "datetime": "occurred", "x": "lon", "y": "lat",
           "category": "offence"}
DEMO_MODEL = {"name": "Burglary, next 7 days", "category": "burglary", "horizon_days": 7,
              "method": "sepp"}


def synthetic_csv(n_days: int = 730, start: str = "2024-01-01") -> tuple[str, dict]:
    """The synthetic city's incidents as a CSV, and its square as a GeoJSON boundary."""
    lines = ["incident_id,occurred,lon,lat,offence"]
    city = None
    for offence, seed, base, theta in CRIMES:
        city = simulate_city(seed=seed, n_days=n_days, base_rate=base, theta=theta, start=start)
        times = np.datetime_as_string(city.events.times, unit="s")
        prefix = offence.split("-")[0][:4]
        for i, (t, lon, lat) in enumerate(zip(times, city.lon, city.lat, strict=True)):
            lines.append(f"{prefix}-{seed}-{i:06d},{t},{lon:.6f},{lat:.6f},\"{offence}\"")
    x0, y0, x1, y1 = city.bounds
    lon, lat = xy_to_lonlat(city.crs, np.array([x0, x1, x1, x0, x0]),
                            np.array([y0, y0, y1, y1, y0]))
    boundary = {"type": "Polygon",
                "coordinates": [[[round(a, 6), round(b, 6)] for a, b in zip(lon, lat,
                                                                             strict=True)]]}
    return "\n".join(lines) + "\n", boundary


def seed_predictions(agency_slug: str = "riverton", analyst=None) -> str:
    """Import the synthetic city into the demo agency and train the demo model (once)."""
    agency = Agency.objects.get(slug=agency_slug)
    if not Dataset.objects.filter(agency=agency, name=DEMO_FILE).exists():
        text, boundary = synthetic_csv()
        agency.boundary = boundary
        agency.save(update_fields=["boundary"])
        dataset = do_upload(agency, [(DEMO_FILE, io.BytesIO(text.encode()))],
                            acting_user=analyst, format="generic_csv", mapping=MAPPING,
                            start=False)
        Dataset.objects.filter(pk=dataset.pk).update(status=Dataset.Status.PENDING)
        run_import(dataset.pk)
    model, _ = ForecastModel.objects.get_or_create(
        agency=agency, name=DEMO_MODEL["name"], defaults={**DEMO_MODEL, "created_by": analyst})
    if not model.runs.filter(status="done").exists():
        run = do_start_training(model, acting_user=analyst)
        run_training(run.pk)  # here, not on a worker: the demo must come up ready
    forecast = model.forecasts.first()
    return (f"{agency.name}: {Dataset.objects.filter(agency=agency).count()} dataset(s), model "
            f"'{model.name}', latest forecast {forecast.window_start if forecast else 'none'}")
