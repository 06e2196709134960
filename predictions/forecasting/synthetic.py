"""Synthetic city: known background surface plus a self-exciting exponential trigger.

Background: a smooth base plus a few Gaussian hotspots over a square area (events/day/km^2).
Each event has Poisson(``theta``) offspring at the same location, ``Exp(omega)`` days later
(repeat victimisation), simulated generation by generation (branching). Deterministic per seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .counts import cell_counts
from .events import SECONDS_PER_DAY, Events, as_time, days_before
from .grid import Grid, xy_to_lonlat

SYNTHETIC_CRS = "EPSG:32615"  # UTM 15N
SYNTHETIC_ORIGIN = (736000.0, 4270000.0)  # lower-left corner (around St. Louis), metres


@dataclass(frozen=True)
class Hotspot:
    x: float  # metres from the city's lower-left corner
    y: float
    sigma: float  # metres
    peak: float  # events/day/km^2 at the centre


@dataclass(frozen=True)
class SyntheticCity:
    """The simulated events and the generator's true parameters."""

    events: Events
    lon: np.ndarray
    lat: np.ndarray
    crs: str
    bounds: tuple[float, float, float, float]
    base_rate: float  # events/day/km^2 everywhere
    hotspots: tuple[Hotspot, ...]
    theta: float  # branching ratio (mean offspring per event)
    omega: float  # trigger decay, per day
    start: np.datetime64
    n_days: int
    is_background: np.ndarray  # True for immigrant (background) events

    def background_density(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """True background intensity, events/day/km^2, at metric x/y."""
        return _density(x - self.bounds[0], y - self.bounds[1], self.base_rate, self.hotspots)

    @property
    def background_total(self) -> float:
        """Expected background events per day over the whole area."""
        return _integral(self.bounds, self.base_rate, self.hotspots)

    def background_per_cell(self, grid: Grid, sub: int = 6) -> np.ndarray:
        """Background events/day in every cell of ``grid`` (midpoint rule, ``sub`` x ``sub``)."""
        cx, cy = grid.cell_centres()
        off = ((np.arange(sub) + 0.5) / sub - 0.5) * grid.cell_size
        px = (cx[:, None, None] + off[None, None, :]).repeat(sub, axis=1)
        py = (cy[:, None, None] + off[None, :, None]).repeat(sub, axis=2)
        inside = (
            (px >= self.bounds[0])
            & (px < self.bounds[2])
            & (py >= self.bounds[1])
            & (py < self.bounds[3])
        )
        dens = np.where(inside, self.background_density(px, py), 0.0)
        return dens.mean(axis=(1, 2)) * (grid.cell_size**2 / 1e6)

    def expected_counts(
        self, grid: Grid, start: np.datetime64 | str, horizon_days: float, history: Events
    ) -> np.ndarray:
        """True expected count per cell in ``[start, start + h)`` given events before ``start``.

        Integrates the conditional intensity including offspring cascades inside the window:
        with ``a = omega (1 - theta)`` and ``H0 = sum theta omega exp(-omega (start - t_i))``,
        ``E N = mu h + mu theta/(1-theta) (h - (1-e^{-ah})/a) + H0 (1 - e^{-ah})/a``.
        """
        start = as_time(start)
        past = history.before(start)
        age = days_before(start, past.times)
        h0 = cell_counts(grid, past, weights=self.theta * self.omega * np.exp(-self.omega * age))
        mu = self.background_per_cell(grid)
        h = float(horizon_days)
        a = self.omega * (1.0 - self.theta)
        decay = (1.0 - np.exp(-a * h)) / a
        return mu * h + mu * self.theta / (1.0 - self.theta) * (h - decay) + h0 * decay


def _density(
    dx: np.ndarray, dy: np.ndarray, base: float, hotspots: tuple[Hotspot, ...]
) -> np.ndarray:
    out = np.full(np.broadcast(dx, dy).shape, float(base))
    for hs in hotspots:  # a handful of hotspots
        out += hs.peak * np.exp(-0.5 * ((dx - hs.x) ** 2 + (dy - hs.y) ** 2) / hs.sigma**2)
    return out


def _integral(
    bounds: tuple[float, float, float, float],
    base: float,
    hotspots: tuple[Hotspot, ...],
    step: float = 10.0,
) -> float:
    w, h = bounds[2] - bounds[0], bounds[3] - bounds[1]
    xs = np.arange(step / 2, w, step)
    ys = np.arange(step / 2, h, step)
    dens = _density(xs[None, :], ys[:, None], base, hotspots)
    return float(dens.sum() * step * step / 1e6)


def default_hotspots(size_m: float, rng: np.random.Generator, n: int = 5) -> tuple[Hotspot, ...]:
    """``n`` random Gaussian hotspots inside the central 80 % of the area."""
    xy = rng.uniform(0.1 * size_m, 0.9 * size_m, size=(n, 2))
    sig = rng.uniform(150.0, 500.0, size=n)
    peak = rng.uniform(0.5, 2.0, size=n)
    return tuple(
        Hotspot(float(a), float(b), float(s), float(p))
        for (a, b), s, p in zip(xy, sig, peak, strict=True)
    )


def simulate_city(
    seed: int = 0,
    n_days: int = 730,
    size_m: float = 6000.0,
    base_rate: float = 0.03,
    hotspots: tuple[Hotspot, ...] | None = None,
    theta: float = 0.4,
    omega: float = 0.2,
    start: str = "2020-01-01",
    burn_in_days: int = 60,
    category: str = "burglary",
    raster_m: float = 10.0,
) -> SyntheticCity:
    """Simulate the synthetic city over ``n_days`` days starting at ``start`` (local time)."""
    if not 0.0 <= theta < 1.0:
        raise ValueError("theta must be in [0, 1)")
    rng = np.random.default_rng(seed)
    hotspots = default_hotspots(size_m, rng) if hotspots is None else tuple(hotspots)
    x0, y0 = SYNTHETIC_ORIGIN
    bounds = (x0, y0, x0 + size_m, y0 + size_m)
    # background: sample raster pixels proportionally to the density, jitter inside the pixel
    centres = np.arange(raster_m / 2, size_m, raster_m)
    dens = _density(centres[None, :], centres[:, None], base_rate, hotspots)
    probs = (dens / dens.sum()).ravel()
    total_days = n_days + burn_in_days
    mean_bg = dens.sum() * raster_m**2 / 1e6 * total_days
    n_bg = rng.poisson(mean_bg)
    pix = rng.choice(probs.size, size=n_bg, p=probs)
    bx = centres[pix % centres.size] + rng.uniform(-0.5, 0.5, n_bg) * raster_m
    by = centres[pix // centres.size] + rng.uniform(-0.5, 0.5, n_bg) * raster_m
    bt = rng.uniform(-burn_in_days, n_days, n_bg)
    xs, ys, ts, gens = [bx], [by], [bt], [np.zeros(n_bg, int)]
    px, py, pt, gen = bx, by, bt, 0
    while px.size:  # one iteration per generation
        gen += 1
        k = rng.poisson(theta, px.size)
        cx, cy = np.repeat(px, k), np.repeat(py, k)
        ct = np.repeat(pt, k) + rng.exponential(1.0 / omega, k.sum())
        keep = ct < n_days
        px, py, pt = cx[keep], cy[keep], ct[keep]
        xs.append(px)
        ys.append(py)
        ts.append(pt)
        gens.append(np.full(px.size, gen))
    x = np.concatenate(xs) + x0
    y = np.concatenate(ys) + y0
    t = np.concatenate(ts)
    g = np.concatenate(gens)
    keep = t >= 0
    order = np.argsort(t[keep], kind="stable")
    x, y, t, g = x[keep][order], y[keep][order], t[keep][order], g[keep][order]
    t0 = as_time(start)
    times = t0 + np.round(t * SECONDS_PER_DAY).astype("timedelta64[s]")
    events = Events(times, x, y, np.full(t.size, category))
    lon, lat = xy_to_lonlat(SYNTHETIC_CRS, x, y)
    return SyntheticCity(
        events=events,
        lon=lon,
        lat=lat,
        crs=SYNTHETIC_CRS,
        bounds=bounds,
        base_rate=float(base_rate),
        hotspots=hotspots,
        theta=float(theta),
        omega=float(omega),
        start=t0,
        n_days=int(n_days),
        is_background=g == 0,
    )


def city_grid(city: SyntheticCity, cell_size: float = 150.0) -> Grid:
    """A grid over the synthetic city with its square as the boundary."""
    from shapely.geometry import box

    return Grid.covering(city.bounds, cell_size, city.crs, box(*city.bounds))
