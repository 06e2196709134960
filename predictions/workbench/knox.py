"""Near repeats: the Knox test of a category over a period, run by a task.

`do_start_knox` (predictions.workbench.stats_actions) records the request and queues the
task, whose `run_knox_job` claims the row (see
predictions.jobs), loads the period's incidents through the bridge, projects them to metres
(the UTM zone of their centre), runs the engine's `KnoxTest` with its progress on the row,
and stores the tables, the near-repeat zone and the run's figures with its audit record in
one transaction. A second delivery finds the row done and does nothing; a killed attempt
leaves the row running, and the re-sent task starts the permutations again (same seed, same
answer).

What the pages show is aggregated: pair counts per band, never an incident.
"""

from __future__ import annotations

import logging
import time
from datetime import date
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

import audit
from audit.events import Action
from predictions.bridge import json_safe, period_arrays
from predictions.forecasting.grid import lonlat_to_xy, utm_crs_for
from predictions.forecasting.knox import KnoxTest
from predictions.jobs import claim
from predictions.models import KnoxRun
from predictions.taxonomy import CATEGORIES

log = logging.getLogger(__name__)

MAX_DAYS = 3 * 366  # a period longer than three years is refused
MAX_EVENTS = 60_000
MIN_EVENTS = 10


class KnoxRefused(ValueError):
    """The analysis cannot run as asked (too few incidents, too many...)."""


def check_request(*, category: str, start: date, end: date, distance_bands: list[float],
                  time_bands: list[float], permutations: int) -> None:
    """Refuse a request the engine would refuse, before it is queued (clear words)."""
    if category not in CATEGORIES:
        raise KnoxRefused(f"Unknown category {category!r}.")
    if end < start:
        raise KnoxRefused("The period ends before it starts.")
    if (end - start).days + 1 > MAX_DAYS:
        raise KnoxRefused("The period is longer than three years: choose a shorter one.")
    if not 19 <= permutations <= 999:
        raise KnoxRefused("Permutations: between 19 and 999.")
    for edges, what, top in ((distance_bands, "Distance bands", 2000),
                             (time_bands, "Time bands", 365)):
        if not 1 <= len(edges) <= 12:
            raise KnoxRefused(f"{what}: between 1 and 12 edges.")
        if any(b <= a for a, b in zip(edges, edges[1:], strict=False)) or edges[0] < 0:
            raise KnoxRefused(f"{what}: edges must increase from 0 or more.")
        if edges[-1] > top:
            raise KnoxRefused(f"{what}: the last edge is at most {top}.")


def _attempt(run: KnoxRun):
    return KnoxRun.objects.filter(pk=run.pk, status=KnoxRun.Status.RUNNING,
                                  attempts=run.attempts)


def run_knox_job(run_id: int) -> KnoxRun | None:
    """The task's work (see the module's docstring); None when there was nothing to do or
    the analysis was refused (the row then says why)."""
    run = claim(KnoxRun.objects.select_related("agency"), run_id,
                running=KnoxRun.Status.RUNNING, skip=(KnoxRun.Status.DONE,))
    if run is None:
        return None
    try:
        result = knox_result(run)
    except (KnoxRefused, ValueError) as exc:
        _attempt(run).update(status=KnoxRun.Status.FAILED, error_message=str(exc)[:2000],
                             finished_at=timezone.now())
        return None
    except Exception as exc:  # never leave the row running for ever
        log.exception("knox run %s failed", run_id)
        _attempt(run).update(status=KnoxRun.Status.FAILED, finished_at=timezone.now(),
                             error_message=f"Unexpected error ({type(exc).__name__}).")
        raise
    with transaction.atomic():
        if not _attempt(run).select_for_update().exists():
            return None  # another attempt took it over, or finished it
        _attempt(run).update(status=KnoxRun.Status.DONE, progress=100, result=result,
                             finished_at=timezone.now())
        audit.record(action=Action.KNOX_RUN, actor=run.requested_by, actor_role="system",
                     agency=run.agency, object_type="knox_run", object_id=run.pk,
                     details={"category": run.category, "events": result["n_events"],
                              "permutations": run.permutations,
                              "seconds": result["seconds"]})
    run.refresh_from_db()
    return run


