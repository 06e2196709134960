"""Which kinds of information drive a fitted machine-learning forecaster across the city.

Grouped permutation importance (scikit-learn's idea, applied to groups of features): the
features of one family (say every count of the cell's own recent incidents) are shuffled
together across cells, the model predicts again, and the loss of ranking skill is the
family's importance. Shuffling a family as a whole keeps the credit from being split between
features that move together (the 28- and 91-day counts), which one-feature-at-a-time
importance would hide. Skill is the share of the window's incidents that fall in the top
``coverage`` of cells, the quantity patrol areas are chosen by; it is measured on the last
``n_windows`` windows the model was trained on (in-sample: the stored model saw them), over
``n_repeats`` shuffles, with the spread across shuffles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .evaluation import n_flagged
from .features import build_labels

if TYPE_CHECKING:
    from .ml import MLForecaster

# (family, plain words, name pattern); the first matching family takes a feature
FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("recent_cell", "Recent incidents in the cell itself (the last day to three months)",
     r"^tgt_cell_(1|7|28|91)d$|^tgt_cell_decay(7|28)d$"),
    ("long_cell", "Incidents in the cell over the longer run (six months to three years)",
     r"^tgt_cell_(182|365|730|1095)d$|^tgt_cell_decay(182|365)d$|^tgt_cell_lastyear$"),
    ("since", "Days since the last incident in the cell and next to it", r"days_since"),
    ("neighbours", "Incidents in the surrounding cells",
     r"^tgt_n\d+_"),
    ("all_crime", "All recorded crime in and around the cell (other categories too)",
     r"^all_"),
    ("calendar", "Day of the week and season of the window", r"^(dow|season_sin|season_cos)$"),
    ("context", "The agency's context layers (area covariates)", r"^cov_"),
)


@dataclass
class FamilyImportance:
    family: str
    words: str
    features: list[str]
    drop: float  # loss of the captured share (points of 1.0) when the family is shuffled
    spread: float  # standard deviation over the shuffles


def families_of(names: list[str]) -> dict[str, list[int]]:
    """Feature positions per family (families without features are left out)."""
    found: dict[str, list[int]] = {}
    for j, name in enumerate(names):
        for family, _words, pattern in FAMILIES:
            if re.search(pattern, name):
                found.setdefault(family, []).append(j)
                break
        else:
            found.setdefault("other", []).append(j)
    return found


def captured_share(scores: np.ndarray, labels: np.ndarray, flagged: int) -> float:
    """Share of the incidents of each window (rows of ``labels``) in its ``flagged`` top-scored
    cells, pooled over windows. Ties: score descending, then cell order."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :flagged]
    caught = np.take_along_axis(labels, top, axis=1).sum()
    total = labels.sum()
    return float(caught / total) if total > 0 else 0.0


def risk_factors(forecaster: MLForecaster, *, coverage: float = 0.05, n_windows: int = 8,
                 n_repeats: int = 5, random_state: int = 0) -> dict:
    """Grouped permutation importance of a fitted forecaster's feature families.

    Returns ``baseline`` (the captured share with nothing shuffled), ``windows``, ``cells``,
    ``incidents`` and ``families`` (most important first), or ``{"families": []}`` when the
    forecaster holds no trained model or no incident fell in the windows."""
    horizon = int(forecaster.horizon_days)
    model = forecaster._ensure_model(horizon)
    cells = forecaster.cells_
    empty: dict = {"families": [], "baseline": None, "windows": 0, "cells": int(cells.size),
             "incidents": 0, "coverage": coverage}
    if model is None or cells.size == 0:
        return empty
    hist = forecaster.hist_
    last = hist.n_days - horizon
    origins = np.array([last - k * horizon for k in range(n_windows)], np.int64)
    origins = origins[origins >= 1]
    if origins.size == 0:
        return empty
    x, names = forecaster._features(origins, horizon, origins)
    x = np.array(x)  # writable: columns are shuffled in place
    labels = build_labels(hist, origins, horizon, cells).reshape(origins.size, cells.size)
    if labels.sum() == 0:
        return empty
    flagged = n_flagged(coverage, cells.size)

    def skill(rows: np.ndarray) -> float:
        pred = forecaster.predict_rows(rows, horizon)
        assert pred is not None
        return captured_share(pred.reshape(origins.size, cells.size), labels, flagged)

    baseline = skill(x)
    rng = np.random.default_rng(random_state)
    found = []
    words = {family: text for family, text, _ in FAMILIES} | {"other": "Other features"}
    for family, columns in families_of(list(names)).items():
        drops = []
        for _ in range(n_repeats):
            shuffled = x.copy()
            for k in range(origins.size):  # shuffle across cells within each window
                block = slice(k * cells.size, (k + 1) * cells.size)
                order = rng.permutation(cells.size)
                shuffled[block, columns] = x[block, columns][order]
            drops.append(baseline - skill(shuffled))
        found.append(FamilyImportance(family, words[family], [names[j] for j in columns],
                                      float(np.mean(drops)), float(np.std(drops))))
    found.sort(key=lambda f: -f.drop)
    return {"families": found, "baseline": baseline, "windows": int(origins.size),
            "cells": int(cells.size), "incidents": int(labels.sum()), "coverage": coverage}
