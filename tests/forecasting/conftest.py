"""Shared fixtures of the forecasting-engine tests (no database)."""

from __future__ import annotations

import numpy as np
import pytest

from predictions.forecasting import city_grid, simulate_city


@pytest.fixture(scope="session")
def city():
    """Two years of the default synthetic city (about 5,600 events)."""
    return simulate_city(seed=1)


@pytest.fixture(scope="session")
def grid(city):
    return city_grid(city, 150.0)


@pytest.fixture(scope="session")
def day():
    return np.timedelta64(1, "D")