def knox_result(run: KnoxRun) -> dict[str, Any]:
    """Load, project, test; the stored result (JSON)."""
    started = time.perf_counter()
    arrays = period_arrays(run.agency, run.start, run.end, [run.category])
    n = arrays.times.size
    if n < MIN_EVENTS:
        raise KnoxRefused(f"Only {n} usable incidents of this category in the period: the "
                          f"test needs at least {MIN_EVENTS}.")
    if n > MAX_EVENTS:
        raise KnoxRefused(f"{n} incidents: more than {MAX_EVENTS}; choose a shorter period.")
    crs = utm_crs_for(float(np.median(arrays.lon)), float(np.median(arrays.lat)))
    x, y = lonlat_to_xy(crs, arrays.lon, arrays.lat)
    days = arrays.times.astype("datetime64[D]").astype(np.int64).astype(float)
    loaded = time.perf_counter()

    def progress(done: int, total: int) -> None:
        _attempt(run).update(progress=min(99, 5 + int(94 * done / total)))

    test = KnoxTest(distance_bands=run.distance_bands, time_bands=run.time_bands,
                    permutations=run.permutations, seed=run.seed).fit(x, y, days,
                                                                      progress=progress)
    zones = test.zones()
    return json_safe({
        "n_events": n, "n_pairs": test.n_pairs_, "n_close_pairs": test.n_close_pairs_,
        "crs": crs, "distance_edges": test.distance_edges_.tolist(),
        "time_edges": test.time_edges_.tolist(),
        "observed": test.observed_.tolist(), "expected": test.expected_.tolist(),
        "ratio": test.ratio_.tolist(), "p_value": test.p_value_.tolist(),
        "zones": {name: None if z is None else vars(z) for name, z in zones.items()},
        "min_ratio": test.min_ratio,
        "load_seconds": round(loaded - started, 3),
        "seconds": round(time.perf_counter() - started, 3),
    })


# what the page shows ------------------------------------------------------------------------
def band_labels(edges: list[float], unit: str) -> list[str]:
    """``[0, 100, 200]`` m -> "same place", "up to 100 m", "100–200 m"."""
    labels = []
    for k, e in enumerate(edges):
        lo = edges[k - 1] if k else None
        if lo is None:
            labels.append(("same place" if unit == "m" else "same day") if e == 0
                          else f"up to {e:g} {unit}")
        else:
            labels.append(f"{lo:g}–{e:g} {unit}")
    return labels


def shade(ratio: float | None, p: float | None) -> str:
    """A cell's CSS class: how far above 1 its ratio is, when significant."""
    if ratio is None or p is None or p > 0.05 or ratio <= 1:
        return "k0"
    return "k3" if ratio >= 2 else "k2" if ratio >= 1.5 else "k1"


def table_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for d, label in enumerate(band_labels(result["distance_edges"], "m")):
        cells = []
        for t in range(len(result["time_edges"])):
            ratio, p = result["ratio"][d][t], result["p_value"][d][t]
            cells.append({"observed": result["observed"][d][t],
                          "expected": result["expected"][d][t], "ratio": ratio, "p": p,
                          "shade": shade(ratio, p)})
        rows.append({"label": label, "cells": cells})
    return rows


def _pairs(n: float) -> str:
    return f"{n:.1f}" if n < 10 else f"{n:.0f}"


def plain_words(run: KnoxRun) -> list[str]:
    """The findings in a few sentences: repeats at the same place, then near repeats."""
    result = run.result
    what = CATEGORIES[run.category].label.lower()
    zones = result.get("zones") or {}
    same, near = zones.get("same_place"), zones.get("nearby")
    rise = f"{(result.get('min_ratio', 1.2) - 1) * 100:.0f}%"
    words = []
    if same:
        words.append(
            f"At the same place, another {what} within {same['days']:g} days was "
            f"{same['ratio']:.1f} times as frequent as if dates were unrelated to places "
            f"({same['observed']} pairs where {_pairs(same['expected'])} were expected, "
            f"p = {same['p_value']:.3f}).")
    if near:
        where = (f"within {near['distance']:g} m" if near["distance_from"] is None else
                 f"within {near['distance']:g} m, not the same place"
                 if near["distance_from"] == 0 else
                 f"{near['distance_from']:g} to {near['distance']:g} m away")
        words.append(
            f"Nearby ({where}), another {what} within {near['days']:g} days was "
            f"{near['ratio']:.1f} times as frequent ({near['observed']} pairs where "
            f"{_pairs(near['expected'])} were expected, p = {near['p_value']:.3f}): after a "
            f"{what}, the risk around it rises by about {(near['ratio'] - 1) * 100:.0f}% and "
            f"stays raised for about {near['days']:g} days, up to about "
            f"{near['distance']:g} m away.")
    if not words:
        words.append(
            f"No near-repeat pattern: no band of pairs close in both space and time was at "
            f"least {rise} above what chance gives with p ≤ 0.05 ({run.permutations} "
            f"permutations). In this period, a recent {what} did not mark its surroundings "
            "as at clearly higher risk than usual.")
    elif not near:
        words.append(f"Beyond the same place, no band of nearby pairs was at least {rise} "
                     "above chance.")
    return words
