"""Crime hotspot forecasting engine (pure numpy/scipy/scikit-learn; no Django).

Typical use::

    grid = Grid.from_lonlat(lon, lat, cell_size=150, boundary=geojson)
    events = Events.from_lonlat(times, lon, lat, category, grid)
    f = make_forecaster("sepp", grid=grid, target="burglary").fit(events, until)
    scores = f.predict(until, horizon_days=7)  # one score per active cell
"""

from .areal import AreaWeights, area_weights, point_covariates, polygon_covariates
from .backtest import BacktestResult, rolling_origins, run_backtest
from .base import Forecaster
from .evaluation import COVERAGES, hit_rate, pai, pei, poisson_deviance
from .events import Events, as_time
from .export import cells_geojson, forecast_table
from .fair_selection import Selection, select_cells
from .fairness import Groups, exposure, groups_from_layer, majority_labels, quantile_labels
from .fairness_report import fairness_report
from .feedback import CORRECTIONS, FeedbackResult, simulate_feedback
from .grid import Grid, utm_crs_for
from .registry import CLASSICAL_METHODS, METHODS, ML_METHODS, make_forecaster
from .synthetic import SyntheticCity, city_grid, simulate_city

__all__ = [
    "CORRECTIONS",
    "AreaWeights",
    "FeedbackResult",
    "Groups",
    "Selection",
    "area_weights",
    "exposure",
    "fairness_report",
    "groups_from_layer",
    "majority_labels",
    "point_covariates",
    "polygon_covariates",
    "quantile_labels",
    "select_cells",
    "simulate_feedback",
    "COVERAGES",
    "CLASSICAL_METHODS",
    "METHODS",
    "ML_METHODS",
    "BacktestResult",
    "Events",
    "Forecaster",
    "Grid",
    "SyntheticCity",
    "as_time",
    "cells_geojson",
    "forecast_table",
    "city_grid",
    "hit_rate",
    "make_forecaster",
    "pai",
    "pei",
    "poisson_deviance",
    "rolling_origins",
    "run_backtest",
    "simulate_city",
    "utm_crs_for",
]
