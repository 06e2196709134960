"""Issued forecasts scored after the fact: hand-built forecasts and incidents with known
hit rates and PAIs, the window's edges, the coverage viewed, idempotence, and the pages
(the model page's running score, the public scorecard and its API)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from types import SimpleNamespace
from unittest import mock
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse

import audit
import audit.recorder
from audit.events import Action
from predictions.forecasting import Grid
from predictions.forecasting.grid import xy_to_lonlat
from predictions.models import (
    Dataset,
    Forecast,
    ForecastCell,
    ForecastModel,
    ForecastScore,
    Incident,
    TrainingRun,
)
from predictions.scoring import scorecard
from predictions.scoring.scoring import NotDue, due_forecast_ids, score_forecast
from predictions.scoring.tasks import score_closed_forecasts, score_one

pytestmark = pytest.mark.django_db

CRS = "EPSG:32615"
GRID = Grid(CRS, 100.0, 740000.0, 4280000.0, 10, 10)  # 100 cells of 100 m (St. Louis' zone)
START = date(2024, 3, 1)  # a Friday; no change of clocks within the week
CHICAGO = ZoneInfo("America/Chicago")
WINDOW_START = datetime(2024, 3, 1, tzinfo=CHICAGO)
WINDOW_END = WINDOW_START + timedelta(days=7)
# Ranks: cell 0 first, then 1, 4, 9, 20; every other cell after them in cell order
TOP = [0, 1, 4, 9, 20]
RANKS = {c: i + 1 for i, c in enumerate(TOP + [c for c in range(100) if c not in TOP])}
_ids = itertools.count()


def hand_forecast(agency, window_start: date = START, name: str = "Hand-built") -> Forecast:
    model = ForecastModel.objects.create(agency=agency, name=name, category="burglary",
                                         horizon_days=7, method="kde", cell_size_m=100)
    run = TrainingRun.objects.create(agency=agency, model=model, status=TrainingRun.Status.DONE)
    forecast = Forecast.objects.create(agency=agency, model=model, run=run,
                                       window_start=window_start, horizon_days=7,
                                       grid=GRID.spec(), n_cells=100)
    ForecastCell.objects.bulk_create([
        ForecastCell(forecast=forecast, cell=c, col=c % 10, row=c // 10, rank=r,
                     score=100.0 - r, geometry="{}") for c, r in RANKS.items()])
    return forecast


def incidents(agency, *where: tuple[int, datetime], category: str = "burglary") -> None:
    """One incident at the centre of each (cell, aware time)."""
    dataset = Dataset.objects.create(agency=agency, name=f"hand-{next(_ids)}.csv",
                                     sha256=f"{next(_ids):064d}", status=Dataset.Status.DONE)
    cells = np.array([c for c, _ in where])
    lon, lat = xy_to_lonlat(CRS, *GRID.cell_centres(cells))
    Incident.objects.bulk_create([
        Incident(agency=agency, dataset=dataset, source_id=f"i{next(_ids)}", occurred_at=at,
                 raw_category=category, category=category, lon=float(x), lat=float(y))
        for (_, at), x, y in zip(where, lon, lat, strict=True)])


def in_window(cell: int, n: int = 1, day: int = 2) -> list[tuple[int, datetime]]:
    return [(cell, WINDOW_START + timedelta(days=day, hours=i)) for i in range(n)]


def known_world(agency) -> Forecast:
    """8 burglaries in the window: cell 0 x3, cell 4 x1, cell 9 x2, cell 50 x2. Before it:
    cell 50 x3 two days before (the baseline's top cell), cell 60 x1 forty days before (too
    old for the baseline's four weeks). After it: a robbery (the records reach past it)."""
    forecast = hand_forecast(agency)
    incidents(agency, *in_window(0, 3), *in_window(4), *in_window(9, 2), *in_window(50, 2),
              *[(50, WINDOW_START - timedelta(days=2, hours=i)) for i in range(3)],
              (60, WINDOW_START - timedelta(days=40)))
    incidents(agency, (7, WINDOW_END + timedelta(days=1)), category="robbery")
    return forecast


def read(forecast: Forecast, user, flagged: int, action: Action = Action.FORECAST_VIEW,
         at: datetime = WINDOW_START + timedelta(days=1)) -> None:
    """A recorded read of the forecast naming `flagged` cells, at `at` (in its window)."""
    with mock.patch.object(audit.recorder, "timezone", SimpleNamespace(now=lambda: at)):
        audit.record(action=action, actor=user, actor_role="viewer", agency=forecast.agency,
                     object_type="forecast", object_id=forecast.pk, purpose="patrol_planning",
                     details={"cells": flagged, "flagged": flagged})


# --- the score of one forecast ----------------------------------------------------------------

def test_it_scores_a_hand_built_forecast_with_its_known_hit_rate_and_pai(world):
    score = score_forecast(known_world(world.alpha).pk)
    assert score.events == 8 and score.cells == 100
    model = score.metrics["model"]
    assert model["1%"]["hit_rate"] == pytest.approx(3 / 8)  # cell 0
    assert model["1%"]["pai"] == pytest.approx((3 / 8) / 0.01)
    assert model["2%"]["hit_rate"] == pytest.approx(3 / 8)  # cells 0 and 1
    assert model["5%"]["hit_rate"] == pytest.approx(6 / 8)  # cells 0, 1, 4, 9, 20
    assert model["5%"]["pai"] == pytest.approx((6 / 8) / 0.05)
    assert model["5%"]["best"] == 8  # cells 0, 9, 50 and 4 hold all of them


def test_it_scores_the_baseline_the_agency_would_otherwise_have_used(world):
    score = score_forecast(known_world(world.alpha).pk)
    # the last four weeks' counts: cell 50 first, then ties in cell order (0, 1, 2, 3)
    baseline = score.metrics["baseline"]
    assert score.baseline == "recent_counts"
    assert baseline["1%"]["hit_rate"] == pytest.approx(2 / 8)
    assert baseline["2%"]["hit_rate"] == pytest.approx(5 / 8)
    assert baseline["5%"]["hit_rate"] == pytest.approx(5 / 8)
    assert score.baseline_hit_rate == pytest.approx(2 / 8)  # at the default 1 % viewed


def test_the_baseline_never_sees_the_window(world):
    # cell 77 holds eight burglaries inside the window and five after it, none before
    # (cell 50, the baseline's top cell, holds five in all)
    forecast = known_world(world.alpha)
    incidents(world.alpha, *in_window(77, 8), *[(77, WINDOW_END + timedelta(days=d))
                                                for d in range(5)])
    score = score_forecast(forecast.pk)
    assert score.events == 16
    assert score.metrics["baseline"]["1%"]["captured"] == 2  # still cell 50


def test_without_reads_it_scores_the_default_coverage(world):
    score = score_forecast(known_world(world.alpha).pk)
    assert (score.flagged_cells, score.coverage, score.reads) == (1, 0.01, 0)
    assert score.coverage_source == ForecastScore.CoverageSource.DEFAULT
    assert score.hit_rate == pytest.approx(3 / 8) and score.pai == pytest.approx(37.5)


def test_it_scores_the_coverage_its_readers_viewed_most_often(world):
    forecast = known_world(world.alpha)
    read(forecast, world.victor, 5)
    read(forecast, world.anna, 5, Action.FORECAST_MAP_LAYER)
    read(forecast, world.anna, 1)
    read(forecast, world.anna, 2, Action.FORECAST_CELL)  # (a popup names no coverage)
    score = score_forecast(forecast.pk)
    assert (score.flagged_cells, score.coverage, score.reads) == (5, 0.05, 3)
    assert score.coverage_source == ForecastScore.CoverageSource.VIEWED
    assert score.hit_rate == pytest.approx(6 / 8)
    assert score.pai == pytest.approx(15.0)
    assert score.baseline_hit_rate == pytest.approx(5 / 8)


def test_reads_after_the_window_do_not_count(world):
    # a look back at 5 % after the window closed guided no patrol in it
    forecast = known_world(world.alpha)
    read(forecast, world.anna, 2, at=WINDOW_END - timedelta(minutes=1))
    read(forecast, world.anna, 5, at=WINDOW_END)
    read(forecast, world.anna, 5, at=WINDOW_END + timedelta(days=3))
    score = score_forecast(forecast.pk)
    assert (score.flagged_cells, score.reads) == (2, 1)


def test_another_forecasts_reads_do_not_count(world):
    forecast = known_world(world.alpha)
    other = hand_forecast(world.alpha, START - timedelta(days=7), name="Other")
    read(other, world.victor, 5)
    assert score_forecast(forecast.pk).coverage_source == ForecastScore.CoverageSource.DEFAULT


@pytest.mark.parametrize(("moment", "counts"), [
    (WINDOW_START - timedelta(seconds=1), False),
    (WINDOW_START, True),
    (WINDOW_END - timedelta(seconds=1), True),
    (WINDOW_END, False),
    (WINDOW_END + timedelta(days=3), False),
])
def test_only_the_incidents_inside_the_window_count(world, moment, counts):
    # given the known world and one more burglary in cell 0 (the top cell) at `moment`
    forecast = known_world(world.alpha)
    incidents(world.alpha, (0, moment))
    score = score_forecast(forecast.pk)
    # then the score moves only when it lies inside [start, end) of local time
    assert score.events == (9 if counts else 8)
    assert score.hit_rate == pytest.approx(4 / 9 if counts else 3 / 8)


def test_other_categories_and_cancelled_incidents_do_not_count(world):
    forecast = known_world(world.alpha)
    incidents(world.alpha, *in_window(0, 4), category="robbery")
    incidents(world.alpha, *in_window(0, 2))
    last_two = Incident.objects.filter(agency=world.alpha).order_by("-pk")[:2]
    Incident.objects.filter(pk__in=list(last_two.values_list("pk", flat=True))).update(
        cancelled=True)
    assert score_forecast(forecast.pk).events == 8


def test_an_open_window_is_not_scored(world):
    forecast = known_world(world.alpha)
    with pytest.raises(NotDue, match="scored once it has closed"):
        score_forecast(forecast.pk, now=WINDOW_END - timedelta(minutes=1))
    assert due_forecast_ids(now=WINDOW_END - timedelta(minutes=1)) == []
    assert not ForecastScore.objects.exists()


def test_a_window_without_data_after_it_waits_for_the_data(world):
    forecast = hand_forecast(world.alpha)
    incidents(world.alpha, *in_window(0, 3))
    with pytest.raises(NotDue, match="do not reach past the end"):
        score_forecast(forecast.pk)
    assert due_forecast_ids() == []
    incidents(world.alpha, (5, WINDOW_END))  # the next upload reaches its end
    assert due_forecast_ids() == [forecast.pk]
    assert score_forecast(forecast.pk).events == 3


# --- idempotence and the tasks ----------------------------------------------------------------

def test_scoring_twice_keeps_the_first_score(world):
    forecast = known_world(world.alpha)
    first = score_forecast(forecast.pk)
    incidents(world.alpha, *in_window(0, 5))  # a late upload does not rewrite the score
    again = score_forecast(forecast.pk)
    assert again.pk == first.pk and again.events == 8
    assert ForecastScore.objects.count() == 1
    assert due_forecast_ids() == []


def test_the_beat_round_scores_every_due_forecast_once(world):
    due = known_world(world.alpha)
    later = hand_forecast(world.alpha, date.today() + timedelta(days=1), name="Tomorrow")
    assert score_closed_forecasts.delay().get() == 1
    assert score_closed_forecasts.delay().get() == 0
    assert list(ForecastScore.objects.values_list("forecast", flat=True)) == [due.pk]
    assert score_one.delay(due.pk).get() == due.score.pk
    assert score_one.delay(later.pk).get() is None  # not due: nothing
    assert score_one.delay(10**9).get() is None  # gone: nothing
    assert ForecastScore.objects.count() == 1


def test_the_score_outlives_the_forecasts_deletion(world):
    forecast = known_world(world.alpha)
    score = score_forecast(forecast.pk)
    forecast.delete()  # as after retention
    score.refresh_from_db()
    assert score.forecast is None and score.window_start == START and score.events == 8


def test_the_command_scores_on_demand(world):
    known_world(world.alpha)
    out = StringIO()
    call_command("score_forecasts", "--agency", "alpha", stdout=out)
    assert "8 incidents, hit rate 37.5 % at 1.00 %" in out.getvalue()
    assert "1 forecast(s) scored" in out.getvalue()


# --- with a trained model, its fairness layer and a forecast issued for a past window --------

def test_a_generated_forecast_is_scored_with_each_groups_exposure(world):
    from predictions.bridge import fairness_layer, groupings_for
    from predictions.forecasting.evaluation import top_cells
    from predictions.forecasting.fairness import exposure
    from predictions.forecasts.generation import generate_forecast
    from tests.samples import make_forecast

    first = make_forecast(world.alpha, world.anna, tracts=True)
    past = generate_forecast(first.model_id, first.window_start - timedelta(days=21))
    score = score_forecast(past.pk)
    assert score.events > 0 and score.hit_rate is not None
    grouping = score.exposure["groupings"][0]
    assert grouping["name"] == "Majority group of residents"
    # the same as the engine's exposure of the forecast's own top cell (1 % viewed)
    cells = np.array(past.cells.order_by("cell").values_list("cell", flat=True))
    ranks = np.array(past.cells.order_by("cell").values_list("rank", flat=True))
    groups = dict(groupings_for(fairness_layer(world.alpha), Grid.from_spec(past.grid)))[
        grouping["name"]]
    k = score.flagged_cells
    expected = exposure(groups, cells, cells[top_cells(-ranks.astype(float), k)])
    for group in grouping["groups"]:
        assert grouping["forecast"][group]["exposure_ratio"] == pytest.approx(
            expected[group]["exposure_ratio"])


# --- the pages ---------------------------------------------------------------------------------

def scored_weeks(agency, weeks: int, per_week: int = 3) -> ForecastModel:
    """`weeks` scored weekly forecasts of one model from START on, each window with
    `per_week` burglaries in the model's top cell (0) and one in cell 50, which also had
    ten the day before START: the baseline's top cell for four weeks, then cell 0."""
    incidents(agency, *[(50, WINDOW_START - timedelta(days=1, hours=i)) for i in range(10)])
    model = None
    for w in range(weeks):
        day = START + timedelta(days=7 * w)
        forecast = hand_forecast(agency, day, name="Hand-built") if model is None else None
        if forecast is None:
            run = model.runs.get()
            forecast = Forecast.objects.create(agency=agency, model=model, run=run,
                                               window_start=day, horizon_days=7,
                                               grid=GRID.spec(), n_cells=100)
            ForecastCell.objects.bulk_create([
                ForecastCell(forecast=forecast, cell=c, col=c % 10, row=c // 10, rank=r,
                             score=100.0 - r, geometry="{}") for c, r in RANKS.items()])
        model = forecast.model
        at = datetime(day.year, day.month, day.day, 12, tzinfo=CHICAGO)
        incidents(agency, *[(0, at + timedelta(hours=i)) for i in range(per_week)],
                  (50, at))
    incidents(agency, (7, datetime.now(UTC)), category="robbery")
    call_command("score_forecasts", stdout=StringIO())
    return model


def test_the_model_page_shows_the_running_score(world):
    model = scored_weeks(world.alpha, 4)
    page = world.client_for("anna").get(reverse("model-detail", args=["alpha", model.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "4</strong> forecasts scored" in text
    pooled = page.context["score"]["pooled"]
    assert pooled["model"]["viewed"]["hit_rate"] == pytest.approx(3 / 4)
    assert pooled["baseline"]["viewed"]["hit_rate"] == pytest.approx(4 / 16)
    assert "75.0 %" in text and "<polyline" in text
    models = world.client_for("anna").get(reverse("forecast-models", args=["alpha"]))
    assert "4 scored</a>: hit 75.0 %" in models.content.decode()


def test_the_running_score_of_a_model_without_scores_says_so(world):
    forecast = hand_forecast(world.alpha)
    page = world.client_for("anna").get(reverse("model-detail",
                                                args=["alpha", forecast.model_id]))
    assert "No forecast of this model has been scored yet (1 waiting" in page.content.decode()


def test_the_transparency_page_shows_the_monthly_scorecard(world):
    scored_weeks(world.alpha, 6)  # windows of March (5) and April (1)
    hand_forecast(world.alpha, date.today() + timedelta(days=1), name="Tomorrow")
    page = world.client_for("anonymous").get(reverse("transparency", args=["alpha"]))
    card = page.context["scorecard"]
    hand = next(m for m in card if m["model"] == "Hand-built")
    assert [(m["month"], m["issued"], m["scored"]) for m in hand["months"]] == [
        ("2024-04", 1, 1), ("2024-03", 5, 5)]
    march = hand["months"][1]
    assert march["hit_rate"] == pytest.approx(0.75) and march["coverage"] == 0.01
    assert march["pai"] == pytest.approx(75.0)
    tomorrow = next(m for m in card if m["model"] == "Tomorrow")
    assert tomorrow["months"][0]["scored"] == 0 and tomorrow["months"][0]["hit_rate"] is None
    text = page.content.decode()
    assert "Scorecard: how the forecasts did" in text and "75.0 %" in text
    # April's one window holds 4 incidents: too few for a public rate
    assert hand["months"][0]["suppressed"] and hand["months"][0]["hit_rate"] is None
    assert "too few incidents to rate" in text


def test_the_public_scorecard_api_gives_aggregates_only(world):
    scored_weeks(world.alpha, 6)
    answer = world.client_for("anonymous").get(
        reverse("public-api-scorecard", args=["alpha"]))
    assert answer.status_code == 200 and answer["Cache-Control"] == "public, no-cache"
    data = answer.json()
    months = data["models"][0]["months"]
    assert months[1]["month"] == "2024-03" and months[1]["hit_rate"] == pytest.approx(0.75)
    assert months[1]["baseline_hit_rate"] == pytest.approx(7 / 20)  # 1, 1, 1, 1, then 3
    assert months[0]["suppressed"] and months[0]["pai"] is None
    text = answer.content.decode()
    for private in ("events", "captured", "cells", "lon", "lat", "source_id"):
        assert f'"{private}"' not in text


def test_the_public_scorecard_of_no_agency_is_a_404(world):
    answer = world.client_for("anonymous").get(
        reverse("public-api-scorecard", args=["nowhere"]))
    assert answer.status_code == 404 and answer.json()["detail"]


def test_the_public_minimum_is_what_the_page_says(world):
    page = world.client_for("anonymous").get(reverse("transparency", args=["alpha"]))
    assert page.context["scorecard_min_events"] == scorecard.PUBLIC_MIN_EVENTS == 20
    assert "20 incidents shows no rate" in " ".join(page.content.decode().split())


def test_the_public_scorecard_revalidates_with_its_etag(world):
    scored_weeks(world.alpha, 2)
    client = world.client_for("anonymous")
    url = reverse("public-api-scorecard", args=["alpha"])
    etag = client.get(url)["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    hand_forecast(world.alpha, date.today() + timedelta(days=1), name="Tomorrow")
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200  # a new forecast


def test_the_public_scorecard_is_cached_gzipped_and_follows_scores_and_names(world):
    scored_weeks(world.alpha, 6)
    client = world.client_for("anonymous")
    url = reverse("public-api-scorecard", args=["alpha"])
    packed = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert packed["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed["Vary"]
    first = client.get(url).json()
    ForecastModel.objects.filter(agency=world.alpha).update(name="Renamed")
    assert client.get(url).json()["models"][0]["model"] == "Renamed"
    ForecastScore.objects.filter(agency=world.alpha).order_by("window_start").last().delete()
    after = client.get(url).json()["models"][0]["months"]
    assert sum(m["scored"] for m in after) == sum(
        m["scored"] for m in first["models"][0]["months"]) - 1


def test_the_public_scorecard_is_built_once_per_state(world):
    scored_weeks(world.alpha, 2)
    client = world.client_for("anonymous")
    url = reverse("public-api-scorecard", args=["alpha"])
    with mock.patch("public.api.agency_scorecard", wraps=scorecard.agency_scorecard) as built:
        first = client.get(url).content
        assert client.get(url).content == first
        assert built.call_count == 1  # the second answer came from the cache
