"""Forecasts of counts per period (weeks or months) with prediction intervals, and how often
those intervals held on rolling origins.

The model (statsmodels): for each horizon h a negative binomial regression (NB2, dispersion
by maximum likelihood) of the count of a period on

* the recent level: log(mean of the `level_periods` counts before the forecast origin + 0.5),
* the season: `harmonics` pairs of sine and cosine of the time of year,
* an exposure offset: log(days in the period),

fitted on the last `history` periods before the origin ("direct" multi-step forecasting: one
regression per horizon, each learning how the level h periods ahead follows the level now).
The dispersion is estimated by maximum likelihood at horizon 1 and kept for the other
horizons, whose regressions are then GLMs (statsmodels' NegativeBinomial family).
A linear trend is left out on purpose: extrapolated, it made the intervals on St. Louis
2015-2019 too narrow, while the recent level follows slow changes without it.

Prediction intervals come from simulation: coefficients drawn from their estimated sampling
distribution (multivariate normal, `cov_params`), then counts drawn from the negative
binomial with those means; so they carry both the uncertainty of the fit and the noise of
counts. Counts are whole numbers, so an interval cannot hold exactly 80 %: each end is the
whole number whose tail probability under the simulated distribution is nearest to
(1 - level) / 2 (the usual "at least" rule made 80 % intervals hold about 85 % of the time on
the St. Louis neighbourhoods). When the negative binomial cannot be fitted (no
over-dispersion, too few incidents) a Poisson GLM is used, and with no incident at all in the
history the forecast is 0.

Measured on St. Louis 2019 (predictions.research.workbench_coverage, 48 weekly origins, 4
weeks ahead): the 80 % / 95 % intervals held 80.4 % / 95.3 % of the time over 87
neighbourhoods and 79.7 % / 94.1 % over the 6 police districts. Monthly intervals are too
narrow there (10 origins, 3 months ahead: 75 % / 91 % for neighbourhoods, 63 % / 87 % for
districts): month-to-month level changes exceed what the regression's dispersion allows. The
workbench shows every interval beside how often it held, and flags those that fell short.

Arrays in, arrays out; no Django. The caller passes complete periods only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import statsmodels.api as sm
from statsmodels.discrete.discrete_model import NegativeBinomial

from .trends import check_period, period_days, period_range

LEVELS = (0.8, 0.95)
DEFAULTS = {"week": {"horizon": 4, "history": 156, "level_periods": 4},
            "month": {"horizon": 3, "history": 48, "level_periods": 3}}
YEAR_DAYS = 365.25


@dataclass(frozen=True)
class CountForecast:
    """Forecast counts of the `horizon` periods after the data, with prediction intervals."""

    starts: np.ndarray  # datetime64[D]: the forecast periods
    mean: np.ndarray  # expected count of each
    lower: dict[float, np.ndarray]  # level -> lower end (a whole number) of each
    upper: dict[float, np.ndarray]
    family: list[str]  # per horizon: "negative binomial", "poisson" or "none"


@dataclass
class _Fit:
    family: str
    params: np.ndarray
    cov: np.ndarray
    alpha: float


def count_interval(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Whole-number interval ends from simulated counts (draws along axis 0): each end is the
    one whose tail probability is nearest to (1 - level) / 2."""
    draws = np.asarray(draws)
    tail = (1.0 - level) / 2.0
    low = np.quantile(draws, tail, axis=0, method="inverted_cdf")
    high = np.quantile(draws, 1.0 - tail, axis=0, method="inverted_cdf")

    def cdf(k: np.ndarray) -> np.ndarray:
        return (draws <= k).mean(axis=0)

    # P(Y < low) <= tail < P(Y < low + 1): move up when the latter is nearer to the tail
    low = np.where(np.abs(cdf(low) - tail) < np.abs(cdf(low - 1) - tail), low + 1, low)
    # P(Y > high) <= tail < P(Y > high - 1): move down when the latter is nearer
    high = np.where(np.abs(1 - cdf(high - 1) - tail) < np.abs(1 - cdf(high) - tail),
                    high - 1, high)
    return low.astype(np.int64), np.maximum(high, low).astype(np.int64)


