"""Demo data for `seed_demo`: a synthetic city whose true risk is known, imported through
the same path as an upload, and a trained model with its first forecast."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import numpy as np

from agencies.models import Agency
from predictions.areas.actions import do_update_layer, do_upload_layer
from predictions.forecasting import simulate_city
from predictions.forecasting.grid import xy_to_lonlat
from predictions.forecasts.generation import generate_forecast
from predictions.incidents.actions import do_upload
from predictions.incidents.importer import run_import
from predictions.modelling.actions import do_start_training
from predictions.modelling.training import run_training
from predictions.models import AreaLayer, Dataset, ForecastModel
from predictions.scoring.scoring import due_forecast_ids, score_forecast

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
           "category": "offence", "address": "address"}
# The demo city's streets, every STREET_SPACING metres: avenues run north-south (west to
# east), streets east-west (south to north). An incident's address is the block of the
# nearer one, numbered 100 a block from the city's south-west corner, as open data often
# publishes them ("1400 block" rather than a door).
STREET_SPACING = 250.0
AVENUES = ("Alder", "Birch", "Chestnut", "Dogwood", "Elm", "Fir", "Hawthorn", "Juniper",
           "Linden", "Maple", "Oak", "Poplar", "Rowan", "Spruce", "Willow", "Yew")
STREETS = ("Canal", "Bridge", "Church", "Harbour", "King", "Mill", "Park", "Queen",
           "School", "Station", "Union", "Water", "High", "Garden", "Orchard", "Vine")
DEMO_MODEL = {"name": "Burglary, next 7 days", "category": "burglary", "horizon_days": 7,
              "method": "sepp"}
# Windows of the synthetic city's last weeks forecast as if issued then, and scored: the
# model page's running score and the public scorecard have something to show.
DEMO_PAST_WINDOWS = 12


def street_address(dx: float, dy: float) -> str:
    """The block address of a point `dx`, `dy` metres east and north of the demo city's
    south-west corner: on the nearer avenue or street."""
    ax, sy = round(dx / STREET_SPACING), round(dy / STREET_SPACING)
    if abs(dx - ax * STREET_SPACING) <= abs(dy - sy * STREET_SPACING):
        return f"{int(dy // 100) * 100} block {AVENUES[ax % len(AVENUES)]} Ave"
    return f"{int(dx // 100) * 100} block {STREETS[sy % len(STREETS)]} St"


def synthetic_csv(n_days: int = 730, start: str = "2024-01-01") -> tuple[str, dict]:
    """The synthetic city's incidents as a CSV (with block addresses on its named streets),
    and its square as a GeoJSON boundary."""
    lines = ["incident_id,occurred,lon,lat,offence,address"]
    city = None
    for offence, seed, base, theta in CRIMES:
        city = simulate_city(seed=seed, n_days=n_days, base_rate=base, theta=theta, start=start)
        times = np.datetime_as_string(city.events.times, unit="s")
        prefix = offence.split("-")[0][:4]
        x0, y0 = city.bounds[0], city.bounds[1]
        for i, (t, lon, lat, x, y) in enumerate(zip(times, city.lon, city.lat, city.events.x,
                                                     city.events.y, strict=True)):
            lines.append(f"{prefix}-{seed}-{i:06d},{t},{lon:.6f},{lat:.6f},\"{offence}\","
                         f"{street_address(x - x0, y - y0)}")
    x0, y0, x1, y1 = city.bounds
    lon, lat = xy_to_lonlat(city.crs, np.array([x0, x1, x1, x0, x0]),
                            np.array([y0, y0, y1, y1, y0]))
    boundary = {"type": "Polygon",
                "coordinates": [[[round(a, 6), round(b, 6)] for a, b in zip(lon, lat,
                                                                             strict=True)]]}
    return "\n".join(lines) + "\n", boundary


TRACTS_FILE = "riverton-synthetic-tracts.geojson"


def synthetic_tracts(n: int = 6, seed: int = 7) -> bytes:
    """A GeoJSON of ``n x n`` synthetic census tracts over the demo city, with residents by
    group, poverty and income. Group "B" and poverty are more common near the burglary
    hotspots (as in many real cities), so the fairness report has something to show."""
    city = simulate_city(seed=CRIMES[0][1], n_days=1, base_rate=CRIMES[0][2])
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = city.bounds
    step = (x1 - x0) / n
    features = []
    for i in range(n):
        for j in range(n):
            cx, cy = x0 + (i + 0.5) * step, y0 + (j + 0.5) * step
            heat = city.background_density(np.array([cx]), np.array([cy]))[0]
            near = float(np.clip(heat / (heat + 4 * city.base_rate + 1e-9), 0, 1))
            pop = int(rng.integers(1500, 5000))
            share_b = float(np.clip(0.15 + 0.7 * near + rng.normal(0, 0.08), 0.02, 0.98))
            b = int(round(pop * share_b))
            poverty = float(np.clip(8 + 30 * near + rng.normal(0, 4), 2, 60))
            features.append({"type": "Feature", "properties": {
                "name": f"Tract {i + 1}-{j + 1}", "total_pop": pop, "group_a": pop - b,
                "group_b": b, "poverty_rate": round(poverty, 1),
                "median_hh_income": int(70000 - 900 * poverty + rng.normal(0, 3000))},
                "geometry": _square(city.crs, cx - step / 2, cy - step / 2, step)})
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def _square(crs: str, x: float, y: float, size: float) -> dict:
    """A lon/lat GeoJSON polygon: the square of side `size` (metres) from (x, y) in `crs`."""
    lon, lat = xy_to_lonlat(crs, x + size * np.array([0, 1, 1, 0, 0]),
                            y + size * np.array([0, 0, 1, 1, 0]))
    return {"type": "Polygon", "coordinates": [
        [[round(a, 6), round(c, 6)] for a, c in zip(lon, lat, strict=True)]]}


def seed_tracts(agency: Agency, analyst=None) -> AreaLayer:
    layer = AreaLayer.objects.filter(agency=agency, file_name=TRACTS_FILE).first()
    if layer is not None:
        return layer
    layer = do_upload_layer(agency, name="Synthetic census tracts", file_name=TRACTS_FILE,
                            data=synthetic_tracts(), acting_user=analyst)
    return do_update_layer(
        layer, acting_user=analyst, use_as_covariates=False, use_for_fairness=True,
        population_attribute="total_pop", band=[0.8, 1.25],
        groupings=[{"name": "Majority group of residents", "kind": "majority",
                    "columns": ["group_a", "group_b"]},
                   {"name": "Poverty rate quintile", "kind": "quantile",
                    "attribute": "poverty_rate", "q": 5}])


NEIGHBOURHOODS_FILE = "riverton-neighbourhoods.geojson"
NEIGHBOURHOOD_NAMES = ("Millbrook", "Old Town", "Riverside", "Cedar Heights", "Market Square",
                       "Foundry Row", "Elm Park", "Harbor View", "North Gate")


def synthetic_neighbourhoods() -> bytes:
    """Nine named neighbourhoods (3 x 3) over the demo city: its reference layer."""
    city = simulate_city(seed=CRIMES[0][1], n_days=1, base_rate=CRIMES[0][2])
    x0, y0, x1, y1 = city.bounds
    step = (x1 - x0) / 3
    features = []
    for k, name in enumerate(NEIGHBOURHOOD_NAMES):
        i, j = k % 3, k // 3
        features.append({"type": "Feature", "properties": {"name": name},
                         "geometry": _square(city.crs, x0 + i * step, y0 + j * step, step)})
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def seed_neighbourhoods(agency: Agency, analyst=None) -> AreaLayer:
    """The demo city's named neighbourhoods, as its reference layer (once)."""
    layer = AreaLayer.objects.filter(agency=agency, file_name=NEIGHBOURHOODS_FILE).first()
    if layer is not None:
        return layer
    layer = do_upload_layer(agency, name="Neighbourhoods", file_name=NEIGHBOURHOODS_FILE,
                            data=synthetic_neighbourhoods(), acting_user=analyst)
    return do_update_layer(layer, acting_user=analyst, use_as_covariates=False,
                           use_for_fairness=False, population_attribute="", groupings=[],
                           band=[0.8, 1.25], use_as_reference=True)


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
    seed_tracts(agency, analyst)
    seed_neighbourhoods(agency, analyst)
    model, _ = ForecastModel.objects.get_or_create(
        agency=agency, name=DEMO_MODEL["name"], defaults={**DEMO_MODEL, "created_by": analyst})
    if not model.runs.filter(status="done").exists():
        run = do_start_training(model, acting_user=analyst)
        run_training(run.pk)  # here, not on a worker: the demo must come up ready
    scored = seed_scored_forecasts(model)
    forecast = model.forecasts.first()
    return (f"{agency.name}: {Dataset.objects.filter(agency=agency).count()} dataset(s), model "
            f"'{model.name}', latest forecast {forecast.window_start if forecast else 'none'}, "
            f"{scored} past forecast(s) scored")


def seed_scored_forecasts(model: ForecastModel, windows: int = DEMO_PAST_WINDOWS) -> int:
    """Forecasts of `model` for the `windows` windows before the last full one of its data
    (each fitted only on the incidents before it, as the daily round would have made them
    then), and the score of every due forecast. Returns how many of its forecasts are
    scored."""
    first = model.forecasts.order_by("window_start").first()  # the run's: after the data
    if first is None:
        return 0
    step = timedelta(days=model.horizon_days)
    for k in range(2, windows + 2):  # the window ending with the data has no data after it
        generate_forecast(model.pk, first.window_start - k * step)
    for forecast_id in due_forecast_ids():
        score_forecast(forecast_id)
    return model.scores.count()
