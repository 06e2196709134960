"""Hand-built data of the workbench's statistics tests: incidents of known places and days,
two named areas far apart, a forecast whose top cell is known."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from predictions.forecasting.grid import Grid
from predictions.models import (
    AreaLayer,
    Dataset,
    Forecast,
    ForecastCell,
    ForecastModel,
    Incident,
    TrainingRun,
)

# Two named areas 0.01 degrees square (about 870 x 1110 m), some 8.7 km apart.
NORTH = (-90.30, 38.60, -90.29, 38.61)
FAR = (-90.20, 38.60, -90.19, 38.61)
IN_NORTH = (-90.295, 38.605)
IN_FAR = (-90.195, 38.605)
# about 130 m east of each area's east edge: in a 200 m displacement buffer
NEAR_NORTH = (-90.2885, 38.605)
NEAR_FAR = (-90.1885, 38.605)
NOWHERE = (-90.25, 38.70)


def _square(w: float, s: float, e: float, n: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def reference_layer(agency) -> AreaLayer:
    features = [{"type": "Feature", "properties": {"label": name},
                 "geometry": _square(*bounds)}
                for name, bounds in (("North", NORTH), ("Far", FAR))]
    return AreaLayer.objects.create(
        agency=agency, name="Named areas", kind="polygons", file_name="areas.geojson",
        sha256=f"areas-{agency.pk}", source_crs="EPSG:4326", n_features=2,
        geojson=json.dumps({"type": "FeatureCollection", "features": features}),
        use_as_reference=True)


class Incidents:
    """Adds incidents at noon (the agency's time) of given days and places."""

    def __init__(self, agency):
        self.agency = agency
        self.zone = ZoneInfo(agency.timezone)
        self.tag = uuid.uuid4().hex[:8]
        self.dataset = Dataset.objects.create(agency=agency, name="hand.csv", sha256=self.tag,
                                              status=Dataset.Status.DONE)
        self.n = 0

    def add(self, day: date, where: tuple[float, float] | None, category: str = "burglary",
            count: int = 1, cancelled: bool = False) -> None:
        rows = []
        for _ in range(count):
            self.n += 1
            rows.append(Incident(
                agency=self.agency, dataset=self.dataset, source_id=f"{self.tag}-{self.n}",
                occurred_at=datetime.combine(day, time(12), self.zone), raw_category=category,
                category=category, lon=where[0] if where else None,
                lat=where[1] if where else None, location_withheld=where is None,
                cancelled=cancelled))
        Incident.objects.bulk_create(rows)


def days(first: date, n: int) -> list[date]:
    return [first + timedelta(days=k) for k in range(n)]


def forecast_with_top_cell_at(agency, where: tuple[float, float], window_start: date,
                              horizon: int = 7) -> Forecast:
    """A burglary forecast over a 10 x 10 grid of 500 m cells whose rank-1 cell holds
    `where` (other ranks in cell order)."""
    grid = Grid(crs="EPSG:32615", cell_size=500.0, origin_x=0.0, origin_y=0.0, nx=10, ny=10)
    x, y = grid.project([where[0]], [where[1]])
    grid = Grid(crs="EPSG:32615", cell_size=500.0, origin_x=float(x[0]) - 2250,
                origin_y=float(y[0]) - 2250, nx=10, ny=10)  # `where` in cell (4, 4)
    top = int(grid.cell_index(*grid.project([where[0]], [where[1]]))[0])
    model = ForecastModel.objects.create(agency=agency, name="Burglary weekly",
                                         category="burglary", horizon_days=horizon,
                                         method="kde", cell_size_m=500)
    run = TrainingRun.objects.create(agency=agency, model=model, status="done")
    forecast = Forecast.objects.create(agency=agency, model=model, run=run,
                                       window_start=window_start, horizon_days=horizon,
                                       grid=grid.spec(), n_cells=100)
    order = [top] + [c for c in range(100) if c != top]
    col, row = grid.index_to_col_row(order)
    ForecastCell.objects.bulk_create(
        ForecastCell(forecast=forecast, cell=c, col=int(cc), row=int(r), rank=k + 1,
                     score=100.0 - k, geometry="{}")
        for k, (c, cc, r) in enumerate(zip(order, col, row, strict=True)))
    return forecast


def done_knox_run(agency, user):
    """A finished near-repeat analysis of six places burgled twice a day apart."""
    from predictions.workbench.knox import run_knox_job
    from predictions.workbench.stats_actions import do_start_knox

    incidents = Incidents(agency)
    for k in range(6):
        for day in days(date(2024, 1, 1) + timedelta(days=10 * k), 2):
            incidents.add(day, (-90.30 + 0.025 * k, 38.60))
    run = do_start_knox(agency, category="burglary", start=date(2024, 1, 1),
                        end=date(2024, 3, 1), distance_bands=[0, 100], time_bands=[7, 30],
                        permutations=19, seed=0, acting_user=user)
    return run_knox_job(run.pk)


def done_compstat(agency, user):
    """A finished CompStat report of the week of 4 March 2024 (no incident in it)."""
    from predictions.workbench.compstat import make_report
    from predictions.workbench.stats_actions import do_request_compstat

    report = do_request_compstat(agency, week_start=date(2024, 3, 4), acting_user=user)
    return make_report(report.pk)
