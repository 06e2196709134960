"""The privacy mechanism of the public map: discrete Laplace noise from OpenDP, and the ledger.

Each monthly release is one table: (active cell x mapped category) counts plus, for sensitive
categories, one city-wide count each. One incident changes exactly one entry of that table by
one, so its L1 sensitivity is 1 and discrete Laplace (two-sided geometric) noise of scale 1/ε
on every entry, true zeros included, makes the release ε-differentially private per incident.
OpenDP draws the noise exactly on integers from the operating system's CSPRNG (no floating
point leaks, no seed to guess). Everything shown on the public pages is post-processing of
the stored noisy table, so it spends no further budget.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import opendp.prelude as dp
from django.conf import settings
from django.db import transaction
from django.db.models import Sum

MECHANISM = f"discrete Laplace (two-sided geometric), OpenDP {dp.__version__}"

dp.enable_features("contrib")


class BudgetExceeded(Exception):
    """A release would take the agency's ledger past PUBLIC_TOTAL_BUDGET."""


@lru_cache(maxsize=16)
def measurement(epsilon: float):
    """OpenDP's discrete Laplace on integer vectors, calibrated to ε for L1 sensitivity 1."""
    meas = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=1.0 / epsilon
    )
    assert meas.map(1) <= epsilon * (1 + 1e-9), "noise calibration does not give epsilon"
    return meas


def add_noise(counts, epsilon: float) -> np.ndarray:
    """The counts (any integer array) plus independent discrete Laplace noise of scale 1/ε."""
    flat = np.asarray(counts, dtype=np.int64).ravel()
    noisy = measurement(float(epsilon))([int(v) for v in flat]) if flat.size else []
    return np.asarray(noisy, dtype=np.int64).reshape(np.shape(counts))


def geometric_variance(epsilon: float) -> float:
    """Variance of the two-sided geometric distribution P(k) ∝ exp(-ε|k|): 2a/(1-a)^2."""
    a = np.exp(-epsilon)
    return float(2 * a / (1 - a) ** 2)


def geometric_tail(epsilon: float, k: int) -> float:
    """P(|noise| >= k) for k >= 1 under the two-sided geometric distribution: 2a^k/(1+a)."""
    a = np.exp(-epsilon)
    return float(2 * a**k / (1 + a))


def margin_90(epsilon: float) -> int:
    """Smallest m with P(|noise| <= m) >= 0.9: the ±range that holds 9 times in 10."""
    m = 0
    while geometric_tail(epsilon, m + 1) > 0.1:
        m += 1
    return m


def spent(agency) -> float:
    return float(agency.privacy_ledger.aggregate(s=Sum("epsilon"))["s"] or 0.0)


def charge(agency, month, epsilon: float):
    """Record the spend of a release on the ledger (call inside the release's transaction,
    with the agency row locked); raise BudgetExceeded when it would pass the total budget."""
    from public.models import BudgetEntry

    assert transaction.get_connection().in_atomic_block, "charge() inside the release transaction"
    total = float(settings.PUBLIC_TOTAL_BUDGET)
    before = spent(agency)
    if before + epsilon > total + 1e-9:
        raise BudgetExceeded(
            f"{agency.slug}: releasing {month:%Y-%m} (ε={epsilon:g}) would spend "
            f"{before + epsilon:g} of a total budget of {total:g}"
        )
    return BudgetEntry.objects.create(
        agency=agency, month=month, epsilon=epsilon, spent_before=before, total_budget=total
    )