class SeasonalCountForecaster:
    """Counts of the next `horizon` periods, with prediction intervals at `levels`.

    ``fit(starts, counts)`` takes consecutive complete periods (``datetime64[D]`` starts)
    and their counts; ``predict()`` forecasts the periods after the last one.
    """

    def __init__(self, *, period: str = "week", horizon: int | None = None,
                 history: int | None = None, harmonics: int = 2,
                 level_periods: int | None = None, levels: tuple[float, ...] = LEVELS,
                 draws: int = 2000, random_state: int = 0) -> None:
        self.period = period
        self.horizon = horizon
        self.history = history
        self.harmonics = harmonics
        self.level_periods = level_periods
        self.levels = levels
        self.draws = draws
        self.random_state = random_state

    def get_params(self) -> dict[str, Any]:
        return {"period": self.period, "horizon": self.horizon, "history": self.history,
                "harmonics": self.harmonics, "level_periods": self.level_periods,
                "levels": self.levels, "draws": self.draws, "random_state": self.random_state}

    # the settings in force (a period's defaults where not given) -----------------------
    def _setting(self, name: str) -> int:
        value = getattr(self, name)
        return int(DEFAULTS[check_period(self.period)][name] if value is None else value)

    @property
    def min_periods(self) -> int:
        """The fewest periods `fit` accepts: enough for the level and a season's terms."""
        return self._setting("level_periods") + self._setting("horizon") + 4 * (
            2 * self.harmonics + 2)

    def fit(self, starts: np.ndarray, counts: np.ndarray) -> SeasonalCountForecaster:
        starts = np.asarray(starts, "datetime64[D]")
        counts = np.asarray(counts, float)
        if starts.ndim != 1 or starts.shape != counts.shape:
            raise ValueError("starts and counts must be 1-D arrays of the same length")
        if len(starts) < self.min_periods:
            raise ValueError(f"needs at least {self.min_periods} complete {self.period}s of "
                             f"data, has {len(starts)}")
        if not np.array_equal(starts, period_range(starts[0], starts[-1], self.period)):
            raise ValueError(f"starts must be consecutive {self.period}s")
        if not np.all(np.isfinite(counts)) or counts.min() < 0:
            raise ValueError("counts must be finite and not negative")
        horizon = self._setting("horizon")
        self.starts_ = starts
        self.counts_ = counts
        self.future_ = period_range(starts[-1], starts[-1] + 31 * (horizon + 1), self.period)[
            1:horizon + 1]
        self.fits_: list[_Fit] = []
        for h in range(1, horizon + 1):
            self.fits_.append(self._fit_horizon(h, self.fits_[0] if self.fits_ else None))
        return self

    # design ---------------------------------------------------------------------------
    def _season(self, starts: np.ndarray) -> np.ndarray:
        days = period_days(starts, self.period)
        middle = starts + (days // 2).astype("timedelta64[D]")
        phase = (middle - middle.astype("datetime64[Y]").astype("datetime64[D]")).astype(
            float) / YEAR_DAYS
        cols = []
        for k in range(1, self.harmonics + 1):
            cols += [np.sin(2 * np.pi * k * phase), np.cos(2 * np.pi * k * phase)]
        return np.column_stack(cols) if cols else np.empty((len(starts), 0))

    def _levels(self, origins: np.ndarray) -> np.ndarray:
        """log(mean of the `level_periods` counts before each origin index + 0.5)."""
        n = self._setting("level_periods")
        total = np.concatenate([[0.0], np.cumsum(self.counts_)])
        return np.log((total[origins] - total[origins - n]) / n + 0.5)

    def _design(self, starts: np.ndarray, origins: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones(len(starts)), self._levels(origins),
                                self._season(starts)])

    def _fit_horizon(self, h: int, first_fit: _Fit | None) -> _Fit:
        """The regression of horizon h; the dispersion is estimated once, at horizon 1 (by
        maximum likelihood), and kept for the others (a GLM given it: much quicker)."""
        n = len(self.counts_)
        first = max(self._setting("level_periods") + h - 1, n - self._setting("history"))
        targets = np.arange(first, n)
        y = self.counts_[targets]
        x = self._design(self.starts_[targets], targets - h + 1)
        offset = np.log(period_days(self.starts_[targets], self.period).astype(float))
        if y.sum() == 0:
            return _Fit("none", np.zeros(x.shape[1]), np.zeros((x.shape[1],) * 2), 0.0)
        if first_fit is None:
            return _negative_binomial(y, x, offset) or _poisson(y, x, offset)
        if first_fit.family == "negative binomial":
            return _negative_binomial_given(y, x, offset, first_fit.alpha) or _poisson(
                y, x, offset)
        return _poisson(y, x, offset)

    def predict(self) -> CountForecast:
        rng = np.random.default_rng(self.random_state)
        n = len(self.counts_)
        days = period_days(self.future_, self.period).astype(float)
        means: list[float] = []
        lower: dict[float, list[int]] = {lv: [] for lv in self.levels}
        upper: dict[float, list[int]] = {lv: [] for lv in self.levels}
        for h, fit in enumerate(self.fits_, start=1):
            x = self._design(self.future_[h - 1:h], np.array([n]))[0]
            if fit.family == "none":
                draws = np.zeros(self.draws, np.int64)
                means.append(0.0)
            else:
                beta = rng.multivariate_normal(fit.params, fit.cov, size=self.draws,
                                               method="eigh")
                mu = np.exp(np.clip(beta @ x + np.log(days[h - 1]), -30, 15))
                if fit.alpha > 0:
                    mu = rng.gamma(1.0 / fit.alpha, fit.alpha * mu)
                draws = rng.poisson(mu)
                means.append(float(np.exp(fit.params @ x + np.log(days[h - 1]))))
            for lv in self.levels:
                lo, hi = count_interval(draws, lv)
                lower[lv].append(int(lo))
                upper[lv].append(int(hi))
        return CountForecast(self.future_, np.array(means),
                             {lv: np.array(v) for lv, v in lower.items()},
                             {lv: np.array(v) for lv, v in upper.items()},
                             [f.family for f in self.fits_])


