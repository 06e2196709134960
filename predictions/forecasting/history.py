"""Where an agency's history really starts: stray old records are left before it.

A department's files hold records reported years late and dated back to when nothing else
was recorded (a 1989 date in a 2019 file). A month is *steady* when it holds at least
``STEADY_SHARE`` of a typical month, the month that holds the median incident when months
are ranked by their counts (so neither many stray months nor one outsized month, such as a
backfill, sets the scale); the history starts at the first month of the run of consecutive
steady months that holds the most incidents. The public map publishes from there, and
backtests start there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

STEADY_SHARE = 0.1


def steady_start_month(months: Sequence[np.datetime64] | np.ndarray,
                       counts: Sequence[int] | np.ndarray) -> np.datetime64 | None:
    """The first month (``datetime64[M]``) of the steadiest run; None without counts."""
    m = np.asarray(months, "datetime64[M]")
    n = np.asarray(counts, np.int64)
    if m.size == 0:
        return None
    order = np.argsort(m, kind="stable")
    m, n = m[order], n[order]
    ranked = np.sort(n)[::-1]
    typical = ranked[np.searchsorted(np.cumsum(ranked), ranked.sum() / 2.0)]
    floor = STEADY_SHARE * float(typical)
    best: tuple[int, np.datetime64] | None = None
    run_start: np.datetime64 | None = None
    run_total = 0
    previous: np.datetime64 | None = None
    for month, count in zip(m, n, strict=True):
        steady = count >= floor
        if steady and run_start is not None and previous == month - 1:
            run_total += int(count)
        elif steady:
            run_start, run_total = month, int(count)
        else:
            run_start, run_total = None, 0
        if run_start is not None and (best is None or run_total > best[0]):
            best = (run_total, run_start)
        previous = month
    return best[1] if best else None


def history_start(times: np.ndarray) -> np.datetime64:
    """The first day (``datetime64[s]``, midnight) of the steady history of event ``times``
    (ValueError without any)."""
    t = np.asarray(times, "datetime64[s]")
    if t.size == 0:
        raise ValueError("no events")
    months, counts = np.unique(t.astype("datetime64[M]"), return_counts=True)
    start = steady_start_month(months, counts)
    first = t.min().astype("datetime64[D]").astype("datetime64[s]")
    return first if start is None else max(first, start.astype("datetime64[s]"))
