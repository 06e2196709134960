"""Scoring on a real Celery worker and broker: the beat's round scores each closed
forecast once, and a worker killed in the middle of a round loses nothing: the next round
scores what it had not (even when the broker lost every message it held)."""

from datetime import date, timedelta

import pytest

from predictions.models import ForecastScore
from predictions.scoring.tasks import score_closed_forecasts, score_one
from tests.test_scoring import hand_forecast, in_window, incidents, known_world
from tests.worker import forget_broker_state, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_scores_each_closed_forecast_once(world, start_worker):
    # given a closed forecast whose data has arrived, and one whose window is still open
    start_worker()
    due = known_world(world.alpha)
    hand_forecast(world.alpha, date.today() + timedelta(days=1), name="Tomorrow")

    # when the beat's round is sent twice and the forecast's own task three more times
    score_closed_forecasts.delay()
    score_closed_forecasts.delay()
    for _ in range(3):
        score_one.delay(due.pk)
    wait_for(lambda: ForecastScore.objects.filter(forecast=due).exists())
    # ...and, once every copy is queued, a last forecast's task (the single-slot worker
    # takes them in order: when it is scored, every copy before it has run)
    last = hand_forecast(world.alpha, date(2024, 2, 23), name="Last")
    score_one.delay(last.pk)
    wait_for(lambda: ForecastScore.objects.filter(forecast=last).exists())

    # then each holds one score, the first with the hand-built world's known figures
    assert ForecastScore.objects.count() == 2
    score = ForecastScore.objects.get(forecast=due)
    assert score.events == 8 and score.hit_rate == pytest.approx(3 / 8)


def test_a_killed_worker_loses_no_score(world, start_worker):
    # given five closed forecasts whose data has arrived
    forecasts = [known_world(world.alpha)]
    for week in range(1, 5):
        forecasts.append(hand_forecast(world.alpha, date(2024, 3, 1) - timedelta(weeks=week),
                                       name=f"Earlier {week}"))
    incidents(world.alpha, *in_window(3, 2, day=-10))

    # when a worker takes the round and is killed (SIGKILL) as soon as one is scored, and
    # the broker forgets what it held (as if its unacknowledged tasks were lost)
    worker = start_worker()
    score_closed_forecasts.delay()
    wait_for(lambda: ForecastScore.objects.exists(), interval=0.01)
    worker.kill()
    forget_broker_state()
    scored_before = ForecastScore.objects.count()

    # then the next round on a new worker scores the rest, each forecast once
    start_worker()
    score_closed_forecasts.delay()
    wait_for(lambda: ForecastScore.objects.count() == len(forecasts), timeout=120)
    print(f"\n{scored_before} of {len(forecasts)} scored before the kill")
    assert sorted(ForecastScore.objects.values_list("forecast", flat=True)) == sorted(
        f.pk for f in forecasts)
    assert all(s.metrics["model"] and s.metrics["baseline"]
               for s in ForecastScore.objects.all())