def _negative_binomial(y: np.ndarray, x: np.ndarray, offset: np.ndarray) -> _Fit | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = NegativeBinomial(y, x, offset=offset).fit(disp=0, method="bfgs",
                                                                maxiter=200)
            params = np.asarray(result.params, float)
            cov = np.asarray(result.cov_params(), float)[:-1, :-1]
    except (ValueError, np.linalg.LinAlgError):
        return None
    alpha = float(params[-1])
    if not (result.mle_retvals.get("converged") and np.all(np.isfinite(params))
            and np.all(np.isfinite(cov)) and alpha > 1e-6):
        return None
    return _Fit("negative binomial", params[:-1], cov, alpha)


def _negative_binomial_given(y: np.ndarray, x: np.ndarray, offset: np.ndarray,
                             alpha: float) -> _Fit | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = sm.GLM(y, x, family=sm.families.NegativeBinomial(alpha=alpha),
                            offset=offset).fit()
            params = np.asarray(result.params, float)
            cov = np.asarray(result.cov_params(), float)
        except (ValueError, np.linalg.LinAlgError):
            return None
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(cov))):
        return None
    return _Fit("negative binomial", params, cov, alpha)


def _poisson(y: np.ndarray, x: np.ndarray, offset: np.ndarray) -> _Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = sm.GLM(y, x, family=sm.families.Poisson(), offset=offset).fit()
            params = np.asarray(result.params, float)
            cov = np.asarray(result.cov_params(), float)
        except (ValueError, np.linalg.LinAlgError):
            params = cov = np.array([np.nan])
    if np.all(np.isfinite(params)) and np.all(np.isfinite(cov)):
        return _Fit("poisson", params, cov, 0.0)
    # the intercept alone: the mean rate of the history (its standard error from Poisson)
    rate = y.sum() / np.exp(offset).sum()
    params = np.zeros(x.shape[1])
    params[0] = np.log(rate)
    cov = np.zeros((x.shape[1], x.shape[1]))
    cov[0, 0] = 1.0 / max(y.sum(), 1.0)
    return _Fit("poisson", params, cov, 0.0)


# rolling origins ----------------------------------------------------------------------------
@dataclass
class Coverage:
    """How the intervals did on rolling origins: per level and horizon, the share of realised
    counts inside the interval, and the mean absolute error of the expected count."""

    origins: np.ndarray  # datetime64[D]: the first forecast period of each origin
    levels: tuple[float, ...]
    covered: dict[float, np.ndarray] = field(default_factory=dict)  # level -> (horizon,)
    n: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # per horizon
    mae: np.ndarray = field(default_factory=lambda: np.zeros(0))
    hits: dict[float, np.ndarray] = field(default_factory=dict)  # level -> (origins, horizon)


def rolling_origins(n_periods: int, *, horizon: int, origins: int, step: int = 1,
                    first: int = 0) -> np.ndarray:
    """Indices of up to `origins` forecast origins (the first forecast period), `step` apart,
    the last one leaving room for `horizon` periods, none before `first`."""
    last = n_periods - horizon
    if last < first:
        return np.zeros(0, np.int64)
    return np.arange(last, first - 1, -step)[:origins][::-1].astype(np.int64)


def rolling_forecasts(forecaster: SeasonalCountForecaster, starts: np.ndarray,
                      counts: np.ndarray, at: np.ndarray) -> list[CountForecast]:
    """A forecast from each origin index in `at`, each fitted on the periods before it only."""
    starts = np.asarray(starts, "datetime64[D]")
    counts = np.asarray(counts, float)
    out = []
    for o in np.asarray(at, np.int64):
        fresh = type(forecaster)(**forecaster.get_params())
        out.append(fresh.fit(starts[:o], counts[:o]).predict())
    return out


def rolling_coverage(forecaster: SeasonalCountForecaster, starts: np.ndarray,
                     counts: np.ndarray, at: np.ndarray) -> Coverage:
    """`rolling_forecasts` from the origins `at`, scored against the counts that followed."""
    counts = np.asarray(counts, float)
    at = np.asarray(at, np.int64)
    forecasts = rolling_forecasts(forecaster, starts, counts, at)
    horizon = forecaster._setting("horizon")
    levels = tuple(forecaster.levels)
    hits = {lv: np.zeros((len(at), horizon), bool) for lv in levels}
    errors = np.zeros((len(at), horizon))
    for i, (o, f) in enumerate(zip(at, forecasts, strict=True)):
        actual = counts[o:o + horizon]
        errors[i] = np.abs(actual - f.mean)
        for lv in levels:
            hits[lv][i] = (actual >= f.lower[lv]) & (actual <= f.upper[lv])
    return Coverage(
        origins=np.asarray(starts, "datetime64[D]")[at], levels=levels,
        covered={lv: hits[lv].mean(axis=0) if len(at) else np.full(horizon, np.nan)
                 for lv in levels},
        n=np.full(horizon, len(at), np.int64),
        mae=errors.mean(axis=0) if len(at) else np.full(horizon, np.nan), hits=hits)
