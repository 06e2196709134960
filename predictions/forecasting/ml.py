"""Machine-learning forecasters on per-cell features (scikit-learn estimators).

Training samples come from ``n_origins`` past origins spread over the last ``train_days`` days;
every label window ``[o, o + h)`` ends at or before the fit time, so training never sees the
future. ``refit_every_days > 0`` keeps a model trained at an earlier fit for that many days while
features are always recomputed from the current events (still leakage-free, much cheaper).
The defaults (26 origins, a 182-day refit, 15 % of the zero rows, labels of at least 7 days)
are the settings of the St. Louis benchmark (docs/benchmarks.md), so a training run backtests
what was measured there.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from .base import Forecaster, Method
from .events import DAY, Events, day_ceil, day_floor
from .explain import feature_effects, feature_label, say, significant
from .features import (
    DECAYS,
    DEFAULT_LAGS,
    LEAD_LAGS,
    build_features,
    build_labels,
    shared_history,
)
from .grid import Grid


def _signed_log1p(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def _scaled(model: Any) -> Any:
    return make_pipeline(FunctionTransformer(_signed_log1p), StandardScaler(), model)


def _scaled_log_target(model: Any) -> Any:
    """Scaled inputs, ``log1p`` target: keeps a squared-loss net's outputs positive and ordered."""
    return _scaled(TransformedTargetRegressor(model, func=np.log1p, inverse_func=np.expm1))


def _fit_weighted(model: Any, x: np.ndarray, y: np.ndarray, weight: np.ndarray | None) -> Any:
    """``model.fit`` with sample weights routed to a pipeline's last step."""
    step = model.steps[-1][0] + "__" if hasattr(model, "steps") else ""
    return model.fit(x, y, **({} if weight is None else {step + "sample_weight": weight}))


class MeanRegressor(RegressorMixin, BaseEstimator):
    """The mean of several regressors' predictions (each fitted on the same rows)."""

    def __init__(self, *, estimators: tuple[Any, ...] = ()) -> None:
        self.estimators = estimators

    def fit(self, x: np.ndarray, y: np.ndarray,
            sample_weight: np.ndarray | None = None) -> MeanRegressor:
        if not self.estimators:
            raise ValueError("MeanRegressor needs at least one estimator")
        self.estimators_ = [_fit_weighted(clone(e), x, y, sample_weight)
                            for e in self.estimators]
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.mean([e.predict(x) for e in self.estimators_], axis=0)


# Other categories whose counts lead single-crime forecasts (the ``context`` methods); the
# target's own category is skipped. Enforcement-driven ones are left out: they follow patrols.
LEADING = ("burglary", "robbery", "assault", "theft", "theft_from_vehicle", "vehicle_theft",
           "vandalism", "fraud", "other")
CONTEXT = {"leading": LEADING, "rings": (15,), "smooth": (0.5, 1.0, 2.0)}

ESTIMATORS: dict[str, Callable[..., Any]] = {
    "hgb_poisson": lambda rs, **kw: HistGradientBoostingRegressor(
        **{
            "loss": "poisson",
            "max_iter": 150,
            "learning_rate": 0.06,
            "max_leaf_nodes": 31,
            "min_samples_leaf": 200,
            "l2_regularization": 1.0,
            "early_stopping": False,
            "random_state": rs,
            **kw,
        }
    ),
    "random_forest": lambda rs, **kw: RandomForestRegressor(
        **{
            "n_estimators": 40,
            "min_samples_leaf": 100,
            "max_features": 0.3,
            "max_samples": 0.2,
            "n_jobs": 1,
            "random_state": rs,
            **kw,
        }
    ),
    "poisson_glm": lambda rs, **kw: _scaled(
        PoissonRegressor(**{"alpha": 1e-4, "max_iter": 300, **kw})
    ),
    "logistic": lambda rs, **kw: _scaled(LogisticRegression(**{"C": 1.0, "max_iter": 300, **kw})),
    # the Poisson GLM and a random forest, averaged (``forest`` overrides the forest's params)
    "glm_forest": lambda rs, forest=None, **kw: MeanRegressor(estimators=(
        _scaled(PoissonRegressor(**{"alpha": 1e-4, "max_iter": 300, **kw})),
        RandomForestRegressor(**{"n_estimators": 40, "min_samples_leaf": 100,
                                 "max_features": 0.3, "max_samples": 0.2, "n_jobs": 1,
                                 "random_state": rs, **(forest or {})}),
    )),
    "mlp": lambda rs, **kw: _scaled_log_target(
        MLPRegressor(
            **{
                "hidden_layer_sizes": (32, 16),
                "alpha": 1e-3,
                "batch_size": 1024,
                "learning_rate_init": 1e-3,
                "max_iter": 30,
                "early_stopping": True,
                "n_iter_no_change": 4,
                "random_state": rs,
                **kw,
            }
        )
    ),
}


