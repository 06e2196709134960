"""Did it work? The weighted displacement difference (Wheeler and Ratcliffe 2018).

"A simple weighted displacement difference test to evaluate place based crime
interventions", Crime Science 7:11. With counts before (0) and after (1) the intervention in
the treated area T, its control area Ct, the displacement area D around T and that area's
control Cd::

    WDD = (T1 - T0) - (Ct1 - Ct0) + (D1 - D0) - (Cd1 - Cd0)
    Var(WDD) = T0 + T1 + Ct0 + Ct1 + D0 + D1 + Cd0 + Cd1      (counts taken as Poisson)

A negative WDD is a reduction (crimes prevented net of the control trend and of what moved
next door); the interval is ``WDD +- z * sqrt(Var)`` (normal approximation, so it is rough
for very small counts). Without a displacement area, D and Cd count zero.

`area_counts` counts points in areas before and after a date: the engine's one spatial step
of the test (shapely, arrays in, counts out).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import shapely
from scipy.stats import norm
from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True)
class PrePost:
    """Counts of one area before and after the intervention."""

    before: int
    after: int

    def __post_init__(self) -> None:
        for value in (self.before, self.after):
            if value < 0 or int(value) != value:
                raise ValueError("counts must be whole numbers, not negative")

    @property
    def change(self) -> int:
        return int(self.after - self.before)


@dataclass(frozen=True)
class WDDResult:
    wdd: float
    variance: float
    se: float
    z: float
    p_value: float
    level: float
    ci_low: float
    ci_high: float
    local: float  # (T1 - T0) - (Ct1 - Ct0): the treated area alone
    displacement: float  # (D1 - D0) - (Cd1 - Cd0): what moved to (or also fell in) D

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def weighted_displacement_difference(*, treated: PrePost, control: PrePost,
                                     displacement: PrePost | None = None,
                                     displacement_control: PrePost | None = None,
                                     level: float = 0.95) -> WDDResult:
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    disp = displacement or PrePost(0, 0)
    disp_control = displacement_control or PrePost(0, 0)
    local = treated.change - control.change
    moved = disp.change - disp_control.change
    wdd = float(local + moved)
    variance = float(sum(c.before + c.after for c in (treated, control, disp, disp_control)))
    se = math.sqrt(variance)
    z = wdd / se if se > 0 else float("nan")
    p = float(2 * norm.sf(abs(z))) if se > 0 else float("nan")
    half = float(norm.ppf(0.5 + level / 2)) * se
    return WDDResult(wdd=wdd, variance=variance, se=se, z=z, p_value=p, level=level,
                     ci_low=wdd - half, ci_high=wdd + half, local=float(local),
                     displacement=float(moved))


def area_counts(x: np.ndarray, y: np.ndarray, after: np.ndarray,
                area: BaseGeometry) -> PrePost:
    """Points of `area` (same coordinates as x/y) before (``after`` False) and after."""
    inside = shapely.contains_xy(area, np.asarray(x, float), np.asarray(y, float))
    after = np.asarray(after, bool)
    return PrePost(before=int((inside & ~after).sum()), after=int((inside & after).sum()))


def ring(area: BaseGeometry, width: float) -> BaseGeometry:
    """The band of `width` (in the area's units) around `area`, without the area."""
    if width <= 0:
        raise ValueError("the displacement buffer must be wider than 0")
    return area.buffer(width).difference(area)