# zero rows are subsampled (``zero_fraction``) only from this many training rows on: St. Louis
# in 150 m cells has about 186,000 (7,157 cells x 26 origins); a small city keeps them all
SUBSAMPLE_FROM_ROWS = 50_000

_LAST_FEATURES: dict[str, Any] = {}  # (history, covariates, key, matrix, names)


ML_HOW = (
    "For each feature, the model predicts this cell again with only that feature replaced by "
    "its typical value (the median over all active cells); the difference is the feature's "
    "effect. Effects are one at a time: they do not add up to the forecast, features that "
    "move together (such as the 7- and 28-day counts) share the credit, and replacing one "
    "of them alone can give a combination the model never saw, so related features may "
    "show effects of opposite signs."
)


def _feature_text(item: dict[str, Any], label: str, unit: str) -> str:
    effect = item["effect"]
    if unit == "probability":
        size = f"{abs(effect) * 100:.1f} percentage points"
        what = "The predicted chance of at least one incident"
    else:
        size = say(abs(effect))
        what = "The predicted count"
    way = "falls" if effect > 0 else "rises"
    return (f"{label}: {say(item['value'])} (typical cell: {say(item['typical'])}). "
            f"{what} {way} by {size} if this were typical.")


class MLForecaster(Forecaster):
    """Per-cell regression/classification of the count in ``[o, o + h)``.

    ``estimator`` names an entry of :data:`ESTIMATORS` (``estimator_params`` override its
    defaults). ``zero_fraction < 1`` subsamples training rows with a zero label (weighted).
    ``logistic`` models P(count >= 1) and is therefore not an expected count.
    ``n_threads`` caps OpenMP/BLAS threads while training and predicting (1 by default: on
    shared machines oversubscribed OpenMP threads are several times slower than one).
    ``covariates`` is an ``(n_cells, p)`` array over the full grid with ``covariate_names``.
    ``decays`` are the e-folding times (days) of the decayed-count features. ``label_days``
    (default 7; the horizon when longer) trains on counts over a longer window than the
    horizon and scales the output back to it: more positive rows for sparse next-day targets.
    ``leading`` (other categories' counts over ``lead_lags`` days), ``rings`` (wider
    near-repeat boxes) and ``smooth`` (kernel densities) add the optional feature families of
    :func:`.features.build_features`.
    """

    methods: ClassVar[dict[str, Method]] = {
        "hgb_poisson": Method("Gradient boosting (Poisson)", "Boosted trees on each cell's "
                              "recent history and its neighbours'; expected counts.",
                              {"estimator": "hgb_poisson"}),
        "random_forest": Method("Random forest", "Averaged decision trees on the same "
                                "features; expected counts.", {"estimator": "random_forest"}),
        "poisson_glm": Method("Poisson regression", "A log-linear count model on the same "
                              "features.", {"estimator": "poisson_glm"}),
        "logistic": Method("Logistic regression", "The chance of at least one incident, "
                           "from the same features.", {"estimator": "logistic"}),
        "mlp": Method("Neural network (MLP)", "A small neural network on the same features.",
                      {"estimator": "mlp", "zero_fraction": 1.0}),
        "glm_forest_context": Method(
            "Poisson regression + forest, with context", "The Poisson GLM and a random forest "
            "averaged, on the same features plus other crime types' counts around the cell, "
            "wider near-repeat rings and kernel densities; expected counts.",
            {"estimator": "glm_forest", **CONTEXT}),
    }

    def note(self, target: str = "target") -> str:
        what = ("the chance of at least one incident" if self.estimator == "logistic"
                else "the expected count")
        name = next((m.label for m in self.methods.values()
                     if m.params.get("estimator") == self.estimator), self.estimator)
        return (f"{name} predicts {what} in each cell from its recent history and that of "
                f"the cells around it. {ML_HOW}")

    def explain_cells(self, start: Any, horizon_days: int, cells: np.ndarray,
                      top_k: int = 5) -> list[dict[str, Any]]:
        """The ``top_k`` strongest feature effects of each cell (explain.feature_effects)."""
        found = feature_effects(self, start, horizon_days, cells)
        if found is None:
            return [{"kind": "untrained"} for _ in cells]
        unit = "count" if self.gives_counts else "probability"
        out = []
        for i in range(cells.size):
            effect = found["effect"][i]
            order = [j for j in np.argsort(-np.abs(effect), kind="stable")[:top_k]
                     if effect[j] != 0]
            out.append({"kind": "features", "unit": unit,
                        "prediction": significant(found["prediction"][i]),
                        "features": [{"name": found["names"][j],
                                      "value": significant(found["values"][i, j]),
                                      "typical": significant(found["typical"][j]),
                                      "effect": significant(effect[j])} for j in order]})
        return out

    @classmethod
    def cell_words(cls, explanation: dict[str, Any], target: str = "target",
                   cell_size_m: float = 0.0) -> dict[str, list]:
        if explanation["kind"] == "untrained":
            return {"lines": ["There was too little data to train the model: every cell has "
                              "the same score."], "features": []}
        features = []
        for item in explanation["features"]:
            label = feature_label(item["name"], cell_size_m, target)
            features.append({**item, "label": label,
                             "text": _feature_text(item, label, explanation["unit"])})
        return {"lines": [f["text"] for f in features], "features": features}

    def __init__(
        self,
        grid: Grid,
        target: Any = None,
        estimator: str = "hgb_poisson",
        horizon_days: int = 7,
        lags: tuple[int, ...] = DEFAULT_LAGS,
        decays: tuple[float, ...] = DECAYS,
        label_days: int | None = 7,
        n_origins: int = 26,
        train_days: int = 365,
        refit_every_days: int = 182,
        zero_fraction: float = 0.15,
        covariates: np.ndarray | None = None,
        covariate_names: tuple[str, ...] | None = None,
        leading: tuple[str, ...] = (),
        lead_lags: tuple[int, ...] = LEAD_LAGS,
        rings: tuple[int, ...] = (),
        smooth: tuple[float, ...] = (),
        estimator_params: dict[str, Any] | None = None,
        random_state: int = 0,
        n_threads: int = 1,
    ) -> None:
        super().__init__(grid, target)
        self.estimator = estimator
        self.horizon_days = horizon_days
        self.lags = lags
        self.decays = decays
        self.label_days = label_days
        self.n_origins = n_origins
        self.train_days = train_days
        self.refit_every_days = refit_every_days
        self.zero_fraction = zero_fraction
        self.covariates = covariates
        self.covariate_names = covariate_names
        self.leading = leading
        self.lead_lags = lead_lags
        self.rings = rings
        self.smooth = smooth
        self.estimator_params = estimator_params
        self.random_state = random_state
        self.n_threads = n_threads

    @property
    def gives_counts(self) -> bool:  # type: ignore[override]
        return self.estimator != "logistic"

    def _fit(self, target: Events, past: Events, until: np.datetime64) -> None:
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"unknown estimator {self.estimator!r}; one of {sorted(ESTIMATORS)}")
        end = day_ceil(until)
        h = self._label_days(int(self.horizon_days))
        span = self.train_days + max(max(self.lags), 364 + 14 + h) + h + 1
        day0 = end - span * DAY
        if len(past):
            day0 = max(day0, day_floor(past.times.min()))
        n_days = max(int((end - day0) // DAY), 1)
        self.cells_ = np.flatnonzero(self.active_)
        seen = np.zeros(self.grid.n_cells, bool)
        idx = self.grid.cell_index(past.x, past.y)
        seen[idx[idx >= 0]] = True
        columns = np.flatnonzero(seen | self.active_)
        own = set(np.atleast_1d(np.asarray(self.target, dtype=object)).tolist())
        others = {name: past.of_category(name) for name in self.leading if name not in own}
        self.leading_ = tuple(others)
        self.hist_ = shared_history(
            self.grid, target, past, day0, n_days, columns, tuple(self.decays), others
        )
        self.end_day_ = end
        self.models_: dict[int, Any] = getattr(self, "models_", {})
        self.model_end_: dict[int, np.datetime64] = getattr(self, "model_end_", {})
        self.model_fit_: dict[int, int] = getattr(self, "model_fit_", {})
        self.fit_count_ = getattr(self, "fit_count_", 0) + 1
        self._ensure_model(int(self.horizon_days))

    def _ensure_model(self, horizon: int) -> Any:
        """Train (or keep, see ``refit_every_days``) the model for ``horizon`` days."""
        trained = self.model_end_.get(horizon)
        if trained is not None and horizon in self.models_:
            if self.model_fit_.get(horizon) == self.fit_count_:
                return self.models_[horizon]  # trained during this fit
            age = int((self.end_day_ - trained) // DAY)
            if 0 <= age < self.refit_every_days:
                return self.models_[horizon]
        n_days = self.hist_.n_days
        label_days = self._label_days(horizon)
        last = n_days - label_days  # latest origin whose label window ends before the fit time
        offsets = np.unique(
            np.round(np.linspace(0, max(self.train_days - label_days, 0), self.n_origins))
        )
        origins = (last - offsets).astype(np.int64)
        origins = origins[origins >= 1]
        if origins.size == 0 or self.cells_.size == 0:
            self.models_[horizon] = None
        else:
            x, _ = self._features(origins, horizon, origins)
            y = build_labels(self.hist_, origins, label_days, self.cells_)
            model = ESTIMATORS[self.estimator](self.random_state, **(self.estimator_params or {}))
            if self.estimator == "logistic":
                y = (y > 0).astype(int)
                if np.unique(y).size < 2:
                    model = None
            if model is not None:
                rows, weight = self._sample_rows(y)
                with threadpool_limits(limits=self.n_threads), warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    _fit_weighted(model, x[rows], y[rows], weight)
            self.models_[horizon] = model
        self.model_end_[horizon] = self.end_day_
        self.model_fit_[horizon] = self.fit_count_
        return self.models_[horizon]

    def _label_days(self, horizon: int) -> int:
        return max(int(horizon), int(self.label_days or 0))

    def _sample_rows(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All rows with events plus a ``zero_fraction`` random share of the zero rows.

        Kept zero rows get weight ``1 / zero_fraction`` so the fitted mean stays unbiased.
        Subsampling is for speed on a big city: under ``SUBSAMPLE_FROM_ROWS`` rows (a small
        agency, a coarse grid) every row is kept.
        """
        frac = float(self.zero_fraction)
        if frac >= 1.0 or y.size < SUBSAMPLE_FROM_ROWS:
            return np.arange(y.size), np.ones(y.size)
        rng = np.random.default_rng(self.random_state)
        keep = (y > 0) | (rng.random(y.size) < frac)
        rows = np.flatnonzero(keep)
        return rows, np.where(y[rows] > 0, 1.0, 1.0 / frac)

    def _features(
        self, origins: np.ndarray, horizon: int, start_days: np.ndarray
    ) -> tuple[np.ndarray, list[str]]:
        """The feature matrix (read-only) and names; the latest one is kept, so the models of
        one backtest window (and an ensemble's members) build it once."""
        extras = (self.leading_, tuple(self.lead_lags), tuple(self.rings),
                  tuple(self.smooth))
        key = (origins.tobytes(), int(horizon), self.cells_.tobytes(), tuple(self.lags),
               self.covariate_names, start_days.tobytes(), extras)
        last = _LAST_FEATURES.get("entry")
        if last and last[0] is self.hist_ and last[1] is self.covariates and last[2] == key:
            return last[3], list(last[4])
        x, names = build_features(self.hist_, origins, horizon, self.cells_, tuple(self.lags),
                                  self.covariates, self.covariate_names, start_days,
                                  leading=self.leading_, lead_lags=tuple(self.lead_lags),
                                  rings=tuple(self.rings), smooth=tuple(self.smooth))
        x.setflags(write=False)
        _LAST_FEATURES["entry"] = (self.hist_, self.covariates, key, x, tuple(names))
        return x, names

    def feature_rows(self, start: np.datetime64, horizon_days: int) -> np.ndarray:
        """Feature rows of the active cells (``cells_`` order) for the window at ``start``;
        their names are ``feature_names_``."""
        start_day = int((day_floor(start) - self.hist_.day0) // DAY)
        x, self.feature_names_ = self._features(
            np.array([self.hist_.n_days]), horizon_days, np.array([start_day])
        )
        return x

    def predict_rows(self, x: np.ndarray, horizon_days: int) -> np.ndarray | None:
        """The trained model's output for feature rows: an expected count over the window
        (P(count >= 1) for ``logistic``), never negative. ``None`` without a trained model."""
        model = self._ensure_model(horizon_days)
        if model is None:
            return None
        with threadpool_limits(limits=self.n_threads):
            share = horizon_days / self._label_days(horizon_days)
            if self.estimator == "logistic":  # P(>= 1) over the label window -> the horizon
                pred = 1.0 - (1.0 - model.predict_proba(x)[:, 1]) ** share
            else:  # an expected count over the label window, scaled to the horizon
                pred = model.predict(x) * share
        return np.maximum(pred, 0.0)

    def _predict_grid(self, start: np.datetime64, horizon_days: int) -> np.ndarray:
        model = self._ensure_model(horizon_days)
        out = np.zeros(self.grid.n_cells)
        if self.cells_.size == 0:
            return out
        if model is None:
            out[self.cells_] = 1.0
            return self._as_expected_counts(out, horizon_days)
        out[self.cells_] = self.predict_rows(self.feature_rows(start, horizon_days), horizon_days)
        return out
